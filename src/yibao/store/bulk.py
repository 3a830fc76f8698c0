"""Set-based helpers for bulk work (imports, contribution runs) in the caller's transaction, at driver speed
on both databases: a key list as ONE bound parameter, ``COPY`` / ``executemany`` inserts, and per-row
increments in one statement."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, any_, func, insert, literal, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def in_(session: Session, column, values: Iterable[Any]):
    """``column IN values`` with the values as ONE bound parameter — an array on PostgreSQL, a JSON list on
    SQLite — so a chunk's thousands of keys are neither rendered nor planned one by one."""
    values = list(values)
    if dialect(session) == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    text = json.dumps(values, default=_sqlite_value)  # dates as SQLite stores them
    subquery = select(literal_column("value")).select_from(func.json_each(literal(text)))
    return column.in_(subquery)


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):  # SQLAlchemy's SQLite DATETIME storage format
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def insert_rows(session: Session, table, rows: list[dict], cols: list[str] | None = None) -> None:
    """Insert many rows at driver speed: PostgreSQL ``COPY``, SQLite one ``executemany``. ``cols`` (default:
    the first row's keys) are taken from each row; the table's other columns take their scalar Python
    default (server defaults apply as usual); a table with a callable default goes through SQLAlchemy."""
    if not rows:
        return
    table = getattr(table, "__table__", table)
    cols = list(rows[0]) if cols is None else cols
    defaults = {}
    for c in table.columns:
        if c.name in cols or c.default is None:
            continue
        if not c.default.is_scalar:
            session.execute(insert(table), [{c: r[c] for c in cols} for r in rows])
            return
        defaults[c.name] = c.default.arg
    names = cols + list(defaults)
    tail = tuple(defaults.values())
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            extra = list(tail)
            for r in rows:
                copy.write_row([r[c] for c in cols] + extra)
        return
    timed = {c for c in cols if isinstance(table.c[c].type, (Date, DateTime))}
    if timed:
        get = [(lambda r, c=c: _sqlite_value(r[c])) if c in timed else operator.itemgetter(c) for c in cols]
        values = [tuple([g(r) for g in get]) + tail for r in rows]
    else:
        values = [tuple([r[c] for c in cols]) + tail for r in rows]
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
    )


def add_to(session: Session, table, key: str, column: str, amounts: list[tuple[Any, int]]) -> int:
    """``column += amount`` for each (key value, amount) — amounts of a repeated key add up — in one
    statement on PostgreSQL (UPDATE … FROM the unnest of two arrays) and one executemany on SQLite.
    Returns the number of rows changed."""
    if not amounts:
        return 0
    total: dict[Any, int] = {}
    for k, x in amounts:  # one change per row, however often its key appears
        total[k] = total.get(k, 0) + int(x)
    amounts = list(total.items())
    table = getattr(table, "__table__", table)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        keys = [k for k, _ in amounts]
        values = [x for _, x in amounts]
        result = conn.exec_driver_sql(
            f"UPDATE {table.name} AS t SET {column} = t.{column} + v.x "
            "FROM (SELECT unnest(%(k)s::text[]) AS k, unnest(%(x)s::bigint[]) AS x) AS v "
            f"WHERE t.{key} = v.k",
            {"k": keys, "x": values},
        )
        return result.rowcount
    result = conn.exec_driver_sql(
        f"UPDATE {table.name} SET {column} = {column} + ? WHERE {key} = ?", [(x, k) for k, x in amounts]
    )
    return result.rowcount


def analyze(engine, *tables) -> None:
    """Refresh PostgreSQL's statistics of tables a bulk job has just filled: without them the planner still
    believes a table holding a million new rows is empty and answers each keyed read with a full scan."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for t in tables:
            conn.exec_driver_sql(f"ANALYZE {getattr(t, '__tablename__', getattr(t, 'name', t))}")
