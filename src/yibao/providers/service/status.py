"""An agreement's life after signing (履约与退出): 中止 (by the institution's application, with the scheme's
limits, or by sanction for one of its lengths), 恢复, 解除 (by application with notice, or by sanction on a
red line: re-application barred for the scheme's years) and 到期 (past the term's last day). Each takes the
institution's lock, checks the agreement's state table, writes its status event and audit row, and rebuilds
the designation settlement reads (:mod:`.designations`)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.service import registrations
from yibao.providers.service.common import (
    AGREEMENT,
    INSTITUTION,
    ONE_DAY,
    is_public,
    record,
    require_scheme,
    term_end,
    text,
)
from yibao.providers.service.designations import ENDED, coverage, rebuild
from yibao.providers.states import AGREEMENT_TRANSITIONS, AgreementAction, AgreementStatus, transition
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderAgreement, ProviderStatusEvent

BY = ("application", "sanction", "staff")  # 申请 | 违约处理 | 经办机构依职权


def _by(by: str) -> str:
    if by not in BY:
        raise InputError(f"by: 应为 {' / '.join(BY)} 之一 (application, sanction or staff)")
    return by


def covering(s, code: str, day: date) -> ProviderAgreement:
    """The institution's main agreement (not ended) covering ``day``, or why there is none."""
    for a in store.agreements_of(s, code, "main"):
        begin, last = coverage(a)
        if a.status not in ENDED and begin <= day and (last is None or day <= last):
            return a
    raise InputError(f"fixmedins_code: 定点医药机构 {code} 在 {day} 没有有效的医保服务协议")


def _event(s, inst: Institution, a: ProviderAgreement | None, to: str, measure: str, reason: str, *,
           begndate: date, enddate: date | None, actor: str, red_line: str | None = None) -> ProviderStatusEvent:  # fmt: skip
    ev = ProviderStatusEvent(
        fixmedins_code=inst.fixmedins_code,
        agreement_no=a.agreement_no if a else None,
        from_status=a.status if a else None,
        to_status=to,
        measure=measure,
        reason=reason,
        red_line=red_line,
        begndate=begndate,
        enddate=enddate,
        actor=actor,
        at=datetime.now(),
    )
    s.add(ev)
    s.flush()
    return ev


def suspend(
    s,
    fixmedins_code: str,
    *,
    begndate: date,
    by: str,
    reason: str,
    actor: str,
    months: int | None = None,
    enddate: date | None = None,
    red_line: str | None = None,
    today: date | None = None,
    regions_dir: Path | None = None,
) -> ProviderStatusEvent:
    """中止: from ``begndate`` for ``months`` (a sanction: one of the scheme's lengths, 1/2/4/6) or to
    ``enddate`` (an application: at most the scheme's voluntary days; a public institution may not ask).
    Staff may suspend to an ``enddate`` or until resumed (neither given)."""
    today = today or date.today()
    inst = store.locked_institution(s, fixmedins_code)
    scheme = require_scheme(inst.admdvs, regions_dir)
    rules = scheme.application
    reason = text(reason, "reason", "中止原因")
    if _by(by) == "sanction":
        if months not in rules.suspension_months:
            lengths = "、".join(str(m) for m in rules.suspension_months)
            raise InputError(f"months: 违约中止期限应为 {lengths} 个月之一")
        enddate = term_end(begndate, months)
        if red_line:
            scheme.red_line(red_line)
    elif months is not None:
        enddate = term_end(begndate, months)
    if by == "application":
        if rules.public_may_not_exit and is_public(inst.uscc):
            raise InputError("public: 公立医疗机构不得主动申请中止医保协议")
        if enddate is None:
            raise InputError("enddate: 申请中止须写明中止止日")
        days = (enddate - begndate).days + 1
        if days > rules.voluntary_suspension_max_days:
            raise InputError(f"enddate: 主动中止 {days} 天，最长 {rules.voluntary_suspension_max_days} 天")
    if enddate is not None and enddate < begndate:
        raise InputError(f"enddate: 中止止日 {enddate} 早于起始日 {begndate}")
    a = covering(s, fixmedins_code, begndate)
    _no_overlap(s, fixmedins_code, begndate, enddate)
    # one standing today suspends the agreement; one to come, or backdated and over, is recorded as dated
    if begndate <= today and (enddate is None or today <= enddate):
        transition(AGREEMENT_TRANSITIONS, a.status, AgreementAction.SUSPEND)
    before = {"status": inst.status, "agreement_status": a.status}
    ev = _event(s, inst, a, AgreementStatus.SUSPENDED, by, reason, begndate=begndate, enddate=enddate,
                actor=actor, red_line=red_line)  # fmt: skip
    rebuild(s, inst, today=today, regions_dir=regions_dir)
    record(s, Action.SUSPEND, AGREEMENT, a.agreement_no, actor=actor, before=before,
           after={"status": inst.status, "agreement_status": a.status, "by": by, "begndate": begndate,
                  "enddate": enddate, "reason": reason, "red_line": red_line, "event": ev.id})  # fmt: skip
    return ev


