"""The one half-up rounding (settlement.md §1), for Python integers and for NumPy arrays: the two agree with
each other and with :mod:`decimal`'s ROUND_HALF_UP, and are symmetric for negatives where they are defined."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.money import (
    BP,
    apply_ratio,
    apply_ratio_array,
    div_round_half_up,
    fmt_count,
    fmt_fen,
    fmt_price,
    fmt_yuan,
    rhu_div,
    rhu_pos,
)

# 2 × num must stay within int64 for the vectorised helpers (the callers keep it so)
NUM = st.integers(-(2**61), 2**61)
DEN = st.integers(1, 2**40)


def _decimal(num: int, den: int) -> int:
    """An independent oracle: Decimal's ROUND_HALF_UP rounds half away from zero, i.e. symmetric (80 digits:
    the quotient's distance from a half, at least 1/den, is never lost to the context's precision)."""
    with localcontext(prec=80):
        return int((Decimal(num) / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("num", "den", "rounded"),
    [(5, 10, 1), (15, 10, 2), (4, 10, 0), (-5, 10, -1), (-15, 10, -2), (-4, 10, 0), (0, 7, 0), (7, 2, 4)],
)
def test_half_up_by_hand(num, den, rounded):
    assert div_round_half_up(num, den) == rounded
    assert rhu_div(np.array([num]), den).tolist() == [rounded]


@settings(max_examples=400)
@given(st.integers(-(10**30), 10**30), st.integers(1, 10**12))
def test_scalar_is_decimal_half_up_at_any_size(num, den):
    assert div_round_half_up(num, den) == _decimal(num, den)
    assert div_round_half_up(-num, den) == -div_round_half_up(num, den)  # symmetric


@settings(max_examples=300)
@given(st.lists(NUM, max_size=40), DEN)
def test_vectorised_symmetric_equals_scalar(values, den):
    got = rhu_div(np.array(values, dtype=np.int64), den).tolist()
    assert got == [div_round_half_up(v, den) for v in values]
    assert rhu_div(-np.array(values, dtype=np.int64), den).tolist() == [-g for g in got]  # symmetric


@settings(max_examples=300)
@given(st.lists(st.integers(0, 2**61), max_size=40), st.lists(DEN, min_size=40, max_size=40))
def test_vectorised_non_negative_equals_scalar_with_array_denominators(values, dens):
    num = np.array(values, dtype=np.int64)
    den = np.array(dens[: len(values)], dtype=np.int64)
    assert rhu_pos(num, den).tolist() == [div_round_half_up(v, d) for v, d in zip(values, dens, strict=False)]
    assert rhu_div(num, den).tolist() == rhu_pos(num, den).tolist()


@settings(max_examples=300)
@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=40), st.integers(0, 4 * BP))
def test_ratio_of_an_array_equals_ratio_of_each(values, bp):
    got = apply_ratio_array(np.array(values, dtype=np.int64), bp).tolist()
    assert got == [apply_ratio(v, bp) for v in values] == [_decimal(v * bp, BP) for v in values]


def test_rhu_pos_is_for_non_negative_numerators_only():
    """Defined for num ≥ 0: −0.5 rounds towards +∞ there; the symmetric helper is rhu_div."""
    assert rhu_pos(np.array([-5]), 10).tolist() == [0] and rhu_div(np.array([-5]), 10).tolist() == [-1]


def test_half_up_rounding_is_defined_in_money_only():
    from yibao.settlement import kernel, lines

    assert kernel.rhu_pos is rhu_pos and not hasattr(lines, "rhu_pos")


@given(st.integers(-(10**16), 10**16))
def test_formats(fen):
    assert fmt_yuan(fen) == f"{Decimal(fen) / 100:,.2f}" and fmt_yuan(fen).replace(",", "") == fmt_fen(fen)


def test_price_and_count():
    assert (fmt_price(12_500_000), fmt_count(-20_000), fmt_count(5)) == ("12.500000", "-2.0000", "0.0005")
