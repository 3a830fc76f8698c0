"""Engines and units of work. SQLite is the embedded default; PostgreSQL in production.

The only thing that changes between the two is ``YIBAO_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

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
        # retry their unit of work on OperationalError, as the facade does.
        return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=3600)
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
        engine.dispose()
    _ENGINES.clear()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False, future=True)


@contextmanager
def unit_of_work(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One database transaction: commit on success, roll back on any error (nothing half-written).

    ``write=True`` (the default) takes SQLite's write lock at BEGIN; read-only work passes False.
    """
    engine = engine or get_engine()
    session = session_factory(engine.execution_options(write=write))()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"
