"""``yibao users``: staff accounts of the console and the REST API."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError

users_app = typer.Typer(
    help="Staff users (工作人员): create, list, passwd, disable, enable.", no_args_is_help=True
)
console = Console()


def _password(value: str | None) -> str:
    if value:
        return value
    first = typer.prompt("密码 (password)", hide_input=True)
    if first != typer.prompt("再输入一次 (again)", hide_input=True):
        raise InputError("password: 两次输入的密码不一致")
    return first


@users_app.command("create")
def create(
    username: str,
    name: str = typer.Option(..., "--name", help="Display name, e.g. 张三."),
    role: list[str] = typer.Option(
        ..., "--role", help="admin | handler | reviewer | inspector | fund_manager | director"
    ),
    password: str = typer.Option(None, "--password", help="Prompted (hidden, twice) when omitted."),
) -> None:
    """Create a staff user with one or more roles."""
    from yibao.security import create_user
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        create_user(s, username, name, role, _password(password))
    console.print(f"已创建用户 {username} ({', '.join(role)})")


@users_app.command("list")
def list_users() -> None:
    from sqlalchemy import select

    from yibao.store.db import unit_of_work
    from yibao.store.tables import StaffUser, UserRole

    t = Table("username", "name", "roles", "active", "last login")
    with unit_of_work(write=False) as s:
        roles: dict[str, list[str]] = {}
        for u, r in s.execute(select(UserRole.username, UserRole.role)):
            roles.setdefault(u, []).append(r)
        for u in s.scalars(select(StaffUser).order_by(StaffUser.username)):
            t.add_row(
                u.username,
                u.display_name,
                ", ".join(roles.get(u.username, [])),
                "是" if u.active else "否",
                f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "",
            )
    console.print(t)


@users_app.command("passwd")
def passwd(username: str, password: str = typer.Option(None, "--password")) -> None:
    from yibao.security import set_password
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        set_password(s, username, _password(password))
    console.print(f"已修改 {username} 的密码")


@users_app.command("disable")
def disable(username: str) -> None:
    from yibao.security import set_active
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        set_active(s, username, False)
    console.print(f"已停用 {username}")


@users_app.command("enable")
def enable(username: str) -> None:
    from yibao.security import set_active
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        set_active(s, username, True)
    console.print(f"已启用 {username}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
