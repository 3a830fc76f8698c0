"""The CHS-DRG 1.1 grouper on hand-made cases with real 医保版 2.0 codes, one per rule of §4.2: every step of
the MDC order, every kind of ADRG condition in the tables, the MCC/CC split with its exclusion tables, the
age and birth-weight conditions of MDCP, QY and 0000. Each case says why it lands where it does."""

from __future__ import annotations

import pytest

from yibao.payment.cases import DrgCase
from yibao.payment.drg import DrgGroup, group_case
from yibao.payment.packs import load_drg_pack


@pytest.fixture(scope="module")
def pack():
    return load_drg_pack("chs-drg-1.1")


def group(pack, dx, px=(), gend=1, age=50, days=None, weight=None, dscg_way="1", trace=False) -> DrgGroup:
    days = age * 365 + 100 if days is None else days
    case = DrgCase("t", gend, age, days, tuple(dx), tuple(px), weight, 5, dscg_way)
    return group_case(case, pack, trace)


# --- the exclusion worked example of §4.2 ---------------------------------------------------------------


def test_the_exclusion_worked_example(pack):
    # D1 = J18.900 肺炎 (ES3, split 1/3/5), in exclusion table 表 7-101.
    # S1 = J09.x00 is an MCC whose table is 表 7-101 ∋ D1 → ignored.
    # S2 = A00.100 is a CC whose table is 表 7-1 ∌ D1 → counts → suffix 3; drop S2 → suffix 5.
    assert pack.complications["J09.x00"] == (1, "7-101") and "7-101" in pack.exclusions["J18.900"]
    assert pack.complications["A00.100"] == (3, "7-1") and "7-1" not in pack.exclusions["J18.900"]
    with_both = group(pack, ["J18.900", "J09.x00", "A00.100"], trace=True)
    assert with_both.drg == "ES33"
    assert any("J09.x00: MCC，被排除表 表 7-101 取消" in t for t in with_both.trace)
    assert any("A00.100: CC 计入" in t for t in with_both.trace)
    assert group(pack, ["J18.900", "J09.x00"]).drg == "ES35"
    assert group(pack, ["J18.900", "A01.100"]).drg == "ES31"  # an MCC of another table counts


# --- MDC order: A → P → Y → Z → principal diagnosis (sex for M/N) ---------------------------------------


def test_mdca_a_transplant_comes_first(pack):
    result = group(pack, ["I50.900"], ["37.5100"])  # heart failure, heart transplant
    assert (result.mdc, result.adrg, result.drg) == ("MDCA", "AA1", "AA19")


def test_mdca_comes_before_mdcp_for_a_newborn_on_ecmo(pack):
    assert group(pack, ["I50.900"], ["39.6500"], age=0, days=5).drg == "AH15"


def test_mdca_two_procedures_pancreas_and_kidney(pack):
    # AC1 同时包含 胰腺移植 和 肾移植: one procedure of each list, in any position
    assert group(pack, ["E10.200"], ["55.6901", "52.8000"]).drg == "AC19"


def test_mdcp_a_newborn_under_29_days(pack):
    result = group(pack, ["P22.000"], age=0, days=10)  # 新生儿呼吸窘迫综合征
    assert (result.mdc, result.drg) == ("MDCP", "PR15")


def test_mdcp_an_infant_with_a_neonatal_diagnosis_after_28_days(pack):
    assert group(pack, ["A04.000x001"], age=0, days=28).drg == "PU15"  # 足月儿: under 29 days
    assert group(pack, ["A04.000x001"], age=0, days=29).drg == "PV15"  # 29天≤出生年龄＜1周岁


def test_mdcp_not_for_an_adult_and_a_newborn_without_a_p_group_goes_on(pack):
    result = group(pack, ["J18.900"], age=0, days=10, trace=True)
    assert result.drg == "ES35" and "MDCP 无匹配的 ADRG，继续下一 MDC" in result.trace
    assert group(pack, ["A04.000x001"], age=30).mdc != "MDCP"


def test_an_adult_whose_age_in_days_is_not_filled_in_is_no_newborn(pack):
    assert group(pack, ["J18.900", "P07.300"], age=45, days=0, weight=1400).drg == "ES33"


