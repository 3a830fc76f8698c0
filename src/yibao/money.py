"""Exact money: integer fen inside, two-decimal yuan strings at the edges (金额、比例的解析、格式与舍入).

Scales used throughout yibao (all plain integers, never floats), each with its unit type:

* amounts: :data:`Fen` (1 yuan = 100 fen), the national ``16,2`` fields;
* ratios: :data:`BasisPoints` (1.0000 = 10000), the national ``5,4`` fields;
* unit prices: :data:`MicroYuan` (1e-6 yuan), the national ``16,6`` ``pric``;
* counts: :data:`CountE4` (1e-4 units), the national ``16,4`` ``cnt``.

The unit types are :class:`typing.NewType` over ``int``: free at run time, but a signature says which scale
it takes, and a checker refuses a ratio passed where fen are wanted.

``round`` always means round half up, symmetric for negative values (settlement.md §1). It is defined here
once, for Python integers (:func:`div_round_half_up`) and for NumPy arrays (:func:`rhu_div`, :func:`rhu_pos`);
the tests check the two against each other and against :mod:`decimal`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, NewType

import numpy as np

from yibao.errors import quote

Fen = NewType("Fen", int)  # 分: 1/100 yuan
BasisPoints = NewType("BasisPoints", int)  # 万分之一: 1/10000 of a ratio
MicroYuan = NewType("MicroYuan", int)  # 1e-6 yuan: unit prices
CountE4 = NewType("CountE4", int)  # 1e-4 units: quantities

FEN = 100
BP = 10_000
MICRO = 1_000_000
CNT = 10_000


class AmountError(ValueError):
    """A value that is not a valid amount/ratio/price/count; the message is the reason, in Chinese first
    (it reaches HIS systems as an ``err_msg`` and staff as an import error), English in brackets."""


_WHAT = {"a number": "数值", "an amount": "金额", "a ratio": "比例", "a price": "单价", "a count": "数量"}
# a number as people and JSON write it: ASCII digits only (Decimal() would also read "５０", "١٠٠" and "1_0")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# integer digits the national fields allow: amounts 16,2; ratios 5,4; prices 16,6; counts 16,4
AMOUNT_DIGITS, RATIO_DIGITS, PRICE_DIGITS, COUNT_DIGITS = 14, 1, 10, 12


def _not(value: Any, what: str = "a number") -> str:
    return f"{value} 不是有效的{_WHAT[what]} (not {what})"


def to_decimal(value: Any) -> Decimal:
    """Read a user-supplied number exactly. Strings and ints are exact; a float is read by its
    shortest repr (what the user typed), never by binary arithmetic. Digits are ASCII 0-9 only."""
    if isinstance(value, bool) or value is None:
        raise AmountError(_not(repr(value)))
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, str):
        s = value.strip().replace(",", "")
        if not _NUMBER.fullmatch(s):
            raise AmountError(_not(quote(value)))
        d = Decimal(s)
    else:
        raise AmountError(_not(quote(value)))
    if not d.is_finite():
        raise AmountError(f"{quote(value)} 不是有限数值 (not a finite number)")
    return d


def _scaled(value: Any, places: int, digits: int, what: str) -> int:
    """``value × 10^places`` exactly, refusing more than ``places`` decimals or ``digits`` integer digits. Works on
    the decimal's digits, never in a Decimal context: ``1e308`` is refused by its size, not by an overflow,
    and ``1.0000000000000000000000000001`` is not rounded to 1 by the context's 28 digits."""
    try:
        d = to_decimal(value)
    except AmountError:
        raise AmountError(_not(quote(value), what)) from None
    if d.is_zero():
        return 0
    sign, ds, exp = d.as_tuple()
    zeros = 0  # trailing zeros of the fraction ("10.50" has two decimals, one of them significant)
    while zeros < len(ds) - 1 and zeros < -exp and ds[-1 - zeros] == 0:
        zeros += 1
    ds, exp = ds[: len(ds) - zeros], exp + zeros
    if exp < -places:
        raise AmountError(f"{quote(value)} 小数位超过 {places} 位 (more than {places} decimals)")
    if len(ds) + exp > digits:
        raise AmountError(
            f"{quote(value)} 整数部分超过 {digits} 位 (more than {digits} integer digits: the national field)"
        )
    n = int("".join(map(str, ds))) * 10 ** (exp + places)
    return -n if sign else n


