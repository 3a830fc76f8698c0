"""The sections of policy compilation: each fills its own arrays of the bundle for one version.

A bundle being compiled (``Build``) holds the codes along each axis and the declared arrays; each section of
a policy version (benefit classes, the pool's deductibles and ratios, caps, diseases, the account, 大额, 大病,
惠民保, assistance, disease groups) has one function here (``SECTIONS``), and ``explain.py`` one that reports
the parameters a settlement read from it (the trace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from yibao.policy.bundle import (
    DEDC_ANNUAL,
    DEDC_NONE,
    DEDC_PER_ADMISSION,
    DEDC_PER_VISIT,
    DEDC_THRESHOLD,
    INF,
    Axes,
)
from yibao.policy.declared import ARRAYS, FUND_PAY_TYPES
from yibao.policy.explain import lookup
from yibao.policy.schema import UNLIMITED, InsutypePolicy, PolicyVersion

if TYPE_CHECKING:
    from collections.abc import Iterator

_DEDC_KIND = {
    "none": DEDC_NONE,
    "annual": DEDC_ANNUAL,
    "per_admission": DEDC_PER_ADMISSION,
    "per_visit": DEDC_PER_VISIT,
    "threshold": DEDC_THRESHOLD,
}
_LEVELS = (1, 2, 3)  # dedc_hosp_lv; index 0 of the level axis (not given) is never filled


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
class Build:
    """A bundle being compiled: the codes along each axis (the union over versions, in order of appearance),
    the declared arrays and fund_pay_type tables, filled section by section."""

    insutypes: list[str]
    classes: list[str]  # the classes, then the disease groups' rows
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
    def of(cls, policies: list[PolicyVersion]) -> Build:
        insutypes = _union(p.insutype for p in policies)
        classes = _union([*p.benefit_classes, *_group_rows(p)] for p in policies)
        categories = _union(
            [(c, t) for c, ins in p.insutype.items() for t in ins.psn_types] for p in policies
        )
        diseases = _union(p.chronic_diseases for p in policies)
        groups = _union([g for ins in p.insutype.values() for g in ins.caps] for p in policies)
        assistance = _union((p.assistance.categories if p.assistance else {}) for p in policies)
        identities = _union(
            [
                assistance,
                _union([*_tilt_identities(p)] for p in policies),
                _union(_conditions(p) for p in policies),
            ]
        )
        if len(identities) > 62:
            raise ValueError("more than 62 identity codes matter to this policy; widen the identity mask")
        cis = [ins.critical_illness for ins in _insutypes(policies) if ins.critical_illness]
        segments = [len(ci.segments) for ci in cis]
        axes = Axes(
            version=len(policies),
            insutype=len(insutypes),
            benefit_class=len(classes),
            category=len(categories),
            level=1 + len(_LEVELS),
            cap_group=max(len(groups), 1),
            disease=max(len(diseases), 1),
            segment=max(segments or [1]),
            tilt=1 + max([len(ci.tilts) for ci in cis] + [1]),  # 惠民保 has one tilt
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


def group_row_name(cname: str, group: str) -> str:
    """The benefit_class axis name of a disease group's row (also its accumulators' name)."""
    return f"{cname}/{group}"


def _group_rows(p: PolicyVersion) -> Iterator[str]:
    for ins in p.insutype.values():
        for cname, cb in ins.classes.items():
            for g in cb.groups or {}:
                yield group_row_name(cname, g)


def graded(code: str, grades) -> list[str]:
    """The condition codes of an identity held at given grades (psn_type_lv)."""
    return [f"{code}#{g}" for g in grades]


def diagnosed(category: str) -> str:
    """The condition code of a visit whose diagnosis is on an assistance category's list."""
    return f"dx:{category}"


def _conditions(p: PolicyVersion) -> list[str]:
    """Condition codes beyond identities: graded identities and matched diagnosis lists of assistance."""
    out: list[str] = []
    for code, cat in (p.assistance.categories if p.assistance else {}).items():
        out += graded(code, cat.grades or ())
        out += [diagnosed(code)] if cat.diagnoses else []
    return out


def _tilt_identities(p: PolicyVersion) -> Iterator[str]:
    for ins in p.insutype.values():
        if ins.critical_illness:
            for t in ins.critical_illness.tilts.values():
                yield from t.identities
    if p.supplementary and p.supplementary.tilt:
        yield from p.supplementary.tilt.identities


