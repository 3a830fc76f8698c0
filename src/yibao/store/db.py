"""Engines and units of work. SQLite is the embedded default; PostgreSQL in production.

The only thing that changes between the two is ``YIBAO_DATABASE_URL``.

:class:`Fast` statements are the facade's hot path: on PostgreSQL they go straight over the unit of work's
psycopg connection (:mod:`yibao.store.wire`), and writes whose results nobody reads are queued until the next
round trip (at the latest the unit of work's end, with the audit rows and the COMMIT: :func:`send_and_commit`).
"""

from __future__ import annotations

import json as _json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import NamedTuple

import orjson as _orjson
from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.crud import REQUIRED

from yibao.config import get_settings
from yibao.errors import ConfigError


def normalise_url(url: str) -> str:
    """Accept the bare ``postgresql://`` spelling and use the psycopg 3 driver for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # We issue BEGIN ourselves (see _sqlite_begin), so the driver must not.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the console read while a settlement writes; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn) -> None:
    """A write unit of work takes SQLite's write lock at BEGIN: a deferred transaction that read
    first could not upgrade once another writer committed (SQLITE_BUSY), it would fail, not wait."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a long message
        raise ConfigError(f"YIBAO_DATABASE_URL: 无法解析的数据库地址 {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # No pre-ping (it costs a round trip per transaction); callers that must survive a database restart
        # retry their unit of work on OperationalError, as the facade does. The pool holds one connection per
        # busy request thread and facade call in flight (YIBAO_FACADE_CONCURRENCY, far below its size).
        from yibao.store import cooperative

        engine = create_engine(url, echo=echo, pool_size=16, max_overflow=24, pool_recycle=3600)
        # its connections' waits yield to the event loop inside a facade call's greenlet (and block elsewhere)
        event.listen(engine, "do_connect", cooperative.connect)
        return engine
    raise ConfigError(
        f"YIBAO_DATABASE_URL: 不支持的数据库 {parsed.get_backend_name()!r} (sqlite or postgresql)"
    )


_ENGINES: dict[tuple[str, bool], Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for a URL (default: the configured database)."""
    s = get_settings()
    key = (normalise_url(url or s.database_url), s.log_sql)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = make_engine(*key[:1], echo=key[1])
    return engine


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        _release_held(engine)
        engine.dispose()
    _ENGINES.clear()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False, future=True)


# A unit of work is opened per facade call, so its set-up is on the hot path: the engine keeps one
# sessionmaker per mode (bound to the engine with the ``write`` option), built on first use.
_SETUP_LOCK = threading.Lock()
_PG_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open on the connection
_HELD_SINCE = "yibao.held_since"  # the DBAPI connection's info key: when facade calls began keeping it


def _factory(engine: Engine, write: bool) -> tuple[sessionmaker[Session], threading.RLock | None]:
    modes = getattr(engine, "_yibao_factories", None)
    if modes is None:
        with _SETUP_LOCK:
            modes = getattr(engine, "_yibao_factories", None)
            if modes is None:
                modes = {w: session_factory(engine.execution_options(write=w)) for w in (True, False)}
                # SQLite has one writer at a time: threads of one process queue on this lock rather than in
                # SQLite's busy handler, which polls with sleeps of up to 100 ms (the p99 of a loaded server).
                modes["lock"] = threading.RLock() if engine.dialect.name == "sqlite" else None
                engine._yibao_factories = modes
    return modes[write], modes["lock"] if write else None


@contextmanager
def unit_of_work(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One database transaction: commit on success, roll back on any error (nothing half-written).

    ``write=True`` (the default) takes SQLite's write lock at BEGIN; read-only work passes False.
    """
    from yibao.store import audit  # (audit imports this module)

    factory, lock = _factory(engine or get_engine(), write)
    with lock if lock is not None else nullcontext():
        session = factory()
        try:
            with session.begin():
                # audit rows are appended at commit: the chain's head is the last lock any unit of work takes,
                # so one holding it never waits for a person's or an account's row (a settlement holding
                # those waits for the head only at its commit: the two could deadlock)
                audit.defer(session)
                yield session
        finally:
            session.close()


class _Outer:
    """A :class:`Work`'s transaction while it has no ORM session (what queued writes and deferred audit rows
    are recorded under): the outermost one, so no savepoint's rollback drops them."""

    parent = None


class Work:
    """A facade call's unit of work on PostgreSQL without an ORM session unless one is needed (工作单元).

    Opening, committing and closing a :class:`Session` costs about as much client CPU as two statements, and
    the hot transactions (2201 / 2204 / 2207) never use the ORM: their :class:`Fast` statements go straight
    over this connection's psycopg connection. Anything else a handler asks of it (``add``, ``execute``, ``begin_nested`` …)
    creates a real :class:`Session` joined to the same connection and transaction, so every handler runs
    unchanged and everything still commits or rolls back together (see :func:`facade_unit_of_work`)."""

    def __init__(self, conn):
        self._conn, self._session, self._info, self.raw = conn, None, {}, None
        self._outer = _Outer()

    # an ORM session's pending objects: none until one exists
    new = property(lambda self: self._session.new if self._session is not None else ())
    dirty = property(lambda self: self._session.dirty if self._session is not None else ())
    deleted = property(lambda self: self._session.deleted if self._session is not None else ())

    @property
    def info(self) -> dict:
        return self._session.info if self._session is not None else self._info

    @property
    def orm(self) -> Session | None:
        return self._session

    def _orm(self) -> Session:
        if self._session is None:
            # joins the connection's transaction: the session's commit leaves it to us, its rollback rolls it back
            session = Session(bind=self._conn, join_transaction_mode="rollback_only", expire_on_commit=False)
            drop_prefetched(self._info)  # (the ORM's statements do not pass through Fast)
            session.info.update(self._info)
            self._session = session
        return self._session

    def __getattr__(self, name: str):  # everything else is the ORM session's
        return getattr(self._orm(), name)

    def connection(self, *args, **kw):
        if self._session is None:
            drop_prefetched(self._info)  # (what is executed on it does not pass through Fast)
            return self._conn
        return self._session.connection(*args, **kw)

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def get_transaction(self):
        return self._outer if self._session is None else self._session.get_transaction()

    def get_nested_transaction(self):
        return None if self._session is None else self._session.get_nested_transaction()

    def _commit(self) -> None:
        for hook in BEFORE_COMMIT:
            hook(self)
        flush_writes(self)
        self._conn.commit()


# What a Work does before its COMMIT that a Session's ``before_commit`` listeners do for it (the audit's
# deferred rows, registered by yibao.store.audit).
BEFORE_COMMIT: list[Callable[[Work], None]] = []


# Facade calls keep their connections between calls: checking a SQLAlchemy connection out of the pool and
# back in (pool queue, connection record, reset on return) costs the client more CPU than a statement. A
# process keeps at most this many per engine (it needs one per facade call in flight); the others go back.
# Every few minutes each goes back to the pool anyway, which recycles it when it is old (``pool_recycle``).
KEEP_CONNECTIONS = 8
KEEP_SECONDS = 300


def _held(engine: Engine) -> list:
    held = getattr(engine, "_yibao_held", None)
    if held is None:
        with _SETUP_LOCK:
            held = getattr(engine, "_yibao_held", None)
            if held is None:
                held = engine._yibao_held = []
    return held


def _connect(engine: Engine):
    held = _held(engine)
    while held:
        try:
            conn = held.pop()  # (atomic: threads and greenlets may share the list)
        except IndexError:
            break
        if not conn.closed and not conn.invalidated:
            return conn
    return engine.connect()


def _put_back(engine: Engine, conn) -> None:
    """Keep a connection whose transaction ended cleanly for the next call; anything else goes back to the
    pool (which resets it) or, broken, is discarded by it."""
    held = _held(engine)
    raw = None if conn.closed or conn.invalidated else conn.connection.dbapi_connection
    if (
        raw is not None
        and len(held) < KEEP_CONNECTIONS
        and not conn.in_transaction()
        and raw.pgconn.transaction_status == _PG_IDLE
        and time.monotonic() - conn.info.setdefault(_HELD_SINCE, time.monotonic()) < KEEP_SECONDS
    ):
        held.append(conn)
        return
    if raw is not None:
        conn.info.pop(_HELD_SINCE, None)
    conn.close()


def _release_held(engine: Engine) -> None:
    held = getattr(engine, "_yibao_held", None) or []
    while held:
        try:
            conn = held.pop()
        except IndexError:  # (another thread took the last one)
            break
        conn.close()


@contextmanager
def facade_unit_of_work() -> Iterator[Session]:
    """The facade's unit of work: a :class:`Work` on PostgreSQL (without SQL logging), a session elsewhere."""
    engine = get_engine()
    if engine.dialect.name != "postgresql" or engine.echo:
        with unit_of_work(engine) as session:
            yield session
        return
    conn = _connect(engine)
    try:
        conn.begin()
        work = Work(conn)
        try:
            yield work  # type: ignore[misc]
            if work.orm is not None:
                work.orm.flush()
            work._commit()
        except BaseException:
            try:
                if work.orm is not None:
                    work.orm.rollback()
                conn.rollback()
            except Exception:  # the connection itself failed (the server went away): never reuse it,
                conn.invalidate()  # nor those kept with it (the next attempt connects afresh)
                _release_held(engine)
            raise
        finally:
            if work.orm is not None:
                work.orm.close()
    finally:
        _put_back(engine, conn)


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


# --- the hot path's statements --------------------------------------------------------------------------

_WRITES = "yibao.db.writes"  # session.info key: statements queued by Fast.queue, sent before the next read
_AHEAD = "yibao.db.ahead"  # session.info key: reads declared by Fast.prefetch, sent with the next read
_FETCHED = "yibao.db.fetched"  # session.info key: their rows by (SQL, parameters), until a write
_RAW = "yibao.db.raw"  # session.info key: (transaction, connection, psycopg connection or None)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``%(name)s`` placeholders (SQLAlchemy's psycopg dialect) → ``$n`` and the names in order: the statement
    is then prepared once per connection and executed with a tuple (:mod:`yibao.store.wire`)."""
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return _PLACEHOLDER.sub(number, sql).replace("%%", "%"), tuple(names)


class Fast:
    """A statement of a hot path (the facade's 2201 / 2204 / 2207): built once with SQLAlchemy Core.

    On PostgreSQL it is compiled once (``$n`` parameters) and sent over the unit of work's own psycopg
    connection by :mod:`yibao.store.wire`, prepared there at first use, without SQLAlchemy's per-execution
    machinery (compile-cache lookup, parameter and result processing) or psycopg's cursor. Elsewhere (SQLite), or when SQL is being logged, it runs
    through the SQLAlchemy connection as any statement. ``pg`` is an equivalent Core statement for
    PostgreSQL when the portable one cannot be precompiled (``IN`` over a list → ``= ANY``); ``json`` names
    the parameters bound to JSON columns (serialised here with ``json.dumps``, as SQLAlchemy's JSON type
    does).

    Compiling checks that SQLAlchemy would apply no other parameter conversion, and fills an INSERT's
    Python-side column defaults, so both paths write the same values.
    """

    __slots__ = ("_pg", "core", "json", "keys", "pg_core")

    def __init__(self, core, pg=None, *, json: tuple[str, ...] = (), keys: tuple[str, ...] | None = None):
        self.core, self.pg_core, self.json, self.keys, self._pg = core, pg, frozenset(json), keys, None

    def _compiled(self, dialect) -> tuple[str, tuple[str, ...], dict]:
        if self._pg is None:
            stmt = self.pg_core if self.pg_core is not None else self.core
            compiled = stmt.compile(dialect=dialect, column_keys=list(self.keys) if self.keys else None)
            sql = compiled.string
            if "POSTCOMPILE" in sql:
                raise TypeError(f"cannot precompile (expanding IN): {sql[:80]}")
            for name, bind in compiled.binds.items():
                if name in self.json or bind.type._cached_bind_processor(dialect) is None:
                    continue
                if type(bind.type).__name__ == "ARRAY":
                    continue  # a list of plain values: psycopg adapts it
                raise TypeError(f"parameter {name} of {sql[:60]} needs SQLAlchemy's processing")
            defaults = {k: v for k, v in compiled.params.items() if v is not None and v is not REQUIRED}
            table = getattr(stmt, "table", None)
            if self.keys and table is not None:  # INSERT: columns SQLAlchemy adds for their Python default
                for name in compiled.params:
                    if name not in self.keys and name not in defaults and name in table.c:
                        default = table.c[name].default
                        if default is None or not default.is_scalar:
                            raise TypeError(f"{table.name}.{name}: no scalar default to precompile")
                        defaults[name] = default.arg
            self._pg = (*positional(sql), defaults)
        return self._pg

    def _bind(self, dialect, params: dict) -> tuple[str, tuple]:
        sql, names, defaults = self._compiled(dialect)
        p = {**defaults, **params} if defaults else params
        if self.json:
            p = {k: (_json.dumps(v) if k in self.json else v) for k, v in p.items()}
        return sql, tuple([p[n] for n in names])

    def _prepared(self, dialect, params):
        if isinstance(params, list):
            binds = [self._bind(dialect, p) for p in params]
            return binds[0][0], [b[1] for b in binds]
        return self._bind(dialect, params or {})

    def rows(self, session: Session, params: dict | None = None) -> list:
        """Run a SELECT (after any queued writes); rows have attribute access and ``_asdict()``. On
        PostgreSQL the reads :meth:`prefetch` declared travel with it, and a read already fetched that way
        is answered from there without a round trip."""
        conn, pg = _cursor(session)
        if pg is None:
            return conn.execute(self.core, params or {}).all()
        sql, p = self._bind(conn.dialect, params or {})
        info = session.info
        fetched = info.get(_FETCHED)
        if fetched:
            rows = fetched.pop(_read_key(sql, p), None)
            if rows is not None:
                return rows
        queued = _take_writes(session)
        ahead = info.pop(_AHEAD, None) or []
        if ahead and ahead[0] == (sql, p):  # the first read declared is this one: sent once, answered here
            ahead = ahead[1:]
        from yibao.store import wire

        try:
            found = wire.execute_reads(pg, merge_writes(queued) if queued else queued, [(sql, p), *ahead])
        except _psycopg_error() as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError …)
            if ahead:  # (the reads ahead are an optimisation: the caller runs again without them)
                raise PrefetchFailed(str(exc)) from exc
            raise DBAPIError.instance(sql, p, exc, _psycopg_error()) from exc
        if ahead:
            info[_FETCHED] = {_read_key(*read): rows for read, rows in zip(ahead, found[1:], strict=True)}
        return found[0]

    def prefetch(self, session: Session, params: dict | None = None) -> None:
        """Declare a read the caller will make (PostgreSQL; nothing elsewhere): it travels with the next
        :meth:`rows`, and when the caller makes it with the same parameters it is answered from there.

        The server runs statements in the order sent, each on its own snapshot as ever, so a read fetched
        ahead returns what it would have had the caller sent it right after the reads before it, provided
        nothing is written in between: any write queued or sent, any ORM use or direct use of the
        connection drops what was fetched ahead. A locking read may be declared (its locks are taken in
        the order declared, which must be the order the caller takes them in). If the burst fails, the
        caller gets :class:`PrefetchFailed` and runs its unit of work again without prefetching."""
        if type(session) is not Work or session.orm is not None:
            return  # (an ORM session's own statements would not drop it)
        conn, pg = _cursor(session)
        if pg is None:
            return
        session.info.setdefault(_AHEAD, []).append(self._bind(conn.dialect, params or {}))

    def first(self, session: Session, params: dict | None = None):
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def queue(self, session: Session, params: dict | list[dict] | None = None) -> None:
        """A write whose result nobody reads (a list of parameter sets: executemany). On PostgreSQL it waits
        to travel with the next statement that needs a round trip anyway: the next read, or the end of the
        unit of work, in one pipeline with the audit rows and COMMIT (:func:`send_and_commit`). Elsewhere it
        runs now. Writes queued inside a savepoint that rolls back are dropped; any left at commit or before
        an ORM flush are sent then, so the writes keep the program's order."""
        conn, pg = _cursor(session)
        if pg is None:
            conn.execute(self.core, params if params is not None else {})
            return
        if session.new or session.dirty or session.deleted:
            session.flush()
        drop_prefetched(session.info)
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_WRITES, []).append((tx, self._prepared(conn.dialect, params)))


class PrefetchFailed(Exception):
    """A burst carrying reads fetched ahead failed: the unit of work is rolled back and run again without
    them, so any error is raised where the caller makes the read that causes it."""


def _read_key(sql: str, params: tuple) -> tuple:
    return sql, tuple(tuple(v) if isinstance(v, list) else v for v in params)


def drop_prefetched(info: dict) -> None:
    """A write or ORM use: what was fetched ahead may no longer be what a read would return."""
    info.pop(_AHEAD, None)
    info.pop(_FETCHED, None)


def _cursor(session: Session):
    """The unit of work's SQLAlchemy connection and, on PostgreSQL, the psycopg connection under it.

    Cached per innermost transaction: the first statement inside a savepoint goes through
    ``session.connection()``, which is when SQLAlchemy emits the SAVEPOINT."""
    if type(session) is Work and session.orm is None:
        if session.raw is None:
            session.raw = _raw_connection(session._conn)
        return session._conn, session.raw
    tx = session.get_nested_transaction() or session.get_transaction()
    cached = session.info.get(_RAW)
    if cached is not None and cached[0] is tx and tx is not None:
        return cached[1], cached[2]
    conn = session.connection()
    pg = cached[2] if cached is not None and cached[1] is conn else None
    if pg is None:
        pg = _raw_connection(conn)
    session.info[_RAW] = (session.get_nested_transaction() or session.get_transaction(), conn, pg)
    return conn, pg


def _raw_connection(conn):
    """The psycopg connection under a PostgreSQL connection, which :mod:`yibao.store.wire` sends the hot
    path's statements on (None elsewhere, or when SQL is being logged)."""
    if conn.dialect.name != "postgresql" or conn.engine.echo:
        return None
    return conn.connection.dbapi_connection


def _psycopg_error():
    import psycopg

    return psycopg.Error


def _take_writes(session: Session) -> list:
    queued = session.info.get(_WRITES)
    if not queued:
        return []
    session.info[_WRITES] = []
    return [w for _, w in queued]


_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
_CTE = re.compile(r"\s*(\w+)\s+AS\s*\(", re.IGNORECASE)
_COMMA = re.compile(r"\s*,")
_WORD = re.compile(r"\w+")
_PARAM = re.compile(r"\$(\d+)")


class _Shape(NamedTuple):
    writes: frozenset[str]  # tables the statement writes
    words: frozenset[str]  # every word of it (the tables it reads are among them)
    ctes: tuple[tuple[str, str], ...]  # its own WITH list (name, body)
    names: frozenset[str]  # the names of its CTEs
    main: str


_SHAPES: dict[str, _Shape | None] = {}  # SQL → its shape; None: a statement to send apart
_MERGED: dict[tuple[str, ...], str] = {}


def _split_with(sql: str) -> tuple[tuple[tuple[str, str], ...], str] | None:
    """``WITH a AS (…), b AS (…) main`` → ((a, …), (b, …)), main; a statement without WITH → (), itself."""
    s = sql.strip()
    if s[:4].upper() != "WITH":
        return (), s
    ctes, i = [], 4
    while True:
        m = _CTE.match(s, i)
        if m is None:  # WITH RECURSIVE, MATERIALIZED …: not ours to rewrite
            return None
        depth, j = 1, m.end()
        while depth and j < len(s):
            depth += (s[j] == "(") - (s[j] == ")")
            j += 1
        if depth:
            return None
        ctes.append((m.group(1), s[m.end() : j - 1]))
        comma = _COMMA.match(s, j)
        if comma is None:
            return tuple(ctes), s[j:].strip()
        i = comma.end()


def _shape(sql: str) -> _Shape | None:
    shape = _SHAPES.get(sql, False)
    if shape is False:
        split = None if "'" in sql else _split_with(sql)  # (a literal could hide a parenthesis)
        writes = frozenset(t.lower() for t in _WRITE.findall(sql)) - {"set"}  # (ON CONFLICT DO UPDATE SET)
        shape = _SHAPES[sql] = (
            None
            if split is None or not writes
            else _Shape(
                writes,
                frozenset(_WORD.findall(sql.lower())),
                split[0],
                frozenset(name for name, _ in split[0]),
                split[1],
            )
        )
    return shape


def merge_writes(statements: list) -> list:
    """Consecutive queued writes (PostgreSQL) as ONE statement of data-modifying CTEs: ``WITH _w0 AS
    (INSERT …), _w1 AS (UPDATE …) UPDATE …``. Per statement the client and the server each spend more
    than the work itself costs (a settlement's writes were ten statements). The sub-statements of one
    statement run on one snapshot in no defined order, so a write joins the group only if it names no
    table written earlier in the group and none of its CTE names is taken (tables reached only through a
    trigger or an ON DELETE CASCADE would not be seen: the schema has neither); foreign keys are checked at
    the end of the statement, when every row is there. A write with several parameter sets or with a
    literal is sent as it is (the audit append too: it must stay the last statement before COMMIT)."""
    out: list = []
    group: list[tuple[tuple, _Shape]] = []  # (statement, its shape)
    written: set[str] = set()
    names: set[str] = set()

    def close() -> None:
        if len(group) > 1:
            key = tuple(sql for (sql, _), _ in group)
            sql = _MERGED.get(key)
            if sql is None:
                parts, offset = [], 0
                for i, ((_, params), shape) in enumerate(group):

                    def shift(text: str, o: int = offset) -> str:
                        return _PARAM.sub(lambda m: f"${int(m.group(1)) + o}", text)

                    parts += [f"{name} AS ({shift(body)})" for name, body in shape.ctes]
                    parts.append(
                        shift(shape.main) if i == len(group) - 1 else f"_w{i} AS ({shift(shape.main)})"
                    )
                    offset += len(params)
                sql = _MERGED[key] = "WITH " + ", ".join(parts[:-1]) + " " + parts[-1]
            out.append((sql, tuple(v for (_, params), _ in group for v in params)))
        else:
            out.extend(statement for statement, _ in group)
        group.clear()
        written.clear()
        names.clear()

    for statement in statements:
        sql, params = statement
        shape = None if isinstance(params, list) else _shape(sql)
        if shape is None:
            close()
            out.append(statement)
            continue
        if shape.words & written or shape.names & names:
            close()
        group.append((statement, shape))
        written.update(shape.writes)
        names.update(shape.names)
    close()
    return out


def _send_all(session: Session, statements, *, commit: bool = False) -> None:
    """Queued writes, then ``statements`` (and COMMIT), in one pipeline: one round trip."""
    _, pg = _cursor(session)
    drop_prefetched(session.info)
    statements = _take_writes(session) + list(statements)
    if not statements and not commit:
        return
    from yibao.store import wire

    try:
        wire.execute(pg, merge_writes(statements), commit=commit)
    except _psycopg_error() as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError …)
        sql = statements[-1][0] if statements else "COMMIT"
        raise DBAPIError.instance(sql, None, exc, _psycopg_error()) from exc


def send_and_commit(session: Session, statements: list[tuple[str, tuple]]) -> None:
    """PostgreSQL: flush the ORM, then send the queued writes, ``statements`` (``$n`` SQL, tuple) and
    COMMIT in one pipeline. The unit of work's own commit then finds nothing left to do."""
    session.flush()
    _send_all(session, statements, commit=True)


def flush_writes(session: Session) -> None:
    """Send the queued writes now (PostgreSQL; nothing is ever queued elsewhere)."""
    if session.info.get(_WRITES):
        _send_all(session, [])


def _within(tx, ancestor) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_writes(session: Session, previous_transaction) -> None:
    queued = session.info.get(_WRITES)
    if queued:
        queued[:] = [(tx, w) for tx, w in queued if not _within(tx, previous_transaction)]


@event.listens_for(Session, "before_flush")
def _send_queued_writes_first(session: Session, _flush_context, _instances) -> None:
    """ORM changes made after a queued write are written after it."""
    if session.info.get(_WRITES):
        flush_writes(session)


@event.listens_for(Session, "before_commit")
def _send_queued_writes(session: Session) -> None:
    if session.info.get(_WRITES) and session.get_nested_transaction() is None:
        flush_writes(session)


class FastRows(Fast):
    """INSERT of many rows of a table with the same columns. On PostgreSQL one statement over the rows as one
    JSON parameter (``INSERT … SELECT … FROM json_array_elements($1) WITH ORDINALITY, json_populate_record(…)
    ORDER BY ordinality``: one execution for all rows, inserted in the list's order; the rows are encoded by
    orjson, where an array per column cost psycopg a Python loop over every value); elsewhere an
    executemany of the Core INSERT. Each value is converted by the column type's own input, so a string too
    long for its column is refused, never cut."""

    __slots__ = ("table", "update")

    def __init__(self, table, keys: tuple[str, ...], *, update: tuple[str, ...] = (), core=None):
        """``update``: columns a row whose primary key exists already takes from the new row (an upsert, one
        statement for new and changed rows); ``core``: the statement run elsewhere (the dialect's own
        ``INSERT … ON CONFLICT``, executemany)."""
        if update and core is None:
            raise TypeError("an upsert needs the dialect's statement for the other databases (core=)")
        super().__init__(core if core is not None else insert(table), keys=keys)
        self.table, self.update = table, update

    def _compiled(self, dialect):
        if self._pg is None:
            for column in self.table.c:
                if column.name not in self.keys and column.default is not None:
                    raise TypeError(
                        f"{self.table.name}.{column.name}: give every column with a Python default"
                    )
            name = self.table.name
            sql = (
                f"INSERT INTO {name} ({', '.join(self.keys)}) SELECT {', '.join('r.' + k for k in self.keys)} "
                f"FROM json_array_elements(CAST(%(rows)s AS JSON)) WITH ORDINALITY AS e (j, n), "
                f"json_populate_record(NULL::{name}, e.j) AS r ORDER BY e.n"
            )
            if self.update:
                key = ", ".join(c.name for c in self.table.primary_key.columns)
                sql += f" ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(
                    f"{c} = EXCLUDED.{c}" for c in self.update
                )
            self._pg = (*positional(sql), {})
        return self._pg

    def queue(self, session: Session, rows: list[dict]) -> None:
        conn, pg = _cursor(session)
        if pg is None:
            conn.execute(self.core, rows)
            return
        if session.new or session.dirty or session.deleted:
            session.flush()
        sql, _, _ = self._compiled(conn.dialect)
        keys = self.keys  # (datetimes as ISO 8601, which PostgreSQL reads back exactly)
        params = (_orjson.dumps([{k: r[k] for k in keys} for r in rows]).decode(),)
        drop_prefetched(session.info)
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_WRITES, []).append((tx, (sql, params)))
