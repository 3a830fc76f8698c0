"""``yibao clients``: API credentials of designated institutions' HIS systems."""

from __future__ import annotations

import re
import secrets

import typer
from rich.console import Console
from rich.table import Table

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound

clients_app = typer.Typer(help="HIS API clients (接口客户端): create, list, suspend.", no_args_is_help=True)
console = Console()

# it travels in the x-yibao-client header and is stored in api_client.client_id (40 characters)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,40}", re.ASCII)


@clients_app.command("create")
def create(
    fixmedins_code: str = typer.Argument(..., help="The institution (定点医药机构编号)."),
    algo: str = typer.Option(
        "sha256", "--algo", help="Signature: sha256 (HMAC-SHA256) or sm3 (HMAC-SM3, 国密)."
    ),
    client_id: str = typer.Option(
        None, "--client-id", help="Default: the institution code + a random suffix."
    ),
) -> None:
    """Create credentials; the secret is printed once."""
    from yibao.api.signing import new_secret
    from yibao.store import audit
    from yibao.store.db import unit_of_work
    from yibao.store.tables import ApiClient, Institution

    if algo not in ("sha256", "sm3"):
        raise InputError(f'--algo: 不支持的签名算法 "{algo}" (must be sha256 or sm3)')
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise InputError(
            f'--client-id: "{client_id}" 须为 1–40 位字母、数字或 . _ - (1-40 letters, digits or . _ -)'
        )
    with unit_of_work() as s:
        if s.get(Institution, fixmedins_code) is None:
            raise NotFound(f"fixmedins_code: 定点医药机构不存在 {fixmedins_code}")
        cid = client_id or f"{fixmedins_code}-{secrets.token_hex(3)}"
        if s.get(ApiClient, cid) is not None:
            raise InputError(f"--client-id: {cid} 已存在")
        secret = new_secret()
        s.add(ApiClient(client_id=cid, fixmedins_code=fixmedins_code, secret=secret, sign_algo=algo))
        audit.record(
            s,
            actor="cli",
            action=Action.CREATE,
            entity="api_client",
            entity_id=cid,
            after={"fixmedins_code": fixmedins_code, "sign_algo": algo},
        )
    console.print(
        f"client_id: {cid}\nsecret:    {secret}\nalgo:      HMAC-{algo.upper()}  (保存好密钥：只显示一次)"
    )


@clients_app.command("list")
def list_clients() -> None:
    from sqlalchemy import select

    from yibao.store.db import unit_of_work
    from yibao.store.tables import ApiClient

    t = Table("client_id", "fixmedins_code", "algo", "status")
    with unit_of_work(write=False) as s:
        for c in s.scalars(select(ApiClient).order_by(ApiClient.client_id)):
            t.add_row(c.client_id, c.fixmedins_code, c.sign_algo, c.status)
    console.print(t)


@clients_app.command("suspend")
def suspend(client_id: str) -> None:
    from yibao.store import audit
    from yibao.store.db import unit_of_work
    from yibao.store.tables import ApiClient

    with unit_of_work() as s:
        c = s.get(ApiClient, client_id)
        if c is None:
            raise NotFound(f"client_id: 不存在 {client_id}")
        c.status = "suspended"
        audit.record(s, actor="cli", action=Action.SUSPEND, entity="api_client", entity_id=client_id)
    console.print(f"{client_id} 已停用")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app, name="clients")
