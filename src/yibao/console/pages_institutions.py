"""定点机构: institutions with their type, level and this year's totals, paged and sorted by the database;
the whole filtered list exported to Excel in the background."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries_institutions as q
from yibao.console.display import names
from yibao.console.layout import frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.console.queries_overview import latest_year
from yibao.store.db import unit_of_work


@ui.page("/institutions")
@protected("settlement.read")
def institutions() -> None:
    with unit_of_work(write=False) as s:
        year = latest_year(s)
        n = names(s)
        types = {
            k: n.of("fixmedins_type", k) for k in ("1", "2")
        }  # (医疗机构, 零售药店: what the list holds)
    with frame(f"定点机构（{year} 年）", active="定点机构"):
        shown = {"filter": q.InstitutionFilter(year)}

        def current() -> q.InstitutionFilter:
            return q.InstitutionFilter(year, box.value or "", kind.value or None)

        with ui.row().classes("items-center gap-2"):
            box = (
                ui.input("机构编号 / 名称")
                .props("outlined dense clearable")
                .classes("w-72")
                .mark("inst-search")
                .on("keydown.enter", lambda: refresh())
            )
            kind = (
                ui.select({"": "全部", **types}, value="", label="类型")
                .props("outlined dense")
                .classes("w-44")
                .mark("inst-kind")
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("inst-search-button")
            ui.label(f"结算笔数与金额为 {year} 年的结算（撤销记录不计）").classes("text-grey-7")
            export_button(
                "institutions",
                current,
                lambda: "筛选: " + "；".join(current().describe(types)),
                "inst-export",
            )
        grid = paged_list(
            q.INSTITUTION_COLUMNS,
            q.institution_count,
            q.institution_records,
            lambda: shown["filter"],
            money=q.INSTITUTION_AMOUNTS,
            unit="家",
            row_id="fixmedins_code",
            mark="institution-grid",
        )

        def refresh() -> None:
            shown["filter"] = current()
            grid.refresh()
