"""Where a session's transactions and savepoints stand relative to each other (事务嵌套)."""

from __future__ import annotations

from sqlalchemy.orm import SessionTransaction


def is_within(tx: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    """``tx`` is ``ancestor`` or nested inside it (a savepoint of it, at any depth). Work queued in ``tx``
    is undone when ``ancestor`` rolls back: the audit rows and the queued writes a unit of work keeps."""
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False
