"""Compile validated policy versions into an immutable, hashed bundle of arrays (政策编译).

Every array of the bundle is declared once in ``ARRAYS`` with the named axes it spans (``Axes``), so its
shape is stated, not implied; ``FUND_PAY_TYPES`` does the same for the fund_pay_type codes. Each section of
a policy version (benefit classes, the pool's deductibles and ratios, caps, diseases, the account, 大额,
大病, 惠民保, assistance) has one function that fills its arrays (``SECTIONS``), and ``explain.py`` one that
reports the parameters a settlement read from it (the trace). A new fund tier adds its arrays, its
fund_pay_type and one section here, and its trace lines there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from yibao.policy.bundle import DEDC_ANNUAL, DEDC_NONE, DEDC_PER_ADMISSION, INF, Axes, PolicyBundle
from yibao.policy.explain import lookup
from yibao.policy.loader import effective_end
from yibao.policy.schema import UNLIMITED, InsutypePolicy, PolicyVersion

if TYPE_CHECKING:
    from collections.abc import Iterator

    from yibao.policy.loader import LoadedVersion

# (PolicyBundle, INF and the deductible kinds live in bundle.py; importers of the compiler keep finding them here)
__all__ = [
    "ARRAYS",
    "DEDC_ANNUAL",
    "DEDC_PER_ADMISSION",
    "FUND_PAY_TYPES",
    "INF",
    "PolicyBundle",
    "compile_versions",
]

_DEDC_KIND = {"none": DEDC_NONE, "annual": DEDC_ANNUAL, "per_admission": DEDC_PER_ADMISSION}
_LEVELS = (1, 2, 3)  # dedc_hosp_lv; index 0 of the level axis (not given) is never filled
MAX_DATE_ORD = date(9999, 12, 31).toordinal()


@dataclass(frozen=True)
class Declared:
    """One array of the bundle: the axes it spans, its type, and its value where the policy says nothing."""

    axes: tuple[str, ...]
    dtype: type = np.int64
    fill: int = 0


_VI = ("version", "insutype")
_VIC = (*_VI, "benefit_class")
_VA = ("version", "assistance")

ARRAYS: dict[str, Declared] = {
    # benefit classes (待遇类别)
    "class_defined": Declared(_VIC, bool),  # the insutype has the class (its visits are refused otherwise)
    "requires_disease": Declared(("version", "benefit_class"), bool),  # 门诊慢特病: the visit names a disease
    # 3.1 basic pool (统筹): deductible, ratio, the class's annual cap, the disease's annual cap
    "pool_on": Declared(_VIC, bool),
    "dedc_kind": Declared(_VIC),  # DEDC_NONE / DEDC_ANNUAL / DEDC_PER_ADMISSION
    "dedc_amt": Declared((*_VIC, "category", "level")),
    "dedc_rep": Declared(_VIC),  # per admission: the factor from the 2nd admission of the year (bp)
    "ratio": Declared((*_VIC, "category", "level")),  # bp
    "cap_group": Declared(_VIC, fill=-1),  # the annual cap the class's pool pay counts under, -1: unlimited
    "cap_amt": Declared((*_VI, "cap_group", "category"), fill=INF),
    "dis_cap": Declared((*_VI, "disease"), fill=INF),
    # 3.4 personal account (个人账户)
    "acct_on": Declared(_VI, bool),
    # 3.2 大额医疗费用补助
    "le_on": Declared(_VIC, bool),
    "le_ratio": Declared(_VI),
    "le_cap": Declared(_VI, fill=INF),
    # 3.2 大病保险: segments over the year's cumulative base, ordinary terms or the tilt
    "ci_on": Declared(_VIC, bool),
    "ci_tilt_mask": Declared(_VI),  # the identities (bits) that get the tilt
    "ci_dedc": Declared((*_VI, "tilt")),
    "ci_upto": Declared((*_VI, "segment"), fill=INF),
    "ci_ratio": Declared((*_VI, "tilt", "segment")),
    "ci_cap": Declared((*_VI, "tilt"), fill=INF),
    # 3.3 惠民保
    "sp_on": Declared(_VIC, bool),
    "sp_tilt_mask": Declared(("version",)),
    "sp_dedc": Declared(("version", "tilt")),
    "sp_ratio": Declared(("version", "tilt")),
    "sp_cap": Declared(("version", "tilt"), fill=INF),
    # 3.3 医疗救助, by category (psn_idet_type)
    "as_on": Declared(_VIC, bool),
    "as_bit": Declared(("assistance",)),  # the category's bit in an identity mask
    "as_defined": Declared(_VA, bool),
    "as_ratio": Declared(_VA),
    "as_annual": Declared(_VA, fill=INF),
    "as_class_lim": Declared((*_VA, "benefit_class"), fill=INF),
}

# fund_pay_type codes of the setldetail rows, by the axes they vary along (None: the fund does not exist)
FUND_PAY_TYPES: dict[str, tuple[str, ...]] = {
    "pool_fpt": _VI,
    "acct_fpt": _VI,
    "le_fpt": _VI,
    "ci_fpt": _VI,
    "sp_fpt": ("version",),
    "as_fpt": ("version",),
}


def _lim(value: int | None) -> np.int64:
    return INF if value is None else np.int64(value)


def _union(seqs) -> list:
    out: list = []
    for s in seqs:
        for x in s:
            if x not in out:
                out.append(x)
    return out


@dataclass
class _Build:
    """A bundle being compiled: the codes along each axis (the union over versions, in order of appearance),
    the declared arrays and fund_pay_type tables, filled section by section."""

    insutypes: list[str]
    classes: list[str]
    categories: list[tuple[str, str]]
    diseases: list[str]
    groups: list[str]
    assistance: list[str]
    identities: list[str]
    axes: Axes
    a: dict[str, np.ndarray]  # the arrays, as declared in ARRAYS
    names: dict[str, list]  # the fund_pay_type tables, as declared in FUND_PAY_TYPES
    medtype_class: list[dict[str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, policies: list[PolicyVersion]) -> _Build:
        insutypes = _union(p.insutype for p in policies)
        classes = _union(p.benefit_classes for p in policies)
        categories = _union(
            [(c, t) for c, ins in p.insutype.items() for t in ins.psn_types] for p in policies
        )
        diseases = _union(p.chronic_diseases for p in policies)
        groups = _union([g for ins in p.insutype.values() for g in ins.caps] for p in policies)
        assistance = _union((p.assistance.categories if p.assistance else {}) for p in policies)
        identities = _union([assistance, _union([*_tilt_identities(p)] for p in policies)])
        if len(identities) > 62:
            raise ValueError("more than 62 identity codes matter to this policy; widen the identity mask")
        segments = [
            len(ins.critical_illness.segments) for ins in _insutypes(policies) if ins.critical_illness
        ]
        axes = Axes(
            version=len(policies),
            insutype=len(insutypes),
            benefit_class=len(classes),
            category=len(categories),
            level=1 + len(_LEVELS),
            cap_group=max(len(groups), 1),
            disease=max(len(diseases), 1),
            segment=max(segments or [1]),
            tilt=2,
            assistance=max(len(assistance), 1),
        )
        arrays = {k: np.full(axes.shape(d.axes), d.fill, dtype=d.dtype) for k, d in ARRAYS.items()}
        names = {k: np.full(axes.shape(a), None, dtype=object).tolist() for k, a in FUND_PAY_TYPES.items()}
        return cls(
            insutypes, classes, categories, diseases, groups, assistance, identities, axes, arrays, names
        )

    def bits(self, codes) -> int:
        """The identity mask of ``codes``."""
        return sum(1 << self.identities.index(x) for x in set(codes))

    def cover(self, layer: str, v: int, insutypes, classes) -> None:
        """Switch on a cross-insutype layer (惠民保, 医疗救助) for each of its insutypes × benefit classes."""
        for ins_code in insutypes:
            for cname in classes:
                self.a[layer][v, self.insutypes.index(ins_code), self.classes.index(cname)] = True

    def each_insutype(self, p: PolicyVersion) -> Iterator[tuple[int, str, InsutypePolicy]]:
        for code, ins in p.insutype.items():
            yield self.insutypes.index(code), code, ins


def _insutypes(policies: list[PolicyVersion]) -> Iterator[InsutypePolicy]:
    return (ins for p in policies for ins in p.insutype.values())


def _tilt_identities(p: PolicyVersion) -> Iterator[str]:
    for ins in p.insutype.values():
        if ins.critical_illness and ins.critical_illness.tilt:
            yield from ins.critical_illness.tilt.identities
    if p.supplementary and p.supplementary.tilt:
        yield from p.supplementary.tilt.identities


# --- sections: each fills its own arrays for version v ---------------------------------------------------
def _benefit_classes(b: _Build, v: int, p: PolicyVersion) -> None:
    """待遇类别: the med_types of each class, and whether its visits name a chronic disease."""
    b.medtype_class.append(
        {mt: b.classes.index(c) for c, d in p.benefit_classes.items() for mt in d.med_types}
    )
    for c, d in p.benefit_classes.items():
        b.a["requires_disease"][v, b.classes.index(c)] = d.requires_disease


def _pool(b: _Build, v: int, p: PolicyVersion) -> None:
    """统筹 by class: deductible (kind, amount, repeat factor), ratio, and the annual cap it counts under."""
    a = b.a
    for i, code, ins in b.each_insutype(p):
        b.names["pool_fpt"][v][i] = ins.pool_fund
        cats = [(b.categories.index((code, t)), t) for t in ins.psn_types]
        for cname, cb in ins.classes.items():
            c = b.classes.index(cname)
            a["class_defined"][v, i, c] = True
            if not cb.pool:
                continue
            a["pool_on"][v, i, c] = True
            a["dedc_kind"][v, i, c] = _DEDC_KIND[cb.deductible.kind]
            a["dedc_rep"][v, i, c] = cb.deductible.repeat_ratio or 0
            a["cap_group"][v, i, c] = -1 if cb.cap == UNLIMITED else b.groups.index(cb.cap)
            for pi, t in cats:
                for lv in _LEVELS:
                    a["ratio"][v, i, c, pi, lv] = lookup(cb.ratio, t, lv)[0]
                    if cb.deductible.amount is not None:
                        a["dedc_amt"][v, i, c, pi, lv] = lookup(cb.deductible.amount, t, lv)[0]


def _caps(b: _Build, v: int, p: PolicyVersion) -> None:
    """The insutype's annual caps on pool pay, by person category."""
    for i, code, ins in b.each_insutype(p):
        for g, table in ins.caps.items():
            for t in ins.psn_types:
                b.a["cap_amt"][v, i, b.groups.index(g), b.categories.index((code, t))] = _lim(
                    lookup(table, t)[0]
                )


