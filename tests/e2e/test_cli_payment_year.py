"""The payment year end to end through the command line (payment-drg-dip.md §3.7–§3.8, §5): on the small
settled demo, ``payment history synthetic`` → ``budget`` → ``month`` 1…12 → ``clear --format json``.

* The clearing JSON has the shape the issue asks for; every hospital line clears to the fen
  (clearing = entitlement − personal − pre-settled + adjustments), its pre-settled amount and deposits are
  what the current month lines paid and withheld, and an unbounded point value shares the total-cost budget
  out up to the documented rounding. The ledger balances (``yibao ledger check``), ``case_payable`` and the
  year's quality deposits net to 0, and the fund's bank paid exactly the months' payouts and the clearing.
* A posted period is refused without ``--rerun`` (one line naming period and version, nothing written);
  with it the period gets version 2, version 1 is superseded and reversed, and every account's balance is
  what one run left. A cleared year's months are refused even with ``--rerun`` (the clearing would go
  stale), so the month re-run is made on a second database, before its clearing, which then counts current
  month versions only.
* The year is reproducible: that second database (a copy of the settled demo taken before the year) gives
  the same clearing JSON byte for byte but the run id, and the same balances; a re-cleared year gives the
  same fen on every line.
* Bad input is one line and exit code 2.

The region is the demo's with the point value's floor and ceiling removed (``~``): the 200-person demo is a
hundredth of the population its budget was sized for, so the bounds would otherwise fix every pool's point
value and the budget identity would go untested. One module-scoped database per backend; the whole file runs
in well under a minute per backend."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, PG_URL, REPO, _worker_suffix
from tests.kernel_helpers import demo_bundle
from yibao.cli import main
from yibao.config import reset_settings
from yibao.funds.case_payment import CASE_PAYABLE, QUALITY_DEPOSIT
from yibao.funds.ledger import FUND_BANK
from yibao.ingest.region import load_region
from yibao.money import parse_amount
from yibao.payment.policy import payment_policy_on
from yibao.store import migrate
from yibao.store.db import dispose_engines, make_engine, normalise_url, unit_of_work
from yibao.store.payment_runs import ENTRY_TYPES, POSTED, REVERSAL, SUPERSEDED
from yibao.store.tables import AuditLog, LedgerEntry, LedgerPosting, PaymentCase, PaymentLine, PaymentRun
from yibao.synth.build import build
from yibao.synth.params import Params

pytestmark = pytest.mark.slow

YEAR = 2025
REGION = "990100"
CASE_ENTRIES = (*ENTRY_TYPES.values(), REVERSAL)  # every entry type a payment run posts


# --- the database and the region ------------------------------------------------------------------------------


def fresh_database(backend: str, name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of its own (not the shared test database, which other modules empty)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'yibao.db'}"
    if not PG_URL:
        pytest.skip("YIBAO_TEST_DATABASE_URL not set (CI sets it; PostgreSQL tests run there)")
    base = make_url(normalise_url(PG_URL))
    url = base.set(database=f"{base.database}_{name}_{_worker_suffix()}").render_as_string(
        hide_password=False
    )
    _pg_create(url)
    return url


def _pg_create(url: str, template: str | None = None) -> None:
    parsed = make_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'drop database if exists "{parsed.database}" with (force)'))
            conn.execute(
                text(f'create database "{parsed.database}"' + (f' template "{template}"' if template else ""))
            )
    except Exception as exc:  # CI must fail loudly when PostgreSQL is down
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}", pytrace=False)
    finally:
        admin.dispose()


def copy_database(url: str, name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second database holding what ``url`` holds now (SQLite's backup; PostgreSQL's template)."""
    dispose_engines()  # a template must have no connections
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = tmp_path_factory.mktemp(name) / "yibao.db"
        with sqlite3.connect(parsed.database) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        return f"sqlite:///{path}"
    copy = parsed.set(database=f"{parsed.database}_{name}").render_as_string(hide_password=False)
    _pg_create(copy, template=parsed.database)
    return copy


