"""付费结算 · 机构结算单: a hospital's statement of a month run or the clearing — its lines, what the run pays for
it and its cases, paged and ordered by the database — exported to Excel in the background. Reads are
:mod:`yibao.console.queries_payment_statement`."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries_payment_runs as qr
from yibao.console import queries_payment_statement as qs
from yibao.console.grid import Column, ServerGrid
from yibao.console.layout import frame, protected
from yibao.console.lists import _fit as fit
from yibao.console.lists import export_button
from yibao.console.pages_payment_runs import (
    MENU,
    PERIODS,
    PERMISSION,
    cell,
    memory_grid,
    tabs,
    year_of,
    year_select,
)
from yibao.store.db import unit_of_work

SUMMARY_COLUMNS = [("setl_id", "项目"), ("group_name", "说明"), ("amount", "金额")]


@ui.page("/payment/statement")
@protected(PERMISSION)
def statement(year: str = "", month: str = "", fixmedins_code: str = "") -> None:
    with unit_of_work(write=False) as s:
        y = year_of(year, s)
        known = qr.years(s)
        m = int(month) if month.isdigit() and int(month) in PERIODS else _latest_period(s, y)
        run = qr.posted(s, y, m)
        insts = qs.statement_institutions(s, run)
        code = fixmedins_code if fixmedins_code in insts else next(iter(insts), "")
        f = qs.StatementFilter(y, m, code)
        lines = qr.line_rows(s, run, code) if run and code else []
        totals = qs.statement_totals(s, f) if run and code else []
        title = f"{insts.get(code, code)} {qr.period_label(y, m)}结算单" + (
            f"（第 {run.version} 版）" if run else ""
        )
    with frame(f"{MENU} · 机构结算单", active=MENU):
        tabs("/payment/statement")
        with ui.row().classes("items-end gap-2"):
            year_select(y, known, lambda v: f"/payment/statement?year={v}&month={m}&fixmedins_code={code}")
            period = (
                ui.select(PERIODS, value=m, label="期间")
                .props("outlined dense")
                .classes("w-36")
                .mark("statement-period")
            )
            inst = (
                ui.select(insts or {"": "（无）"}, value=code, label="定点机构")
                .props("outlined dense use-input input-debounce=0")
                .classes("w-96")
                .mark("statement-inst")
            )
            ui.button(
                "查询",
                on_click=lambda: ui.navigate.to(
                    f"/payment/statement?year={y}&month={period.value}&fixmedins_code={inst.value or ''}"
                ),
            ).props("color=teal").mark("statement-search")
        if run is None:
            ui.label(f"{qr.period_label(y, m)}尚未计算").classes("text-grey-7").mark("statement-none")
            return
        with ui.row().classes("items-center gap-4"):
            ui.label(title).classes("text-lg font-bold").mark("statement-title")
            export_button("payment_statement", lambda: f, lambda: title, "statement-export")
        is_month = run.kind == qr.MONTH
        memory_grid(
            qr.MONTH_LINE_COLUMNS if is_month else qr.CLEAR_LINE_COLUMNS,
            lambda: lines,
            money=qr.LINE_MONEY,
            numbers=("cases",),
            mark="statement-lines",
            unit="行",
            height=None,
            ratios=("points",),
        )
        summary = [r for r in totals if r["setl_id"] != "小计"]
        memory_grid(
            SUMMARY_COLUMNS,
            lambda: summary,
            money=("amount",),
            mark="statement-summary",
            unit="项",
            height=260,
        )
        ui.label("病例（金额 = 点数 × 点值 + 点数以外支付，按例计算；小计按行一次取整）").classes("font-bold")
        statement_grid(f)


def _latest_period(s, year: int) -> int:
    """The clearing when the year is cleared, else its latest posted month (1 when none)."""
    if qr.posted(s, year, 0) is not None:
        return 0
    months = [r["month"] for r in qr.run_rows(s, year) if r["posted"] and r["kind"] == qr.MONTH]
    return max(months, default=1)


def statement_grid(f: qs.StatementFilter) -> ServerGrid:
    """The hospital's cases, paged and ordered by the database."""

    fitted: list[bool] = []

    def fetch(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
        with unit_of_work(write=False) as s:
            total = qs.statement_count(s, f)
            rows = list(qs.statement_records(s, f, limit, offset=offset, order=(key, desc)))
        shown = [{k: cell(k, r[k], ratios=qr.RATIOS) for k, _ in qs.STATEMENT_COLUMNS} for r in rows]
        if not fitted:  # (before the grid is first sent: as wide as the first page's values)
            fit(grid, shown)
            fitted.append(True)
        return total, shown

    numeric = {*qs.STATEMENT_MONEY, *qr.RATIOS}
    cols = [
        Column(
            k,
            label,
            "amount" if k in numeric else "time" if k in qs.STATEMENT_DATES else "text",
            k != "group_name",
        )
        for k, label in qs.STATEMENT_COLUMNS
    ]
    grid = ServerGrid(cols, fetch, unit="例", row_id="setl_id", mark="statement-grid")
    grid.refresh()
    return grid
