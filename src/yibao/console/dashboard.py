"""首页: the year's key figures and charts."""

from __future__ import annotations

import calendar

from nicegui import ui

from yibao.console import display
from yibao.console import queries_enrollment as qe
from yibao.console import queries_overview as q
from yibao.console.layout import can
from yibao.store.db import unit_of_work

# ECharts formats tooltip values with this (a JavaScript function given as a string: NiceGUI's ":" prefix)
VALUE_WAN = (
    "v => Number(v).toLocaleString('zh-CN', {minimumFractionDigits: 2, maximumFractionDigits: 2}) + ' 万元'"
)
PALETTE = ["#00796b", "#26a69a", "#ff8f00", "#8e24aa", "#3949ab", "#e53935", "#6d4c41"]


def _card(label: str, value: str, mark: str, to: str | None = None) -> None:
    """A figure; with ``to``, a click opens the list behind it (the 局长's drill-down)."""
    card = ui.card().classes("w-56" + (" cursor-pointer hover:shadow-lg" if to else ""))
    if to:
        card.on("click", lambda: ui.navigate.to(to))
    with card:
        ui.label(label).classes("text-grey-7")
        ui.label(value).classes("text-2xl font-bold text-teal-9").mark(mark)


def _legend() -> dict:
    # under the chart, wrapping onto a second line rather than cutting a fund's name off
    return {"bottom": 0, "left": "center"}


def render() -> None:
    with unit_of_work(write=False) as s:
        year = q.latest_year(s)
        o = q.overview(s, year)
        monthly = q.monthly_by_fund(s, year)
        levels = q.by_level(s, year)
        top = q.top_diagnoses(s, year)
        coverage = qe.coverage(s)
        words = display.names(s)
    if not o["settlements"]:
        ui.label("尚无结算数据：运行 make demo 生成示例市。").classes("text-grey-7")
        coverage_chart(coverage)
        return
    ui.label(f"{year} 年（点击数字或图形查看明细）").classes("text-grey-7")
    whole_year = f"date_from={year}-01-01&date_to={year}-12-31"
    with ui.row().classes("gap-4"):
        _card("参保人数", f"{o['persons']:,}", "card-persons", "/persons" if can("person.read") else None)
        _card(
            f"{year} 年结算笔数",
            f"{o['settlements']:,}",
            "card-settlements",
            f"/settlements?{whole_year}" if can("settlement.read") else None,
        )
        _card("基金支付（元）", display.yuan(o["fund_pay"]), "card-fund")
        _card(
            "住院人次",
            f"{o['admissions']:,}",
            "card-admissions",
            f"/settlements?{whole_year}&med_type=21" if can("settlement.read") else None,
        )
        _card("参保率", display.percent(coverage["percent"] / 100), "card-coverage")
    months = [f"{m}月" for m in range(1, 13)]
    series = [
        {
            "name": words.of("fund_pay_type", fpt),
            "type": "bar",
            "stack": "funds",
            "data": [float(display.wan(v)) for v in values],
            "itemStyle": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (fpt, values) in enumerate(sorted(monthly.items()))
    ]
    # side by side on a wide screen, one above the other at 1024 px (the menu takes a quarter of it)
    with ui.row().classes("w-full gap-4 xl:flex-nowrap"):
        with ui.card().classes("w-full xl:w-2/3 min-w-0"):
            ui.label("按月基金支付（按基金分类，万元）").classes("font-bold")
            chart = (
                ui.echart(
                    {
                        "animation": False,
                        "tooltip": {"trigger": "axis", ":valueFormatter": VALUE_WAN},
                        "legend": _legend(),
                        "grid": {"top": 36, "left": 10, "right": 10, "bottom": 56, "containLabel": True},
                        "xAxis": {"type": "category", "data": months},
                        "yAxis": {"type": "value", "name": "万元"},
                        "series": series,
                    }
                )
                .classes("w-full h-80")
                .mark("chart-monthly")
            )
            if can("settlement.read"):
                chart.on_point_click(lambda e: ui.navigate.to(_month_link(year, e.data_index + 1)))
        with ui.card().classes("w-full xl:w-1/3 min-w-0"):
            ui.label("按医院等级的基金支付（万元）").classes("font-bold")
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {"trigger": "item", ":valueFormatter": VALUE_WAN},
                    "legend": _legend(),
                    "color": PALETTE,
                    "series": [
                        {
                            "type": "pie",
                            "radius": ["35%", "60%"],
                            "center": ["50%", "45%"],
                            # the share inside the ring: outside labels were cut off on narrow screens
                            "label": {"position": "inside", "formatter": "{d}%", "color": "#fff"},
                            "data": [
                                {
                                    "name": display.LEVELS.get(lv, "药店及其他"),
                                    "value": float(display.wan(v)),
                                }
                                for lv, v in sorted(levels.items())
                            ],
                        }
                    ],
                }
            ).classes("w-full h-80").mark("chart-levels")
    with ui.card().classes("w-full"):
        ui.label("费用最高的诊断（医疗费总额，万元）").classes("font-bold")
        ui.echart(
            {
                "animation": False,
                "tooltip": {":valueFormatter": VALUE_WAN},
                "grid": {"left": 10, "right": 30, "containLabel": True},
                "xAxis": {"type": "value", "name": "万元", "nameLocation": "middle", "nameGap": 28},
                "yAxis": {"type": "category", "inverse": True, "data": [f"{n}（{c}）" for c, n, _ in top]},
                "series": [
                    {
                        "name": "医疗费总额",
                        "type": "bar",
                        "data": [float(display.wan(v)) for _, _, v in top],
                        "itemStyle": {"color": "#00796b"},
                        "label": {"show": True, "position": "right"},
                    }
                ],
            }
        ).classes("w-full h-96").mark("chart-diagnoses")
    coverage_chart(coverage)