def settled_demo(url: str) -> None:
    """The small settled demo of ``tests/e2e/test_cli_payment_lists.py``'s ``demo`` fixture (200 persons,
    seed 8), in a migrated database of its own."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        load_region(engine, REGION, REPO / "regions")
        spec = yaml.safe_load((REPO / "regions" / REGION / "region.yaml").read_text(encoding="utf-8"))
        districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
        build(engine, demo_bundle(), Params(persons=200, seed=8), admdvs=REGION, districts=districts)
    finally:
        engine.dispose()


def unbounded_regions(root: Path) -> Path:
    """The repository's regions, with 990100's settlement point value free of its floor and ceiling."""
    regions = root / "regions"
    shutil.copytree(REPO / "regions", regions)
    policy = regions / REGION / "policy" / "payment" / f"{YEAR}.yaml"
    body = policy.read_text(encoding="utf-8")
    bounded = '  floor: "0.90"\n  ceiling: "1.10"\n'
    assert bounded in body, "the demo's point-value bounds moved: update unbounded_regions"
    policy.write_text(body.replace(bounded, "  floor: ~\n  ceiling: ~\n"), encoding="utf-8")
    return regions


@contextmanager
def configured(url: str, regions: Path) -> Iterator[None]:
    """The CLI pointed at ``url`` and ``regions`` (as ``YIBAO_DATABASE_URL`` and ``YIBAO_REGIONS_DIR``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_MODE", "test")
        mp.setenv("YIBAO_DATABASE_URL", url)
        mp.setenv("YIBAO_REGIONS_DIR", str(regions))
        reset_settings()
        try:
            yield
        finally:
            dispose_engines()
            reset_settings()


def cli(*argv: str) -> tuple[int, str, str]:
    """``yibao argv…`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def ok(*argv: str) -> str:
    code, out, err = cli(*argv)
    assert code == 0, (argv, err)
    return out


def budget_the_year(year: int = YEAR) -> None:
    """history synthetic → budget."""
    ok("payment", "history", "synthetic", "--year", str(year))
    ok("payment", "budget", "--year", str(year))


def pay_the_months(year: int = YEAR) -> None:
    for month in range(1, 13):
        ok("payment", "month", "--year", str(year), "--month", str(month))


def clear_the_year(year: int = YEAR) -> dict:
    """clear --format json; the clearing report."""
    return json.loads(ok("payment", "clear", "--year", str(year), "--format", "json"))


@dataclass
class Year:
    url: str
    regions: Path
    copy: str  # the settled demo before its payment year (for reproducibility)
    report: dict  # the clearing JSON


@pytest.fixture(scope="module", params=BACKENDS)
def paid_year(request, tmp_path_factory) -> Iterator[Year]:
    regions = unbounded_regions(tmp_path_factory.mktemp("regions"))
    url = fresh_database(request.param, "year", tmp_path_factory)
    settled_demo(url)
    copy = copy_database(url, "again", tmp_path_factory)
    with configured(url, regions):
        budget_the_year()
        pay_the_months()
        report = clear_the_year()
    yield Year(url, regions, copy, report)
    dispose_engines()


@pytest.fixture
def year(paid_year: Year) -> Iterator[Year]:
    """The paid year's database as the configured one, for this test."""
    with configured(paid_year.url, paid_year.regions):
        yield paid_year


# --- reading the store --------------------------------------------------------------------------------------


def fen(yuan: str) -> int:
    return parse_amount(yuan)


def counts() -> dict[str, int]:
    with unit_of_work(write=False) as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t))
            for t in (PaymentRun, PaymentLine, PaymentCase, LedgerEntry, LedgerPosting, AuditLog)
        }


def balances() -> dict[tuple, int]:
    """Every account's balance by fund and institution (non-zero ones)."""
    with unit_of_work(write=False) as s:
        rows = s.execute(
            select(
                LedgerPosting.account,
                LedgerPosting.fund_pay_type,
                LedgerPosting.fixmedins_code,
                func.sum(LedgerPosting.amount),
            ).group_by(LedgerPosting.account, LedgerPosting.fund_pay_type, LedgerPosting.fixmedins_code)
        ).all()
    return {(a, f, c): int(v) for a, f, c, v in rows if v}


def runs(kind: str, month: int = 0) -> list[tuple[int, int, str]]:
    """(id, version, status) of every run of the period, oldest first."""
    with unit_of_work(write=False) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(PaymentRun.id, PaymentRun.version, PaymentRun.status)
                .where(PaymentRun.kind == kind, PaymentRun.year == YEAR, PaymentRun.month == month)
                .order_by(PaymentRun.version)
            )
        ]


