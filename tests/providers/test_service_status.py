"""Suspension, resumption and termination through the service, and what settlement then reads; the
registration of 医保医师 and the measures ladder."""

from __future__ import annotations

from datetime import date

import pytest

from tests import world
from tests.providers.helpers import (
    DAY,
    PUBLIC_USCC,
    STAFF,
    accepted_application,
    at,
    audit_actions,
    build,
    hospital_org,
)
from tests.providers.test_service_agreements import intervals
from yibao.errors import InputError
from yibao.providers.designation import refusal
from yibao.providers.service import applications, staff, status
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution

H2 = world.HOSP2


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def test_a_sanction_suspends_for_two_months_then_the_agreement_resumes_by_itself(db):
    with unit_of_work(db) as s:
        status.suspend(s, H2, begndate=date(2025, 3, 1), months=2, by="sanction", reason="串换药品",
                       actor=STAFF, today=DAY)  # fmt: skip
        assert s.get(Institution, H2).status == "suspended"
        days = intervals(s, H2)
        assert [(i.begndate, i.enddate, i.status) for i in days] == [
            (date(2020, 1, 1), date(2025, 2, 28), "active"),
            (date(2025, 3, 1), date(2025, 4, 30), "suspended"),
            (date(2025, 5, 1), None, "active"),
        ]
        assert refusal(days, H2, date(2025, 3, 2), "11") == (
            f"fixmedins_code: 定点医药机构 {H2} 在 2025-03-02 医保协议中止 (2025-03-01 至 2025-04-30，原因 串换药品)"
        )
        assert refusal(days, H2, date(2025, 5, 1), "11") is None
    assert audit_actions(db, store_agreement_no(db, H2))[-1] == "suspend"


def store_agreement_no(db, code):
    with unit_of_work(db, write=False) as s:
        return store.agreements_of(s, code)[0].agreement_no


def test_a_sanction_is_one_of_the_schemes_lengths(db):
    with (
        unit_of_work(db) as s,
        pytest.raises(InputError, match="months: 违约中止期限应为 1、2、4、6 个月之一"),
    ):
        status.suspend(s, H2, begndate=DAY, months=3, by="sanction", reason="x", actor=STAFF, today=DAY)


def test_a_voluntary_suspension_is_at_most_180_days_and_not_for_a_public_hospital(db):
    with unit_of_work(db) as s, pytest.raises(InputError, match="主动中止 181 天，最长 180 天"):
        status.suspend(s, H2, begndate=date(2025, 4, 1), enddate=date(2025, 9, 28), by="application",
                       reason="装修", actor=STAFF, today=DAY)  # fmt: skip
    with unit_of_work(db) as s:
        s.get(Institution, H2).uscc = PUBLIC_USCC
    with unit_of_work(db) as s, pytest.raises(InputError, match="公立医疗机构不得主动申请中止医保协议"):
        status.suspend(s, H2, begndate=date(2025, 4, 1), enddate=date(2025, 4, 30), by="application",
                       reason="装修", actor=STAFF, today=DAY)  # fmt: skip


def test_a_suspension_asked_for_through_an_application(db):
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="suspend", fixmedins_code=H2, actor="counter", now=at(DAY),
                                  details={"suspend_begndate": "2025-04-01", "suspend_enddate": "2025-04-30",
                                           "reason": "院区改造"})  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
        applications.approve(s, app.appl_no, actor=STAFF, now=at(DAY))
        assert app.status == "signed"
        assert refusal(intervals(s, H2), H2, date(2025, 4, 15), "11").endswith("原因 院区改造)")
        assert s.get(Institution, H2).status == "active"  # (not yet begun on the day it was granted)


def test_resuming_early_ends_the_suspension_the_day_before(db):
    with unit_of_work(db) as s:
        status.suspend(
            s, H2, begndate=date(2025, 3, 1), months=4, by="sanction", reason="x", actor=STAFF, today=DAY
        )
        status.resume(s, H2, day=date(2025, 3, 20), reason="整改到位", actor=STAFF, today=date(2025, 3, 20))
        days = intervals(s, H2)
        assert refusal(days, H2, date(2025, 3, 19), "11") is not None
        assert refusal(days, H2, date(2025, 3, 20), "11") is None
        assert s.get(Institution, H2).status == "active"
        with pytest.raises(InputError, match="没有中止，无需恢复"):
            status.resume(s, H2, day=date(2025, 3, 21), reason="x", actor=STAFF, today=date(2025, 3, 21))


