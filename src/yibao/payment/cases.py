"""The case a DRG grouper reads (医保结算清单 for grouping) and reading cases from CSV, row by row.

A row that cannot be grouped is never an exception to the caller: it comes back with the reason in
Chinese (bad 性别, non-numeric 年龄, no 主要诊断 …), so a batch of a million rows groups every good row and
reports every bad one. Only an unusable file (missing, no header, missing columns) is refused as a whole.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from yibao.errors import InputError

COLUMNS = ("case_id", "gend", "age", "age_days", "weight_g", "los", "dscg_way", "diagnoses", "procedures")
DISCHARGE_WAYS = {"1", "2", "3", "4", "5", "9"}
"""离院方式: 1 医嘱离院, 2 医嘱转院, 3 转社区, 4 非医嘱离院, 5 死亡, 9 其他."""

_X_AFTER_DIGIT = re.compile(r"(?<=[0-9.])X")


@dataclass(frozen=True, slots=True)
class DrgCase:
    """One case as grouping sees it: ``gend`` 1 male / 2 female, ``age`` in whole years (周岁), ``age_days``
    the age in days (不足1周岁年龄 for infants), ``weight_g`` birth/admission weight, ``los`` length of stay,
    ``dscg_way`` 离院方式, ``diagnoses`` and ``procedures`` 医保版 2.0 codes, principal first."""

    case_id: str
    gend: int
    age: int
    age_days: int
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...] = ()
    weight_g: int | None = None
    los: int | None = None
    dscg_way: str = "1"


class CaseRow(NamedTuple):
    """A row read from the input: its line, its case id, and either the case or the reason it was refused."""

    line: int
    case_id: str
    case: DrgCase | None
    refusal: str | None


class RowRefused(ValueError):
    """A row that cannot become a case; the message is the reason shown to the user."""


@lru_cache(maxsize=1 << 17)  # a year's cases repeat a few tens of thousands of codes
def normalise_code(code: str) -> str:
    """Codes as the tables write them: no spaces, capital letters, the extension ``x`` in lower case
    (``k80.100X001`` → ``K80.100x001``), the dagger written ``+`` (``A17.000†G01*`` → ``A17.000+G01*``)."""
    text = code.replace(" ", "").replace("†", "+").replace("＋", "+").replace("＊", "*").upper()
    return _X_AFTER_DIGIT.sub("x", text)


def split_codes(text: str) -> tuple[str, ...]:
    return tuple(c for c in (normalise_code(part) for part in text.split("|")) if c)


def whole_number(value: str, label: str, low: int = 0, high: int | None = None) -> int:
    text = value.strip()
    try:
        number = int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            raise RowRefused(f"{label}不是数字: {text[:20]!r}") from None
        if not as_float.is_integer():
            raise RowRefused(f"{label}应为整数: {text[:20]!r}") from None
        number = int(as_float)
    if number < low or (high is not None and number > high):
        raise RowRefused(f"{label}超出范围 ({low}–{high if high is not None else '…'}): {number}")
    return number


def case_from_fields(fields: dict[str, str]) -> DrgCase:
    """A case from one row's text fields; raises ``RowRefused`` with the reason."""
    gend = fields["gend"].strip()
    if gend not in ("1", "2"):
        raise RowRefused(f"性别应为 1（男）或 2（女）: {gend[:20]!r}")
    diagnoses = split_codes(fields["diagnoses"])
    if not diagnoses or not fields["diagnoses"].split("|")[0].strip():
        raise RowRefused("缺少主要诊断")
    weight = fields["weight_g"].strip()
    los = fields["los"].strip()
    dscg_way = fields["dscg_way"].strip()
    if dscg_way and dscg_way not in DISCHARGE_WAYS:
        raise RowRefused(f"离院方式应为 1、2、3、4、5 或 9: {dscg_way[:20]!r}")
    return DrgCase(
        case_id=fields["case_id"].strip(),
        gend=int(gend),
        age=whole_number(fields["age"], "年龄", 0, 150),
        age_days=whole_number(fields["age_days"], "年龄（天）", 0, 150 * 366),
        diagnoses=diagnoses,
        procedures=split_codes(fields["procedures"]),
        weight_g=(whole_number(weight, "体重（克）", 0, 20_000) or None)
        if weight
        else None,  # 0: not weighed
        los=whole_number(los, "住院天数", 0, 100_000) if los else None,
        dscg_way=dscg_way,
    )


def read_cases(path: Path) -> Iterator[CaseRow]:
    """Every data row of a UTF-8 CSV with a header naming at least ``COLUMNS`` (any order)."""
    try:
        handle = path.open(
            encoding="utf-8-sig", errors="replace", newline=""
        )  # a bad byte fails its row only
    except OSError as exc:
        raise InputError(f"无法打开输入文件 {path}: {exc.strerror or exc} (cannot open input)") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError(f"{path.name}: 文件为空，缺少表头 (empty file, no header)") from None
        except csv.Error as exc:
            raise InputError(f"{path.name}: 无法读取表头 (unreadable header): {exc}") from None
        if missing := [c for c in COLUMNS if c not in header]:
            raise InputError(f"{path.name}: 缺少列 {', '.join(missing)} (missing columns)")
        index = {c: header.index(c) for c in COLUMNS}
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield CaseRow(line, "", None, f"无法读取此行: {exc}")
                continue
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            row = row + [""] * (len(header) - len(row))
            fields = {c: row[i] for c, i in index.items()}
            case_id = fields["case_id"].strip()
            if any("\ufffd" in cell for cell in row):
                yield CaseRow(line, case_id, None, "此行不是有效的 UTF-8 文本")
                continue
            if len(row) > len(header):
                yield CaseRow(line, case_id, None, f"列数 {len(row)} 多于表头的 {len(header)} 列")
                continue
            try:
                yield CaseRow(line, case_id, case_from_fields(fields), None)
            except RowRefused as exc:
                yield CaseRow(line, case_id, None, str(exc))
