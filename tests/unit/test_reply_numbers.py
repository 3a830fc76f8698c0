"""Reply numbers are written from integers exactly as the Decimals they replace were written."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yibao.api import exactjson
from yibao.api.fsi_replies import scaled, yuan
from yibao.money import fmt_fen


def written(value) -> bytes:
    return exactjson.dumps_bytes({"v": value})


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from([(10_000, 4), (1_000_000, 6)]))
def test_a_scaled_number_is_written_as_its_decimal_quotient(value, scale_places):
    scale, places = scale_places
    assert written(scaled(value, scale, places)) == written(Decimal(value) / scale)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_an_amount_is_written_with_two_decimals_as_its_decimal(fen):
    assert written(yuan(fen)) == written(Decimal(fmt_fen(fen)))


def test_hand_picked_numbers():
    assert written(scaled(20_000, 10_000, 4)) == b'{"v":2}'
    assert written(scaled(12_500, 10_000, 4)) == b'{"v":1.25}'
    assert written(scaled(0, 1_000_000, 6)) == b'{"v":0}'
    assert written(scaled(-5, 10_000, 4)) == b'{"v":-0.0005}'
    assert written(yuan(1230)) == b'{"v":12.30}' and written(yuan(None)) == b'{"v":null}'
