"""Input nodes: the national datetime read without strptime answers as strptime does; the request decoder
keeps fractions exact; numbers have ASCII digits within the national field lengths, codes are visible ASCII,
and a value an error message repeats is short and printable."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.api import exactjson
from yibao.api.fields import DATETIME_FORMATS, Node
from yibao.errors import InputError, quote
from yibao.money import AmountError, parse_amount, parse_count, parse_price, parse_ratio


def _by_strptime(text: str) -> datetime | None:
    """How a time was read before the national form got its own reader, except that digits outside ASCII
    (which strptime's %Y reads) are refused, as in every numeric field."""
    if not text.isascii():
        return None
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
        "２０２５-03-01 09:00:00",  # (fullwidth digits: refused)
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


# --- one rule for numbers and codes (issue 18) -------------------------------------------------------------


@given(st.decimals(min_value=-(10**14) + 1, max_value=10**14 - 1, places=2, allow_nan=False))
def test_an_amount_within_the_national_field_reads_exactly(d):
    assert parse_amount(str(d)) == int(d * 100)
    assert parse_amount(format(d, "f")) == int(d * 100)


@given(st.integers(0, 9).map(lambda n: chr(ord("０") + n)) | st.sampled_from(["١", "۵", "５", "²", "_"]))
def test_digits_outside_ascii_are_no_number(ch):
    for parse in (parse_amount, parse_price, parse_count, parse_ratio):
        with pytest.raises(AmountError):
            parse(f"1{ch}")
    with pytest.raises(InputError, match="不是整数"):
        Node({"n": f"1{ch}"}, "input").int("n")


@pytest.mark.parametrize(
    ("parse", "biggest", "too_big"),
    [
        (parse_amount, "99999999999999.99", "100000000000000"),
        (parse_price, "9999999999.999999", "10000000000"),
        (parse_count, "999999999999.9999", "1000000000000"),
        (parse_ratio, "9.9999", "10"),
    ],
)
def test_the_national_field_lengths_bound_every_number(parse, biggest, too_big):
    """16,2 / 16,6 / 16,4 / 5,4: at most 14 / 10 / 12 / 1 integer digits; beyond them a number is refused by its
    size (never an overflow), however it is written."""
    assert parse(biggest) > 0 and parse("-" + biggest) < 0
    for text in (too_big, "-" + too_big, too_big + ".00", "1e308", "1E+999999999", "-9e20"):
        with pytest.raises(AmountError, match="整数部分超过"):
            parse(text)


def test_numbers_are_read_by_their_digits_not_a_decimal_context():
    assert parse_amount("10.500000000000000000000000000000") == 1050  # trailing zeros are no decimals
    assert parse_amount("0E-1000000000") == 0
    for text in ("1.0000000000000000000000000001", "1e-1000000000", "0.001"):
        with pytest.raises(AmountError, match="小数位超过 2 位"):
            parse_amount(text)


@given(st.text(max_size=60))
def test_a_code_is_visible_ascii_or_refused_by_name(text):
    node = Node({"c": text}, "input.data")
    try:
        value = node.code("c", 30)
    except InputError as exc:
        message = str(exc)
        assert message.startswith("input.data.c: ") and message.isprintable() and len(message) < 32 * 10 + 80
        return
    assert value is None or (
        value.isascii() and value.isprintable() and " " not in value and len(value) <= 30
    )


@given(st.text(), st.integers(1, 64))
def test_quote_is_short_and_printable(value, limit):
    q = quote(value, limit)
    assert q.isprintable() and q.startswith('"') and q.endswith('"')
    assert len(q) <= 2 + 10 * limit + 1  # (an escaped character takes up to 10)
    if value.isprintable() and len(value) <= limit:
        assert q == f'"{value}"'
