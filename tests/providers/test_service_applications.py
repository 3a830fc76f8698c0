"""Applications through the service with a real database: 受理 or 不予受理 naming what is missing, 补充材料
stopping the clock, withdrawal, the changes of basic information (reviewed or not), the progress query."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import world
from tests.providers.helpers import (
    ADMDVS,
    DAY,
    STAFF,
    accepted_application,
    at,
    audit_actions,
    build,
    hospital_org,
)
from yibao.errors import InputError
from yibao.providers.service import applications
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def test_applying_before_three_months_of_operation_is_refused_naming_the_day(db):
    with unit_of_work(db) as s:
        app = applications.submit(
            s, kind="apply", admdvs=ADMDVS, org=hospital_org(opened_on=DAY - timedelta(days=45)),
            services=["S01"], actor="counter", now=at(DAY),
        )  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        assert app.status == "refused"
        assert len(app.problems) == 1 and app.problems[0].startswith(
            "opened_on: 自 2025-01-17 起正式运营 1 个月，须满 3 个月"
        )
        appl_no = app.appl_no
    assert audit_actions(db, appl_no) == ["apply", "reject"]


def test_a_refusal_names_every_missing_material_and_field(db):
    org = hospital_org(info_ready=False, materials=["执业许可证"])
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="apply", admdvs=ADMDVS, org=org, services=["S01", "S17"],
                                  actor="counter", now=at(DAY))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        fields = [p.split(":")[0] for p in app.problems]
    assert app.status == "refused"
    assert fields == ["info_ready", "services", "materials"]
    assert "统一社会信用代码证书" in app.problems[2]


def test_supplementing_stops_the_clock_and_the_progress_says_so(db):
    appl_no = accepted_application(db)
    asked_on, back_on = DAY + timedelta(days=10), DAY + timedelta(days=30)
    with unit_of_work(db) as s:
        applications.request_supplement(
            s, appl_no, asked=["staff: 缺少护士执业证书"], actor=STAFF, now=at(asked_on)
        )
        p = applications.progress(s, appl_no, today=asked_on)
        assert (p["status"], p["deadline"], p["problems"]) == (
            "supplementing",
            None,
            ["staff: 缺少护士执业证书"],
        )
        with pytest.raises(InputError, match="状态为 补充材料中 时不能 通知补充材料"):
            applications.request_supplement(s, appl_no, asked=["x"], actor=STAFF, now=at(asked_on))
        applications.supplement(
            s, appl_no, org={"staff": ["李医生", "张护士"]}, actor="counter", now=at(back_on)
        )
        p = applications.progress(s, appl_no, today=back_on)
    # accepted 2025-03-03 + 3 months = 2025-06-03, plus the 20 days the clock stood still
    assert (p["status"], p["deadline"], p["pauses"]) == ("accepted", date(2025, 6, 23), [(asked_on, back_on)])
    assert audit_actions(db, appl_no) == ["apply", "accept", "ask_supplement", "supplement"]


def test_a_withdrawn_application_is_closed(db):
    appl_no = accepted_application(db)
    with unit_of_work(db) as s:
        applications.withdraw(s, appl_no, actor="counter", now=at(DAY))
        with pytest.raises(InputError, match="状态为 已撤回 时不能 受理"):
            applications.accept(s, appl_no, actor=STAFF, now=at(DAY))


def test_a_change_of_contact_takes_effect_at_once(db):
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="change", fixmedins_code=world.HOSP2,
                                  details={"changes": {"fixmedins_name": "示例市第二人民医院（东院）"}},
                                  actor="counter", now=at(DAY))  # fmt: skip
        assert app.status == "signed"
    with unit_of_work(db, write=False) as s:
        assert s.get(Institution, world.HOSP2).fixmedins_name == "示例市第二人民医院（东院）"
    assert audit_actions(db, world.HOSP2)[-1] == "change"


def test_a_change_of_level_waits_for_approval_then_sets_the_levels(db):
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="change", fixmedins_code=world.HOSP2,
                                  details={"changes": {"hosp_lv": "5", "dedc_hosp_lv": 3}},
                                  actor="counter", now=at(DAY))  # fmt: skip
        assert app.status == "submitted"
        assert s.get(Institution, world.HOSP2).dedc_hosp_lv == 2
        with pytest.raises(InputError, match="已有办理中的同类申请"):
            applications.submit(s, kind="change", fixmedins_code=world.HOSP2, details={"changes": {"address": "x"}},
                                actor="counter", now=at(DAY))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        applications.approve(s, app.appl_no, actor=STAFF, now=at(DAY))
        inst = s.get(Institution, world.HOSP2)
        assert (app.status, inst.hosp_lv, inst.dedc_hosp_lv) == ("signed", "5", 3)
        appl_no = app.appl_no
    assert audit_actions(db, appl_no) == ["apply", "accept", "approve", "sign"]


def test_an_unknown_change_is_refused(db):
    with unit_of_work(db) as s, pytest.raises(InputError, match=r"changes\.fixmedins_code: 不能变更此项"):
        applications.submit(s, kind="change", fixmedins_code=world.HOSP2, details={"changes": {"fixmedins_code": "X"}},
                            actor="counter", now=at(DAY))  # fmt: skip


def test_a_rejected_change_leaves_the_register(db):
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="change", fixmedins_code=world.HOSP2,
                                  details={"changes": {"legal_rep": "新法人"}}, actor="counter", now=at(DAY))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        applications.reject(s, app.appl_no, reason="法定代表人身份证明与登记不符", actor=STAFF, now=at(DAY))
        assert (app.status, app.problems) == ("failed", ["法定代表人身份证明与登记不符"])


def test_an_attached_material_counts_as_filed(db):
    org = hospital_org(materials=[m for m in hospital_org()["materials"] if m != "床位及设备清单"])
    with unit_of_work(db) as s:
        app = applications.submit(
            s, kind="apply", admdvs=ADMDVS, org=org, services=["S01"], actor="counter", now=at(DAY)
        )
        applications.add_attachment(s, app.appl_no, material="床位及设备清单", filename="床位.pdf",
                                    content_type="application/pdf", data=b"%PDF-1.4 ...", actor="counter", now=at(DAY))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        assert (app.status, app.problems) == ("accepted", [])
        assert applications.progress(s, app.appl_no, today=DAY)["deadline"] == date(2025, 6, 3)