def month_sums(*, current_only: bool = True) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Σ paid and Σ deposit of the month lines per (hospital, pool, method)."""
    q = (
        select(
            PaymentLine.fixmedins_code,
            PaymentLine.pool,
            PaymentLine.method,
            func.sum(PaymentLine.paid_fen),
            func.sum(PaymentLine.deposit_fen),
        )
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(PaymentRun.kind == "month", PaymentRun.year == YEAR)
        .group_by(PaymentLine.fixmedins_code, PaymentLine.pool, PaymentLine.method)
    )
    if current_only:
        q = q.where(PaymentRun.status == POSTED)
    with unit_of_work(write=False) as s:
        return {(c, p, m): (int(paid), int(dep)) for c, p, m, paid, dep in s.execute(q)}


def lines_of(run_id: int) -> list[tuple]:
    """A run's lines, every fen, in a fixed order (the comparable part of a run)."""
    with unit_of_work(write=False) as s:
        return [
            (
                ln.fixmedins_code,
                ln.pool,
                ln.method,
                ln.cases,
                ln.points4,
                ln.pv,
                ln.entitlement_fen,
                ln.personal_fen,
                ln.owed_fen,
                ln.paid_fen,
                ln.deposit_fen,
                ln.pre_settled_fen,
                ln.deposit_withheld_fen,
                ln.adjustments_fen,
            )
            for ln in s.scalars(
                select(PaymentLine)
                .where(PaymentLine.run_id == run_id)
                .order_by(PaymentLine.fixmedins_code, PaymentLine.pool, PaymentLine.method)
            )
        ]


def entry_legs(entry_ids) -> dict[int, list[tuple]]:
    with unit_of_work(write=False) as s:
        out: dict[int, list[tuple]] = defaultdict(list)
        for p in s.scalars(select(LedgerPosting).where(LedgerPosting.entry_id.in_(list(entry_ids)))):
            out[p.entry_id].append((p.account, p.amount, p.fund_pay_type, p.fixmedins_code))
    return {k: sorted(v) for k, v in out.items()}


def every_hospital(report: dict) -> list[dict]:
    return [h for p in report["pools"] for h in p["hospitals"]] + report["other_methods"]


# --- 1. the year ------------------------------------------------------------------------------------------------

MONEY = ("entitlement", "personal_paid", "pre_settled", "deposit_withheld", "adjustments", "clearing")


def test_the_year_clears_to_the_fen_and_the_ledger_balances(year):
    report = year.report
    assert report["year"] == YEAR and report["version"] == 1 and isinstance(report["run"], int)
    assert {p["pool"] for p in report["pools"]} == {"310", "390"}  # 职工, 居民
    assert {p["scheme"] for p in report["pools"]} == {"drg", "dip"}
    for pool in report["pools"]:
        for key in ("budget", "total_cost_budget", "outside_points"):
            assert Decimal(pool[key]).as_tuple().exponent == -2, (key, pool[key])
        assert Decimal(pool["pv_budget"]) > 0 and Decimal(pool["pv_settle"]) > 0
        assert Decimal(pool["total_points"]).as_tuple().exponent == -4 and Decimal(pool["total_points"]) > 0
        assert pool["hospitals"], pool["pool"]
    hospitals = every_hospital(report)
    assert {h["method"] for h in report["other_methods"]} == {"ffs", "capitation"}

    pre = month_sums()
    for h in hospitals:
        for key in MONEY:
            assert Decimal(h[key]).as_tuple().exponent == -2, (key, h)
        assert Decimal(h["points"]).as_tuple().exponent == -4
        key = (h["fixmedins_code"], h["pool"], h["method"])
        ent, personal, pre_settled, withheld, adjustments, clearing = (fen(h[k]) for k in MONEY)
        assert clearing == ent - personal - pre_settled + adjustments, h
        assert adjustments == sum(fen(v) for v in h["adjustment_detail"].values()), h
        assert (pre_settled, withheld) == pre.pop(key, (0, 0)), h
    assert not pre, f"month lines the clearing left out: {pre}"

    policy = payment_policy_on(year.regions / REGION, date(YEAR, 1, 1))
    unbounded = [p for p in report["pools"] if p["pv_bound"] is None]
    assert unbounded, "every pool's point value bounded: the budget identity would go untested"
    for pool in unbounded:
        # PV_settle = (total-cost budget − money outside the points) ÷ points, and a line's entitlement is its
        # points × PV_settle rounded once plus its money outside the points: what the points leave of the
        # budget is rounding only — half a fen per line and for the budget, and the PV's half unit per point
        ents, outside = sum(fen(h["entitlement"]) for h in pool["hospitals"]), fen(pool["outside_points"])
        pointed = ents - outside  # Σ round(line points × PV_settle)
        residual = fen(pool["total_cost_budget"]) - outside - pointed
        places = policy.drg.rate_places if pool["scheme"] == "drg" else policy.point_value.places
        half_unit = Decimal("0.5") / 10**places  # yuan per point
        allowed = Decimal(len(pool["hospitals"]) + 1) / 2 + Decimal(pool["total_points"]) * half_unit * 100
        assert abs(residual) <= allowed, (pool["pool"], pool["scheme"], residual, allowed)
        assert fen(pool["entitlements"]) == ents and fen(pool["rounding_residual"]) == residual
        assert abs(Decimal(pool["pv_settle"]) - Decimal(pool["pv_exact"])) <= half_unit

    code, out, err = cli("ledger", "check")
    assert code == 0 and "账务平衡" in out, out + err
    with unit_of_work(write=False) as s:
        case_entries = s.scalars(select(LedgerEntry.id).where(LedgerEntry.entry_type.in_(CASE_ENTRIES))).all()
        unbalanced = s.execute(
            select(LedgerPosting.entry_id, func.sum(LedgerPosting.amount))
            .where(LedgerPosting.entry_id.in_(case_entries))
            .group_by(LedgerPosting.entry_id)
            .having(func.sum(LedgerPosting.amount) != 0)
        ).all()
        legs = s.scalar(select(func.count()).where(LedgerPosting.entry_id.in_(case_entries)))
        lines = s.scalar(
            select(func.count())
            .select_from(PaymentLine)
            .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
            .where(PaymentRun.year == YEAR, PaymentLine.entry_id.is_not(None))
        )
        bank = defaultdict(int)
        for code, amount in s.execute(
            select(LedgerPosting.fixmedins_code, func.sum(LedgerPosting.amount))
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.entry_type.in_(CASE_ENTRIES), LedgerPosting.account == FUND_BANK)
            .group_by(LedgerPosting.fixmedins_code)
        ):
            bank[code] = -int(amount)  # credits: what the fund's bank paid out
        paid = defaultdict(int)
        for code, amount in s.execute(
            select(PaymentLine.fixmedins_code, func.sum(PaymentLine.paid_fen))
            .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
            .where(PaymentRun.year == YEAR, PaymentRun.status == POSTED)
            .group_by(PaymentLine.fixmedins_code)
        ):
            paid[code] = int(amount)
    assert len(case_entries) == lines > 12 and legs > lines  # one entry per line, of every run
    assert unbalanced == []
    assert {k: v for k, v in bank.items() if v} == {k: v for k, v in paid.items() if v} != {}
    assert sum(bank.values()) == sum(fen(h["pre_settled"]) + fen(h["clearing"]) for h in hospitals)
    held = balances()
    assert [k for k in held if k[0] == CASE_PAYABLE] == []  # empty after every run
    assert [k for k in held if k[0] == QUALITY_DEPOSIT] == []  # the year's deposits released at clearing


