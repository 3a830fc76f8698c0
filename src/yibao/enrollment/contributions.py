"""Contribution runs (缴费核定): a month of 职工 contributions and 退休 account credits, and an employer's
wage declaration — computed with NumPy and written set-based, so 350,000 employees take seconds, not hours.
居民 years are :mod:`yibao.enrollment.residents`.

Collection (收缴) is :mod:`yibao.enrollment.collection`; the 退休 credits go through
:mod:`yibao.enrollment.accounts`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy import Engine, and_, delete, func, select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.enrollment.accounts import credit_retirees, open_missing_accounts
from yibao.enrollment.collection import collect
from yibao.enrollment.periods import CHUNK, Progress, in_force, no_progress, parse_month
from yibao.enrollment.service import contribution_policy
from yibao.errors import InputError, NotFound
from yibao.money import apply_ratio_array, fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.bulk import analyze, in_, insert_rows
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Employer, Enrollment


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
    assisted: int = 0  # 居民 with 资助参保
    assistance: int = 0  # fen paid by the medical-assistance fund (资助参保)
    subsidy: int = 0  # fen of government subsidy
    employer_amt: int = 0  # fen, 职工 employer shares (to the pool)
    employee_amt: int = 0  # fen, 职工 employee shares (to the accounts)
    flexible_amt: int = 0  # fen, 灵活就业 (to the pool)


def _latest_wages(s: Session, period: int, persons: set[str] | None = None) -> dict[str, int]:
    """Each person's most recent declared wage up to and including ``period`` (a declaration made for the
    period itself wins over earlier months)."""
    latest = (
        select(Contribution.psn_no, func.max(Contribution.period).label("p"))
        .where(Contribution.kind == "employee", Contribution.period <= period, Contribution.wage.is_not(None))
        .group_by(Contribution.psn_no)
        .subquery()
    )
    q = select(Contribution.psn_no, Contribution.wage).join(
        latest,
        and_(
            latest.c.psn_no == Contribution.psn_no,
            latest.c.p == Contribution.period,
            Contribution.kind == "employee",
        ),
    )
    if persons is not None:
        q = q.where(in_(s, Contribution.psn_no, persons))
    return {p: int(w) for p, w in s.execute(q)}


def _employee_records(
    policy, period: int, due_date: date, staff: list, wages: dict[str, int]
) -> tuple[list[dict], dict[str, int]]:
    """Contribution rows of 在职 employees with a wage (vectorised), and the totals."""
    psn = [r.psn_no for r in staff]
    wage = np.array([wages[p] for p in psn], dtype=np.int64)
    lo, hi = rules.base_bounds(policy)
    base = np.clip(wage, lo, hi)
    er = apply_ratio_array(base, policy.employee.employer_rate)
    ee = apply_ratio_array(base, policy.employee.employee_rate)
    records = [
        {
            "psn_no": p,
            "emp_no": r.emp_no,
            "insutype": "310",
            "kind": "employee",
            "period": period,
            "wage": w,
            "base": b,
            "employer_amt": x,
            "employee_amt": y,
            "individual_amt": 0,
            "assistance_amt": 0,
            "subsidy_amt": 0,
            "due_amt": x + y,
            "paid_amt": 0,
            "status": "due",
            "due_date": due_date,
            "paid_at": None,
        }
        for p, r, w, b, x, y in zip(
            psn, staff, wage.tolist(), base.tolist(), er.tolist(), ee.tolist(), strict=True
        )
    ]
    return records, {"employer_amt": int(er.sum()), "employee_amt": int(ee.sum())}


def _flexible_records(policy, period: int, due_date: date, flexible: list) -> tuple[list[dict], int]:
    """灵活就业: the chosen base, kept within this period's bounds (the average wage changes yearly)."""
    lo, hi = rules.base_bounds(policy)
    base = np.clip(np.array([r.flexible_base for r in flexible], dtype=np.int64), lo, hi)
    amt = apply_ratio_array(base, policy.employee.flexible_rate)
    records = [
        {
            "psn_no": r.psn_no,
            "emp_no": None,
            "insutype": "310",
            "kind": "flexible",
            "period": period,
            "wage": None,
            "base": b,
            "employer_amt": 0,
            "employee_amt": a,
            "individual_amt": 0,
            "assistance_amt": 0,
            "subsidy_amt": 0,
            "due_amt": a,
            "paid_amt": 0,
            "status": "due",
            "due_date": due_date,
            "paid_at": None,
        }
        for r, b, a in zip(flexible, base.tolist(), amt.tolist(), strict=True)
    ]
    return records, int(amt.sum())


def insert_contributions(s: Session, records: list[dict], stage: str, progress: Progress) -> None:
    """Contribution rows written CHUNK at a time, the progress told after each."""
    for k in range(0, len(records), CHUNK):
        insert_rows(s, Contribution, records[k : k + CHUNK])
        progress(stage, min(k + CHUNK, len(records)), len(records))


