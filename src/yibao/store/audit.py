"""Append-only, hash-chained audit log (审计日志).

Each row stores ``prev_hash`` (the previous row's hash) and ``row_hash`` =
SHA-256 of its own canonical content including ``prev_hash``. Editing, deleting
or inserting a row anywhere breaks the chain, which :func:`verify` reports.

Appends serialise on the single ``audit_head`` row: the UPDATE that bumps its
sequence takes the row lock (PostgreSQL) or the write lock (SQLite) first, so two
writers can never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from yibao.store.tables import AuditHead, AuditLog

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so what is hashed is exactly what the database gives back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))


def content_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> dict:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change)."""
    # One statement bumps the head and returns the new seq with the predecessor's hash: it also takes
    # the head's row lock (PostgreSQL) or the write lock (SQLite), so appends serialise here.
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.row_hash)
        .execution_options(synchronize_session=False)
    ).first()
    if head is None:
        session.execute(insert(AuditHead).values(id=1, seq=1, row_hash=GENESIS))
        seq, prev_hash = 1, GENESIS
    else:
        seq, prev_hash = int(head.seq), head.row_hash
    at = (at or datetime.now()).replace(tzinfo=None)
    before, after = _jsonable(before), _jsonable(after)
    entity_id = str(entity_id)
    row_hash = content_hash(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        prev_hash=prev_hash,
    )
    row = dict(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        prev_hash=prev_hash,
        row_hash=row_hash,
    )
    session.execute(insert(AuditLog).values(**row))
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(row_hash=row_hash)
        .execution_options(synchronize_session=False)
    )
    return row


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    problem: str | None = None
    seq: int | None = None


def verify(session: Session, chunk: int = 5000) -> VerifyResult:
    """Walk the chain from the first row; report the first row whose content or link is wrong."""
    prev_hash, expected_seq, rows, last_seq = GENESIS, 1, 0, 0
    start = 0
    while True:
        batch = session.scalars(
            select(AuditLog).where(AuditLog.seq > start).order_by(AuditLog.seq).limit(chunk)
        ).all()
        if not batch:
            break
        for r in batch:
            if r.seq != expected_seq:
                return VerifyResult(
                    False, rows, f"第 {expected_seq} 条缺失 (missing row; next is {r.seq})", expected_seq
                )
            if r.prev_hash != prev_hash:
                return VerifyResult(
                    False, rows, f"第 {r.seq} 条的前序哈希不符 (prev_hash does not link)", r.seq
                )
            digest = content_hash(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                entity=r.entity,
                entity_id=r.entity_id,
                before=r.before,
                after=r.after,
                prev_hash=r.prev_hash,
            )
            if digest != r.row_hash:
                return VerifyResult(False, rows, f"第 {r.seq} 条内容被修改 (content hash mismatch)", r.seq)
            prev_hash, expected_seq, rows, last_seq = r.row_hash, r.seq + 1, rows + 1, r.seq
        start = batch[-1].seq
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.row_hash != prev_hash):
        return VerifyResult(
            False,
            rows,
            f"链尾不符: head 在第 {head.seq} 条，日志止于第 {last_seq} 条 (rows removed from the end)",
            last_seq,
        )
    if head is None and rows:
        return VerifyResult(False, rows, "缺少链头 (audit_head missing)", None)
    return VerifyResult(True, rows)
