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
from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.enrollment.service import contribution_policy
from yibao.errors import InputError, NotFound
from yibao.funds import ledger
from yibao.funds.journal import write_entries
from yibao.money import Fen, apply_ratio_array, fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.bulk import add_to, analyze, in_, insert_rows
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Employer, Enrollment, Identity, PersonalAccount

CHUNK = 10_000
Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


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
    assisted: int = 0  # 居民 with 资助参保
    assistance: int = 0  # fen paid by the medical-assistance fund (资助参保)
    subsidy: int = 0  # fen of government subsidy
    employer_amt: int = 0  # fen, 职工 employer shares (to the pool)
    employee_amt: int = 0  # fen, 职工 employee shares (to the accounts)
    flexible_amt: int = 0  # fen, 灵活就业 (to the pool)


def _active(first: date, last: date, *conds):
    """Enrollments in force (正常) at some time between ``first`` and ``last``, whatever happened since: one
    terminated on the 20th (death, transfer) or suspended after the 1st still owes that month, and a run
    made after the month sees it as it was then."""
    return and_(
        Enrollment.begndate <= last,
        or_(Enrollment.enddate.is_(None), Enrollment.enddate >= first),
        or_(
            Enrollment.psn_insu_stas.in_(("1", "4")),
            and_(Enrollment.psn_insu_stas == "2", Enrollment.paus_insu_date > first),
        ),
        *conds,
    )


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


def _insert_chunked(s: Session, records: list[dict], stage: str, progress: Progress) -> None:
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
    progress: Progress = _noop,
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
            .where(_active(first, last, Enrollment.insutype == "310"))
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
        _insert_chunked(s, emp_records + flex_records, "核定 contributions", progress)
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
        _open_missing_accounts(s, todo)
    for k in range(0, len(todo), CHUNK):
        with unit_of_work(engine) as s:
            _credit_retirees(s, todo[k : k + CHUNK], amount, period, last, actor)
        progress("退休划账 retiree credits", min(k + CHUNK, len(todo)), len(todo))
    return len(todo)


def _credit_retirees(s: Session, part: list[str], amount: Fen, period: int, last: date, actor: str) -> None:
    """One chunk of the month's 退休 credits, in the caller's unit of work: the paid rows that mark them done,
    the balances, the journal entry (a leg per account) and the audit row."""
    when = datetime.combine(last, datetime.min.time())
    insert_rows(
        s,
        Contribution,
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
        .where(in_(s, PersonalAccount.psn_no, part))
        .values(balance=PersonalAccount.balance + amount)
        .execution_options(synchronize_session=False)
    )
    legs = [ledger.Posting(ledger.FUND_EXPENSE, amount * len(part), "310100")] + [
        ledger.Posting(ledger.PERSONAL_ACCOUNT, -amount, "310200", None, p) for p in part
    ]
    write_entries(s, [("retiree_credit", legs, when, f"退休人员个人账户划入 {period}")])
    audit.record(
        s,
        actor=actor,
        action=Action.RETIREE_CREDIT,
        entity="contribution",
        entity_id=str(period),
        after={"kind": "retiree", "rows": len(part), "each": amount, "amount": amount * len(part)},
    )


def _open_missing_accounts(s: Session, persons: list[str]) -> None:
    """A 职工 whose account row is missing (e.g. loaded by an older import) gets one before a credit."""
    for k in range(0, len(persons), CHUNK):
        part = persons[k : k + CHUNK]
        have = set(s.scalars(select(PersonalAccount.psn_no).where(in_(s, PersonalAccount.psn_no, part))))
        missing = [p for p in dict.fromkeys(part) if p not in have]
        insert_rows(s, PersonalAccount, [{"psn_no": p, "balance": 0, "status": "active"} for p in missing])


def _legs(r) -> list[ledger.Posting]:
    if r.kind == "employee":
        return ledger.employee_contribution_postings(r.psn_no, r.employer_amt, r.employee_amt)
    if r.kind == "flexible":
        return ledger.flexible_contribution_postings(r.psn_no, r.employee_amt)
    return ledger.resident_contribution_postings(r.psn_no, r.individual_amt, r.assistance_amt, r.subsidy_amt)


def collect(
    engine: Engine,
    period: int,
    *,
    emp_no: str | None = None,
    when: datetime,
    actor: str = "cli",
    progress: Progress = _noop,
) -> int:
    """Collect what is due for ``period`` (one employer, or everyone): one receipt entry per payer (an
    employer, or the run's flexible workers / residents), account credits for the employee shares, one
    more contribution month for each 职工 paid. Each batch is one unit of work with its own audit row.
    Returns the amount collected (fen)."""
    with unit_of_work(engine, write=False) as s:
        if emp_no and s.get(Employer, emp_no) is None:
            raise NotFound(f"emp_no: 单位不存在 {emp_no}")
        rows = _due(s, period, emp_no)
    total, done = 0, 0
    for batch in _payer_batches(rows):
        total += _collect_batch(engine, batch, period, when=when, actor=actor, emp_no=emp_no)
        done += sum(len(piece) for _, piece in batch)
        progress("收缴 collection", done, len(rows))
    return total


def _due(s: Session, period: int, emp_no: str | None) -> list:
    conds = [Contribution.period == period, Contribution.status == "due"]
    if emp_no:
        conds.append(Contribution.emp_no == emp_no)
    return s.execute(
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


def _payer_batches(rows: list) -> list[list[tuple[str, list]]]:
    """Batches of whole payer groups (a big employer is split at CHUNK rows): one transaction each."""
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.emp_no or r.kind, []).append(r)
    batches: list[list[tuple[str, list]]] = [[]]
    size = 0
    for payer, part in groups.items():
        for k in range(0, len(part), CHUNK):
            piece = part[k : k + CHUNK]
            if size and size + len(piece) > CHUNK:
                batches.append([])
                size = 0
            batches[-1].append((payer, piece))
            size += len(piece)
    return [b for b in batches if b]


