"""Contribution runs (缴费核定): a month of 职工 contributions and 退休 account credits, a year of 居民
contributions — computed with NumPy and written set-based, so 350,000 employees take seconds, not hours.

Collected money is posted as one receipt entry per employer (or per run for flexible workers and residents)
with a leg per person, the way an employer's monthly transfer arrives."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy import Engine, and_, bindparam, delete, insert, or_, select, update

from yibao.enrollment.service import contribution_policy
from yibao.errors import InputError
from yibao.funds import ledger
from yibao.funds.journal import write_entry
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Employer, Enrollment, Identity, PersonalAccount

CHUNK = 10_000
Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


def _rhu(values: np.ndarray, bp: int) -> np.ndarray:
    return (values * bp + 5_000) // 10_000


def parse_month(text: str) -> tuple[int, date, date]:
    try:
        y, m = (int(x) for x in text.split("-"))
        first = date(y, m, 1)
    except ValueError:
        raise InputError(f'--month: "{text}" 不是月份 (YYYY-MM)') from None
    return y * 100 + m, first, date(y, m, calendar.monthrange(y, m)[1])


@dataclass
class RunReport:
    period: int
    employees: int = 0
    flexible: int = 0
    retirees_credited: int = 0
    residents: int = 0
    skipped_no_wage: list[str] = field(default_factory=list)
    due: int = 0  # fen
    paid: int = 0  # fen


def _active(first: date, last: date, *conds):
    return and_(
        Enrollment.psn_insu_stas == "1",
        Enrollment.begndate <= last,
        or_(Enrollment.enddate.is_(None), Enrollment.enddate >= first),
        *conds,
    )


def run_month(
    engine: Engine,
    bundle: PolicyBundle,
    month: str,
    *,
    wages: dict[str, int] | None = None,
    pay: bool = False,
    actor: str = "cli",
    progress: Progress = _noop,
) -> RunReport:
    """Contributions of every active 在职 employee and 灵活就业 for ``month`` (wage from ``wages`` or the
    person's last declaration), and the month's credit to every 退休's account. Rerunning replaces what is
    still due and never touches what was paid."""
    period, first, last = parse_month(month)
    policy = contribution_policy(bundle, first)
    report = RunReport(period)
    due_date = date(first.year + (first.month == 12), first.month % 12 + 1, 15)
    with unit_of_work(engine) as s:
        rows = s.execute(
            select(Enrollment.psn_no, Enrollment.emp_no, Enrollment.flexible_base, Enrollment.psn_type).where(
                _active(first, last, Enrollment.insutype == "310")
            )
        ).all()
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period, Contribution.status == "paid"
                )
            )
        )
        s.execute(
            delete(Contribution).where(
                Contribution.period == period,
                Contribution.status == "due",
                Contribution.kind.in_(("employee", "flexible")),
            )
        )
        last_wage: dict[str, int] = {}
        if wages is None:  # each person's most recent declared wage (ascending periods: the last one wins)
            for psn, wage in s.execute(
                select(Contribution.psn_no, Contribution.wage)
                .where(Contribution.kind == "employee", Contribution.period < period)
                .order_by(Contribution.period)
            ):
                last_wage[psn] = wage
    employees = [
        r for r in rows if r.psn_type.startswith("11") and r.flexible_base is None and r.psn_no not in paid
    ]
    flexible = [r for r in rows if r.flexible_base is not None and r.psn_no not in paid]
    retirees = [r.psn_no for r in rows if r.psn_type.startswith("12")]
    source = wages if wages is not None else last_wage
    with_wage = [r for r in employees if source.get(r.psn_no) is not None]
    report.skipped_no_wage = [r.psn_no for r in employees if source.get(r.psn_no) is None]
    wage = np.array([source[r.psn_no] for r in with_wage], dtype=np.int64)
    avg = policy.average_monthly_wage
    lo, hi = (
        int(_rhu(np.array([avg]), policy.employee.base_floor)[0]),
        int(_rhu(np.array([avg]), policy.employee.base_ceiling)[0]),
    )
    base = np.clip(wage, lo, hi)
    employer_amt, employee_amt = (
        _rhu(base, policy.employee.employer_rate),
        _rhu(base, policy.employee.employee_rate),
    )
    fbase = np.array([r.flexible_base for r in flexible], dtype=np.int64)
    famt = _rhu(fbase, policy.employee.flexible_rate)
    records = [
        {
            "psn_no": r.psn_no,
            "emp_no": r.emp_no,
            "insutype": "310",
            "kind": "employee",
            "period": period,
            "wage": int(w),
            "base": int(b),
            "employer_amt": int(er),
            "employee_amt": int(ee),
            "individual_amt": 0,
            "assistance_amt": 0,
            "subsidy_amt": 0,
            "due_amt": int(er + ee),
            "paid_amt": 0,
            "status": "due",
            "due_date": due_date,
            "paid_at": None,
        }
        for r, w, b, er, ee in zip(
            with_wage, wage.tolist(), base.tolist(), employer_amt.tolist(), employee_amt.tolist(), strict=True
        )
    ] + [
        {
            "psn_no": r.psn_no,
            "emp_no": None,
            "insutype": "310",
            "kind": "flexible",
            "period": period,
            "wage": None,
            "base": int(b),
            "employer_amt": 0,
            "employee_amt": int(a),
            "individual_amt": 0,
            "assistance_amt": 0,
            "subsidy_amt": 0,
            "due_amt": int(a),
            "paid_amt": 0,
            "status": "due",
            "due_date": due_date,
            "paid_at": None,
        }
        for r, b, a in zip(flexible, fbase.tolist(), famt.tolist(), strict=True)
    ]
    for k in range(0, len(records), CHUNK):
        with engine.begin() as conn:
            conn.execute(insert(Contribution), records[k : k + CHUNK])
        progress("核定 contributions", min(k + CHUNK, len(records)), len(records))
    report.employees, report.flexible = len(with_wage), len(flexible)
    report.due = int(employer_amt.sum() + employee_amt.sum() + famt.sum())
    report.retirees_credited = _retiree_credits(engine, policy, retirees, period, last, actor, progress)
    if pay:
        report.paid = collect(
            engine,
            period,
            when=datetime.combine(due_date, datetime.min.time()),
            actor=actor,
            progress=progress,
        )
    with unit_of_work(engine) as s:
        audit.record(
            s,
            actor=actor,
            action="contribution_run",
            entity="contribution",
            entity_id=str(period),
            after={
                "employees": report.employees,
                "flexible": report.flexible,
                "retirees": report.retirees_credited,
                "skipped_no_wage": len(report.skipped_no_wage),
                "due": report.due,
                "paid": report.paid,
            },
        )
    return report


def _retiree_credits(
    engine, policy, retirees: list[str], period: int, last: date, actor: str, progress: Progress
) -> int:
    """退休 account credits for the month, once: a contribution row of kind 'retiree' marks it done."""
    amount = policy.employee.retiree_account_credit
    with unit_of_work(engine) as s:
        done = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period, Contribution.kind == "retiree"
                )
            )
        )
        have_account = (
            set(s.scalars(select(PersonalAccount.psn_no).where(PersonalAccount.psn_no.in_(retirees))))
            if len(retirees) < 30_000
            else set(s.scalars(select(PersonalAccount.psn_no)))
        )
    todo = [p for p in retirees if p not in done and p in have_account]
    when = datetime.combine(last, datetime.min.time())
    for k in range(0, len(todo), CHUNK):
        part = todo[k : k + CHUNK]
        with unit_of_work(engine) as s:
            s.execute(
                insert(Contribution),
                [
                    {
                        "psn_no": p,
                        "emp_no": None,
                        "insutype": "310",
                        "kind": "retiree",
                        "period": period,
                        "wage": None,
                        "base": 0,
                        "employer_amt": 0,
                        "employee_amt": amount,
                        "individual_amt": 0,
                        "assistance_amt": 0,
                        "subsidy_amt": 0,
                        "due_amt": amount,
                        "paid_amt": amount,
                        "status": "paid",
                        "due_date": last,
                        "paid_at": when,
                    }
                    for p in part
                ],
            )
            s.execute(
                update(PersonalAccount)
                .where(PersonalAccount.psn_no.in_(part))
                .values(balance=PersonalAccount.balance + amount)
            )
            legs = [ledger.Posting(ledger.FUND_EXPENSE, amount * len(part), "310100")] + [
                ledger.Posting(ledger.PERSONAL_ACCOUNT, -amount, "310200", None, p) for p in part
            ]
            write_entry(s, "retiree_credit", legs, when=when, memo=f"退休人员个人账户划入 {period}")
        progress("退休划账 retiree credits", min(k + CHUNK, len(todo)), len(todo))
    return len(todo)


def collect(
    engine: Engine,
    period: int,
    *,
    emp_no: str | None = None,
    when: datetime,
    actor: str = "cli",
    progress: Progress = _noop,
) -> int:
    """Collect what is due for ``period`` (one employer, or everyone): one receipt entry per payer group,
    account credits for the employee shares, one more contribution month for each 职工 paid."""
    conds = [Contribution.period == period, Contribution.status == "due"]
    if emp_no:
        conds.append(Contribution.emp_no == emp_no)
    with unit_of_work(engine, write=False) as s:
        rows = s.execute(
            select(
                Contribution.id,
                Contribution.psn_no,
                Contribution.emp_no,
                Contribution.kind,
                Contribution.employer_amt,
                Contribution.employee_amt,
                Contribution.individual_amt,
                Contribution.assistance_amt,
                Contribution.subsidy_amt,
                Contribution.due_amt,
            )
            .where(*conds)
            .order_by(Contribution.emp_no, Contribution.id)
        ).all()
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.emp_no or r.kind, []).append(r)
    total, done = 0, 0
    for payer, part in groups.items():
        for k in range(0, len(part), CHUNK):
            chunk = part[k : k + CHUNK]
            legs: list[ledger.Posting] = []
            credits = []
            for r in chunk:
                if r.kind == "employee":
                    legs += ledger.employee_contribution_postings(r.psn_no, r.employer_amt, r.employee_amt)
                    if r.employee_amt:
                        credits.append({"p": r.psn_no, "x": r.employee_amt})
                elif r.kind == "flexible":
                    legs += ledger.flexible_contribution_postings(r.psn_no, r.employee_amt)
                else:
                    legs += ledger.resident_contribution_postings(
                        r.psn_no, r.individual_amt, r.assistance_amt, r.subsidy_amt
                    )
            with unit_of_work(engine) as s:
                ids = [r.id for r in chunk]
                changed = s.execute(
                    update(Contribution)
                    .where(Contribution.id.in_(ids), Contribution.status == "due")
                    .values(status="paid", paid_amt=Contribution.due_amt, paid_at=when)
                ).rowcount
                if changed != len(ids):  # collected meanwhile by someone else: do not post twice
                    raise InputError(f"contribution: {len(ids) - changed} 条已被其他操作收缴，请重试")
                if credits:
                    s.connection().execute(
                        update(PersonalAccount.__table__)
                        .where(PersonalAccount.__table__.c.psn_no == bindparam("p"))
                        .values(balance=PersonalAccount.__table__.c.balance + bindparam("x")),
                        credits,
                    )
                staff = [r.psn_no for r in chunk if r.kind in ("employee", "flexible")]
                if staff:
                    s.execute(
                        update(Enrollment)
                        .where(
                            Enrollment.psn_no.in_(staff),
                            Enrollment.insutype == "310",
                            Enrollment.psn_insu_stas == "1",
                        )
                        .values(contrib_months=Enrollment.contrib_months + 1)
                    )
                write_entry(s, "contribution", _merge_bank(legs), when=when, memo=f"{payer} {period}")
            total += sum(r.due_amt for r in chunk)
            done += len(chunk)
            progress("收缴 collection", done, len(rows))
    if rows:
        with unit_of_work(engine) as s:
            audit.record(
                s,
                actor=actor,
                action="collect",
                entity="contribution",
                entity_id=str(period),
                after={"rows": len(rows), "amount": total, "employer": emp_no},
            )
    return total


def _merge_bank(legs: list[ledger.Posting]) -> list[ledger.Posting]:
    """One fund_bank debit for the whole receipt (it is one transfer), the credits per person."""
    bank = sum(p.amount for p in legs if p.account == ledger.FUND_BANK)
    rest = [p for p in legs if p.account != ledger.FUND_BANK]
    return ([ledger.Posting(ledger.FUND_BANK, bank)] if bank else []) + rest


def declare_wages(
    engine: Engine,
    bundle: PolicyBundle,
    emp_no: str,
    month: str,
    wages: dict[str, int],
    *,
    actor: str = "cli",
) -> tuple[RunReport, list[str]]:
    """An employer's monthly wage declaration: contributions of its employees; names refused rows."""
    with unit_of_work(engine, write=False) as s:
        if s.get(Employer, emp_no) is None:
            raise InputError(f"emp_no: 单位不存在 {emp_no}")
        period, first, last = parse_month(month)
        staff = set(
            s.scalars(
                select(Enrollment.psn_no).where(
                    _active(first, last, Enrollment.insutype == "310", Enrollment.emp_no == emp_no)
                )
            )
        )
    problems = [f"psn_no {p}: 不是 {emp_no} 本月在职参保职工" for p in wages if p not in staff]
    problems += [f"psn_no {p}: 工资不能为负" for p, w in wages.items() if w < 0]
    ok = {p: w for p, w in wages.items() if p in staff and w >= 0}
    report = run_month(engine, bundle, month, wages=ok, actor=actor) if ok else RunReport(period)
    return report, problems


def run_residents(
    engine: Engine,
    bundle: PolicyBundle,
    year: int,
    *,
    pay: bool = False,
    actor: str = "cli",
    progress: Progress = _noop,
) -> RunReport:
    """居民 contributions for ``year``: individual share, 资助参保 by identity, government subsidy."""
    policy = contribution_policy(bundle, date(year, 1, 1))
    period = year * 100
    first, last = date(year, 1, 1), date(year, 12, 31)
    report = RunReport(period)
    with unit_of_work(engine) as s:
        psn = s.scalars(
            select(Enrollment.psn_no).where(_active(first, last, Enrollment.insutype == "390"))
        ).all()
        s.execute(
            delete(Contribution).where(
                Contribution.period == period, Contribution.kind == "resident", Contribution.status == "due"
            )
        )
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period, Contribution.kind == "resident"
                )
            )
        )
        ids: dict[str, list[str]] = {}
        for p, t, b, e in s.execute(
            select(Identity.psn_no, Identity.psn_idet_type, Identity.begntime, Identity.endtime)
        ):
            if b <= first and (e is None or e >= first):
                ids.setdefault(p, []).append(t)
    r = policy.resident
    records = []
    for p in psn:
        if p in paid:
            continue
        share = max((r.assistance_shares.get(i, 0) for i in ids.get(p, [])), default=0)
        assisted = (r.individual * share + 5_000) // 10_000
        records.append(
            {
                "psn_no": p,
                "emp_no": None,
                "insutype": "390",
                "kind": "resident",
                "period": period,
                "wage": None,
                "base": 0,
                "employer_amt": 0,
                "employee_amt": 0,
                "individual_amt": r.individual - assisted,
                "assistance_amt": assisted,
                "subsidy_amt": r.subsidy,
                "due_amt": r.individual - assisted,
                "paid_amt": 0,
                "status": "due",
                "due_date": date(year - 1, 12, 31),
                "paid_at": None,
            }
        )
    for k in range(0, len(records), CHUNK):
        with engine.begin() as conn:
            conn.execute(insert(Contribution), records[k : k + CHUNK])
        progress("居民缴费 residents", min(k + CHUNK, len(records)), len(records))
    report.residents = len(records)
    report.due = sum(x["due_amt"] for x in records)
    if pay:
        report.paid = collect(engine, period, when=datetime(year - 1, 12, 31), actor=actor, progress=progress)
    return report
