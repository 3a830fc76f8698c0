"""The global budget, risk sharing, per-bed-day and capitation (payment-drg-dip.md §5, §6): every worked
example to the fen, the tier and segment edges, and refused parameters."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest

from yibao.money import FEN
from yibao.payment.budget import GlobalBudget, global_budget, split_budget
from yibao.payment.capitation import capitation_budget, installments
from yibao.payment.perdiem import PerDiem, Segment, SegmentRow, perdiem_payable
from yibao.payment.pricing import fund_part
from yibao.payment.risk import OVERSPEND, SURPLUS, Tier, TierRow, payment_ratio_cut, share_risk

YUAN = FEN
BN = 10**9 * YUAN

# --- §5 global budget ---------------------------------------------------------------------------------


def test_global_budget_section_5():
    # 5.0 bn × 1.06 = 5.3 bn; × (1 − 0.03) = 5.141 bn; − 3.341 bn other outlays = 1.8 bn (the §3.7 budget)
    b = global_budget(5 * BN, D("0.06"), D("0.03"), 3_341_000_000 * YUAN)
    assert b == GlobalBudget(530 * BN // 100, 5_141_000_000 * YUAN, 3_341_000_000 * YUAN, 18 * BN // 10)


def test_global_budget_rounds_each_published_figure():
    # 1.01 fen × 1.5 = 1.515 → 2 fen; 2 × (1 − 0.25) = 1.5 → 2 fen (not 1.01 × 1.5 × 0.75 = 1.136 → 1)
    assert global_budget(1, D("0.5"), D("0.25"), 0).after_reserve_fen == 2
    with pytest.raises(ValueError):
        global_budget(100, D("0.05"), D("1"), 0)


def test_split_budget_largest_remainder():
    # 100 fen by 1 : 1 : 1 → 33.33 each, the spare fen to the first key: 34 / 33 / 33
    assert split_budget(100, {"b": 1, "a": 1, "c": 1}) == {"b": 33, "a": 34, "c": 33}
    # history cost 6 : 3 : 1 of 1.8 bn → 1.08 bn / 0.54 bn / 0.18 bn
    parts = split_budget(18 * BN // 10, {"DIP": 6, "DRG": 3, "床日": 1})
    assert parts == {"DIP": 108 * BN // 100, "DRG": 54 * BN // 100, "床日": 18 * BN // 100}
    # 10 fen by 1/3 : 2/3 → 3.33 / 6.67: the spare fen goes to the larger remainder
    assert split_budget(10, {"x": Fraction(1, 3), "y": Fraction(2, 3)}) == {"x": 3, "y": 7}
    assert sum(split_budget(-7, {"x": 1, "y": 2}).values()) == -7


def test_split_budget_refuses_bad_shares():
    for shares in ({"x": 0}, {"x": -1, "y": 2}, {"x": 0.5}):
        with pytest.raises((ValueError, TypeError)):
            split_budget(100, shares)


# --- §5 risk sharing ----------------------------------------------------------------------------------

KEEP = [Tier(D("0.10"), D("0.60"))]  # keep 60 % of a surplus up to 10 % of target
SHARE = [Tier(D("0.10"), D("0.50"))]  # the fund shares 50 % of an overspend up to 10 % of target
TARGET = 10_000_000 * YUAN


def test_risk_surplus_row():
    # surplus 800,000 (8 %) × 60 % = 480,000 kept → paid 9,200,000 + 480,000 = 9,680,000
    r = share_risk(TARGET, 9_200_000 * YUAN, KEEP, SHARE)
    assert (r.paid_fen, r.kept_fen, r.shared_fen, r.borne_fen) == (9_680_000 * YUAN, 480_000 * YUAN, 0, 0)
    assert r.rows == (TierRow(SURPLUS, 0, 1_000_000 * YUAN, 800_000 * YUAN, D("0.60"), 480_000 * YUAN),)


def test_risk_overspend_inside_the_tier():
    # overspend 700,000 × 50 % = 350,000 shared → paid 10,350,000; the hospital bears 350,000
    r = share_risk(TARGET, 10_700_000 * YUAN, KEEP, SHARE)
    assert (r.paid_fen, r.shared_fen, r.borne_fen) == (10_350_000 * YUAN, 350_000 * YUAN, 350_000 * YUAN)


def test_risk_overspend_beyond_the_tier():
    # overspend 1,500,000: the first 1,000,000 × 50 % = 500,000 shared; the remaining 500,000 borne by the
    # hospital (share 0) → paid 10,500,000; borne in all 1,000,000
    r = share_risk(TARGET, 11_500_000 * YUAN, KEEP, SHARE)
    assert (r.paid_fen, r.shared_fen, r.borne_fen) == (10_500_000 * YUAN, 500_000 * YUAN, 1_000_000 * YUAN)
    assert r.rows == (
        TierRow(OVERSPEND, 0, 1_000_000 * YUAN, 1_000_000 * YUAN, D("0.50"), 500_000 * YUAN),
        TierRow(OVERSPEND, 1_000_000 * YUAN, None, 500_000 * YUAN, D(0), 0),
    )


def test_risk_surplus_beyond_the_tier_and_on_target():
    # surplus 1,500,000: 1,000,000 × 60 % = 600,000 kept, the rest kept by the fund → 8,500,000 + 600,000
    assert share_risk(TARGET, 8_500_000 * YUAN, KEEP, SHARE).paid_fen == 9_100_000 * YUAN
    on = share_risk(TARGET, TARGET, KEEP, SHARE)
    assert on.paid_fen == TARGET and on.rows == ()


def test_risk_several_tiers():
    # keep 80 % up to 5 %, 50 % from 5 % to 10 %, 20 % beyond: surplus 1,200,000 of 10,000,000 →
    # 500,000 × 0.8 + 500,000 × 0.5 + 200,000 × 0.2 = 400,000 + 250,000 + 40,000 = 690,000
    tiers = [Tier(D("0.05"), D("0.8")), Tier(D("0.10"), D("0.5")), Tier(None, D("0.2"))]
    r = share_risk(TARGET, 8_800_000 * YUAN, tiers, SHARE)
    assert r.kept_fen == 690_000 * YUAN and [row.value_fen for row in r.rows] == [
        400_000 * YUAN,
        250_000 * YUAN,
        40_000 * YUAN,
    ]


def test_risk_refuses_bad_tiers():
    with pytest.raises(ValueError):
        Tier(D("0.1"), D("1.5"))
    with pytest.raises(ValueError):
        share_risk(TARGET, 1, [Tier(None, D("0.5")), Tier(D("0.1"), D("0.5"))], SHARE)
    with pytest.raises(ValueError):
        share_risk(TARGET, 1, [Tier(D("0.2"), D("0.5")), Tier(D("0.1"), D("0.5"))], SHARE)


def test_payment_ratio_cut():
    # cap 110 % of 1,000,000 FFS charges = 1,100,000: an entitlement of 1,150,000 loses 50,000
    assert payment_ratio_cut(1_150_000 * YUAN, 1_000_000 * YUAN, D("1.10")) == 50_000 * YUAN
    assert payment_ratio_cut(1_050_000 * YUAN, 1_000_000 * YUAN, D("1.10")) == 0
    assert payment_ratio_cut(9 * BN, 1, None) == 0
    # 1.10 × 5 fen = 5.5 → ceiling 6 fen (half up): 7 fen loses 1
    assert payment_ratio_cut(7, 5, D("1.10")) == 1


# --- §6 per-bed-day -----------------------------------------------------------------------------------

TAPER = [Segment(60, D("1.0")), Segment(90, D("0.9")), Segment(None, D("0.8"))]


def test_perdiem_section_6():
    # 280 yuan/day, 75 days: 60 × 280 + 15 × 252 = 16,800 + 3,780 = 20,580; personal 5,200 → fund 15,380
    p = perdiem_payable(75, 280 * YUAN, TAPER, None, 19_000 * YUAN)
    assert p == PerDiem(
        2_058_000,
        2_058_000,
        False,
        (SegmentRow(1, 60, 60, D("1.0"), 1_680_000), SegmentRow(61, 75, 15, D("0.9"), 378_000)),
    )
    assert fund_part(p.payable_fen, 5_200 * YUAN) == 15_380 * YUAN


def test_perdiem_capped_at_actual_cost():
    # cap k = 1 × actual cost 19,000 < 20,580 → payable 19,000, fund 19,000 − 5,200 = 13,800
    p = perdiem_payable(75, 280 * YUAN, TAPER, D("1"), 19_000 * YUAN)
    assert (p.payable_fen, p.uncapped_fen, p.capped) == (1_900_000, 2_058_000, True)
    assert fund_part(p.payable_fen, 5_200 * YUAN) == 13_800 * YUAN
    assert not perdiem_payable(75, 280 * YUAN, TAPER, D("1.2"), 19_000 * YUAN).capped  # 22,800 > 20,580


def test_perdiem_long_stay_and_bounded_last_segment():
    # 100 days: 60 × 280 + 30 × 252 + 10 × 224 = 16,800 + 7,560 + 2,240 = 26,600
    assert perdiem_payable(100, 280 * YUAN, TAPER, None, 0).payable_fen == 2_660_000
    # segments ending at day 90: days 91–100 are paid nothing (a factor-0 row)
    p = perdiem_payable(100, 280 * YUAN, TAPER[:2], None, 0)
    assert p.payable_fen == 2_436_000 and p.rows[-1] == SegmentRow(91, 100, 10, D(0), 0)
    assert perdiem_payable(0, 280 * YUAN, TAPER, None, 0).rows == ()


def test_perdiem_refuses_bad_segments():
    for segments in ([], [Segment(None, D(1)), Segment(90, D(1))], [Segment(90, D(1)), Segment(60, D(1))]):
        with pytest.raises(ValueError):
            perdiem_payable(10, 100, segments, None, 0)
    with pytest.raises(ValueError):
        Segment(30, D("-0.1"))


# --- §6 capitation ------------------------------------------------------------------------------------


def test_capitation_section_6():
    # 8,000 enrolled × 150 × (1 − 0.05) = 1,140,000; actual 1,050,000 → surplus 90,000 (7.9 % < 10 %)
    # × 60 % = 54,000 kept → paid 1,050,000 + 54,000 = 1,104,000
    budget = capitation_budget(8_000, 150 * YUAN, D("1"), D("0.05"))
    assert budget == 1_140_000 * YUAN
    r = share_risk(budget, 1_050_000 * YUAN, KEEP, SHARE)
    assert (r.kept_fen, r.paid_fen) == (54_000 * YUAN, 1_104_000 * YUAN)


def test_capitation_risk_factor_and_installments():
    # 8,000 × 150 × 1.08 × 0.95 = 1,231,200.00; 12 installments of 102,600.00
    assert capitation_budget(8_000, 150 * YUAN, D("1.08"), D("0.05")) == 123_120_000
    assert installments(123_120_000) == [10_260_000] * 12
    # 100 fen over 12 months: 8 fen × 11 and 12 in the last month
    assert installments(100) == [8] * 11 + [12] and sum(installments(100)) == 100
    with pytest.raises(ValueError):
        installments(100, 0)
    with pytest.raises(ValueError):
        capitation_budget(10, 100, D(1), D(1))
