"""``yibao db``: migrate and inspect the configured database."""

from __future__ import annotations

import typer
from rich.console import Console

from yibao.config import get_settings

db_app = typer.Typer(help="Database schema (数据库): upgrade, current revision.", no_args_is_help=True)
console = Console()


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the configured database (YIBAO_DATABASE_URL) to the latest schema; refresh the staff roles."""
    from yibao.security import seed_roles
    from yibao.store import migrate
    from yibao.store.db import get_engine, unit_of_work

    engine = get_engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    if revision == "head":
        # roles.yaml ships with the code: an upgraded installation gets the permissions new pages need
        with unit_of_work() as s:
            seed_roles(s)
    url = engine.url.render_as_string(hide_password=True)
    console.print(f"数据库 {url}: {before or '(empty)'} → {after}")


@db_app.command("current")
def current() -> None:
    """Print the database's schema revision and whether it is up to date."""
    from yibao.store import migrate
    from yibao.store.db import get_engine

    engine = get_engine()
    cur, head = migrate.current_revision(engine), migrate.head_revision(engine)
    state = "up to date 最新" if cur == head else f"needs upgrade 需升级 → {head}"
    console.print(f"{get_settings().database_url}: {cur or '(empty)'} ({state})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
