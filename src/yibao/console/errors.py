"""The console's own error pages, in Chinese (NiceGUI's are in English and show exception class names)."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response
from nicegui import Client, app, ui
from nicegui.page import page

log = logging.getLogger("yibao.console")


def _message(code: str, title: str, hint: str) -> None:
    with ui.column().classes("w-full items-center gap-4 py-20"):
        ui.label(code).classes("text-6xl text-grey-6")
        ui.label(title).classes("text-xl").mark("error-title")
        ui.label(hint).classes("text-grey-7")
        ui.link("返回首页", "/console/").classes("text-teal-8")


def install() -> None:
    """Replace the 404 page of console paths and the page shown when a page fails."""
    original = app.exception_handlers.get(404)

    async def not_found(request: Request, exception: Exception) -> Response:
        if not request.url.path.startswith("/console") and original is not None:
            return await original(request, exception)  # (the API's 404 stays its JSON)
        with Client(page(""), request=request) as client:
            _message("404", "页面不存在", "地址可能有误，或该页面已移动。请从左侧菜单进入。")
        return client.build_response(request, 404)

    app.add_exception_handler(404, not_found)

    def failed(exception: Exception) -> None:
        log.error("console page failed: %r", exception)  # (the details go to the log, not to the user)
        _message("500", "页面出错了", "请稍后重试；如果问题持续，请联系系统管理员（错误已记入日志）。")

    app.on_page_exception(failed)
