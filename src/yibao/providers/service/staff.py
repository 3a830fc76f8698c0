"""医保医师备案 (practitioners registered under an institution's agreement) and 协议处理 (a measure of the
scheme's ladder recorded on an institution: 约谈, 限期整改 with its deadline …; 中止 and 解除 go through
:mod:`.status`)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound
from yibao.providers.service import registrations, status
from yibao.providers.service.common import MEASURE, record, require_scheme, text
from yibao.store import providers as store
from yibao.store.tables import Practitioner, PractitionerRegistration, ProviderMeasure

PRAC_TYPES = ("doctor", "nurse", "pharmacist", "technician")


def register_practitioner(
    s,
    fixmedins_code: str,
    *,
    prac_code: str,
    prac_name: str,
    actor: str,
    prac_type: str = "doctor",
    dept_code: str | None = None,
    qualification: str = "",
    day: date | None = None,
    now: datetime | None = None,
) -> PractitionerRegistration:
    """备案 a practitioner under the institution's agreement in force on ``day`` (refused without one, or
    when already registered under it); the practitioner is entered in the register if new."""
    now = now or datetime.now()
    day = day or now.date()
    if prac_type not in PRAC_TYPES:
        raise InputError(f"prac_type: 应为 {' / '.join(PRAC_TYPES)} 之一")
    code = text(prac_code, "prac_code", "医保医师代码", max_len=20)
    store.locked_institution(s, fixmedins_code)
    a = status.covering(s, fixmedins_code, day)
    if a.status != "active":
        raise InputError(f"fixmedins_code: 协议 {a.agreement_no} 中止期间不能备案")
    prac = s.get(Practitioner, code)
    if prac is None:
        prac = Practitioner(prac_code=code, prac_name=text(prac_name, "prac_name", "姓名", max_len=50),
                            prac_type=prac_type, fixmedins_code=fixmedins_code, dept_code=dept_code)  # fmt: skip
        s.add(prac)
    else:
        prac.fixmedins_code, prac.dept_code = fixmedins_code, dept_code or prac.dept_code
    s.flush()
    if any(
        r.prac_code == code and r.agreement_no == a.agreement_no
        for r in store.registrations_of(s, fixmedins_code)
    ):
        raise InputError(f"prac_code: {code} 已在协议 {a.agreement_no} 下备案")
    return registrations.make(s, prac_code=code, fixmedins_code=fixmedins_code, agreement_no=a.agreement_no,
                              qualification=qualification or "", day=day, actor=actor, now=now,
                              noted={"qualification": qualification or ""})  # fmt: skip


def record_measure(
    s,
    fixmedins_code: str,
    *,
    code: str,
    reason: str,
    actor: str,
    day: date | None = None,
    deadline: date | None = None,
    suspicion_id: int | None = None,
    months: int | None = None,
    red_line: str | None = None,
    now: datetime | None = None,
    regions_dir: Path | None = None,
) -> ProviderMeasure:
    """协议处理: a measure of the scheme's ladder on the institution. One with a deadline (限期整改) needs it;
    a suspension (中止协议) is made for ``months`` and a termination (解除协议) on a ``red_line``, through
    :func:`status.suspend` / :func:`status.terminate` by sanction."""
    now = now or datetime.now()
    day = day or now.date()
    inst = store.locked_institution(s, fixmedins_code)
    measure = require_scheme(inst.admdvs, regions_dir).measure(code)
    reason = text(reason, "reason", "处理原因")
    if measure.effect == "deadline" and deadline is None:
        raise InputError(f"deadline: {measure.name}须写明整改期限")
    if deadline is not None and deadline < day:
        raise InputError(f"deadline: 整改期限 {deadline} 早于处理日 {day}")
    row = ProviderMeasure(fixmedins_code=fixmedins_code, code=measure.code, step=measure.step, name=measure.name,
                          effect=measure.effect, reason=reason, decided_on=day, deadline=deadline,
                          suspicion_id=suspicion_id, status="open" if deadline else "done", decided_by=actor,
                          decided_at=now)  # fmt: skip
    s.add(row)
    s.flush()
    record(s, Action.MEASURE, MEASURE, str(row.id), actor=actor, at=now,
           after={"fixmedins_code": fixmedins_code, "code": measure.code, "name": measure.name,
                  "effect": measure.effect, "reason": reason, "deadline": deadline, "suspicion_id": suspicion_id})  # fmt: skip
    if measure.effect == "suspend":
        status.suspend(s, fixmedins_code, begndate=day, months=months, by="sanction", reason=reason,
                       red_line=red_line, actor=actor, today=now.date(), regions_dir=regions_dir)  # fmt: skip
    elif measure.effect == "terminate":
        status.terminate(s, fixmedins_code, day=day, by="sanction", reason=reason, red_line=red_line, actor=actor,
                         today=now.date(), regions_dir=regions_dir)  # fmt: skip
    return row


def end_registration(
    s, reg_id: int, *, reason: str, actor: str, day: date | None = None, now: datetime | None = None
) -> PractitionerRegistration:
    """注销备案: the practitioner no longer serves under the agreement after ``day``."""
    now = now or datetime.now()
    reg = s.get(PractitionerRegistration, reg_id, with_for_update=True, populate_existing=True)
    if reg is None:
        raise NotFound(f"id: 备案记录不存在 {reg_id}")
    registrations.end(s, reg, day=day or now.date(), reason=reason, actor=actor, now=now)
    return reg


def close_measure(
    s, measure_id: int, *, note: str, actor: str, day: date | None = None, now: datetime | None = None
) -> ProviderMeasure:
    """整改验收: a measure with a deadline (限期整改) is done; ``note`` says what was checked. Done late (after
    the deadline) is allowed and kept: the audit row has the day, the deadline shows it was late."""
    now = now or datetime.now()
    day = day or now.date()
    row = s.get(ProviderMeasure, measure_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"id: 协议处理记录不存在 {measure_id}")
    note = text(note, "note", "验收意见")
    if row.status != "open":
        raise InputError(f"id: 协议处理 {measure_id}（{row.name}）已办结")
    if day < row.decided_on:
        raise InputError(f"day: 验收日 {day} 早于处理日 {row.decided_on}")
    row.status = "done"
    record(s, Action.END, MEASURE, str(row.id), actor=actor, at=now, before={"status": "open"},
           after={"status": "done", "day": day, "note": note, "late": row.deadline is not None and day > row.deadline})  # fmt: skip
    return row
