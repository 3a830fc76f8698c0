"""智能监管 · 筛查线索: the screening of a year's settled data (§10–11 of supervision.md) — run as a background job
by a user with 办理监管, its leads listed (or the head of every pattern's ranking), and for a chosen lead its
signals against their peer thresholds and the charts that make it convincing: a hospital's monthly admissions
against its peers' median and the length-of-stay histogram of its top diagnosis, a pharmacy's settlements
minute by minute on its busiest day. Signals are "indicators consistent with" a pattern, never a finding."""

from __future__ import annotations

from nicegui import ui

from yibao import ids
from yibao.console import queries_supervision_screening as qg
from yibao.console.layout import can, current_user, frame, protected
from yibao.console.pages_payment_runs import memory_grid
from yibao.console.pages_supervision import MENU, READ, WRITE, table, tabs
from yibao.console.queries_overview import latest_year
from yibao.console.queries_supervision import staff_names, who
from yibao.jobs.runner import DONE, runner
from yibao.store.db import unit_of_work

TEAL, AMBER = "#00796b", "#ff8f00"


@ui.page("/supervision/screening")
@protected(READ)
def screening(year: str = "", lead: str = "", ranked: str = "") -> None:
    with unit_of_work(write=False) as s:
        latest = latest_year(s)
        y = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else latest
        result = qg.load_result(y)
        rows = qg.lead_rows(s, result, all_ranked=bool(ranked)) if result else []
        by = who(staff_names(s, {result["by"]}), result["by"]) if result else ""
    chosen = qg.one_lead(result, lead) if result and lead else None
    with frame(f"{MENU} · 筛查线索", active=MENU):
        tabs("/supervision/screening")
        ui.label(
            "对一年的已结算数据做统计筛查（以上一年为基线），按模式列出线索：医院单病种激增与住院同质、虚构住院、药店盗刷空刷、"
            "医师超负荷接诊、参保人囤药。信号只是“与该模式相符的迹象”，须经核查才能认定。点一行查看信号与图表。"
        ).classes("text-grey-8")
        with ui.row().classes("items-center gap-3"):
            ui.select({v: f"{v} 年" for v in range(latest, latest - 3, -1)}, value=y, label="年度",
                      on_change=lambda e: ui.navigate.to(f"/supervision/screening?year={e.value}")).props(
                "outlined dense"
            ).classes("w-32").mark("screening-year")  # fmt: skip
            ui.switch(
                "显示各模式排名前 10（含未达线索标准的）",
                value=bool(ranked),
                on_change=lambda e: ui.navigate.to(
                    f"/supervision/screening?year={y}" + ("&ranked=1" if e.value else "")
                ),
            ).mark("screening-all")
            if can(WRITE):
                ui.button("运行筛查", on_click=lambda: start()).props("color=teal").mark("screening-run")
        area = ui.column().classes("w-full")
        if result is None:
            ui.label(f"{y} 年尚未筛查。").classes("text-grey-7").mark("screening-none")
        else:
            opened = sum(1 for x in result["leads"] if x["opened"])
            ui.label(f"筛查时间 {result['at'].replace('T', ' ')}，操作人 {by}；线索 {opened:,} 条。").classes(
                "text-grey-8"
            ).mark("screening-summary")
            memory_grid(
                qg.LEAD_COLUMNS,
                lambda: rows,
                money=("amount",),
                numbers=("rank", "score"),
                mark="screening-grid",
                unit="条",
                height=None if len(rows) <= 12 else 480,
                on_click=lambda r: ui.navigate.to(
                    f"/supervision/screening?year={y}&lead={r['key']}" + ("&ranked=1" if ranked else "")
                ),
            )
        if chosen is not None:
            _lead(chosen, y)

    def start() -> None:
        user = current_user()["username"] or ""
        path = runner().directory / f"{ids.digits(12)}-screening-{y}.json"
        job = runner().submit(
            "screening", f"{y} 年筛查", user, qg.screening_job, year=y, actor=user, path=str(path)
        )
        with area, ui.card().classes("w-full max-w-xl"):
            label = ui.label(f"{job.title}：{job.state}").mark("screening-job")
            bar = ui.linear_progress(value=0, show_value=False).props("color=teal instant-feedback")

        def poll() -> None:
            label.set_text(f"{job.title}：{job.state}")
            bar.set_value(job.fraction)
            if not job.finished:
                return
            timer.deactivate()
            if job.state == DONE:
                ui.navigate.to(f"/supervision/screening?year={y}")
            else:
                label.set_text(f"{job.title}：失败 — {job.message}")
                ui.notify(job.message, type="negative", multi_line=True)

        timer = ui.timer(0.5, poll)


