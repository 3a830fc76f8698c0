"""Enrollment use cases (参保经办) over the store: employers, persons, enrollments and their lifecycle. Each
runs in the caller's unit of work and is audited with before and after. Personal accounts are in
:mod:`yibao.enrollment.accounts`, 共济 in :mod:`~yibao.enrollment.bindings`, 转移接续 in
:mod:`~yibao.enrollment.transfers`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.enrollment.accounts import ensure_account
from yibao.enrollment.bindings import end_bindings
from yibao.enrollment.checks_data import checks_for
from yibao.enrollment.rows import checked, get_enrollment, get_person, snapshot
from yibao.enrollment.rules import contribution_policy
from yibao.errors import InputError, NotFound
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.tables import (
    Employer,
    Enrollment,
    Identity,
    Person,
)

ENR_FIELDS = (
    "psn_no",
    "insutype",
    "psn_type",
    "psn_insu_stas",
    "begndate",
    "enddate",
    "wait_until",
    "emp_no",
    "contrib_months",
    "end_reason",
)


# --- employers and persons ----------------------------------------------------------------------------


def register_employer(
    s: Session, *, uscc: str, emp_name: str, admdvs: str, emp_no: str | None = None, actor: str
) -> Employer:
    code = checked("uscc", v.uscc, uscc)
    checked("admdvs", v.admdvs, admdvs)
    name = checked("emp_name", lambda x: v.free_text(x, 100), emp_name or "")
    if s.scalar(select(Employer.emp_no).where(Employer.uscc == code)):
        raise InputError(f"uscc: 统一社会信用代码 {code} 已登记")
    emp = Employer(emp_no=emp_no or rules.employer_no(code), uscc=code, emp_name=name, admdvs=admdvs)
    if s.get(Employer, emp.emp_no) is not None:
        raise InputError(f"emp_no: 单位编号 {emp.emp_no} 已登记")
    s.add(emp)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action=Action.REGISTER,
        entity="employer",
        entity_id=emp.emp_no,
        after={"uscc": code, "emp_name": emp.emp_name, "admdvs": admdvs},
    )
    return emp


def register_person(
    s: Session,
    *,
    certno: str,
    psn_name: str,
    admdvs: str,
    naty: str | None = "01",
    psn_no: str | None = None,
    actor: str,
) -> Person:
    """参保人登记 with a resident ID (birth date and gender are taken from it)."""
    certno = checked("certno", v.resident_id, certno)
    psn_name = checked("psn_name", v.person_name, psn_name or "")
    checked("admdvs", v.admdvs, admdvs)
    existing = s.scalar(select(Person.psn_no).where(Person.certno == certno))
    if existing:
        raise InputError(f"certno: 该居民身份证号码已登记（人员编号 {existing}）")
    if psn_no is not None and s.get(Person, psn_no) is not None:
        raise InputError(f"psn_no: 人员编号 {psn_no} 已存在")
    if psn_no is None:
        n = (s.scalar(select(func.count()).select_from(Person)) or 0) + 1
        psn_no = f"{admdvs[:4]}00{n:010d}"
        while s.get(Person, psn_no) is not None:
            n += 1
            psn_no = f"{admdvs[:4]}00{n:010d}"
    person = Person(
        psn_no=psn_no,
        psn_cert_type="01",
        certno=certno,
        psn_name=psn_name,
        gend=v.id_gender(certno),
        brdy=v.id_birth_date(certno),
        naty=naty,
        admdvs=admdvs,
    )
    s.add(person)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action=Action.REGISTER,
        entity="person",
        entity_id=psn_no,
        after={"psn_name": person.psn_name, "certno": certno[:4] + "…" + certno[-4:], "admdvs": admdvs},
    )
    return person


# --- enrollments and their lifecycle -------------------------------------------------------------------


@dataclass
class Enrolled:
    enrollment: Enrollment
    warnings: list[str]


def enroll(
    s: Session,
    bundle: PolicyBundle,
    *,
    psn_no: str,
    insutype: str,
    psn_type: str,
    begndate: date,
    insuplc_admdvs: str,
    actor: str,
    emp_no: str | None = None,
    flexible_base: int | None = None,
    registered: date | None = None,
    contrib_months: int = 0,
    today: date | None = None,
) -> Enrolled:
    """参保登记: one basic insurance at a time; 职工 get a personal account; waiting periods as the policy says.

    在职 职工 name their employer (``emp_no``) or are 灵活就业 (``flexible_base``, no employer, no account).
    The business checks of the insured place (:func:`plausible_enrollment`) refuse what a clerk must not
    enter; an enrollment dated after ``today`` (by default the real one) is in force from its date."""
    person = get_person(s, psn_no)
    today = today or date.today()
    registered = registered or today
    if insutype not in rules.BASIC:
        raise InputError(
            f"insutype: 险种应为 310 职工基本医疗保险或 390 城乡居民基本医疗保险（填写的是 {insutype}）"
        )
    checks = checks_for(insuplc_admdvs)
    if bundle.category_index(insutype, psn_type) is None:
        raise InputError(
            f"psn_type: 人员类别「{checks.type_name(psn_type)}」不属于{rules.INSUTYPE_NAMES[insutype]}"
        )
    if contrib_months < 0:
        raise InputError(f"contrib_months: 缴费月数不能为负（填写的是 {contrib_months}）")
    if person.death_date and person.death_date <= begndate:
        raise InputError(f"psn_no: 该人员已于 {person.death_date} 死亡，不能参保")
    checked("insuplc_admdvs", v.admdvs, insuplc_admdvs)
    employer = None
    if emp_no is not None:
        employer = s.get(Employer, emp_no)
        if employer is None:
            raise NotFound(f"emp_no: 参保单位不存在（单位编号 {emp_no}）")
        if insutype != "310":
            raise InputError("emp_no: 城乡居民医保不登记参保单位")
    if flexible_base is not None:
        if insutype != "310" or not psn_type.startswith("11"):
            raise InputError("flexible_base: 灵活就业仅限职工医保在职人员")
        if emp_no is not None:
            raise InputError("emp_no: 灵活就业人员不登记参保单位")
    elif insutype == "310" and psn_type.startswith("11") and emp_no is None:
        raise InputError("emp_no: 在职职工须选择参保单位（灵活就业请填缴费基数）")
    plausible_enrollment(checks, person, insutype, psn_type, begndate, registered, today)
    rows = s.scalars(
        select(Enrollment).where(Enrollment.psn_no == psn_no, Enrollment.insutype.in_(rules.BASIC))
    ).all()
    held = [e for e in rows if e.psn_insu_stas in rules.HOLDING]
    clash = rules.overlapping(
        rules.Period(begndate, None), [(str(e.id), rules.Period(e.begndate, e.enddate)) for e in held]
    )
    if clash:
        other = next(e for e in held if str(e.id) == clash)
        raise InputError(
            f"insutype: 与现有参保登记重叠（登记号 {clash}：{rules.INSUTYPE_NAMES[other.insutype]}，"
            f"{rules.STATUS[other.psn_insu_stas]}，自 {other.begndate}"
            f"{'' if other.enddate is None else ' 至 ' + str(other.enddate)}）；"
            "一人同时只能参加一项基本医疗保险，请先终止或转出"
        )
    policy = contribution_policy(bundle, max(begndate, registered))
    if flexible_base is not None:
        rules.flexible_contribution(flexible_base, policy)  # refuses a base outside the bounds
    ended = [e.enddate for e in held if e.enddate is not None and e.enddate < begndate]
    wait = rules.waiting_until(
        begndate, policy, registered=registered, insutype=insutype, previous_end=max(ended) if ended else None
    )
    enr = Enrollment(
        psn_no=psn_no,
        insutype=insutype,
        psn_type=psn_type,
        psn_insu_stas="1",
        begndate=begndate,
        insuplc_admdvs=insuplc_admdvs,
        emp_no=emp_no,
        emp_name=employer.emp_name if employer is not None else None,
        flxempe_flag="1" if flexible_base is not None else "0",
        flexible_base=flexible_base,
        wait_until=wait,
        contrib_months=contrib_months,
    )
    s.add(enr)
    if insutype == "310" and flexible_base is None:
        ensure_account(s, psn_no)
    s.flush()
    warnings = [f"待遇等待期：{wait} 起享受待遇"] if wait else []
    if psn_type.startswith("12") and rules.short_of_minimum_years(contrib_months, person.gend, policy):
        warnings.append(SHORT_OF_YEARS)
    audit.record(
        s,
        actor=actor,
        action=Action.ENROLL,
        entity="enrollment",
        entity_id=str(enr.id),
        after=snapshot(enr, ENR_FIELDS) | {"registered": registered, "warnings": warnings},
    )
    return Enrolled(enr, warnings)


SHORT_OF_YEARS = "退休时缴费年限不足最低缴费年限，须补缴"


def plausible_enrollment(
    checks: rules.EnrollmentChecks,
    person: Person,
    insutype: str,
    psn_type: str,
    begndate: date,
    registered: date,
    today: date,
) -> None:
    """业务校验 of a new enrollment: 参保日期 and 办理日期 within the region's window (not before birth, at most
    ``lead_days`` ahead), and a 人员类别 the person's age on the 参保日期 admits."""
    rules.check_date("begndate", "参保日期", begndate, checks, today, person.brdy)
    rules.check_date("registered", "办理日期", registered, checks, today, person.brdy)
    rules.check_category_age(checks, insutype, psn_type, person.brdy, person.gend, begndate)


