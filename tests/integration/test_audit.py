"""The audit chain links every row and detects edits, deletions and truncation."""

from __future__ import annotations

import itertools

from sqlalchemy import delete, update

from yibao.cli import main
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog


def _write(engine, n: int) -> None:
    for i in range(n):
        with unit_of_work(engine) as s:
            audit.record(
                s,
                actor="tester",
                action="update",
                entity="person",
                entity_id=f"P{i}",
                before={"name": "甲", "n": i},
                after={"name": "乙", "n": i + 1},
            )


def test_chain_verifies_and_links(engine):
    _write(engine, 5)
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        rows = s.query(AuditLog).order_by(AuditLog.seq).all()
    assert result.ok and result.rows == 5
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))


def test_edited_row_is_detected(engine, capsys):
    _write(engine, 4)
    with unit_of_work(engine) as s:
        s.execute(update(AuditLog).where(AuditLog.seq == 2).values(after={"name": "丙", "n": 2}))
    with unit_of_work(engine) as s:
        result = audit.verify(s)
    assert not result.ok and result.seq == 2 and "修改" in result.problem
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "第 2 条" in err and err.count("\n") == 1


def test_deleted_and_truncated_rows_are_detected(engine):
    _write(engine, 4)
    with unit_of_work(engine) as s:
        s.execute(delete(AuditLog).where(AuditLog.seq == 4))
    with unit_of_work(engine) as s:
        assert not audit.verify(s).ok  # tail removed: head no longer matches
    with unit_of_work(engine) as s:
        s.execute(delete(AuditLog).where(AuditLog.seq == 2))
    with unit_of_work(engine) as s:
        result = audit.verify(s)
    assert not result.ok and result.seq == 2


def test_rolled_back_change_leaves_no_audit_row(engine):
    _write(engine, 1)
    try:
        with unit_of_work(engine) as s:
            audit.record(s, actor="t", action="x", entity="e", entity_id="1")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with unit_of_work(engine) as s:
        result = audit.verify(s)
    assert result.ok and result.rows == 1


def test_many_rows_at_once_chain_as_one_at_a_time(engine):
    """record_many (an import's changes): one head bump and one insert, the same links and hashes as
    record would write, before and after single rows; the chain verifies and a rollback leaves none."""
    _write(engine, 1)
    batch = [
        {"actor": "t", "action": "register", "entity": "identity", "entity_id": str(i), "after": {"n": i}}
        for i in range(3)
    ]
    with unit_of_work(engine) as s:
        audit.record_many(s, batch)
        audit.record_many(s, [])
    _write(engine, 1)
    try:
        with unit_of_work(engine) as s:
            audit.record_many(s, batch)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        rows = s.query(AuditLog).order_by(AuditLog.seq).all()
    assert result.ok and result.rows == 5
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5] and [r.entity_id for r in rows[1:4]] == ["0", "1", "2"]
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))


def test_many_rows_start_the_chain(engine):
    with unit_of_work(engine) as s:
        audit.record_many(s, [{"actor": "t", "action": "a", "entity": "e", "entity_id": "1"}] * 2)
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        first = s.query(AuditLog).order_by(AuditLog.seq).first()
    assert result.ok and result.rows == 2 and first.prev_hash == audit.GENESIS