# --- sections: each fills its own arrays for version v ---------------------------------------------------
def _benefit_classes(b: Build, v: int, p: PolicyVersion) -> None:
    """待遇类别: the med_types of each class, and whether its visits name a chronic disease."""
    b.medtype_class.append(
        {mt: b.classes.index(c) for c, d in p.benefit_classes.items() for mt in d.med_types}
    )
    for c, d in p.benefit_classes.items():
        ci = b.classes.index(c)
        b.a["requires_disease"][v, ci] = d.requires_disease
        b.a["class_parent"][ci] = ci
        for dcode in d.diseases or p.chronic_diseases:
            b.a["class_disease_ok"][v, ci, b.diseases.index(dcode)] = True


def _pool(b: Build, v: int, p: PolicyVersion) -> None:
    """统筹 by class: deductible (kind, amount, repeat factor), ratio, and the annual cap it counts under."""
    a = b.a
    for i, code, ins in b.each_insutype(p):
        b.names["pool_fpt"][v][i] = ins.pool_fund
        cats = [(b.categories.index((code, t)), t) for t in ins.psn_types]
        for cname, cb in ins.classes.items():
            c = b.classes.index(cname)
            a["class_defined"][v, i, c] = True
            a["dedc_row"][v, i, c] = c
            if not cb.pool:
                continue
            a["pool_on"][v, i, c] = True
            _pool_terms(b, (v, i, c), cats, cb.deductible, cb.ratio, cb.cap)


def _pool_terms(b: Build, vic: tuple, cats, deductible, ratio, cap: str) -> None:
    """The deductible, ratio and cap of one row (a class, or a disease group's row)."""
    a = b.a
    a["dedc_kind"][vic] = _DEDC_KIND[deductible.kind]
    a["dedc_rep"][vic] = deductible.repeat_ratio or 0
    a["cap_group"][vic] = -1 if cap == UNLIMITED else b.groups.index(cap)
    for pi, t in cats:
        for lv in _LEVELS:
            a["ratio"][(*vic, pi, lv)] = lookup(ratio, t, lv)[0]
            if deductible.amount is not None:
                a["dedc_amt"][(*vic, pi, lv)] = lookup(deductible.amount, t, lv)[0]


def _caps(b: Build, v: int, p: PolicyVersion) -> None:
    """The insutype's annual caps on pool pay, by person category."""
    for i, code, ins in b.each_insutype(p):
        for g, table in ins.caps.items():
            for t in ins.psn_types:
                b.a["cap_amt"][v, i, b.groups.index(g), b.categories.index((code, t))] = _lim(
                    lookup(table, t)[0]
                )


def _diseases(b: Build, v: int, p: PolicyVersion) -> None:
    """门诊慢特病: the annual pool cap of each disease, in the class that writes it."""
    for i, _, ins in b.each_insutype(p):
        for cname, cb in ins.classes.items():
            c = b.classes.index(cname)
            for dcode, cap in (cb.disease_caps or {}).items():
                b.a["dis_cap"][v, i, c, b.diseases.index(dcode)] = _lim(cap)


def _account(b: Build, v: int, p: PolicyVersion) -> None:
    """个人账户: the person categories that have one, and the fund_pay_type of its setldetail row."""
    row = b.names["acct_fpt"][v]
    for i, code, ins in b.each_insutype(p):
        if ins.account is not None:
            for t in ins.account.psn_types or ins.psn_types:
                b.a["acct_on"][v, i, b.categories.index((code, t))] = True
            row[i] = ins.account.fund_pay_type
        for t in ins.pay_first:
            b.a["pay_first"][v, i, b.categories.index((code, t))] = True
    # 共济: a patient of an insutype without accounts may pay from a relative's account, which is an
    # account of the insutype that has them; its setldetail row carries that fund_pay_type
    own = next((f for f in row if f), None)
    b.names["acct_fpt"][v] = [f or own for f in row]


def _large_expense(b: Build, v: int, p: PolicyVersion) -> None:
    """大额医疗费用补助: its classes, ratio and annual cap."""
    for i, _, ins in b.each_insutype(p):
        le = ins.large_expense
        if le is not None:
            b.names["le_fpt"][v][i] = le.fund_pay_type
            b.a["le_ratio"][v, i], b.a["le_cap"][v, i] = le.ratio, _lim(le.cap)
            for cname in le.classes:
                b.a["le_on"][v, i, b.classes.index(cname)] = True


