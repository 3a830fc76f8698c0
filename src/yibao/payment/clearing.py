"""Hospital lines of case-payment clearing (预结算与年度清算, payment-drg-dip.md §3.7–§3.8): what the fund owes
a hospital for a month and for the year.

A line's entitlement is its points valued at the PV actually published (:func:`entitlements`, rounded half up
once per line). The fund's part is the entitlement less the personal payments the per-visit settlements
computed (the default strategy of §3.7, subtraction). A month pays ``payout_ratio`` of it and withholds the
rest as the quality deposit (质量保证金); the year pays the fund's part less what the months paid, less the
deposit forfeited by 考核, plus any other adjustment.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from yibao.payment.exact import Ratio, as_fraction, times
from yibao.payment.pricing import value_points


class MonthLine(NamedTuple):
    """One hospital-month (月度预结算): ``owed`` (entitlement − personal), ``paid`` now, ``deposit`` withheld."""

    owed: int
    paid: int
    deposit: int


class YearLine(NamedTuple):
    """One hospital-year (年度清算): ``owed_fen`` (entitlement − personal), ``forfeit_fen`` (deposit kept by the
    fund), ``adjustments_fen`` (−forfeit + other) and ``clearing_fen`` (the balance paid, negative: recovered)."""

    owed_fen: int
    forfeit_fen: int
    adjustments_fen: int
    clearing_fen: int


def entitlements(points4_by_line: Iterable[int], pv: Decimal) -> list[int]:
    """Each hospital-period line's entitlement (总费用口径): its points × PV, rounded half up once per line."""
    return [value_points(p, pv) for p in points4_by_line]


def month_line(entitlement_fen: int, personal_fen: int, payout_ratio: Ratio) -> MonthLine:
    """月度预结算: owed = entitlement − personal; paid = round(owed × payout ratio); deposit = owed − paid.
    A month owing nothing or less is recovered in full (paid = owed, no deposit)."""
    ratio = as_fraction(payout_ratio)
    if not 0 <= ratio <= 1:
        raise ValueError(f"payout ratio {payout_ratio} is not in [0, 1]")
    owed = entitlement_fen - personal_fen
    if owed <= 0:
        return MonthLine(owed, owed, 0)
    paid = times(owed, ratio)
    return MonthLine(owed, paid, owed - paid)


def year_line(
    entitlement_fen: int,
    personal_fen: int,
    pre_settled_fen: int,
    deposit_withheld_fen: int,
    forfeit_ratio: Ratio,
    other_adjustments_fen: int = 0,
) -> YearLine:
    """年度清算: clearing = entitlement − personal − pre-settled + adjustments, where the adjustments are the
    other 考核 adjustments less round(forfeit ratio × deposits withheld). The deposits themselves are part of
    the balance: they were owed and never paid."""
    ratio = as_fraction(forfeit_ratio)
    if not 0 <= ratio <= 1:
        raise ValueError(f"forfeit ratio {forfeit_ratio} is not in [0, 1]")
    forfeit = times(deposit_withheld_fen, ratio)
    adjustments = other_adjustments_fen - forfeit
    owed = entitlement_fen - personal_fen
    return YearLine(owed, forfeit, adjustments, owed - pre_settled_fen + adjustments)
