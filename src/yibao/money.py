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

from decimal import Decimal, InvalidOperation
from typing import Any

FEN = 100
BP = 10_000
MICRO = 1_000_000
CNT = 10_000


class AmountError(ValueError):
    """A value that is not a valid amount/ratio/price/count; the message is the reason, in Chinese first
    (it reaches HIS systems as an ``err_msg`` and staff as an import error), English in brackets."""


_WHAT = {"a number": "数值", "an amount": "金额", "a ratio": "比例", "a price": "单价", "a count": "数量"}


def _not(value: Any, what: str = "a number") -> str:
    return f"{value} 不是有效的{_WHAT[what]} (not {what})"


def to_decimal(value: Any) -> Decimal:
    """Read a user-supplied number exactly. Strings and ints are exact; a float is read by its
    shortest repr (what the user typed), never by binary arithmetic."""
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
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise AmountError(_not(f'"{value}"')) from None
    else:
        raise AmountError(_not(repr(value)))
    if not d.is_finite():
        raise AmountError(f'"{value}" 不是有限数值 (not a finite number)')
    return d


def _scaled(value: Any, scale: int, places: int, what: str) -> int:
    try:
        d = to_decimal(value)
    except AmountError:
        raise AmountError(_not(f'"{value}"', what)) from None
    scaled = d * scale
    if scaled != scaled.to_integral_value():
        raise AmountError(f'"{value}" 小数位超过 {places} 位 (more than {places} decimals)')
    return int(scaled)


def parse_amount(value: Any) -> int:
    """Yuan (at most two decimals) → fen."""
    return _scaled(value, FEN, 2, "an amount")


def parse_ratio(value: Any) -> int:
    """A ratio such as ``"0.88"`` (at most four decimals) → basis points. Range is the caller's rule."""
    return _scaled(value, BP, 4, "a ratio")


def parse_price(value: Any) -> int:
    """Unit price in yuan (at most six decimals) → micro-yuan."""
    return _scaled(value, MICRO, 6, "a price")


def parse_count(value: Any) -> int:
    """Quantity (at most four decimals) → 1e-4 units."""
    return _scaled(value, CNT, 4, "a count")


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
