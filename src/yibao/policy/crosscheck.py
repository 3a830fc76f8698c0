"""Cross-references of the chronic-disease groups (病种组) and the 大病 tilts (倾斜) that the schema cannot
express, as (key path, message) pairs for the loader to place in the file that wrote them."""

from __future__ import annotations

from collections.abc import Iterator

from yibao.money import BP, fmt_fen
from yibao.policy.schema import UNLIMITED, InsutypePolicy, PolicyVersion

Problem = tuple[tuple, str]


def class_problems(p: PolicyVersion) -> Iterator[Problem]:
    """Class names usable as row names, and the diseases a class accepts."""
    for cname, cdef in p.benefit_classes.items():
        if "/" in cname:
            yield ("benefit_classes", cname), "a class name may not contain '/' (它用于病种组的名称)"
        for i, d in enumerate(cdef.diseases or ()):
            if d not in p.chronic_diseases:
                yield ("benefit_classes", cname, "diseases", i), f"'{d}' is not in chronic_diseases"


def group_problems(p: PolicyVersion, code: str, ins: InsutypePolicy) -> Iterator[Problem]:
    """Each disease group of a chronic class: its diseases known, accepted by the class, in one group only;
    its cap named. (Its ratio and deductible tables are checked like the class's, by the loader.)"""
    for cname, cb in ins.classes.items():
        if not cb.groups:
            continue
        loc = ("insutype", code, cname, "groups")
        cdef = p.benefit_classes.get(cname)
        if cdef is None or not cdef.requires_disease:
            yield loc, "only classes with requires_disease take disease groups"
            continue
        accepted = set(cdef.diseases or p.chronic_diseases)
        seen: dict[str, str] = {}
        for gname, g in cb.groups.items():
            if "/" in gname:
                yield (*loc, gname), "a group name may not contain '/'"
            for i, d in enumerate(g.diseases):
                where = (*loc, gname, "diseases", i)
                if d not in p.chronic_diseases:
                    yield where, f"'{d}' is not in chronic_diseases"
                elif d not in accepted:
                    yield where, f"'{d}' is not among the diseases class {cname} accepts"
                elif d in seen:
                    yield where, f"'{d}' is already in group {seen[d]} (a disease belongs to one group)"
                seen.setdefault(d, gname)
            if g.cap is not None and g.cap != UNLIMITED and g.cap not in ins.caps:
                yield (*loc, gname, "cap"), f"'{g.cap}' is not one of the insutype's caps nor '{UNLIMITED}'"
            if g.deductible_shared and cb.deductible.kind not in ("annual", "none"):
                yield (
                    (*loc, gname, "deductible_shared"),
                    f"the class's deductible is '{cb.deductible.kind}': only an annual one can be shared",
                )


def account_problems(code: str, ins: InsutypePolicy) -> Iterator[Problem]:
    """The person categories given an account are the insutype's."""
    for i, t in enumerate(ins.account.psn_types or () if ins.account else ()):
        if t not in ins.psn_types:
            yield ("insutype", code, "account", "psn_types", i), f"'{t}' is not a psn_type of the insutype"
    for i, t in enumerate(ins.pay_first):
        if t not in ins.psn_types:
            yield ("insutype", code, "pay_first", i), f"'{t}' is not a psn_type of the insutype"


def tilt_problems(p: PolicyVersion, code: str, ins: InsutypePolicy) -> Iterator[Problem]:
    """大病 tilts: ratios within 1, a deductible not above the ordinary one, extra classes that exist."""
    ci = ins.critical_illness
    if ci is None:
        return
    for name, t in ci.tilts.items():
        loc = ("insutype", code, "critical_illness", "tilts", name)
        if t.ratio_add is not None:
            for i, s in enumerate(ci.segments):
                if s.ratio + t.ratio_add > BP:
                    yield (*loc, "ratio_add"), f"segment {i} ratio + ratio_add exceeds 1"
        if t.deductible is not None and t.deductible > ci.deductible:
            yield (
                (*loc, "deductible"),
                f"{fmt_fen(t.deductible)} is above the ordinary deductible {fmt_fen(ci.deductible)} "
                "(倾斜的起付线不能高于普通起付线)",
            )
        for i, c in enumerate(t.extra_classes):
            if c not in p.benefit_classes:
                yield (*loc, "extra_classes", i), f"'{c}' is not a benefit class"
            elif c in ci.classes:
                yield (*loc, "extra_classes", i), f"'{c}' is already one of critical_illness classes"
    sp = p.supplementary
    if sp is not None and sp.tilt is not None and sp.tilt.deductible > sp.deductible:
        yield (
            ("supplementary", "tilt", "deductible"),
            f"{fmt_fen(sp.tilt.deductible)} is above the ordinary deductible {fmt_fen(sp.deductible)}",
        )