def _diseases(b: _Build, v: int, p: PolicyVersion) -> None:
    """门诊慢特病: the annual pool cap of each disease (a class with a pool names them)."""
    for i, _, ins in b.each_insutype(p):
        for cb in ins.classes.values():
            for dcode, cap in (cb.disease_caps or {}).items():
                b.a["dis_cap"][v, i, b.diseases.index(dcode)] = _lim(cap)


def _account(b: _Build, v: int, p: PolicyVersion) -> None:
    """个人账户: the insutypes that have one, and the fund_pay_type of its setldetail row."""
    row = b.names["acct_fpt"][v]
    for i, _, ins in b.each_insutype(p):
        if ins.account is not None:
            b.a["acct_on"][v, i] = True
            row[i] = ins.account.fund_pay_type
    # 共济: a patient of an insutype without accounts may pay from a relative's account, which is an
    # account of the insutype that has them; its setldetail row carries that fund_pay_type
    own = next((f for f in row if f), None)
    b.names["acct_fpt"][v] = [f or own for f in row]


def _large_expense(b: _Build, v: int, p: PolicyVersion) -> None:
    """大额医疗费用补助: its classes, ratio and annual cap."""
    for i, _, ins in b.each_insutype(p):
        le = ins.large_expense
        if le is not None:
            b.names["le_fpt"][v][i] = le.fund_pay_type
            b.a["le_ratio"][v, i], b.a["le_cap"][v, i] = le.ratio, _lim(le.cap)
            for cname in le.classes:
                b.a["le_on"][v, i, b.classes.index(cname)] = True