def _month_link(year: int, month: int) -> str:
    last = calendar.monthrange(year, month)[1]
    return f"/settlements?date_from={year}-{month:02d}-01&date_to={year}-{month:02d}-{last:02d}"


def coverage_chart(c: dict) -> None:
    """参保率 by district: insured (正常 or 暂停 on the day) ÷ the resident population of region.yaml."""
    rows = c["districts"]
    with ui.card().classes("w-full").mark("coverage-card"):
        ui.label(
            f"参保率（按区县，{c['on']}）：全市 {display.percent(c['percent'] / 100)}（参保 {c['insured']:,} 人 / 常住人口 "
            f"{c['population']:,} 人）"
        ).classes("font-bold")
        if not rows:
            ui.label("区划表没有常住人口 (region.yaml districts[].population)").classes("text-grey-7")
            return
        ui.echart(
            {
                "animation": False,
                "tooltip": {
                    "trigger": "item",
                    ":formatter": "p => `${p.name}<br/>参保率 ${p.value}%<br/>"
                    "参保 ${p.data.insured.toLocaleString()} 人 / 常住 ${p.data.population.toLocaleString()} 人`",
                },
                "grid": {"left": 70, "right": 20, "bottom": 40},
                "xAxis": {
                    "type": "category",
                    "data": [r["name"].removeprefix("示例市") for r in rows],
                    "axisLabel": {"interval": 0},
                },
                "yAxis": {"type": "value", "name": "%"},
                "series": [
                    {
                        "name": "参保率",
                        "type": "bar",
                        "data": [
                            {
                                "value": float(round(r["percent"], 2)),
                                "insured": r["insured"],
                                "population": r["population"],
                            }
                            for r in rows
                        ],
                        "label": {"show": True, "position": "top", ":formatter": "p => p.value + '%'"},
                        "itemStyle": {"color": "#00796b"},
                    }
                ],
            }
        ).classes("w-full h-80").mark("chart-coverage")
        if c["elsewhere"]:
            ui.label(f"另有 {c['elsewhere']:,} 名参保人的区县不在区划表中，未计入各区参保率").classes(
                "text-grey-7"
            )
