"""Business checks of enrollment (业务校验) as data and mechanism, without a database: ages in full years at
their edges, each 人员类别's age band (the region's data over the defaults), dates within the lead time and
not before birth, names and addresses, scheduled (预约) changes not in force before their date, the actions
offered for each status and category, and every refusal in Chinese naming the field by its label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from yibao import validation as v
from yibao.enrollment import checks_data, rules
from yibao.errors import ConfigError, InputError, SettlementError

REPO = Path(__file__).resolve().parents[2]
CHECKS = checks_data.checks_for("990100", REPO / "regions")
TODAY = date(2026, 12, 7)


def refusal(fn, *args) -> str:
    with pytest.raises(InputError) as exc:
        fn(*args)
    return exc.value.message


# --- ages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brdy", "day", "age"),
    [
        (date(1990, 5, 1), date(2025, 4, 30), 34),  # the day before the birthday
        (date(1990, 5, 1), date(2025, 5, 1), 35),  # the birthday itself
        (date(2024, 2, 29), date(2025, 2, 28), 0),  # born on 29 Feb: a year old on 1 Mar
        (date(2024, 2, 29), date(2025, 3, 1), 1),
        (date(2025, 1, 1), date(2025, 1, 1), 0),
    ],
)
def test_age_in_full_years(brdy, day, age):
    assert rules.age_on(brdy, day) == age


@pytest.mark.parametrize(
    ("insutype", "psn_type", "brdy", "gend", "day", "ok"),
    [
        ("390", "1401", date(2025, 3, 1), "1", date(2025, 6, 1), True),  # a newborn of three months
        ("390", "1401", date(2024, 6, 1), "1", date(2025, 6, 1), False),  # a year old: no longer 新生儿
        ("390", "1401", date(1985, 6, 1), "2", date(2025, 6, 1), False),  # the adult 新生儿
        ("390", "16", date(2023, 1, 1), "1", date(2025, 6, 1), False),  # the 2-year-old 老年
        ("390", "16", date(1965, 6, 1), "1", date(2025, 6, 1), True),  # 60 on the day
        ("390", "16", date(1965, 6, 2), "1", date(2025, 6, 1), False),  # 59 for one more day
        ("390", "15", date(2007, 6, 1), "1", date(2025, 6, 1), True),  # 18 on the day
        ("390", "15", date(1965, 6, 1), "1", date(2025, 6, 1), False),  # 60: 老年, not 成年
        ("390", "1403", date(2015, 1, 1), "2", date(2025, 6, 1), True),  # a pupil of ten
        ("390", "1406", date(2015, 1, 1), "2", date(2025, 6, 1), True),  # unlisted: its parent 14 (未成年)
        ("390", "1406", date(2000, 1, 1), "2", date(2025, 6, 1), False),
        ("310", "11", date(2010, 1, 1), "1", date(2025, 6, 1), False),  # 15: below the working age
        ("310", "11", date(2009, 6, 1), "1", date(2025, 6, 1), True),  # 16
        ("310", "12", date(1975, 6, 1), "1", date(2025, 6, 1), True),  # a man of 50
        ("310", "12", date(1975, 6, 2), "1", date(2025, 6, 1), False),  # 49
        ("310", "12", date(1980, 6, 1), "2", date(2025, 6, 1), True),  # a woman of 45
        ("310", "12", date(1980, 6, 2), "2", date(2025, 6, 1), False),
        ("320", "99", date(2020, 1, 1), "1", date(2025, 6, 1), True),  # no band: no check
    ],
)
def test_each_category_admits_its_ages(insutype, psn_type, brdy, gend, day, ok):
    if ok:
        rules.check_category_age(CHECKS, insutype, psn_type, brdy, gend, day)
    else:
        message = refusal(rules.check_category_age, CHECKS, insutype, psn_type, brdy, gend, day)
        assert message.startswith(f"psn_type: 人员类别「{CHECKS.type_name(psn_type)}」适用于")
        assert f"该人员 {day} 时 {rules.age_on(brdy, day)} 周岁" in message


def test_the_refusal_of_an_adult_newborn_reads_as_the_clerk_needs():
    message = refusal(
        rules.check_category_age, CHECKS, "390", "1401", date(1985, 6, 1), "2", date(2025, 6, 1)
    )
    assert message == "psn_type: 人员类别「1401 新生儿」适用于不满 1 周岁的人员，该人员 2025-06-01 时 40 周岁"


def test_the_suggested_category_follows_the_age():
    codes = ["1401", "1402", "1403", "1404", "1405", "15", "16"]
    day = date(2025, 6, 1)
    assert rules.suggested_category(CHECKS, "390", codes, date(1985, 1, 1), day) == "15"  # never 1401
    assert rules.suggested_category(CHECKS, "390", codes, date(1950, 1, 1), day) == "16"
    assert rules.suggested_category(CHECKS, "390", codes, date(2025, 2, 1), day) == "1401"
    assert rules.suggested_category(CHECKS, "390", codes, date(2022, 2, 1), day) == "1402"
    assert rules.suggested_category(CHECKS, "390", codes, date(2015, 2, 1), day) == "1403"  # a pupil of ten
    assert rules.suggested_category(CHECKS, "390", codes, date(2005, 2, 1), day) == "15"  # 20: 成年


# --- dates ---------------------------------------------------------------------------------------------


def test_dates_within_the_lead_time_and_not_before_birth():
    born = date(1990, 5, 1)
    last = date(2027, 3, 7)  # 90 days after 2026-12-07
    assert rules.latest_allowed(CHECKS, TODAY) == last
    rules.check_date("begndate", "参保日期", last, CHECKS, TODAY, born)
    rules.check_date("begndate", "参保日期", born, CHECKS, TODAY, born)
    assert refusal(rules.check_date, "begndate", "参保日期", date(2027, 3, 8), CHECKS, TODAY, born) == (
        "begndate: 参保日期不能晚于 2027-03-07（最多提前 90 天办理；填写的是 2027-03-08）"
    )
    assert refusal(
        rules.check_date, "begndate", "参保日期", date(2030, 1, 1), CHECKS, TODAY, born
    ).startswith("begndate: 参保日期不能晚于")
    assert refusal(rules.check_date, "begndate", "参保日期", date(1990, 4, 30), CHECKS, TODAY, born) == (
        "begndate: 参保日期不能早于出生日期（1990-05-01）"
    )


# --- the data ------------------------------------------------------------------------------------------


def test_the_shipped_region_states_the_defaults():
    """region.yaml's enrollment section documents the defaults: the data and the code agree."""
    assert CHECKS.lead_days == rules.EnrollmentChecks.lead_days
    assert CHECKS.ages is not None and set(CHECKS.ages) == set(rules.DEFAULT_AGES)
    for insutype, by_type in rules.DEFAULT_AGES.items():
        assert set(CHECKS.ages[insutype]) == set(by_type) | ({"14"} if insutype == "390" else set())
        for code in by_type:
            for gend in ("1", "2"):
                assert CHECKS.band(insutype, code, gend) == rules.DEFAULT_CHECKS.band(insutype, code, gend)