def test_overlapping_suspensions_are_refused(db):
    with unit_of_work(db) as s:
        status.suspend(
            s, H2, begndate=date(2025, 3, 1), months=1, by="sanction", reason="x", actor=STAFF, today=DAY
        )
        with pytest.raises(InputError, match="与已有的中止（2025-03-01 至 2025-03-31）重叠"):
            status.suspend(s, H2, begndate=date(2025, 3, 31), months=1, by="sanction", reason="y", actor=STAFF,
                           today=DAY)  # fmt: skip


def test_termination_by_sanction_bars_a_new_application_for_three_years(db):
    with unit_of_work(db) as s:
        s.get(Institution, H2).uscc = hospital_org()["uscc"]
        with pytest.raises(InputError, match="违约解除须写明解除情形"):
            status.terminate(s, H2, day=DAY, by="sanction", reason="虚构医药服务", actor=STAFF, today=DAY)
        status.terminate(
            s, H2, day=DAY, by="sanction", red_line="R02", reason="虚构医药服务", actor=STAFF, today=DAY
        )
        inst = s.get(Institution, H2)
        assert (inst.status, inst.enddate) == ("exited", date(2025, 3, 2))
        assert refusal(intervals(s, H2), H2, date(2025, 3, 2), "11") is None
        assert "没有有效的医保服务协议" in refusal(intervals(s, H2), H2, DAY, "11")
    with unit_of_work(db) as s:
        app = applications.submit(s, kind="apply", admdvs="990100", org=hospital_org(), services=["S01"],
                                  actor="counter", now=at(date(2026, 1, 5)))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(date(2026, 1, 5)))
        assert app.status == "refused"
        assert app.problems[-1].startswith(
            "terminated_on: 2025-03-03 被解除医保协议，3 年内不予受理，2028-03-03 起"
        )
    assert audit_actions(db, H2)[-1] == "terminate"


def test_termination_by_application_needs_notice_and_a_private_institution(db):
    with unit_of_work(db) as s, pytest.raises(InputError, match="须提前 3 个月申请解除，最早 2025-06-03"):
        status.terminate(s, H2, day=date(2025, 5, 1), by="application", reason="停业", actor=STAFF, today=DAY)
    with unit_of_work(db) as s:
        status.terminate(s, H2, day=date(2025, 6, 3), by="application", reason="停业", actor=STAFF, today=DAY)
        assert s.get(Institution, H2).status == "active"  # serving until the exit day
        assert refusal(intervals(s, H2), H2, date(2025, 6, 2), "11") is None
        assert "协议至 2025-06-02 止" in refusal(intervals(s, H2), H2, date(2025, 6, 3), "11")


def test_a_practitioner_is_registered_once_under_the_agreement(db):
    with unit_of_work(db) as s:
        reg = staff.register_practitioner(s, H2, prac_code="D990100000001", prac_name="李医生",
                                          qualification="执业医师", actor=STAFF, day=DAY)  # fmt: skip
        assert reg.agreement_no == store.agreements_of(s, H2)[0].agreement_no
        with pytest.raises(InputError, match=r"已在协议 \S+ 下备案"):
            staff.register_practitioner(
                s, H2, prac_code="D990100000001", prac_name="李医生", actor=STAFF, day=DAY
            )
    with unit_of_work(db) as s, pytest.raises(InputError, match="中止期间不能备案"):
        staff.register_practitioner(s, "H99010300009", prac_code="D990100000002", prac_name="王医生", actor=STAFF,
                                    day=DAY)  # fmt: skip


def test_measures_of_the_ladder(db):
    with unit_of_work(db) as s:
        with pytest.raises(InputError, match="限期整改须写明整改期限"):
            staff.record_measure(s, H2, code="M2", reason="病历书写不规范", actor=STAFF, day=DAY)
        m = staff.record_measure(s, H2, code="M2", reason="病历书写不规范", deadline=date(2025, 4, 30), actor=STAFF,
                                 day=DAY)  # fmt: skip
        assert (m.name, m.status) == ("限期整改", "open")
        staff.record_measure(s, H2, code="M7", reason="拒不整改", months=1, actor=STAFF, day=date(2025, 5, 6),
                             now=at(DAY))  # fmt: skip
        assert refusal(intervals(s, H2), H2, date(2025, 5, 10), "11").endswith("原因 拒不整改)")
        assert [x.code for x in store.measures_of(s, H2)] == ["M2", "M7"]


def test_the_suspended_institution_of_the_world_is_suspended_from_its_start(db):
    with unit_of_work(db) as s:
        days = intervals(s, "H99010300009")
        assert [(i.begndate, i.enddate, i.status) for i in days] == [(date(2020, 1, 1), None, "suspended")]
        assert s.get(Institution, "H99010300009").status == "suspended"
        _ = accepted_application  # (helpers shared with the application tests)
