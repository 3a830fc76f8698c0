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
    if s.scalar(select(Employer.emp_no).where(Employer.uscc == code)):
        raise InputError(f"uscc: 统一社会信用代码 {code} 已登记")
    emp = Employer(
        emp_no=emp_no or rules.employer_no(code), uscc=code, emp_name=(emp_name or "").strip(), admdvs=admdvs
    )
    if not emp.emp_name:
        raise InputError("emp_name: 缺少单位名称")
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
    checked("admdvs", v.admdvs, admdvs)
    if not psn_name.strip():
        raise InputError("psn_name: 缺少姓名")
    existing = s.scalar(select(Person.psn_no).where(Person.certno == certno))
    if existing:
        raise InputError(f"certno: 证件号码已登记为人员 {existing}")
    if psn_no is not None and s.get(Person, psn_no) is not None:
        raise InputError(f"psn_no: 人员编号已存在 {psn_no}")
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
        psn_name=psn_name.strip(),
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
) -> Enrolled:
    """参保登记: one basic insurance at a time; 职工 get a personal account; waiting periods as the policy says.

    在职 职工 name their employer (``emp_no``) or are 灵活就业 (``flexible_base``, no employer, no account)."""
    person = get_person(s, psn_no)
    registered = registered or date.today()
    if insutype not in rules.BASIC:
        raise InputError(f'insutype: 不支持的基本医疗保险类型 "{insutype}" (310 职工 / 390 居民)')
    if bundle.category_index(insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {insutype}')
    if contrib_months < 0:
        raise InputError(f"contrib_months: 缴费月数不能为负 (got {contrib_months})")
    if person.death_date and person.death_date <= begndate:
        raise InputError(f"psn_no: 人员已于 {person.death_date} 死亡")
    checked("insuplc_admdvs", v.admdvs, insuplc_admdvs)
    employer = None
    if emp_no is not None:
        employer = s.get(Employer, emp_no)
        if employer is None:
            raise NotFound(f"emp_no: 单位不存在 {emp_no}")
        if insutype != "310":
            raise InputError(f"emp_no: 居民医保不登记参保单位 ({emp_no})")
    if flexible_base is not None:
        if insutype != "310" or not psn_type.startswith("11"):
            raise InputError("flexible_base: 灵活就业仅限职工医保在职人员 (insutype 310, psn_type 11)")
        if emp_no is not None:
            raise InputError(f"emp_no: 灵活就业人员不登记参保单位 ({emp_no})")
    elif insutype == "310" and psn_type.startswith("11") and emp_no is None:
        raise InputError("emp_no: 在职职工须登记参保单位 (灵活就业请填 flexible_base)")
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
            f"insutype: 与现有参保登记重叠 (enrollment {clash}: 险种 {other.insutype}, 状态 {other.psn_insu_stas} "
            f"{rules.STATUS[other.psn_insu_stas]}, 自 {other.begndate}"
            f"{'' if other.enddate is None else ' 至 ' + str(other.enddate)})；请先终止或转出"
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
    warnings = [f"待遇等待期: {wait} 起享受待遇 (waiting period: benefits from {wait})"] if wait else []
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


SHORT_OF_YEARS = "退休时缴费年限不足，须补缴 (short of the minimum contribution years)"


LIFECYCLE = (Action.SUSPEND, Action.RESUME, Action.TERMINATE, Action.TRANSFER_OUT)


def change_status(
    s: Session,
    enrollment_id: int,
    action: Action,
    day: date,
    *,
    actor: str,
    reason: str | None = None,
    bundle: PolicyBundle | None = None,
) -> Enrollment:
    """暂停 / 恢复 / 终止 (death, emigration, other): the lifecycle refuses what its status does not allow.

    Resuming after a suspension is enrolling after a break: the waiting period of the policy in force on
    the day starts again (3 months plus one per full year suspended; none when resumed the same day)."""
    if action not in LIFECYCLE:
        raise InputError(f"action: 未知的参保变更 {action} ({' / '.join(LIFECYCLE)})")
    action = Action(action)
    enr = get_enrollment(s, enrollment_id)
    before = snapshot(enr, ENR_FIELDS)
    target = rules.transition(action, enr.psn_insu_stas)
    if day < enr.begndate:
        raise InputError(f"date: {day} 早于参保日期 {enr.begndate}")
    if enr.enddate is not None and day > enr.enddate:
        raise InputError(f"date: {day} 晚于参保终止日期 {enr.enddate}")
    if action == Action.TERMINATE and (reason not in rules.END_REASONS or reason == "transfer_out"):
        reasons = ", ".join(r for r in rules.END_REASONS if r != "transfer_out")
        raise InputError(f"reason: 终止原因应为 {reasons} (转出请用 transfer_out，余额随人转移)")
    if action == Action.RESUME and enr.paus_insu_date is not None and day < enr.paus_insu_date:
        raise InputError(f"date: 恢复日期 {day} 早于暂停日期 {enr.paus_insu_date}")
    enr.psn_insu_stas = target
    if action == Action.SUSPEND:
        enr.paus_insu_date = day
    elif action == Action.RESUME:
        if enr.paus_insu_date is not None and day > enr.paus_insu_date:
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
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=snapshot(enr, ENR_FIELDS) | {"date": day} | ({"reason": reason} if reason else {}),
    )
    return enr


def _bundle_for(enr: Enrollment) -> PolicyBundle:
    from yibao.policy.registry import get_bundle

    return get_bundle(enr.insuplc_admdvs)


def change_category(
    s: Session, bundle: PolicyBundle, enrollment_id: int, psn_type: str, day: date, *, actor: str
) -> Enrolled:
    """人员类别变更 (e.g. 在职 → 退休): flags a retiree short of the minimum contribution years.

    Retirement ends the employer (and 灵活就业) and opens the account the monthly 退休 credit goes to;
    a retiree does not go back to 在职."""
    enr = get_enrollment(s, enrollment_id)
    rules.transition(Action.CHANGE_CATEGORY, enr.psn_insu_stas)
    if bundle.category_index(enr.insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {enr.insutype}')
    if psn_type == enr.psn_type:
        raise InputError(f"psn_type: 人员类别已是 {psn_type}")
    if enr.psn_type.startswith("12") and psn_type.startswith("11"):
        raise InputError(f"psn_type: 退休人员不能变更为在职 ({enr.psn_type} → {psn_type})")
    if day < enr.begndate:
        raise InputError(f"date: {day} 早于参保日期 {enr.begndate}")
    before = snapshot(enr, ENR_FIELDS)
    enr.psn_type = psn_type
    warnings = []
    if psn_type.startswith("12"):
        enr.emp_no, enr.emp_name = None, None
        enr.flexible_base, enr.flxempe_flag = None, "0"
        ensure_account(s, enr.psn_no)
        if rules.short_of_minimum_years(
            enr.contrib_months, get_person(s, enr.psn_no).gend, contribution_policy(bundle, day)
        ):
            warnings.append(SHORT_OF_YEARS)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action=Action.CHANGE_CATEGORY,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=snapshot(enr, ENR_FIELDS) | {"date": day, "warnings": warnings},
    )
    return Enrolled(enr, warnings)


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
