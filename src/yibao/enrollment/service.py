"""Enrollment use cases (参保经办) over the store. Each runs in the caller's unit of work, is audited with
before and after, and posts every money movement to the fund ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.errors import InputError, NotFound
from yibao.funds import ledger
from yibao.funds.journal import write_entry
from yibao.money import Fen, fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.policy.schema import ContributionPolicy
from yibao.store import audit
from yibao.store.tables import (
    Contribution,
    Employer,
    Enrollment,
    FamilyBinding,
    Identity,
    Person,
    PersonalAccount,
)


def _snapshot(row: Any, fields: tuple[str, ...]) -> dict:
    return {f: getattr(row, f) for f in fields}


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


def _checked(field: str, check, value: str) -> str:
    """A national code validated, the refusal naming the field (``certno: 校验位错误 …``)."""
    try:
        return check(value)
    except v.ValidationError as exc:
        raise InputError(f"{field}: {exc.message}") from None


def contribution_policy(bundle: PolicyBundle, day: date) -> ContributionPolicy:
    ver = bundle.version_index(day)
    if ver is None or bundle.policies[ver].contribution is None:
        raise InputError(f"date: {day} 没有缴费政策 (no contribution policy in force)")
    return bundle.policies[ver].contribution


# --- employers and persons ----------------------------------------------------------------------------


def register_employer(
    s: Session, *, uscc: str, emp_name: str, admdvs: str, emp_no: str | None = None, actor: str
) -> Employer:
    code = _checked("uscc", v.uscc, uscc)
    _checked("admdvs", v.admdvs, admdvs)
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
    certno = _checked("certno", v.resident_id, certno)
    _checked("admdvs", v.admdvs, admdvs)
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


def _person(s: Session, psn_no: str) -> Person:
    p = s.get(Person, psn_no)
    if p is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return p


def _enrollment(s: Session, enrollment_id: int) -> Enrollment:
    e = s.get(Enrollment, enrollment_id, with_for_update=True)
    if e is None:
        raise NotFound(f"enrollment: 参保登记不存在 {enrollment_id}")
    return e


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
    person = _person(s, psn_no)
    registered = registered or date.today()
    if insutype not in rules.BASIC:
        raise InputError(f'insutype: 不支持的基本医疗保险类型 "{insutype}" (310 职工 / 390 居民)')
    if bundle.category_index(insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {insutype}')
    if contrib_months < 0:
        raise InputError(f"contrib_months: 缴费月数不能为负 (got {contrib_months})")
    if person.death_date and person.death_date <= begndate:
        raise InputError(f"psn_no: 人员已于 {person.death_date} 死亡")
    _checked("insuplc_admdvs", v.admdvs, insuplc_admdvs)
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
        _ensure_account(s, psn_no)
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
        after=_snapshot(enr, ENR_FIELDS) | {"registered": registered, "warnings": warnings},
    )
    return Enrolled(enr, warnings)


SHORT_OF_YEARS = "退休时缴费年限不足，须补缴 (short of the minimum contribution years)"


def _ensure_account(s: Session, psn_no: str) -> PersonalAccount:
    acct = s.get(PersonalAccount, psn_no)
    if acct is None:
        acct = PersonalAccount(psn_no=psn_no, balance=0, status="active")
        s.add(acct)
    return acct


def _end_bindings(s: Session, psn_no: str, day: date, actor: str) -> None:
    """共济 ends with the owner's or the member's insurance (death, emigration, transfer out)."""
    for b in s.scalars(
        select(FamilyBinding).where(
            (FamilyBinding.owner_psn_no == psn_no) | (FamilyBinding.member_psn_no == psn_no),
            FamilyBinding.enddate.is_(None),
        )
    ):
        before = _snapshot(b, BINDING_FIELDS)
        b.enddate = max(day, b.begndate)
        _audit_binding(s, b, Action.UNBIND, before, actor)


BINDING_FIELDS = ("owner_psn_no", "member_psn_no", "relation", "begndate", "enddate")


def _audit_binding(s: Session, b: FamilyBinding, action: Action, before: dict | None, actor: str) -> None:
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="family_binding",
        entity_id=str(b.id),
        before=before,
        after=_snapshot(b, BINDING_FIELDS),
    )


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
    enr = _enrollment(s, enrollment_id)
    before = _snapshot(enr, ENR_FIELDS)
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
            _person(s, enr.psn_no).death_date = day
        _end_bindings(s, enr.psn_no, day, actor)
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=_snapshot(enr, ENR_FIELDS) | {"date": day} | ({"reason": reason} if reason else {}),
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
    enr = _enrollment(s, enrollment_id)
    rules.transition(Action.CHANGE_CATEGORY, enr.psn_insu_stas)
    if bundle.category_index(enr.insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {enr.insutype}')
    if psn_type == enr.psn_type:
        raise InputError(f"psn_type: 人员类别已是 {psn_type}")
    if enr.psn_type.startswith("12") and psn_type.startswith("11"):
        raise InputError(f"psn_type: 退休人员不能变更为在职 ({enr.psn_type} → {psn_type})")
    if day < enr.begndate:
        raise InputError(f"date: {day} 早于参保日期 {enr.begndate}")
    before = _snapshot(enr, ENR_FIELDS)
    enr.psn_type = psn_type
    warnings = []
    if psn_type.startswith("12"):
        enr.emp_no, enr.emp_name = None, None
        enr.flexible_base, enr.flxempe_flag = None, "0"
        _ensure_account(s, enr.psn_no)
        if rules.short_of_minimum_years(
            enr.contrib_months, _person(s, enr.psn_no).gend, contribution_policy(bundle, day)
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
        after=_snapshot(enr, ENR_FIELDS) | {"date": day, "warnings": warnings},
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


# --- personal accounts ----------------------------------------------------------------------------------


def _account(s: Session, psn_no: str) -> PersonalAccount:
    acct = s.get(PersonalAccount, psn_no, with_for_update=True)
    if acct is None:
        raise NotFound(f"psn_no: 人员 {psn_no} 没有个人账户")
    return acct


def _audit_credit(
    s: Session, psn_no: str, amount: Fen, balance: Fen, *, actor: str, source: str, memo: str
) -> None:
    """The audit row of money credited to a personal account: the amount, where it came from, and the
    balance before and after (``balance`` is the balance after the credit)."""
    audit.record(
        s,
        actor=actor,
        action=Action.ACCOUNT_CREDIT,
        entity="personal_account",
        entity_id=psn_no,
        before={"balance": fmt_fen(balance - amount)},
        after={"balance": fmt_fen(balance), "amount": fmt_fen(amount), "source": source, "memo": memo},
    )


def credit_account(
    s: Session,
    psn_no: str,
    amount: Fen,
    source: str,
    *,
    when: datetime,
    memo: str,
    actor: str,
    source_fpt: str | None = None,
) -> Fen:
    """个人账户入账: ``amount`` from ``source`` (a ledger account: transfer clearing, opening balance …) onto
    the person's account — the balance, the journal entry and the audit row, in the caller's unit of work.
    Returns the new balance."""
    if amount <= 0:
        raise InputError(f"amount: 入账金额须大于 0 (got {fmt_fen(amount)})")
    acct = _account(s, psn_no)
    acct.balance += amount
    write_entry(
        s,
        "account_credit",
        ledger.account_credit_postings(psn_no, amount, source, source_fpt=source_fpt),
        when=when,
        psn_no=psn_no,
        memo=memo,
    )
    _audit_credit(s, psn_no, amount, acct.balance, actor=actor, source=source, memo=memo)
    return acct.balance


def transfer_out(s: Session, enrollment_id: int, day: date, to_admdvs: str, *, actor: str) -> dict:
    """转出: terminate the enrollment; contribution months and the account balance leave with the person
    (the balance moves to the transfer clearing account, to be paid to the new region)."""
    enr = _enrollment(s, enrollment_id)
    _checked("to_admdvs", v.admdvs, to_admdvs)
    if to_admdvs == enr.insuplc_admdvs:
        raise InputError(f"to_admdvs: 转入地与参保地相同 ({to_admdvs})")
    change_status(s, enrollment_id, Action.TRANSFER_OUT, day, actor=actor, reason="transfer_out")
    balance = 0
    acct = s.get(PersonalAccount, enr.psn_no, with_for_update=True)
    if acct is not None and acct.balance:
        balance = acct.balance
        write_entry(
            s,
            "transfer_out",
            ledger.account_debit_postings(enr.psn_no, balance, ledger.TRANSFER_CLEARING),
            when=datetime.combine(day, datetime.min.time()),
            psn_no=enr.psn_no,
            memo=f"转出至 {to_admdvs}",
        )
        acct.balance = 0
    certificate = {
        "psn_no": enr.psn_no,
        "insutype": enr.insutype,
        "contrib_months": enr.contrib_months,
        "balance": fmt_fen(balance),
        "from_admdvs": enr.insuplc_admdvs,
        "to_admdvs": to_admdvs,
        "date": day.isoformat(),
    }
    audit.record(
        s,
        actor=actor,
        action=Action.TRANSFER_OUT_CERTIFICATE,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before={"balance": fmt_fen(balance)},
        after=certificate | {"balance_after": "0.00"},
    )
    return certificate


def transfer_in(
    s: Session,
    bundle: PolicyBundle,
    *,
    psn_no: str,
    psn_type: str,
    begndate: date,
    insuplc_admdvs: str,
    from_admdvs: str,
    contrib_months: int,
    balance: int,
    actor: str,
    emp_no: str | None = None,
    flexible_base: int | None = None,
) -> Enrolled:
    """转入: a 职工 enrollment that carries the months contributed elsewhere and credits the moved balance."""
    _checked("from_admdvs", v.admdvs, from_admdvs)
    if from_admdvs == insuplc_admdvs:
        raise InputError(f"from_admdvs: 转出地与参保地相同 ({from_admdvs})")
    if contrib_months < 0 or balance < 0:
        raise InputError("contrib_months / balance: 不能为负")
    if balance and flexible_base is not None:
        raise InputError("balance: 灵活就业人员没有个人账户，余额不能转入")
    done = enroll(
        s,
        bundle,
        psn_no=psn_no,
        insutype="310",
        psn_type=psn_type,
        begndate=begndate,
        insuplc_admdvs=insuplc_admdvs,
        emp_no=emp_no,
        flexible_base=flexible_base,
        actor=actor,
        contrib_months=contrib_months,
        registered=begndate,
    )
    if balance:
        credit_account(
            s,
            psn_no,
            balance,
            ledger.TRANSFER_CLEARING,
            when=datetime.combine(begndate, datetime.min.time()),
            memo=f"自 {from_admdvs} 转入",
            actor=actor,
        )
    audit.record(
        s,
        actor=actor,
        action=Action.TRANSFER_IN,
        entity="enrollment",
        entity_id=str(done.enrollment.id),
        before={"from_admdvs": from_admdvs},
        after={
            "psn_no": psn_no,
            "contrib_months": contrib_months,
            "balance": fmt_fen(balance),
            "insuplc_admdvs": insuplc_admdvs,
        },
    )
    return done


RELATIONS = ("spouse", "parent", "child")


def bind_family(
    s: Session, *, owner_psn_no: str, member_psn_no: str, relation: str, begndate: date, actor: str
) -> FamilyBinding:
    """共济绑定: a spouse, parent or child may pay from the owner's 职工 personal account; the owner must
    hold a 职工 enrollment in force with an account, and a member is bound to one account at a time."""
    if relation not in RELATIONS:
        raise InputError("relation: 应为 spouse / parent / child")
    if owner_psn_no == member_psn_no:
        raise InputError("member_psn_no: 不能与账户所有人相同")
    _person(s, owner_psn_no)
    member = _person(s, member_psn_no)
    if member.death_date is not None:
        raise InputError(f"member_psn_no: 人员已于 {member.death_date} 死亡")
    if s.get(PersonalAccount, owner_psn_no) is None:
        raise InputError(f"owner_psn_no: {owner_psn_no} 没有职工个人账户")
    if not s.scalar(
        select(Enrollment.id).where(
            Enrollment.psn_no == owner_psn_no,
            Enrollment.insutype == "310",
            Enrollment.psn_insu_stas == "1",
            Enrollment.begndate <= begndate,
            (Enrollment.enddate.is_(None)) | (Enrollment.enddate >= begndate),
        )
    ):
        raise InputError(f"owner_psn_no: {owner_psn_no} 在 {begndate} 没有正常参保的职工医保")
    bound = s.scalar(
        select(FamilyBinding).where(
            FamilyBinding.member_psn_no == member_psn_no, FamilyBinding.enddate.is_(None)
        )
    )
    if bound is not None:
        raise InputError(f"member_psn_no: {member_psn_no} 已绑定 {bound.owner_psn_no} 的共济账户")
    b = s.scalar(
        select(FamilyBinding).where(
            FamilyBinding.owner_psn_no == owner_psn_no, FamilyBinding.member_psn_no == member_psn_no
        )
    )
    before = None
    if b is None:
        b = FamilyBinding(
            owner_psn_no=owner_psn_no, member_psn_no=member_psn_no, relation=relation, begndate=begndate
        )
        s.add(b)
    else:  # bound again after an unbinding: the pair is one row, reopened
        before = _snapshot(b, BINDING_FIELDS)
        if begndate <= b.enddate:
            raise InputError(f"begndate: 应晚于上次解绑日期 {b.enddate}")
        b.relation, b.begndate, b.enddate = relation, begndate, None
    s.flush()
    _audit_binding(s, b, Action.BIND, before, actor)
    return b


def unbind_family(s: Session, binding_id: int, day: date, *, actor: str) -> FamilyBinding:
    """解除共济绑定 from ``day`` on (the member may no longer use the account after it)."""
    b = s.get(FamilyBinding, binding_id, with_for_update=True)
    if b is None:
        raise NotFound(f"binding: 共济绑定不存在 {binding_id}")
    if b.enddate is not None:
        raise InputError(f"binding: 已于 {b.enddate} 解绑")
    if day < b.begndate:
        raise InputError(f"date: {day} 早于绑定日期 {b.begndate}")
    before = _snapshot(b, BINDING_FIELDS)
    b.enddate = day
    _audit_binding(s, b, Action.UNBIND, before, actor)
    return b


def mutual_aid_owner(s: Session, member_psn_no: str, day: date) -> str | None:
    """The account that pays for ``member_psn_no`` under 共济 on ``day``, if bound."""
    return s.scalar(
        select(FamilyBinding.owner_psn_no).where(
            FamilyBinding.member_psn_no == member_psn_no,
            FamilyBinding.begndate <= day,
            (FamilyBinding.enddate.is_(None)) | (FamilyBinding.enddate >= day),
        )
    )


def statement(s: Session, psn_no: str) -> list[dict]:
    """个人账户对账单: every posting on the person's account, oldest first, with the running balance
    (共济 payments for a bound relative appear on the owner's statement)."""
    from yibao.store.tables import LedgerEntry, LedgerPosting

    _person(s, psn_no)
    rows = s.execute(
        select(
            LedgerEntry.posted_at,
            LedgerEntry.entry_type,
            LedgerEntry.setl_id,
            LedgerEntry.memo,
            LedgerPosting.amount,
        )
        .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
        .where(LedgerPosting.account == ledger.PERSONAL_ACCOUNT, LedgerPosting.psn_no == psn_no)
        .order_by(LedgerEntry.posted_at, LedgerEntry.id)
    ).all()
    balance, out = 0, []
    for when, kind, setl_id, memo, amount in rows:
        balance -= amount  # the account is a liability: a credit (negative) raises the balance
        out.append(
            {
                "time": when,
                "kind": kind,
                "setl_id": setl_id,
                "memo": memo or "",
                "amount": -amount,
                "balance": balance,
            }
        )
    return out


def identities_on(s: Session, psn_no: str, day: date) -> list[str]:
    return [
        i.psn_idet_type
        for i in s.scalars(select(Identity).where(Identity.psn_no == psn_no))
        if i.begntime <= day and (i.endtime is None or i.endtime >= day)
    ]


def _credit_employee_share(s: Session, c: Contribution, actor: str) -> None:
    """The employee share of a 职工 contribution onto the person's account (opened if missing), audited."""
    _ensure_account(s, c.psn_no)
    s.flush()
    balance = s.execute(
        update(PersonalAccount)
        .where(PersonalAccount.psn_no == c.psn_no)
        .values(balance=PersonalAccount.balance + c.employee_amt)
        .returning(PersonalAccount.balance)
    ).scalar_one()
    memo = f"{c.kind} {c.period}"
    _audit_credit(s, c.psn_no, c.employee_amt, balance, actor=actor, source=ledger.FUND_BANK, memo=memo)


def pay_contributions(s: Session, ids: list[int], *, when: datetime, actor: str) -> int:
    """Record contributions as collected: ledger entries, account credits for employee shares, one more
    contribution month for each 职工 (the same effects as :func:`contributions.collect`, row by row)."""
    rows = s.scalars(
        select(Contribution)
        .where(Contribution.id.in_(ids), Contribution.status == "due")
        .order_by(
            Contribution.psn_no, Contribution.id
        )  # accounts in one global order: two runs never deadlock
        .with_for_update()
    ).all()
    for c in rows:
        if c.kind == "employee":
            legs = ledger.employee_contribution_postings(c.psn_no, c.employer_amt, c.employee_amt)
            if c.employee_amt:
                _credit_employee_share(s, c, actor)
        elif c.kind == "flexible":
            legs = ledger.flexible_contribution_postings(c.psn_no, c.employee_amt)
        else:
            legs = ledger.resident_contribution_postings(
                c.psn_no, c.individual_amt, c.assistance_amt, c.subsidy_amt
            )
        if c.kind in ("employee", "flexible"):
            from yibao.enrollment.contributions import _active, parse_month

            _, first, last = parse_month(f"{c.period // 100}-{c.period % 100:02d}")
            s.execute(
                update(Enrollment)
                .where(Enrollment.psn_no == c.psn_no, Enrollment.insutype == "310", _active(first, last))
                .values(contrib_months=Enrollment.contrib_months + 1)
            )
        write_entry(s, "contribution", legs, when=when, psn_no=c.psn_no, memo=f"{c.kind} {c.period}")
        c.status, c.paid_amt, c.paid_at = "paid", c.due_amt, when
    if rows:
        audit.record(
            s,
            actor=actor,
            action=Action.PAY,
            entity="contribution",
            entity_id=f"{len(rows)} rows",
            before={"status": "due"},
            after={
                "status": "paid",
                "ids": [c.id for c in rows][:50],
                "amount": fmt_fen(sum(c.due_amt for c in rows)),
            },
        )
    return len(rows)