def _critical_illness(b: _Build, v: int, p: PolicyVersion) -> None:
    """大病保险: its classes, segments, and the ordinary terms (tilt 0) and the tilted ones (tilt 1)."""
    a = b.a
    for i, _, ins in b.each_insutype(p):
        cip = ins.critical_illness
        if cip is None:
            continue
        b.names["ci_fpt"][v][i] = cip.fund_pay_type
        for cname in cip.classes:
            a["ci_on"][v, i, b.classes.index(cname)] = True
        for s, seg in enumerate(cip.segments):
            a["ci_upto"][v, i, s] = INF if seg.upto is None else seg.upto
            a["ci_ratio"][v, i, :, s] = seg.ratio
        a["ci_dedc"][v, i, :], a["ci_cap"][v, i, :] = cip.deductible, _lim(cip.cap)
        if cip.tilt is not None:  # assistance targets: lower deductible, ratios raised, own cap
            t = cip.tilt
            a["ci_tilt_mask"][v, i] = b.bits(t.identities)
            a["ci_dedc"][v, i, 1], a["ci_cap"][v, i, 1] = t.deductible, _lim(t.cap)
            for s, seg in enumerate(cip.segments):
                a["ci_ratio"][v, i, 1, s] = seg.ratio + t.ratio_add


