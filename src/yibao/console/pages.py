"""Console pages: login and home; the domain pages register from their own modules."""

from __future__ import annotations

from nicegui import app, run, ui

from yibao.console.layout import NAV, can, frame, protected
from yibao.security import authenticate
from yibao.store.db import unit_of_work


def _login(username: str, password: str):
    with unit_of_work() as s:
        return authenticate(s, username.strip(), password, actor="console")


@ui.page("/login")
def login_page(next: str = "/") -> None:
    if not next.startswith("/") or next.startswith("//"):
        next = "/"  # only pages of the console: no open redirects
    ui.page_title("登录 · yibao 医保管理台")

    async def submit() -> None:
        who = await run.io_bound(_login, username.value or "", password.value or "")
        if who is None:
            error.set_text("用户名或密码错误")
            error.set_visibility(True)
            password.value = ""
            return
        app.storage.user.update(
            username=who.username,
            display_name=who.display_name,
            roles=list(who.roles),
            permissions=sorted(who.permissions),
        )
        ui.navigate.to(next)

    with ui.card().classes("absolute-center w-96 p-6 gap-4"):
        ui.label("示例市医疗保障局").classes("text-xl font-bold")
        ui.label("yibao 医保管理台 · 工作人员登录").classes("text-grey-7")
        username = ui.input("用户名").props("outlined autofocus").classes("w-full").mark("username")
        password = (
            ui.input("密码", password=True, password_toggle_button=True)
            .props("outlined")
            .classes("w-full")
            .mark("password")
            .on("keydown.enter", submit)
        )
        error = ui.label("").classes("text-negative").mark("login-error")
        error.set_visibility(False)
        ui.button("登录", on_click=submit).props("color=teal").classes("w-full").mark("login")


@ui.page("/")
@protected()
def home() -> None:
    from yibao.console import dashboard

    with frame("首页", active="首页"):
        ui.label(
            f"欢迎，{app.storage.user.get('display_name')}。这里是示例市医疗保障局的医保核心平台管理台。"
        ).mark("welcome")
        my_work()
        dashboard.render()


def my_work() -> None:
    """The role's own start (我的工作): a reviewer's waiting requests first, then the pages the user may open."""
    from yibao.store import review_reads

    with ui.row().classes("items-center gap-2").mark("my-work"):
        if can("settlement.review"):
            with unit_of_work(write=False) as s:
                waiting = review_reads.count(s)
            ui.button(f"待审核 {waiting:,} 件", on_click=lambda: ui.navigate.to("/review")).props(
                "color=deep-orange" if waiting else "outline color=teal"
            ).mark("my-review")
        for label, path, permission, available in NAV:
            if available and path not in ("/", "/review") and can(permission):
                ui.button(label, on_click=lambda p=path: ui.navigate.to(p)).props("outline dense color=teal")
