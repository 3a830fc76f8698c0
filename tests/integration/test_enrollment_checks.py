"""Business checks (业务校验) through the enrollment services, so that REST, CLI and console get them alike:
the issue's implausible inputs refused with Chinese messages naming the field, nothing written; changes
dated ahead recorded as scheduled (预约), not in force before their date as settlement reads it, in force
from it. "Today" is 2025-06-01 throughout (the services take it, for tests)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.enrollment import rules, transfers
from yibao.enrollment import service as svc
from yibao.errors import InputError, SettlementError
from yibao.settlement import facts
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, Enrollment, Person
from yibao.synth.population import uscc
from yibao.validation import id_check_char

BUNDLE = demo_bundle()
TODAY = date(2025, 6, 1)
EAST = "990102"


def certno(born: str, serial: str) -> str:
    body = f"{EAST}{born}{serial}"
    return body + id_check_char(body)


@pytest.fixture
def people(engine) -> dict[str, str]:
    """An employer "emp", a man born 1965 (老王, 60 in 2025), a woman born 1985 (小李), a boy born 2023 (豆豆)."""
    with unit_of_work(engine) as s:
        emp = svc.register_employer(
            s, uscc=uscc(EAST, 101), emp_name="示例市科技有限公司", admdvs=EAST, actor="jb"
        )
        out = {"emp": emp.emp_no}
        for name, born, serial in (
            ("老王", "19650301", "001"),
            ("小李", "19850505", "002"),
            ("豆豆", "20230101", "003"),
        ):
            out[name] = svc.register_person(
                s, certno=certno(born, serial), psn_name=name, admdvs=EAST, actor="jb"
            ).psn_no
    return out


def enroll(engine, psn_no: str, insutype: str = "310", psn_type: str = "11", **kw):
    kw = {"begndate": date(2025, 1, 1), "registered": date(2024, 12, 1), "insuplc_admdvs": "990100", **kw}
    with unit_of_work(engine) as s:
        return svc.enroll(
            s, BUNDLE, psn_no=psn_no, insutype=insutype, psn_type=psn_type, actor="jb", today=TODAY, **kw
        )


def refused(engine, fn, *args, **kw) -> str:
    with pytest.raises(InputError) as exc, unit_of_work(engine) as s:
        fn(s, *args, **kw)
    return exc.value.message


def in_force(engine, psn_no: str, day: date):
    """The enrollment settlement finds on ``day`` (its own lookup), or why there is none."""
    with unit_of_work(engine, write=False) as s:
        try:
            e = facts.enrollment_on(s, psn_no, "310", day)
        except SettlementError as exc:
            return exc.message
        return e.id, e.psn_type


def test_the_issues_implausible_enrollments_are_refused_and_nothing_is_written(engine, people):
    def message(psn, insutype="310", psn_type="11", **kw):
        with pytest.raises(InputError) as exc:
            enroll(engine, people[psn], insutype, psn_type, **kw)
        return exc.value.message

    assert message("小李", emp_no=people["emp"], begndate=date(2030, 1, 1)) == (
        "begndate: 参保日期不能晚于 2025-08-30（最多提前 90 天办理；填写的是 2030-01-01）"
    )
    assert message("豆豆", "390", "1402", begndate=date(2022, 12, 1)) == (
        "begndate: 参保日期不能早于出生日期（2023-01-01）"
    )
    assert message("小李", "390", "1401") == (
        "psn_type: 人员类别「1401 新生儿」适用于不满 1 周岁的人员，该人员 2025-01-01 时 39 周岁"
    )
    assert message("豆豆", "390", "16") == (
        "psn_type: 人员类别「16 城乡居民（老年）」适用于60 周岁及以上的人员，该人员 2025-01-01 时 2 周岁"
    )
    assert message("豆豆", "310", "11", emp_no=people["emp"]) == (
        "psn_type: 人员类别「11 在职」适用于16 周岁及以上的人员，该人员 2025-01-01 时 2 周岁"
    )
    assert message("小李", emp_no=people["emp"], registered=date(2026, 1, 1)).startswith(
        "registered: 办理日期不能晚于 2025-08-30"
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_an_enrollment_dated_ahead_is_scheduled(engine, people):
    e = enroll(engine, people["豆豆"], "390", "1402", begndate=date(2025, 7, 1), registered=TODAY).enrollment
    assert rules.status_text(e, TODAY) == "已预约，2025-07-01 生效"
    assert rules.status_text(e, date(2025, 7, 1)) == "正常"


def test_names_and_employer_names_are_validated(engine, people):
    assert refused(
        engine,
        svc.register_person,
        certno=certno("19900101", "011"),
        psn_name="Test123<script>",
        admdvs=EAST,
        actor="jb",
    ) == ("psn_name: 姓名不能含数字")
    assert refused(
        engine, svc.register_employer, uscc=uscc(EAST, 202), emp_name="<b>某公司</b>", admdvs=EAST, actor="jb"
    ) == ("emp_name: 单位名称不能含尖括号 < >")
    with unit_of_work(engine) as s:  # a minority name with the middle dot, spaces collapsed
        p = svc.register_person(
            s, certno=certno("19900101", "011"), psn_name=" 阿依古丽·买买提 ", admdvs=EAST, actor="jb"
        )
        assert p.psn_name == "阿依古丽·买买提"


def test_a_scheduled_suspension_is_not_in_force_before_its_date(engine, people):
    lao = people["老王"]
    eid = enroll(engine, lao, emp_no=people["emp"]).enrollment.id
    with unit_of_work(engine) as s:
        e = svc.change_status(s, eid, "suspend", date(2025, 7, 1), actor="jb", reason="停薪留职", today=TODAY)
        assert rules.status_text(e, TODAY) == "正常（暂停已预约，2025-07-01 生效）"
    assert in_force(engine, lao, date(2025, 6, 30)) == (eid, "11")  # eligibility before: unchanged
    assert in_force(engine, lao, date(2025, 7, 1)) == "psn_insu_stas: 参保状态为 2 暂停，不能享受待遇"
    # resuming a suspension not yet in force cancels it: no break, no waiting period
    with unit_of_work(engine) as s:
        e = svc.change_status(s, eid, "resume", TODAY, actor="jb", today=TODAY)
        assert (e.psn_insu_stas, e.paus_insu_date, e.wait_until) == ("1", None, None)
    assert in_force(engine, lao, date(2025, 7, 1)) == (eid, "11")
    with unit_of_work(engine, write=False) as s:
        trail = s.scalars(
            select(AuditLog.after).where(AuditLog.entity_id == str(eid), AuditLog.action == "resume")
        ).one()
    assert trail["cancelled_suspension"] == "2025-07-01"


def test_changes_beyond_the_lead_time_or_that_cannot_be_scheduled_are_refused(engine, people):
    lao, xiao = people["老王"], people["小李"]
    eid = enroll(engine, lao, emp_no=people["emp"]).enrollment.id
    assert refused(engine, svc.change_status, eid, "suspend", date(2031, 1, 1), actor="jb", today=TODAY) == (
        "date: 暂停日期不能晚于 2025-08-30（最多提前 90 天办理；填写的是 2031-01-01）"
    )
    assert refused(
        engine, svc.change_status, eid, "terminate", date(2025, 7, 1), actor="jb", reason="death", today=TODAY
    ) == ("date: 死亡日期不能晚于今天（2025-06-01）")
    with unit_of_work(engine) as s:
        svc.change_status(s, eid, "suspend", date(2025, 3, 1), actor="jb", today=TODAY)
    assert refused(engine, svc.change_status, eid, "resume", date(2025, 7, 1), actor="jb", today=TODAY) == (
        "date: 恢复日期不能晚于今天（2025-06-01）；恢复不能预约"
    )
    # the retirement of a woman of 40 is refused; of a man of 60 it is not
    xid = enroll(engine, xiao, emp_no=people["emp"]).enrollment.id
    assert refused(
        engine, svc.change_category, BUNDLE, xid, "12", date(2025, 5, 1), actor="jb", today=TODAY
    ) == ("psn_type: 人员类别「12 退休」适用于45 周岁及以上的人员，该人员 2025-05-01 时 39 周岁")
    # a transfer out with money on the account leaves today, not ahead
    with unit_of_work(engine) as s:
        from yibao.enrollment.accounts import credit_account
        from yibao.funds import ledger

        credit_account(
            s, xiao, 10_000, ledger.TRANSFER_CLEARING, when=datetime(2025, 5, 1), memo="期初", actor="jb"
        )
    assert refused(
        engine, transfers.transfer_out, xid, date(2025, 7, 1), "330100", actor="jb", today=TODAY
    ) == ("date: 转出日期不能晚于今天（2025-06-01）：个人账户余额 100.00 元于办理时转出")


def test_a_scheduled_retirement_takes_effect_on_its_date(engine, people):
    lao = people["老王"]
    eid = enroll(engine, lao, emp_no=people["emp"], contrib_months=360).enrollment.id
    with unit_of_work(engine) as s:
        done = svc.change_category(s, BUNDLE, eid, "12", date(2025, 8, 1), actor="jb", today=TODAY)
        new = done.enrollment.id
        assert (done.enrollment.psn_type, done.enrollment.emp_no, done.enrollment.begndate) == (
            "12",
            None,
            date(2025, 8, 1),
        )
        assert done.warnings == []  # 30 years: enough
        old = s.get(Enrollment, eid)
        assert (old.psn_type, old.enddate, old.end_reason) == ("11", date(2025, 7, 31), "retired")
        assert rules.status_text(old, TODAY) == "正常（退休已预约，2025-08-01 生效）"
        assert s.get(Person, lao).death_date is None
    assert in_force(engine, lao, date(2025, 7, 31)) == (eid, "11")  # still 在职 the day before
    assert in_force(engine, lao, date(2025, 8, 1)) == (new, "12")  # 退休 from the date
    with unit_of_work(engine, write=False) as s:
        actions = s.execute(
            select(AuditLog.action, AuditLog.entity_id)
            .where(AuditLog.entity == "enrollment")
            .order_by(AuditLog.seq)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("enroll", str(eid)),
        ("change_category", str(eid)),
        ("enroll", str(new)),
    ]


def test_lists_count_a_scheduled_suspension_as_in_force_until_its_date(engine, people):
    """The SQL the console's counts use (``in_force_on``) agrees with ``rules.status_on`` on each side of the
    date of a scheduled suspension and of a termination."""
    from yibao.store.enrollment_reads import in_force_on

    lao, xiao = people["老王"], people["小李"]
    a = enroll(engine, lao, emp_no=people["emp"]).enrollment.id
    b = enroll(engine, xiao, emp_no=people["emp"]).enrollment.id
    with unit_of_work(engine) as s:
        svc.change_status(s, a, "suspend", date(2025, 7, 1), actor="jb", reason="停薪留职", today=TODAY)
        svc.change_status(s, b, "terminate", date(2025, 6, 1), actor="jb", reason="other", today=TODAY)
    for day in (date(2025, 5, 31), TODAY, date(2025, 6, 2), date(2025, 6, 30), date(2025, 7, 1)):
        with unit_of_work(engine, write=False) as s:
            in_sql = set(s.scalars(select(Enrollment.id).where(in_force_on(day))))
            by_rule = {e.id for e in s.scalars(select(Enrollment)) if rules.status_on(e, day) == "1"}
            by_rule &= {
                e.id
                for e in s.scalars(select(Enrollment))
                if e.begndate <= day and (e.enddate is None or e.enddate >= day)
            }
        assert in_sql == by_rule, day
    with unit_of_work(engine, write=False) as s:
        assert set(s.scalars(select(Enrollment.id).where(in_force_on(date(2025, 6, 30))))) == {a}
