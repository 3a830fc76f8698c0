"""定点管理 · 年度考核: a year's assessment of the region's designated institutions — run as a background job
(its progress shown; a second run of the year replaces the first and keeps the figures staff entered), the
distribution by grade (优秀 / 合格 / 基本合格 / 不合格, ECharts), every institution's sheet on the database-paged
grid (filtered by grade and institution, exported in the background), and one institution's sheet — each
indicator's source, value and points, the notes, what the grade brings — with the figures staff enter
(现场检查, 投诉举报, 好差评 …; a computed one may be replaced), re-scored by
:func:`yibao.providers.service.assessments.set_manual`."""

from __future__ import annotations

import json
from datetime import date

from nicegui import ui

from yibao import ids
from yibao.console import queries_providers_assess as qa
from yibao.console.layout import can, frame, protected
from yibao.console.lists import paged_list
from yibao.console.pages_providers import (
    MENU,
    READ,
    REFUSED,
    WRITE,
    attempt,
    export_button,
    facts,
    me,
    message_label,
    select,
    table,
    tabs,
)
from yibao.jobs.runner import DONE, runner
from yibao.providers.service import assessments
from yibao.store.db import unit_of_work


@ui.page("/providers/assessment")
@protected(READ)
def assessment(year: int | None = None) -> None:
    with unit_of_work(write=False) as s:
        done = qa.years(s)
        year = year or (done[0] if done else date.today().year - 1)
        summary = qa.summary(s, year)
    with frame(f"{MENU} · 年度考核", active=MENU):
        tabs("/providers/assessment")
        choices = {y: f"{y} 年" for y in sorted({*done, year, date.today().year - 1}, reverse=True)}
        with ui.row().classes("items-end gap-3"):
            chosen = ui.select(choices, value=year, label="考核年度").props("outlined dense").classes("w-32")
            chosen.mark("assess-year").on_value_change(
                lambda e: ui.navigate.to(f"/providers/assessment?year={e.value}")
            )
            if can(WRITE):
                ui.button("运行年度考核", on_click=lambda: run()).props("color=teal").mark("assess-run")
        area = ui.column().classes("w-full")
        if summary is None:
            ui.label(f"{year} 年尚未考核。").classes("text-grey-7").mark("assess-none")
        else:
            shown_summary(summary)
            sheets(year)

    def run() -> None:
        path = runner().directory / f"{ids.digits(12)}-assessment.json"
        job = runner().submit(
            "provider_assessment",
            f"{year} 年度考核",
            me(),
            qa.assess_work,
            year=year,
            actor=me(),
            path=str(path),
        )
        with area, ui.card().classes("w-full max-w-xl"):
            label = ui.label(f"{job.title}：{job.state}").mark("assess-job")
            bar = ui.linear_progress(value=0, show_value=False).props("color=teal instant-feedback")

        def poll() -> None:
            label.set_text(
                f"{job.title}：{job.state}" + (f"，{job.done:,} / {job.total:,} 家" if job.total else "")
            )
            bar.set_value(job.fraction)
            if not job.finished:
                return
            timer.deactivate()
            if job.state == DONE:
                report = json.loads(job.path.read_text(encoding="utf-8"))
                ui.notify(f"{report['year']} 年度考核已完成", type="positive")
                ui.navigate.to(f"/providers/assessment?year={year}")
            else:
                label.set_text(f"{job.title}：失败 — {job.message}")
                ui.notify(job.message, type="negative", multi_line=True)

        timer = ui.timer(0.5, poll)


def shown_summary(summary: dict) -> None:
    with ui.row().classes("w-full gap-4 items-start xl:flex-nowrap"):
        with ui.card().classes("w-full xl:w-1/2 min-w-0").mark("assess-summary"):
            ui.label(f"{summary['year']} 年度考核：{summary['total']:,} 家").classes("font-bold")
            table(
                [("name", "等次"), ("min", "总分不低于"), ("count", "机构数")],
                summary["bands"],
                "assess-bands",
            )
            ui.label(f"考核时间 {summary['at']}，{summary['by']}").classes("text-grey-7")
        with ui.card().classes("w-full xl:w-1/2 min-w-0"):
            ui.label("等次分布").classes("font-bold")
            ui.echart(qa.chart(summary["bands"])).classes("w-full h-64").mark("assess-chart")