# --- 2. re-runs ---------------------------------------------------------------------------------------------------


def assert_rerun_reverses(kind: str, month: int, argv: list[str], refusal: str) -> str:
    """``argv`` refused without --rerun (one line, nothing written); with it, version 2 posted, version 1
    superseded and each of its entries negated, every balance as one run left it; what the re-run printed."""
    [(old, version, status)] = runs(kind, month)
    assert (version, status) == (1, POSTED)
    before, held = counts(), balances()
    code, out, err = cli(*argv)
    assert code == 2 and refusal in err and "(第 1 版" in err and "--rerun" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    assert counts() == before and balances() == held

    printed = ok(*argv, "--rerun")
    [(old_, _, superseded), (new, version, status)] = runs(kind, month)
    assert (old_, superseded, version, status) == (old, SUPERSEDED, 2, POSTED)
    assert lines_of(new) == lines_of(old)  # the same inputs, the same fen
    with unit_of_work(write=False) as s:
        posted = s.scalars(select(PaymentLine.entry_id).where(PaymentLine.run_id == old)).all()
        reversals = s.scalars(
            select(LedgerEntry.id).where(
                LedgerEntry.entry_type == REVERSAL, LedgerEntry.memo == f"冲销 run {old} v1"
            )
        ).all()
    original = entry_legs(posted)
    negated = sorted(sorted((a, -amount, f, c) for a, amount, f, c in legs) for legs in original.values())
    assert sorted(entry_legs(reversals).values()) == negated and len(reversals) == len(original) > 0
    after = counts()
    assert after["payment_run"] == before["payment_run"] + 1
    assert after["ledger_entry"] == before["ledger_entry"] + len(reversals) + len(posted)
    assert balances() == held  # reversed and posted again: the net effect of one run
    return printed


def same_clearing(a: dict, b: dict) -> bool:
    """The same clearing report but for the run's id and version (and what a re-run says it replaced)."""
    skip = ("run", "version", "replaced")
    return {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}