def _critical_illness(b: Build, v: int, p: PolicyVersion) -> None:
    """大病保险: its classes, segments, and the ordinary terms (tilt 0) and the tilted ones (tilt 1)."""
    a = b.a
    for i, _, ins in b.each_insutype(p):
        cip = ins.critical_illness
        if cip is None:
            continue
        b.names["ci_fpt"][v][i] = cip.fund_pay_type
        for s, seg in enumerate(cip.segments):
            a["ci_upto"][v, i, s] = INF if seg.upto is None else seg.upto
        terms = [(0, None), *enumerate(cip.tilts.values(), start=1)]
        for k, t in terms:  # tilt 0: the ordinary terms; k ≥ 1: the k-th tilt in the policy's order
            for cname in [*cip.classes, *(t.extra_classes if t else ())]:
                a["ci_on"][v, i, k, b.classes.index(cname)] = True
            for s, seg in enumerate(cip.segments):
                a["ci_ratio"][v, i, k, s] = t.segment_ratio(seg.ratio) if t else seg.ratio
            a["ci_dedc"][v, i, k] = t.deductible_of(cip.deductible) if t else cip.deductible
            a["ci_cap"][v, i, k] = _lim(t.cap if t else cip.cap)
            a["ci_tilt_mask"][v, i, k] = b.bits(t.identities) if t else 0


def _supplementary(b: Build, v: int, p: PolicyVersion) -> None:
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


def _assistance(b: Build, v: int, p: PolicyVersion) -> None:
    """医疗救助: its insutypes and classes; per category its bit, ratio, annual limit and class sub-limits."""
    ap, a = p.assistance, b.a
    if ap is None:
        return
    b.names["as_fpt"][v] = ap.fund_pay_type
    b.cover("as_on", v, ap.insutypes, ap.classes)
    for code, cat in ap.categories.items():
        k = b.assistance.index(code)
        a["as_bit"][v, k] = b.bits(graded(code, cat.grades) if cat.grades else [code])
        a["as_dx"][v, k] = b.bits([diagnosed(code)]) if cat.diagnoses else 0
        a["as_burden"][v, k] = _lim(cat.burden_cap)
        a["as_defined"][v, k] = True
        a["as_ratio"][v, k], a["as_annual"][v, k] = cat.ratio, _lim(cat.annual_limit)
        for cname, lim in cat.class_limits.items():
            a["as_class_lim"][v, k, b.classes.index(cname)] = _lim(lim)


def _disease_groups(b: Build, v: int, p: PolicyVersion) -> None:
    """病种组: each group's row is its class's in every array (大额, 大病, 惠民保, 救助 follow the class), then
    its own deductible, ratio and cap where it writes them; each of its diseases is sent to the row. Last,
    as it copies what the other sections filled."""
    a = b.a
    for i, code, ins in b.each_insutype(p):
        cats = [(b.categories.index((code, t)), t) for t in ins.psn_types]
        for cname, cb in ins.classes.items():
            c = b.classes.index(cname)
            for gname, g in (cb.groups or {}).items():
                r = b.classes.index(group_row_name(cname, gname))
                for name, d in ARRAYS.items():
                    if "benefit_class" in d.axes and name not in ("class_parent", "group_row"):
                        _copy_row(a[name], d.axes, v, i, c, r)
                a["class_parent"][r] = c
                a["dedc_row"][v, i, r] = c if g.deductible is None or g.deductible_shared else r
                deductible = g.deductible or cb.deductible
                _pool_terms(b, (v, i, r), cats, deductible, g.ratio or cb.ratio, g.cap or cb.cap)
                for dcode in g.diseases:
                    a["group_row"][v, i, c, b.diseases.index(dcode)] = r


def _copy_row(arr: np.ndarray, axes: tuple[str, ...], v: int, i: int, c: int, r: int) -> None:
    """arr[version v, (insutype i,) …, class r, …] = the same at class c."""
    at = [slice(None)] * len(axes)
    at[axes.index("version")] = v
    if "insutype" in axes:
        at[axes.index("insutype")] = i
    k = axes.index("benefit_class")
    src, dst = list(at), list(at)
    src[k], dst[k] = c, r
    arr[tuple(dst)] = arr[tuple(src)]


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
    _disease_groups,
)
