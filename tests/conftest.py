"""Shared fixtures.

Store tests take the ``engine`` fixture and run on SQLite and, when
``YIBAO_TEST_DATABASE_URL`` is set, on PostgreSQL too. In CI the variable is
always set, and an unreachable PostgreSQL is an error (never a silent skip).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from yibao.config import reset_settings
from yibao.store import migrate
from yibao.store.db import dispose_engines, make_engine, normalise_url
from yibao.store.tables import metadata

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("YIBAO_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _test_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with test-mode settings and the repository's regions."""
    monkeypatch.setenv("YIBAO_MODE", "test")
    monkeypatch.setenv("YIBAO_REGIONS_DIR", str(REPO / "regions"))
    reset_settings()
    yield
    reset_settings()


def _worker_suffix() -> str:
    return re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main"))


def _pg_database_for_worker() -> str:
    """Create (or reuse) one PostgreSQL database per xdist worker; migrate it once."""
    assert PG_URL
    base = make_url(normalise_url(PG_URL))
    name = f"{base.database}_{_worker_suffix()}"
    admin = make_engine(base.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": name}).scalar()
            if exists:
                conn.execute(text(f'drop database "{name}" with (force)'))
            conn.execute(text(f'create database "{name}"'))
    except Exception as exc:  # CI must fail loudly when PostgreSQL is down
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}", pytrace=False)
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


_PG_PREPARED: dict[str, str] = {}


def _clean(engine: Engine) -> None:
    """Empty every table (much faster than re-creating the schema per test)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, monkeypatch
) -> Iterator[Engine]:
    """A migrated, empty database on each backend; also installed as the configured database."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("YIBAO_TEST_DATABASE_URL not set (CI sets it; PostgreSQL tests run there)")
        url = _PG_PREPARED.get("url")
        if url is None:
            url = _pg_database_for_worker()
            migrate.upgrade(make_engine(url))
            _PG_PREPARED["url"] = url
    else:
        url = _PG_PREPARED.get("sqlite")
        if url is None:
            path = tmp_path_factory.mktemp("db") / "yibao.db"
            url = f"sqlite:///{path}"
            migrate.upgrade(make_engine(url))
            _PG_PREPARED["sqlite"] = url
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    reset_settings()
    from yibao.store.db import get_engine

    eng = get_engine(url)
    _clean(eng)
    from yibao.supervision.service import issued as audit_warnings
    from yibao.supervision.service import library as audit_library

    audit_library.forget()  # (what the facade's audit keeps per database must not outlive the test's database)
    audit_warnings.forget()
    yield eng
    dispose_engines()
