"""``yibao payment budget | month | clear | statement``: the year of case-based payment (payment-drg-dip.md
§3.7–§3.8, §5, §6; docs/payment.md).

* ``budget --year 2025``: the global budget of each pool and scheme, its budget point value or rate, and the
  group norms, from the fund's figures and three history years;
* ``month --year 2025 --month 3``: the month's pre-settlement, posted to the ledger;
* ``clear --year 2025 [--format json] [--performance scores.csv]``: the year-end clearing, posted;
* ``statement --year 2025 [--month 3] --institution H… --output file.xlsx``: a hospital's statement.

A run is one transaction: interrupted, it leaves nothing, and is run again. A period already posted is refused
unless ``--rerun``, which posts a new version and reverses the one before (the difference is printed)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.commands.payment import payment_app
from yibao.errors import InputError

console = Console(highlight=False)
ACTOR = "yibao payment"


def _region_dir(region: str | None) -> Path:
    from yibao.config import get_settings

    settings = get_settings()
    return settings.regions_dir / (region or settings.region)


def _spinner(label: str) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{label}[/] {{task.fields[n]}} 例"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _run(label: str, work):
    """Run ``work(session, progress)`` in one unit of work with a live count; refusals as one line."""
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.payment_runs import RunExists

    with _spinner(label) as bar:
        task = bar.add_task(label, total=None, n=0)
        try:
            with unit_of_work(get_engine()) as s:
                return work(s, lambda n, _total=0: bar.update(task, n=n))
        except RunExists as exc:
            period, version, at = exc.args
            raise InputError(
                f"{period} 已过账 (第 {version} 版, {at:%Y-%m-%d %H:%M}); 重新计算请加 --rerun (posts a new version)"
            ) from None


@payment_app.command("budget")
def budget(
    year: int = typer.Option(..., "--year", help="Payment year (年度)."),
    region: str = typer.Option(None, "--region", help="Region code (default: the configured one)."),
) -> None:
    """Build YEAR's global budget per pool and scheme, its budget point value or rate, and the group norms."""
    from yibao.payment.service.budget import build_budgets

    region_dir = _region_dir(region)
    built = _run(
        "预算 budget", lambda s, p: build_budgets(s, region_dir, year, actor=ACTOR, now=datetime.now())
    )
    t = Table(title=f"{year} 年支付方式预算 (global budget)")
    for col in (
        "基金池 pool",
        "方式 scheme",
        "版本",
        "基金预算 fund budget",
        "总费用预算 total cost",
        "预算点值/费率 PV",
        "组数 groups",
    ):
        t.add_column(col, justify="right")
    for b in built:
        t.add_row(
            b.pool,
            b.scheme,
            str(b.version),
            _yuan(b.fund_budget_fen),
            _yuan(b.total_cost_budget_fen),
            b.pv_budget,
            str(b.figures.get("groups", "")),
        )
    console.print(t)


@payment_app.command("month")
def month(
    year: int = typer.Option(..., "--year", help="Payment year."),
    month_: int = typer.Option(..., "--month", help="Month 1–12 (discharges of the month)."),
    rerun: bool = typer.Option(False, "--rerun", help="Post a new version, reversing the one before."),
    region: str = typer.Option(None, "--region", help="Region code (default: the configured one)."),
) -> None:
    """Pre-settle YEAR-MONTH: group and price the month's discharges, pay the payout share, withhold the deposit."""
    from yibao.payment.service.month import run_month

    region_dir = _region_dir(region)
    run = _run(
        f"{year}-{month_:02d} 预结算",
        lambda s, p: run_month(
            s, region_dir, year, month_, actor=ACTOR, now=datetime.now(), rerun=rerun, progress=p
        ),
    )
    tot = run.summary["totals"]
    console.print(
        f"{year}-{month_:02d} 月度预结算 第 {run.version} 版: {run.summary['cases']} 例, 应付 owed {_yuan(tot['owed'])}, "
        f"拨付 paid {_yuan(tot['paid'])}, 预留质量保证金 deposit {_yuan(tot['deposit'])} (run {run.id})",
        soft_wrap=True,
    )
    _print_replaced(run.summary)


def _print_replaced(summary: dict) -> None:
    """A re-run says what it replaced and by how much each total moved."""
    was = summary.get("replaced")
    if not was:
        return
    moved = ", ".join(
        f"{k} {_yuan(v) if v < 0 else '+' + _yuan(v)}" for k, v in was["difference_fen"].items()
    )
    console.print(
        f"取代第 {was['version']} 版 (run {was['run']}, 已冲销): 差额 difference {moved}", soft_wrap=True
    )


