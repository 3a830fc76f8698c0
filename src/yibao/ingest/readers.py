"""Row readers that keep line numbers: CSV (UTF-8, BOM, GB18030), XLSX (first sheet), YAML (node marks)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from yibao.errors import InputError
from yibao.yamlio import ExactLoader


def _text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path.name}: 无法识别的文字编码 (neither UTF-8 nor GB18030)")


def read_rows(path: Path, kind: str | None = None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """(header, iterator of (line number, row)) — the header is known before the rows are read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: 文件不存在 (file not found)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(path)
    if suffix in (".yaml", ".yml"):
        return _yaml(path, kind)
    raise InputError(f"{path.name}: 不支持的文件类型 {suffix or '(none)'} (CSV, XLSX or YAML)")


def _csv(path: Path):
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path.name}: 空文件 (empty file)") from None

    named = all(header)
    width = len(header)

    def rows():
        strip = str.strip
        for line, values in enumerate(reader, start=2):
            if named and len(values) == width:  # the common case, in C
                row = dict(zip(header, map(strip, values), strict=True))
                if any(row.values()):
                    yield line, row
                continue
            if not any(v.strip() for v in values):
                continue
            yield line, {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}

    return header, rows()


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date() if v.time() == datetime.min.time() else v
    if isinstance(v, float):  # Excel stores numbers as floats; their shortest repr is what was typed
        text = repr(v)
        return text[:-2] if text.endswith(".0") else text
    return "" if v is None else v


def _xlsx(path: Path):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path.name}: 不是有效的 XLSX 文件 ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [str(h).strip() if h is not None else "" for h in next(it)]
    except StopIteration:
        raise InputError(f"{path.name}: 空工作表 (empty sheet)") from None

    def rows():
        for line, values in enumerate(it, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            yield line, {h: _cell(values[i] if i < len(values) else None) for i, h in enumerate(header) if h}
        wb.close()

    return header, rows()


def _yaml(path: Path, kind: str | None):
    try:
        node = yaml.compose(_text(path), Loader=ExactLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"{path.name}{f':{mark.line + 1}' if mark else ''}: YAML 格式错误") from None
    if isinstance(node, yaml.MappingNode):  # {institutions: [...]}
        found = [v for k, v in node.value if k.value == kind] if kind else []
        if not found:
            keys = ", ".join(k.value for k, _ in node.value)
            raise InputError(f"{path.name}: 缺少 {kind} 列表 (found: {keys})")
        node = found[0]
    if not isinstance(node, yaml.SequenceNode):
        raise InputError(f"{path.name}: 应为记录列表 (a list of mappings)")
    loader = ExactLoader("")
    items = []
    header: list[str] = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            raise InputError(f"{path.name}:{item.start_mark.line + 1}: 每条记录应为映射 (mapping)")
        row = loader.construct_mapping(item, deep=True)
        row = {str(k): ("" if v is None else v) for k, v in row.items()}
        for k in row:
            if k not in header:
                header.append(k)
        items.append((item.start_mark.line + 1, row))
    return header, iter(items)


def as_text(v: Any) -> str:
    if type(v) is str:
        return v.strip()
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v).strip()
