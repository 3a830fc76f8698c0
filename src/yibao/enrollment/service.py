"""Enrollment use cases (参保经办) over the store. Each runs in the caller's unit of work, is audited with
before and after, and posts every money movement to the fund ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.enrollment import rules
from yibao.errors import InputError, NotFound
from yibao.funds import ledger
from yibao.funds.journal import write_entry
from yibao.money import fmt_fen
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


def contribution_policy(bundle: PolicyBundle, day: date) -> ContributionPolicy:
    ver = bundle.version_index(day)
    if ver is None or bundle.policies[ver].contribution is None:
        raise InputError(f"date: {day} 没有缴费政策 (no contribution policy in force)")
    return bundle.policies[ver].contribution


# --- employers and persons ----------------------------------------------------------------------------


def register_employer(
    s: Session, *, uscc: str, emp_name: str, admdvs: str, emp_no: str | None = None, actor: str
) -> Employer:
    code = v.uscc(uscc)
    v.admdvs(admdvs)
    if s.scalar(select(Employer.emp_no).where(Employer.uscc == code)):
        raise InputError(f"uscc: 统一社会信用代码 {code} 已登记")
    emp = Employer(
        emp_no=emp_no or f"E{code[2:8]}{code[8:16]}", uscc=code, emp_name=emp_name.strip(), admdvs=admdvs
    )
    if not emp.emp_name:
        raise InputError("emp_name: 缺少单位名称")
    s.add(emp)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action="register",
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
    certno = v.resident_id(certno)
    v.admdvs(admdvs)
    if not psn_name.strip():
        raise InputError("psn_name: 缺少姓名")
    existing = s.scalar(select(Person.psn_no).where(Person.certno == certno))
    if existing:
        raise InputError(f"certno: 证件号码已登记为人员 {existing}")
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
        action="register",
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
    """参保登记: one basic insurance at a time; 职工 get a personal account; waiting periods as the policy says."""
    person = _person(s, psn_no)
    registered = registered or date.today()
    if insutype not in rules.BASIC:
        raise InputError(f'insutype: 不支持的基本医疗保险类型 "{insutype}" (310 职工 / 390 居民)')
    if bundle.category_index(insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {insutype}')
    if person.death_date and person.death_date <= begndate:
        raise InputError(f"psn_no: 人员已于 {person.death_date} 死亡")
    v.admdvs(insuplc_admdvs)
    if emp_no is not None and s.get(Employer, emp_no) is None:
        raise NotFound(f"emp_no: 单位不存在 {emp_no}")
    policy = contribution_policy(bundle, begndate)
    if flexible_base is not None:
        rules.flexible_contribution(flexible_base, policy)  # refuses a base outside the bounds
    rows = s.scalars(
        select(Enrollment).where(Enrollment.psn_no == psn_no, Enrollment.insutype.in_(rules.BASIC))
    ).all()
    live = [(str(e.id), rules.Period(e.begndate, e.enddate)) for e in rows if e.psn_insu_stas in ("1", "2")]
    clash = rules.overlapping(rules.Period(begndate, None), live)
    if clash:
        other = s.get(Enrollment, int(clash))
        raise InputError(
            f"insutype: 与现有参保登记重叠 (enrollment {clash}: 险种 {other.insutype}, 自 {other.begndate}"
            f"{'' if other.enddate is None else ' 至 ' + str(other.enddate)})；请先终止或转出"
        )
    ended = [e.enddate for e in rows if e.enddate is not None and e.enddate < begndate]
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
        emp_name=s.get(Employer, emp_no).emp_name if emp_no else None,
        flxempe_flag="1" if flexible_base is not None else "0",
        flexible_base=flexible_base,
        wait_until=wait,
        contrib_months=contrib_months,
    )
    s.add(enr)
    if insutype == "310" and flexible_base is None and s.get(PersonalAccount, psn_no) is None:
        s.add(PersonalAccount(psn_no=psn_no, balance=0))
    s.flush()
    warnings = [f"待遇等待期至 {wait}"] if wait else []
    if psn_type.startswith("12") and rules.short_of_minimum_years(contrib_months, person.gend, policy):
        warnings.append("退休时缴费年限不足，须补缴 (short of the minimum contribution years)")
    audit.record(
        s,
        actor=actor,
        action="enroll",
        entity="enrollment",
        entity_id=str(enr.id),
        after=_snapshot(enr, ENR_FIELDS) | {"warnings": warnings},
    )
    return Enrolled(enr, warnings)


def change_status(
    s: Session, enrollment_id: int, action: str, day: date, *, actor: str, reason: str | None = None
) -> Enrollment:
    """暂停 / 恢复 / 终止 (death, emigration, other): the lifecycle refuses what its status does not allow."""
    enr = _enrollment(s, enrollment_id)
    before = _snapshot(enr, ENR_FIELDS)
    enr.psn_insu_stas = rules.transition(action, enr.psn_insu_stas)
    if day < enr.begndate:
        raise InputError(f"date: {day} 早于参保日期 {enr.begndate}")
    if action == "suspend":
        enr.paus_insu_date = day
    elif action == "resume":
        enr.paus_insu_date = None
    elif action in ("terminate", "transfer_out"):
        if reason not in rules.END_REASONS and action == "terminate":
            raise InputError(f"reason: 终止原因应为 {', '.join(rules.END_REASONS)}")
        enr.enddate, enr.end_reason = day, reason or action
        if reason == "death":
            _person(s, enr.psn_no).death_date = day
    audit.record(
        s,
        actor=actor,
        action=action,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=_snapshot(enr, ENR_FIELDS),
    )
    return enr


def change_category(
    s: Session, bundle: PolicyBundle, enrollment_id: int, psn_type: str, day: date, *, actor: str
) -> Enrolled:
    """人员类别变更 (e.g. 在职 → 退休): flags a retiree short of the minimum contribution years."""
    enr = _enrollment(s, enrollment_id)
    rules.transition("change_category", enr.psn_insu_stas)
    if bundle.category_index(enr.insutype, psn_type) is None:
        raise InputError(f'psn_type: 人员类别 "{psn_type}" 不属于险种 {enr.insutype}')
    before = _snapshot(enr, ENR_FIELDS)
    enr.psn_type = psn_type
    warnings = []
    if psn_type.startswith("12"):
        enr.emp_no, enr.emp_name = None, None
        if rules.short_of_minimum_years(
            enr.contrib_months, _person(s, enr.psn_no).gend, contribution_policy(bundle, day)
        ):
            warnings.append("退休时缴费年限不足，须补缴 (short of the minimum contribution years)")
    audit.record(
        s,
        actor=actor,
        action="change_category",
        entity="enrollment",
        entity_id=str(enrollment_id),
        before=before,
        after=_snapshot(enr, ENR_FIELDS) | {"warnings": warnings},
    )
    return Enrolled(enr, warnings)


# --- personal accounts ----------------------------------------------------------------------------------


def _account(s: Session, psn_no: str) -> PersonalAccount:
    acct = s.get(PersonalAccount, psn_no, with_for_update=True)
    if acct is None:
        raise NotFound(f"psn_no: 人员 {psn_no} 没有个人账户")
    return acct


def credit_account(
    s: Session,
    psn_no: str,
    amount: int,
    source: str,
    *,
    when: datetime,
    memo: str,
    source_fpt: str | None = None,
) -> int:
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
    return acct.balance


def transfer_out(s: Session, enrollment_id: int, day: date, to_admdvs: str, *, actor: str) -> dict:
    """转出: terminate the 职工 enrollment; contribution months and the account balance leave with the person."""
    enr = _enrollment(s, enrollment_id)
    v.admdvs(to_admdvs)
    change_status(s, enrollment_id, "transfer_out", day, actor=actor, reason="transfer_out")
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
        "contrib_months": enr.contrib_months,
        "balance": fmt_fen(balance),
        "to_admdvs": to_admdvs,
        "date": day.isoformat(),
    }
    audit.record(
        s,
        actor=actor,
        action="transfer_out_certificate",
        entity="enrollment",
        entity_id=str(enrollment_id),
        after=certificate,
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
) -> Enrolled:
    """转入: a 职工 enrollment that carries the months contributed elsewhere and credits the moved balance."""
    v.admdvs(from_admdvs)
    if contrib_months < 0 or balance < 0:
        raise InputError("contrib_months / balance: 不能为负")
    done = enroll(
        s,
        bundle,
        psn_no=psn_no,
        insutype="310",
        psn_type=psn_type,
        begndate=begndate,
        insuplc_admdvs=insuplc_admdvs,
        emp_no=emp_no,
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
        )
    return done


def bind_family(
    s: Session, *, owner_psn_no: str, member_psn_no: str, relation: str, begndate: date, actor: str
) -> FamilyBinding:
    """共济绑定: a spouse, parent or child may pay from the owner's 职工 personal account."""
    if relation not in ("spouse", "parent", "child"):
        raise InputError("relation: 应为 spouse / parent / child")
    if owner_psn_no == member_psn_no:
        raise InputError("member_psn_no: 不能与账户所有人相同")
    _person(s, owner_psn_no)
    _person(s, member_psn_no)
    if s.get(PersonalAccount, owner_psn_no) is None:
        raise InputError(f"owner_psn_no: {owner_psn_no} 没有职工个人账户")
    if s.scalar(
        select(FamilyBinding.id).where(
            FamilyBinding.member_psn_no == member_psn_no, FamilyBinding.enddate.is_(None)
        )
    ):
        raise InputError(f"member_psn_no: {member_psn_no} 已绑定共济账户")
    b = FamilyBinding(
        owner_psn_no=owner_psn_no, member_psn_no=member_psn_no, relation=relation, begndate=begndate
    )
    s.add(b)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action="bind",
        entity="family_binding",
        entity_id=str(b.id),
        after={"owner": owner_psn_no, "member": member_psn_no, "relation": relation},
    )
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
    """个人账户对账单: every posting on the person's account, oldest first, with the running balance."""
    from yibao.store.tables import LedgerEntry, LedgerPosting

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