def _no_overlap(s, code: str, begndate: date, enddate: date | None) -> None:
    for ev in store.suspensions_of(s, code):
        if ev.enddate is not None and ev.enddate < ev.begndate:
            continue  # (cancelled before it began)
        if ev.begndate <= (enddate or date.max) and begndate <= (ev.enddate or date.max):
            until = ev.enddate or "恢复之日"
            raise InputError(f"begndate: 与已有的中止（{ev.begndate} 至 {until}）重叠")


def resume(
    s,
    fixmedins_code: str,
    *,
    day: date,
    reason: str,
    actor: str,
    today: date | None = None,
    regions_dir: Path | None = None,
) -> ProviderStatusEvent:
    """恢复 from ``day``: the suspension covering it (or the next one, not yet begun: cancelled) ends the day
    before."""
    today = today or date.today()
    inst = store.locked_institution(s, fixmedins_code)
    reason = text(reason, "reason", "恢复原因")
    standing = [
        ev
        for ev in store.suspensions_of(s, fixmedins_code)
        if (ev.enddate is None or ev.enddate >= ev.begndate) and (ev.enddate is None or ev.enddate >= day)
    ]
    if not standing:
        raise InputError(f"fixmedins_code: 定点医药机构 {fixmedins_code} 在 {day} 及以后没有中止，无需恢复")
    ev = standing[0]
    a = store.agreement(s, ev.agreement_no) if ev.agreement_no else covering(s, fixmedins_code, day)
    # a suspension standing today resumes; one over or to come has its dates corrected
    if ev.begndate <= today and (ev.enddate is None or today <= ev.enddate):
        transition(AGREEMENT_TRANSITIONS, a.status, AgreementAction.RESUME)
    before = {"status": inst.status, "suspension": [ev.begndate, ev.enddate]}
    ev.enddate = max(day, ev.begndate) - ONE_DAY
    back = _event(
        s, inst, a, AgreementStatus.ACTIVE, "staff", reason, begndate=day, enddate=None, actor=actor
    )
    rebuild(s, inst, today=today, regions_dir=regions_dir)
    record(s, Action.RESUME, AGREEMENT, a.agreement_no, actor=actor, before=before,
           after={"status": inst.status, "suspension": [ev.begndate, ev.enddate], "day": day,
                  "reason": reason})  # fmt: skip
    return back


