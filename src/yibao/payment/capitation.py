"""Capitation (按人头, payment-drg-dip.md §6): a yearly budget per enrolled person, paid in monthly
installments, settled at year end with the §5 tiers (:func:`yibao.payment.risk.share_risk`, the budget as
the target and the enrollees' FFS-valued care, wherever it was given, as the actual)."""

from __future__ import annotations

from yibao.payment.exact import Ratio, as_fraction, times


def capitation_budget(enrolled: int, amount_fen: int, risk_factor: Ratio, reserve: Ratio) -> int:
    """人头预算: enrolled × per-capita amount × risk factor × (1 − reserve), rounded half up once."""
    if enrolled < 0:
        raise ValueError("a negative enrollment")
    r = as_fraction(reserve)
    if not 0 <= r < 1:
        raise ValueError(f"reserve {reserve} is not in [0, 1)")
    return times(enrolled * amount_fen, risk_factor, 1 - r)


def installments(budget_fen: int, months: int = 12) -> list[int]:
    """按月拨付: equal whole-fen installments, the remainder in the last month; they sum to the budget."""
    if months < 1:
        raise ValueError("at least one installment")
    each, rest = divmod(budget_fen, months)
    return [each] * (months - 1) + [each + rest]
