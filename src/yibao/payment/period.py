"""Pricing a period's cases (按病例付费 for a month or a year): route each case to its payment method, price
the DRG and DIP cases by their scheme's norms, and total them per hospital, pool and method. Pure.

The steps follow payment-drg-dip.md §3.8: the cases come grouped (:func:`grouping_of`), :func:`route` picks
the method (the hospital's scheme, per-diem for the policy's categories and long stays, FFS for short stays
and what cannot be grouped), :func:`price` values the points and the money outside points, and
:func:`hospital_lines` adds them up per hospital, pool and method — the rounding to the fen happens there,
once per line (§0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from yibao.payment import pricing
from yibao.payment.perdiem import Segment, perdiem_payable

DIP, DRG, PERDIEM, FFS, CAPITATION = "dip", "drg", "perdiem", "ffs", "capitation"
METHOD_NAMES = {
    DIP: "DIP 按病种分值",
    DRG: "DRG 按病组",
    PERDIEM: "按床日",
    FFS: "按项目",
    CAPITATION: "按人头",
}
ONE4 = 10_000  # a coefficient of 1, ×10⁴


@dataclass(frozen=True)
class Case:
    """One discharge as pricing reads it (money in fen)."""

    setl_id: str
    fixmedins_code: str
    level: int  # dedc_hosp_lv 1/2/3
    pool: str
    dscg_date: date
    los: int
    died: bool
    cost_fen: int
    personal_fen: int
    fund_fen: int
    principal: str  # principal diagnosis (医保版 ICD-10)


class Grouping(NamedTuple):
    """A case's group under its hospital's scheme: ``weight4`` is a DIP score × 10⁴ (DRG weights come from
    the norms), ``aux4`` the DIP auxiliary coefficient × 10⁴, ``basic`` a 基层病种 (level coefficient 1)."""

    kind: str
    status: str  # ok | qy | ungrouped
    group_code: str
    weight4: int = 0
    aux4: int = ONE4
    basic: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Norms:
    """A pool and scheme's norms for the year: the point value or rate used, weights (DRG RW × 10⁴ by group)
    and the group mean costs by hospital level (``A_g``; level 0 every level)."""

    scheme: str
    pool: str
    pv: Decimal
    weights: Mapping[str, int] = field(default_factory=dict)
    means: Mapping[tuple[str, int], int] = field(default_factory=dict)

    def mean(self, group: str, level: int) -> int:
        return self.means.get((group, level)) or self.means.get((group, 0)) or 0


class Priced(NamedTuple):
    """A priced case: how it is paid and the figures its statement row shows."""

    method: str
    group_code: str
    cost_class: str  # normal | high | low
    extreme: bool
    r4: int  # cost ÷ base × 10⁴, -1 without a base
    base_fen: int
    weight4: int
    coef4: int
    points4: int
    extra_fen: int  # money outside the points: DRG excess or FFS part, per-diem payable, FFS case
    note: str = ""


class Route(NamedTuple):
    method: str
    note: str = ""
    category: str = ""  # the per-diem category


def route(case: Case, scheme: str, grouping: Grouping | None, policy) -> Route:
    """How a case is paid (§4.5's exclusions, §6): the hospital's scheme unless the stay is a per-diem
    category or long, short, or cannot be grouped."""
    if scheme == FFS:
        return Route(FFS, "本院按项目付费")
    category = policy.perdiem_category(case.principal, case.los)
    if category:
        return Route(PERDIEM, f"按床日: {category}", category)
    if case.los <= policy.exclusions.short_stay_days:
        return Route(FFS, f"住院 {case.los} 天 ≤ {policy.exclusions.short_stay_days} 天, 按项目")
    if grouping is None or grouping.status != "ok":
        why = grouping.reason if grouping else "无分组结果"
        return Route(FFS, f"未入组, 按项目: {why}")
    return Route(scheme)


def level_coef4(policy, level: int, basic: bool) -> int:
    """The hospital-level coefficient × 10⁴ (1 for a 基层病种 where the policy says so)."""
    if basic and policy.basic_groups_level_one:
        return ONE4
    return int(policy.level_coef[level] * ONE4)


def price_dip(cases: Sequence[Case], groups: Sequence[Grouping], norms: Norms, policy) -> list[Priced]:
    """DIP cases of one pool: score × auxiliary × level coefficient, deviation by ``r`` (§3.4, §3.5)."""
    if not cases:
        return []
    score4 = np.array([g.weight4 for g in groups], dtype=np.int64)
    aux4 = np.array([g.aux4 for g in groups], dtype=np.int64)
    lvl4 = np.array(
        [level_coef4(policy, c.level, g.basic) for c, g in zip(cases, groups, strict=True)], dtype=np.int64
    )
    cost = np.array([c.cost_fen for c in cases], dtype=np.int64)
    mean = np.array(
        [norms.mean(g.group_code, c.level) for c, g in zip(cases, groups, strict=True)], dtype=np.int64
    )
    p = pricing.dip_points(score4, aux4, lvl4, cost, mean, policy.dip_deviation)
    return [
        Priced(
            DIP,
            g.group_code,
            pricing.CLASS_NAMES[int(k)],
            bool(x),
            int(r),
            int(m),
            g.weight4,
            int(a * lv // ONE4),
            int(pt),
            0,
        )
        for g, k, x, r, m, a, lv, pt in zip(
            groups, p.cost_class, p.extreme, p.r4, mean, aux4, lvl4, p.points4, strict=True
        )
    ]


def price_drg(cases: Sequence[Case], groups: Sequence[Grouping], norms: Norms, policy) -> list[Priced]:
    """DRG cases of one pool: RW × level coefficient at the rate, outliers by the policy's strategy (§4.4, §4.5).
    A DRG without a weight in the norms is paid FFS (a group the history never saw)."""
    out: list[Priced | None] = [None] * len(cases)
    weighted = [i for i, g in enumerate(groups) if g.group_code in norms.weights]
    for i, g in enumerate(groups):
        if g.group_code not in norms.weights:
            out[i] = ffs_priced(cases[i], g.group_code, f"{g.group_code} 无权重, 按项目")
    if weighted:
        sub = [cases[i] for i in weighted]
        rw4 = np.array([norms.weights[groups[i].group_code] for i in weighted], dtype=np.int64)
        lvl4 = np.array([drg_coef4(policy, c.level) for c in sub], dtype=np.int64)
        cost = np.array([c.cost_fen for c in sub], dtype=np.int64)
        mean = np.array([norms.mean(groups[i].group_code, cases[i].level) for i in weighted], dtype=np.int64)
        rate = policy.fixed_rate(sub[0].pool, sub[0].level) if policy.drg.rate_mode == "fixed" else norms.pv
        p = pricing.drg_value(rw4, lvl4, cost, mean, rate, policy.drg_outlier)
        base = p.standard_fen if policy.drg.outlier.base == "standard" else mean
        for j, i in enumerate(weighted):
            out[i] = Priced(
                DRG,
                groups[i].group_code,
                pricing.CLASS_NAMES[int(p.cost_class[j])],
                False,
                int(p.r4[j]),
                int(base[j]),
                int(rw4[j]),
                int(lvl4[j]),
                int(p.points4[j]),
                int(p.extra_fen[j]),
            )
    return [o for o in out if o is not None]


def drg_coef4(policy, level: int) -> int:
    """Fixed rates are published per level (the coefficient is in the rate); a floating rate is one per
    pool, and the level coefficient goes into the points."""
    return ONE4 if policy.drg.rate_mode == "fixed" else level_coef4(policy, level, False)


def ffs_priced(case: Case, group_code: str, note: str) -> Priced:
    """Paid as charged (按项目): the fund's share the settlement recorded, the person's part as paid."""
    return Priced(
        FFS, group_code, "normal", False, -1, 0, 0, ONE4, 0, case.fund_fen + case.personal_fen, note
    )


def perdiem_priced(case: Case, category: str, policy) -> Priced:
    """Per bed-day (§6): the category's daily standard at the hospital's level, tapered by segment."""
    pd = policy.perdiem
    daily = pd.categories[category].standards[str(case.level)]
    segments = [Segment(s.upto_day, s.factor) for s in pd.segments]
    got = perdiem_payable(case.los, daily, segments, pd.cap_k, case.cost_fen)
    note = f"{case.los} 天 × {daily / 100:.2f} 元" + (" (以实际费用封顶)" if got.capped else "")
    return Priced(PERDIEM, category, "normal", False, -1, daily, 0, ONE4, 0, got.payable_fen, note)


def price(
    cases: Sequence[Case],
    groupings: Sequence[Grouping | None],
    schemes: Sequence[str],
    norms: Mapping[tuple[str, str], Norms],
    policy,
) -> list[Priced]:
    """Every case of the period priced, in input order: routed, then the DRG and DIP cases of each pool in
    one vectorised batch against that pool's norms (``norms[(pool, scheme)]``)."""
    out: list[Priced | None] = [None] * len(cases)
    batches: dict[tuple[str, str], list[int]] = {}
    for i, (c, g, scheme) in enumerate(zip(cases, groupings, schemes, strict=True)):
        r = route(c, scheme, g, policy)
        if r.method == PERDIEM:
            out[i] = perdiem_priced(c, r.category, policy)
        elif r.method == FFS:
            out[i] = ffs_priced(c, g.group_code if g else "", r.note)
        elif (c.pool, r.method) not in norms:
            out[i] = ffs_priced(c, g.group_code, f"{c.pool} 基金池无 {r.method.upper()} 预算, 按项目")
        else:  # a fixed DRG rate is by level: one batch per level
            level = c.level if r.method == DRG and policy.drg.rate_mode == "fixed" else 0
            batches.setdefault((c.pool, r.method, level), []).append(i)
    for (pool, method, _), idx in batches.items():
        pricer = price_dip if method == DIP else price_drg
        got = pricer([cases[i] for i in idx], [groupings[i] for i in idx], norms[(pool, method)], policy)
        for i, p in zip(idx, got, strict=True):
            out[i] = p
    return [p for p in out if p is not None]


class Line(NamedTuple):
    """A hospital's total of one pool and method for the period (fen; points × 10⁴)."""

    fixmedins_code: str
    pool: str
    method: str
    cases: int
    points4: int
    extra_fen: int
    cost_fen: int
    personal_fen: int
    fund_fen: int
    level: int = 0  # the hospital's level (a fixed DRG rate is by level)


def hospital_lines(cases: Sequence[Case], priced: Sequence[Priced]) -> list[Line]:
    """Σ per hospital, pool and method, in code order (points and money added exactly, rounded later)."""
    acc: dict[tuple[str, str, str], list[int]] = {}
    for c, p in zip(cases, priced, strict=True):
        row = acc.setdefault((c.fixmedins_code, c.pool, p.method), [0] * 6 + [c.level])
        row[0] += 1
        row[1] += p.points4
        row[2] += p.extra_fen
        row[3] += c.cost_fen
        row[4] += c.personal_fen
        row[5] += c.fund_fen
    return [Line(*key, *vals) for key, vals in sorted(acc.items())]


def entitlement(line: Line, pv: Decimal) -> int:
    """Points × PV rounded half up once for the line, plus the money outside the points (§0, §3.7)."""
    return (pricing.value_points(line.points4, pv) if line.points4 else 0) + line.extra_fen