def test_a_region_overrides_what_it_lists():
    checks = checks_data.parse(
        {"lead_days": 30, "ages": {"390": {"15": [16, 64]}, 310: {12: {1: [60, None]}}}}, "x"
    )
    assert checks.lead_days == 30
    assert checks.band("390", "15", "1") == rules.AgeBand(16, 64)
    assert checks.band("390", "16", "1") == rules.AgeBand(60, None)  # not listed: the default
    assert checks.band("310", "12", "1") == rules.AgeBand(60, None)
    assert checks.band("310", "12", "2") is None  # the region gave men only


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"lead_days": -1}, "r.yaml: enrollment.lead_days 应为 0–366 的整数天数"),
        ({"lead_days": "90"}, "r.yaml: enrollment.lead_days 应为 0–366 的整数天数"),
        ({"ages": {"390": [1, 2]}}, "r.yaml: enrollment.ages.390 应为 人员类别 → 年龄段 的映射"),
        (
            {"ages": {"390": {"15": [60, 18]}}},
            "r.yaml: enrollment.ages.390.15 应为 [最小周岁, 最大周岁]（0–150，不限写 null）",
        ),
        (
            {"ages": {"390": {"15": [18]}}},
            "r.yaml: enrollment.ages.390.15 应为 [最小周岁, 最大周岁]（0–150，不限写 null）",
        ),
    ],
)
def test_bad_region_data_is_refused_naming_the_key(section, message):
    with pytest.raises(ConfigError) as exc:
        checks_data.parse(section, "r.yaml")
    assert exc.value.message == message


def test_a_region_without_the_section_keeps_the_defaults(tmp_path):
    (tmp_path / "990900").mkdir()
    (tmp_path / "990900" / "region.yaml").write_text("name: 无校验市\n", encoding="utf-8")
    checks = checks_data.checks_for("990902", tmp_path)  # a district: its city's file
    assert checks.lead_days == 90 and checks.band("390", "1401", "1") == rules.AgeBand(0, 0)
    assert checks.type_name("1401") == "1401"  # no dictionary there: the code alone


# --- names and addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("张三", None),
        ("欧阳娜娜", None),
        ("阿依古丽·买买提", None),
        ("  王 五 ".replace(" ", ""), None),
        ("John Smith", None),
        ("Mary-Jane O'Neil", None),
        ("Test123<script>", "不能含数字"),
        ("张<b>三", "不能含尖括号 < >"),
        ("张\x00三", "不能含控制字符"),
        ("王", "应为 2–30 个汉字（填写的是 1 个字）"),
        ("张" * 31, "应为 2–30 个汉字（填写的是 31 个字）"),
        ("张三John", "应为汉字（少数民族姓名可用间隔号 ·）或外文字母，不能混用或含符号"),
        ("张三!", "应为汉字（少数民族姓名可用间隔号 ·）或外文字母，不能混用或含符号"),
        ("   ", "不能为空"),
    ],
)
def test_person_names(name, reason):
    if reason is None:
        assert v.person_name(name) == name
    else:
        with pytest.raises(v.ValidationError) as exc:
            v.person_name(name)
        assert exc.value.message == reason


