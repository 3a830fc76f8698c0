"""The values of policy files (政策文件的取值): amounts, ratios, limits, codes and the three ways of writing a table.

Tables of ratios and amounts may be written three ways, all normalised to
``{psn_type: {level: value}}`` before validation (``*`` = every one):

* a scalar (``"0.85"``) — every person category and hospital level;
* a level map (``{1: "0.80", 2: "0.70", 3: "0.60"}``) — keys are ``dedc_hosp_lv`` 1/2/3;
* a person-category map (``{"11": {...}, "12": "0.90"}``) — keys are ``psn_type`` codes of the insutype.

Amounts are yuan with at most two decimals, ratios are in [0, 1] with at most four
decimals; both may be quoted or not (the YAML reader keeps them exact). A limit
is an amount or the word ``unlimited``. Nothing has a silent default: a missing
amount is an error, not zero.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from yibao.money import BP, AmountError, parse_amount, parse_ratio

ALL = "*"
LEVELS = ("1", "2", "3")
UNLIMITED = "unlimited"


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _amount(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value} is not an amount")
    try:
        fen = parse_amount(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not an amount (yuan with at most two decimals)") from None
    if fen < 0:
        raise ValueError(f"{_text(value)} is not an amount ≥ 0")
    return fen


def _ratio(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a ratio in [0, 1]")
    try:
        bp = parse_ratio(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not a ratio in [0, 1]") from None
    if not 0 <= bp <= BP:
        raise ValueError(f"{_text(value)} is not a ratio in [0, 1]")
    return bp


def _limit(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return None
    if value is None:
        raise ValueError(f"a limit must be an amount or '{UNLIMITED}'")
    return _amount(value)


def _code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{value!r} is not a code")
    text = str(value).strip()
    if not text:
        raise ValueError("empty code")
    return text


def ratio_any(value: Any) -> int:
    """A non-negative multiplier with at most four decimals (e.g. 3.00 × the average wage)."""
    try:
        bp = parse_ratio(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not a number with at most four decimals") from None
    if bp < 0:
        raise ValueError(f"{_text(value)} must not be negative")
    return bp


def month_day(value: Any) -> str:
    text = str(value).strip()
    try:
        month, day = (int(x) for x in text.split("-"))
        date(2024, month, day)  # a leap year accepts 02-29
    except ValueError:
        raise ValueError(f'"{text}" is not a month-day (MM-DD)') from None
    return f"{month:02d}-{day:02d}"


Amount = Annotated[int, BeforeValidator(_amount)]
Ratio = Annotated[int, BeforeValidator(_ratio)]
Limit = Annotated[int | None, BeforeValidator(_limit)]
Code = Annotated[str, BeforeValidator(_code)]


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _is_level_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k) in LEVELS for k in value)


def _level_map(value: Any) -> Any:
    if _is_scalar(value):
        return {ALL: value}
    if _is_level_map(value):
        return {str(k): v for k, v in value.items()}
    return value  # leave it to validation to complain with a path


def normalise_table(value: Any) -> Any:
    """scalar | level map | person-category map  →  {psn_type|*: {level|*: value}}."""
    if _is_scalar(value) or _is_level_map(value):
        return {ALL: _level_map(value)}
    if isinstance(value, dict):
        return {str(k): _level_map(v) for k, v in value.items()}
    return value


def normalise_category_table(value: Any) -> Any:
    """scalar | person-category map  →  {psn_type|*: value} (caps do not vary by level)."""
    if _is_scalar(value):
        return {ALL: value}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


RatioTable = Annotated[dict[str, dict[str, Ratio]], BeforeValidator(normalise_table)]
AmountTable = Annotated[dict[str, dict[str, Amount]], BeforeValidator(normalise_table)]
LimitTable = Annotated[dict[str, Limit], BeforeValidator(normalise_category_table)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
