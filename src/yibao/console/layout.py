"""Shared page frame: header with the bureau and the user, navigation drawer, content column; login guard."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

from nicegui import app, ui

# Paths are relative to the console's mount point (/console): NiceGUI resolves navigation against it.
NAV = [  # (label, path, permission needed, available: a module not built yet is not shown)
    ("首页", "/", None, True),
    ("参保人", "/persons", "person.read", True),
    ("参保登记", "/enrollment", "enrollment.write", True),
    ("单位", "/employers", "enrollment.read", True),
    ("重复参保", "/duplicates", "enrollment.read", True),
    ("结算", "/settlements", "settlement.read", True),
    ("定点机构", "/institutions", "settlement.read", True),
    ("审核", "/review", "settlement.review", True),
    ("付费", "/payment", "payment.read", True),
    ("付费结算", "/payment/runs", "payment.read", True),
    ("特例单议", "/payment/reviews", "payment.review", True),
    ("基金", "/funds", "funds.read", False),
    ("智能监管", "/supervision", "supervision.read", True),
    ("定点管理", "/providers", "providers.read", True),
]
MOUNT = "/console"
# what each permission of roles.yaml lets a user do, as a refusal names it (never the internal key)
PERMISSION_NAMES = {
    "person.read": "查看参保人",
    "person.write": "维护参保人信息",
    "enrollment.read": "查看参保登记与单位",
    "enrollment.write": "办理参保登记",
    "contribution.read": "查看缴费",
    "contribution.write": "办理缴费",
    "settlement.read": "查看结算",
    "settlement.write": "办理结算",
    "settlement.review": "结算审核",
    "ledger.read": "查看基金账务",
    "funds.read": "查看基金",
    "funds.write": "管理基金",
    "supervision.read": "查看监管",
    "supervision.write": "办理监管",
    "report.read": "查看报表",
    "payment.read": "查看付费分组",
    "payment.review": "特例单议评审",
    "providers.read": "查看定点管理",
    "providers.write": "办理定点管理",
}


def current_user() -> dict:
    return {k: app.storage.user.get(k) for k in ("username", "display_name", "roles", "permissions")}


def menu(permissions: list[str]) -> list[tuple[str, str]]:
    """The (label, path) items a user with ``permissions`` sees: what they may use, and nothing else — not a
    page they may not open, nor a module not built yet."""
    return [
        (label, path)
        for label, path, permission, available in NAV
        if available and (permission is None or "*" in permissions or permission in permissions)
    ]


def can(permission: str | None) -> bool:
    perms = app.storage.user.get("permissions") or []
    return permission is None or "*" in perms or permission in perms


def protected(permission: str | None = None) -> Callable:
    """Page decorator: unauthenticated visitors go to the login page (and come back after)."""

    def deco(page: Callable) -> Callable:
        @functools.wraps(page)
        async def wrapper(*args, **kwargs):
            if not app.storage.user.get("username"):
                request = ui.context.client.request
                path = request.url.path.removeprefix(MOUNT) or "/" if request else "/"
                query = f"?{request.url.query}" if request and request.url.query else ""
                ui.navigate.to(f"/login?next={quote(path + query)}")
                return
            if not can(permission):
                with frame("无权限"):
                    ui.label(refusal(permission)).classes("text-negative").mark("no-permission")
                return
            result = page(*args, **kwargs)
            if inspect.isawaitable(result):
                await result

        return wrapper

    return deco


def refusal(permission: str) -> str:
    """Why a page is closed to the user, in Chinese: the 功能 it needs and the 岗位 that have it."""
    from yibao.security import role_definitions

    what = PERMISSION_NAMES.get(permission, "此功能")
    roles = [
        spec["title"]
        for spec in role_definitions().values()
        if permission in spec["permissions"] and "*" not in spec["permissions"]
    ]
    who = f"可使用此功能的岗位：{'、'.join(roles)}。" if roles else ""
    return f"您没有“{what}”的权限，不能打开此页面。{who}如需开通，请联系系统管理员。"


def logout() -> None:
    app.storage.user.clear()
    ui.navigate.to("/login")


@contextmanager
def frame(title: str, active: str | None = None) -> Iterator[None]:
    """The console's page frame; content goes inside the ``with`` block."""
    ui.page_title(f"{title} · yibao 医保管理台")
    user = current_user()
    with ui.header(elevated=True).classes("items-center bg-teal-8 text-white"):
        ui.button(icon="menu", on_click=lambda: drawer.toggle()).props("flat color=white").mark("menu")
        ui.label("示例市医疗保障局").classes("text-lg font-bold")
        ui.label("yibao 医保管理台").classes("opacity-80")
        ui.space()
        ui.label(f"{user['display_name'] or user['username']}").mark("current-user")
        ui.button("退出登录", on_click=logout).props("flat color=white").mark("logout")
    with ui.left_drawer(value=True, bordered=True).classes("bg-grey-1") as drawer:
        for label, path in menu(app.storage.user.get("permissions") or []):
            item = ui.item(label, on_click=lambda p=path: ui.navigate.to(p))
            if label == active:
                item.classes("bg-teal-1 text-teal-9 font-bold")
    with ui.column().classes("w-full p-4 gap-4"):
        ui.label(title).classes("text-2xl font-bold")
        yield