def test_mdcy_hiv_as_principal_or_other_diagnosis(pack):
    assert group(pack, ["B20.003"]).drg == "YR15"  # HIV 肺结核 principal
    surgical = group(pack, ["J18.900", "B20.001"], ["81.5400"])  # HIV other dx + an OR procedure
    assert (surgical.mdc, surgical.adrg) == ("MDCY", "YC1")
    medical = group(pack, ["J18.900", "B24.x01"], trace=True)  # no MDCY group fits: the principal's MDC
    assert medical.mdc == "MDCE" and medical.trace[0] == "MDCY: HIV 诊断 B24.x01"


def test_mdcz_two_trauma_sites(pack):
    result = group(pack, ["S06.500", "S36.100x001"], trace=True)  # head + abdomen, no operation
    assert (result.mdc, result.adrg) == ("MDCZ", "ZZ1")
    assert result.trace[0] == "MDCZ: 多发严重创伤: 头颈部创伤、腹部创伤"
    assert group(pack, ["S06.500", "S36.100x001"], ["01.0900x006"]).drg == "ZB19"
    assert group(pack, ["S06.500"]).mdc == "MDCB"  # one site: not multiple trauma


def test_mdcm_and_mdcn_follow_the_patients_sex(pack):
    assert group(pack, ["N80.000"], gend=2).mdc == "MDCN"  # 子宫内膜异位症
    refused = group(pack, ["N80.000"], gend=1)
    assert refused.status == "ungrouped" and refused.drg == "0000" and "性别与主要诊断不符" in refused.reason


def test_mdc_by_principal_diagnosis(pack):
    result = group(pack, ["K80.100x001"], ["51.2300"])
    assert (result.mdc, result.adrg, result.drg) == ("MDCH", "HC2", "HC29")


# --- ADRG condition types -----------------------------------------------------------------------------


def test_principal_diagnosis_and_principal_procedure_together(pack):
    # BB1 脑创伤开颅术: 包含以下主要诊断 + 包含以下主要手术或操作
    assert group(pack, ["S01.800x011"], ["01.0900x006"]).adrg == "BB1"


def test_two_procedures_from_two_lists(pack):
    # FB1 瓣膜手术伴冠脉手术: 同时包含以下手术 … 和 …
    assert group(pack, ["I35.000"], ["35.0100x002", "00.6600x004"]).drg == "FB19"


def test_principal_diagnosis_with_two_procedure_lists(pack):
    # IB1: 主要诊断 + 同时包含 two lists
    assert group(pack, ["A18.000x047+M49.0*"], ["03.0900x025", "03.0900x007"]).drg == "IB19"


def test_procedure_tables_with_alternatives(pack):
    # JA1 = 主要诊断 + (手术表1 + 手术表2  or  表1 + 表3 + 表4); JA2 = 主要诊断 + (表1 or 表2 + 表3)
    assert group(pack, ["C50.900"], ["85.4301", "85.7000x001"], gend=2).adrg == "JA1"
    assert group(pack, ["C50.900"], ["85.4301"], gend=2).adrg == "JA2"
    # NA1 (written 手术 1/2/3 in one transcription): 主要诊断 + 表1, or + 表2 + 表3
    assert group(pack, ["C53.900"], ["67.4x00x002"], gend=2).adrg == "NA1"
    assert group(pack, ["C53.900"], ["54.4x00x006", "40.2905"], gend=2).adrg == "NA1"
    assert group(pack, ["C53.900"], ["54.4x00x006"], gend=2).adrg == "NJ1"  # 表2 alone is not enough


def test_principal_or_other_diagnosis_with_birth_weight(pack):
    # PS1–PS4: 主要诊断或其他诊断中包含 早产 codes; the birth weight from the ADRG's name
    def preterm(weight):
        return group(pack, ["J18.900", "P07.300"], age=0, days=3, weight=weight).adrg

    assert [preterm(w) for w in (1499, 1500, 1999, 2000, 2499, 2500)] == [
        "PS1",
        "PS2",
        "PS2",
        "PS3",
        "PS3",
        "PS4",
    ]
    assert group(pack, ["J18.900", "P07.300"], age=0, days=3).adrg == "ES3"  # no weight: no PS group


def test_any_operating_room_procedure(pack):
    # SB1 全身性感染的手术 and XJ1 包含全部手术: any OR procedure as the principal procedure
    assert group(pack, ["A41.900"], ["81.5400"]).adrg == "SB1"
    assert group(pack, ["B90.000"], ["81.5400"]).adrg == "XJ1"
    assert group(pack, ["T21.300"], ["81.5400"]).adrg == "WJ1"


