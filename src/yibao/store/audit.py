"""Append-only, hash-chained audit log (审计日志).

Each row stores ``prev_hash`` (the previous row's hash) and ``row_hash`` =
SHA-256 of its own canonical content including ``prev_hash``. Editing, deleting
or inserting a row anywhere breaks the chain, which :func:`verify` reports.

Appends serialise on the single ``audit_head`` row (seq and hash of the last row):
the statement that bumps its sequence takes the row lock (PostgreSQL) or the write
lock (SQLite), so two writers can never chain onto the same predecessor, and the
lock is held until the transaction ends. The chain order is therefore the order in
which transactions took the head, which is also their commit order.

Because the head stays locked until commit, how long a writer holds it bounds the
throughput of every writer together. :func:`record` appends at once (one locking
statement, then the row and the head's new hash). A unit of work that calls
:func:`defer` instead collects its rows and appends them all at its very end with
:func:`commit_deferred`: on PostgreSQL the appends compute the hash in the server
(the content's canonical JSON is built here, the predecessor's hash and seq are
spliced in under the lock) and travel in one pipeline with the COMMIT, so the head
is held for the server's own work and the WAL flush only — never while Python waits
for the GIL or the CPU. Rows recorded inside a savepoint that rolls back are dropped;
rows still pending at a plain commit are appended then (nothing is ever lost).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, literal_column, select, update
from sqlalchemy.orm import Session, SessionTransaction

from yibao.audit_actions import Action, UnknownAction, action_name
from yibao.store.db import BEFORE_COMMIT, positional, send_and_commit
from yibao.store.session_tx import is_within
from yibao.store.tables import AuditHead, AuditLog

__all__ = ["Action", "UnknownAction", "commit_deferred", "defer", "record", "record_many", "verify"]

GENESIS = "0" * 64
_PENDING = "yibao.audit.pending"  # session.info key: rows of a deferring unit of work, in record order


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


def _canonical_prefix(
    *, at: datetime, actor: str, action: str, entity: str, entity_id: str, before: Any, after: Any
) -> str:
    """The canonical JSON of :func:`content_hash` up to (excluding) ``"prev_hash"`` and ``"seq"``, which
    sort last: ``prefix + '"prev_hash":"<hash>","seq":<n>}'`` is the complete canonical text."""
    payload = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))[:-1] + ","


_HEAD = AuditHead.__table__
_LOG = AuditLog.__table__
# Bump the head and return the new seq with the predecessor's hash. This is the statement that takes the
# head's row lock (PostgreSQL; SQLite's write lock is already held from BEGIN IMMEDIATE).
_BUMP = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1).returning(_HEAD.c.seq, _HEAD.c.row_hash)
)
_INSERT = insert(_LOG)
_SET_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == literal_column("1"))
    .values(seq=bindparam("head_seq"), row_hash=bindparam("head_hash"))
)
# PostgreSQL: the row and the head's new hash in one statement (one round trip less under the lock).
_INSERT_AND_SET_HEAD = insert(_LOG).add_cte(_SET_HEAD.cte("head"))

# PostgreSQL, deferred appends: one statement locks the head (creating it at the first append), computes
# the row's hash from the canonical prefix and the predecessor's hash, bumps the head and inserts the row.
# In an UPDATE (and ON CONFLICT DO UPDATE) every SET expression reads the row as it was, and after waiting
# for the lock PostgreSQL re-reads the newest committed version: ``note`` receives the predecessor's hash,
# ``row_hash`` the new one, both from the same version the new ``seq`` was computed from.
_SERVER_APPEND = """
WITH head AS (
    INSERT INTO audit_head AS h (id, seq, note, row_hash)
    VALUES (1, 1, %(genesis)s, encode(sha256(convert_to(
        %(prefix)s || '"prev_hash":"' || %(genesis)s || '","seq":1}', 'UTF8')), 'hex'))
    ON CONFLICT (id) DO UPDATE SET
        seq = h.seq + 1,
        note = h.row_hash,
        row_hash = encode(sha256(convert_to(
            %(prefix)s || '"prev_hash":"' || h.row_hash || '","seq":' || (h.seq + 1)::text || '}', 'UTF8')), 'hex')
    RETURNING h.seq, h.note, h.row_hash
)
INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before, after, prev_hash, row_hash)
SELECT head.seq, %(at)s, %(actor)s, %(action)s, %(entity)s, %(entity_id)s,
       CAST(%(before)s AS JSON), CAST(%(after)s AS JSON), head.note, head.row_hash
FROM head
"""


_SERVER_APPEND_POSITIONAL = positional(_SERVER_APPEND)


def _entry(actor, action, entity, entity_id, before, after, at) -> dict:
    return {
        "at": (at or datetime.now()).replace(tzinfo=None),
        "actor": actor,
        "action": action_name(action),  # refuses a name that is not an Action, before anything is written
        "entity": entity,
        "entity_id": str(entity_id),
        "before": _jsonable(before),
        "after": _jsonable(after),
    }


def record(
    session: Session,
    *,
    actor: str,
    action: Action,
    entity: str,
    entity_id: str,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> dict:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change).

    ``action`` is an :class:`Action` (a string equal to one's value is taken as it); any other name raises
    :class:`UnknownAction` and nothing is recorded. In a unit of work that called :func:`defer`, the row is
    kept and appended by :func:`commit_deferred` (or at commit); the returned dict then has no ``seq`` or
    hashes yet."""
    entry = _entry(actor, action, entity, entity_id, before, after, at)
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.append((session.get_nested_transaction() or session.get_transaction(), entry))
        return dict(entry)
    return _append(session, entry)


