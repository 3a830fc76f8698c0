"""How the generator writes (写库): rows in chunks of :data:`CHUNK`, each chunk one transaction with a progress
report, explicit ids kept clear of PostgreSQL's sequences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
from sqlalchemy import Engine, func, insert, select, text

from yibao.settlement.batch import EPOCH_ORD

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CHUNK = 5_000


def no_progress(stage: str, done: int, total: int) -> None:
    pass


def bulk(engine: Engine, table, rows: list[dict], progress: Progress, stage: str) -> None:
    for k in range(0, len(rows), CHUNK):
        with engine.begin() as conn:
            conn.execute(insert(table), rows[k : k + CHUNK])
        progress(stage, min(k + CHUNK, len(rows)), len(rows))


def chunked(
    engine: Engine,
    table,
    total: int,
    rows_for: Callable[[int, int], list[dict]],
    progress: Progress,
    stage: str,
) -> None:
    """Insert ``total`` rows built a slice at a time (so a million persons never sit in memory as dicts)."""
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        with engine.begin() as conn:
            conn.execute(insert(table), rows_for(lo, hi))
        progress(stage, hi, total)


def day(d64) -> date:
    """A numpy day as a date."""
    return date.fromordinal(int(d64.astype("datetime64[D]").astype(np.int64)) + EPOCH_ORD)


def next_id(engine: Engine, table) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.coalesce(func.max(table.id), 0))).scalar()) + 1


def sync_sequence(engine: Engine, table) -> None:
    """Explicit ids bypass PostgreSQL's sequence: move it past them so online inserts do not collide."""
    if engine.dialect.name != "postgresql":
        return
    name = table.__tablename__
    with engine.begin() as c:
        c.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {name}))"
            )
        )
