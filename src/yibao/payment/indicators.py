"""Performance measures of a unit's cases (绩效指标, payment-drg-dip.md §4.6): CMI, the cost and time
consumption indices, low-risk-group mortality, the payment ratio and outlier shares.

Input shape: one row per case, parallel NumPy arrays —

* ``unit_idx``: the unit (a hospital, a department) as ``0 … n_units − 1``;
* ``group_idx``: the DRG/DIP group as ``0 … n_groups − 1`` (grouped cases only: the caller leaves out
  未入组 and 歧义 cases, or gives them their own index);
* ``rw4`` (RW × 10^4), ``cost_fen``, ``los`` (days), ``died`` (bool), ``payable_fen``, ``ffs_fen`` (the
  FFS-valued charges) and ``cost_class`` (:data:`yibao.payment.pricing.NORMAL`/``HIGH``/``LOW``) as needed.

Results are lists indexed by unit: an exact :class:`~fractions.Fraction`, or None where the unit has no
case to measure. Sums run vectorised in int64; only the final per-unit combination is exact Python
arithmetic. Round for display with :func:`yibao.payment.weights.rounded`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

from yibao.money import BP
from yibao.payment.pricing import HIGH, LOW

Measure = list[Fraction | None]


def _ints(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def _sum_by(idx: np.ndarray, values, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, _ints(idx), _ints(values))
    return out


def _ratio(num: np.ndarray, den: np.ndarray, scale: int = 1) -> Measure:
    return [Fraction(int(n), int(d) * scale) if d > 0 else None for n, d in zip(num, den, strict=True)]


def cmi(unit_idx, rw4, n_units: int) -> Measure:
    """病例组合指数 CMI: Σ RW of the unit's cases ÷ its cases."""
    return _ratio(_sum_by(unit_idx, rw4, n_units), np.bincount(_ints(unit_idx), minlength=n_units), BP)


def consumption_index(unit_idx, group_idx, value, n_units: int, n_groups: int) -> Measure:
    """消耗指数: Σ_g n_ug × (unit mean_g ÷ region mean_g) ÷ Σ_g n_ug, with ``value`` the cost in fen (费用消耗
    指数) or the length of stay (时间消耗指数). Since n_ug × mean_ug = total_ug, each term is
    total_ug × n_g ÷ total_g. Groups whose regional total is 0 have no mean to compare with and are left out
    of both sums."""
    unit_idx, group_idx, value = _ints(unit_idx), _ints(group_idx), _ints(value)
    n_g = np.bincount(group_idx, minlength=n_groups)
    total_g = _sum_by(group_idx, value, n_groups)
    cells, inverse = np.unique(unit_idx * n_groups + group_idx, return_inverse=True)
    n_cell = np.bincount(inverse.ravel(), minlength=len(cells))
    total_cell = _sum_by(inverse.ravel(), value, len(cells))
    num = [Fraction(0)] * n_units
    den = [0] * n_units
    for cell, n, total in zip(cells.tolist(), n_cell.tolist(), total_cell.tolist(), strict=True):
        u, g = divmod(cell, n_groups)
        if total_g[g] > 0:
            num[u] += Fraction(total * int(n_g[g]), int(total_g[g]))
            den[u] += n
    return [num[u] / den[u] if den[u] else None for u in range(n_units)]


def cost_index(unit_idx, group_idx, cost_fen, n_units: int, n_groups: int) -> Measure:
    """费用消耗指数 (:func:`consumption_index` of the cost)."""
    return consumption_index(unit_idx, group_idx, cost_fen, n_units, n_groups)


def time_index(unit_idx, group_idx, los, n_units: int, n_groups: int) -> Measure:
    """时间消耗指数 (:func:`consumption_index` of the length of stay)."""
    return consumption_index(unit_idx, group_idx, los, n_units, n_groups)


def group_mortality(group_idx, died, n_groups: int) -> Measure:
    """Each group's regional mortality rate (组死亡率): deaths ÷ cases (None: no cases)."""
    group_idx = _ints(group_idx)
    deaths = _sum_by(group_idx, np.asarray(died, dtype=bool), n_groups)
    return _ratio(deaths, np.bincount(group_idx, minlength=n_groups))


def low_risk_groups(group_idx, died, n_groups: int) -> np.ndarray:
    """低风险组: groups whose mortality rate m_g is more than one standard deviation below the mean of the
    group rates (z < −1), over the groups with cases, unweighted, population SD. Decided exactly without a
    square root: μ − m_g > 0 and (μ − m_g)² > σ²."""
    rates = group_mortality(group_idx, died, n_groups)
    known = [m for m in rates if m is not None]
    low = np.zeros(n_groups, dtype=bool)
    if not known:
        return low
    mean = sum(known, Fraction(0)) / len(known)
    var = sum(((m - mean) ** 2 for m in known), Fraction(0)) / len(known)
    for g, m in enumerate(rates):
        low[g] = m is not None and mean - m > 0 and (mean - m) ** 2 > var
    return low


def low_risk_mortality(unit_idx, group_idx, died, n_units: int, n_groups: int) -> Measure:
    """低风险组死亡率: deaths in low-risk groups ÷ cases in low-risk groups, per unit."""
    unit_idx, group_idx = _ints(unit_idx), _ints(group_idx)
    died = np.asarray(died, dtype=bool)
    in_low = low_risk_groups(group_idx, died, n_groups)[group_idx]
    deaths = _sum_by(unit_idx[in_low], died[in_low], n_units)
    return _ratio(deaths, np.bincount(unit_idx[in_low], minlength=n_units))


def payment_ratio(unit_idx, payable_fen, ffs_fen, n_units: int) -> Measure:
    """支付率: Σ DRG/DIP payable ÷ Σ FFS-valued charges, per unit (None: no charges)."""
    return _ratio(_sum_by(unit_idx, payable_fen, n_units), _sum_by(unit_idx, ffs_fen, n_units))


class OutlierShares(NamedTuple):
    """高倍率 and 低倍率 shares of each unit's cases."""

    high: Measure
    low: Measure


def outlier_shares(unit_idx, cost_class, n_units: int) -> OutlierShares:
    """The share of each unit's cases priced as high outliers, and as low outliers."""
    unit_idx, cost_class = _ints(unit_idx), np.asarray(cost_class)
    cases = np.bincount(unit_idx, minlength=n_units)
    high = np.bincount(unit_idx[cost_class == HIGH], minlength=n_units)
    low = np.bincount(unit_idx[cost_class == LOW], minlength=n_units)
    return OutlierShares(_ratio(high, cases), _ratio(low, cases))
