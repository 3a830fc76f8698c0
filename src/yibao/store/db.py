"""Engines and units of work. SQLite is the embedded default; PostgreSQL in production.

The only thing that changes between the two is ``YIBAO_DATABASE_URL``. :func:`unit_of_work` is a session for
staff work (console, REST, CLI); :func:`facade_unit_of_work` is a facade call's
:class:`~yibao.store.uow.UnitOfWork`, whose declared statements go straight over libpq on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from yibao.config import get_settings
from yibao.errors import ConfigError
from yibao.store import audit
from yibao.store.uow import UnitOfWork


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
                for factory in (modes[True], modes[False]):  # (these sessions only, never every Session)
                    event.listen(factory, "before_commit", audit.append_pending)
                    event.listen(factory, "after_soft_rollback", audit.drop_rolled_back)
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
def facade_unit_of_work() -> Iterator[UnitOfWork]:
    """A facade call's unit of work: on PostgreSQL (without SQL logging) over a kept connection, its
    statements sent over libpq; elsewhere over a session of :func:`unit_of_work`. Commits when the block
    ends without an error, rolls back otherwise."""
    engine = get_engine()
    if engine.dialect.name != "postgresql" or engine.echo:
        with unit_of_work(engine) as session:
            uow = UnitOfWork(session.connection(), session=session)
            yield uow
            uow.commit()
        return
    conn = _connect(engine)
    uow = None
    try:
        conn.begin()
        uow = UnitOfWork(conn, wire=conn.connection.dbapi_connection)
        yield uow
        uow.commit()
        conn.commit()  # (already committed over libpq: this ends SQLAlchemy's transaction)
    except BaseException:
        try:
            conn.rollback()
        except Exception:  # the connection itself failed (the server went away): never reuse it,
            conn.invalidate()  # nor those kept with it (the next attempt connects afresh)
            _release_held(engine)
        raise
    finally:
        if uow is not None:
            uow.close()
        _put_back(engine, conn)


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"
