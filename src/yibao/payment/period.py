"""A payment period's vocabulary (按病例付费 for a month or a year): the methods, a case and its grouping as
pricing reads them, the norms, a priced case, and the case-by-case steps of payment-drg-dip.md §3.8. Pure.

:func:`route` picks the method (the hospital's scheme, per-diem for the policy's categories and long stays,
FFS for short stays and what cannot be grouped); :func:`ffs_priced` and :func:`perdiem_priced` price the
cases paid outside points; :func:`hospital_lines` adds the priced cases up per hospital, pool and method, and
:func:`entitlement` values a line — the rounding to the fen happens there, once per line (§0). The period's
cases are priced as arrays by :func:`yibao.payment.period_pricing.price` (the DRG and DIP cases by their
scheme's norms), over :mod:`yibao.payment.period_arrays`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

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
    return perdiem_stay(case.level, case.los, case.cost_fen, category, policy)


def perdiem_stay(level: int, los: int, cost_fen: int, category: str, policy) -> Priced:
    """:func:`perdiem_priced` of a stay given by its figures (hospital level, LOS, cost), as the array path
    has them."""
    pd = policy.perdiem
    daily = pd.categories[category].standards[str(level)]
    segments = [Segment(s.upto_day, s.factor) for s in pd.segments]
    got = perdiem_payable(los, daily, segments, pd.cap_k, cost_fen)
    note = f"{los} 天 × {daily / 100:.2f} 元" + (" (以实际费用封顶)" if got.capped else "")
    return Priced(PERDIEM, category, "normal", False, -1, daily, 0, ONE4, 0, got.payable_fen, note)


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
