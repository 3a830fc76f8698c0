"""Input nodes: the national datetime read without strptime answers as strptime does; the request decoder
keeps fractions exact."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.api import exactjson
from yibao.api.fields import DATETIME_FORMATS, Node
from yibao.errors import InputError


def _by_strptime(text: str) -> datetime | None:
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _read(text: str) -> datetime | None:
    try:
        return Node({"t": text}, "input.data").datetime("t")
    except InputError as exc:
        assert str(exc).startswith("input.data.t: ") and "不是时间" in str(exc)
        return None


@given(
    st.integers(0, 10_000),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)
def test_a_national_datetime_reads_as_strptime_reads_it(y, mo, d, h, mi, s):
    text = f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
    assert _read(text) == _by_strptime(text)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-01 09:00:00",
        " 2025-03-01 09:00:00 ",
        "2025-02-29 09:00:00",  # (not a leap year)
        "2025-03-01 24:00:00",
        "2025-3-1 9:00:00",
        "2025-03-01T09:00:00",
        "20250301090000",
        "2025-03-01",
        "2025-03-01 09:00",
        "２０２５-03-01 09:00:00",  # (fullwidth digits: as strptime answers)
        "2025-03-01 09:00+08",
        "yesterday",
    ],
)
def test_other_forms_read_as_before(text):
    assert _read(text) == _by_strptime(text)


@given(
    st.recursive(
        st.integers(-(2**63), 2**63 - 1)
        | st.text()
        | st.decimals(allow_nan=False, allow_infinity=False, places=2),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    )
)
def test_the_request_decoder_reads_what_was_written_exactly(value):
    body = exactjson.dumps_bytes({"v": value})
    assert exactjson.loads(body) == {"v": value} == exactjson.loads(body.decode())


def test_fractions_are_decimal_never_float():
    parsed = exactjson.loads(b'{"a": 0.10, "b": 3, "c": [1.005]}')
    assert parsed == {"a": Decimal("0.10"), "b": 3, "c": [Decimal("1.005")]}
    assert type(parsed["a"]) is Decimal and type(parsed["c"][0]) is Decimal
