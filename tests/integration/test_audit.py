"""The audit chain links every row and detects edits, deletions and truncation."""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from yibao.cli import main
from yibao.store import audit
from yibao.store.audit import Action, UnknownAction
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog


def _write(engine, n: int) -> None:
    for i in range(n):
        with unit_of_work(engine) as s:
            audit.record(
                s,
                actor="tester",
                action=Action.UPDATE,
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
            audit.record(s, actor="t", action=Action.UPDATE, entity="e", entity_id="1")
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
        {
            "actor": "t",
            "action": Action.REGISTER,
            "entity": "identity",
            "entity_id": str(i),
            "after": {"n": i},
        }
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
        audit.record_many(s, [{"actor": "t", "action": "update", "entity": "e", "entity_id": "1"}] * 2)
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        first = s.query(AuditLog).order_by(AuditLog.seq).first()
    assert result.ok and result.rows == 2 and first.prev_hash == audit.GENESIS


def test_only_named_actions_are_recorded(engine):
    """An action is an Action (or the string it stores); any other name is refused before anything is
    written, by record and by record_many alike, appending at once or deferred to the commit."""
    _write(engine, 1)
    row = {"actor": "t", "entity": "person", "entity_id": "P1"}

    @contextmanager
    def at_once():  # no defer(): record appends immediately
        with Session(engine) as s, s.begin():
            yield s

    for opened in (at_once, lambda: unit_of_work(engine)):
        with opened() as s:
            with pytest.raises(UnknownAction, match="'review'"):
                audit.record(s, action="review", **row)
            with pytest.raises(UnknownAction, match="'Update'"):
                audit.record_many(s, [{**row, "action": Action.UPDATE}, {**row, "action": "Update"}])
            audit.record(s, action="update", **row)  # the stored string of a member is the member
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.seq)).all()
    assert result.ok and actions == ["update"] * 3 and all(type(a) is str for a in actions)


def test_action_values_are_the_stored_names():
    """The chain stores these strings: a renamed value would break every row already written with it."""
    assert {a.value for a in Action} == {
        *("register", "enroll", "suspend", "resume", "terminate", "transfer_out", "transfer_out_certificate"),
        *("transfer_in", "change_category", "bind", "unbind", "end", "revoke", "change", "cancel"),
        *("opening_balance", "account_credit", "retiree_credit", "contribution_run", "resident_run"),
        *("declare_wages", "collect", "pay", "import", "import_update", "load_region", "generate", "replace"),
        *("create", "passwd", "enable", "disable", "login", "login_failed"),
        *(
            "admit",
            "update",
            "discharge",
            "undo_discharge",
            "upload_fees",
            "cancel_fees",
            "settle",
            "reverse",
        ),
        *("request", "approve", "reject", "withdraw"),
        *("budget", "pre_settle", "clear", "supersede"),
        *("run_audit", "feedback", "screen"),
        *("confirm", "notify", "accept", "appeal", "expire", "uphold", "dismiss", "deduct"),
        *("apply", "ask_supplement", "supplement", "appoint_panel", "score", "conclude", "sign", "renew"),
        *("designate", "measure", "assess", "rescore"),
    }
    assert all(a.value == a.name.lower() for a in Action)
