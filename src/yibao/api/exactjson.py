"""JSON with exact decimals: amounts travel as JSON numbers (``16,2``) but never as binary floats."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

_DECODER = json.JSONDecoder(parse_float=Decimal)  # (json.loads with a hook builds a decoder per call)


def loads(data: bytes | str) -> Any:
    """Parse a request body; numbers with a fraction become Decimal, never float."""
    if not isinstance(data, str):
        data = data.decode(json.detect_encoding(data), "surrogatepass")  # as json.loads reads bytes
    return _DECODER.decode(data)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(format(obj, "f"))  # written as a JSON number, digit for digit
    if isinstance(obj, datetime):
        return f"{obj:%Y-%m-%d %H:%M:%S}"  # the national datetime format
    if isinstance(obj, date):
        return f"{obj:%Y-%m-%d}"
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def number(text: str) -> orjson.Fragment:
    """A JSON number written exactly as ``text`` (``"12.30"``): what a Decimal is written as, without one."""
    return orjson.Fragment(text)


def dumps_bytes(obj: Any) -> bytes:
    """UTF-8 JSON; yibao never puts a float in a reply (amounts are Decimal or int)."""
    return orjson.dumps(obj, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def dumps(obj: Any) -> str:
    return dumps_bytes(obj).decode("utf-8")
