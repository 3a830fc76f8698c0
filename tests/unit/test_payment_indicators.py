"""Performance measures (payment-drg-dip.md §4.6) on small case arrays: CMI 1.26, consumption index 0.98,
low-risk groups decided exactly (z < −1, strict), the payment ratio and outlier shares."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import numpy as np

from yibao.money import BP
from yibao.payment.indicators import (
    cmi,
    consumption_index,
    cost_index,
    group_mortality,
    low_risk_groups,
    low_risk_mortality,
    outlier_shares,
    payment_ratio,
    time_index,
)
from yibao.payment.pricing import HIGH, LOW, NORMAL
from yibao.payment.weights import rounded


def test_cmi_section_4_6():
    # unit 0: 500 × 0.8 + 300 × 1.2 + 200 × 2.5 = 1,260 over 1,000 cases → 1.26; unit 1 has no case
    rw4 = np.repeat([8_000, 12_000, 25_000], [500, 300, 200])
    assert cmi(np.zeros(1_000, dtype=int), rw4, 2) == [Fraction(126, 100), None]


def two_hospitals():
    """Group 0: A 600 cases at 900 (9 days), B 600 at 1,100 (11 days) → region mean 1,000 (10 days);
    group 1: A 400 at 2,200 (11 days), B 400 at 1,800 (9 days) → region mean 2,000 (10 days)."""
    unit = np.repeat([0, 1, 0, 1], [600, 600, 400, 400])
    group = np.repeat([0, 0, 1, 1], [600, 600, 400, 400])
    cost = np.repeat([90_000, 110_000, 220_000, 180_000], [600, 600, 400, 400])
    los = np.repeat([9, 11, 11, 9], [600, 600, 400, 400])
    return unit, group, cost, los


def test_consumption_indices_section_4_6():
    # A: (600 × 0.9 + 400 × 1.1) ÷ 1,000 = 0.98; B: (600 × 1.1 + 400 × 0.9) ÷ 1,000 = 1.02; a unit without
    # cases: None
    unit, group, cost, los = two_hospitals()
    expected = [Fraction(98, 100), Fraction(102, 100), None]
    assert cost_index(unit, group, cost, 3, 2) == expected
    assert time_index(unit, group, los, 3, 2) == expected


def test_consumption_index_leaves_out_groups_without_a_mean():
    # a third group costing nothing in the region: no mean to compare, its 5 cases count in neither sum
    unit, group, cost, _ = two_hospitals()
    unit, group, cost = np.append(unit, [0] * 5), np.append(group, [2] * 5), np.append(cost, [0] * 5)
    assert consumption_index(unit, group, cost, 2, 3)[0] == Fraction(98, 100)


def mortality_cases():
    """Group 0: 100 cases, 1 death (unit 0: 60 cases with the death, unit 1: 40); groups 1–4: 10 cases,
    1 death each, all at unit 2."""
    unit = np.concatenate([[0] * 60, [1] * 40, [2] * 40])
    group = np.concatenate([[0] * 100, np.repeat([1, 2, 3, 4], 10)])
    died = np.zeros(140, dtype=bool)
    died[[0, 100, 110, 120, 130]] = True
    return unit, group, died


def test_low_risk_groups_and_mortality():
    # rates 0.01, 0.1 × 4: mean 0.082, variance (0.072² + 4 × 0.018²) ÷ 5 = 0.001296, SD 0.036;
    # mean − SD = 0.046 > 0.01 → group 0 alone is low risk. Unit 0: 1 death in 60; unit 1: 0 in 40;
    # unit 2 has no low-risk case
    unit, group, died = mortality_cases()
    assert group_mortality(group, died, 5) == [Fraction(1, 100)] + [Fraction(1, 10)] * 4
    assert low_risk_groups(group, died, 5).tolist() == [True, False, False, False, False]
    assert low_risk_mortality(unit, group, died, 3, 5) == [Fraction(1, 60), Fraction(0), None]


def test_low_risk_is_strict_at_one_standard_deviation():
    # two groups at 0.1 and 0.3: mean 0.2, SD 0.1, so the lower sits at z = −1 exactly → not low risk
    group = np.repeat([0, 1], 10)
    died = np.zeros(20, dtype=bool)
    died[[0, 10, 11, 12]] = True
    assert low_risk_groups(group, died, 3).tolist() == [False, False, False]
    assert not low_risk_groups([], [], 2).any()


def test_payment_ratio_and_outlier_shares():
    # unit 0 payable 9,900 + 1,100 over FFS 10,000 + 1,000 → 1; unit 1: 9,000 ÷ 10,000 = 0.9; unit 2: none
    unit = np.array([0, 0, 1, 1, 1, 1])
    payable = np.array([990_000, 110_000, 300_000, 300_000, 300_000, 0])
    ffs = np.array([1_000_000, 100_000, 400_000, 300_000, 300_000, 0])
    assert payment_ratio(unit, payable, ffs, 3) == [Fraction(1), Fraction(9, 10), None]
    shares = outlier_shares(unit, np.array([HIGH, NORMAL, LOW, LOW, HIGH, NORMAL]), 3)
    assert shares.high == [Fraction(1, 2), Fraction(1, 4), None]
    assert shares.low == [Fraction(0), Fraction(1, 2), None]
    assert rounded(shares.high[1], 4) == D("0.2500")


def test_cmi_rounds_only_for_display():
    # three cases 1.0, 1.0, 1.0001: CMI 1.00003333… exactly, 1.0000 shown
    value = cmi([0, 0, 0], [BP, BP, BP + 1], 1)[0]
    assert value == Fraction(30_001, 30_000) and rounded(value) == D("1.0000")
