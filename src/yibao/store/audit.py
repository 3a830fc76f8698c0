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
throughput of every writer together, and a writer holding it must never wait for another
lock (it would deadlock with a settlement that holds that lock and waits for the head at
its commit). So every unit of work appends its rows at its very end: a facade unit of work
(:class:`yibao.store.uow.UnitOfWork`) keeps them and, on PostgreSQL, sends the appends with
the COMMIT in one pipeline, the hash computed in the server (:func:`server_appends`: the
content's canonical JSON is built here, the predecessor's hash and seq are spliced in under
the lock), so the head is held for the server's own work and the WAL flush only — never
while Python waits for the GIL or the CPU; a session of :func:`yibao.store.db.unit_of_work`
keeps them (:func:`defer`) and appends them in its ``before_commit`` (:func:`append_pending`).
Rows recorded inside a savepoint that rolls back are dropped; nothing pending is ever lost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session, SessionTransaction

from yibao.audit_actions import Action, UnknownAction, action_name
from yibao.store.session_tx import is_within
from yibao.store.tables import AuditHead, AuditLog

__all__ = ["Action", "UnknownAction", "defer", "record", "record_many", "verify"]

GENESIS = "0" * 64
UOW_KEY = "yibao.uow"  # session.info key: the facade unit of work a session belongs to (its rows go there)
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
_INSERT = insert(_LOG)
_SET_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == literal_column("1"))
    .values(seq=bindparam("head_seq"), row_hash=bindparam("head_hash"))
)
# PostgreSQL, deferred appends: one statement locks the head (creating it at the first append), computes
# the row's hash from the canonical prefix and the predecessor's hash, bumps the head and inserts the row.
# In an UPDATE (and ON CONFLICT DO UPDATE) every SET expression reads the row as it was, and after waiting
# for the lock PostgreSQL re-reads the newest committed version: ``note`` receives the predecessor's hash,
# ``row_hash`` the new one, both from the same version the new ``seq`` was computed from.
_SERVER_APPEND = """
WITH head AS (
    INSERT INTO audit_head AS h (id, seq, note, row_hash)
    VALUES (1, 1, $1, encode(sha256(convert_to(
        $2 || '"prev_hash":"' || $1 || '","seq":1}', 'UTF8')), 'hex'))
    ON CONFLICT (id) DO UPDATE SET
        seq = h.seq + 1,
        note = h.row_hash,
        row_hash = encode(sha256(convert_to(
            $2 || '"prev_hash":"' || h.row_hash || '","seq":' || (h.seq + 1)::text || '}', 'UTF8')), 'hex')
    RETURNING h.seq, h.note, h.row_hash
)
INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before, after, prev_hash, row_hash)
SELECT head.seq, $3, $4, $5, $6, $7, CAST($8 AS JSON), CAST($9 AS JSON), head.note, head.row_hash
FROM head
"""


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
    target,
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

    ``target``: a facade unit of work (:class:`yibao.store.uow.UnitOfWork`), which appends its rows at its
    commit, or a :class:`Session`; a session of :func:`yibao.store.db.unit_of_work` defers them to its commit
    too (:func:`defer`). A deferred row's returned dict has no ``seq`` or hashes yet. ``action`` is an
    :class:`Action` (a string equal to one's value is taken as it); any other name raises
    :class:`UnknownAction` and nothing is recorded."""
    entry = _entry(actor, action, entity, entity_id, before, after, at)
    defer_to = getattr(target, "defer_audit", None) or getattr(target.info.get(UOW_KEY), "defer_audit", None)
    if defer_to is not None:
        defer_to(entry)
        return dict(entry)
    pending = target.info.get(_PENDING)
    if pending is not None:
        pending.append((target.get_nested_transaction() or target.get_transaction(), entry))
        return dict(entry)
    target.flush()  # the change itself first (as ORM autoflush did), then the lock is taken
    return append_rows(target.connection(), [entry])[0]


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
    session.flush()
    append_rows(session.connection(), rows)


def defer_entries(session: Session, rows: list[dict]) -> None:
    """Rows already built (a unit of work's deferred ones) handed to a session: appended at its commit when it
    defers (the chain's head locked last), else now."""
    pending = session.info.get(_PENDING)
    if pending is not None:
        tx = session.get_nested_transaction() or session.get_transaction()
        pending.extend((tx, entry) for entry in rows)
    elif rows:
        session.flush()
        append_rows(session.connection(), rows)


def append_rows(conn, rows: list[dict]) -> list[dict]:
    """Append rows in order on ``conn`` (through SQLAlchemy): the head bumped once for all of them (the
    statement that takes its lock), then the rows and the head's new hash. Returns the rows as stored."""
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
    return chained


def server_appends(rows: list[dict]) -> list[tuple[str, tuple]]:
    """PostgreSQL: the statements appending ``rows`` in order, the hash computed by the server under the head's
    lock (sent by a facade unit of work with its COMMIT, so the head is locked only while the server works)."""
    return [
        (
            _SERVER_APPEND,
            (
                GENESIS,
                _canonical_prefix(**e),
                e["at"],
                e["actor"],
                e["action"],
                e["entity"],
                e["entity_id"],
                json.dumps(e["before"]),
                json.dumps(e["after"]),
            ),
        )
        for e in rows
    ]


def defer(session: Session) -> None:
    """Collect this session's audit rows and append them at its commit (:func:`append_pending`)."""
    session.info.setdefault(_PENDING, [])


def drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """(``after_soft_rollback`` of the unit of work's sessions) Rows recorded inside a transaction or
    savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(tx, e) for tx, e in pending if not is_within(tx, previous_transaction)]


def append_pending(session: Session) -> None:
    """(``before_commit`` of the unit of work's sessions) Append the deferred rows, in the order recorded."""
    pending = session.info.get(_PENDING)
    if pending and session.get_nested_transaction() is None:
        session.info[_PENDING] = []
        session.flush()
        append_rows(session.connection(), [entry for _, entry in pending])


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
