"""Exact money: integer fen inside, two-decimal yuan strings at the edges.

Scales used throughout yibao (all plain integers, never floats):

* amounts: fen (1 yuan = 100 fen), the national ``16,2`` fields;
* ratios: basis points (1.0000 = 10000), the national ``5,4`` fields;
* unit prices: micro-yuan (1e-6 yuan), the national ``16,6`` ``pric``;
* counts: 1e-4 units, the national ``16,4`` ``cnt``.

``round`` always means round half up, symmetric for negative values
(settlement.md §1).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from yibao.errors import quote

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


def parse_amount(value: Any) -> int:
    """Yuan (at most two decimals and 14 integer digits) → fen."""
    return _scaled(value, 2, AMOUNT_DIGITS, "an amount")


def parse_ratio(value: Any) -> int:
    """A ratio such as ``"0.88"`` (at most four decimals, below 10) → basis points. Range is the caller's rule."""
    return _scaled(value, 4, RATIO_DIGITS, "a ratio")


def parse_price(value: Any) -> int:
    """Unit price in yuan (at most six decimals and 10 integer digits) → micro-yuan."""
    return _scaled(value, 6, PRICE_DIGITS, "a price")


def parse_count(value: Any) -> int:
    """Quantity (at most four decimals and 12 integer digits) → 1e-4 units."""
    return _scaled(value, 4, COUNT_DIGITS, "a count")


def fmt_fen(fen: int) -> str:
    """Fen → ``"-12.34"``: exactly two decimals."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), FEN)
    return f"{sign}{q}.{r:02d}"


def fmt_bp(bp: int) -> str:
    """Basis points → ``"0.8800"``: exactly four decimals."""
    sign = "-" if bp < 0 else ""
    q, r = divmod(abs(int(bp)), BP)
    return f"{sign}{q}.{r:04d}"


def fmt_scaled(value: int, scale: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    q, r = divmod(abs(int(value)), scale)
    return f"{sign}{q}.{r:0{places}d}" if places else f"{sign}{q}"


def div_round_half_up(num: int, den: int) -> int:
    """round(num / den) half up, symmetric for negative numerators; den > 0."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((2 * -num + den) // (2 * den))


def apply_ratio(fen: int, bp: int) -> int:
    """round(amount × ratio) to the fen."""
    return div_round_half_up(fen * bp, BP)


def fen_to_decimal(fen: int) -> Decimal:
    return Decimal(fmt_fen(fen))
