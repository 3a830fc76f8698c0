"""参保人: search by name, ID number or psn_no; a person's enrollments, identities, registrations, accumulators."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries as q
from yibao.console.layout import frame, protected
from yibao.store.db import unit_of_work

COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("certno", "证件号码"),
    ("gend", "性别"),
    ("brdy", "出生日期"),
    ("insutype", "险种"),
    ("psn_type", "人员类别"),
]


def _table(rows: list[dict], columns: list[tuple[str, str]], **kw):
    return ui.table(
        columns=[{"name": k, "label": v, "field": k, "align": "left", "sortable": True} for k, v in columns],
        rows=rows,
        **kw,
    ).classes("w-full")


@ui.page("/persons")
@protected("person.read")
def persons(q_text: str = "") -> None:
    with frame("参保人", active="参保人"):
        results = ui.column().classes("w-full")

        def search() -> None:
            results.clear()
            with unit_of_work(write=False) as s:
                rows = q.search_persons(s, box.value or "")
            with results:
                if not rows:
                    ui.label("没有找到参保人").classes("text-grey-7")
                    return
                ui.label(f"找到 {len(rows)} 人（证件号码已脱敏）").classes("text-grey-7")
                table = _table(rows, COLUMNS, row_key="psn_no", pagination=20).mark("person-results")
                table.on("rowClick", lambda e: ui.navigate.to(f"/person/{e.args[1]['psn_no']}"))

        with ui.row().classes("items-center"):
            box = (
                ui.input("姓名 / 证件号码 / 人员编号", value=q_text)
                .props("outlined clearable")
                .classes("w-96")
                .mark("person-search")
                .on("keydown.enter", search)
            )
            ui.button("查询", on_click=search).props("color=teal").mark("person-search-button")
        if q_text:
            search()


@ui.page("/person/{psn_no}")
@protected("person.read")
def person(psn_no: str) -> None:
    with unit_of_work(write=False) as s:
        d = q.person_detail(s, psn_no)
        _, settled = q.settlements(s, q.SettlementFilter(psn_no=psn_no), limit=500)
    with frame("参保人详情", active="参保人"):
        if d is None:
            ui.label(f"人员不存在: {psn_no}").classes("text-negative")
            return
        p = d["person"]
        ui.label(
            f"{p['psn_name']}（{p['psn_no']}） {p['gend']} {p['brdy']} 证件 {p['certno']} 区划 {p['admdvs']}"
        ).classes("text-lg").mark("person-header")
        ui.label("参保登记").classes("font-bold")
        _table(
            d["enrollments"],
            [
                ("insutype", "险种"),
                ("psn_type", "人员类别"),
                ("psn_insu_stas", "参保状态"),
                ("begndate", "参保日期"),
                ("enddate", "终止日期"),
                ("emp_name", "单位"),
            ],
        )
        with ui.row().classes("w-full gap-4 no-wrap"):
            with ui.column().classes("w-1/2"):
                ui.label("人员身份").classes("font-bold")
                _table(
                    d["identities"],
                    [("psn_idet_type", "身份类别"), ("begntime", "开始"), ("endtime", "结束")],
                )
            with ui.column().classes("w-1/2"):
                ui.label("门诊慢特病备案").classes("font-bold")
                _table(
                    d["chronic"], [("opsp_dise_code", "病种"), ("begndate", "备案日期"), ("status", "状态")]
                )
        ui.label("年度累计").classes("font-bold")
        for year, values in d["accumulators"].items():
            _table(
                [{"key": k, "value": v} for k, v in values.items()],
                [("key", f"{year} 年累计项"), ("value", "金额/次数")],
            )
        ui.label(f"结算记录（{len(settled)}）").classes("font-bold")
        table = _table(settled, q.SETTLEMENT_COLUMNS, row_key="setl_id", pagination=15).mark(
            "person-settlements"
        )
        table.on("rowClick", lambda e: ui.navigate.to(f"/settlement/{e.args[1]['setl_id']}"))
