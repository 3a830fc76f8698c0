"""``yibao audit``: check the tamper-evident audit chain; run the smart-audit library over a settled period
(事后审核, ``yibao audit run``)."""

from __future__ import annotations

import typer
from rich.console import Console

from yibao.errors import YibaoError

audit_app = typer.Typer(
    help="Audit log (审计日志): verify the hash chain; run the rule library over a period (事后审核).",
    no_args_is_help=True,
)
console = Console()


class AuditChainBroken(YibaoError):
    pass


@audit_app.command("verify")
def verify_cmd() -> None:
    """Recompute every row's SHA-256 and link; exit 2 naming the first tampered row."""
    from yibao.store import audit
    from yibao.store.db import unit_of_work

    with unit_of_work() as session:
        result = audit.verify(session)
    if not result.ok:
        raise AuditChainBroken(f"审计链校验失败: {result.problem}")
    console.print(f"审计链完整 (audit chain intact): {result.rows} 条记录")


@audit_app.command("run")
def run_cmd(
    date_from: str = typer.Option(..., "--from", help="First settlement day (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last settlement day (YYYY-MM-DD)."),
    rules: str = typer.Option(None, "--rules", help="Rule codes, comma-separated (default: all enabled)."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or sqlite (small periods)."),
) -> None:
    """Run the rule library over every settled line of the period; store new suspicions (疑点)."""
    from yibao.commands.audit_run import run_audit_cmd

    run_audit_cmd(date_from, date_to, rules, engine)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