LIFECYCLE = (Action.SUSPEND, Action.RESUME, Action.TERMINATE, Action.TRANSFER_OUT)
# the label of each change's date on the forms (生效日期 on the person page), as its refusals name it
DATE_LABELS = {
    Action.SUSPEND: "暂停日期",
    Action.RESUME: "恢复日期",
    Action.TERMINATE: "终止日期",
    Action.TRANSFER_OUT: "转出日期",
    Action.CHANGE_CATEGORY: "变更日期",
}


def _plausible_change(s: Session, enr: Enrollment, action: Action, day: date, today: date) -> None:
    """业务校验 of a lifecycle change's date: within the enrollment and the region's lead time."""
    label = DATE_LABELS[action]
    if day < enr.begndate:
        raise InputError(f"date: {label}不能早于参保日期（{enr.begndate}）")
    if enr.enddate is not None and day > enr.enddate:
        raise InputError(f"date: {label}不能晚于参保终止日期（{enr.enddate}）")
    rules.check_date(
        "date", label, day, checks_for(enr.insuplc_admdvs), today, get_person(s, enr.psn_no).brdy
    )


def change_status(
    s: Session,
    enrollment_id: int,
    action: Action,
    day: date,
    *,
    actor: str,
    reason: str | None = None,
    bundle: PolicyBundle | None = None,
    today: date | None = None,
) -> Enrollment:
    """暂停 / 恢复 / 终止 (death, emigration, other): the lifecycle refuses what its status does not allow.

    Resuming after a suspension is enrolling after a break: the waiting period of the policy in force on
    the day starts again (3 months plus one per full year suspended; none when resumed the same day).

    A 暂停 or 终止 dated after ``today`` is scheduled (预约): stored now, in force from its date — the status
    on a day is read from the dates (:func:`rules.status_on`), so a visit before it is settled as before.
    Resuming a suspension not yet in force cancels it. A death, and a resumption, cannot be dated ahead."""
    if action not in LIFECYCLE:
        names = "、".join(DATE_LABELS[a].removesuffix("日期") for a in LIFECYCLE)
        raise InputError(f"action: 未知的参保变更（{action}），可办理：{names}")
    action = Action(action)
    today = today or date.today()
    enr = get_enrollment(s, enrollment_id)
    before = snapshot(enr, ENR_FIELDS)
    paused = enr.paus_insu_date
    if action == Action.SUSPEND:
        _refuse_while_scheduled(enr, "暂停", today)
    target = rules.transition(action, enr.psn_insu_stas)
    _plausible_change(s, enr, action, day, today)
    if action == Action.TERMINATE and (reason not in rules.END_REASONS or reason == "transfer_out"):
        reasons = "、".join(f"{k} {z}" for k, z in rules.END_REASONS.items() if k != "transfer_out")
        raise InputError(f"reason: 终止原因应为 {reasons}（转出请办理转出，余额随人转移）")
    if action == Action.TERMINATE and reason == "death" and day > today:
        raise InputError(f"date: 死亡日期不能晚于今天（{today}）")
    cancels = action == Action.RESUME and enr.paus_insu_date is not None and enr.paus_insu_date > today
    if action == Action.RESUME and not cancels:
        if day > today:
            raise InputError(f"date: 恢复日期不能晚于今天（{today}）；恢复不能预约")
        if enr.paus_insu_date is not None and day < enr.paus_insu_date:
            raise InputError(f"date: 恢复日期不能早于暂停日期（{enr.paus_insu_date}）")
    enr.psn_insu_stas = target
    if action == Action.SUSPEND:
        enr.paus_insu_date = day
    elif action == Action.RESUME:
        if not cancels and enr.paus_insu_date is not None and day > enr.paus_insu_date:
            wait = rules.waiting_until(
                day,
                contribution_policy(bundle or _bundle_for(enr), day),
                registered=None,
                insutype=enr.insutype,
                previous_end=enr.paus_insu_date - timedelta(days=1),
            )
            enr.wait_until = max(wait, enr.wait_until) if enr.wait_until else wait
        enr.paus_insu_date = None
    else:  # terminate, transfer_out
        enr.enddate, enr.end_reason = day, reason or action
        if reason == "death":
            get_person(s, enr.psn_no).death_date = day
        end_bindings(s, enr.psn_no, day, actor)
    after = snapshot(enr, ENR_FIELDS) | {"date": day} | ({"reason": reason} if reason else {})
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=after | ({"cancelled_suspension": paused} if cancels else {}),
    )
    return enr


