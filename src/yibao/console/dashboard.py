"""首页 dashboard: cards and charts of the year's settlements (filled by the demo region)."""

from __future__ import annotations

from nicegui import ui


def render() -> None:
    ui.label("尚无数据：运行 make demo 生成示例市。").classes("text-grey-7")
