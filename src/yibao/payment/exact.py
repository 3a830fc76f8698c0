"""Exact arithmetic for the payment calculations (精确运算): ratios as fractions, products of int64 arrays
that fall back to Python integers where int64 could overflow, and round half up to the fen.

A ratio (a coefficient, a share, a threshold, a point value) is a :class:`~decimal.Decimal`, an ``int`` or a
:class:`~fractions.Fraction`, never a float: :func:`as_fraction` refuses floats and booleans. Arrays stay
int64 while the bound of a product (the product of the factors' largest magnitudes) stays below
:data:`LIMIT`; past it the same expression runs on Python integers (``dtype=object``), so a rare outlier
row costs speed, never a fen. Rounding is :func:`yibao.money.div_round_half_up` (half up, symmetric).
"""

from __future__ import annotations

import operator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from yibao.money import div_round_half_up, rhu_div

Ratio = Decimal | int | Fraction
LIMIT = 2**61  # products and denominators below this: 2·|num| + den stays inside int64
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def as_fraction(value: Any) -> Fraction:
    """``value`` (an int, a finite Decimal or a Fraction) as an exact Fraction; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        raise TypeError(f"{value!r}: an int, Decimal or Fraction is required (never a float)")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{value!r} is not finite")
    return Fraction(value)


def fen(value: Fraction | int) -> int:
    """``value`` (fen, exact) rounded half up to a whole fen."""
    value = as_fraction(value)
    return div_round_half_up(value.numerator, value.denominator)


def times(amount: int | Fraction, *ratios: Ratio) -> int:
    """round half up of ``amount × Π ratios``, once."""
    exact = as_fraction(amount)
    for r in ratios:
        exact *= as_fraction(r)
    return fen(exact)


def _max_abs(a: Any) -> int:
    arr = np.asarray(a)
    return int(np.max(np.abs(arr))) if arr.size else 0


def _is_object(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == object


def _bound(factors: Any) -> int:
    """The largest magnitude Π ``factors`` can reach (each factor counted as at least 1)."""
    bound = 1
    for f in factors:
        bound *= max(1, _max_abs(f))
    return bound


def product(*factors: Any) -> np.ndarray:
    """Π ``factors`` (int64 arrays or Python ints, broadcast): int64 when the bound fits, Python ints else."""
    if _bound(factors) < LIMIT and not any(_is_object(f) for f in factors):
        out = np.asarray(factors[0], dtype=np.int64)
        for f in factors[1:]:
            out = out * np.asarray(f, dtype=np.int64)
        return np.asarray(out, dtype=np.int64)
    out = np.asarray(factors[0]).astype(object)
    for f in factors[1:]:
        out = out * (np.asarray(f).astype(object) if isinstance(f, np.ndarray) else int(f))
    return np.asarray(out, dtype=object)


_RHU = np.frompyfunc(div_round_half_up, 2, 1)


def rhu(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """round half up of ``num ÷ den`` elementwise (den > 0), exact, as int64 (the result must fit)."""
    num = np.asarray(num)
    if _is_object(num) or _is_object(den) or _max_abs(den) >= LIMIT or _max_abs(num) >= LIMIT:
        den_o = np.asarray(den).astype(object) if isinstance(den, np.ndarray) else int(den)
        return np.asarray(_RHU(num.astype(object), den_o), dtype=object).astype(np.int64)
    return np.asarray(rhu_div(num.astype(np.int64), den), dtype=np.int64)


def _fits(factors: list[np.ndarray]) -> np.ndarray:
    """Rows whose product of ``factors`` stays below :data:`LIMIT`, decided by integer division (no float)."""
    acc = np.ones(factors[0].shape, dtype=np.int64)
    ok = np.ones(factors[0].shape, dtype=bool)
    for f in factors:
        fa = np.abs(f)
        ok &= acc <= (LIMIT - 1) // np.maximum(fa, 1)
        acc = np.where(ok, acc * np.where(ok, fa, 1), 1)
    return ok


def _muldiv_rhu(s: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray | None:
    """round half up of ``s·x ÷ m`` (m > 0) in int64 although ``s·x`` overflows it: long division of ``s``
    in base 2^bits, keeping ``s_prefix·x = q·m + r`` with ``0 ≤ r < m``; each step ``r·B + d·x < B·(m + x)``
    fits by the choice of B. None when no base fits or the quotient itself could overflow."""
    sign = np.sign(s) * np.sign(x)
    s, x = np.abs(s), np.abs(x)
    m_max, x_max, s_max = int(m.max()), int(x.max()), int(s.max())
    bits = 62 - (m_max + x_max).bit_length()
    if bits < 1 or s_max * x_max // int(m.min()) >= LIMIT:
        return None
    base, steps = 1 << bits, -(-max(s_max.bit_length(), 1) // bits)
    q, r = np.zeros_like(s), np.zeros_like(s)
    for i in reversed(range(steps)):
        t = r * base + ((s >> (i * bits)) & (base - 1)) * x
        q, r = q * base + t // m, t % m
    return sign * (q + (2 * r >= m))


def ratio_rhu(num_factors: list, den_factors: list) -> np.ndarray:
    """round half up of ``Π num_factors ÷ Π den_factors`` per row (den > 0), exact, as int64. Rows whose
    products fit run in int64; rows where only the last numerator factor (put the cost there) makes it
    overflow run an int64 long division; whatever is left (absurd magnitudes) runs on Python integers."""
    factors = [*num_factors, *den_factors]
    # a scalar past int64 (a long decimal's numerator) or Python-integer rows: all rows on Python integers
    big = any((isinstance(f, int) and abs(f) >= LIMIT) or _is_object(f) for f in factors)
    arrays = np.broadcast_arrays(*(np.asarray(0 if big and isinstance(f, int) else f) for f in factors))
    shape = arrays[0].shape
    if not arrays[0].size:
        return np.zeros(shape, dtype=np.int64)
    if big:
        num = product(*(np.asarray(f, dtype=object) for f in num_factors))
        return rhu(np.broadcast_to(num, shape), product(*(np.asarray(f, dtype=object) for f in den_factors)))
    nums = [a.astype(np.int64) for a in arrays[: len(num_factors)]]
    dens = [a.astype(np.int64) for a in arrays[len(num_factors) :]]
    if _bound(dens) < LIMIT:  # the usual cases, decided once for the whole array
        if _bound(nums) < LIMIT:
            return rhu(product(*nums), product(*dens))
        if len(nums) > 1 and _bound(nums[:-1]) < LIMIT:
            got = _muldiv_rhu(product(*nums[:-1]), nums[-1], product(*dens))
            if got is not None:
                return got
    out = np.zeros(shape, dtype=np.int64)
    den_ok = _fits(dens)
    rows = _fits(nums) & den_ok
    out[rows] = rhu(product(*(f[rows] for f in nums)), product(*(f[rows] for f in dens)))
    rest = ~rows
    if rest.any() and len(nums) > 1:
        rows = rest & _fits(nums[:-1]) & den_ok
        if rows.any():
            got = _muldiv_rhu(
                product(*(f[rows] for f in nums[:-1])), nums[-1][rows], product(*(f[rows] for f in dens))
            )
            if got is not None:
                out[rows], rest = got, rest & ~rows
    if rest.any():
        num = product(*(f[rest].astype(object) for f in nums))
        out[rest] = rhu(num, product(*(f[rest].astype(object) for f in dens)))
    return out


def compare(num: np.ndarray, den: np.ndarray, op: str, value: Ratio) -> np.ndarray:
    """``num ÷ den op value`` elementwise, as the integer comparison ``num·q op p·den`` (value = p/q, den > 0;
    rows with den ≤ 0 give an unspecified answer and must be masked by the caller)."""
    v = as_fraction(value)
    lhs, rhs = product(num, v.denominator), product(den, v.numerator)
    if lhs.dtype != rhs.dtype:
        lhs, rhs = lhs.astype(object), rhs.astype(object)
    return np.asarray(OPS[op](lhs, rhs), dtype=bool)