def _refuse_while_scheduled(enr: Enrollment, what: str, today: date) -> None:
    """A suspension not yet in force is cancelled (恢复) before anything else is changed: the refusal says so,
    not "参保状态为暂停" of an enrollment the clerk sees as 正常."""
    if enr.psn_insu_stas == "2" and enr.paus_insu_date is not None and enr.paus_insu_date > today:
        raise InputError(
            f"psn_insu_stas: 已预约 {enr.paus_insu_date} 起暂停，不能{what}；请先撤销预约的暂停（恢复）"
        )


def _bundle_for(enr: Enrollment) -> PolicyBundle:
    from yibao.policy.registry import get_bundle

    return get_bundle(enr.insuplc_admdvs)


def change_category(
    s: Session,
    bundle: PolicyBundle,
    enrollment_id: int,
    psn_type: str,
    day: date,
    *,
    actor: str,
    today: date | None = None,
) -> Enrolled:
    """人员类别变更 (e.g. 在职 → 退休): flags a retiree short of the minimum contribution years.

    Retirement ends the employer (and 灵活就业) and opens the account the monthly 退休 credit goes to;
    a retiree does not go back to 在职. The new category must suit the person's age on ``day``.

    A change dated after ``today`` is scheduled (预约): the enrollment ends the day before and a new one
    with the new category begins on ``day``, so that every visit before it is settled in the old one."""
    today = today or date.today()
    enr = get_enrollment(s, enrollment_id)
    _refuse_while_scheduled(enr, "变更人员类别", today)
    rules.transition(Action.CHANGE_CATEGORY, enr.psn_insu_stas)
    checks = checks_for(enr.insuplc_admdvs)
    if bundle.category_index(enr.insutype, psn_type) is None:
        raise InputError(
            f"psn_type: 人员类别「{checks.type_name(psn_type)}」不属于{rules.INSUTYPE_NAMES[enr.insutype]}"
        )
    if psn_type == enr.psn_type:
        raise InputError(f"psn_type: 人员类别已是「{checks.type_name(psn_type)}」")
    if enr.psn_type.startswith("12") and psn_type.startswith("11"):
        raise InputError("psn_type: 退休人员不能变更为在职")
    _plausible_change(s, enr, Action.CHANGE_CATEGORY, day, today)
    person = get_person(s, enr.psn_no)
    rules.check_category_age(checks, enr.insutype, psn_type, person.brdy, person.gend, day)
    before = snapshot(enr, ENR_FIELDS)
    target = enr if day <= today else _successor(s, enr, day, psn_type)
    target.psn_type = psn_type
    warnings = []
    if psn_type.startswith("12"):
        target.emp_no, target.emp_name = None, None
        target.flexible_base, target.flxempe_flag = None, "0"
        ensure_account(s, enr.psn_no)
        if rules.short_of_minimum_years(enr.contrib_months, person.gend, contribution_policy(bundle, day)):
            warnings.append(SHORT_OF_YEARS)
    s.flush()
    after = snapshot(enr, ENR_FIELDS) | {"date": day, "warnings": warnings}
    if target is not enr:
        after |= {"scheduled": True, "successor": target.id}
    audit.record(
        s,
        actor=actor,
        action=Action.CHANGE_CATEGORY,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=after,
    )
    if target is not enr:
        audit.record(
            s,
            actor=actor,
            action=Action.ENROLL,
            entity="enrollment",
            entity_id=str(target.id),
            after=snapshot(target, ENR_FIELDS) | {"registered": today, "follows": enrollment_id},
        )
    return Enrolled(target, warnings)


