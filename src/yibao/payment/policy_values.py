"""The values of payment-policy files (支付方式政策的取值): ratios, coefficients, days, levels, thresholds and tiers.

Every decimal is read exactly as written (:func:`yibao.money.to_decimal`) into a :class:`~decimal.Decimal` with
at most four decimals; amounts are integer fen (:data:`yibao.policy.values.Amount`); days and places are
``int``. A range is part of the type (``Share`` is [0, 1], ``Factor`` > 0), so a value out of range is refused
at its key. The loader refuses a decimal written without quotes before these types see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, ValidationInfo
from pydantic.dataclasses import dataclass

from yibao.errors import PolicyError
from yibao.money import AmountError, to_decimal
from yibao.policy.values import LEVELS

CONFIG = ConfigDict(extra="forbid")
_ONE = Decimal(1)
SchemeName = Literal["drg", "dip", "ffs"]
"""How a hospital's acute inpatient cases are paid: CHS-DRG, DIP (按病种分值) or fee-for-service (按项目)."""


# --- numbers ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _number(value: Any, what: str, places: int = 4) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not {what}")
    try:
        d = to_decimal(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not {what}") from None
    if d.normalize().as_tuple().exponent < -places:  # type: ignore[operator]
        raise ValueError(f"{_text(value)} has more than {places} decimals ({what})")
    return d


def _ranged(what: str, low: Decimal | None, high: Decimal | None, low_open: bool, high_open: bool):
    def check(value: Any) -> Decimal:
        d = _number(value, what)
        if (low is not None and (d < low or (low_open and d == low))) or (
            high is not None and (d > high or (high_open and d == high))
        ):
            raise ValueError(f"{_text(value)} is not {what}")
        return d

    return BeforeValidator(check)


Share = Annotated[Decimal, _ranged("a ratio in [0, 1]", Decimal(0), _ONE, False, False)]
PositiveShare = Annotated[Decimal, _ranged("a ratio in (0, 1]", Decimal(0), _ONE, True, False)]
Reserve = Annotated[Decimal, _ranged("a ratio in [0, 1)", Decimal(0), _ONE, False, True)]
Growth = Annotated[Decimal, _ranged("a growth rate in (-1, 1]", Decimal(-1), _ONE, True, False)]
Factor = Annotated[Decimal, _ranged("a number > 0 (at most four decimals)", Decimal(0), None, True, False)]
Score = Annotated[Decimal, _ranged("a score ≥ 0", Decimal(0), None, False, False)]


def whole(low: int, high: int | None = None):
    def check(value: Any) -> int:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text.isascii() and text.isdigit():
            text = int(text)
        if isinstance(text, bool) or not isinstance(text, int) or text < low or (high and text > high):
            span = f"{low}–{high}" if high else f"≥ {low}"
            raise ValueError(f"{_text(value)} is not a whole number {span}")
        return text

    return BeforeValidator(check)


Days = Annotated[int, whole(0)]
Places = Annotated[int, whole(0, 8)]


def level_of(value: Any) -> str:
    text = str(value).strip()
    if isinstance(value, bool) or text not in LEVELS:
        raise ValueError(f"'{text}' is not a hospital level: 1 (一级及以下), 2 (二级) or 3 (三级)")
    return text


Level = Annotated[str, BeforeValidator(level_of)]
"""``dedc_hosp_lv``: 1 一级及以下 (基层), 2 二级, 3 三级; written 1 or "1", kept as "1"."""


def region_path(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    parts = Path(text).parts
    if not text or Path(text).is_absolute() or ".." in parts:
        raise ValueError(f"{value!r} is not a path inside the region folder (e.g. payment/capitation.csv)")
    return Path(text).as_posix()


RegionPath = Annotated[str, BeforeValidator(region_path)]


def sum_to_one(value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    if sum(value) != 1:
        shown = " + ".join(str(v) for v in value)
        raise ValueError(f"{shown} = {sum(value)}: the weights must sum to 1 (年度权重之和须为 1)")
    return value


def rising(what: str, key: str, open_last: Literal["may", "must"]):
    """Tiers by an upper bound (``key``) that rises from tier to tier; only the last is open (``~``)."""

    def check(tiers: Sequence[Any]) -> Sequence[Any]:
        for i, t in enumerate(tiers):
            last = i == len(tiers) - 1
            if t.upto is None and not last:
                raise ValueError(f"{what} {i + 1}: only the last {what} is open-ended ({key}: ~)")
            if last and t.upto is not None and open_last == "must":
                raise ValueError(f"{what} {i + 1}: the last {what} is open-ended: write '{key}: ~'")
            if i and t.upto is not None and t.upto <= tiers[i - 1].upto:
                raise ValueError(
                    f"{what} {i + 1} ({key} {t.upto}) must rise above {what} {i} ({key} {tiers[i - 1].upto}) "
                    "(分档须递增)"
                )
        return tiers

    return AfterValidator(check)


# --- small records: thresholds, tiers, bands, segments, contract rows -------------------------------------


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class HighBound:
    """An upper threshold on the cost ratio r = cost ÷ base: ``r > ratio`` or ``r ≥ ratio`` (a city's choice)."""

    ratio: Factor
    op: Literal[">", ">="]

    def hit(self, r: Decimal) -> bool:
        return r > self.ratio if self.op == ">" else r >= self.ratio


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class LowBound:
    """A lower threshold on the cost ratio: ``r < ratio`` or ``r ≤ ratio``."""

    ratio: Factor
    op: Literal["<", "<="]

    def hit(self, r: Decimal) -> bool:
        return r < self.ratio if self.op == "<" else r <= self.ratio


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Tier:
    """One band of 结余留用 / 超支分担: up to ``upto`` × target (``~``: beyond the previous band), ``share``."""

    upto: Factor | None = None
    share: Share


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Band:
    """考核: a score from ``min_score`` up forfeits ``forfeit`` of the year's withheld deposit."""

    min_score: Score
    forfeit: Share


def falling(bands: tuple[Band, ...]) -> tuple[Band, ...]:
    for i in range(1, len(bands)):
        if bands[i].min_score >= bands[i - 1].min_score:
            raise ValueError(
                f"band {i + 1} (min_score {bands[i].min_score}) must be below band {i} "
                f"(min_score {bands[i - 1].min_score}): bands go from the highest score down"
            )
    if bands and bands[-1].min_score != 0:
        raise ValueError(f"the last band starts at {bands[-1].min_score}: it must start at 0 (every score)")
    return bands


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PerDiemSegment:
    """Days up to ``upto_day`` (from the previous segment's end; ``~``: the rest) paid × ``factor``."""

    upto_day: Annotated[int, whole(1)] | None = None
    factor: Factor

    @property
    def upto(self) -> int | None:
        return self.upto_day


def diagnosis_prefix(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    if not (
        len(text) >= 1
        and text[0].isascii()
        and text[0].isupper()
        and all(c.isascii() and (c.isalnum() or c == ".") for c in text)
    ):
        raise ValueError(f"{value!r} is not an ICD-10 code or prefix (F20, F31.1)")
    return text


@dataclass(frozen=True)
class CapitationContract:
    """One row of the contracts file: an institution's enrolled persons (签约人数) in a pool."""

    fixmedins_code: str
    pool: str
    enrolled: int
    line: int


@dataclass(frozen=True)
class CapitationContracts:
    """The contracts file (``path`` as read) and its rows."""

    path: Path
    rows: tuple[CapitationContract, ...]

    def enrolled(self, fixmedins_code: str, pool: str) -> int:
        return sum(r.enrolled for r in self.rows if r.fixmedins_code == fixmedins_code and r.pool == pool)


def contracts_of(value: Any, info: ValidationInfo) -> Any:
    """``contracts: payment/capitation.csv`` → its rows, read by the loader's ``read_contracts``
    (given in the validation context with the region folder; row problems go to the context's list)."""
    if isinstance(value, CapitationContracts):
        return value
    reader = (info.context or {}).get("read_contracts")
    if reader is None:
        raise PolicyError("capitation contracts are read by the loader (no region folder given)")
    return reader(region_path(value))