def _lead(lead: dict, year: int) -> None:
    with unit_of_work(write=False) as s:
        name = qg.entity_names(s, [lead])[(lead["entity_type"], lead["entity_id"])]
        charts = {}
        if lead["entity_type"] == "hospital":
            charts["admissions"] = qg.monthly_admissions(s, lead["entity_id"], year)
            charts["los"] = qg.los_histogram(s, lead["entity_id"], year)
        elif lead["entity_type"] == "pharmacy":
            charts["minutes"] = qg.settlements_by_minute(s, lead["entity_id"], year)
    kind = qg.ENTITY_NAMES.get(lead["entity_type"], "")
    ui.label(f"{qg.PATTERN_NAMES.get(lead['pattern'], '')} · {kind} {name}").classes("text-lg").mark(
        "screening-lead"
    )
    ui.label(
        f"第 {lead['rank']} 名，{qg.LEVEL_NAMES.get(lead['level'], '')}，得分 {float(lead['score']):.3f}"
    ).classes("text-grey-8")
    table(
        [("signal", "信号"), ("value", "本对象"), ("threshold", "同类阈值"), ("flagged", "是否触发")],
        qg.signal_rows(lead),
        "screening-signals",
    )
    if "admissions" in charts:
        _admissions(charts["admissions"])
        _los(charts["los"])
    if "minutes" in charts:
        _minutes(charts["minutes"])


def _admissions(data: dict) -> None:
    ui.label(f"按月住院人次：本院与同级 {data['peer_count']} 家医院的中位数").classes("font-bold")
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0},
            "grid": {"left": 10, "right": 20, "top": 36, "bottom": 40, "containLabel": True},
            "xAxis": {"type": "category", "data": data["months"]},
            "yAxis": {"type": "value", "name": "人次", "minInterval": 1},
            "series": [
                {"name": "本院", "type": "bar", "data": data["own"], "itemStyle": {"color": TEAL}},
                {
                    "name": "同级医院中位数",
                    "type": "line",
                    "data": data["peers"],
                    "itemStyle": {"color": AMBER},
                },
            ],
        }
    ).classes("w-full h-80").mark("chart-admissions")


def _los(data: dict) -> None:
    if not data["days"]:
        return
    ui.label(f"首位诊断 {data['diagnosis']} 的住院天数分布（同级医院按本院例数折算）").classes("font-bold")
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0},
            "grid": {"left": 10, "right": 20, "top": 36, "bottom": 40, "containLabel": True},
            "xAxis": {"type": "category", "data": data["days"]},
            "yAxis": {"type": "value", "name": "例数", "minInterval": 1},
            "series": [
                {"name": "本院", "type": "bar", "data": data["own"], "itemStyle": {"color": TEAL}},
                {"name": "同级医院", "type": "line", "data": data["peers"], "itemStyle": {"color": AMBER}},
            ],
        }
    ).classes("w-full h-80").mark("chart-los")


def _minutes(data: dict) -> None:
    if not data["minutes"]:
        return
    ui.label(f"结算最多的一天（{data['day']}）每分钟的结算笔数").classes("font-bold")
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 10, "right": 20, "top": 36, "bottom": 30, "containLabel": True},
            "xAxis": {"type": "category", "data": data["minutes"]},
            "yAxis": {"type": "value", "name": "笔", "minInterval": 1},
            "series": [
                {"name": "结算笔数", "type": "bar", "data": data["counts"], "itemStyle": {"color": TEAL}}
            ],
        }
    ).classes("w-full h-80").mark("chart-minutes")
