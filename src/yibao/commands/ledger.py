"""``yibao ledger check``: prove the fund ledger balances and agrees with the settlements."""

from __future__ import annotations

import typer
from rich.console import Console

from yibao.errors import YibaoError

ledger_app = typer.Typer(
    help="Fund ledger (基金账务): balance and reconciliation checks.", no_args_is_help=True
)
console = Console(soft_wrap=True)  # never wrap a rejection or a problem across lines


class LedgerMismatch(YibaoError):
    pass


@ledger_app.command("check")
def check() -> None:
    """Every entry balances; fund, account and cash totals equal the settlements per day and institution."""
    from yibao.funds.check import check_ledger
    from yibao.store.db import unit_of_work

    with unit_of_work(write=False) as s:
        report = check_ledger(s)
    console.print(
        f"凭证 {report.entries} 张, 分录 {report.postings} 条, 结算 {report.settlements} 笔, "
        f"核对 {report.groups} 组 (day × institution × fund)"
    )
    if not report.ok:
        for p in report.problems:
            console.print(f"[red]✗[/] {p}", markup=True)
        raise LedgerMismatch(f"账务核对失败: {len(report.problems)} 处不符 (ledger check failed)")
    console.print("[green]账务平衡，与结算一致 (ledger balanced and consistent)[/]", markup=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
