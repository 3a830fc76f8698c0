"""年度考核: points linear between floor and target in both directions, totals and grade bands at their edges,
hand-computed; and the points' bounds on random values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.providers.assessment import assess, indicator_points
from yibao.providers.scheme import AssessIndicator, load_scheme

FOLDER = Path(__file__).resolve().parents[2] / "regions" / "990100" / "providers"
SCHEME = load_scheme(FOLDER)
D = Decimal
HIGHER = AssessIndicator(
    "K01", "结算合规率", D(20), "computed:settlement_compliance", "higher", D("0.99"), D("0.90")
)
LOWER = AssessIndicator("K02", "查实疑点率", D(15), "computed:upheld_suspicion_rate", "lower", D("0.5"), D(5))


@pytest.mark.parametrize(
    ("value", "points"),
    [
        ("0.99", "20.00"),  # at the target
        ("1", "20.00"),  # beyond it
        ("0.90", "0.00"),  # at the floor
        ("0.80", "0.00"),  # below it
        ("0.945", "10.00"),  # 20 × 0.045 / 0.09
        ("0.93", "6.67"),  # 20 × 0.03 / 0.09 = 6.666…
        ("0.9001", "0.02"),  # 20 × 0.0001 / 0.09 = 0.0222…
        ("0.98995", "19.99"),  # 20 × 0.08995 / 0.09 = 19.9888…
    ],
)
def test_higher_is_better(value, points):
    assert indicator_points(HIGHER, D(value)) == D(points)


@pytest.mark.parametrize(
    ("value", "points"),
    [
        ("0.5", "15.00"),  # at the target
        ("0", "15.00"),  # better than it
        ("5", "0.00"),  # at the floor
        ("9", "0.00"),  # worse
        ("2.75", "7.50"),  # 15 × (5 − 2.75) / 4.5
        ("1", "13.33"),  # 15 × 4 / 4.5 = 13.333…
        ("4.97", "0.10"),  # 15 × 0.03 / 4.5 = 0.1
    ],
)
def test_lower_is_better(value, points):
    assert indicator_points(LOWER, D(value)) == D(points)


def test_a_missing_value_earns_nothing():
    assert indicator_points(HIGHER, None) == D("0.00")
    assert indicator_points(LOWER, None) == D("0.00")


def test_a_value_must_be_exact():
    with pytest.raises(InputError, match=r"^values\.K01: 应为 Decimal"):
        indicator_points(HIGHER, 0.95)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"^values\.K01: .*不是有限数"):
        indicator_points(HIGHER, D("NaN"))
    assert indicator_points(HIGHER, 1) == D("20.00")  # type: ignore[arg-type]


def perfect() -> dict[str, Decimal]:
    return {i.code: i.target for i in SCHEME.assessment_indicators}


def test_a_perfect_year():
    points, total, band = assess(perfect(), SCHEME)
    assert points == {i.code: i.points for i in SCHEME.assessment_indicators}
    assert total == D("100.00") and band.name == "优秀"


def test_a_year_hand_computed():
    values = perfect() | {
        "K01": D("0.945"),  # 10.00 of 20
        "K02": D("2.75"),  # 7.50 of 15
        "K04": None,  # no DRG/DIP statement: 0 of 10
        "K07": D("80"),  # 20 × 20 / 35 = 11.43 of 20
    }
    points, total, band = assess(values, SCHEME)
    assert (points["K01"], points["K02"], points["K04"], points["K07"]) == (
        D("10.00"),
        D("7.50"),
        D("0.00"),
        D("11.43"),
    )
    # 100 − 10 − 7.5 − 10 − 8.57 = 63.93
    assert total == D("63.93") and band.grade == "3" and band.name == "基本合格"


def test_figures_by_name_and_missing_ones():
    values = {"settlement_compliance": D("0.99"), "K01": None, "upheld_suspicion_rate": D("0.5")}
    points, total, _ = assess(values, SCHEME)
    assert points["K01"] == 0  # the code wins over the figure's name
    assert points["K02"] == 15  # a computed figure under its name
    assert total == D("15.00")
    points, total, band = assess({}, SCHEME)
    assert (
        total == 0 and band.name == "不合格" and set(points) == {i.code for i in SCHEME.assessment_indicators}
    )


@pytest.mark.parametrize(
    ("total", "grade"),
    [("100", "优秀"), ("90.00", "优秀"), ("89.99", "合格"), ("75.00", "合格"), ("74.99", "基本合格"), ("60.00", "基本合格"),
     ("59.99", "不合格"), ("0", "不合格")],
)  # fmt: skip
def test_bands_at_their_edges(total, grade):
    assert SCHEME.band_of(D(total)).name == grade


def test_a_total_below_every_band():
    with pytest.raises(InputError, match=r"^total: "):
        SCHEME.band_of(D("-0.01"))


def test_assess_at_the_90_edge():
    # everything perfect but on-site inspection: 20 × (x − 60) / 35 points; 90.00 needs 10.00 → x = 77.5
    _, total, band = assess(perfect() | {"K07": D("77.5")}, SCHEME)
    assert (total, band.name) == (D("90.00"), "优秀")
    # 77.48: 20 × 17.48 / 35 = 9.988… → 9.99 → 89.99
    _, total, band = assess(perfect() | {"K07": D("77.48")}, SCHEME)
    assert (total, band.name) == (D("89.99"), "合格")


def test_consequences_follow_the_grade():
    _, _, band = assess(perfect(), SCHEME)
    assert SCHEME.consequences[band.grade].deposit_return == D("1.00")
    _, _, band = assess({}, SCHEME)
    assert SCHEME.consequences[band.grade].renew is False


values = st.decimals(min_value=-1000, max_value=1000, places=4)


@given(
    st.sampled_from(SCHEME.assessment_indicators),
    st.one_of(st.none(), values),
)
def test_points_stay_within_the_indicator(ind, value):
    got = indicator_points(ind, value)
    assert 0 <= got <= ind.points
    assert got == got.quantize(D("0.01"))


@given(st.sampled_from(SCHEME.assessment_indicators), values, values)
def test_better_values_never_earn_fewer_points(ind, a, b):
    worse, better = sorted((a, b)) if ind.direction == "higher" else sorted((a, b), reverse=True)
    assert indicator_points(ind, worse) <= indicator_points(ind, better)
