"""Case pricing (payment-drg-dip.md §3.5, §4.4–§4.5): every worked example to the fen or to 1e-4 point, both
boundary conventions, the level-coefficient flag, an unknown group mean, and exactness past int64."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import numpy as np
import pytest

from yibao.money import BP, FEN
from yibao.payment.pricing import (
    CLASS_LABELS,
    CLASS_NAMES,
    HIGH,
    LOW,
    NORMAL,
    DipDeviation,
    DrgOutlier,
    Threshold,
    dip_points,
    drg_value,
    fund_part,
    value_points,
)

YUAN = FEN
SCORE4 = 1502 * BP  # score 1,502
MEAN = 16_000 * YUAN  # tertiary A_g
COSTS = np.array([15_000, 40_000, 6_000, 90_000, 32_000, 8_000]) * YUAN  # the §3.5 table's rows


def dev(low_op: str = "<", high_op: str = ">", flag: bool = True) -> DipDeviation:
    return DipDeviation(Threshold(D(2), high_op), Threshold(D("0.5"), low_op), D(5), flag)


def points(priced) -> list[D]:
    return [D(int(p)).scaleb(-4) for p in priced.points4]


def test_dip_section_3_5_table_without_a_coefficient():
    # 15,000/16,000 = 0.9375 normal → 1,502; 40,000 → r 2.5, × (2.5 − 1) = 2,253; 6,000 → r 0.375 → 563.25;
    # 90,000 → r 5.625, × 4.625 = 6,946.75 (and > 5: review); 32,000 → r 2 (not > 2) → 1,502; 8,000 → r 0.5
    # (not < 0.5) → 1,502
    p = dip_points(SCORE4, BP, BP, COSTS, MEAN, dev())
    assert points(p) == [D(x) for x in ("1502", "2253", "563.25", "6946.75", "1502", "1502")]
    assert p.cost_class.tolist() == [NORMAL, HIGH, LOW, HIGH, NORMAL, NORMAL]
    assert p.extreme.tolist() == [False, False, False, True, False, False]
    assert p.r4.tolist() == [9375, 25000, 3750, 56250, 20000, 5000]


def test_dip_section_3_5_table_with_the_tertiary_coefficient_on_deviation():
    # × 1.05: 1,577.1; 2,253 × 1.05 = 2,365.65; 563.25 × 1.05 = 591.4125; 6,946.75 × 1.05 = 7,294.0875
    p = dip_points(SCORE4, BP, 10_500, COSTS, MEAN, dev(flag=True))
    assert points(p) == [D(x) for x in ("1577.1", "2365.65", "591.4125", "7294.0875", "1577.1", "1577.1")]


def test_dip_level_coefficient_only_on_normal_cases_without_the_flag():
    # flag off: normal rows × 1.05 (1,577.1), outlier rows keep 2,253 / 563.25 / 6,946.75
    p = dip_points(SCORE4, BP, 10_500, COSTS, MEAN, dev(flag=False))
    assert points(p) == [D(x) for x in ("1577.1", "2253", "563.25", "6946.75", "1577.1", "1577.1")]


def test_dip_boundary_r_half_under_either_convention():
    # 8,000 / 16,000 = 0.5: `r < 0.5` → normal 1,502 (1,577.1 × 1.05); `r ≤ 0.5` → low 751 (788.55 × 1.05)
    strict = dip_points(SCORE4, BP, 10_500, [8_000 * YUAN], MEAN, dev("<"))
    inclusive = dip_points(SCORE4, BP, 10_500, [8_000 * YUAN], MEAN, dev("<="))
    assert points(strict) == [D("1577.1")] and strict.cost_class.tolist() == [NORMAL]
    assert points(inclusive) == [D("788.55")] and inclusive.cost_class.tolist() == [LOW]
    assert points(dip_points(SCORE4, BP, BP, [8_000 * YUAN], MEAN, dev("<="))) == [D("751")]


def test_dip_boundary_r_two_under_either_convention():
    # 32,000 / 16,000 = 2: `r > 2` → normal 1,502; `r ≥ 2` → high, × (2 − 1) = 1,502 as well
    for op in (">", ">="):
        p = dip_points(SCORE4, BP, 10_500, [32_000 * YUAN], MEAN, dev(high_op=op))
        assert points(p) == [D("1577.1")]
        assert p.cost_class.tolist() == [NORMAL if op == ">" else HIGH]


def test_dip_auxiliary_coefficient_multiplies_every_class():
    # aux 1.2: normal 1,502 × 1.2 = 1,802.4; high 1,502 × 1.2 × 1.5 = 2,703.6; low 1,502 × 1.2 × 0.375 = 675.9
    p = dip_points(SCORE4, 12_000, BP, COSTS[:3], MEAN, dev())
    assert points(p) == [D("1802.4"), D("2703.6"), D("675.9")]


def test_dip_unknown_mean_is_normal_with_undefined_ratio():
    p = dip_points([SCORE4, SCORE4], BP, 10_500, [90_000 * YUAN, 100], [0, -1], dev())
    assert p.cost_class.tolist() == [NORMAL, NORMAL] and p.r4.tolist() == [-1, -1]
    assert p.extreme.tolist() == [False, False] and points(p) == [D("1577.1")] * 2


def test_dip_rounds_half_up_once_per_case():
    # score 1 point (10,000), cost 1 fen, mean 3 fen: r = 1/3 → 0.33333… point → 0.3333; mean 9 and cost 4:
    # r = 4/9 → 0.44444… → 0.4444; cost 5 fen, mean 11: 0.454545… → 0.4545
    p = dip_points(BP, BP, BP, [1, 4, 5], [3, 9, 11], dev())
    assert p.points4.tolist() == [3333, 4444, 4545] and p.r4.tolist() == [3333, 4444, 4545]
    # 0.00005 point exactly rounds up: score 0.0001 × aux 0.5 = 0.00005 → 0.0001
    assert dip_points(1, 5_000, BP, [100], 100, dev()).points4.tolist() == [1]


def test_dip_is_exact_past_int64():
    # score 5,000 points × aux 3 × level 1.2 × (cost − mean) of a 90-million-yuan case: the numerator
    # 5·10^7 × 3·10^4 × 1.2·10^4 × 9·10^9 ≈ 1.6·10^25 overflows int64 by far; the points (~1.6·10^9) do not
    score4, aux4, level4, cost, mean = 5_000 * BP, 30_000, 12_000, 90_000_000 * YUAN, 7 * YUAN
    p = dip_points([score4, score4], aux4, level4, [cost, 1], mean, dev())
    exact = Fraction(score4 * aux4 * level4, BP * BP) * (Fraction(cost, mean) - 1)
    assert p.points4[0] == round(exact)  # no .5 tie here: round() and half up agree
    assert p.cost_class.tolist() == [HIGH, LOW] and p.extreme.tolist() == [True, False]


def test_names_and_labels():
    assert [CLASS_LABELS[CLASS_NAMES[c]] for c in (NORMAL, HIGH, LOW)] == ["正常", "费用超高", "费用超低"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Threshold(D(2), "=="),
        lambda: Threshold(D(-1), ">"),
        lambda: DipDeviation(Threshold(D(2), "<"), Threshold(D("0.5"), "<"), D(5), True),
        lambda: DipDeviation(Threshold(D("0.4"), ">"), Threshold(D("0.5"), "<"), D(5), True),
        lambda: Threshold(2.0, ">").past(np.array([1]), np.array([1])),  # a float threshold
        lambda: DrgOutlier("median", Threshold(D(2), ">"), Threshold(D("0.35"), "<"), D(1), "ffs"),
        lambda: DrgOutlier("standard", Threshold(D(2), ">"), Threshold(D("0.35"), "<"), D(1), "points"),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises((ValueError, TypeError)):
        make()


RATE = D("11428.57")
RW4, LEVEL4 = 13_500, 10_500  # HC29 RW 1.35, tertiary 1.05


def outlier(k: str = "1", method: str = "ffs", base: str = "standard") -> DrgOutlier:
    return DrgOutlier(base, Threshold(D(2), ">"), Threshold(D("0.35"), "<"), D(k), method)


def test_drg_payment_standard_and_fund_part():
    # 11,428.57 × 1.35 × 1.05 = 16,199.997975 → standard 16,200.00; the 14,000 case with personal payments
    # 3,600: the fund pays 16,200 − 3,600 = 12,600 (and a payment below the personal part gives 0)
    p = drg_value(RW4, LEVEL4, [14_000 * YUAN], 0, RATE, outlier())
    assert p.standard_fen.tolist() == [1_620_000] and p.cost_class.tolist() == [NORMAL]
    assert p.points4.tolist() == [14_175] and p.payment_fen.tolist() == [1_620_000]  # 1.4175 weight units
    assert fund_part(int(p.payment_fen[0]), 3_600 * YUAN) == 12_600 * YUAN
    assert fund_part(100, 300) == 0
    assert fund_part(np.array([1_620_000, 100]), 360_000).tolist() == [1_260_000, 0]


def test_drg_high_outlier_standard_plus_excess():
    # threshold 2 × 16,200 = 32,400; cost 38,000 → excess 5,600: k = 1 → 16,200 + 5,600 = 21,800.00;
    # k = 0.7 → 16,200 + 3,920 = 20,120.00
    p1 = drg_value(RW4, LEVEL4, [38_000 * YUAN], 0, RATE, outlier("1"))
    p7 = drg_value(RW4, LEVEL4, [38_000 * YUAN], 0, RATE, outlier("0.7"))
    assert p1.cost_class.tolist() == [HIGH] and p1.points4.tolist() == [14_175]
    assert p1.extra_fen.tolist() == [560_000] and p1.payment_fen.tolist() == [2_180_000]
    assert p7.extra_fen.tolist() == [392_000] and p7.payment_fen.tolist() == [2_012_000]
    assert p1.r4.tolist() == [23_457]  # 38,000 / 16,200 = 2.34567…


def test_drg_low_outlier_paid_ffs():
    # 0.35 × 16,200 = 5,670 > 4,500 → FFS: no weight units, 4,500.00 outside the points
    p = drg_value(RW4, LEVEL4, [4_500 * YUAN], 0, RATE, outlier())
    assert p.cost_class.tolist() == [LOW] and p.points4.tolist() == [0]
    assert p.extra_fen.tolist() == [450_000] and p.payment_fen.tolist() == [450_000]


def test_drg_low_outlier_prorata_against_the_group_mean():
    # group mean 15,000, cost 4,500: 1.4175 × 4,500 / 15,000 = 0.42525 units → 0.4253 (half up);
    # payment 16,199.997975 × 0.3 = 4,859.9993925 → 4,860.00
    p = drg_value(RW4, LEVEL4, [4_500 * YUAN], 15_000 * YUAN, RATE, outlier(method="prorata"))
    assert p.points4.tolist() == [4_253] and p.extra_fen.tolist() == [0]
    assert p.payment_fen.tolist() == [486_000]


def test_drg_outliers_against_the_group_mean():
    # base = group mean 15,000: 31,000 > 30,000 → high, extra 1,000; 5,000 < 5,250 → low (FFS)
    p = drg_value(RW4, LEVEL4, [31_000 * YUAN, 5_000 * YUAN], 15_000 * YUAN, RATE, outlier(base="group_mean"))
    assert p.cost_class.tolist() == [HIGH, LOW] and p.extra_fen.tolist() == [100_000, 500_000]
    assert p.r4.tolist() == [20_667, 3_333]
    # an unknown group mean: no outlier test, r undefined
    q = drg_value(RW4, LEVEL4, [90_000 * YUAN], 0, RATE, outlier(base="group_mean"))
    assert q.cost_class.tolist() == [NORMAL] and q.r4.tolist() == [-1]


def test_value_points_once_per_line():
    # §3.7 step 2: 100,000 points × 10.3252 = 1,032,520.00; step 4: 1,200,000 × 10.6509 = 12,781,080.00
    assert value_points(100_000 * BP, D("10.3252")) == 103_252_000
    assert value_points(1_200_000 * BP, D("10.6509")) == 1_278_108_000
    # 0.0001 point × 0.5 yuan = 0.005 fen → 0; 1 point × 0.125 yuan = 12.5 fen → 13 (half up)
    assert value_points(1, D("0.5")) == 0 and value_points(BP, D("0.125")) == 13
    assert value_points(-BP, D("0.125")) == -13  # a negative line (a recovery) rounds symmetrically


def test_drg_rate_with_many_decimals_stays_exact():
    # an unrounded floating rate 11,428.571428571428571 (its numerator × 100 passes int64): the standard is
    # still round(rate × 1.4175) = 16,200.00 (16,199.999999…), computed on Python integers
    rate = D("11428.571428571428571")
    p = drg_value([RW4, RW4], LEVEL4, [14_000 * YUAN, 38_000 * YUAN], 0, rate, outlier())
    assert p.standard_fen.tolist() == [1_620_000, 1_620_000]
    assert p.extra_fen.tolist() == [0, 560_000] and p.payment_fen.tolist() == [1_620_000, 2_180_000]