def run_month(
    engine: Engine,
    bundle: PolicyBundle,
    month: str,
    *,
    wages: dict[str, int] | None = None,
    pay: bool = False,
    actor: str = "cli",
    progress: Progress = no_progress,
) -> RunReport:
    """Contributions of every active 在职 employee and 灵活就业 for ``month`` (wage from ``wages``, else the
    person's declaration for the month, else their last earlier one), and the month's credit to every
    退休's account. Rerunning replaces what is still due and never touches what was paid."""
    period, first, last = parse_month(month)
    policy = contribution_policy(bundle, first)
    if wages is not None:
        bad = sorted(p for p, w in wages.items() if w < 0)
        if bad:
            raise InputError(f"wage: 工资不能为负 (psn_no {', '.join(bad[:5])})")
    report = RunReport(period)
    due_date = date(first.year + (first.month == 12), first.month % 12 + 1, 15)
    with unit_of_work(engine) as s:
        rows = s.execute(
            select(
                Enrollment.psn_no,
                Enrollment.emp_no,
                Enrollment.flexible_base,
                Enrollment.psn_type,
                Enrollment.psn_insu_stas,
                Enrollment.enddate,
            )
            .where(in_force(first, last, Enrollment.insutype == "310"))
            .order_by(Enrollment.psn_no, Enrollment.begndate.desc())
        ).all()
        latest: dict[str, object] = {}
        for r in rows:  # one row a person (the latest start), in psn_no order
            latest.setdefault(r.psn_no, r)
        rows = list(latest.values())
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period,
                    Contribution.status == "paid",
                    Contribution.kind.in_(("employee", "flexible")),
                )
            )
        )
        source = _latest_wages(s, period)
        if wages is not None:
            source.update(wages)
        employees = [
            r
            for r in rows
            if r.psn_type.startswith("11") and r.flexible_base is None and r.psn_no not in paid
        ]
        flexible = [
            r
            for r in rows
            if r.psn_type.startswith("11") and r.flexible_base is not None and r.psn_no not in paid
        ]
        # the month's 退休 credit goes to accounts still open at the month's end
        retirees = [
            r.psn_no
            for r in rows
            if r.psn_type.startswith("12")
            and r.psn_insu_stas == "1"
            and (r.enddate is None or r.enddate >= last)
        ]
        with_wage = [r for r in employees if r.psn_no in source]
        report.skipped_no_wage = [r.psn_no for r in employees if r.psn_no not in source]
        emp_records, totals = _employee_records(policy, period, due_date, with_wage, source)
        flex_records, flex_total = _flexible_records(policy, period, due_date, flexible)
        s.execute(
            delete(Contribution).where(
                Contribution.period == period,
                Contribution.status == "due",
                Contribution.kind.in_(("employee", "flexible")),
            )
        )
        insert_contributions(s, emp_records + flex_records, "核定 contributions", progress)
    analyze(engine, Contribution)  # the collection reads these rows back by id
    report.employees, report.flexible = len(with_wage), len(flexible)
    report.employer_amt, report.employee_amt = totals["employer_amt"], totals["employee_amt"]
    report.flexible_amt = flex_total
    report.due = report.employer_amt + report.employee_amt + report.flexible_amt
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
            action=Action.CONTRIBUTION_RUN,
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
    if not amount:
        return 0
    with unit_of_work(engine) as s:
        done = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period, Contribution.kind == "retiree"
                )
            )
        )
        todo = [p for p in dict.fromkeys(retirees) if p not in done]
        open_missing_accounts(s, todo)
    for k in range(0, len(todo), CHUNK):
        with unit_of_work(engine) as s:
            credit_retirees(s, todo[k : k + CHUNK], amount, period, last, actor)
        progress("退休划账 retiree credits", min(k + CHUNK, len(todo)), len(todo))
    return len(todo)


def declare_wages(
    engine: Engine,
    bundle: PolicyBundle,
    emp_no: str,
    month: str,
    wages: dict[str, int],
    *,
    actor: str = "cli",
) -> tuple[RunReport, list[str]]:
    """An employer's monthly wage declaration (工资申报): the contributions of the employees it names,
    replacing what is still due for them; every other employer's rows are left alone. Returns the report
    and the refused rows (not an active employee of this employer in the month, negative wage)."""
    period, first, last = parse_month(month)
    policy = contribution_policy(bundle, first)
    due_date = date(first.year + (first.month == 12), first.month % 12 + 1, 15)
    report = RunReport(period)
    with unit_of_work(engine) as s:
        if s.get(Employer, emp_no) is None:
            raise NotFound(f"emp_no: 单位不存在 {emp_no}")
        staff = {
            r.psn_no: r
            for r in s.execute(
                select(
                    Enrollment.psn_no, Enrollment.emp_no, Enrollment.flexible_base, Enrollment.psn_type
                ).where(in_force(first, last, Enrollment.insutype == "310", Enrollment.emp_no == emp_no))
            )
            if r.psn_type.startswith("11") and r.flexible_base is None
        }
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period,
                    Contribution.status == "paid",
                    Contribution.kind == "employee",
                    in_(s, Contribution.psn_no, wages),
                )
            )
        )
        problems = [f"psn_no {p}: 不是 {emp_no} 本月在职参保职工" for p in wages if p not in staff]
        problems += [f"psn_no {p}: 工资不能为负" for p, w in wages.items() if p in staff and w < 0]
        problems += [f"psn_no {p}: {month} 已缴费，不能重新申报" for p in wages if p in staff and p in paid]
        ok = {p: w for p, w in wages.items() if p in staff and w >= 0 and p not in paid}
        if ok:
            records, totals = _employee_records(policy, period, due_date, [staff[p] for p in ok], ok)
            for k in range(0, len(ok), CHUNK):
                part = list(ok)[k : k + CHUNK]
                s.execute(
                    delete(Contribution).where(
                        Contribution.period == period,
                        Contribution.status == "due",
                        Contribution.kind == "employee",
                        in_(s, Contribution.psn_no, part),
                    )
                )
            insert_rows(s, Contribution, records)
            report.employees = len(records)
            report.employer_amt, report.employee_amt = totals["employer_amt"], totals["employee_amt"]
            report.due = report.employer_amt + report.employee_amt
        audit.record(
            s,
            actor=actor,
            action=Action.DECLARE_WAGES,
            entity="employer",
            entity_id=emp_no,
            after={
                "period": period,
                "employees": report.employees,
                "due": fmt_fen(report.due),
                "refused": problems[:50],
            },
        )
    return report, problems
