"""Relative weights (相对权重, RW) from the grouped cases themselves, and the case-mix index (CMI) they give.

CHS-DRG 1.1's national tables name the groups but carry no weights: a region sets them from its own cost
data (payment-drg-dip.md §4.3). Before that is done, the console derives them from the cases at hand, the
first step of §4.3 without trimming, expert adjustment or normalisation:

* ``RW_g = (cost of the cases in DRG g ÷ their number) ÷ (cost of all grouped cases ÷ their number)``;
* ``CMI = Σ RW of a unit's cases ÷ its number of cases``.

Costs are whole fen; every ratio is an exact :class:`~fractions.Fraction` (so the case-weighted mean of the
weights, the region's own CMI, is exactly 1), rounded half up only for display (:func:`rounded`).
Only cases grouped into a DRG count (入组); 歧义 and 未入组 cases carry no weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple


class GroupCost(NamedTuple):
    """The grouped cases of one DRG: how many, and their 医疗费总额 in fen."""

    cases: int
    fen: int


def relative_weights(groups: Mapping[str, GroupCost]) -> dict[str, Fraction]:
    """Each DRG's weight: its mean cost over the mean cost of every case of ``groups`` (empty: none)."""
    cases = sum(g.cases for g in groups.values())
    fen = sum(g.fen for g in groups.values())
    if cases == 0 or fen <= 0:
        return {}
    # (fen_g / n_g) / (fen / n) = fen_g · n / (n_g · fen)
    return {code: Fraction(g.fen * cases, g.cases * fen) for code, g in groups.items() if g.cases}


def case_mix_index(cases: Mapping[str, int], weights: Mapping[str, Fraction]) -> Fraction | None:
    """Σ weight ÷ cases for one unit's cases by DRG (a DRG without a weight counts 0); None: no cases."""
    n = sum(cases.values())
    if n == 0:
        return None
    return sum((weights.get(code, Fraction(0)) * k for code, k in cases.items()), Fraction(0)) / n


def total_weight(cases: Mapping[str, int], weights: Mapping[str, Fraction]) -> Fraction:
    """Σ weight of one unit's cases (总权重)."""
    return sum((weights.get(code, Fraction(0)) * k for code, k in cases.items()), Fraction(0))


def rounded(value: Fraction, places: int = 4) -> Decimal:
    """``value`` to ``places`` decimals, half away from zero, exactly (no float on the way)."""
    scale = 10**places
    sign = -1 if value < 0 else 1
    num, den = abs(value.numerator) * scale, value.denominator
    units = (2 * num + den) // (2 * den)
    return Decimal(sign * units).scaleb(-places)
