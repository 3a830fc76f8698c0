"""Case pricing (病例付费计算): DIP points with deviation cases, DRG weight units with outliers, and the
valuation of a hospital-period line's points at a point value or rate (payment-drg-dip.md §3.4–§3.5, §4.4–§4.5).

Arrays are int64, one row per case, broadcast against each other (a hospital's level coefficient may be a
scalar). Scales: scores and points in 1e-4 point (``score4``, ``points4``), coefficients and RW in 1e-4
(``aux4``, ``level4``, ``rw4``; 10000 = 1.0), money in fen. Every result is exact and rounded half up once:
a case's points once per case, money once per hospital-period line (:func:`value_points`). A thresholded
ratio ``r = cost ÷ base`` is never computed for a decision: ``r op t`` is the integer test ``cost·q op p·base``
for ``t = p/q`` (:func:`yibao.payment.exact.compare`). A base ≤ 0 (no prior-year mean) leaves r undefined:
the case is normal and its ``r4`` is −1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from yibao.money import BP, FEN, div_round_half_up
from yibao.payment.exact import OPS, as_fraction, compare, product, ratio_rhu

NORMAL, HIGH, LOW = 0, 1, 2
CLASS_NAMES = {NORMAL: "normal", HIGH: "high", LOW: "low"}
CLASS_LABELS = {"normal": "正常", "high": "费用超高", "low": "费用超低"}
UNDEFINED_R4 = -1


@dataclass(frozen=True)
class Threshold:
    """A cost-ratio bound (偏差阈值) and its comparison: a case is past it when ``r op value``."""

    value: Decimal
    op: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"operator {self.op!r} is not one of {sorted(OPS)}")
        if as_fraction(self.value) < 0:
            raise ValueError(f"threshold {self.value} is negative")

    def past(self, cost: np.ndarray, base: np.ndarray) -> np.ndarray:
        """``cost ÷ base op value`` for each row (base > 0), exactly."""
        return compare(cost, base, self.op, self.value)


def _check_bounds(high: Threshold, low: Threshold) -> None:
    if high.op not in (">", ">=") or low.op not in ("<", "<="):
        raise ValueError("the high bound compares with > or >=, the low bound with < or <=")
    if as_fraction(low.value) > as_fraction(high.value):
        raise ValueError(f"low bound {low.value} above high bound {high.value}")


@dataclass(frozen=True)
class DipDeviation:
    """DIP deviation parameters (偏差病例, §3.5, §7 ``dev_high``/``dev_low``/``dev_extreme``): the bounds, the
    extreme ratio (``r > extreme``: route to 特例单议) and whether the level coefficient multiplies outliers."""

    high: Threshold
    low: Threshold
    extreme: Decimal
    level_coef_on_deviation: bool

    def __post_init__(self) -> None:
        _check_bounds(self.high, self.low)
        as_fraction(self.extreme)


class DipPriced(NamedTuple):
    """DIP points per case: ``points4``, ``cost_class`` (NORMAL/HIGH/LOW), ``extreme`` (r > extreme) and
    ``r4`` (r × 10^4 rounded half up, −1 when undefined; for display only)."""

    points4: np.ndarray
    cost_class: np.ndarray
    extreme: np.ndarray
    r4: np.ndarray


def _arrays(*values) -> list[np.ndarray]:
    return [np.array(a, dtype=np.int64) for a in np.broadcast_arrays(*(np.asarray(v) for v in values))]


def _r4(cost: np.ndarray, base: np.ndarray, known: np.ndarray) -> np.ndarray:
    r4 = np.full(cost.shape, UNDEFINED_R4, dtype=np.int64)
    r4[known] = ratio_rhu([BP, cost[known]], [base[known]])
    return r4


def _classify(cost, base, high: Threshold, low: Threshold) -> tuple[np.ndarray, np.ndarray]:
    known = base > 0
    is_high = known & high.past(cost, base)
    is_low = known & ~is_high & low.past(cost, base)
    cls = np.full(cost.shape, NORMAL, dtype=np.int8)
    cls[is_high], cls[is_low] = HIGH, LOW
    return cls, known


def dip_points(score4, aux4, level4, cost_fen, mean_fen, dev: DipDeviation) -> DipPriced:
    """A case's DIP points (病例点数, §3.4–§3.5) from its group score, auxiliary and level coefficients, its
    total cost and the group's prior-year mean cost at same-level hospitals (≤ 0: unknown, normal):

    * normal: score × aux × level;
    * high (费用超高): score × aux × (r − 1) [× level when ``level_coef_on_deviation``];
    * low (费用超低): score × aux × r [× level likewise];

    each rounded half up to 1e-4 point once. Exact at any size: the rows whose products would overflow int64
    (a huge score × cost outlier) are computed on Python integers, the rest stay vectorised.
    """
    score4, aux4, level4, cost, mean = _arrays(score4, aux4, level4, cost_fen, mean_fen)
    cls, known = _classify(cost, mean, dev.high, dev.low)
    extreme = known & compare(cost, mean, ">", dev.extreme)
    points4 = np.zeros(cost.shape, dtype=np.int64)
    m = cls == NORMAL
    points4[m] = ratio_rhu([score4[m], aux4[m], level4[m]], [BP * BP])
    # the level factor and its scale, or neither
    lv, lv_scale = (level4, BP) if dev.level_coef_on_deviation else (np.ones_like(level4), 1)
    m = cls == HIGH  # score·aux·(c − A)/A
    points4[m] = ratio_rhu([score4[m], aux4[m], lv[m], cost[m] - mean[m]], [mean[m], BP * lv_scale])
    m = cls == LOW  # score·aux·c/A
    points4[m] = ratio_rhu([score4[m], aux4[m], lv[m], cost[m]], [mean[m], BP * lv_scale])
    return DipPriced(points4, cls, extreme, _r4(cost, mean, known))


STANDARD, GROUP_MEAN = "standard", "group_mean"
FFS, PRORATA = "ffs", "prorata"


@dataclass(frozen=True)
class DrgOutlier:
    """DRG outlier parameters (高倍率/低倍率, §4.5, §7 ``drg_outlier_base`` … ``drg_low_method``): the base the
    ratio is taken against (``standard`` or ``group_mean``), the bounds, the share ``high_k`` of the cost above
    the high bound that is paid, and how a low case is paid (``ffs``: its cost; ``prorata``: points × cost ÷
    group mean)."""

    base: str
    high: Threshold
    low: Threshold
    high_k: Decimal
    low_method: str

    def __post_init__(self) -> None:
        _check_bounds(self.high, self.low)
        if self.base not in (STANDARD, GROUP_MEAN):
            raise ValueError(f"outlier base {self.base!r} is not standard or group_mean")
        if self.low_method not in (FFS, PRORATA):
            raise ValueError(f"low method {self.low_method!r} is not ffs or prorata")
        if as_fraction(self.high_k) < 0:
            raise ValueError(f"high_k {self.high_k} is negative")


class DrgPriced(NamedTuple):
    """DRG pricing per case: ``points4`` (weight units × 10^4, valued later at the rate), ``extra_fen`` (money
    outside the points: the paid excess of a high case, the cost of an FFS low case), ``standard_fen`` (the
    group's payment standard for this hospital), ``cost_class``, ``r4`` (cost ÷ base × 10^4, −1 undefined) and
    ``payment_fen``, the case alone valued at the rate (for a case statement; a hospital line values its
    points once, :func:`value_points`)."""

    points4: np.ndarray
    extra_fen: np.ndarray
    standard_fen: np.ndarray
    cost_class: np.ndarray
    r4: np.ndarray
    payment_fen: np.ndarray


def drg_value(rw4, level4, cost_fen, mean_fen, rate: Decimal, outlier: DrgOutlier) -> DrgPriced:
    """A case's DRG value (病例支付标准与高低倍率, §4.4–§4.5) at ``rate`` yuan per RW:

    * standard = round(rate × RW × coef); normal and high cases earn RW × coef weight units;
    * high: extra = round(k × (cost − high × base));
    * low, ``ffs``: no units, extra = cost; ``prorata``: RW × coef × cost ÷ group mean units (the outlier
      base when the group mean is unknown).
    """
    rw4, level4, cost, mean = _arrays(rw4, level4, cost_fen, mean_fen)
    rate_f = as_fraction(rate)
    standard = ratio_rhu([rw4, level4, rate_f.numerator * FEN], [rate_f.denominator * BP * BP])
    base = standard if outlier.base == STANDARD else mean
    cls, known = _classify(cost, base, outlier.high, outlier.low)
    points4 = ratio_rhu([rw4, level4], [BP])  # RW × coef weight units
    extra = np.zeros(cost.shape, dtype=np.int64)
    payment = standard.copy()
    m = cls == HIGH  # k·(c − h·base) = kp·(c·hq − hp·base) / (kq·hq)
    k, h = as_fraction(outlier.high_k), as_fraction(outlier.high.value)
    excess = product(cost[m], h.denominator) - product(base[m], h.numerator)
    extra[m] = ratio_rhu([k.numerator, excess], [k.denominator * h.denominator])
    payment[m] += extra[m]
    m = cls == LOW
    if outlier.low_method == FFS:
        points4[m], extra[m], payment[m] = 0, cost[m], cost[m]
    else:
        div = np.where(mean > 0, mean, base)[m]
        points4[m] = ratio_rhu([rw4[m], level4[m], cost[m]], [div, BP])
        payment[m] = ratio_rhu(
            [rw4[m], level4[m], rate_f.numerator * FEN, cost[m]], [div, rate_f.denominator * BP * BP]
        )
    return DrgPriced(points4, extra, standard, cls, _r4(cost, base, known), payment)


def value_points(points4: int, pv: Decimal) -> int:
    """Fen for a hospital-period line's points (点数 × 点值, or weight units × 费率): round half up, once."""
    v = as_fraction(pv)
    return div_round_half_up(int(points4) * v.numerator * FEN, v.denominator * BP)


def fund_part(payment_fen, personal_fen):
    """What the fund owes for a payment (基金支付): payment − the patient's personal payments, floored at 0;
    ints give an int, arrays an int64 array."""
    if isinstance(payment_fen, np.ndarray) or isinstance(personal_fen, np.ndarray):
        diff = np.asarray(payment_fen, dtype=np.int64) - np.asarray(personal_fen, dtype=np.int64)
        return np.maximum(diff, 0)
    return max(0, int(payment_fen) - int(personal_fen))
