"""The hot path's statements straight over libpq (yibao.store.wire): values in and out as psycopg would give
them, one pipeline per burst with its BEGIN and COMMIT, statements prepared once per connection, errors and
psycopg's DEALLOCATE ALL handled."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import text

from yibao.store import wire

TABLE = """CREATE TABLE wire_probe (id bigint PRIMARY KEY, name text, amount numeric(12, 2), day date,
           at timestamptz, flag boolean, doc json)"""
INSERT = "INSERT INTO wire_probe (id, name, amount, day) VALUES ($1, $2, $3, $4)"
READ = "SELECT id, name, amount, day, at, flag, doc FROM wire_probe WHERE id = ANY($1) ORDER BY id"


@pytest.fixture
def pg(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("libpq: PostgreSQL only")
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS wire_probe"))
        c.execute(text(TABLE))
    with engine.connect() as c:
        yield c.connection.dbapi_connection
        c.connection.dbapi_connection.rollback()
    with engine.begin() as c:
        c.execute(text("DROP TABLE wire_probe"))


def _others_see(engine) -> list[int]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT id FROM wire_probe ORDER BY id")).scalars())


def test_values_go_in_and_come_out_as_psycopg_gives_them(pg):
    at = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    wire.execute(
        pg,
        [
            (
                "INSERT INTO wire_probe VALUES ($1, $2, $3, $4, $5, $6, $7)",
                (1, "张三 'quoted'", Decimal("12.30"), dt.date(2025, 3, 1), at, True, '{"a": [1, 2]}'),
            ),
            (INSERT, (2, None, None, None)),
        ],
    )
    rows = wire.execute(pg, [], (READ, ([1, 2, 3],)))
    assert [r._asdict() for r in rows] == [
        {
            "id": 1,
            "name": "张三 'quoted'",
            "amount": Decimal("12.30"),
            "day": dt.date(2025, 3, 1),
            "at": at,
            "flag": True,
            "doc": {"a": [1, 2]},
        },
        {"id": 2, "name": None, "amount": None, "day": None, "at": None, "flag": None, "doc": None},
    ]
    assert rows[0].amount == Decimal("12.30")  # attribute access, as the handlers read rows


def test_a_burst_opens_its_transaction_and_commits_only_when_asked(engine, pg):
    assert pg.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    wire.execute(pg, [(INSERT, [(1, "a", "1.00", None), (2, "b", "2.00", None)])])  # one execution per set
    assert pg.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # the BEGIN went with it
    assert _others_see(engine) == []
    rows = wire.execute(pg, [(INSERT, (3, "c", "3.00", None))], ("SELECT count(*) AS n FROM wire_probe", ()))
    assert rows[0].n == 3  # the read sees the writes sent before it in the same round trip
    wire.execute(pg, [], commit=True)
    assert pg.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert _others_see(engine) == [1, 2, 3]


def test_each_statement_is_prepared_once_per_connection(pg):
    for k in range(3):
        wire.execute(pg, [(INSERT, (k, "x", "1.00", None))])
    name = pg.wire.names[INSERT]
    prepared = pg.execute(
        "SELECT name FROM pg_prepared_statements WHERE statement = %s", (INSERT,)
    ).fetchall()
    assert prepared == [(name.decode(),)]


def test_the_first_failure_is_raised_and_nothing_after_it_applies(engine, pg):
    wire.execute(pg, [(INSERT, (1, "a", "1.00", None))], commit=True)
    late = "UPDATE wire_probe SET name = $1 WHERE id = $2"
    with pytest.raises(psycopg.errors.UniqueViolation):
        wire.execute(pg, [(INSERT, (1, "again", "1.00", None)), (late, ("changed", 1))], commit=True)
    assert late not in pg.wire.names  # its Parse was aborted with the rest: prepared again next time
    pg.rollback()
    wire.execute(pg, [(late, ("changed", 1))], commit=True)
    assert wire.execute(pg, [], ("SELECT name FROM wire_probe", ()))[0].name == "changed"


def test_statements_survive_psycopgs_deallocate_all_after_a_rollback(pg):
    wire.execute(pg, [(INSERT, (1, "a", "1.00", None))], commit=True)
    for _ in range(6):  # psycopg prepares a statement of its own after a few uses…
        pg.execute("SELECT count(*) FROM wire_probe WHERE id = %s", (1,))
    pg.rollback()
    pg.execute("SELECT 1")
    pg.rollback()  # …and drops all prepared statements, ours included, when a transaction rolls back
    assert pg.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    rows = wire.execute(pg, [(INSERT, (2, "b", "2.00", None))], ("SELECT count(*) AS n FROM wire_probe", ()))
    assert rows[0].n == 2  # prepared again, not "prepared statement does not exist"


def test_past_the_bound_statements_are_parsed_each_time(pg, monkeypatch):
    monkeypatch.setattr(wire, "MAX_PREPARED", 0)
    for k in range(2):
        wire.execute(pg, [(INSERT, (k, "x", "1.00", None))])
    assert wire.execute(pg, [], ("SELECT count(*) AS n FROM wire_probe", ()))[0].n == 2
    assert pg.wire.names == {}
