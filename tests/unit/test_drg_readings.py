"""The readings of docs/drg.md that were changed to agree with the reference CHS-DRG 1.1 groupers (OpenDRG's
chs_drg_11), one hand-made case each with real 医保版 2.0 codes. The readings kept where the reference
departs from the scheme's text (QY, MDCP entry, PV1, MDCY) are pinned in test_drg_grouper.py."""

from __future__ import annotations

import pytest

from yibao.payment.cases import DrgCase
from yibao.payment.drg import group_case
from yibao.payment.drg_pack import CC, MCC
from yibao.payment.packs import load_drg_pack

A_CC, A_MCC = "A00.100", "A01.100"  # 霍乱 (CC, 表 7-1) and 副伤寒甲 (MCC)


@pytest.fixture(scope="module")
def pack():
    return load_drg_pack("chs-drg-1.1")


def drg(pack, dx, px=(), gend=1):
    return group_case(DrgCase("r", gend, 50, 50 * 365 + 100, tuple(dx), tuple(px)), pack)


# --- reading 9: in an ADRG split 1/5 only an MCC reaches 1; a CC stays in 5 ------------------------------------


@pytest.mark.parametrize(
    ("principal", "adrg"),
    [
        ("K25.100x001", "GU1"),  # 消化道溃疡伴穿孔 (MDCG)
        ("A18.818+I79.8*", "FW1"),  # 动脉疾患 (MDCF)
        ("G91.000x002", "BR1"),  # 颅内出血性疾患 (MDCB)
        ("A15.000x001", "ES1"),  # 呼吸系统结核 (MDCE)
        ("C60.000", "MR1"),  # 男性生殖系统恶性肿瘤 (MDCM)
        ("E10.000", "KS1"),  # 糖尿病 (MDCK)
        ("Q96.300", "XS1"),  # 体征及症状 (MDCX)
    ],
)
def test_a_split_1_5_takes_only_an_mcc_into_1(pack, principal, adrg):
    assert next(r for r in pack.rules[adrg[0]] if r.code == adrg).splits == "15"
    assert pack.complications[A_CC] == (CC, "7-1") and "7-1" not in pack.exclusions.get(principal, ())
    assert pack.complications[A_MCC][0] == MCC
    assert drg(pack, [principal]).drg == adrg + "5"
    assert drg(pack, [principal, A_CC]).drg == adrg + "5"
    assert drg(pack, [principal, A_MCC]).drg == adrg + "1"


def test_a_split_1_5_mcc_cancelled_by_its_exclusion_table_stays_in_5(pack):
    # A01.001+K77.0* (伤寒性肝炎, HZ1 其他肝脏疾病, split 1/5): an MCC counts unless its table lists the principal
    assert drg(pack, ["A01.001+K77.0*", A_MCC]).drg == (
        "HZ15" if pack.complications[A_MCC][1] in pack.exclusions.get("A01.001+K77.0*", ()) else "HZ11"
    )


def test_splits_1_3_5_and_3_5_are_unchanged(pack):
    # 1/3/5 (ES3): 1 only with an MCC, 3 with a CC; 3/5 (GZ1): an MCC goes to 3
    assert [drg(pack, ["J18.900", *o]).drg for o in ([], [A_CC], [A_MCC])] == ["ES35", "ES33", "ES31"]
    assert [drg(pack, ["K35.800x001", *o]).drg for o in ([], [A_CC], [A_MCC])] == ["GZ15", "GZ13", "GZ13"]


# --- reading 7: an MDC is entered through its published 主诊表 only ---------------------------------------


def test_a_principal_listed_only_by_an_adrg_enters_no_mdc(pack):
    # T20.300 头和颈三度烧伤 is on WB1/WR1's lists but not on the MDCW 主诊表 (nor any other)
    assert "T20.300" in next(r for r in pack.rules["W"] if r.code == "WR1").principal_dx
    assert "T20.300" not in pack.mdc_lists["W"]
    result = drg(pack, ["T20.300"])
    assert (result.status, result.drg) == ("ungrouped", "0000")
    assert "不在任何 MDC 主诊表中" in result.reason
    assert drg(pack, ["T21.300"]).drg == "WR19"  # 躯干三度烧伤 is on the MDCW list


def test_a_principal_listed_by_an_adrg_of_another_mdc_groups_where_its_list_is(pack):
    # C76.300x001 is on RA3/RA4's lists but on the MDCI 主诊表, not the MDCR one
    assert "C76.300x001" not in pack.mdc_lists["R"] and "C76.300x001" in pack.mdc_lists["I"]
    assert drg(pack, ["C76.300x001"]).mdc == "MDCI"