def _supplementary(b: _Build, v: int, p: PolicyVersion) -> None:
    """惠民保: its insutypes and classes, deductible, ratio and cap (tilt 0), and the tilted terms (tilt 1)."""
    sp, a = p.supplementary, b.a
    if sp is None:
        return
    b.names["sp_fpt"][v] = sp.fund_pay_type
    b.cover("sp_on", v, sp.insutypes, sp.classes)
    a["sp_dedc"][v, :], a["sp_ratio"][v, :], a["sp_cap"][v, :] = sp.deductible, sp.ratio, _lim(sp.cap)
    if sp.tilt is not None:
        a["sp_tilt_mask"][v] = b.bits(sp.tilt.identities)
        a["sp_dedc"][v, 1], a["sp_ratio"][v, 1], a["sp_cap"][v, 1] = (
            sp.tilt.deductible,
            sp.tilt.ratio,
            _lim(sp.tilt.cap),
        )


def _assistance(b: _Build, v: int, p: PolicyVersion) -> None:
    """医疗救助: its insutypes and classes; per category its bit, ratio, annual limit and class sub-limits."""
    ap, a = p.assistance, b.a
    if ap is None:
        return
    b.names["as_fpt"][v] = ap.fund_pay_type
    b.cover("as_on", v, ap.insutypes, ap.classes)
    for code, cat in ap.categories.items():
        k = b.assistance.index(code)
        a["as_bit"][k] = b.bits([code])
        a["as_defined"][v, k] = True
        a["as_ratio"][v, k], a["as_annual"][v, k] = cat.ratio, _lim(cat.annual_limit)
        for cname, lim in cat.class_limits.items():
            a["as_class_lim"][v, k, b.classes.index(cname)] = _lim(lim)


SECTIONS = (
    _benefit_classes,
    _pool,
    _caps,
    _diseases,
    _account,
    _large_expense,
    _critical_illness,
    _supplementary,
    _assistance,
)


def compile_versions(loaded: list[LoadedVersion]) -> PolicyBundle:
    """Compile versions (ordered, already checked) into one bundle: the axes, then every section of each."""
    policies = [lv.policy for lv in loaded]
    b = _Build.of(policies)
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
