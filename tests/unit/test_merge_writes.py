"""Queued writes sent as one statement of data-modifying CTEs (PostgreSQL): which writes may share a
statement, how their parameters are renumbered and how a write's own WITH list is hoisted."""

from __future__ import annotations

from yibao.store.db import merge_writes

INS_A = "INSERT INTO a (x, y) VALUES ($1::INTEGER, $2::VARCHAR)"
INS_B = "INSERT INTO b (x) VALUES ($1::INTEGER)"
UPD_C = "UPDATE c SET x=$1::INTEGER WHERE c.id = $2::INTEGER"
LEDGER = "WITH entry AS (INSERT INTO e (k) VALUES ($1) RETURNING id) INSERT INTO p (e_id, v) SELECT entry.id, $2 FROM entry"
AUDIT = (
    "WITH head AS (UPDATE h SET s = s + 1 RETURNING s) INSERT INTO log (s, note) SELECT s, '\"x\"' FROM head"
)


def test_independent_writes_become_one_statement_with_renumbered_parameters():
    [(sql, params)] = merge_writes([(INS_A, (1, "a")), (INS_B, (2,)), (UPD_C, (3, 4))])
    assert sql == (
        "WITH _w0 AS (INSERT INTO a (x, y) VALUES ($1::INTEGER, $2::VARCHAR)), "
        "_w1 AS (INSERT INTO b (x) VALUES ($3::INTEGER)) "
        "UPDATE c SET x=$4::INTEGER WHERE c.id = $5::INTEGER"
    )
    assert params == (1, "a", 2, 3, 4)


def test_a_write_naming_a_table_written_earlier_starts_a_new_statement():
    # one snapshot: the second insert into a, or a read of a, must see the first write, so they stay apart
    reads_a = "UPDATE c SET x = (SELECT max(x) FROM a) WHERE c.id = $1"
    out = merge_writes([(INS_A, (1, "a")), (INS_B, (2,)), (INS_A, (3, "b")), (reads_a, (4,))])
    assert [s.count(" AS (") for s, _ in out] == [1, 0, 0]
    assert out[1] == (INS_A, (3, "b")) and out[2] == (reads_a, (4,))
    # a table whose name contains another's is not that table (word match)
    assert len(merge_writes([(INS_A, (1, "a")), ("INSERT INTO a_log (x) VALUES ($1)", (2,))])) == 1


def test_on_conflict_do_update_set_is_not_a_table_named_set():
    upsert = "INSERT INTO acc (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = acc.v + excluded.v"
    assert len(merge_writes([(upsert, ("k", 1)), (UPD_C, (1, 2)), (INS_B, (3,))])) == 1


def test_a_writes_own_with_list_is_hoisted_and_a_name_clash_splits():
    [(sql, params)] = merge_writes([(INS_B, (9,)), (LEDGER, ("k", 5)), (UPD_C, (1, 2))])
    assert sql == (
        "WITH _w0 AS (INSERT INTO b (x) VALUES ($1::INTEGER)), "
        "entry AS (INSERT INTO e (k) VALUES ($2) RETURNING id), "
        "_w1 AS (INSERT INTO p (e_id, v) SELECT entry.id, $3 FROM entry) "
        "UPDATE c SET x=$4::INTEGER WHERE c.id = $5::INTEGER"
    )
    assert params == (9, "k", 5, 1, 2)
    other = LEDGER.replace("INTO e ", "INTO e2 ").replace("INTO p ", "INTO p2 ")
    assert len(merge_writes([(LEDGER, ("k", 1)), (other, ("k", 2))])) == 2  # both define "entry"


def test_literals_executemany_and_reads_are_sent_as_they_are():
    many = (INS_B, [(1,), (2,)])
    read = ("SELECT x FROM a WHERE id = $1", (1,))
    out = merge_writes([(INS_A, (1, "a")), (AUDIT, ()), (INS_B, (1,)), many, read, (UPD_C, (1, 2))])
    assert out == [(INS_A, (1, "a")), (AUDIT, ()), (INS_B, (1,)), many, read, (UPD_C, (1, 2))]
    recursive = "WITH RECURSIVE r AS (SELECT 1) INSERT INTO b (x) SELECT 1 FROM r"
    assert merge_writes([(recursive, ()), (INS_B, (1,))]) == [(recursive, ()), (INS_B, (1,))]
