"""``yibao audit``: check the tamper-evident audit chain."""

from __future__ import annotations

import typer
from rich.console import Console

from yibao.errors import YibaoError

audit_app = typer.Typer(help="Audit log (审计日志): verify the hash chain.", no_args_is_help=True)
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


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
