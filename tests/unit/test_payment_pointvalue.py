"""Point values and rates (payment-drg-dip.md §3.7 steps 1–5, §4.4): every published figure to the last
digit, exact fractions until the one rounding, and PV bounds rounded inward."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest

from yibao.money import BP, FEN
from yibao.payment.exact import fen
from yibao.payment.pointvalue import (
    CEILING,
    FLOOR,
    bounded_pv,
    budget_pv,
    drg_rate,
    round_pv,
    settle_pv,
    total_cost_budget,
    weighted,
)
from yibao.payment.pricing import value_points

YUAN = FEN
BN = 10**9 * YUAN
W127 = (D("0.1"), D("0.2"), D("0.7"))


def test_weighted_mean_normalises_the_weights():
    # 0.1 × 2.30 + 0.2 × 2.45 + 0.7 × 2.60 = 2.54; weights 1 : 2 : 7 give the same
    assert weighted([230, 245, 260], W127) == Fraction(254)
    assert weighted([230, 245, 260], [1, 2, 7]) == Fraction(254)
    with pytest.raises(ValueError):
        weighted([1, 2], [1])
    with pytest.raises(TypeError):
        weighted([1], [0.5])  # a float weight


def test_step_1_budget_pv():
    # costs 2.30 / 2.45 / 2.60 bn, points 230 / 240 / 250 M → 2.54 bn ÷ 246 M = 10.325203… → 10.3252
    pv = budget_pv(
        [230 * BN // 100, 245 * BN // 100, 260 * BN // 100],
        [230_000_000 * BP, 240_000_000 * BP, 250_000_000 * BP],
        W127,
    )
    assert pv == Fraction(2_540_000_000, 246_000_000)
    assert round_pv(pv) == D("10.3252") and round_pv(pv, 6) == D("10.325203")


def test_step_3_settlement_pv():
    # 1.8 bn ÷ 0.65 = 2,769,230,769.23 total-cost budget; ÷ 260 M points = 10.650888… → 10.6509
    assert fen(total_cost_budget(18 * BN // 10, D("0.65"))) == 276_923_076_923
    pv = settle_pv(18 * BN // 10, D("0.65"), 260_000_000 * BP)
    assert round_pv(pv) == D("10.6509") and round_pv(pv, 6) == D("10.650888")


def test_step_4_uplift_and_step_5_unrounded_pv():
    # 1,200,000 points × 10.6509 = 12,781,080.00; the uplift over the budget PV is
    # 1,200,000 × (10.6509 − 10.3252) = 390,840.00; with the unrounded PV 12,781,065.09 (14.91 less)
    points4 = 1_200_000 * BP
    assert value_points(points4, D("10.6509")) == 1_278_108_000
    assert value_points(points4, D("10.6509") - D("10.3252")) == 39_084_000
    exact = settle_pv(18 * BN // 10, D("0.65"), 260_000_000 * BP)
    assert value_points(points4, exact) == 1_278_106_509
    assert 1_278_108_000 - 1_278_106_509 == 1_491


def test_section_4_4_drg_rate():
    # 2.4 bn ÷ 0.70 = 3,428,571,428.57; ÷ (300,000 cases × CMI 1.0) = 11,428.5714… → 11,428.57 (2 places)
    tcb = total_cost_budget(24 * BN // 10, D("0.70"))
    assert fen(tcb) == 342_857_142_857
    rate = drg_rate(tcb, 300_000 * BP)
    assert round_pv(rate, places=2) == D("11428.57") and round_pv(rate) == D("11428.5714")
    assert drg_rate(fen(tcb), 300_000 * BP) != rate  # the exact budget, not the rounded one, is divided…
    assert round_pv(drg_rate(fen(tcb), 300_000 * BP), 2) == D("11428.57")  # …though here both publish alike


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        total_cost_budget(100, D("1.2"))
    with pytest.raises(ValueError):
        settle_pv(100, D("0.65"), 0)
    with pytest.raises(ValueError):
        drg_rate(100, 0)
    with pytest.raises(ValueError):
        budget_pv([100], [0], [1])


def test_pv_within_bounds_is_unchanged():
    # ±10 % of 10.3252: 9.29268 → 9.2927 (up), 11.35772 → 11.3577 (down); 10.6509 lies inside
    assert bounded_pv(D("10.6509"), D("10.3252"), D("0.90"), D("1.10")) == (D("10.6509"), None)
    assert bounded_pv(D("10.6509"), D("10.3252"), None, None) == (D("10.6509"), None)


def test_pv_floor_and_ceiling_round_inward():
    # 95 % of 10.3252 = 9.80894: half up would publish 9.8089 (below 95 %); inward gives 9.8090.
    # 105 % = 10.84146: half up would give 10.8415 (above 105 %); inward gives 10.8414.
    assert bounded_pv(D("9.5"), D("10.3252"), D("0.95"), D("1.05")) == (D("9.8090"), FLOOR)
    assert bounded_pv(D("12"), D("10.3252"), D("0.95"), D("1.05")) == (D("10.8414"), CEILING)
    assert bounded_pv(D("9.8090"), D("10.3252"), D("0.95"), None) == (D("9.8090"), None)  # on the bound
    # 99.99 % of 11,428.57 = 11,427.427… → 11,427.43 (up, 2 places)
    assert bounded_pv(D("11427.00"), D("11428.57"), D("0.9999"), None, places=2) == (D("11427.43"), FLOOR)
    with pytest.raises(ValueError):
        bounded_pv(D("10"), D("10"), D("1.1"), D("0.9"))
