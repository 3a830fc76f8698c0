"""``yibao serve``: run the API, the national facade and the console (uvicorn)."""

from __future__ import annotations

import os

import typer
from rich.console import Console

console = Console()


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes (default: one per CPU on PostgreSQL, 1 on SQLite, which serialises writes).",
    ),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log every request (costs CPU on a busy facade)."
    ),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
) -> None:
    """Serve http://HOST:PORT — /health, /docs, /fsi/api/callService, /api, /fhir and /console."""
    import uvicorn

    from yibao.config import get_settings

    settings = get_settings()
    settings.require_secrets()  # production with the built-in secret stops here, one line, exit 2
    if workers is None:
        workers = (os.cpu_count() or 1) if settings.database_url.startswith("postgres") else 1
    base = f"http://{host}:{port}"
    console.print(
        f"yibao 医保 · {settings.mode} · {settings.database_url.split('@')[-1]} · {workers} worker(s)"
    )
    console.print(
        f"  健康检查 health   {base}/health\n  接口文档 API docs {base}/docs\n  管理台 console    {base}/console/"
    )
    from yibao.api.http_protocol import PROTOCOL

    uvicorn.run(
        "yibao.api.app:get_app",
        factory=True,
        http=PROTOCOL,
        host=host,
        port=port,
        workers=workers if not reload else 1,
        reload=reload,
        log_level="info",
        access_log=access_log,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
