"""Compile validated policy versions into an immutable, hashed bundle of arrays (政策编译).

Every array of the bundle is declared once in ``declared.ARRAYS`` with the named axes it spans, and every
fund_pay_type table in ``declared.FUND_PAY_TYPES``. Each section of a policy version has one function in
``sections.py`` that fills its arrays (``SECTIONS``), and ``explain.py`` one that reports the parameters a
settlement read from it (the trace). A new fund tier adds its arrays and its fund_pay_type there, one
section, and its trace lines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from yibao.policy.bundle import DEDC_ANNUAL, DEDC_PER_ADMISSION, INF, PolicyBundle
from yibao.policy.declared import ARRAYS, FUND_PAY_TYPES
from yibao.policy.loader import effective_end
from yibao.policy.schema import PolicyVersion
from yibao.policy.sections import SECTIONS, Build

if TYPE_CHECKING:
    from yibao.policy.loader import LoadedVersion

# (PolicyBundle, INF and the deductible kinds live in bundle.py, the declarations in declared.py; importers of
# the compiler keep finding them here)
__all__ = [
    "ARRAYS",
    "DEDC_ANNUAL",
    "DEDC_PER_ADMISSION",
    "FUND_PAY_TYPES",
    "INF",
    "PolicyBundle",
    "compile_versions",
]

MAX_DATE_ORD = date(9999, 12, 31).toordinal()


def compile_versions(loaded: list[LoadedVersion]) -> PolicyBundle:
    """Compile versions (ordered, already checked) into one bundle: the axes, then every section of each."""
    policies = [lv.policy for lv in loaded]
    b = Build.of(policies)
    for v, p in enumerate(policies):
        for section in SECTIONS:
            section(b, v, p)
    ends = [effective_end(loaded, i) for i in range(len(policies))]
    per_insutype = {k for k, axes in FUND_PAY_TYPES.items() if "insutype" in axes}
    return PolicyBundle(
        region=policies[0].region,
        hash=policy_hash(policies),
        policies=tuple(policies),
        versions=tuple(p.version for p in policies),
        starts=np.array([p.effective_from.toordinal() for p in policies], dtype=np.int64),
        ends=np.array([e.toordinal() if e else MAX_DATE_ORD for e in ends], dtype=np.int64),
        insutypes=tuple(b.insutypes),
        classes=tuple(b.classes),
        categories=tuple(b.categories),
        diseases=tuple(b.diseases),
        groups=tuple(b.groups),
        assistance_codes=tuple(b.assistance),
        identity_codes=tuple(b.identities),
        medtype_class=tuple(b.medtype_class),
        arrays=b.a,
        names={k: tuple(tuple(r) if k in per_insutype else r for r in rows) for k, rows in b.names.items()},
        axes=b.axes,
        declared={**{k: d.axes for k, d in ARRAYS.items()}, **FUND_PAY_TYPES},
    )


def policy_hash(policies: list[PolicyVersion]) -> str:
    canonical = json.dumps(
        [p.model_dump(mode="json") for p in policies],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
