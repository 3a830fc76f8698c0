"""The settlement list's steps, pure: principal first, the stay from the person and the visit, codes, sex and
age conflicts, the scheme of the discharge date, a reproducible trace, and 4102's status table."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from yibao.payment import settlement_list as sl
from yibao.payment.drg import group_case
from yibao.payment.packs import load_drg_pack, registered_schemes


@pytest.fixture(scope="module")
def pack():
    return load_drg_pack("chs-drg-1.1")


def a_list(diagnoses=(("K35.200", "1", "1"),), procedures=(), **setlinfo) -> sl.SettlementList:
    fields = {
        "setl_id": "S1",
        "mdtrt_id": "M1",
        "psn_no": "P1",
        "gend": "1",
        "age": None,
        "nwb_age": None,
        "weight_g": None,
        "adm_time": None,
        "dscg_time": None,
        "act_ipt_days": None,
        "dscg_way": None,
        "hi_paymtd": None,
        **setlinfo,
    }
    return sl.SettlementList(
        **fields,
        diagnoses=tuple(
            sl.Diagnosis(i, code, f"诊断{i}", diag_type=kind, maindiag_flag=flag)
            for i, (code, flag, kind) in enumerate(diagnoses)
        ),
        procedures=tuple(
            sl.Procedure(i, code, f"手术{i}", oprn_oprt_type=kind)
            for i, (code, kind) in enumerate(procedures)
        ),
    )


STAY = sl.SettledStay(
    setl_id="S1",
    mdtrt_id="M1",
    fixmedins_code="H99010200002",
    psn_no="P1",
    med_type="21",
    refd_setl_flag="0",
    reversed_by=None,
    mid_setl_flag="0",
    begntime=datetime(2025, 3, 1, 10),
    endtime=datetime(2025, 3, 6, 9),
    dscg_way="1",
    gend="1",
    brdy=date(1990, 3, 2),
)


def refused(fn, *args, **kw) -> sl.ListError:
    with pytest.raises(sl.ListError) as caught:
        fn(*args, **kw)
    return caught.value


def test_the_principal_goes_first_and_chinese_medicine_is_not_grouped():
    lst = a_list(
        diagnoses=(("J18.900", "0", "1"), ("BNP010", "1", "2"), ("K35.200", "1", "1")),
        procedures=(("54.2100", "2"), ("47.0901", "1")),
    )
    dx, px = sl.principal_first(lst)
    assert [d.diag_code for d in dx] == ["K35.200", "J18.900"]
    assert [p.oprn_oprt_code for p in px] == ["47.0901", "54.2100"]
    assert refused(sl.principal_first, a_list(diagnoses=(("K35.200", "0", "1"),))).path == "diseinfo"
    two = refused(sl.principal_first, a_list(procedures=(("47.0901", "1"), ("54.2100", "1"))))
    assert two.path == "oprninfo[1].oprn_oprt_type"


def test_the_stay_comes_from_the_person_and_the_visit():
    stay = sl.stay_of(a_list(), STAY)
    # born 1990-03-02, admitted 2025-03-01: 34 周岁 (the birthday is the next day); 5 days, discharge mode 1
    assert (stay.age, stay.los, stay.dscg_way, stay.dscg_time) == (34, 5, "1", datetime(2025, 3, 6, 9))
    assert refused(sl.stay_of, a_list(age=35), STAY).path == "setlinfo.age"
    assert refused(sl.stay_of, a_list(gend="2"), STAY).reason == "与参保人性别不符"
    assert refused(sl.stay_of, a_list(gend="9"), STAY).path == "setlinfo.gend"
    early = a_list(dscg_time=datetime(2025, 2, 1))
    assert refused(sl.stay_of, early, STAY).path == "setlinfo.dscg_time"


def test_the_settlement_must_stand_and_be_the_callers_inpatient_one():
    from dataclasses import replace

    sl.check_settlement(a_list(), STAY, "H99010200002")
    assert refused(sl.check_settlement, a_list(), STAY, "H99010200001").reason == "结算不存在 S1"
    for change, words in [
        ({"reversed_by": "S2"}, "已撤销"),
        ({"refd_setl_flag": "1"}, "撤销记录"),
        ({"mid_setl_flag": "1"}, "中途结算"),
        ({"med_type": "11"}, "不是住院结算"),
    ]:
        assert words in refused(sl.check_settlement, a_list(), replace(STAY, **change), "H99010200002").reason
    assert (
        refused(sl.check_settlement, a_list(mdtrt_id="M2"), STAY, "H99010200002").path == "setlinfo.mdtrt_id"
    )


def test_codes_grey_and_unknown_principal_diagnoses(pack):
    dx, px = sl.principal_first(a_list(diagnoses=(("k35.200", "1", "1"), ("E11.900", "0", "1"))))
    sl.check_codes(dx, px, pack, frozenset())  # (lower case normalised: K35.200)
    assert "灰码" in refused(sl.check_codes, dx, px, pack, frozenset({"K35.200"})).reason
    sl.check_codes(dx, px, pack, frozenset({"E11.900"}))  # a grey secondary diagnosis is kept (§11.5)
    unknown, _ = sl.principal_first(a_list(diagnoses=(("K35.900", "1", "1"),)))
    assert refused(sl.check_codes, unknown, (), pack, frozenset()).path == "diseinfo[0].diag_code"


@pytest.mark.parametrize(
    ("code", "gend", "age", "words"),
    [
        ("O80.000", 1, 30, "性别与主要诊断不符: O80.000 属 MDCO"),
        ("N80.000", 1, 30, "性别与主要诊断不符: N80.000 属 MDCN"),
        ("P07.100", 1, 35, "年龄与主要诊断不符"),
    ],
)
def test_sex_and_age_conflicts(pack, code, gend, age, words):
    dx, _ = sl.principal_first(a_list(diagnoses=((code, "1", "1"),)))
    stay = sl.Stay(str(gend), age, age * 365, STAY.begntime, STAY.endtime, 5, "1", None)
    assert words in refused(sl.check_conflicts, sl.case_of("c", stay, dx, ()), dx, pack).reason
    female = sl.Stay("2", 30, 30 * 365, STAY.begntime, STAY.endtime, 5, "1", None)
    if code.startswith(("O", "N")):
        sl.check_conflicts(sl.case_of("c", female, dx, ()), dx, pack)


def test_grouping_is_the_grouper_with_versions_and_a_reproducible_digest(pack):
    scheme = sl.drg_scheme_on(registered_schemes(), date(2025, 3, 6))
    assert scheme is not None and scheme.name == "chs-drg-1.1"
    assert sl.drg_scheme_on(registered_schemes(), date(2020, 1, 1)) is None  # before 1.1 took effect
    assert sl.dip_scheme_on(registered_schemes(), date(2025, 3, 6)) is None
    lst = a_list(diagnoses=(("K35.200", "1", "1"), ("I50.900", "0", "1")), procedures=(("47.0901", "1"),))
    dx, px = sl.principal_first(lst)
    stay = sl.stay_of(lst, STAY)
    one, two = (sl.group_list(sl.case_of(cid, stay, dx, px), pack, scheme) for cid in ("L1", "L2"))
    assert one.group == group_case(sl.case_of("L1", stay, dx, px), pack, trace=True)
    assert one.group.drg == "GD13" and one.group_name == pack.drg_names["GD13"]
    assert one.trace["input_digest"] == two.trace["input_digest"]  # the case's id is not an input
    assert one.trace["versions"] == {
        "grouper": one.grouper_version,
        "scheme": "chs-drg-1.1",
        "pack_hash": pack.pack_hash,
    }
    assert (
        one.trace["steps"] == list(one.group.trace)
        and one.trace["result"]["mdc_name"] == "消化系统疾病及功能障碍"
    )


def test_status_changes_are_a_table():
    assert sl.change_status("L1", sl.VALID, sl.VOID, other_valid=None) == sl.VOID
    assert sl.change_status("L1", sl.VOID, sl.VALID, other_valid=None) == sl.VALID
    assert "已是作废" in refused(sl.change_status, "L1", sl.VOID, sl.VOID, other_valid=None).reason
    assert "L2" in refused(sl.change_status, "L1", sl.VOID, sl.VALID, other_valid="L2").reason


def test_an_unsettled_visit_is_named():
    assert "已办理出院" in refused(sl.no_settlement, a_list(), "discharged").reason
    assert refused(sl.no_settlement, a_list(), None).path == "setlinfo.setl_id"
    assert refused(sl.no_settlement, a_list(), "settled").reason == "结算不存在 S1"


def test_a_dated_period():
    day = date(2025, 3, 6)
    assert sl.period_holds(date(2025, 1, 1), None, day) and sl.period_holds(date(2025, 3, 6), day, day)
    assert not sl.period_holds(date(2026, 1, 1), None, day)
    assert not sl.period_holds(date(2024, 1, 1), date(2025, 3, 5), day)
    assert not sl.period_holds("2025-01-01", None, day)  # (not a date: no period)