def test_clear_rerun_supersedes_reverses_and_gives_the_same_fen(year):
    argv = ["payment", "clear", "--year", str(YEAR), "--format", "json"]
    report = json.loads(assert_rerun_reverses("clear", 0, argv, f"{YEAR} 已过账"))
    assert report["version"] == 2 and same_clearing(report, year.report)
    code, out, err = cli("ledger", "check")
    assert code == 0, out + err


def test_a_rerun_says_what_it_replaced_and_that_nothing_moved(year):
    """The re-run's report names the version it replaced; the same snapshot moves no total by a fen."""
    report = json.loads(ok("payment", "clear", "--year", str(YEAR), "--format", "json", "--rerun"))
    was = report["replaced"]
    assert was["version"] == report["version"] - 1 and set(was["difference_fen"]) == set(report["totals"])
    assert all(v == 0 for v in was["difference_fen"].values())


def test_a_cleared_year_refuses_to_rerun_a_month(year):
    says = refused("payment", "month", "--year", str(YEAR), "--month", "10", "--rerun")
    assert f"{YEAR} 年已清算 (第" in says and "clear --rerun" in says  # the clearing would go stale


# --- 3. reproducibility, and a month re-run before the clearing -------------------------------------------------


def test_a_second_database_with_a_month_rerun_pays_the_same_year_byte_for_byte(year):
    """The settled demo copied before its payment year, and the year paid there again with month 10 re-run
    before the clearing: the re-run is refused without ``--rerun`` and with it supersedes and reverses
    version 1; the clearing counts current month versions only, and is the first database's JSON byte for
    byte but the run id — the same fen from the same cases, rule packs, policy and budget (§3.8)."""
    held = balances()  # (what one run of each period leaves: the re-clearing before reversed its first)
    month = 10  # the demo's largest month
    with configured(year.copy, year.regions):
        budget_the_year()
        pay_the_months()
        argv = ["payment", "month", "--year", str(YEAR), "--month", str(month)]
        assert_rerun_reverses("month", month, argv, f"{YEAR}-{month:02d} 已过账")
        current, everything = month_sums(), month_sums(current_only=False)
        assert current != everything  # the superseded version is there to be counted by mistake
        again = clear_the_year()
        for h in every_hospital(again):
            key = (h["fixmedins_code"], h["pool"], h["method"])
            assert (fen(h["pre_settled"]), fen(h["deposit_withheld"])) == current[key], h
        assert balances() == held
        code, out, err = cli("ledger", "check")
        assert code == 0, out + err
    first, second = ({k: v for k, v in r.items() if k != "run"} for r in (year.report, again))
    assert json.dumps(second, ensure_ascii=False, indent=2) == json.dumps(first, ensure_ascii=False, indent=2)


# --- 4. bad input -----------------------------------------------------------------------------------------------


def refused(*argv: str) -> str:
    """``argv`` refused: exit code 2, one line on stderr (no traceback, no unexpected exception), nothing
    written; the line."""
    before = counts()
    code, out, err = cli(*argv)
    assert code == 2, (argv, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err and "--debug" not in err, err
    assert counts() == before
    return err.strip()


def test_bad_input_is_one_line_and_writes_nothing(year, tmp_path):
    assert "--month: 13 不是 1–12 的月份" in refused("payment", "month", "--year", str(YEAR), "--month", "13")
    assert "--month: 0 不是 1–12 的月份" in refused("payment", "month", "--year", str(YEAR), "--month", "0")
    for argv in (["month", "--month", "1"], ["clear"]):  # 2026: the policy is in force, no budget yet
        assert "2026 年尚未编制预算" in refused("payment", *argv, "--year", "2026"), argv
    scores = tmp_path / "scores.csv"
    for body, line, got in (
        ("fixmedins_code,score\nH99010200001,95\nH99010200002,abc\n", 3, "'abc'"),
        ("fixmedins_code,score\nH99010200001,101\n", 2, "'101'"),
        ("fixmedins_code,score\n,80\n", 2, "''"),
    ):
        scores.write_text(body, encoding="utf-8")
        argv = ["payment", "clear", "--year", str(YEAR), "--rerun", "--performance", str(scores)]
        says = refused(*argv)
        assert f"{scores}:{line}: 需要 fixmedins_code 和 0–100 的 score" in says and got in says, says
    assert "--performance: 无法读取" in refused(
        "payment", "clear", "--year", str(YEAR), "--performance", str(tmp_path / "none.csv")
    )
    assert "--format" in refused("payment", "clear", "--year", str(YEAR), "--format", "xml")
