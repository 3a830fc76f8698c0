"""首页: the year's key figures and charts."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries as q
from yibao.console import queries_enrollment as qe
from yibao.money import fmt_yuan
from yibao.store.db import unit_of_work

PALETTE = ["#00796b", "#26a69a", "#ff8f00", "#8e24aa", "#3949ab", "#e53935", "#6d4c41"]


def _card(label: str, value: str, mark: str) -> None:
    with ui.card().classes("w-56"):
        ui.label(label).classes("text-grey-7")
        ui.label(value).classes("text-2xl font-bold text-teal-9").mark(mark)


def render() -> None:
    with unit_of_work(write=False) as s:
        year = q.latest_year(s)
        o = q.overview(s, year)
        monthly = q.monthly_by_fund(s, year)
        levels = q.by_level(s, year)
        top = q.top_diagnoses(s, year)
        coverage = qe.coverage(s)
    if not o["settlements"]:
        ui.label("尚无结算数据：运行 make demo 生成示例市。").classes("text-grey-7")
        coverage_chart(coverage)
        return
    ui.label(f"{year} 年").classes("text-grey-7")
    with ui.row().classes("gap-4"):
        _card("参保人数", f"{o['persons']:,}", "card-persons")
        _card(f"{year} 年结算笔数", f"{o['settlements']:,}", "card-settlements")
        _card("基金支付 (元)", fmt_yuan(o["fund_pay"]), "card-fund")
        _card("住院人次", f"{o['admissions']:,}", "card-admissions")
        _card("参保率", f"{coverage['percent']}%", "card-coverage")
    months = [f"{m}月" for m in range(1, 13)]
    series = [
        {
            "name": q.FUNDS.get(fpt, fpt),
            "type": "bar",
            "stack": "funds",
            "data": [round(v / 100, 2) for v in values],
            "itemStyle": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (fpt, values) in enumerate(sorted(monthly.items()))
    ]
    with ui.row().classes("w-full gap-4 no-wrap"):
        with ui.card().classes("w-2/3"):
            ui.label("按月基金支付（按基金分类，元）").classes("font-bold")
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {"trigger": "axis"},
                    "legend": {"top": 0},
                    "grid": {"top": 40, "left": 70, "right": 10},
                    "xAxis": {"type": "category", "data": months},
                    "yAxis": {"type": "value"},
                    "series": series,
                }
            ).classes("w-full h-80").mark("chart-monthly")
        with ui.card().classes("w-1/3"):
            ui.label("按医院等级的基金支付（元）").classes("font-bold")
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {"trigger": "item"},
                    "series": [
                        {
                            "type": "pie",
                            "radius": ["35%", "65%"],
                            "data": [
                                {"name": q.LEVELS.get(lv, "药店/其他"), "value": round(v / 100, 2)}
                                for lv, v in sorted(levels.items())
                            ],
                        }
                    ],
                }
            ).classes("w-full h-80").mark("chart-levels")
    with ui.card().classes("w-full"):
        ui.label("费用最高的诊断（医疗费总额，元）").classes("font-bold")
        ui.echart(
            {
                "animation": False,
                "tooltip": {},
                "grid": {"left": 200, "right": 20},
                "xAxis": {"type": "value"},
                "yAxis": {"type": "category", "inverse": True, "data": [f"{c} {n}" for c, n, _ in top]},
                "series": [
                    {
                        "type": "bar",
                        "data": [round(v / 100, 2) for _, _, v in top],
                        "itemStyle": {"color": "#00796b"},
                    }
                ],
            }
        ).classes("w-full h-96").mark("chart-diagnoses")
    coverage_chart(coverage)


def coverage_chart(c: dict) -> None:
    """参保率 by district: insured (正常 or 暂停 on the day) ÷ the resident population of region.yaml."""
    rows = c["districts"]
    with ui.card().classes("w-full").mark("coverage-card"):
        ui.label(
            f"参保率（按区县，{c['on']}）：全市 {c['percent']}%（参保 {c['insured']:,} 人 / 常住人口 "
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
                                "value": float(r["percent"]),
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