def pay_contributions(s: Session, ids: list[int], *, when: datetime, actor: str) -> int:
    """Record contributions as collected: ledger entries, account credits for employee shares."""
    rows = s.scalars(
        select(Contribution).where(Contribution.id.in_(ids), Contribution.status == "due").with_for_update()
    ).all()
    for c in rows:
        if c.kind == "employee":
            legs = ledger.employee_contribution_postings(c.psn_no, c.employer_amt, c.employee_amt)
            if c.employee_amt:
                s.execute(
                    update(PersonalAccount)
                    .where(PersonalAccount.psn_no == c.psn_no)
                    .values(balance=PersonalAccount.balance + c.employee_amt)
                )
        elif c.kind == "flexible":
            legs = ledger.flexible_contribution_postings(c.psn_no, c.employee_amt)
        else:
            legs = ledger.resident_contribution_postings(
                c.psn_no, c.individual_amt, c.assistance_amt, c.subsidy_amt
            )
        write_entry(s, "contribution", legs, when=when, psn_no=c.psn_no, memo=f"{c.kind} {c.period}")
        c.status, c.paid_amt, c.paid_at = "paid", c.due_amt, when
    if rows:
        audit.record(
            s,
            actor=actor,
            action="pay",
            entity="contribution",
            entity_id=f"{len(rows)} rows",
            after={"ids": [c.id for c in rows][:50], "amount": fmt_fen(sum(c.due_amt for c in rows))},
        )
    return len(rows)
