"""Store adapter: write one balanced journal entry (凭证) with its postings, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from yibao.funds.ledger import Posting
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
