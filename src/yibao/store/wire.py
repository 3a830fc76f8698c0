"""The hot path's statements sent straight over libpq, without psycopg's cursor (直连执行).

:class:`~yibao.store.db.Fast` statements are few, fixed and already compiled to ``$n`` SQL, and a facade call
sends them in bursts: the queued writes with the next read, or with the audit rows and COMMIT. psycopg's
cursor spends more client CPU per statement than the statement costs the server (query conversion,
parameter adaptation, prepare bookkeeping, result set-up: ≈ 35 µs of a ≈ 90 µs round trip on the project's
machine), and its pipeline more again. Here each burst is one libpq pipeline: the BEGIN a new transaction
needs, a Parse for each statement this connection has not prepared yet, the executions and the COMMIT go
in one round trip; parameters are dumped and rows loaded by psycopg's C ``Transformer``.

Statements are prepared once per connection, untyped: PostgreSQL infers each parameter's type from the
statement, and parameters travel as text. psycopg's own ``DEALLOCATE ALL`` (after a rollback on a connection
where it prepared statements itself) forgets them: :class:`~yibao.store.cooperative.CooperativeConnection`
clears this registry when that happens.
"""

from __future__ import annotations

import contextlib
from collections import namedtuple

from psycopg import errors, generators, pq
from psycopg.adapt import PyFormat, Transformer

_IDLE = pq.TransactionStatus.IDLE
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_FATAL = pq.ExecStatus.FATAL_ERROR
_BEGIN, _COMMIT = b"BEGIN", b"COMMIT"
MAX_PREPARED = 512  # per connection; past it a statement is parsed each time (the set is fixed in practice)


class Registry:
    """One connection's prepared statements (SQL → name) and row classes, and its Transformer."""

    __slots__ = ("count", "names", "rows", "tx")

    def __init__(self, conn):
        self.count = 0  # names are never reused: a forgotten one may still exist on the server
        self.names: dict[str, bytes] = {}
        self.rows: dict[bytes, type] = {}
        self.tx = Transformer(conn)

    def forget(self) -> None:
        self.names.clear()
        self.rows.clear()


def _row_class(registry: Registry, key: bytes, res) -> type:
    cls = registry.rows.get(key)
    if cls is None:
        names = [res.fname(i).decode() for i in range(res.nfields)]
        cls = namedtuple("Row", names, rename=True)
        if key:
            registry.rows[key] = cls
    return cls


def execute(conn, writes: list, read: tuple | None = None, *, commit: bool = False) -> list | None:
    """Send ``writes`` (``(sql, params)``, params a tuple or a list of tuples: one execution each), then
    ``read`` and COMMIT if asked, in one round trip; a BEGIN first if no transaction is open. Returns the
    read's rows (attribute access, ``_asdict()``), or None. Raises psycopg's error for the first statement
    that fails (the transaction is then aborted, as with a cursor)."""
    found = execute_reads(conn, writes, [read] if read is not None else [], commit=commit)
    return found[0] if found else None


def execute_reads(conn, writes: list, reads: list, *, commit: bool = False) -> list[list]:
    """:func:`execute` with several reads after the writes, in their order; returns each read's rows. The
    error raised for a failed read carries its index in ``reads`` as ``read_index`` (None: a write or COMMIT
    failed)."""
    pg = conn.pgconn
    registry: Registry = conn.wire
    dump = registry.tx.dump_sequence
    plan: list = []  # what each result group answers: None, a name being prepared, or (read, key, index)
    sends: list = []
    if pg.transaction_status == _IDLE:
        sends.append((pg.send_query_params, (_BEGIN, None)))
        plan.append(None)
    n_writes = len(writes)
    pending: dict[str, bytes] = {}
    for k, (sql, params) in enumerate([*writes, *reads]):
        name = registry.names.get(sql) or pending.get(sql)
        if name is None:
            name = b""  # (unnamed: parsed again at each use)
            if len(registry.names) < MAX_PREPARED:
                registry.count += 1
                name = pending[sql] = b"y%d" % registry.count
            sends.append((pg.send_prepare, (name, sql.encode())))
            plan.append(("prepare", sql, name))
        what = ("read", name, k - n_writes) if k >= n_writes else None
        for p in params if isinstance(params, list) else (params,):
            sends.append((pg.send_query_prepared, (name, dump(p, (PyFormat.TEXT,) * len(p)) if p else None)))
            plan.append(what)
    if commit:
        sends.append((pg.send_query_params, (_COMMIT, None)))
        plan.append(None)
    if len(sends) == 1:  # one statement: no pipeline needed
        fn, args = sends[0]
        fn(*args)
        return _outcome(registry, plan, [conn.wait(generators.execute(pg))], len(reads))
    pg.enter_pipeline_mode()
    try:
        for fn, args in sends:
            fn(*args)
        pg.pipeline_sync()
        conn.wait(generators.send(pg))
        groups = [conn.wait(generators.fetch_many(pg)) for _ in plan]
        conn.wait(generators.fetch_many(pg))  # the sync
    finally:
        if pg.pipeline_status != pq.PipelineStatus.OFF:
            # (results left unread: the connection broke, and it is discarded anyway)
            with contextlib.suppress(Exception):
                pg.exit_pipeline_mode()
    return _outcome(registry, plan, groups, len(reads))


def _outcome(registry: Registry, plan: list, groups: list, n_reads: int) -> list[list]:
    found: list = [None] * n_reads
    failure = failed = None
    for what, results in zip(plan, groups, strict=True):
        res = results[-1] if results else None
        if res is None or res.status not in _OK:
            if failure is None and res is not None and res.status == _FATAL:
                failure, failed = res, what[2] if what is not None and what[0] == "read" else None
            continue  # (a statement after a failure is aborted: PIPELINE_ABORTED)
        if what is None:
            continue
        if what[0] == "prepare":
            if what[2]:
                registry.names[what[1]] = what[2]
        else:
            tx = registry.tx
            tx.set_pgresult(res)
            found[what[2]] = tx.load_rows(0, res.ntuples, _row_class(registry, what[1], res)._make)
    if failure is not None:
        exc = errors.error_from_result(failure, encoding=registry.tx.encoding)
        exc.read_index = failed
        raise exc
    return found
