"""Reading a DIP catalogue's tables (CSV or XLSX) and its procedure expressions (手术操作表达式).

Every table is read as (line, column → text) with the header checked, whether it comes as UTF-8 CSV or as
the first sheet of an ``.xlsx``; a procedure expression joins ICD-9-CM-3 codes with ``+`` (all of) and
``/`` (any of), read with the region's precedence (payment-drg-dip.md §3.1: not standardised).
"""

from __future__ import annotations

import csv
import io
import re

from yibao.payment.cases import normalise_code
from yibao.payment.drg_tables import refuse

SLASH_FIRST, PLUS_FIRST = "slash_first", "plus_first"
PX_CODE = re.compile(r"\d{2}\.[0-9A-Za-z]{2,10}")

Expression = tuple[tuple[frozenset[str], ...], ...]
"""Alternatives (any one), each a tuple of slots (all), each slot a set of codes (any one)."""


def table_rows(name: str, data: bytes, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a UTF-8 CSV or an ``.xlsx`` (first sheet) as (line, column → text); the header must
    name every ``required`` column."""
    if name.lower().endswith(".xlsx"):
        table = _xlsx_rows(name, data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise refuse(name, line, "不是 UTF-8 文本 (not UTF-8)") from None
        try:
            table = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), 1)]
        except csv.Error as exc:
            raise refuse(name, 0, f"无法读取 CSV (unreadable CSV): {exc}") from None
    if not table:
        raise refuse(name, 0, "文件为空，缺少表头 (empty file, no header)")
    header = [h.strip() for h in table[0][1]]
    if missing := [c for c in required if c not in header]:
        raise refuse(name, 1, f"缺少列 {', '.join(missing)} (missing columns)")
    rows = []
    for n, row in table[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise refuse(name, n, f"列数 {len(row)} 多于表头的 {len(header)} 列 (too many cells)")
        row = row + [""] * (len(header) - len(row))
        rows.append((n, {h: cell.strip() for h, cell in zip(header, row, strict=True)}))
    return rows


def _xlsx_rows(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        return [
            (n, ["" if v is None else str(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), 1)
        ]
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise refuse(name, 0, f"无法读取 XLSX (unreadable workbook): {type(exc).__name__}") from None


# --- procedure expressions ---------------------------------------------------------------------------------


def parse_expression(text: str, precedence: str = SLASH_FIRST) -> Expression:
    """``A/B+C`` → with ``slash_first`` (A or B) and C; with ``plus_first`` (A and B) or C, as ``A+B/C``
    reads then. Raises ``ValueError`` with the reason."""
    text = text.replace(" ", "").replace("＋", "+").replace("／", "/")
    if not text:
        return ()
    outer, inner = ("+", "/") if precedence == SLASH_FIRST else ("/", "+")
    parts = [[_code(c) for c in part.split(inner)] for part in text.split(outer)]
    if precedence == SLASH_FIRST:
        return (tuple(frozenset(p) for p in parts),)
    return tuple(tuple(frozenset([c]) for c in p) for p in parts)


def _code(text: str) -> str:
    if not text:
        raise ValueError("手术操作表达式中有空项 (empty term: check + and /)")
    code = normalise_code(text)
    if not PX_CODE.fullmatch(code):
        raise ValueError(f"手术操作编码格式错误 (malformed procedure code): {text[:24]}")
    return code


def satisfied(expression: Expression, procedures: frozenset[str]) -> int:
    """How many procedures of the case the expression uses (the slots of its best alternative that the
    case fills), or 0 when no alternative is satisfied."""
    best = 0
    for slots in expression:
        if all(not slot.isdisjoint(procedures) for slot in slots):
            best = max(best, len(slots))
    return best
