"""Ending a 医保医师备案 (by staff, and with the agreement on 解除), closing a 限期整改 measure, and the
退出清算 statement of an institution that left (issue 24: exit)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import world
from tests.providers.helpers import DAY, STAFF, build
from yibao.errors import InputError, NotFound
from yibao.providers.service import exits, staff, status
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog

H2 = world.HOSP2


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def _register(s, prac_code: str, day: date = DAY):
    return staff.register_practitioner(s, H2, prac_code=prac_code, prac_name="李医生", actor=STAFF, day=day)


def test_a_registration_is_ended_once_and_not_before_it_began(db):
    with unit_of_work(db) as s:
        reg = _register(s, "D990100000011")
        reg_id = reg.id
        with pytest.raises(InputError, match=f"day: 注销日 2025-01-01 早于备案日 {DAY}"):
            staff.end_registration(s, reg.id, reason="调离", actor=STAFF, day=date(2025, 1, 1))
        with pytest.raises(InputError, match=r"^reason: 请填写注销原因$"):
            staff.end_registration(s, reg.id, reason=" ", actor=STAFF, day=DAY)
        staff.end_registration(s, reg.id, reason="调离", actor=STAFF, day=date(2025, 6, 30))
        assert (reg.status, reg.ended_on) == ("ended", date(2025, 6, 30))
        with pytest.raises(InputError, match=f"id: 备案 {reg.id} 已于 2025-06-30 注销"):
            staff.end_registration(s, reg.id, reason="调离", actor=STAFF, day=date(2025, 7, 1))
        with pytest.raises(NotFound, match="id: 备案记录不存在 999999"):
            staff.end_registration(s, 999999, reason="调离", actor=STAFF)
    assert _audited(db, "practitioner_registration", reg_id) == {"status": "ended", "ended_on": "2025-06-30",
                                                                 "reason": "调离"}  # fmt: skip


def test_termination_ends_the_registrations_under_the_agreement(db):
    with unit_of_work(db) as s:
        with pytest.raises(
            InputError, match=f"^fixmedins_code: 定点医药机构 {H2} 协议在执行中，没有退出日期$"
        ):
            exits.statement(s, H2)
        early = _register(s, "D990100000012")
        late = _register(s, "D990100000013", day=date(2025, 5, 20))
        status.terminate(s, H2, day=date(2025, 5, 1), by="staff", reason="机构歇业", actor=STAFF, today=DAY)
        # its last covered day, or the day it began if it began later (registered ahead of an exit)
        assert (early.status, early.ended_on) == ("ended", date(2025, 4, 30))
        assert (late.status, late.ended_on) == ("ended", date(2025, 5, 20))
        assert all(r.status == "ended" for r in store.registrations_of(s, H2))
        st = exits.statement(s, H2)
        assert (st["exit_date"], st["ended_by"], st["reason"]) == (date(2025, 5, 1), "staff", "机构歇业")
        assert (st["registrations_standing"], st["unfinished_visits"], st["balances"]) == (0, [], [])
        assert st["settled"] and st["owed_total"] == "0.00"


def test_a_deadline_measure_is_closed_once_and_late_is_recorded(db):
    with unit_of_work(db) as s:
        m = staff.record_measure(s, H2, code="M2", reason="病历书写不规范", deadline=date(2025, 4, 30), actor=STAFF,
                                 day=DAY)  # fmt: skip
        with pytest.raises(InputError, match="day: 验收日 2025-01-01 早于处理日"):
            staff.close_measure(s, m.id, note="已整改", actor=STAFF, day=date(2025, 1, 1))
        staff.close_measure(s, m.id, note="复查病历 30 份，已规范", actor=STAFF, day=date(2025, 5, 10))
        assert m.status == "done"
        m_id = m.id
        with pytest.raises(InputError, match=f"id: 协议处理 {m.id}（限期整改）已办结"):
            staff.close_measure(s, m.id, note="again", actor=STAFF)
        with pytest.raises(NotFound, match="id: 协议处理记录不存在 999999"):
            staff.close_measure(s, 999999, note="x", actor=STAFF)
    assert _audited(db, "provider_measure", m_id)["late"] is True


def _audited(engine, entity: str, entity_id: int) -> dict:
    """The ``after`` of the one 'end' audit row of the entity."""
    with unit_of_work(engine, write=False) as s:
        stmt = select(AuditLog.after).where(
            AuditLog.entity == entity, AuditLog.entity_id == str(entity_id), AuditLog.action == "end"
        )
        return s.scalars(stmt).one()


def test_a_reload_of_the_register_does_not_bring_a_terminated_institution_back(db):
    from yibao.providers.service.loading import designate_register
    from yibao.store.tables import Institution

    with unit_of_work(db) as s:
        status.terminate(s, H2, day=date(2025, 5, 1), by="staff", reason="机构歇业", actor=STAFF, today=DAY)
    with unit_of_work(db) as s:  # the region's institutions.csv imported again: the row says active, no end
        inst = s.get(Institution, H2)
        inst.status, inst.enddate = "active", None
        assert designate_register(s, actor=STAFF, codes={H2}, today=date(2025, 6, 1)) == 0
        assert inst.status == "exited"
        assert exits.statement(s, H2)["exit_date"] == date(2025, 5, 1)


def test_at_expiry_registrations_follow_a_renewal_and_otherwise_end(db):
    from tests.providers.helpers import at, passed_application
    from yibao.providers.service import agreements

    appl_no = passed_application(db)
    with unit_of_work(db) as s:
        first = agreements.sign(s, appl_no, actor=STAFF, now=at(DAY))  # 2025-03-03 … 2026-03-02
        code = first.fixmedins_code
        staff.register_practitioner(s, code, prac_code="D990100000021", prac_name="周医生", actor=STAFF,
                                    day=date(2025, 4, 1))  # fmt: skip
        second = agreements.renew(s, code, actor=STAFF, now=at(date(2026, 1, 5)))  # 2026-03-03 … 2027-03-02
    with unit_of_work(db) as s:
        status.expire(s, on=date(2026, 3, 3), actor="job")
        regs = [
            (r.agreement_no, r.registered_on, r.ended_on, r.status) for r in store.registrations_of(s, code)
        ]
        assert regs == [
            (first.agreement_no, date(2025, 4, 1), date(2026, 3, 2), "ended"),
            (second.agreement_no, date(2026, 3, 3), None, "registered"),
        ]
    with unit_of_work(db) as s:  # not renewed again: the registration ends with the agreement
        status.expire(s, on=date(2027, 3, 3), actor="job")
        last = store.registrations_of(s, code)[-1]
        assert (last.ended_on, last.status) == (date(2027, 3, 2), "ended")