def _collect_batch(
    engine: Engine, batch: list[tuple[str, list]], period: int, *, when: datetime, actor: str, emp_no
) -> Fen:
    """One batch collected in one unit of work: the rows paid, the accounts credited, the contribution
    months counted, the receipts posted and the audit row written — all or nothing."""
    year, month = divmod(period, 100)
    first = date(year, max(month, 1), 1)
    last = date(year, 12, 31) if month == 0 else date(year, month, calendar.monthrange(year, month)[1])
    chunk = [r for _, piece in batch for r in piece]
    entries = [
        ("contribution", _merge_bank([leg for r in piece for leg in _legs(r)]), when, f"{payer} {period}")
        for payer, piece in batch
    ]
    credits = [(r.psn_no, r.employee_amt) for r in chunk if r.kind == "employee" and r.employee_amt]
    staff = [r.psn_no for r in chunk if r.kind in ("employee", "flexible")]
    amount = Fen(sum(r.due_amt for r in chunk))
    with unit_of_work(engine) as s:
        ids = [r.id for r in chunk]
        changed = s.execute(
            update(Contribution)
            .where(in_(s, Contribution.id, ids), Contribution.status == "due")
            .values(status="paid", paid_amt=Contribution.due_amt, paid_at=when)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != len(ids):  # collected meanwhile by someone else: do not post twice
            raise InputError(f"contribution: {len(ids) - changed} 条已被其他操作收缴，请重试")
        if credits:
            _open_missing_accounts(s, [p for p, _ in credits])
            add_to(s, PersonalAccount, "psn_no", "balance", credits)
        if staff:  # the month counts on the 职工 enrollment it was due under
            s.execute(
                update(Enrollment)
                .where(in_(s, Enrollment.psn_no, staff), Enrollment.insutype == "310", _active(first, last))
                .values(contrib_months=Enrollment.contrib_months + 1)
                .execution_options(synchronize_session=False)
            )
        write_entries(s, entries)
        audit.record(
            s,
            actor=actor,
            action=Action.COLLECT,
            entity="contribution",
            entity_id=str(period),
            before={"status": "due", "rows": len(chunk)},
            after={
                "status": "paid",
                "rows": len(chunk),
                "amount": amount,
                "employer": emp_no,
                "accounts_credited": len(credits),  # each account's leg is in the receipt entry
                "account_credit": sum(x for _, x in credits),
            },
        )
    return amount


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
                ).where(_active(first, last, Enrollment.insutype == "310", Enrollment.emp_no == emp_no))
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


def run_residents(
    engine: Engine,
    bundle: PolicyBundle,
    year: int,
    *,
    pay: bool = False,
    actor: str = "cli",
    progress: Progress = _noop,
) -> RunReport:
    """居民 contributions for ``year``: individual share, 资助参保 by identity (the largest share of the
    identities valid on 1 January, or on the enrollment's start if later), government subsidy."""
    policy = contribution_policy(bundle, date(year, 1, 1))
    period = year * 100
    first, last = date(year, 1, 1), date(year, 12, 31)
    report = RunReport(period)
    with unit_of_work(engine) as s:
        starts: dict[str, date] = {}
        for p, b in s.execute(
            select(Enrollment.psn_no, Enrollment.begndate).where(
                _active(first, last, Enrollment.insutype == "390")
            )
        ):
            starts[p] = min(starts.get(p, b), b)
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period,
                    Contribution.kind == "resident",
                    Contribution.status == "paid",
                )
            )
        )
        ids: dict[str, list[tuple[str, date, date | None]]] = {}
        for p, t, b, e in s.execute(
            select(Identity.psn_no, Identity.psn_idet_type, Identity.begntime, Identity.endtime).where(
                Identity.psn_idet_type.in_(list(policy.resident.assistance_shares))
            )
        ):
            ids.setdefault(p, []).append((t, b, e))
        records = []
        for p, start in starts.items():
            if p in paid:
                continue
            day = max(first, start)
            valid = [t for t, b, e in ids.get(p, ()) if b <= day and (e is None or e >= day)]
            individual, assisted, subsidy = rules.resident_contribution(policy, valid)
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
                    "individual_amt": individual,
                    "assistance_amt": assisted,
                    "subsidy_amt": subsidy,
                    "due_amt": individual,
                    "paid_amt": 0,
                    "status": "due",
                    "due_date": date(year - 1, 12, 31),
                    "paid_at": None,
                }
            )
        s.execute(
            delete(Contribution).where(
                Contribution.period == period, Contribution.kind == "resident", Contribution.status == "due"
            )
        )
        _insert_chunked(s, records, "居民缴费 residents", progress)
        report.residents = len(records)
        report.due = sum(x["due_amt"] for x in records)
        report.assisted = sum(1 for x in records if x["assistance_amt"])
        report.assistance = sum(x["assistance_amt"] for x in records)
        report.subsidy = sum(x["subsidy_amt"] for x in records)
        audit.record(
            s,
            actor=actor,
            action=Action.RESIDENT_RUN,
            entity="contribution",
            entity_id=str(period),
            after={
                "residents": report.residents,
                "due": report.due,
                "assisted": report.assisted,
                "assistance": report.assistance,
                "subsidy": report.subsidy,
            },
        )
    analyze(engine, Contribution)
    if pay:
        report.paid = collect(engine, period, when=datetime(year - 1, 12, 31), actor=actor, progress=progress)
    return report
