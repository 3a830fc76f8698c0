"""Reading a region's provider scheme: the values, ``scheme.yaml`` as a mapping and the three tables, every
problem collected (the sections of ``scheme.yaml`` are read in :mod:`yibao.providers.scheme`).

Each problem is one line ``file: key: reason`` (``file:line: column: reason`` for a table), the reason in
Chinese with the English in brackets; all of them are reported at once in one :class:`PolicyError`. As in the
payment policy, a decimal number in the YAML must be quoted (``pass_mark: "60"``): points, marks and shares
are read from text, never from a YAML float.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from yibao.errors import InputError, PolicyError
from yibao.providers.scheme_schema import (
    DIRECTIONS,
    FIGURES,
    AssessIndicator,
    Indicator,
    RedLine,
)
from yibao.yamlio import load_yaml_keyed

SCHEME_FILE = "scheme.yaml"
SCALE_FILE = "evaluation_scale.csv"
INDICATORS_FILE = "assessment_indicators.csv"
RED_LINES_FILE = "red_lines.csv"
SCALE_COLUMNS = ("code", "group", "name", "max_points")
INDICATOR_COLUMNS = ("code", "name", "points", "source", "direction", "target", "floor")
RED_LINE_COLUMNS = ("code", "name", "mandatory")
HUNDRED = Decimal(100)

T = TypeVar("T")


class Problems:
    """The problems of one file: ``add(key, reason)`` records ``file: key › path: reason``."""

    def __init__(self, path: Path, into: list[str]):
        self.path, self.into = path, into

    def add(self, key: tuple[Any, ...] | str, reason: str) -> None:
        where = key if isinstance(key, str) else " › ".join(str(k) for k in key)
        self.into.append(f"{self.path}: {where}: {reason}" if where else f"{self.path}: {reason}")


# --- values ---------------------------------------------------------------------------------------------------


def decimal_of(raw: Any, *, places: int = 4) -> Decimal:
    """A number written as text (``"0.95"``) or a whole number; a YAML float is refused (it would be a float
    to every other reader of the file)."""
    if isinstance(raw, Decimal):
        text = format(raw, "f")
        raise ValueError(
            f'{text} 须加引号 (write decimal numbers in quotes: "{text}"; never read as a float)'
        )
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"应为数字 (should be a number, got {raw!r})")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"不是数字 (not a number: {str(raw)[:24]!r})") from None
    if not value.is_finite():
        raise ValueError(f"不是有限数 (not a finite number: {raw!r})")
    if -value.as_tuple().exponent > places:  # type: ignore[operator]
        raise ValueError(f"最多 {places} 位小数 (at most {places} decimal places: {raw!r})")
    return value


def get(p: Problems, data: dict, key: tuple[Any, ...], name: str, parse: Callable[[Any], T]) -> T | None:
    if name not in data:
        p.add((*key, name), "缺少此项 (missing)")
        return None
    try:
        return parse(data[name])
    except ValueError as exc:
        p.add((*key, name), str(exc))
        return None


def whole(low: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"应为整数 (should be a whole number, got {raw!r})")
        if raw < low:
            raise ValueError(f"不能小于 {low} (must be at least {low}, got {raw})")
        return raw

    return parse


def number(low: Decimal | None = None, high: Decimal | None = None) -> Callable[[Any], Decimal]:
    def parse(raw: Any) -> Decimal:
        value = decimal_of(raw)
        if low is not None and value < low:
            raise ValueError(f"不能小于 {low} (must be at least {low}, got {value})")
        if high is not None and value > high:
            raise ValueError(f"不能大于 {high} (must be at most {high}, got {value})")
        return value

    return parse


def text(raw: Any) -> str:
    if not isinstance(raw, str | int) or isinstance(raw, bool) or not str(raw).strip():
        raise ValueError(f"应为非空文字 (should be non-empty text, got {raw!r})")
    return str(raw).strip()


def texts(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"应为非空列表 (should be a non-empty list, got {raw!r})")
    out = tuple(text(v) for v in raw)
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise ValueError(f"重复的值 {'、'.join(dup)} (repeated)")
    return out


def flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"应为 true 或 false (should be true or false, got {raw!r})")
    return raw


def mapping(p: Problems, data: Any, key: tuple[Any, ...], allowed: tuple[str, ...]) -> dict | None:
    if not isinstance(data, dict):
        p.add(key, f"应为键值映射 (should be a mapping, got {type(data).__name__})")
        return None
    for k in data:
        if str(k) not in allowed:
            p.add((*key, k), f"未知的键 (unknown key; known: {', '.join(allowed)})")
    return data


TOP_KEYS = (
    "effective_from",
    "title",
    "reference",
    "classes",
    "services",
    "application",
    "evaluation",
    "assessment",
    "measures",
)


def read_yaml(path: Path, p: Problems) -> dict | None:
    try:
        data, duplicates = load_yaml_keyed(path)
    except InputError as exc:
        p.into.append(exc.message)
        return None
    for d in duplicates:
        p.add(d.key, f"第 {d.line} 行重复了第 {d.first} 行的键 (key written twice)")
    return mapping(p, data, (), TOP_KEYS)


def choice(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if raw not in allowed:
            raise ValueError(f"应为 {' / '.join(allowed)} 之一 (one of these, got {raw!r})")
        return raw

    return parse


# --- the tables -----------------------------------------------------------------------------------------------


def read_table(path: Path, columns: tuple[str, ...], into: list[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a UTF-8 CSV with exactly ``columns`` (any order), each with its line number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        into.append(f"{path}: 文件不存在 (file not found)")
        return []
    except UnicodeDecodeError:
        into.append(f"{path}: 不是 UTF-8 文本 (not UTF-8)")
        return []
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(h.strip() for h in reader.fieldnames or ())
    if sorted(header) != sorted(columns):
        into.append(
            f"{path}: 表头应为 {','.join(columns)} (header should be these columns, got {','.join(header)})"
        )
        return []
    rows = []
    for row in reader:
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row or any(v is None for v in row.values()):
            into.append(f"{path}:{reader.line_num}: 列数与表头不符 (wrong number of cells)")
            continue
        if any(cells.values()):
            rows.append((reader.line_num, cells))
    if not rows:
        into.append(f"{path}: 没有数据行 (no rows)")
    return rows


def _cell(
    into: list[str], path: Path, n: int, row: dict[str, str], col: str, parse: Callable[[str], T]
) -> T | None:
    try:
        return parse(row[col])
    except ValueError as exc:
        into.append(f"{path}:{n}: {col}: {exc}")
        return None


def _unique(into: list[str], path: Path, rows: list[tuple[int, dict[str, str]]]) -> None:
    seen: dict[str, int] = {}
    for n, row in rows:
        code = row["code"]
        if code in seen:
            into.append(f"{path}:{n}: code: 代码 {code} 与第 {seen[code]} 行重复 (code repeated)")
        seen.setdefault(code, n)


def _sums_to_100(into: list[str], path: Path, column: str, values: list[Decimal]) -> None:
    total = sum(values, Decimal(0))
    if total != HUNDRED:
        into.append(f"{path}: {column}: 合计 {total} 分，应为 100 分 (points must sum to 100)")


def scale(folder: Path, into: list[str]) -> tuple[Indicator, ...] | None:
    path = folder / SCALE_FILE
    rows = read_table(path, SCALE_COLUMNS, into)
    _unique(into, path, rows)
    out = []
    for n, row in rows:
        code, group, name = (_cell(into, path, n, row, c, text) for c in ("code", "group", "name"))
        pts = _cell(into, path, n, row, "max_points", number(Decimal("0.01"), HUNDRED))
        if None not in (code, group, name, pts):
            out.append(Indicator(code, group, name, pts))  # type: ignore[arg-type]
    if not rows or len(out) != len(rows):
        return None
    _sums_to_100(into, path, "max_points", [i.max_points for i in out])
    return tuple(out)


def assessment_indicators(folder: Path, into: list[str]) -> tuple[AssessIndicator, ...]:
    path = folder / INDICATORS_FILE
    rows = read_table(path, INDICATOR_COLUMNS, into)
    _unique(into, path, rows)
    out = []
    for n, row in rows:
        code, name = _cell(into, path, n, row, "code", text), _cell(into, path, n, row, "name", text)
        pts = _cell(into, path, n, row, "points", number(Decimal("0.01"), HUNDRED))
        source = _cell(into, path, n, row, "source", _source)
        direction = _cell(into, path, n, row, "direction", choice(DIRECTIONS))
        target = _cell(into, path, n, row, "target", number())
        floor = _cell(into, path, n, row, "floor", number())
        if None in (code, name, pts, source, direction, target, floor):
            continue
        if direction == "higher" and not target > floor:  # type: ignore[operator]
            into.append(
                f"{path}:{n}: target: 越高越好时目标值 {target} 须高于下限 {floor} (higher: target > floor)"
            )
        elif direction == "lower" and not target < floor:  # type: ignore[operator]
            into.append(
                f"{path}:{n}: target: 越低越好时目标值 {target} 须低于下限 {floor} (lower: target < floor)"
            )
        else:
            out.append(AssessIndicator(code, name, pts, source, direction, target, floor))  # type: ignore[arg-type]
    if out and len(out) == len(rows):
        _sums_to_100(into, path, "points", [i.points for i in out])
    return tuple(out)


def _source(raw: str) -> str:
    kind, sep, name = raw.partition(":")
    if raw == "manual" or (kind == "computed" and sep and name in FIGURES):
        return raw
    raise ValueError(
        f"应为 manual 或 computed:<指标> (manual, or computed: one of {', '.join(FIGURES)}; got {raw!r})"
    )


def red_lines(folder: Path, into: list[str]) -> tuple[RedLine, ...]:
    path = folder / RED_LINES_FILE
    rows = read_table(path, RED_LINE_COLUMNS, into)
    _unique(into, path, rows)
    out = []
    for n, row in rows:
        code, name = _cell(into, path, n, row, "code", text), _cell(into, path, n, row, "name", text)
        mandatory = _cell(into, path, n, row, "mandatory", _zero_one)
        if None not in (code, name, mandatory):
            out.append(RedLine(code, name, mandatory))  # type: ignore[arg-type]
    return tuple(out)


def _zero_one(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(f"应为 0 或 1 (0 or 1, got {raw!r})")
    return raw == "1"


def fail_if(problems: list[str]) -> None:
    if problems:
        raise PolicyError("\n".join(dict.fromkeys(problems)))
