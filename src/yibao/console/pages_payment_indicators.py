"""付费结算 · 指标: the performance measures of a year's priced cases by hospital or by month (payment-drg-dip.md
§4.6) — CMI, the cost and time consumption indices, low-risk-group mortality, the payment ratio and the
outlier shares — as a table exported to Excel in the background, a bar chart of the payment ratio by
hospital and a line of the CMI by month (:func:`yibao.console.queries_payment_indicators.indicators`)."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries_payment_indicators as qi
from yibao.console import queries_payment_runs as qr
from yibao.console.layout import frame, protected
from yibao.console.lists import export_button
from yibao.console.pages_payment_runs import MENU, PERMISSION, memory_grid, tabs, year_of, year_select
from yibao.payment.weights import rounded
from yibao.store.db import unit_of_work

METHOD = (
    "CMI = DRG 病例相对权重（RW）之和 ÷ DRG 病例数；费用（时间）消耗指数 = Σ 各病组病例数 × (本单位该组例均费用（住院日）÷ "
    "全市该组例均) ÷ 病例数；低风险组为死亡率低于各组平均死亡率一个标准差以上的病组，低风险组死亡率 = 其中死亡病例 ÷ "
    "其病例数（离院方式 5 死亡，取自有效结算清单）；支付率 = DRG/DIP 核定金额 ÷ 按项目费用（医疗费总额）；"
    "高（低）倍率病例占比 = 高（低）倍率病例 ÷ 按病组/病种付费病例。"
)


@ui.page("/payment/indicators")
@protected(PERMISSION)
def indicators(year: str = "", by: str = "hospital") -> None:
    by = qi.BY_MONTH if by == qi.BY_MONTH else qi.HOSPITAL
    with unit_of_work(write=False) as s:
        y = year_of(year, s)
        known = qr.years(s)
        cases = qi.year_cases(s, y)
        source, hospitals = qi.indicators(s, qi.IndicatorFilter(y, qi.HOSPITAL), cases)
        _, months = qi.indicators(s, qi.IndicatorFilter(y, qi.BY_MONTH), cases)
    f = qi.IndicatorFilter(y, by)
    rows = months if by == qi.BY_MONTH else hospitals
    with frame(f"{MENU} · 指标", active=MENU):
        tabs("/payment/indicators")
        with ui.row().classes("items-center gap-4"):
            year_select(y, known, lambda v: f"/payment/indicators?year={v}&by={by}")
            ui.toggle(
                {qi.HOSPITAL: "按医院", qi.BY_MONTH: "按月份"},
                value=by,
                on_change=lambda e: ui.navigate.to(f"/payment/indicators?year={y}&by={e.value}"),
            ).props("toggle-color=teal color=white text-color=teal").mark("indicators-by")
            ui.label(f"数据来源：{source}").classes("text-grey-7").mark("indicators-source")
        ui.label(METHOD).classes("text-grey-7 max-w-5xl").mark("indicators-method")
        if len(rows) <= 1:  # (only 全市: no case priced yet)
            ui.label(f"{y} 年尚无已计算的病例").classes("text-grey-7").mark("indicators-none")
            return
        with ui.row().classes("items-center gap-4"):
            ui.label("各医院" if by == qi.HOSPITAL else "各月").classes("font-bold")
            export_button(
                "payment_indicators_month" if by == qi.BY_MONTH else "payment_indicators",
                lambda: f,
                lambda: "；".join(f.describe()),
                "indicators-export",
            )
        memory_grid(
            qi.indicator_columns(by),
            lambda: rows,
            money=qi.INDICATOR_MONEY,
            numbers=qi.INDICATOR_COUNTS,
            mark="indicators-grid",
            unit="行",
            height=460,
            indexes=qi.INDEXES,
            rates=qi.RATES,
        )
        with ui.row().classes("w-full gap-4 xl:flex-nowrap"):
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("支付率（按医院，DRG/DIP 核定金额 ÷ 按项目费用）").classes("font-bold")
                ratio_chart(hospitals[:-1])
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("CMI（按月，DRG 病例）").classes("font-bold")
                cmi_chart(months[:-1])


def _percent(value) -> float | None:
    return None if value is None else float(rounded(value * 100, 2))


def ratio_chart(rows: list[dict]) -> None:
    """A bar a hospital, 100 % marked (paid as charged)."""
    shown = [r for r in rows if r["payment_ratio"] is not None]
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis", ":valueFormatter": "v => v + '%'"},
            "grid": {"left": 10, "right": 40, "top": 10, "bottom": 30, "containLabel": True},
            "xAxis": {"type": "value", "name": "%", "nameLocation": "end"},
            "yAxis": {"type": "category", "inverse": True, "data": [r["unit"] for r in shown]},
            "series": [
                {
                    "name": "支付率",
                    "type": "bar",
                    "data": [_percent(r["payment_ratio"]) for r in shown],
                    "itemStyle": {"color": "#00796b"},
                    "markLine": {
                        "symbol": "none",
                        "data": [{"xAxis": 100}],
                        "label": {"show": False},
                        "lineStyle": {"color": "#ff8f00"},
                    },
                }
            ],
        }
    ).classes("w-full").style(f"height: {max(320, 28 * len(shown) + 60)}px").mark("chart-payment-ratio")


def cmi_chart(rows: list[dict]) -> None:
    """The region's CMI month by month (a month without DRG cases left as a gap)."""
    by_month = {r["key"]: r for r in rows}
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 10, "right": 20, "top": 30, "bottom": 10, "containLabel": True},
            "xAxis": {"type": "category", "data": [f"{m}月" for m in range(1, 13)]},
            "yAxis": {"type": "value", "name": "CMI", "scale": True},
            "series": [
                {
                    "name": "CMI",
                    "type": "line",
                    "connectNulls": False,
                    "data": [
                        None
                        if by_month.get(m, {}).get("cmi") is None
                        else float(rounded(by_month[m]["cmi"], 4))
                        for m in range(1, 13)
                    ],
                    "itemStyle": {"color": "#00796b"},
                    "label": {"show": True, "position": "top"},
                }
            ],
        }
    ).classes("w-full h-80").mark("chart-cmi-month")
