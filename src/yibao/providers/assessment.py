"""年度考核 (annual assessment): each institution's points on the region's indicators, the total and its grade.

An indicator earns its full points at its ``target`` or better and none at its ``floor`` or worse, linearly
between; ``direction`` says whether higher or lower values are better. A figure yibao could not compute (no
settlements, no DRG/DIP statement) or staff did not enter is missing: 0 points (the service notes why). The
total is the sum of the points; its grade is the first band (highest first) it reaches, ``min`` inclusive.
Points and total are kept to two decimals, half up.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from yibao.errors import InputError
from yibao.providers.scheme_schema import AssessIndicator, Band, ProviderScheme

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def indicator_points(ind: AssessIndicator, value: Decimal | None) -> Decimal:
    """The points ``value`` earns on ``ind`` (0 when it is missing), two decimals, half up.

    higher is better, target 0.99, floor 0.90, 20 points: 0.945 → 20 × (0.945 − 0.90) / 0.09 = 10.00."""
    if value is None:
        return ZERO
    if isinstance(value, float | bool):
        raise InputError(f"values.{ind.code}: 应为 Decimal，不是 {value!r} (not an exact number)")
    value = Decimal(value)
    if not value.is_finite():
        raise InputError(f"values.{ind.code}: {value} 不是有限数 (not a finite number)")
    if ind.direction == "higher":
        gained, span = value - ind.floor, ind.target - ind.floor
    else:
        gained, span = ind.floor - value, ind.floor - ind.target
    if gained <= 0:
        return ZERO
    if gained >= span:
        return ind.points.quantize(CENT, rounding=ROUND_HALF_UP)
    return (ind.points * gained / span).quantize(CENT, rounding=ROUND_HALF_UP)


def value_of(ind: AssessIndicator, values: Mapping[str, Decimal | None]) -> Decimal | None:
    """An indicator's value: entered under its code, else (a computed one) under its figure's name."""
    if ind.code in values:
        return values[ind.code]
    return values.get(ind.figure) if ind.figure else None


def assess(
    values: Mapping[str, Decimal | None], scheme: ProviderScheme
) -> tuple[dict[str, Decimal], Decimal, Band]:
    """(points per indicator code, total, grade) of one institution's year. ``values`` holds each indicator's
    value under its code (a ``computed:`` indicator's may instead be under its figure's name, as the service
    computes it); a missing or None value earns 0 points."""
    points = {ind.code: indicator_points(ind, value_of(ind, values)) for ind in scheme.assessment_indicators}
    total = sum(points.values(), ZERO).quantize(CENT, rounding=ROUND_HALF_UP)
    return points, total, scheme.band_of(total)
