"""``yibao contributions`` and ``yibao accounts``: contribution runs, collection, account statements."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import InputError
from yibao.money import fmt_fen, parse_amount

contributions_app = typer.Typer(
    help="Contributions (缴费): monthly run, residents' year, collection.", no_args_is_help=True
)
accounts_app = typer.Typer(help="Personal accounts (个人账户): statements.", no_args_is_help=True)
console = Console(soft_wrap=True)


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _wages(path: Path | None) -> dict[str, int] | None:
    if path is None:
        return None
    out = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                out[row["psn_no"].strip()] = parse_amount(row["wage"])
            except (KeyError, ValueError) as exc:
                raise InputError(f"{path.name} 第{line}行 wage: {exc}") from None
    return out


@contributions_app.command("run")
def run(
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    wages: Path = typer.Option(
        None, "--wages", help="CSV psn_no,wage (yuan); default: each person's last declared wage."
    ),
    pay: bool = typer.Option(False, "--pay", help="Also record the month as collected."),
    region: str = typer.Option("990100", "--region"),
) -> None:
    """Compute a month's contributions for every active employee and flexible worker; credit retirees' accounts."""
    from yibao.enrollment.contributions import run_month
    from yibao.policy.registry import get_bundle
    from yibao.store.db import get_engine

    with _bar() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            tasks.setdefault(stage, bar.add_task(stage, total=max(total, 1)))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        r = run_month(
            get_engine(), get_bundle(region), month, wages=_wages(wages), pay=pay, progress=progress
        )
    t = Table(title=f"{month} 缴费核定", show_header=False)
    for k, val in (
        ("在职职工 employees", f"{r.employees:,}"),
        ("灵活就业 flexible", f"{r.flexible:,}"),
        ("退休划账 retirees credited", f"{r.retirees_credited:,}"),
        ("应缴 due", fmt_fen(r.due)),
        ("已收 collected", fmt_fen(r.paid)),
        ("无工资申报 no wage declared", f"{len(r.skipped_no_wage):,}"),
    ):
        t.add_row(k, val)
    console.print(t)


@contributions_app.command("residents")
def residents(
    year: int = typer.Option(..., "--year"),
    pay: bool = typer.Option(False, "--pay"),
    region: str = typer.Option("990100", "--region"),
) -> None:
    """Compute the year's 居民 contributions (individual share, 资助参保, subsidy)."""
    from yibao.enrollment.contributions import run_residents
    from yibao.policy.registry import get_bundle
    from yibao.store.db import get_engine

    r = run_residents(get_engine(), get_bundle(region), year, pay=pay)
    console.print(
        f"{year} 年居民缴费: {r.residents:,} 人, 个人应缴 {fmt_fen(r.due)} 元, 已收 {fmt_fen(r.paid)} 元"
    )


@contributions_app.command("collect")
def collect_cmd(
    month: str = typer.Option(..., "--month", help="YYYY-MM, or YYYY for residents"),
    employer: str = typer.Option(None, "--employer", help="Only this employer (emp_no)."),
) -> None:
    """Record what is due for a period as collected (posts the receipts to the ledger)."""
    from datetime import datetime

    from yibao.enrollment.contributions import collect, parse_month
    from yibao.store.db import get_engine

    period = int(month) * 100 if month.isdigit() and len(month) == 4 else parse_month(month)[0]
    total = collect(get_engine(), period, emp_no=employer, when=datetime.now())
    console.print(f"已收缴 {fmt_fen(total)} 元 ({period})")


@accounts_app.command("statement")
def statement_cmd(psn_no: str) -> None:
    """Every movement of a personal account with the running balance."""
    from yibao.enrollment.service import statement
    from yibao.store.db import unit_of_work

    with unit_of_work(write=False) as s:
        rows = statement(s, psn_no)
    t = Table("时间", "类型", "结算ID", "摘要", "金额", "余额", title=f"个人账户对账单 {psn_no}")
    for r in rows:
        t.add_row(
            f"{r['time']:%Y-%m-%d %H:%M}",
            r["kind"],
            r["setl_id"] or "",
            r["memo"],
            fmt_fen(r["amount"]),
            fmt_fen(r["balance"]),
        )
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(contributions_app, name="contributions")
    app.add_typer(accounts_app, name="accounts")