def _append(session: Session, entry: dict) -> dict:
    session.flush()  # the change itself first (as ORM autoflush did), then the lock is taken
    conn = session.connection()
    head = conn.execute(_BUMP).first()
    if head is None:
        conn.execute(insert(_HEAD).values(id=1, seq=1, row_hash=GENESIS))
        seq, prev_hash = 1, GENESIS
    else:
        seq, prev_hash = int(head.seq), head.row_hash
    row_hash = content_hash(seq=seq, prev_hash=prev_hash, **entry)
    row = {"seq": seq, **entry, "prev_hash": prev_hash, "row_hash": row_hash}
    if conn.dialect.name == "postgresql":
        conn.execute(_INSERT_AND_SET_HEAD, {**row, "head_seq": seq, "head_hash": row_hash})
    else:
        conn.execute(_INSERT, row)
        conn.execute(_SET_HEAD, {"head_seq": seq, "head_hash": row_hash})
    return row


def record_many(session: Session, entries: list[dict]) -> None:
    """Append several rows (each the keyword arguments of :func:`record`: actor, action (an :class:`Action`),
    entity, entity_id, before, after) in the caller's transaction — the same chain as that many
    :func:`record` calls, but the head is bumped once for all of them and the rows go in one insert, so an
    import's thousands of changes cost three statements, not three per change. One unknown action refuses
    them all, before any is kept."""
    if not entries:
        return
    rows = [
        _entry(e["actor"], e["action"], e["entity"], e["entity_id"], e.get("before"), e.get("after"), None)
        for e in entries
    ]
    pending = session.info.get(_PENDING)
    if pending is not None:  # a deferring unit of work appends them at its end, in this order
        tx = session.get_nested_transaction() or session.get_transaction()
        pending.extend((tx, entry) for entry in rows)
        return
    _append_all(session, rows)


def _append_all(session: Session, rows: list[dict]) -> None:
    """Append rows in order: one row as :func:`_append` does; more with the head bumped once for all of them
    and the rows in one insert."""
    if len(rows) == 1:
        _append(session, rows[0])
        return
    session.flush()
    conn = session.connection()
    head = conn.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(seq=_HEAD.c.seq + len(rows))
        .returning(_HEAD.c.seq, _HEAD.c.row_hash)
    ).first()
    if head is None:
        conn.execute(insert(_HEAD).values(id=1, seq=len(rows), row_hash=GENESIS))
        seq, prev_hash = 0, GENESIS
    else:
        seq, prev_hash = int(head.seq) - len(rows), head.row_hash
    chained = []
    for entry in rows:
        seq += 1
        row_hash = content_hash(seq=seq, prev_hash=prev_hash, **entry)
        chained.append({"seq": seq, **entry, "prev_hash": prev_hash, "row_hash": row_hash})
        prev_hash = row_hash
    conn.execute(_INSERT, chained)
    conn.execute(_SET_HEAD, {"head_seq": seq, "head_hash": prev_hash})


def defer(session: Session) -> None:
    """Collect this unit of work's audit rows and append them at its end (:func:`commit_deferred`)."""
    session.info.setdefault(_PENDING, [])


def _take_pending(session: Session) -> list[dict]:
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    return [entry for _, entry in pending]


def commit_deferred(session: Session) -> None:
    """Append the deferred rows, in the order they were recorded, and commit the unit of work.

    PostgreSQL: the ORM's pending changes are flushed, then the appends and the COMMIT go to the server
    in one pipeline (the hash computed there), so the chain's head is locked only while the server works.
    Elsewhere the rows are appended here and the caller's unit of work commits as usual."""
    session.flush()
    entries = _take_pending(session)
    conn = session.connection()
    if conn.dialect.name != "postgresql" or conn.engine.echo or session.get_nested_transaction() is not None:
        if entries:  # (inside a savepoint the unit of work's own commit must do the committing)
            _append_all(session, entries)
        return
    sql, names = _SERVER_APPEND_POSITIONAL
    statements = []
    for e in entries:
        p = {**e, "genesis": GENESIS, "prefix": _canonical_prefix(**e)}
        p["before"], p["after"] = json.dumps(e["before"]), json.dumps(e["after"])
        statements.append((sql, tuple(p[n] for n in names)))
    send_and_commit(session, statements)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Rows recorded inside a transaction or savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(tx, e) for tx, e in pending if not is_within(tx, previous_transaction)]


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """A deferring unit of work that commits without :func:`commit_deferred` still appends its rows."""
    if session.info.get(_PENDING) and session.get_nested_transaction() is None:
        _append_all(session, _take_pending(session))


BEFORE_COMMIT.append(_append_pending)


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