def test_addresses_and_organisation_names():
    assert v.address("  示例市东城区  长安街 1 号 ") == "示例市东城区 长安街 1 号"
    for text, reason in (
        ("<script>", "不能含尖括号 < >"),
        ("东城区\x07", "不能含控制字符"),
        ("路" * 101, "不能超过 100 个字（填写的是 101 个字）"),
        ("", "不能为空"),
    ):
        with pytest.raises(v.ValidationError) as exc:
            v.address(text)
        assert exc.value.message == reason


# --- scheduled changes and the actions offered ---------------------------------------------------------


@dataclass
class Enr:
    psn_insu_stas: str = "1"
    insutype: str = "310"
    psn_type: str = "11"
    begndate: date = date(2025, 1, 1)
    enddate: date | None = None
    paus_insu_date: date | None = None
    end_reason: str | None = None
    wait_until: date | None = None


def test_a_scheduled_suspension_is_not_in_force_before_its_date():
    enr = Enr(psn_insu_stas="2", paus_insu_date=date(2027, 3, 1))
    assert rules.status_on(enr, date(2027, 2, 28)) == "1"
    assert rules.choose_enrollment([enr], "P1", "310", date(2027, 2, 28)) is enr  # benefits unchanged
    assert rules.status_on(enr, date(2027, 3, 1)) == "2"
    with pytest.raises(SettlementError, match="参保状态为 2 暂停"):
        rules.choose_enrollment([enr], "P1", "310", date(2027, 3, 1))
    assert rules.status_text(enr, TODAY) == "正常（暂停已预约，2027-03-01 生效）"
    assert rules.status_text(enr, date(2027, 3, 1)) == "暂停"


@pytest.mark.parametrize(
    ("enr", "text"),
    [
        (Enr(), "正常"),
        (Enr(psn_insu_stas="2", paus_insu_date=date(2026, 3, 1)), "暂停"),
        (
            Enr(psn_insu_stas="4", enddate=date(2027, 1, 31), end_reason="other"),
            "正常（终止已预约，参保至 2027-01-31）",
        ),
        (
            Enr(psn_insu_stas="4", enddate=date(2027, 1, 31), end_reason="transfer_out"),
            "正常（转出已预约，参保至 2027-01-31）",
        ),
        (
            Enr(psn_insu_stas="4", enddate=date(2027, 1, 31), end_reason="retired"),
            "正常（退休已预约，2027-02-01 生效）",
        ),
        (Enr(psn_insu_stas="4", enddate=date(2026, 1, 31), end_reason="other"), "终止"),
        (Enr(begndate=date(2027, 1, 1)), "已预约，2027-01-01 生效"),
    ],
)
def test_status_as_the_clerk_reads_it(enr, text):
    assert rules.status_text(enr, TODAY) == text


@pytest.mark.parametrize(
    ("enr", "actions"),
    [
        (Enr(), ["suspend", "terminate", "transfer_out", "retire"]),  # 职工 在职
        (Enr(psn_type="12"), ["suspend", "terminate", "transfer_out"]),  # 退休: no 退休 again
        (Enr(insutype="390", psn_type="15"), ["suspend", "terminate", "transfer_out"]),  # 居民: never 退休
        (Enr(psn_insu_stas="2", paus_insu_date=date(2026, 1, 1)), ["resume", "terminate", "transfer_out"]),
        (Enr(psn_insu_stas="4", enddate=date(2026, 1, 1)), []),
        (Enr(psn_insu_stas="3"), []),
    ],
)
def test_only_the_actions_that_apply_are_offered(enr, actions):
    assert rules.actions_for(enr, TODAY) == actions


# --- the messages --------------------------------------------------------------------------------------

ENGLISH = re.compile(r"\b(expected|got|only|from|not|date|enrollment|e\.g\.|must|invalid)\b", re.IGNORECASE)


def test_refusals_are_chinese_after_the_field_key():
    """No English fragment and no internal name after the ``field:`` key the forms use to place them."""
    messages = [
        refusal(rules.transition, "resume", "1"),
        refusal(rules.transition, "revive", "1"),
        refusal(rules.check_category_age, CHECKS, "390", "16", date(2023, 1, 1), "1", date(2025, 6, 1)),
        refusal(rules.check_date, "date", "暂停日期", date(2031, 1, 1), CHECKS, TODAY, date(1990, 1, 1)),
        refusal(v.resident_id, "11010119900307123"),
        refusal(v.resident_id, "110101199003071230"),
        refusal(v.uscc, "91110000MA01234567"),
        refusal(v.person_name, "Test123<script>"),
    ]
    for message in messages:
        reason = message.partition(": ")[2] or message
        assert not ENGLISH.search(reason), message
        assert re.search(r"[\u4e00-\u9fff]", reason), message
