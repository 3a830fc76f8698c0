"""定点机构: institutions with their level and this year's totals; export to Excel."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries as q
from yibao.console.export import xlsx
from yibao.console.layout import frame, protected
from yibao.store.db import unit_of_work

COLUMNS = [
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构名称"),
    ("kind", "类型"),
    ("level", "起付线等级"),
    ("status", "状态"),
    ("settlements", "结算笔数"),
    ("medfee", "医疗费总额"),
    ("fund_pay", "基金支付"),
]


@ui.page("/institutions")
@protected("settlement.read")
def institutions() -> None:
    with unit_of_work(write=False) as s:
        year = q.latest_year(s)
        rows = q.institutions(s, year)
    with frame(f"定点机构（{year} 年）", active="定点机构"):
        ui.button(
            "导出 Excel",
            on_click=lambda: ui.download.content(
                xlsx("定点机构", COLUMNS, rows, {"medfee", "fund_pay"}), "institutions.xlsx"
            ),
        ).props("outline color=teal").mark("inst-export")
        ui.table(
            columns=[
                {"name": k, "label": v, "field": k, "align": "left", "sortable": True} for k, v in COLUMNS
            ],
            rows=rows,
            row_key="fixmedins_code",
            pagination=30,
        ).classes("w-full").mark("institution-table")
