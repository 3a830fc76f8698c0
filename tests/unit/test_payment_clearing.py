"""Hospital lines of pre-settlement and annual clearing (payment-drg-dip.md §3.7 steps 2 and 4): the month's
payout and deposit, the year's balance with and without a 考核 forfeit, and a month owing nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from yibao.money import BP, FEN
from yibao.payment.clearing import MonthLine, YearLine, entitlements, month_line, year_line

YUAN = FEN


def test_step_2_month_line():
    # 100,000 points × 10.3252 = 1,032,520.00; − personal 360,000.00 = 672,520.00; × 95 % = 638,894.00
    # paid, 33,626.00 withheld as quality deposit
    [entitlement] = entitlements([100_000 * BP], D("10.3252"))
    assert entitlement == 1_032_520 * YUAN
    assert month_line(entitlement, 360_000 * YUAN, D("0.95")) == MonthLine(
        672_520 * YUAN, 638_894 * YUAN, 33_626 * YUAN
    )


def test_step_4_year_line():
    # 1,200,000 × 10.6509 = 12,781,080.00; − personal 4,320,000.00 = 8,461,080.00 owed; − 12 × 638,894.00
    # = 7,666,728.00 paid → balance 794,352.00 (= deposits 403,512.00 + PV uplift 390,840.00)
    [entitlement] = entitlements([1_200_000 * BP], D("10.6509"))
    paid, deposits = 12 * 638_894 * YUAN, 12 * 33_626 * YUAN
    line = year_line(entitlement, 4_320_000 * YUAN, paid, deposits, D(0))
    assert line == YearLine(8_461_080 * YUAN, 0, 0, 794_352 * YUAN)
    assert line.clearing_fen == deposits + 390_840 * YUAN


def test_step_4_year_line_with_a_forfeit():
    # 考核 forfeits 10 % of the deposits: 403,512.00 × 0.10 = 40,351.20 → 794,352.00 − 40,351.20 = 754,000.80
    line = year_line(1_278_108_000, 432_000_000, 766_672_800, 40_351_200, D("0.10"))
    assert line == YearLine(846_108_000, 4_035_120, -4_035_120, 75_400_080)
    # another adjustment (e.g. approved 特例单议 amounts) adds on top: + 1,000.00
    assert year_line(
        1_278_108_000, 432_000_000, 766_672_800, 40_351_200, D("0.10"), 100_000
    ).clearing_fen == (75_500_080)


def test_month_owing_nothing_is_recovered_in_full():
    # entitlement 300,000 < personal 360,000: owed −60,000, recovered in full, nothing withheld
    assert month_line(300_000 * YUAN, 360_000 * YUAN, D("0.95")) == MonthLine(-6_000_000, -6_000_000, 0)
    assert month_line(0, 0, D("0.95")) == MonthLine(0, 0, 0)


def test_month_line_rounds_half_up():
    # owed 1.30 yuan × 0.95 = 1.235 → 1.24 paid, 0.06 withheld
    assert month_line(130, 0, D("0.95")) == MonthLine(130, 124, 6)


def test_ratios_out_of_range_are_refused():
    with pytest.raises(ValueError):
        month_line(100, 0, D("1.05"))
    with pytest.raises(ValueError):
        year_line(100, 0, 0, 0, D("-0.1"))
