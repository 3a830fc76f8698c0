"""Store adapter: write one balanced journal entry (凭证) with its postings, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from yibao.funds.ledger import Posting
from yibao.store.bulk import insert_rows
from yibao.store.tables import LedgerEntry, LedgerPosting


def write_entry(
    session: Session,
    entry_type: str,
    legs: list[Posting],
    *,
    when: datetime,
    setl_id: str | None = None,
    fixmedins_code: str | None = None,
    psn_no: str | None = None,
    memo: str | None = None,
) -> int:
    if sum(p.amount for p in legs) != 0:
        raise ValueError(f"unbalanced {entry_type} entry")
    entry_id = session.execute(
        insert(LedgerEntry)
        .values(
            entry_type=entry_type,
            setl_id=setl_id,
            fixmedins_code=fixmedins_code,
            psn_no=psn_no,
            posted_at=when,
            book_date=when.date(),
            memo=memo,
        )
        .returning(LedgerEntry.id)
    ).scalar_one()
    if legs:
        session.execute(
            insert(LedgerPosting),
            [
                {
                    "entry_id": entry_id,
                    "account": p.account,
                    "fund_pay_type": p.fund_pay_type,
                    "fixmedins_code": p.fixmedins_code or fixmedins_code,
                    "psn_no": p.psn_no,
                    "amount": p.amount,
                }
                for p in legs
            ],
        )
    return entry_id


def write_entries(
    session: Session,
    entries: list[tuple[str, list[Posting], datetime, str | None]],
) -> list[int]:
    """Many balanced entries at once — (entry_type, legs, when, memo) each — in two executemany
    statements (a contribution receipt per employer, not a round trip per employer)."""
    for entry_type, legs, _, _ in entries:
        if sum(p.amount for p in legs) != 0:
            raise ValueError(f"unbalanced {entry_type} entry")
    if not entries:
        return []
    ids = list(
        session.scalars(
            insert(LedgerEntry).returning(LedgerEntry.id, sort_by_parameter_order=True),
            [
                {
                    "entry_type": entry_type,
                    "setl_id": None,
                    "fixmedins_code": None,
                    "psn_no": None,
                    "posted_at": when,
                    "book_date": when.date(),
                    "memo": memo,
                }
                for entry_type, _, when, memo in entries
            ],
        )
    )
    rows = [
        {
            "entry_id": entry_id,
            "account": p.account,
            "fund_pay_type": p.fund_pay_type,
            "fixmedins_code": p.fixmedins_code,
            "psn_no": p.psn_no,
            "amount": p.amount,
        }
        for entry_id, (_, legs, _, _) in zip(ids, entries, strict=True)
        for p in legs
    ]
    insert_rows(session, LedgerPosting, rows)  # COPY on PostgreSQL: a month's receipts are ~10⁶ legs
    return ids
