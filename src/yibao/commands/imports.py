"""``yibao import KIND FILE``: bulk import with a progress bar, a summary and line-numbered rejections."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import InputError

console = Console(soft_wrap=True)  # never wrap a rejection or a problem across lines
SHOWN = 20


def import_file(
    kind: str = typer.Argument(
        ...,
        help="institutions | employers | persons | enrollments | catalogue | departments | identities"
        " | chronic_registrations | supplementary | account_balances",
    ),
    file: Path = typer.Argument(..., help="CSV, XLSX or YAML file (national or Chinese column headers)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count, write nothing."),
    errors: Path = typer.Option(
        None, "--errors", help="Write every rejected row (line, field, reason) to this CSV."
    ),
    actor: str = typer.Option("cli", "--actor", help="Recorded in the audit log."),
) -> None:
    """Load a file of one kind; bad rows are reported by line and the rest still loads."""
    from yibao.ingest.kinds import PUBLIC
    from yibao.ingest.loader import run_import
    from yibao.store.db import get_engine

    if kind not in PUBLIC:
        raise InputError(f"kind: 未知的导入类型 {kind} (choose {', '.join(PUBLIC)})")
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} 行"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"导入 {file.name}", total=None)
        report = run_import(
            get_engine(),
            kind,
            file,
            dry_run=dry_run,
            actor=actor,
            progress=lambda n: bar.update(task, completed=n),
        )
    counts = report.counts()
    t = Table(title=f"{file.name} → {kind}{' (dry run, nothing written)' if dry_run else ''}")
    for label in ("读取 read", "新增 inserted", "更新 updated", "未变 unchanged", "拒绝 rejected"):
        t.add_column(label, justify="right")
    t.add_row(*(str(counts[k]) for k in ("read", "inserted", "updated", "unchanged", "rejected")))
    console.print(t)
    if report.ignored_columns:
        console.print(f"[yellow]忽略的列 (ignored columns): {', '.join(report.ignored_columns)}[/]")
    if report.rejected:
        console.print(f"[red]{counts['rejected']} 行被拒绝 (rejected rows); the others were loaded:[/]")
        for r in report.rejected[:SHOWN]:
            console.print(f"  {file.name} {r}", highlight=False)
        if len(report.rejected) > SHOWN:
            console.print(
                f"  … {len(report.rejected) - SHOWN} more"
                + ("" if errors else " (use --errors FILE for all)")
            )
    if errors:
        with errors.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["line", "field", "reason"])
            w.writerows([(r.line, r.field, r.reason) for r in report.rejected])
        console.print(f"rejections written to {errors}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