@payment_app.command("clear")
def clear(
    year: int = typer.Option(..., "--year", help="Payment year to clear."),
    output_format: str = typer.Option("table", "--format", help="table or json."),
    performance: Path = typer.Option(None, "--performance", help="CSV fixmedins_code,score (考核得分)."),
    rerun: bool = typer.Option(False, "--rerun", help="Post a new version, reversing the one before."),
    region: str = typer.Option(None, "--region", help="Region code (default: the configured one)."),
) -> None:
    """Clear YEAR: settlement point values per pool, each hospital's entitlement, adjustments and balance."""
    from yibao.payment.service.clearing import run_clearing

    if output_format not in ("table", "json"):
        raise InputError(f"--format: {output_format!r} 只能是 table 或 json")
    scores = read_scores(performance) if performance else {}
    region_dir = _region_dir(region)
    run = _run(
        f"{year} 年度清算",
        lambda s, p: run_clearing(
            s, region_dir, year, actor=ACTOR, now=datetime.now(), scores=scores, rerun=rerun, progress=p
        ),
    )
    report = {"year": year, "run": run.id, "version": run.version, **run.summary}
    if output_format == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print_replaced(run.summary)
    for pool in report["pools"]:
        console.print(
            f"基金池 {pool['pool']} {pool['scheme'].upper()}: 预算 {pool['budget']}, 预算点值 {pool['pv_budget']}, "
            f"结算点值 {pool['pv_settle']}"
            + (f" ({pool['pv_bound']})" if pool["pv_bound"] else "")
            + f", 总点数 {pool['total_points']}",
            soft_wrap=True,
        )
    t = Table(title=f"{year} 年度清算 (clearing) 第 {run.version} 版")
    for col in (
        "机构",
        "基金池",
        "方式",
        "点数",
        "核定 entitlement",
        "个人负担",
        "已预结算",
        "保证金",
        "调整",
        "清算 clearing",
    ):
        t.add_column(col, justify="right")
    for h in [h for p in report["pools"] for h in p["hospitals"]] + report["other_methods"]:
        t.add_row(
            h["fixmedins_code"],
            h["pool"],
            h["method"],
            h["points"],
            h["entitlement"],
            h["personal_paid"],
            h["pre_settled"],
            h["deposit_withheld"],
            h["adjustments"],
            h["clearing"],
        )
    console.print(t)


def read_scores(path: Path) -> dict[str, Decimal]:
    """考核 scores: a CSV ``fixmedins_code,score``; a bad row is named by line."""
    try:
        rows = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    except OSError as exc:
        raise InputError(f"--performance: 无法读取 {path}: {exc.strerror or exc}") from None
    out: dict[str, Decimal] = {}
    for line, row in enumerate(rows, 2):
        code, score = (row.get("fixmedins_code") or "").strip(), (row.get("score") or "").strip()
        try:
            value = Decimal(score)
        except InvalidOperation:
            value = Decimal(-1)
        if not code or not value.is_finite() or not 0 <= value <= 100:
            raise InputError(
                f"{path}:{line}: 需要 fixmedins_code 和 0–100 的 score (got {code!r}, {score!r})"
            )
        out[code] = value
    return out


@payment_app.command("statement")
def statement(
    year: int = typer.Option(..., "--year"),
    month_: int = typer.Option(0, "--month", help="Month 1–12, or 0 for the clearing (default)."),
    institution: str = typer.Option(..., "--institution", help="fixmedins_code (定点医疗机构编码)."),
    output: Path = typer.Option(..., "--output", help="Excel file to write (.xlsx)."),
) -> None:
    """Write a hospital's statement (结算单) of a month run or the clearing: every case with its group,
    deviation class, points and amount, and the line totals."""
    from yibao.console.export import write_xlsx
    from yibao.console.queries_payment_statement import STATEMENT_COLUMNS, statement_rows
    from yibao.store.db import get_engine, unit_of_work

    with unit_of_work(get_engine(), write=False) as s:
        title, rows = statement_rows(s, year, month_, institution)
        n = write_xlsx(str(output), title, STATEMENT_COLUMNS, rows)
    console.print(f"{title}: {n} 行 → {output}")


def _yuan(value) -> str:
    from yibao.money import fmt_fen

    if isinstance(value, str):
        return f"{Decimal(value):,.2f}"
    return f"{Decimal(fmt_fen(value)):,.2f}"