def parse_amount(value: Any) -> Fen:
    """Yuan (at most two decimals and 14 integer digits) → fen."""
    return Fen(_scaled(value, 2, AMOUNT_DIGITS, "an amount"))


def parse_ratio(value: Any) -> BasisPoints:
    """A ratio such as ``"0.88"`` (at most four decimals, below 10) → basis points. Range is the caller's rule."""
    return BasisPoints(_scaled(value, 4, RATIO_DIGITS, "a ratio"))


def parse_price(value: Any) -> MicroYuan:
    """Unit price in yuan (at most six decimals and 10 integer digits) → micro-yuan."""
    return MicroYuan(_scaled(value, 6, PRICE_DIGITS, "a price"))


def parse_count(value: Any) -> CountE4:
    """Quantity (at most four decimals and 12 integer digits) → 1e-4 units."""
    return CountE4(_scaled(value, 4, COUNT_DIGITS, "a count"))


# --- formatting ----------------------------------------------------------------------------------------


def fmt_scaled(value: int, scale: int, places: int) -> str:
    """An integer of ``scale`` units per one → ``"-1.2300"`` with exactly ``places`` decimals."""
    sign = "-" if value < 0 else ""
    q, r = divmod(abs(int(value)), scale)
    return f"{sign}{q}.{r:0{places}d}" if places else f"{sign}{q}"


def fmt_fen(fen: Fen) -> str:
    """Fen → ``"-12.34"``: exactly two decimals (:func:`fmt_scaled` written out: every reply calls it often)."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), FEN)
    return f"{sign}{q}.{r:02d}"


def fmt_yuan(fen: Fen) -> str:
    """Fen → ``"-1,234,567.89"``: two decimals, thousands grouped (for people to read, never to parse)."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), FEN)
    return f"{sign}{q:,}.{r:02d}"


def fmt_bp(bp: BasisPoints) -> str:
    """Basis points → ``"0.8800"``: exactly four decimals."""
    sign = "-" if bp < 0 else ""
    q, r = divmod(abs(int(bp)), BP)
    return f"{sign}{q}.{r:04d}"


def fmt_price(price: MicroYuan) -> str:
    """Micro-yuan → ``"12.500000"``: exactly six decimals (the national ``pric``)."""
    return fmt_scaled(price, MICRO, 6)


def fmt_count(count: CountE4) -> str:
    """1e-4 units → ``"2.0000"``: exactly four decimals (the national ``cnt``)."""
    return fmt_scaled(count, CNT, 4)


def fen_to_decimal(fen: Fen) -> Decimal:
    return Decimal(fmt_fen(fen))


# --- round half up: one definition, for Python integers and for NumPy arrays ----------------------------


def div_round_half_up(num: int, den: int) -> int:
    """round(num / den) half up, symmetric for negative numerators (−2.5 → −3); den > 0. Exact at any size."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((2 * -num + den) // (2 * den))


def apply_ratio(fen: Fen, bp: BasisPoints) -> Fen:
    """round(amount × ratio) to the fen."""
    return Fen(div_round_half_up(fen * bp, BP))


def rhu_pos(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """:func:`div_round_half_up` of int64 arrays for ``num ≥ 0`` (den > 0, a scalar or an array): one
    expression, no sign test — the fund chain works on non-negative amounts. The caller keeps ``2 × num``
    within int64."""
    return (2 * num + den) // (2 * den)


def rhu_div(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """:func:`div_round_half_up` of int64 arrays, symmetric for negatives (den > 0); exact in int64."""
    num = np.asarray(num, dtype=np.int64)
    if num.size and num.min() >= 0:  # the usual case: no returns
        return rhu_pos(num, den)
    mag = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -mag, mag)


def apply_ratio_array(fen: np.ndarray, bp: BasisPoints | np.ndarray) -> np.ndarray:
    """:func:`apply_ratio` of an int64 array of fen (the vectorised contribution runs)."""
    return rhu_div(np.asarray(fen, dtype=np.int64) * bp, BP)
