"""Reading national input nodes: every error names its path (``input.data.med_type``) and reason."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yibao.errors import InputError
from yibao.money import AmountError, parse_amount, parse_count, parse_price

_NATIONAL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
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
        v = self._raw(key, required)
        if v is None:
            return None
        if isinstance(v, (dict, list, bool)):
            raise InputError(f"{self.path}.{key}: 应为字符串 (expected a string)")
        text = format(v, "f") if isinstance(v, Decimal) else str(v).strip()
        if max_len and len(text) > max_len:
            raise InputError(f"{self.path}.{key}: 长度超过 {max_len}")
        if choices is not None and text not in choices:
            raise InputError(f'{self.path}.{key}: 无效值 "{text}" (allowed: {", ".join(choices)})')
        return text

    def int(self, key: str, required: bool = True, choices=None, default: int | None = None) -> int | None:
        v = self._raw(key, required and default is None)
        if v is None:
            return default
        try:
            n = int(str(v).strip())
        except ValueError:
            raise InputError(f'{self.path}.{key}: "{v}" 不是整数') from None
        if choices is not None and n not in choices:
            raise InputError(f'{self.path}.{key}: 无效值 "{v}" (allowed: {", ".join(map(str, choices))})')
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
        raise InputError(f'{self.path}.{key}: "{text}" 不是时间 (yyyy-MM-dd HH:mm:ss)')

    def date(self, key: str, required: bool = True) -> date | None:
        v = self._raw(key, required)
        if v is None:
            return None
        try:
            return date.fromisoformat(str(v).strip()[:10])
        except ValueError:
            raise InputError(f'{self.path}.{key}: "{v}" 不是日期 (yyyy-MM-dd)') from None
