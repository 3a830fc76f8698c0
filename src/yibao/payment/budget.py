"""The regional global budget (总额预算, payment-drg-dip.md §5) and its split over schemes.

以收定支、收支平衡、略有结余: the case-payment budget of a pool is the projected pooled-fund revenue, less a
risk reserve, less every other outlay. Each published figure is rounded half up to the fen as it is
published, and the next step starts from the published figure, so the statement adds up.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import NamedTuple

from yibao.payment.exact import Ratio, as_fraction, times


class GlobalBudget(NamedTuple):
    """The build of one pool's case budget, each a published figure in fen."""

    projected_revenue_fen: int
    after_reserve_fen: int
    other_outlays_fen: int
    case_budget_fen: int


def global_budget(
    revenue_last_fen: int, growth: Ratio, risk_reserve: Ratio, other_outlays_fen: int
) -> GlobalBudget:
    """总额预算: last year's revenue × (1 + growth) × (1 − risk reserve) − other outlays (门诊统筹, 门诊慢特病,
    异地, 大病保险, per-diem and capitation budgets, FFS items)."""
    reserve = as_fraction(risk_reserve)
    if not 0 <= reserve < 1:
        raise ValueError(f"risk reserve {risk_reserve} is not in [0, 1)")
    projected = times(revenue_last_fen, 1 + as_fraction(growth))
    after = times(projected, 1 - reserve)
    return GlobalBudget(projected, after, other_outlays_fen, after - other_outlays_fen)


def split_budget(case_budget_fen: int, shares: Mapping[str, int | Fraction]) -> dict[str, int]:
    """Split a pool's budget over schemes (预算分配) in proportion to ``shares`` (e.g. each scheme's history
    cost), exact to the fen: each part is floored, and the fen left over go one each to the largest
    remainders, ties by key (sorted), so the parts always sum to the whole and the result never depends on
    the order of ``shares``."""
    weights = {key: as_fraction(w) for key, w in shares.items()}
    total = sum(weights.values(), Fraction(0))
    if any(w < 0 for w in weights.values()) or total == 0:
        raise ValueError("shares must be non-negative and not all zero")
    exact = {key: case_budget_fen * w / total for key, w in weights.items()}
    parts = {key: v.numerator // v.denominator for key, v in exact.items()}
    left = case_budget_fen - sum(parts.values())
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - parts[key]), key))
    for key in by_remainder[:left]:
        parts[key] += 1
    return parts
