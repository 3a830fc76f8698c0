"""Point values and rates (点值 / 费率, payment-drg-dip.md §3.7, §4.4, §5): exact fractions until the one
published rounding.

A budget PV prices total cost (fund + patient) per point from the last years' weighted history; a settlement
PV divides the year's total-cost budget (the fund budget ÷ the fund's share of cost) by the year's points; a
DRG rate divides it by the forecast total weight. Each is an exact :class:`~fractions.Fraction` in yuan per
point (or per RW); :func:`round_pv` rounds it half up to the region's published precision, and the rounded
value is the one stored and used (§0). Money arguments are fen, points ``points4`` (1e-4 point) and weights
``weight4`` (1e-4 RW).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from yibao.money import BP, FEN
from yibao.payment.exact import Ratio, as_fraction
from yibao.payment.weights import rounded

FLOOR, CEILING = "floor", "ceiling"


def weighted(values: Sequence[Ratio], weights: Sequence[Ratio]) -> Fraction:
    """The weighted mean Σ wᵢ·vᵢ ÷ Σ wᵢ (时间加权, e.g. 1 : 2 : 7 oldest → newest); weights need not sum to 1."""
    if len(values) != len(weights) or not values:
        raise ValueError("one weight per value, and at least one value")
    ws = [as_fraction(w) for w in weights]
    if any(w < 0 for w in ws) or sum(ws) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    return sum((w * as_fraction(v) for v, w in zip(values, ws, strict=True)), Fraction(0)) / sum(ws)


def budget_pv(
    cost_fen_by_year: Sequence[int], points4_by_year: Sequence[int], weights: Sequence[Ratio]
) -> Fraction:
    """预算点值: weighted total inpatient cost ÷ weighted total points of the same years, in yuan per point."""
    points = weighted(points4_by_year, weights)
    if points <= 0:
        raise ValueError("no points in the history years")
    return (weighted(cost_fen_by_year, weights) / FEN) / (points / BP)


def total_cost_budget(fund_budget_fen: int, fund_share: Ratio) -> Fraction:
    """总费用预算 in fen: the fund budget ÷ the fund's share of total cost (points price fund + patient)."""
    share = as_fraction(fund_share)
    if not 0 < share <= 1:
        raise ValueError(f"fund share {fund_share} is not in (0, 1]")
    return as_fraction(fund_budget_fen) / share


def settle_pv(fund_budget_fen: int, fund_share: Ratio, total_points4: int) -> Fraction:
    """结算点值: the total-cost budget ÷ the year's total points, in yuan per point."""
    if total_points4 <= 0:
        raise ValueError("the year has no points")
    return (total_cost_budget(fund_budget_fen, fund_share) / FEN) / Fraction(total_points4, BP)


def drg_rate(total_cost_budget_fen: Fraction | int, forecast_weight4: int) -> Fraction:
    """费率: the total-cost budget ÷ Σ_g RW_g × forecast cases_g, in yuan per RW."""
    if forecast_weight4 <= 0:
        raise ValueError("the forecast total weight is not positive")
    return (as_fraction(total_cost_budget_fen) / FEN) / Fraction(forecast_weight4, BP)


def round_pv(value: Fraction, places: int = 4) -> Decimal:
    """The published PV or rate (公布点值/费率): ``value`` rounded half up to ``places`` decimals
    (``pv_precision``)."""
    return rounded(as_fraction(value), places)


def _bound(pv_budget: Decimal, ratio: Ratio, places: int, up: bool) -> Decimal:
    exact = as_fraction(pv_budget) * as_fraction(ratio) * 10**places
    units = -((-exact.numerator) // exact.denominator) if up else exact.numerator // exact.denominator
    return Decimal(units).scaleb(-places)


def bounded_pv(
    pv: Decimal, pv_budget: Decimal, floor: Ratio | None, ceiling: Ratio | None, places: int = 4
) -> tuple[Decimal, str | None]:
    """The settlement PV kept within ``floor × pv_budget`` … ``ceiling × pv_budget`` (点值上下限, §5), and why
    it moved (``"floor"`` / ``"ceiling"``, None when it did not).

    The bounds are rounded to ``places`` *inward* (the floor up, the ceiling down), so the published PV always
    honours the ratio itself: a floor of 90 % never pays 89.999… %.
    """
    lo = _bound(pv_budget, floor, places, up=True) if floor is not None else None
    hi = _bound(pv_budget, ceiling, places, up=False) if ceiling is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"PV floor {lo} above ceiling {hi}")
    if lo is not None and pv < lo:
        return lo, FLOOR
    if hi is not None and pv > hi:
        return hi, CEILING
    return pv, None
