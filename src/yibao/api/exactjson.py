"""JSON with exact decimals: amounts travel as JSON numbers (``16,2``) but never as binary floats."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_escape = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def loads(data: bytes | str) -> Any:
    """Parse a request body; numbers with a fraction become Decimal, never float."""
    return json.loads(data, parse_float=Decimal)


def dumps(obj: Any) -> str:
    out: list[str] = []
    _write(obj, out)
    return "".join(out)


def _write(obj: Any, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, Decimal):
        out.append(format(obj, "f"))
    elif isinstance(obj, datetime):
        out.append(f'"{obj:%Y-%m-%d %H:%M:%S}"')
    elif isinstance(obj, date):
        out.append(f'"{obj:%Y-%m-%d}"')
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    elif isinstance(obj, float):  # never produced by yibao; refuse rather than lose a fen
        raise TypeError("float in a response: use Decimal or int")
    else:
        raise TypeError(f"cannot serialise {type(obj).__name__}")
