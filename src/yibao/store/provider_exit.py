"""What is still outstanding for an institution that leaves (退出): its visits begun before the exit date and
not yet settled, the settlements made since, and its balances in the fund ledger. Read by
:mod:`yibao.providers.service.exits`."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.settlement.states import VisitStatus
from yibao.store.tables import LedgerPosting, Settlement, Visit

UNFINISHED = (VisitStatus.OPEN, VisitStatus.ADMITTED, VisitStatus.DISCHARGED)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def unfinished_visits(s: Session, fixmedins_code: str, before: date) -> list[Visit]:
    """Visits of the institution begun before ``before`` that are neither settled nor cancelled."""
    return list(
        s.scalars(
            select(Visit)
            .where(
                Visit.fixmedins_code == fixmedins_code,
                Visit.begntime < _start(before),
                Visit.status.in_([str(x) for x in UNFINISHED]),
            )
            .order_by(Visit.begntime, Visit.mdtrt_id)
        )
    )


def settled_since(s: Session, fixmedins_code: str, day: date) -> tuple[int, int]:
    """(settlement rows, fund paid in fen) the institution recorded from ``day`` on — reversals included with
    their negative amounts, so the figures are what stands."""
    n, fen = s.execute(
        select(func.count(), func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0)).where(
            Settlement.fixmedins_code == fixmedins_code, Settlement.setl_time >= _start(day)
        )
    ).one()
    return int(n), int(fen)


def ledger_balances(s: Session, fixmedins_code: str, accounts: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """The institution's balance (debit positive, fen) in each of ``accounts``, by (account, fund_pay_type);
    zero balances are left out."""
    rows = s.execute(
        select(LedgerPosting.account, LedgerPosting.fund_pay_type, func.sum(LedgerPosting.amount))
        .where(LedgerPosting.fixmedins_code == fixmedins_code, LedgerPosting.account.in_(accounts))
        .group_by(LedgerPosting.account, LedgerPosting.fund_pay_type)
    )
    return {(a, f or ""): int(v) for a, f, v in rows if v}
