"""The console's display layer: money one way, percentages with at most two places, the trace and the
accumulators in Chinese (hand-written expectations)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.console import display
from yibao.console.display import Names

WORDS = Names(
    {
        "insutype": {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"},
        "psn_type": {"11": "在职", "12": "退休"},
        "med_type": {"21": "普通住院", "22": "外伤住院"},
        "opsp_dise": {"M03900": "高血压"},
        "chrgitm_lv": {"01": "甲类", "02": "乙类", "03": "丙类"},
    }
)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (123456789, "1,234,567.89"), (-100050, "-1,000.50"), (None, "")],
)
def test_money_is_written_one_way(fen, text):
    assert display.yuan(fen) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_money_text_reads_back_to_the_same_fen(fen):
    text = display.yuan(fen)
    assert Decimal(text.replace(",", "")) * 100 == fen
    assert "." in text and len(text.rsplit(".", 1)[1]) == 2


def test_wan_for_charts_rounds_half_up():
    assert display.wan(123_456_789) == Decimal("123.46")
    assert display.wan(5_000) == Decimal("0.01")  # 50 元 = 0.005 万元 → 0.01
    assert display.wan(4_999) == Decimal("0.00")


@pytest.mark.parametrize(
    ("ratio", "bp", "text"),
    [
        ("0.8500", False, "85%"),
        ("0.12345", False, "12.35%"),
        (8525, True, "85.25%"),
        (Decimal("0.982312"), False, "98.23%"),
        (0, False, "0%"),
    ],
)
def test_percent_has_at_most_two_places(ratio, bp, text):
    assert display.percent(ratio, basis_points=bp) == text


def test_codes_are_named_and_unknown_codes_show_as_themselves():
    assert WORDS.of("psn_type", "11") == "在职"
    assert WORDS.of("chrgitm_lv", "02") == "乙类"
    assert WORDS.of("psn_type", "99") == "99"
    assert WORDS.of("psn_type", None) == ""
    assert WORDS.of("dedc_hosp_lv", 3) == "三级"
    assert WORDS.coded("psn_type", "12") == "12 退休"


def test_trace_is_in_chinese_with_values_as_people_read_them():
    rows = [
        {"param": "policy", "value": "990100 2025 abc"},
        {"param": "benefit_classes › inpatient › med_types", "value": "21,22"},
        {"param": "insutype 310 › inpatient › deductible › amount › 3", "value": "900.00"},
        {"param": "insutype 310 › inpatient › ratio › 11 › 3", "value": "0.8500"},
        {"param": "insutype 310 › caps › inpatient", "value": "unlimited"},
        {"param": "insutype 390 › critical_illness › segments › 0", "value": "150000.00 @ 0.7000"},
        {"param": "insutype 390 › critical_illness › segments › 1", "value": "∞ @ 0.8000"},
    ]
    shown = [(r["param"], r["value"]) for r in display.trace_rows(rows, WORDS)]
    assert shown == [
        ("政策版本", "990100 2025 abc"),
        ("待遇类别 › 住院 › 医疗类别", "普通住院、外伤住院"),
        ("职工基本医疗保险 › 住院 › 起付线 › 金额 › 三级", "900.00 元"),
        ("职工基本医疗保险 › 住院 › 支付比例 › 在职 › 三级", "85%"),
        ("职工基本医疗保险 › 最高支付限额 › 住院", "不封顶"),
        ("城乡居民基本医疗保险 › 大病保险 › 分段 › 第 1 段", "至 150,000.00 元：70%"),
        ("城乡居民基本医疗保险 › 大病保险 › 分段 › 第 2 段", "以上部分：80%"),
    ]
    assert all(not any(ch.isascii() and ch.isalpha() for ch in p) for p, _ in shown[1:])


@pytest.mark.parametrize(
    ("key", "value", "label", "text"),
    [
        ("cap:inpatient", 1234567, "职工基本医疗保险 · 住院 统筹支付累计", "12,345.67"),
        ("dedc:chronic", 20000, "职工基本医疗保险 · 门诊慢特病 已付起付线", "200.00"),
        ("admissions:inpatient", 2, "职工基本医疗保险 · 住院 住院次数", "2 次"),
        ("disease:M03900", 500, "职工基本医疗保险 · 高血压 病种支付累计", "5.00"),
        ("critical_illness:paid", 100, "职工基本医疗保险 · 大病保险支付累计", "1.00"),
    ],
)
def test_accumulators_are_named_in_chinese(key, value, label, text):
    assert display.accumulator_label("310", key, WORDS) == label
    assert display.accumulator_value(key, value) == text