def test_non_or_procedure_adrg(pack):
    assert group(pack, ["J18.900"], ["93.9001"], age=0, days=3).drg == "PK15"  # 新生儿伴呼吸机支持


def test_mdcz_without_operation_and_with_one(pack):
    assert group(pack, ["S06.500", "S36.100x001"], ["81.5400"]).adrg == "ZJ1"


# --- QY and 0000 --------------------------------------------------------------------------------------


def test_qy_an_operating_room_procedure_no_adrg_of_the_mdc_takes(pack):
    result = group(pack, ["K35.800x001"], ["81.5400"])  # appendicitis, knee replacement
    assert (result.status, result.mdc, result.adrg, result.drg) == ("qy", "MDCG", "", "GQY")
    assert "81.5400" in result.reason
    assert group(pack, ["K35.800x001"], ["47.0100"]).adrg == "GD2"  # appendicectomy: surgical group


def test_qy_belongs_to_the_mdc_the_principal_diagnosis_chose(pack):
    # a newborn's unlisted OR procedure: QY in MDCP only with a neonatal principal diagnosis
    assert group(pack, ["P22.000"], ["81.5400"], age=0, days=10).drg == "PQY"
    newborn = group(pack, ["J18.900"], ["81.5400"], age=0, days=10, trace=True)
    assert newborn.drg == "EQY" and "MDCP 无匹配的 ADRG，继续下一 MDC" in newborn.trace
    assert group(pack, ["K35.800x001"], ["47.0100"], age=0, days=10).drg == "PC15"  # 新生儿腹部手术


@pytest.mark.parametrize(
    ("dx", "reason"),
    [
        (["K35.800"], "主要诊断编码未知"),
        (["K35800"], "主要诊断编码格式错误"),
        (["K35.800x001", "I10"], "其他诊断编码格式错误"),
        ([], "缺少主要诊断"),
    ],
)
def test_0000_with_a_reason(pack, dx, reason):
    result = group(pack, dx)
    assert (result.status, result.drg, result.mdc) == ("ungrouped", "0000", "")
    assert reason in result.reason


def test_a_malformed_procedure_is_refused(pack):
    assert "手术操作编码格式错误" in group(pack, ["K35.800x001"], ["4701"]).reason


# --- splits -------------------------------------------------------------------------------------------


def test_splits_are_tried_from_the_most_severe(pack):
    # GU1 splits 1/5: 1 伴严重并发症或合并症 takes any counted complication, an MCC or a CC
    assert group(pack, ["K25.100x001"]).drg == "GU15"
    assert group(pack, ["K25.100x001", "A00.100"]).drg == "GU15"
    assert group(pack, ["K25.100x001", "A01.100"]).drg == "GU11"
    # GZ1 splits 3/5: 3 伴并发症或合并症 takes a CC or an MCC
    assert group(pack, ["K35.800x001", "A00.100"]).drg == "GZ13"
    assert group(pack, ["K35.800x001", "A01.100"]).drg == "GZ13"
    assert group(pack, ["K35.800x001"]).drg == "GZ15"
    # ES3 splits 1/3/5: 1 takes only an MCC, 3 a CC
    assert group(pack, ["J18.900", "A01.100"]).drg == "ES31"
    assert group(pack, ["J18.900", "A00.100"]).drg == "ES33"


def test_discharge_mode_does_not_split_chs_drg_1_1(pack):
    assert {group(pack, ["J18.900", "A00.100"], dscg_way=w).drg for w in "123459"} == {"ES33"}


def test_trace_lists_every_step(pack):
    result = group(pack, ["K80.100x001", "I10.x00", "J18.900"], ["51.2300"], trace=True)
    assert result.trace == (
        "MDCH: 主要诊断 K80.100x001 在 MDCH 主诊表",
        "ADRG HC2: 主要手术 51.2300 在主要手术或操作表",
        "其他诊断 I10.x00: 非 CC/MCC",
        "其他诊断 J18.900: CC 计入（排除表 表 7-101）",
        "DRG HC29: 不细分",
    )
    assert group(pack, ["K80.100x001"], ["51.2300"]).trace == ()
