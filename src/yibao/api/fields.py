"""Reading national input nodes: every error names its path (``input.data.med_type``) and reason."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yibao.errors import InputError, quote
from yibao.money import AmountError, parse_amount, parse_count, parse_price

_NATIONAL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
CODE = re.compile(r"[!-~]+", re.ASCII)  # visible ASCII: no space, no control, no full-width form
_INTEGER = re.compile(r"[+-]?\d{1,18}", re.ASCII)  # (a longer one is no count or flag the facade knows)
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d%H%M%S", "%Y-%m-%d")


class Node:
    """A mapping in the request with its path, and typed getters that refuse precisely."""

    def __init__(self, value: Any, path: str):
        if not isinstance(value, dict):
            raise InputError(f"{path}: 应为对象 (expected an object)")
        self.value, self.path = value, path

    def child(self, key: str, required: bool = True) -> Node | None:
        v = self.value.get(key)
        if v is None:
            if required:
                raise InputError(f"{self.path}.{key}: 缺少 (missing)")
            return None
        return Node(v, f"{self.path}.{key}")

    def items(self, key: str, required: bool = True) -> list[Node]:
        v = self.value.get(key)
        if v is None or v == []:
            if required:
                raise InputError(f"{self.path}.{key}: 缺少 (missing)")
            return []
        if isinstance(v, dict):  # some HIS send a single row as an object
            v = [v]
        if not isinstance(v, list):
            raise InputError(f"{self.path}.{key}: 应为数组 (expected a list)")
        return [Node(x, f"{self.path}.{key}[{i}]") for i, x in enumerate(v)]

    def _raw(self, key: str, required: bool):
        v = self.value.get(key)
        if v is None or (isinstance(v, str) and v.strip() == ""):
            if required:
                raise InputError(f"{self.path}.{key}: 缺少 (missing)")
            return None
        return v

    def str(self, key: str, required: bool = True, max_len: int | None = None, choices=None) -> str | None:
        """Free text (a name, a diagnosis's name): any printable characters, Chinese included."""
        v = self._raw(key, required)
        if v is None:
            return None
        if isinstance(v, (dict, list, bool)):
            raise InputError(f"{self.path}.{key}: 应为字符串 (expected a string)")
        text = format(v, "f") if isinstance(v, Decimal) else str(v).strip()
        if max_len and len(text) > max_len:
            raise InputError(f"{self.path}.{key}: 长度超过 {max_len} (longer than {max_len})")
        if not text.isprintable():
            raise InputError(f"{self.path}.{key}: {quote(text)} 含有控制字符 (control characters)")
        if choices is not None and text not in choices:
            raise InputError(f"{self.path}.{key}: 无效值 {quote(text)} (allowed: {', '.join(choices)})")
        return text

    def code(self, key: str, max_len: int, required: bool = True, choices=None) -> str | None:
        """A code or identifier (``psn_no``, ``mdtrt_id``, ``med_list_codg``, ``feedetl_sn`` …): visible ASCII
        characters only, at most ``max_len`` (the national field length). One rule for every code: a
        full-width "９９" is not the serial number "99", and is refused rather than stored beside it."""
        text = self.str(key, required, max_len)
        if text is None:
            return None
        if not CODE.fullmatch(text):
            raise InputError(
                f"{self.path}.{key}: {quote(text)} 应为ASCII字母、数字或符号 (visible ASCII only)"
            )
        if choices is not None and text not in choices:
            raise InputError(f"{self.path}.{key}: 无效值 {quote(text)} (allowed: {', '.join(choices)})")
        return text

    def int(self, key: str, required: bool = True, choices=None, default: int | None = None) -> int | None:
        v = self._raw(key, required and default is None)
        if v is None:
            return default
        text = v if isinstance(v, str) else format(v, "f") if isinstance(v, Decimal) else str(v)
        if isinstance(v, bool) or not _INTEGER.fullmatch(text.strip()):  # ("２": int() would read it)
            raise InputError(f"{self.path}.{key}: {quote(v)} 不是整数 (not an integer)")
        n = int(text)
        if choices is not None and n not in choices:
            raise InputError(
                f"{self.path}.{key}: 无效值 {quote(v)} (allowed: {', '.join(map(str, choices))})"
            )
        return n

    def _scaled(self, key: str, required: bool, parse, what: str):
        v = self._raw(key, required)
        if v is None:
            return None
        if isinstance(v, (bool, dict, list)):
            raise InputError(f"{self.path}.{key}: 不是{what}")
        try:
            return parse(v)
        except AmountError as exc:
            raise InputError(f"{self.path}.{key}: {exc}") from None

    def amount(self, key: str, required: bool = True) -> int | None:
        return self._scaled(key, required, parse_amount, "金额")

    def price(self, key: str, required: bool = True) -> int | None:
        return self._scaled(key, required, parse_price, "单价")

    def count(self, key: str, required: bool = True) -> int | None:
        return self._scaled(key, required, parse_count, "数量")

    def datetime(self, key: str, required: bool = True) -> datetime | None:
        v = self._raw(key, required)
        if v is None:
            return None
        text = str(v).strip()
        if not text.isascii():  # (strptime's %Y reads "２０２５")
            raise InputError(f"{self.path}.{key}: {quote(text)} 不是时间 (yyyy-MM-dd HH:mm:ss)")
        if _NATIONAL_DATETIME.fullmatch(text):  # the national form, without strptime's cost (a tenth)
            try:
                return datetime(
                    int(text[:4]),
                    int(text[5:7]),
                    int(text[8:10]),
                    int(text[11:13]),
                    int(text[14:16]),
                    int(text[17:]),
                )
            except ValueError:
                pass  # (a day or hour out of range: refused below, as strptime refuses it)
        for fmt in DATETIME_FORMATS:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        raise InputError(f"{self.path}.{key}: {quote(text)} 不是时间 (yyyy-MM-dd HH:mm:ss)")

    def date(self, key: str, required: bool = True) -> date | None:
        v = self._raw(key, required)
        if v is None:
            return None
        text = str(v).strip()
        try:
            if not text.isascii():
                raise ValueError
            return date.fromisoformat(text[:10])
        except ValueError:
            raise InputError(f"{self.path}.{key}: {quote(text)} 不是日期 (yyyy-MM-dd)") from None