def _successor(s: Session, enr: Enrollment, day: date, psn_type: str) -> Enrollment:
    """A scheduled category change: ``enr`` ends the day before ``day`` (终止, reason retired / category) and
    its copy begins on ``day`` — no break, so no waiting period; the months and the employer carry over."""
    enr.psn_insu_stas, enr.enddate = "4", day - timedelta(days=1)
    enr.end_reason = "retired" if psn_type.startswith("12") else "category"
    nxt = Enrollment(
        psn_no=enr.psn_no,
        insutype=enr.insutype,
        psn_type=enr.psn_type,
        psn_insu_stas="1",
        begndate=day,
        insuplc_admdvs=enr.insuplc_admdvs,
        emp_no=enr.emp_no,
        emp_name=enr.emp_name,
        flxempe_flag=enr.flxempe_flag,
        flexible_base=enr.flexible_base,
        wait_until=enr.wait_until if enr.wait_until and enr.wait_until > day else None,
        contrib_months=enr.contrib_months,
    )
    s.add(nxt)
    s.flush()
    return nxt


def retirees_short_of_minimum(s: Session, bundle: PolicyBundle, day: date) -> list[dict]:
    """退休 职工 in force on ``day`` whose contribution months fall short of the minimum (the flagged list)."""
    policy = contribution_policy(bundle, day)
    out = []
    for enr, gend in s.execute(
        select(Enrollment, Person.gend)
        .join(Person, Person.psn_no == Enrollment.psn_no)
        .where(
            Enrollment.insutype == "310",
            Enrollment.psn_type.like("12%"),
            Enrollment.psn_insu_stas.in_(("1", "2")),
            Enrollment.begndate <= day,
            (Enrollment.enddate.is_(None)) | (Enrollment.enddate >= day),
        )
        .order_by(Enrollment.psn_no)
    ):
        need = rules.minimum_months(gend, policy)
        if enr.contrib_months < need:
            out.append(
                {
                    "psn_no": enr.psn_no,
                    "enrollment": enr.id,
                    "gend": gend,
                    "contrib_months": enr.contrib_months,
                    "required_months": need,
                    "short_months": need - enr.contrib_months,
                }
            )
    return out


def identities_on(s: Session, psn_no: str, day: date) -> list[str]:
    return [
        i.psn_idet_type
        for i in s.scalars(select(Identity).where(Identity.psn_no == psn_no))
        if i.begntime <= day and (i.endtime is None or i.endtime >= day)
    ]