def terminate(
    s,
    fixmedins_code: str,
    *,
    day: date,
    by: str,
    reason: str,
    actor: str,
    red_line: str | None = None,
    today: date | None = None,
    regions_dir: Path | None = None,
) -> ProviderStatusEvent:
    """解除 from ``day`` (the first day not covered): by application (not a public institution; the scheme's
    notice before ``day``), by sanction (on a red line of the scheme: re-application is barred for its
    years) or by staff. Every agreement still to run ends; the institution leaves the list on ``day``."""
    today = today or date.today()
    inst = store.locked_institution(s, fixmedins_code)
    scheme = require_scheme(inst.admdvs, regions_dir)
    rules = scheme.application
    reason = text(reason, "reason", "解除原因")
    if _by(by) == "sanction":
        if not red_line:
            raise InputError("red_line: 违约解除须写明解除情形（红线编号）")
        reason = f"{reason}（{scheme.red_line(red_line).name}）"
    if by == "application":
        if rules.public_may_not_exit and is_public(inst.uscc):
            raise InputError("public: 公立医疗机构不得主动申请解除医保协议")
        earliest = term_end(today, rules.notice_months) + ONE_DAY
        if day < earliest:
            raise InputError(f"day: 须提前 {rules.notice_months} 个月申请解除，最早 {earliest}")
    a = covering(s, fixmedins_code, day)
    transition(AGREEMENT_TRANSITIONS, a.status, AgreementAction.TERMINATE)
    before = {"status": inst.status, "agreement_status": a.status, "enddate": inst.enddate}
    ended = []
    for other in store.agreements_of(s, fixmedins_code):
        _, last = coverage(other)
        if other.status in ENDED or (last is not None and last < day):
            continue
        other.status, other.ended_on, other.end_reason = AgreementStatus.TERMINATED, day, reason[:200]
        ended.append(other.agreement_no)
    inst.enddate = day - ONE_DAY
    # the practitioners registered under the agreements leave with them (医保医师备案 ends on the last day)
    ended_registrations = registrations.end_under(
        s, ended, first_day_out=day, reason=f"协议解除：{reason}"[:200], actor=actor, now=datetime.now()
    )
    ev = _event(s, inst, a, AgreementStatus.TERMINATED, by, reason, begndate=day, enddate=None, actor=actor,
                red_line=red_line)  # fmt: skip
    rebuild(s, inst, today=today, regions_dir=regions_dir)
    record(s, Action.TERMINATE, INSTITUTION, fixmedins_code, actor=actor, before=before,
           after={"status": inst.status, "day": day, "by": by, "reason": reason, "red_line": red_line,
                  "agreements": ended, "enddate": inst.enddate,
                  "registrations_ended": ended_registrations})  # fmt: skip
    return ev


def expire(s, *, on: date, actor: str, regions_dir: Path | None = None) -> list[str]:
    """到期: every agreement whose term ended before ``on`` and still stands is expired; each institution
    concerned has its designation rebuilt and its status set for ``on``. Returns the agreement numbers."""
    done: list[str] = []
    now = datetime.now()
    by_inst: dict[str, list[ProviderAgreement]] = {}
    for a in store.expiring(s, on):
        by_inst.setdefault(a.fixmedins_code, []).append(a)
    for code, agreements in sorted(by_inst.items()):
        inst = store.locked_institution(s, code)
        for a in agreements:
            s.refresh(a)
            if a.status in ENDED:
                continue
            before = a.status
            a.status = transition(AGREEMENT_TRANSITIONS, a.status, AgreementAction.EXPIRE)
            done.append(a.agreement_no)
            record(s, Action.EXPIRE, AGREEMENT, a.agreement_no, actor=actor,
                   before={"status": before}, after={"status": a.status, "enddate": a.enddate, "on": on})  # fmt: skip
        mains = [a for a in agreements if a.kind == "main"]
        if mains:
            _event(s, inst, mains[-1], AgreementStatus.EXPIRED, "expiry", "协议到期", begndate=on, enddate=None,
                   actor=actor)  # fmt: skip
        standing = {b.begndate: b for b in store.agreements_of(s, code, "main") if b.status not in ENDED}
        for a in mains:  # its 医保医师: carried to the renewed agreement (begins the next day), else ended
            successor = standing.get(a.enddate + ONE_DAY) if a.enddate else None
            registrations.carry_or_end(s, a, successor, actor=actor, now=now)
        rebuild(s, inst, today=on, regions_dir=regions_dir)
    return done
