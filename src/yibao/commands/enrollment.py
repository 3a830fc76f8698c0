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
    help="Contributions (缴费): monthly run, wage declaration, residents' year, collection.",
    no_args_is_help=True,
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
    """A wage declaration CSV (psn_no,wage in yuan); the line and field of the first bad row are named."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"--wages: 工资申报文件不存在（{path}）")
    out: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("psn_no", "wage") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"{path.name}: 缺少列 {'、'.join(missing)}（应有 psn_no 人员编号、wage 工资两列）"
            )
        for line, row in enumerate(reader, start=2):
            psn = (row.get("psn_no") or "").strip()
            if not psn:
                raise InputError(f"{path.name} 第{line}行 psn_no: 缺少人员编号")
            if psn in out:
                raise InputError(f"{path.name} 第{line}行 psn_no: 人员编号 {psn} 重复")
            try:
                out[psn] = parse_amount(row.get("wage") or "")
            except ValueError as exc:
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
        r = run_month(
            get_engine(), get_bundle(region), month, wages=_wages(wages), pay=pay, progress=_tracker(bar)
        )
    t = Table(title=f"{month} 缴费核定", show_header=False)
    for k, val in (
        ("在职职工 employees", f"{r.employees:,}"),
        ("灵活就业 flexible", f"{r.flexible:,}"),
        ("退休划账 retirees credited", f"{r.retirees_credited:,}"),
        ("单位缴费 employer shares", fmt_fen(r.employer_amt)),
        ("个人缴费 employee shares", fmt_fen(r.employee_amt)),
        ("灵活就业缴费 flexible", fmt_fen(r.flexible_amt)),
        ("应缴 due", fmt_fen(r.due)),
        ("已收 collected", fmt_fen(r.paid)),
        ("无工资申报 no wage declared", f"{len(r.skipped_no_wage):,}"),
    ):
        t.add_row(k, val)
    console.print(t)


def _tracker(bar: Progress):
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        tasks.setdefault(stage, bar.add_task(stage, total=max(total, 1)))
        bar.update(tasks[stage], completed=done, total=max(total, 1))

    return progress


@contributions_app.command("declare")
def declare(
    employer: str = typer.Option(..., "--employer", help="emp_no of the declaring employer."),
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    wages: Path = typer.Option(..., "--wages", help="CSV psn_no,wage (yuan) of the employer's staff."),
    region: str = typer.Option("990100", "--region"),
) -> None:
    """An employer's monthly wage declaration (工资申报): its employees' contributions for the month."""
    from yibao.enrollment.contributions import declare_wages
    from yibao.policy.registry import get_bundle
    from yibao.store.db import get_engine

    r, problems = declare_wages(get_engine(), get_bundle(region), employer, month, _wages(wages))
    console.print(
        f"{employer} {month}: {r.employees:,} 人, 单位 {fmt_fen(r.employer_amt)} 元, "
        f"个人 {fmt_fen(r.employee_amt)} 元, 应缴 {fmt_fen(r.due)} 元"
    )
    for p in problems:
        console.print(f"[red]✗[/] {wages.name} {p}", markup=True, highlight=False)


@contributions_app.command("residents")
def residents(
    year: int = typer.Option(..., "--year"),
    pay: bool = typer.Option(False, "--pay", help="Also record the year as collected."),
    region: str = typer.Option("990100", "--region"),
) -> None:
    """Compute the year's 居民 contributions (individual share, 资助参保, subsidy)."""
    from yibao.enrollment.residents import run_residents
    from yibao.policy.registry import get_bundle
    from yibao.store.db import get_engine

    with _bar() as bar:
        r = run_residents(get_engine(), get_bundle(region), year, pay=pay, progress=_tracker(bar))
    console.print(
        f"{year} 年居民缴费: {r.residents:,} 人, 个人应缴 {fmt_fen(r.due)} 元, "
        f"资助参保 {r.assisted:,} 人 {fmt_fen(r.assistance)} 元 (医疗救助基金), "
        f"财政补助 {fmt_fen(r.subsidy)} 元, 已收 {fmt_fen(r.paid)} 元"
    )


@contributions_app.command("collect")
def collect_cmd(
    month: str = typer.Option(..., "--month", help="YYYY-MM, or YYYY for residents"),
    employer: str = typer.Option(None, "--employer", help="Only this employer (emp_no)."),
    on: str = typer.Option(None, "--date", help="Date received (YYYY-MM-DD); default: now."),
) -> None:
    """Record what is due for a period as collected (posts the receipts to the ledger)."""
    from datetime import date, datetime

    from yibao.enrollment.collection import collect
    from yibao.enrollment.periods import parse_month
    from yibao.store.db import get_engine

    period = (
        int(month) * 100 if month.isascii() and month.isdigit() and len(month) == 4 else parse_month(month)[0]
    )
    if on:
        try:
            when = datetime.combine(date.fromisoformat(on), datetime.min.time())
        except ValueError:
            raise InputError(f'--date: "{on}" 不是日期（格式 YYYY-MM-DD）') from None
    else:
        when = datetime.now()
    with _bar() as bar:
        total = collect(get_engine(), period, emp_no=employer, when=when, progress=_tracker(bar))
    console.print(f"已收缴 {fmt_fen(total)} 元 ({period}{' ' + employer if employer else ''})")


@accounts_app.command("statement")
def statement_cmd(psn_no: str) -> None:
    """Every movement of a personal account with the running balance."""
    from yibao.enrollment.accounts import statement
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
    console.print(f"余额 balance: {fmt_fen(rows[-1]['balance'] if rows else 0)} 元 ({len(rows)} 笔)")


def register(app: typer.Typer) -> None:
    app.add_typer(contributions_app, name="contributions")
    app.add_typer(accounts_app, name="accounts")