def sheets(year: int) -> None:
    grades = qa.grade_names()
    shown = {"filter": qa.SheetFilter(year)}
    with ui.row().classes("items-end gap-2"):
        grade = select({"": "全部", **grades}, "", "等次", "w-32", "sheet-grade")
        box = ui.input("机构名称 / 编号").props("outlined dense clearable").classes("w-64").mark("sheet-text")
        box.on("keydown.enter", lambda: refresh())
        ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("sheet-search")
        export_button("provider_assessment", lambda: shown["filter"], "sheet-export")
    grid = paged_list(
        qa.SHEET_COLUMNS,
        qa.sheet_count,
        qa.sheet_records,
        lambda: shown["filter"],
        unsorted=qa.SHEET_UNSORTED,
        unit="家",
        row_id="fixmedins_code",
        on_click=lambda row: ui.navigate.to(f"/providers/assessment/{year}/{row['fixmedins_code']}"),
        mark="sheet-grid",
        height=480,
    )
    for d in grid.grid.options["columnDefs"]:
        if d["field"] == "total":
            d["type"] = "rightAligned"
    grid.grid.update()

    def refresh() -> None:
        shown["filter"] = qa.SheetFilter(year, grade.value or "", box.value or "")
        grid.refresh()


@ui.page("/providers/assessment/{year}/{code}")
@protected(READ)
def sheet(year: int, code: str) -> None:
    with unit_of_work(write=False) as s:
        x = qa.sheet_detail(s, year, code)
    with frame(f"{year} 年度考核 · {code[:20]}", active=MENU):
        tabs("/providers/assessment")
        ui.button(
            "返回年度考核", on_click=lambda: ui.navigate.to(f"/providers/assessment?year={year}")
        ).props("flat color=teal")
        if x is None:
            ui.label(f"{year} 年没有此机构的考核表：{code[:40]}").classes("text-negative").mark(
                "sheet-missing"
            )
            return
        facts(
            [
                ("机构", f"{x['name']}（{x['code']}）· {x['cls']}"),
                ("总分", x["total"]),
                ("等次", x["grade"]),
                ("考核结果的运用", x["outcome"]),
            ],
            "sheet-facts",
        )
        table(
            [
                ("code", "指标"),
                ("name", "名称"),
                ("source", "来源"),
                ("value", "取值"),
                ("points", "得分 / 分值"),
            ],
            x["lines"],
            "sheet-lines",
            wide=("name",),
        )
        if x["notes"]:
            ui.label("说明").classes("font-bold")
            for n in x["notes"]:
                ui.label(f"· {n}").classes("text-grey-8")
        if can(WRITE):
            manual_form(x)


def manual_form(x: dict) -> None:
    """The figures staff enter; an empty box removes an entry (a computed indicator goes back to its figure)."""
    with ui.card().classes("w-full max-w-4xl gap-2").mark("manual-form"):
        ui.label("录入考核数据").classes("font-bold")
        ui.label("录入的数据替代计算值；清空则恢复为计算值（人工指标为未录入）。保存后重新计分。").classes(
            "text-grey-8"
        )
        boxes = {}
        with ui.grid(columns="repeat(auto-fill, minmax(16rem, 1fr))").classes("w-full gap-2"):
            for line in x["lines"]:
                label = f"{line['code']} {line['name']}" + ("" if line["is_manual"] else "（替代计算值）")
                boxes[line["code"]] = (
                    ui.input(label, value=line["entered"])
                    .props("outlined dense")
                    .mark(f"manual-{line['code']}")
                )
        message = message_label("manual-message")

        def save() -> None:
            figures = {k: (b.value or "").strip() for k, b in boxes.items()}
            out = attempt(assessments.set_manual, message, x["year"], x["code"], figures, actor=me())
            if out is not REFUSED:
                ui.notify(f"已重新计分：{out.total} 分", type="positive")
                ui.navigate.reload()

        ui.button("保存并重新计分", on_click=save).props("color=teal").mark("manual-save")
