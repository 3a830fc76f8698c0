"""Relative weights and CMI as exact fractions (rounded half up only when shown), and a grouped case's trace
read into Chinese steps with each secondary diagnosis's CC/MCC mark — every step the grouper writes is
recognised, none left in its stored form."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from yibao.console import payment_trace as pt
from yibao.payment.cases import DrgCase
from yibao.payment.drg import group_case
from yibao.payment.packs import load_drg_pack
from yibao.payment.weights import GroupCost, case_mix_index, relative_weights, rounded, total_weight


def test_weights_and_cmi_are_exact():
    # GD13: 2 cases 6,000 + 8,000 yuan; GD15: 1 case 4,000 + 1 case 2,000 → means 7,000 and 3,000; all 5,000
    groups = {"GD13": GroupCost(2, 1_400_000), "GD15": GroupCost(2, 600_000)}
    w = relative_weights(groups)
    assert w == {"GD13": Fraction(7, 5), "GD15": Fraction(3, 5)}
    assert case_mix_index({"GD13": 2, "GD15": 1}, w) == Fraction(17, 15)  # 1.1333…
    assert total_weight({"GD13": 2, "GD15": 1}, w) == Fraction(17, 5)
    assert case_mix_index({"GD13": 2, "GD15": 2}, w) == 1  # the whole: exactly 1
    assert case_mix_index({}, w) is None and relative_weights({}) == {}
    assert case_mix_index({"XX19": 1}, w) == 0  # a DRG without a weight counts nothing


def test_rounding_half_up_without_floats():
    assert rounded(Fraction(17, 15)) == Decimal("1.1333")
    assert rounded(Fraction(1, 8), 2) == Decimal("0.13")  # 0.125 → 0.13 (half up, not to even)
    assert rounded(Fraction(-1, 8), 2) == Decimal("-0.13")
    assert rounded(Fraction(2, 3), 4) == Decimal("0.6667") and f"{rounded(Fraction(0)):f}" == "0.0000"


NAMES = pt.Names(
    {"K35.200": "急性阑尾炎", "K38.000": "阑尾增生", "A01.100": "甲型副伤寒"},
    {"MDCG": "消化系统疾病及功能障碍"},
    {"GD1": "阑尾切除术"},
    {"GD13": "阑尾切除术，伴并发症或合并症"},
)


def test_each_grouper_step_reads_in_chinese():
    pack = load_drg_pack("chs-drg-1.1")
    case = DrgCase("x", 1, 35, 0, ("K35.200", "K38.000", "A01.100"), ("47.0901",), los=5, dscg_way="1")
    g = group_case(case, pack, trace=True)
    steps = [s.shown() for s in pt.steps({"steps": list(g.trace)}, NAMES)]
    assert [s["stage"] for s in steps] == [
        "主要诊断大类（MDC）",
        "核心疾病诊断相关组（ADRG）",
        "并发症或合并症（CC/MCC）",
        "并发症或合并症（CC/MCC）",
        "细分组（DRG）",
    ]
    assert (
        steps[0]["text"] == "进入 MDCG 消化系统疾病及功能障碍：主要诊断 K35.200（急性阑尾炎）在 MDCG 主诊表"
    )
    assert steps[2]["text"] == (
        "其他诊断 K38.000（阑尾增生）：是并发症或合并症（CC），但主要诊断 K35.200 在其排除表（表 7-112）中，被排除，不计入"
    )
    assert (
        steps[3]["text"]
        == "其他诊断 A01.100（甲型副伤寒）：是严重并发症或合并症（MCC），计入（主要诊断不在其排除表（表 7-1）中）"
    )
    assert (
        steps[4]["text"]
        == "入 DRG GD13 阑尾切除术，伴并发症或合并症：病例伴严重并发症或合并症，本 ADRG 细分为 3/5"
    )
    assert pt.complication_marks({"steps": list(g.trace)}) == {
        "K38.000": "CC（被排除表 7-112 取消）",
        "A01.100": "MCC",
    }


def test_qy_ungrouped_and_advice():
    pack = load_drg_pack("chs-drg-1.1")
    for dx, px, stage in ((("K35.200",), ("81.5100",), "歧义"), (("S06.500x007",), (), "未入组")):
        g = group_case(DrgCase("x", 1, 35, 0, dx, px, los=5, dscg_way="1"), pack, trace=True)
        steps = pt.steps({"steps": list(g.trace)}, NAMES)
        assert steps[-1].shown()["stage"] == stage and all(s.stage != "other" for s in steps)
        assert pt.advice(g.status, g.reason) not in ("", pt.advice("qy", "其他原因"))
    assert pt.advice("ok", "") == ""
    assert "医保版 2.0" in pt.advice("ungrouped", "主要诊断编码未知（不在本方案的任何表中）: I10.x00")
    assert pt.read_step("别的写法", NAMES).stage == "other"  # kept as written, never dropped
