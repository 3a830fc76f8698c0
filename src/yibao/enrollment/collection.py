"""收缴 (collection): what is due for a period is paid — one receipt entry per payer (an employer, or the
run's flexible workers / residents) with a leg per person, the employee shares credited to the accounts,
one more contribution month for each 职工 — in batches of whole payers, each one audited unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment.accounts import open_missing_accounts
from yibao.enrollment.periods import CHUNK, Progress, in_force, no_progress, period_span
from yibao.errors import InputError, NotFound
from yibao.funds import ledger
from yibao.funds.journal import post_many
from yibao.money import Fen
from yibao.store import audit
from yibao.store.bulk import add_to, in_
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Employer, Enrollment, PersonalAccount


def collect(
    engine: Engine,
    period: int,
    *,
    emp_no: str | None = None,
    when: datetime,
    actor: str = "cli",
    progress: Progress = no_progress,
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
    first, last = period_span(period)
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
            open_missing_accounts(s, [p for p, _ in credits])
            add_to(s, PersonalAccount, "psn_no", "balance", credits)
        if staff:  # the month counts on the 职工 enrollment it was due under
            s.execute(
                update(Enrollment)
                .where(in_(s, Enrollment.psn_no, staff), Enrollment.insutype == "310", in_force(first, last))
                .values(contrib_months=Enrollment.contrib_months + 1)
                .execution_options(synchronize_session=False)
            )
        post_many(s, entries)
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


def _legs(r) -> list[ledger.Posting]:
    if r.kind == "employee":
        return ledger.employee_contribution_postings(r.psn_no, r.employer_amt, r.employee_amt)
    if r.kind == "flexible":
        return ledger.flexible_contribution_postings(r.psn_no, r.employee_amt)
    return ledger.resident_contribution_postings(r.psn_no, r.individual_amt, r.assistance_amt, r.subsidy_amt)


def _merge_bank(legs: list[ledger.Posting]) -> list[ledger.Posting]:
    """One fund_bank debit for the whole receipt (it is one transfer), the credits per person."""
    bank = sum(p.amount for p in legs if p.account == ledger.FUND_BANK)
    rest = [p for p in legs if p.account != ledger.FUND_BANK]
    return ([ledger.Posting(ledger.FUND_BANK, bank)] if bank else []) + rest
