"""Step 1 of the contract: splitting fee lines, by hand-computed cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kernel_helpers import fee
from yibao.errors import SettlementError
from yibao.money import rhu_div
from yibao.settlement.lines import (
    Charged,
    LineArrays,
    LineError,
    check_refunds,
    overdrawn_items,
    product_fen,
    split_lines,
)
from yibao.settlement.online import line_arrays, split_fees


def split_one(f):
    _, per_line, _ = split_fees([f])
    d = per_line[0]
    return d["fulamt_ownpay_amt"], d["overlmt_amt"], d["preselfpay_amt"], d["inscp_scp_amt"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (fee(1, "600.00"), (0, 0, 0, 60000)),  # 甲类: all in scope
        (fee(2, "10000.00", selfpay="0.10"), (0, 0, 100000, 900000)),  # 乙类 10 %
        (fee(3, "2000.00"), (200000, 0, 0, 0)),  # 丙类: all self-pay
        (fee(2, "1500.00", selfpay="0.20", cap="1200.00"), (0, 30000, 24000, 96000)),  # worked example 2
        (fee(1, "80.00", cnt=3, cap="75.50"), (0, 1350, 0, 22650)),  # cap × count: 4.50 × 3
        (fee(2, "0.15", selfpay="0.10"), (0, 0, 2, 13)),  # 0.015 rounds half up to 0.02
        (fee(2, "0.25", selfpay="0.10"), (0, 0, 3, 22)),  # 0.025 → 0.03
        (fee(1, "500.00", lmt=1, appr=0), (50000, 0, 0, 0)),  # restricted, not approved
        (fee(1, "500.00", lmt=1, appr=1), (0, 0, 0, 50000)),  # restricted, approved
        (fee(1, "500.00", lmt=1, appr=2), (50000, 0, 0, 0)),  # restricted, refused
        (fee(1, "500.00", lmt=0, appr=2), (50000, 0, 0, 0)),  # approval refused forces self-pay
        (fee(2, "100.00", selfpay="0.10", cap="150.00"), (0, 0, 1000, 9000)),  # cap above price: no over
        (fee(3, "100.00", cap="50.00"), (10000, 0, 0, 0)),  # 丙类 with a cap: still all self-pay
    ],
)
def test_hand_computed_splits(line, expected):
    assert split_one(line) == expected


def test_fractional_price_and_count():
    # 12.345678 × 2.5 = 30.864195 → 30.86; cap 10.000001 → excess 2.345677 × 2.5 = 5.8641925 → 5.86
    from yibao.settlement.inputs import Fee

    f = Fee(pric=12_345_678, cnt=25_000, det_item_fee_sumamt=3086, chrgitm_lv=1, pric_uplmt_amt=10_000_001)
    assert split_one(f) == (0, 586, 0, 2500)


def test_line_amount_must_match_price_times_count():
    from yibao.settlement.inputs import Fee

    ok = Fee(
        pric=10_000_000, cnt=10_000, det_item_fee_sumamt=1001, chrgitm_lv=1
    )  # 10.01 vs 10.00: within 0.01
    assert split_one(ok)[3] == 1001
    bad = Fee(pric=10_000_000, cnt=10_000, det_item_fee_sumamt=1002, chrgitm_lv=1)
    with pytest.raises(
        SettlementError, match=r"fees\[1\]\.det_item_fee_sumamt: 10\.02 ≠ pric × cnt = 10 × 1 = 10\.00"
    ):
        split_one(bad)


def test_class_a_with_selfpay_is_refused():
    with pytest.raises(SettlementError, match=r"fees\[2\]\.selfpay_prop: 甲类"):
        split_fees([fee(1, "1.00"), fee(1, "1.00", selfpay="0.10")])


def test_returns_split_symmetrically():
    from yibao.settlement.inputs import Fee

    sale = fee(2, "0.25", selfpay="0.10", cap="0.20")
    ret = Fee(sale.pric, -sale.cnt, -sale.det_item_fee_sumamt, 2, sale.selfpay_prop, sale.pric_uplmt_amt)
    s = split_lines(line_arrays([sale, ret]))
    assert [int(x[1]) for x in (s.ful, s.over, s.pre, s.inscp)] == [-v for v in split_one(sale)]
    # a settlement whose returns exceed its charges is refused as a whole
    with pytest.raises(SettlementError, match="medfee_sumamt: 费用明细合计为负"):
        split_fees([ret])


def test_huge_products_are_exact():
    # 9,999,999.999999 yuan × 9,999.9999 units does not fit int64 in 1e-10 yuan: computed exactly anyway
    p, c = 9_999_999_999_999, 99_999_999
    assert int(product_fen(np.array([p]), np.array([c]))[0]) == (2 * p * c + 10**8) // (2 * 10**8)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1, 2, 3]),
            st.integers(0, 10**9),
            st.integers(-50_000, 200_000).filter(bool),  # (a count of 0 is refused: test_zero_count_…)
            st.integers(0, 10_000),
            st.integers(-1, 10**9),
            st.integers(0, 1),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_line_identity_and_bounds(rows):
    n = len(rows)
    lv, pric, cnt, sp, cap, lmt, appr = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    sp = np.where(lv == 2, sp, 0)
    amt = product_fen(pric, cnt)
    la = LineArrays(np.zeros(n, dtype=np.int64), pric, cnt, amt, lv, sp, cap, lmt, appr)
    s = split_lines(la)
    assert (s.ful + s.over + s.pre + s.inscp == amt).all()  # I6
    for part in (s.ful, s.over, s.pre, s.inscp):
        assert (np.sign(part) * np.sign(amt) >= 0).all()  # same sign as the line
        assert (np.abs(part) <= np.abs(amt)).all()
    assert (s.pre[lv == 1] == 0).all() and (s.inscp[lv == 3] == 0).all()


def test_round_half_up_is_symmetric():
    assert list(rhu_div(np.array([5, 15, -5, -15, 4, -4]), 10)) == [1, 2, -1, -2, 0, 0]


def test_empty_settlement():
    assert split_lines(line_arrays([])).inscp.size == 0


def test_a_count_of_zero_and_lines_beyond_the_limit_are_refused():
    from yibao.settlement.inputs import Fee
    from yibao.settlement.lines import AMOUNT_LIMIT

    with pytest.raises(LineError, match=r"fees\[1\]\.cnt: 数量不能为 0"):
        split_lines(line_arrays([Fee(1_000_000, 0, 0, 1, 0, -1)]))
    top = Fee(AMOUNT_LIMIT * 10**6 // 100, 10**4, AMOUNT_LIMIT, 1, 0, -1)  # exactly the limit: accepted
    assert int(split_lines(line_arrays([top])).inscp[0]) == AMOUNT_LIMIT
    over = Fee((AMOUNT_LIMIT + 1) * 10**4, 10**4, AMOUNT_LIMIT + 1, 1, 0, -1)
    with pytest.raises(LineError, match=r"det_item_fee_sumamt: 金额超过单行上限 9999999999\.99"):
        split_lines(line_arrays([over]))
    # a product far beyond int64 (10 integer digits × 12): refused by name, not an OverflowError
    with pytest.raises(LineError, match=r"cnt: 金额超过单行上限"):
        split_lines(line_arrays([Fee(10**16 - 1, 10**16 - 1, 100, 1, 0, -1)]))


def test_a_settlement_beyond_the_limit_is_refused():
    from yibao.settlement.lines import AMOUNT_LIMIT

    half = fee(1, f"{(AMOUNT_LIMIT // 2 + 1) // 100}.00")
    with pytest.raises(SettlementError, match=r"medfee_sumamt: 费用合计 .* 超过单笔结算上限"):
        split_fees([half, half, half])


def charged(sn, code, cnt, init=None):
    return Charged(sn, code, cnt * 10_000, cnt * 1_000, init)  # 10.00 a unit


def test_refunds_by_hand():
    """退费 against the visit's unsettled charges: 3 × B1 charged (line 1)."""
    unsettled = [charged("1", "B1", 3), charged("2", "A1", 1)]
    check_refunds(unsettled, [charged("3", "B1", -2, "1"), charged("4", "B1", -1)])  # all of it back: fine
    check_refunds(unsettled, [charged("3", "A1", -1)])  # not naming a line: the item's charge covers it
    cases = [
        ([charged("3", "B1", -4)], "cnt", "退费超过本次就诊未结算的"),
        ([charged("3", "C9", -1)], "cnt", "退费超过"),  # an item never charged
        (
            [charged("3", "B1", -1, "2")],
            "init_feedetl_sn",
            "不是本次就诊未结算的同一项目收费",
        ),  # line 2 is A1
        ([charged("3", "B1", -1, "9")], "init_feedetl_sn", "不是本次就诊"),
        ([charged("3", "B1", 1, "1")], "init_feedetl_sn", "只有退费行"),
        ([charged("3", "B1", -2, "1"), charged("4", "B1", -2, "1")], "cnt", '原费用明细 "1" 的数量'),
    ]
    for new, field, reason in cases:
        with pytest.raises(LineError) as caught:
            check_refunds(unsettled, new)
        assert caught.value.field == field and reason in caught.value.reason, caught.value
    # earlier refunds count: 2 of line 1 already taken back, one more is all there is
    earlier = [*unsettled, charged("3", "B1", -2, "1")]
    check_refunds(earlier, [charged("4", "B1", -1, "1")])
    with pytest.raises(LineError, match="数量"):
        check_refunds(earlier, [charged("4", "B1", -2, "1")])


@given(st.lists(st.tuples(st.sampled_from("XYZ"), st.integers(-5, 5).filter(bool)), max_size=12))
def test_refunds_accepted_never_overdraw_an_item(rows):
    lines = [charged(str(i), code, cnt) for i, (code, cnt) in enumerate(rows)]
    try:
        check_refunds([], lines)
    except LineError as exc:
        assert lines[exc.index].cnt < 0  # only a refund is refused
        return
    assert overdrawn_items(lines) == []
