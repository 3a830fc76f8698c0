"""评估: conflicts of interest, the panel, each sheet's total and the aggregate, hand-computed; and two
properties of the aggregate on random totals."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.providers.evaluation import Scorer, aggregate, check_panel, conflict, passed, sheet_total
from yibao.providers.scheme import load_scheme

FOLDER = Path(__file__).resolve().parents[2] / "regions" / "990100" / "providers"
RULES = load_scheme(FOLDER).evaluation
D = Decimal
CODE, USCC = "H99010200005", "52990102MJGDNA0897"


def scorer(sid="e1", role="expert", field="医保管理", affiliation=None, declared=False, name=None):
    return Scorer(sid, name or f"专家{sid}", role, field, affiliation, declared)


PANEL = [
    scorer("e1", field="医保管理"),
    scorer("e2", field="信息技术", affiliation="H99010200001"),
    scorer("e3", field="医疗质控"),
    scorer("s1", role="supervisor", field="人大代表", name="监督员甲"),
]


# --- conflict of interest -----------------------------------------------------------------------------------------


def test_no_conflict():
    assert conflict(PANEL[1], CODE, USCC) is None  # works for another hospital
    assert conflict(PANEL[0], CODE, None) is None


def test_declared_conflict():
    assert conflict(scorer("e9", declared=True, name="李四"), CODE, USCC) == (
        "scorer: 李四 申报与被评估机构存在利益关系，须回避 (declared conflict of interest)"
    )


@pytest.mark.parametrize("affiliation", [CODE, USCC, USCC.lower(), f" {CODE} "])
def test_working_for_the_institution(affiliation):
    found = conflict(scorer("e9", affiliation=affiliation, name="王五"), CODE, USCC)
    assert found == f"scorer: 王五 任职于被评估机构（{affiliation}），须回避 (works for the institution)"


def test_an_empty_affiliation_matches_nothing():
    assert conflict(scorer("e9", affiliation=""), CODE, None) is None
    assert conflict(scorer("e9", affiliation=None), CODE, None) is None


# --- the panel ------------------------------------------------------------------------------------------------------


def test_a_full_panel():
    assert check_panel(PANEL, RULES) == []


def test_a_panel_short_of_a_field_and_supervisors():
    panel = [scorer("e1"), scorer("e2"), scorer("e3", field="信息技术")]
    assert check_panel(panel, RULES) == [
        "scorers: 缺少 医疗质控 领域的专家 (a field has no expert)",
        "scorers: 社会监督代表 0 人，至少 1 人 (too few supervisors)",
    ]


def test_a_panel_with_unknown_members():
    panel = [*PANEL[:3], scorer("s1", role="supervisor", field="记者", name="甲"), scorer("e1", role="guest")]
    assert check_panel(panel, RULES) == [
        "scorers: 评估人员 e1 重复 (scorer listed twice)",
        "scorers: 专家e1 的身份应为 expert 或 supervisor，不是 'guest' (unknown role)",
        "scorers: 社会监督代表 甲 的类别 记者 不在 人大代表、政协委员、参保人 之中 (unknown kind)",
    ]


def test_too_few_experts():
    panel = [scorer("e1"), scorer("e2", field="信息技术"), scorer("x", field="财务"), PANEL[3]]
    assert check_panel(panel, RULES) == [
        "scorers: 专家 专家x 的领域 财务 不在 医保管理、信息技术、医疗质控 之中 (unknown field)",
        "scorers: 缺少 医疗质控 领域的专家 (a field has no expert)",
    ]
    assert check_panel(panel[:2] + panel[3:], RULES)[0] == "scorers: 专家 2 人，至少 3 人 (too few experts)"


# --- the sheet ------------------------------------------------------------------------------------------------------


def full_marks() -> dict[str, Decimal]:
    return {i.code: i.max_points for i in RULES.indicators}


def test_a_sheet_at_full_marks_is_100():
    assert sheet_total(full_marks(), RULES) == 100


def test_a_sheet_total_hand_computed():
    scores = full_marks() | {"A01": D("3.5"), "B02": "2", "C01": 0}  # 100 − 0.5 − 3 − 6
    assert sheet_total(scores, RULES) == D("90.5")


def test_every_indicator_must_be_scored():
    scores = full_marks()
    del scores["B03"], scores["C06"]
    with pytest.raises(InputError) as caught:
        sheet_total(scores, RULES)
    assert caught.value.message == "scores.B03: 未评分（未评分的指标：B03、C06） (not scored)"


def test_a_score_above_full_marks_or_negative():
    with pytest.raises(InputError) as caught:
        sheet_total(full_marks() | {"A02": D("5.5")}, RULES)
    assert caught.value.message == (
        "scores.A02: 评分 5.5 超过该项满分 5（医保管理及内部控制制度健全并落实） (above full marks)"
    )
    with pytest.raises(InputError, match=r"^scores\.A03: 评分 -1 不能为负"):
        sheet_total(full_marks() | {"A03": -1}, RULES)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(3.5, "评分应为数字"), (True, "评分应为数字"), (None, "评分应为数字"), ("x", "不是数字"), ("1.234", "最多两位小数"),
     (D("NaN"), "不是有限数")],
)  # fmt: skip
def test_a_score_must_be_an_exact_number(value, reason):
    with pytest.raises(InputError, match=rf"^scores\.A01: .*{reason}"):
        sheet_total(full_marks() | {"A01": value}, RULES)


def test_an_unknown_indicator():
    with pytest.raises(InputError, match=r"^scores\.Z01: 评估量表中没有此指标"):
        sheet_total(full_marks() | {"Z01": 1}, RULES)


# --- the aggregate --------------------------------------------------------------------------------------------------


def rules(how: str, trim: int = 1):
    return dataclasses.replace(RULES, aggregate=how, trim=trim)


def test_trimmed_mean_drops_the_extremes():
    # 50, 70, 72, 75, 95: drop 50 and 95 → (70 + 72 + 75) / 3 = 72.333… → 72.33
    assert aggregate([D(95), D(70), D(50), D(75), D(72)], RULES) == D("72.33")
    # 3 sheets = 2×1+1: drop 60 and 90 → 61
    assert aggregate([D(90), D(61), D(60)], RULES) == D("61.00")


def test_too_few_sheets_for_trimming_take_the_plain_mean():
    # 2 sheets < 3: (59.5 + 60.5) / 2 = 60
    assert aggregate([D("59.5"), D("60.5")], RULES) == D("60.00")
    assert aggregate([D("61.25")], RULES) == D("61.25")
    # trim 2 needs 5 sheets; with 4: (10 + 20 + 30 + 41) / 4 = 25.25
    assert aggregate([D(10), D(20), D(30), D(41)], rules("trimmed_mean", 2)) == D("25.25")
    # with 5: only 30 is left
    assert aggregate([D(10), D(20), D(30), D(41), D(99)], rules("trimmed_mean", 2)) == D("30.00")


def test_half_up_rounding():
    # (60.00 + 60.01) / 2 = 60.005 → 60.01
    assert aggregate([D("60.00"), D("60.01")], rules("mean")) == D("60.01")
    # (70 + 70 + 70.01) / 3 = 70.00333 → 70.00
    assert aggregate([D(70), D(70), D("70.01")], rules("mean")) == D("70.00")


def test_mean_and_median():
    assert aggregate([D(50), D(70), D(95)], rules("mean")) == D("71.67")  # 215 / 3
    assert aggregate([D(50), D(70), D(95)], rules("median")) == D("70.00")
    assert aggregate([D(50), D(70), D(95), D(61)], rules("median")) == D("65.50")  # (61 + 70) / 2


def test_no_sheets():
    with pytest.raises(InputError, match=r"^sheets: 没有评分表"):
        aggregate([], RULES)


def test_pass_mark_is_inclusive():
    assert passed(D("60.00"), RULES)
    assert not passed(D("59.99"), RULES)


totals = st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=1, max_size=12)


@given(totals, st.sampled_from(["trimmed_mean", "mean", "median"]), st.integers(0, 3))
def test_the_aggregate_lies_within_the_totals(values, how, trim):
    result = aggregate(values, rules(how, trim))
    assert min(values) <= result <= max(values)
    assert result == result.quantize(D("0.01"))


@given(totals, st.integers(0, 3))
def test_trimming_ignores_the_order(values, trim):
    r = rules("trimmed_mean", trim)
    assert aggregate(values, r) == aggregate(list(reversed(sorted(values))), r)
