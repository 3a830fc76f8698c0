"""Payment runs in the store (月度预结算、年度清算): written whole in the caller's transaction — the run, its
priced cases, its hospital lines and their ledger entries — so a crash leaves nothing and the run is simply
run again; a re-run supersedes the current run of the same period and reverses its entries in the same
transaction (nothing is replaced silently: the summary keeps the version it replaced and the difference)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.funds.journal import post_many
from yibao.funds.ledger import Posting
from yibao.money import parse_amount
from yibao.payment.year_end import MonthsPaid
from yibao.store import audit
from yibao.store.bulk import insert_rows
from yibao.store.tables import LedgerEntry, LedgerPosting, PaymentCase, PaymentLine, PaymentRun

POSTED, SUPERSEDED = "posted", "superseded"
ENTRY_TYPES = {"month": "case_payment", "clear": "case_clearing"}
REVERSAL = "case_reversal"  # ledger_entry.entry_type is VARCHAR(20): PostgreSQL refuses a longer name


@dataclass
class NewLine:
    """A hospital line to write, with the legs of its ledger entry."""

    row: dict  # PaymentLine columns except id, run_id, entry_id
    legs: list[Posting] = field(default_factory=list)


class RunExists(ValueError):
    """The period already has a posted run (re-run only when asked)."""


def current_run(s: Session, kind: str, year: int, month: int = 0) -> PaymentRun | None:
    return s.scalar(
        select(PaymentRun).where(
            PaymentRun.kind == kind,
            PaymentRun.year == year,
            PaymentRun.month == month,
            PaymentRun.status == POSTED,
        )
    )


def current_runs(s: Session, year: int, kind: str = "month") -> list[PaymentRun]:
    return list(
        s.scalars(
            select(PaymentRun)
            .where(PaymentRun.kind == kind, PaymentRun.year == year, PaymentRun.status == POSTED)
            .order_by(PaymentRun.month)
        )
    )


def write_run(
    s: Session,
    *,
    kind: str,
    year: int,
    month: int,
    run: dict,
    cases: list[dict],
    lines: list[NewLine],
    actor: str,
    now: datetime,
    rerun: bool,
) -> PaymentRun:
    """The run with its cases, lines and ledger entries; the period's current run superseded if ``rerun``
    (else :class:`RunExists`)."""
    before = current_run(s, kind, year, month)
    if before is not None and not rerun:
        raise RunExists(f"{year}-{month:02d}" if month else str(year), before.version, before.created_at)
    version = 1 + (
        s.scalar(
            select(func.max(PaymentRun.version)).where(
                PaymentRun.kind == kind, PaymentRun.year == year, PaymentRun.month == month
            )
        )
        or 0
    )
    if before is not None:
        supersede(s, before, actor=actor, now=now)
        run = {**run, "summary": {**run["summary"], "replaced": replaced(before, run["summary"])}}
    new = PaymentRun(
        kind=kind,
        year=year,
        month=month,
        version=version,
        status=POSTED,
        created_at=now,
        created_by=actor,
        **run,
    )
    s.add(new)
    s.flush()
    insert_rows(s, PaymentCase, [{**c, "run_id": new.id} for c in cases])
    memo = f"{'月度预结算' if kind == 'month' else '年度清算'} {year}" + (f"-{month:02d}" if month else "")
    ids = post_many(s, [(ENTRY_TYPES[kind], ln.legs, now, memo) for ln in lines])
    s.add_all(PaymentLine(run_id=new.id, entry_id=eid, **ln.row) for ln, eid in zip(lines, ids, strict=True))
    s.flush()
    audit.record(
        s,
        actor=actor,
        action=Action.CLEAR if kind == "clear" else Action.PRE_SETTLE,
        entity="payment_run",
        entity_id=str(new.id),
        after={"year": year, "month": month, "version": version, **run["summary"].get("totals", {})},
    )
    return new


def replaced(before: PaymentRun, summary: dict) -> dict:
    """What a re-run replaced: the version, its totals, and the difference of each total (new − old, fen)."""
    old, new = before.summary.get("totals", {}), summary.get("totals", {})
    diff = {k: _fen(new[k]) - _fen(old[k]) for k in new if k in old}
    return {"version": before.version, "run": before.id, "totals": old, "difference_fen": diff}


def _fen(value) -> int:
    """A total as stored: fen (int) in a month run, a two-decimal string in a clearing."""
    return value if isinstance(value, int) else parse_amount(value)


def supersede(s: Session, run: PaymentRun, *, actor: str, now: datetime) -> None:
    """Mark ``run`` superseded and post the exact negation of each of its entries."""
    entry_ids = list(s.scalars(select(PaymentLine.entry_id).where(PaymentLine.run_id == run.id)))
    legs: dict[int, list[Posting]] = {}
    for p in s.scalars(
        select(LedgerPosting).where(LedgerPosting.entry_id.in_(entry_ids)).order_by(LedgerPosting.id)
    ):
        legs.setdefault(p.entry_id, []).append(
            Posting(p.account, -p.amount, p.fund_pay_type, p.fixmedins_code, p.psn_no)
        )
    memo = f"冲销 run {run.id} v{run.version}"
    post_many(s, [(REVERSAL, legs[e], now, memo) for e in entry_ids if e in legs])
    s.execute(update(PaymentRun).where(PaymentRun.id == run.id).values(status=SUPERSEDED))
    audit.record(
        s,
        actor=actor,
        action=Action.SUPERSEDE,
        entity="payment_run",
        entity_id=str(run.id),
        before={"status": POSTED},
        after={"status": SUPERSEDED},
    )


def run_lines(s: Session, run_id: int) -> list[PaymentLine]:
    return list(
        s.scalars(
            select(PaymentLine)
            .where(PaymentLine.run_id == run_id)
            .order_by(PaymentLine.fixmedins_code, PaymentLine.pool, PaymentLine.method)
        )
    )


def run_cases(s: Session, run_id: int, fixmedins_code: str | None = None) -> list[PaymentCase]:
    q = select(PaymentCase).where(PaymentCase.run_id == run_id)
    if fixmedins_code:
        q = q.where(PaymentCase.fixmedins_code == fixmedins_code)
    return list(s.scalars(q.order_by(PaymentCase.fixmedins_code, PaymentCase.setl_id)))


def entry_totals(s: Session, run_id: int) -> int:
    """Σ of the run's legs (0 for a balanced run): a cheap guard for tests and ``ledger check``."""
    return (
        s.scalar(
            select(func.coalesce(func.sum(LedgerPosting.amount), 0))
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .join(PaymentLine, PaymentLine.entry_id == LedgerEntry.id)
            .where(PaymentLine.run_id == run_id)
        )
        or 0
    )


def month_totals(s: Session, year: int) -> dict[tuple[str, str, str], MonthsPaid]:
    """Per (hospital, pool, method): what the year's current month runs owed, paid, withheld and took back."""
    acc: dict[tuple[str, str, str], list] = {}
    for ln in s.scalars(
        select(PaymentLine)
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(PaymentRun.kind == "month", PaymentRun.year == year, PaymentRun.status == POSTED)
    ):
        row = acc.setdefault((ln.fixmedins_code, ln.pool, ln.method), [0, 0, 0, defaultdict(int)])
        row[0] += ln.owed_fen
        row[1] += ln.paid_fen
        row[2] += ln.deposit_fen
        for fpt, fen in ln.detail.get("funds", ()):
            row[3][fpt] += fen
    return {k: MonthsPaid(o, p, d, dict(f)) for k, (o, p, d, f) in acc.items()}
