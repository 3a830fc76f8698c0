"""年度清算 arithmetic over a year's priced lines (pure): the settlement point value of each pool and scheme
under its budget (§3.7 step 3, §5's floor and ceiling), and each hospital line's clearing with its
adjustments (payment-ratio cap, risk sharing, 考核 forfeiture of the deposit; §3.7 step 4, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from yibao.payment import period as pp
from yibao.payment.clearing import year_line
from yibao.payment.exact import fen
from yibao.payment.pointvalue import bounded_pv, round_pv, total_cost_budget
from yibao.payment.risk import Tier, payment_ratio_cut, share_risk


@dataclass(frozen=True)
class PoolValue:
    """A pool and scheme's year: budget, the PV before and after rounding and bounds, and the points."""

    pool: str
    scheme: str
    budget_fen: int  # the scheme's fund budget
    total_cost_budget_fen: int
    pv_budget: Decimal
    pv_exact: Fraction | None
    pv_settle: Decimal
    bound: str | None  # floor | ceiling when the bounds moved it
    total_points4: int
    extra_fen: int  # money outside the points (FFS parts, DRG excess, special reviews)


def settle_value(
    pool: str,
    scheme: str,
    lines: Sequence[pp.Line],
    budget_fen: int,
    fund_share: Decimal,
    pv_budget: Decimal,
    places: int,
    floor: Decimal | None,
    ceiling: Decimal | None,
) -> PoolValue:
    """PV_settle = (fund budget ÷ fund share − money paid outside points) ÷ total points, rounded to
    ``places`` and kept within the bounds; without points it stays the budget PV."""
    points = sum(ln.points4 for ln in lines)
    extra = sum(ln.extra_fen for ln in lines)
    tcb = total_cost_budget(budget_fen, fund_share)
    if points <= 0:
        return PoolValue(pool, scheme, budget_fen, fen(tcb), pv_budget, None, pv_budget, None, 0, extra)
    exact = (tcb - extra) * 10_000 / (points * 100)  # fen → yuan, points4 → points
    pv, bound = bounded_pv(round_pv(exact, places), pv_budget, floor, ceiling, places)
    return PoolValue(pool, scheme, budget_fen, fen(tcb), pv_budget, exact, pv, bound, points, extra)


@dataclass(frozen=True)
class MonthsPaid:
    """What the year's month runs did for a line: owed, paid, withheld, and the as-charged fund payments
    their entries took back (by fund_pay_type)."""

    owed: int = 0
    paid: int = 0
    deposit: int = 0
    funds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Cleared:
    """One hospital line's clearing: entitlement, adjustments by kind, what the year owes and pays now."""

    entitlement: int
    personal: int
    adjustments: dict[str, int]
    owed_year: int  # entitlement − personal + adjustments
    pre_settled: int
    deposit_withheld: int
    clearing: int


def clear_line(
    method: str,
    entitlement: int,
    line: pp.Line,
    months: MonthsPaid,
    *,
    ratio_cap: Decimal | None,
    risk: tuple[Sequence[Tier], Sequence[Tier]] | None,
    forfeit_ratio: Decimal,
) -> Cleared:
    """The clearing of one line. DRG/DIP: the payment-ratio cap cuts what exceeds ``cap × FFS charges``, then
    risk sharing (when the policy applies it to the method) settles the entitlement against the FFS
    charges. Capitation: the entitlement is the contract's budget, settled against the as-charged fund
    payments. Last, 考核 forfeits a share of the deposits withheld."""
    adj: dict[str, int] = {}
    ent = entitlement
    if method in (pp.DIP, pp.DRG):
        cut = payment_ratio_cut(ent, line.cost_fen, ratio_cap)
        if cut:
            adj["payment_ratio_cap"] = -cut
        if risk is not None:
            shared = share_risk(ent - cut, line.cost_fen, risk[0], risk[1]).paid_fen
            if shared != ent - cut:
                adj["risk_sharing"] = shared - (ent - cut)
    elif method == pp.CAPITATION and risk is not None:
        shared = share_risk(ent, line.fund_fen, risk[0], risk[1]).paid_fen
        if shared != ent:
            adj["risk_sharing"] = shared - ent
    personal = 0 if method == pp.CAPITATION else line.personal_fen
    y = year_line(ent, personal, months.paid, months.deposit, forfeit_ratio, sum(adj.values()))
    if y.forfeit_fen:
        adj["performance"] = -y.forfeit_fen
    return Cleared(
        ent, personal, adj, y.owed_fen + y.adjustments_fen, months.paid, months.deposit, y.clearing_fen
    )
