"""kill -9 in the middle of a month's pre-settlement (月度预结算): a run is one transaction, so a process killed
after it wrote its run, cases, lines and ledger entries, before it committed them, leaves nothing behind —
no run of the month, the same rows and balances as before, a ledger that checks and an intact audit chain —
and the month then runs again, without ``--rerun``, and posts exactly once.

``yibao payment month`` runs as its own process on a file database (SQLite, and PostgreSQL when
``YIBAO_TEST_DATABASE_URL`` is set). To kill it at the worst moment rather than at a guessed one, the month
service's one test hook (``YIBAO_TEST_PAUSE_AFTER_WRITE``, payment/service/month.py) makes it write its run
id to a file once everything is written and sleep before the commit; the test waits for the file, proves the
transaction is open and has written (SQLite's write lock is held; PostgreSQL's backend is idle in a
transaction with a transaction id), then kills the process group with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, REPO
from tests.e2e.test_cli_payment_year import (
    YEAR,
    balances,
    budget_the_year,
    cli,
    configured,
    counts,
    fresh_database,
    ok,
    runs,
    settled_demo,
)
from yibao.payment.service.month import PAUSE_AFTER_WRITE
from yibao.store.db import make_engine, unit_of_work
from yibao.store.payment_runs import ENTRY_TYPES, POSTED
from yibao.store.tables import LedgerEntry, PaymentLine, PaymentRun

pytestmark = pytest.mark.slow

MONTH = 10
REGIONS = REPO / "regions"


@pytest.fixture(params=BACKENDS)
def budgeted(request, tmp_path_factory) -> Iterator[str]:
    """The small settled demo with its history and budget, configured; its URL."""
    url = fresh_database(request.param, "kill9", tmp_path_factory)
    settled_demo(url)
    with configured(url, REGIONS):
        budget_the_year()
        yield url


def start_month(url: str, flag: Path, logs: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "YIBAO_MODE": "test",
        "YIBAO_DATABASE_URL": url,
        "YIBAO_REGIONS_DIR": str(REGIONS),
        PAUSE_AFTER_WRITE: str(flag),
    }
    env.pop("YIBAO_TEST_DATABASE_URL", None)
    argv = [sys.executable, "-m", "yibao.cli", "payment", "month", "--year", str(YEAR), "--month", str(MONTH)]
    with (logs / "out").open("wb") as out, (logs / "err").open("wb") as err:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=err, start_new_session=True)


def wait_until_written(proc: subprocess.Popen, flag: Path, logs: Path) -> int:
    """The id of the run the process wrote and has not committed (it sleeps until killed)."""
    deadline = time.monotonic() + 180
    while not (flag.exists() and flag.read_text(encoding="utf-8")):
        if proc.poll() is not None:
            pytest.fail(
                f"the month run ended ({proc.returncode}) before it paused: {(logs / 'err').read_text()}"
            )
        if time.monotonic() > deadline:
            pytest.fail("the month run did not reach its pause within 180 s")
        time.sleep(0.05)
    return int(flag.read_text(encoding="utf-8"))


def open_writer(url: str) -> list:
    """Evidence of the writer's open transaction: SQLite's write lock refused to another connection; the
    PostgreSQL backends idle in a transaction that has written (has a transaction id)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        con = sqlite3.connect(parsed.database, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return []
        except sqlite3.OperationalError as exc:
            return [str(exc)]
        finally:
            con.close()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "select pid from pg_stat_activity where datname = current_database()"
                        " and state = 'idle in transaction' and backend_xid is not null"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def test_a_month_killed_mid_run_leaves_nothing_and_runs_again_once(budgeted, tmp_path):
    before, held = counts(), balances()
    flag = tmp_path / "paused"
    proc = start_month(budgeted, flag, tmp_path)
    try:
        run_id = wait_until_written(proc, flag, tmp_path)
        writer = open_writer(budgeted)
        assert writer, "the month run is not inside a transaction that has written"
        assert runs("month", MONTH) == []  # (uncommitted: not visible to others)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30  # PostgreSQL rolls back once its backend sees the connection gone
    while open_writer(budgeted):
        assert time.monotonic() < deadline, "the killed run's transaction is still open"
        time.sleep(0.1)

    assert runs("month", MONTH) == []
    with unit_of_work(write=False) as s:
        assert s.get(PaymentRun, run_id) is None
    assert counts() == before and balances() == held
    for argv in (["ledger", "check"], ["audit", "verify"]):
        code, out, err = cli(*argv)
        assert code == 0, (argv, out, err)

    ok("payment", "month", "--year", str(YEAR), "--month", str(MONTH))  # no --rerun: nothing was posted
    [(new, version, status)] = runs("month", MONTH)
    assert (version, status) == (1, POSTED)
    with unit_of_work(write=False) as s:
        lines = s.scalars(select(PaymentLine.entry_id).where(PaymentLine.run_id == new)).all()
        posted = s.scalars(
            select(LedgerEntry.id).where(
                LedgerEntry.entry_type == ENTRY_TYPES["month"],
                LedgerEntry.memo == f"月度预结算 {YEAR}-{MONTH:02d}",
            )
        ).all()
    assert sorted(posted) == sorted(lines) and len(lines) > 1  # one entry per line, once
    after = counts()
    assert after["payment_run"] == before["payment_run"] + 1
    assert after["ledger_entry"] == before["ledger_entry"] + len(lines)
    for argv in (["ledger", "check"], ["audit", "verify"]):
        code, out, err = cli(*argv)
        assert code == 0, (argv, out, err)
