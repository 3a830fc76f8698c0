"""Store adapter: the one writer of the fund ledger (记账凭证): a balanced journal entry and its postings, in
the caller's transaction.

:func:`post` writes one entry — in a facade unit of work (a settlement, a reversal) as one declared write that
travels with the call's other writes, or in a session (an account credit, a transfer). :func:`post_many`
writes a batch of entries at once (a month's contributions: the legs by COPY on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from yibao.funds.ledger import Posting
from yibao.store.bulk import insert_rows
from yibao.store.statements import Write, run
from yibao.store.tables import LedgerEntry, LedgerPosting

ENTRY_KEYS = ("entry_type", "setl_id", "fixmedins_code", "psn_no", "posted_at", "book_date", "memo")
LEG_KEYS = ("account", "fund_pay_type", "fixmedins_code", "psn_no", "amount")
# an entry and its legs: one statement on PostgreSQL (the entry in a CTE), so it joins the call's other writes
ENTRY = Write.with_children(
    "ledger_entry", LedgerEntry.__table__, ENTRY_KEYS, LedgerPosting.__table__, LEG_KEYS, "entry_id"
)


def _checked(entry_type: str, legs: list[Posting]) -> None:
    if sum(p.amount for p in legs) != 0:
        raise ValueError(f"unbalanced {entry_type} entry")


def entry_params(
    entry_type: str,
    legs: list[Posting],
    *,
    when: datetime,
    setl_id: str | None = None,
    fixmedins_code: str | None = None,
    psn_no: str | None = None,
    memo: str | None = None,
) -> dict:
    """The parameters of :data:`ENTRY` for one balanced entry (a leg without an institution takes the
    entry's)."""
    _checked(entry_type, legs)
    return {
        "entry_type": entry_type,
        "setl_id": setl_id,
        "fixmedins_code": fixmedins_code,
        "psn_no": psn_no,
        "posted_at": when,
        "book_date": when.date(),
        "memo": memo,
        "children": [
            {
                "account": p.account,
                "fund_pay_type": p.fund_pay_type,
                "fixmedins_code": p.fixmedins_code or fixmedins_code,
                "psn_no": p.psn_no,
                "amount": p.amount,
            }
            for p in legs
        ],
    }


def post(target, entry_type: str, legs: list[Posting], **kw) -> None:
    """One balanced entry: queued in a facade unit of work (``target.write``), or written now in a session."""
    params = entry_params(entry_type, legs, **kw)
    if isinstance(target, Session):
        target.flush()
        run(target.connection(), ENTRY, params)
    else:
        target.write(ENTRY, params)


def post_many(session: Session, entries: list[tuple[str, list[Posting], datetime, str | None]]) -> list[int]:
    """Many balanced entries at once — (entry_type, legs, when, memo) each — in two statements (a contribution
    receipt per employer, not a round trip per employer)."""
    for entry_type, legs, _, _ in entries:
        _checked(entry_type, legs)
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
        {"entry_id": entry_id, **{k: getattr(p, k) for k in LEG_KEYS}}
        for entry_id, (_, legs, _, _) in zip(ids, entries, strict=True)
        for p in legs
    ]
    insert_rows(session, LedgerPosting, rows)  # COPY on PostgreSQL: a month's receipts are ~10⁶ legs
    return ids
