"""Application checks (受理) and the evaluation clock, hand-computed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.errors import InputError
from yibao.providers.application import (
    add_months,
    check_application,
    evaluation_deadline,
    operation_months,
)
from yibao.providers.scheme import load_scheme

FOLDER = Path(__file__).resolve().parents[2] / "regions" / "990100" / "providers"
DAY = date(2025, 6, 2)
HOSPITAL_MATERIALS = ["执业许可证", "统一社会信用代码证书", "法定代表人身份证明", "科室设置", "人员名单及资质", "床位及设备清单",
                      "医保管理制度", "信息系统对接承诺"]  # fmt: skip


@pytest.fixture(scope="module")
def scheme():
    return load_scheme(FOLDER)


def good(**changes):
    facts = {
        "kind": "apply",
        "name": "示例市东城区康华医院",
        "uscc": "52990102MJGDNA0897",
        "class": "hospital",
        "beds": 60,
        "opened_on": "2025-03-02",
        "licence_no": "PDY00001X990102",
        "licence_begndate": date(2025, 2, 1),
        "licence_enddate": "2030-01-31",
        "departments": ["内科", "外科"],
        "staff": [{"name": "张三", "qualification": "执业医师"}],
        "info_ready": True,
        "services": ["S01", "S04", "S05"],
        "materials": HOSPITAL_MATERIALS,
    }
    facts.update(changes)
    return facts


# --- months of operation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "day", "months"),
    [
        (date(2025, 3, 2), date(2025, 6, 2), 3),  # the same day three months on
        (date(2025, 3, 2), date(2025, 6, 1), 2),  # the day before
        (date(2025, 1, 31), date(2025, 4, 30), 3),  # 01-31 + 3 months = 04-30 (clipped)
        (date(2025, 1, 31), date(2025, 4, 29), 2),
        (date(2024, 2, 29), date(2025, 2, 28), 12),  # a leap day
        (date(2025, 6, 2), date(2025, 6, 2), 0),
        (date(2025, 6, 3), date(2025, 6, 2), 0),  # not yet open
        (date(2019, 5, 10), date(2025, 6, 2), 72),
    ],
)
def test_operation_months(opened, day, months):
    assert operation_months(opened, day) == months


def test_add_months_clips_to_the_months_end():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


# --- the application checks ---------------------------------------------------------------------------------------


def test_a_complete_application_is_acceptable(scheme):
    assert check_application(good(), scheme, DAY) == []
    assert check_application(good(kind=None), scheme, DAY) == []  # apply is the default


def test_applying_before_three_months_is_refused(scheme):
    assert check_application(good(), scheme, date(2025, 6, 1)) == [
        "opened_on: 自 2025-03-02 起正式运营 2 个月，须满 3 个月方可申请（2025-06-02 起） (operated 2 months; 3 required)"
    ]
    assert check_application(good(opened_on="2025-07-01"), scheme, DAY) == [
        "opened_on: 开业日期 2025-07-01 晚于申请日期 2025-06-02 (opened after the application day)"
    ]


def test_every_missing_piece_is_named(scheme):
    facts = good(
        name=" ",
        uscc="52990102MJGDNA0898",
        departments=[],
        staff=None,
        info_ready=False,
        services=[],
        materials=HOSPITAL_MATERIALS[:-2],
        licence_no="",
        opened_on="2025-13-01",
    )
    assert check_application(facts, scheme, DAY) == [
        "name: 缺少机构名称 (name missing)",
        "uscc: 统一社会信用代码无效：校验位错误（末位应为 7） (invalid USCC)",
        "opened_on: 日期应为 YYYY-MM-DD，不是 '2025-13-01' (not a date)",
        "licence_no: 缺少执业许可证（药品经营许可证）号 (licence number missing)",
        "departments: 缺少科室设置 (departments missing)",
        "staff: 缺少人员名单 (staff list missing)",
        "info_ready: 信息系统尚未与医保信息平台对接 (HIS not connected to the 医保 platform)",
        "services: 未选择申请的医保服务类别 (no service category asked for)",
        "materials: 缺少申请材料 医保管理制度、信息系统对接承诺 (materials missing)",
    ]


def test_class_and_beds(scheme):
    assert check_application(good(beds=0), scheme, DAY) == [
        "beds: 医院须有核定床位（无床位的按门诊诊所申请） (a hospital has beds)"
    ]
    clinic = good(beds=10, services=["S04"])
    clinic["class"] = "clinic"
    clinic["materials"] = [m for m in HOSPITAL_MATERIALS if m != "床位及设备清单"]
    assert check_application(clinic, scheme, DAY) == [
        "beds: 门诊诊所不设床位（有床位的按医院申请） (only hospitals have beds)"
    ]
    assert check_application(good(**{"class": "ward"}), scheme, DAY) == [
        "class: 机构类别应为 hospital / clinic / pharmacy 之一，不是 'ward' (unknown class)"
    ]


def test_services_must_be_known_and_fit_the_class(scheme):
    assert check_application(good(services=["S01", "S17", "S99", "S01"]), scheme, DAY) == [
        "services: 医院不能开通 药店购药（S17） (not for class hospital)",
        "services: 未知的医保服务类别 S99 (unknown service category)",
        "services: 服务类别重复 (a service category is listed twice)",
    ]


def test_a_pharmacy_files_its_own_materials(scheme):
    pharmacy = good(services=["S17"], beds=None, departments=None)
    pharmacy["class"] = "pharmacy"
    assert check_application(pharmacy, scheme, DAY) == [
        "materials: 缺少申请材料 药品经营许可证、执业药师注册证、进销存管理系统说明 (materials missing)"
    ]
    pharmacy["materials"] = list(scheme.application.required_materials["pharmacy"])
    assert check_application(pharmacy, scheme, DAY) == []


def test_the_licence_must_be_valid_on_the_day(scheme):
    assert check_application(good(licence_enddate="2025-06-01"), scheme, DAY) == [
        "licence_enddate: 许可证已于 2025-06-01 过期 (licence expired)"
    ]
    assert (
        check_application(good(licence_enddate="2025-06-02"), scheme, DAY) == []
    )  # the last day still counts
    assert check_application(good(licence_enddate=None), scheme, DAY) == []  # no end
    assert check_application(good(licence_begndate="2025-06-03"), scheme, DAY) == [
        "licence_begndate: 许可证 2025-06-03 起生效，申请日 2025-06-02 尚未生效 (licence not yet valid)"
    ]
    assert check_application(good(licence_begndate=None), scheme, DAY) == [
        "licence_begndate: 缺少日期 (date missing)"
    ]


def test_the_reapplication_bar(scheme):
    assert check_application(good(terminated_on="2022-06-03"), scheme, DAY) == [
        "terminated_on: 2022-06-03 被解除医保协议，3 年内不予受理，2025-06-03 起方可重新申请 (re-application barred)"
    ]
    assert check_application(good(terminated_on="2022-06-02"), scheme, DAY) == []


def test_a_public_hospital_may_not_ask_to_leave(scheme):
    for kind, what in (("suspend", "中止"), ("terminate", "解除")):
        assert check_application({"kind": kind, "public": True}, scheme, DAY) == [
            f"public: 公立医疗机构不得主动申请{what}医保协议 (a public institution may not ask to leave)"
        ]


def test_a_voluntary_suspension_is_at_most_180_days(scheme):
    ok = {
        "kind": "suspend",
        "public": False,
        "suspend_begndate": "2025-06-02",
        "suspend_enddate": "2025-11-28",
    }
    assert check_application(ok, scheme, DAY) == []  # 06-02 … 11-28 = 180 days
    long = {**ok, "suspend_enddate": "2025-11-29"}
    assert check_application(long, scheme, DAY) == [
        "suspend_enddate: 主动中止 181 天，最长 180 天 (voluntary suspension too long)"
    ]
    past = {**ok, "suspend_begndate": "2025-06-01"}
    assert check_application(past, scheme, DAY) == [
        "suspend_begndate: 中止起始日 2025-06-01 早于申请日 2025-06-02 (cannot start in the past)"
    ]
    backwards = {**ok, "suspend_enddate": "2025-06-01", "suspend_begndate": "2025-06-03"}
    assert check_application(backwards, scheme, DAY) == [
        "suspend_enddate: 中止止日 2025-06-01 早于起始日 2025-06-03 (ends before it starts)"
    ]
    assert check_application({"kind": "suspend"}, scheme, DAY) == [
        "suspend_begndate: 缺少日期 (date missing)",
        "suspend_enddate: 缺少日期 (date missing)",
    ]


def test_leaving_needs_three_months_notice(scheme):
    assert check_application({"kind": "terminate", "exit_on": "2025-09-02"}, scheme, DAY) == []
    assert check_application({"kind": "terminate", "exit_on": "2025-09-01"}, scheme, DAY) == [
        "exit_on: 须提前 3 个月申请解除，最早 2025-09-02 (notice of 3 months)"
    ]


def test_changes_and_renewals_are_checked_on_what_they_carry(scheme):
    assert check_application({"kind": "change", "name": "新名称"}, scheme, DAY) == []
    assert check_application({"kind": "change", "class": "clinic", "beds": 20}, scheme, DAY) == [
        "beds: 门诊诊所不设床位（有床位的按医院申请） (only hospitals have beds)"
    ]
    assert check_application({"kind": "renew", "class": "hospital"}, scheme, DAY) == [
        "services: 未选择申请的医保服务类别 (no service category asked for)"
    ]
    assert check_application({"kind": "renew", "class": "hospital", "services": ["S01"]}, scheme, DAY) == []
    assert check_application({"kind": "move"}, scheme, DAY) == [
        "kind: 未知的申请类型 move (unknown kind; known: apply, change, suspend, terminate, renew)"
    ]


# --- the evaluation clock -----------------------------------------------------------------------------------------


def test_the_clock_without_pauses():
    assert evaluation_deadline(date(2025, 1, 10), [], 3) == date(2025, 4, 10)
    assert evaluation_deadline(date(2024, 11, 30), [], 3) == date(2025, 2, 28)


def test_supplementing_stops_the_clock():
    # accepted 01-10: 04-10; paused 02-01 → 02-11 (10 days): 04-20
    assert evaluation_deadline(date(2025, 1, 10), [(date(2025, 2, 1), date(2025, 2, 11))], 3) == date(
        2025, 4, 20
    )
    # two pauses of 10 and 5 days: 04-25
    pauses = [(date(2025, 3, 1), date(2025, 3, 6)), (date(2025, 2, 1), date(2025, 2, 11))]
    assert evaluation_deadline(date(2025, 1, 10), pauses, 3) == date(2025, 4, 25)
    # overlapping 02-01 → 02-11 and 02-06 → 02-16: 15 days, not 20
    pauses = [(date(2025, 2, 1), date(2025, 2, 11)), (date(2025, 2, 6), date(2025, 2, 16))]
    assert evaluation_deadline(date(2025, 1, 10), pauses, 3) == date(2025, 4, 25)
    # a pause inside another counts nothing more
    pauses = [(date(2025, 2, 1), date(2025, 2, 11)), (date(2025, 2, 3), date(2025, 2, 5))]
    assert evaluation_deadline(date(2025, 1, 10), pauses, 3) == date(2025, 4, 20)
    # a pause opened and closed the same day stops nothing
    assert evaluation_deadline(date(2025, 1, 10), [(date(2025, 2, 1), date(2025, 2, 1))], 3) == date(
        2025, 4, 10
    )


def test_an_open_pause_stops_the_clock():
    pauses = [(date(2025, 2, 1), date(2025, 2, 11)), (date(2025, 3, 1), None)]
    assert evaluation_deadline(date(2025, 1, 10), pauses, 3) is None


def test_bad_pauses_are_refused():
    with pytest.raises(InputError, match=r"^pauses: 补充材料起始日 2025-01-09 早于受理日 2025-01-10"):
        evaluation_deadline(date(2025, 1, 10), [(date(2025, 1, 9), date(2025, 1, 12))], 3)
    with pytest.raises(InputError, match=r"^pauses: 补充材料止日 2025-02-01 早于起始日 2025-02-05"):
        evaluation_deadline(date(2025, 1, 10), [(date(2025, 2, 5), date(2025, 2, 1))], 3)
