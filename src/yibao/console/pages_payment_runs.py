"""付费结算: a year of case-based payment — the global budgets and their trace (预算), the month runs with a
button that runs a month or the clearing as a background job (月度预结算) and the clearing's point values and
hospital lines (清算); a hospital's statement with its cases (机构结算单) is ``pages_payment_statement``, the
indicators ``pages_payment_indicators``. Reads are :mod:`yibao.console.queries_payment_runs` and
:mod:`yibao.console.queries_payment_budgets`.

Running a period posts to the fund's ledger, so it needs 管理基金 (``funds.write``) beside the menu's
``payment.read``; a period already posted is run again only after the clerk confirms a new version."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from nicegui import ui

from yibao import ids
from yibao.console import display
from yibao.console import queries_payment_budgets as qb
from yibao.console import queries_payment_runs as qr
from yibao.console.grid import Column, ServerGrid
from yibao.console.layout import can, current_user, frame, protected
from yibao.console.lists import _fit as fit
from yibao.jobs.runner import DONE, Job, runner
from yibao.payment.weights import rounded
from yibao.store.db import unit_of_work

PERMISSION = "payment.read"
RUN_PERMISSION = "funds.write"  # a run posts ledger entries
MENU = "付费结算"
TABS = [
    ("预算", "/payment/budget"),
    ("月度预结算", "/payment/runs"),
    ("清算", "/payment/clearing"),
    ("机构结算单", "/payment/statement"),
    ("指标", "/payment/indicators"),
]
PERIODS = {**{m: f"{m} 月" for m in range(1, 13)}, 0: "年度清算"}


def tabs(current: str) -> None:
    """The 付费结算 pages, the one open (``current``) filled."""
    with ui.row().classes("gap-2").mark("payment-run-tabs"):
        for label, path in TABS:
            ui.button(label, on_click=lambda p=path: ui.navigate.to(p)).props(
                "color=teal" if path == current else "outline color=teal"
            )


def year_of(text: str, s) -> int:
    """The year asked for in the address, else the latest with a budget or a run."""
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else qr.default_year(s)


def year_select(year: int, known: list[int], to: Callable[[int], str]) -> ui.select:
    """The year shown; choosing another opens the page for it."""
    options = {y: f"{y} 年" for y in sorted({year, *known}, reverse=True)}
    return (
        ui.select(options, value=year, label="年度", on_change=lambda e: ui.navigate.to(to(e.value)))
        .props("outlined dense")
        .classes("w-32")
        .mark("payment-year")
    )


# --- a table computed in memory, on the console's grid --------------------------------------------------------


def cell(key: str, v, *, ratios: Collection[str] = (), indexes: Collection[str] = (), rates=()) -> str:
    """A value as the grid shows it: money with separators and two places, ×10⁴ ratios and indices with
    four, rates as percentages, times to the minute; nothing as a dash."""
    if v is None:
        return "—"
    if key in rates:
        return display.percent(rounded(Fraction(v), 6))
    if key in indexes and isinstance(v, Fraction):
        return f"{rounded(v, 4):,}"
    if isinstance(v, Decimal):
        return f"{v:,.4f}" if key in ratios else f"{v:,.2f}"
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def memory_grid(
    columns: list[tuple[str, str]],
    rows: Callable[[], list[dict]],
    *,
    money: Collection[str] = (),
    numbers: Collection[str] = (),
    mark: str,
    unit: str = "行",
    height: int | None = 420,
    on_click: Callable[[dict], None] | None = None,
    **formats,
) -> ServerGrid:
    """A short table (a year's budgets, runs, lines) on the console's grid: ordered by the raw values (money
    and ratios as numbers, an empty value last) and paged here. ``money`` keys are headed （元）; ``formats``
    go to :func:`cell` (``ratios``, ``indexes``, ``rates``). Columns are as wide as their values on the first
    page; ``height`` in px, or None: as tall as its rows."""
    numeric = {
        *money,
        *numbers,
        *formats.get("ratios", ()),
        *formats.get("indexes", ()),
        *formats.get("rates", ()),
    }
    held: dict[str, list[dict]] = {}

    def fetch(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
        raw = rows()
        if key:
            present = [r for r in raw if r.get(key) is not None]
            present.sort(key=lambda r: r[key], reverse=desc)
            raw = present + [r for r in raw if r.get(key) is None]
        held["page"] = raw[offset : offset + limit]
        shown = [{k: cell(k, r.get(k), **formats) for k, _ in columns} for r in held["page"]]
        if "fitted" not in held:
            fit(grid, shown)
            held["fitted"] = []
        return len(raw), [{**s, "_i": i} for i, s in enumerate(shown)]

    def kind(k: str) -> str:
        return "amount" if k in numeric else "text"

    cols = [Column(k, f"{label}（元）" if k in money else label, kind(k)) for k, label in columns]
    clicked = None if on_click is None else (lambda shown: on_click(held["page"][shown["_i"]]))
    grid = ServerGrid(cols, fetch, unit=unit, mark=mark, on_click=clicked)
    grid.grid.classes(remove="h-[560px]")
    if height is None:
        grid.grid.options["domLayout"] = "autoHeight"
        grid.grid.style("height: auto")
    else:
        grid.grid.style(f"height: {height}px")
    grid.refresh()
    return grid


# --- 预算 --------------------------------------------------------------------------------------------------------

BUDGET_COLUMNS = [
    ("pool", "基金池"),
    ("scheme", "支付方式"),
    ("version", "版本"),
    ("fund_budget", "基金预算"),
    ("total_cost_budget", "总费用预算"),
    ("pv_budget", "预算点值/费率"),
    ("groups", "病组/病种数"),
    ("policy_version", "政策版本"),
    ("created_at", "编制时间"),
    ("created_by", "编制人"),
]


@ui.page("/payment/budget")
@protected(PERMISSION)
def budgets(year: str = "") -> None:
    with unit_of_work(write=False) as s:
        y = year_of(year, s)
        known = qr.years(s)
        rows = qb.budget_rows(s, y)
    with frame(f"{MENU} · 总额预算", active=MENU):
        tabs("/payment/budget")
        with ui.row().classes("items-center gap-4"):
            year_select(y, known, lambda v: f"/payment/budget?year={v}")
            ui.label(
                "每个基金池、每种支付方式当年的基金预算（上年收入 × (1 + 增长率) × (1 − 风险调剂金比例) − 其他支出，按各方式"
                "医院的历史费用分配），除以基金支付占比得总费用预算，再除以历史点数（1 : 2 : 7 加权）得预算点值或费率。"
            ).classes("text-grey-7 max-w-4xl")
        if not rows:
            ui.label(f"{y} 年尚未编制预算（yibao payment budget --year {y}）").classes("text-grey-7").mark(
                "budget-none"
            )
            return
        memory_grid(
            BUDGET_COLUMNS,
            lambda: rows,
            money=("fund_budget", "total_cost_budget"),
            numbers=("version", "groups"),
            mark="budget-grid",
            unit="项",
            height=None,
        )
        ui.label("测算过程").classes("font-bold")
        with ui.row().classes("w-full gap-4 items-start").mark("budget-trace"):
            for b in rows:
                with ui.card().classes("w-full xl:w-[calc(50%-0.5rem)] min-w-0 gap-1"):
                    ui.label(f"{b['pool']} · {b['scheme']}（第 {b['version']} 版）").classes("font-bold")
                    with ui.grid(columns="minmax(0, 1fr) auto").classes("w-full gap-x-4 gap-y-1"):
                        for label, value in b["figures"]:
                            ui.label(label).classes("text-grey-8")
                            ui.label(value).classes("text-right")


# --- 月度预结算 ----------------------------------------------------------------------------------------------------


@ui.page("/payment/runs")
@protected(PERMISSION)
def runs(year: str = "") -> None:
    with unit_of_work(write=False) as s:
        y = year_of(year, s)
        known = qr.years(s)

    def load() -> list[dict]:  # (again after a run)
        with unit_of_work(write=False) as s:
            return qr.run_rows(s, y)

    with frame(f"{MENU} · 月度预结算", active=MENU):
        tabs("/payment/runs")
        with ui.row().classes("items-center gap-4"):
            year_select(y, known, lambda v: f"/payment/runs?year={v}")
            ui.label(
                "每月按出院病例分组、计算点数，以预算点值（费率）计算核定金额；应付 = 核定金额 − 个人负担，按拨付比例拨付，"
                "其余预留为质量保证金。年度清算以结算点值重新计算全年，扣减各月已拨付。点一行查看机构结算单。"
            ).classes("text-grey-7 max-w-4xl")
        if can(RUN_PERMISSION):
            run_controls(y, lambda: grid.refresh(first_page=False))
        else:
            ui.label("计算与重新计算需要“管理基金”权限（岗位：基金管理）。").classes("text-grey-7")
        grid = memory_grid(
            qr.RUN_COLUMNS,
            load,
            money=qr.RUN_MONEY,
            numbers=("cases",),
            mark="runs-grid",
            unit="次",
            on_click=lambda r: ui.navigate.to(
                f"/payment/statement?year={y}&month={r['month']}"
                if r["month"]
                else f"/payment/clearing?year={y}"
            ),
        )


def run_controls(year: int, refreshed: Callable[[], None]) -> None:
    """计算: a month or the clearing as a background job; a period already posted asks first (a new version)."""
    with ui.row().classes("items-center gap-2"):
        period = (
            ui.select(PERIODS, value=_next_period(year), label="期间")
            .props("outlined dense")
            .classes("w-36")
            .mark("run-period")
        )
        button = ui.button("计算", on_click=lambda: ask()).props("color=teal").mark("run-start")
    area = ui.column().classes("w-full")

    def ask() -> None:
        month = int(period.value)
        with unit_of_work(write=False) as s:
            before = qr.posted(s, year, month)
            at, version = (before.created_at, before.version) if before else (None, 0)
        if before is None:
            start(month, rerun=False)
            return
        with ui.dialog() as dialog, ui.card().classes("w-[32rem] gap-3").mark("rerun-dialog"):
            ui.label(f"{qr.period_label(year, month)}已过账（第 {version} 版，{at:%Y-%m-%d %H:%M}）").classes(
                "font-bold"
            )
            ui.label(
                f"重新计算将生成第 {version + 1} 版；第 {version} 版标为“已被取代”，其记账在同一事务中全部冲销。"
            )
            with ui.row().classes("justify-end w-full"):
                ui.button("取消", on_click=dialog.close).props("flat")
                ui.button(
                    "重新计算（新版本）", on_click=lambda: (dialog.close(), start(month, rerun=True))
                ).props("color=deep-orange").mark("rerun-confirm")
        dialog.open()

    def start(month: int, rerun: bool) -> None:
        user = current_user()["username"] or ""
        title = qr.period_label(year, month) + ("（重新计算）" if rerun else "")
        path = runner().directory / f"{ids.digits(12)}-payment-run.json"
        job = runner().submit(
            "payment_run",
            title,
            user,
            qr.run_period,
            year=year,
            month=month,
            rerun=rerun,
            actor=user,
            path=str(path),
        )
        button.disable()
        with area:
            watch_run(job, lambda: (button.enable(), refreshed()))


def _next_period(year: int) -> int:
    """The first month of the year not yet posted (the clearing once every month is)."""
    with unit_of_work(write=False) as s:
        done = {r["month"] for r in qr.run_rows(s, year) if r["posted"] and r["kind"] == qr.MONTH}
    return next((m for m in range(1, 13) if m not in done), 0)


def watch_run(job: Job, finished: Callable[[], None]) -> None:
    """The job's card: its state and the cases read so far, polled twice a second; the runs again when done."""
    with ui.card().classes("w-full max-w-xl") as card:
        label = ui.label(f"{job.title}: {job.state}").mark("run-job-status")
        bar = ui.linear_progress(show_value=False).props("color=teal indeterminate").mark("run-job-progress")

    def poll() -> None:
        counted = f"，已读取 {job.done:,} 例" if job.done else ""
        label.set_text(f"{job.title}: {job.state}{counted}")
        if not job.finished:
            return
        timer.deactivate()
        bar.props(remove="indeterminate")
        bar.set_value(1 if job.state == DONE else 0)
        if job.state == DONE:
            label.set_text(f"{job.title}: 已完成，已过账")
            ui.notify(f"{job.title}：已完成", type="positive")
            ui.timer(10, card.delete, once=True)
        else:
            label.set_text(f"{job.title}: 失败 — {job.message}")
            ui.notify(job.message, type="negative", multi_line=True)
        finished()

    timer = ui.timer(0.5, poll)


# --- 清算 --------------------------------------------------------------------------------------------------------


@ui.page("/payment/clearing")
@protected(PERMISSION)
def clearing(year: str = "") -> None:
    with unit_of_work(write=False) as s:
        y = year_of(year, s)
        known = qr.years(s)
        run = qr.posted(s, y, 0)
        pools = qr.clearing_pools(run) if run else []
        lines = qr.line_rows(s, run) if run else []
    with frame(f"{MENU} · 年度清算", active=MENU):
        tabs("/payment/clearing")
        with ui.row().classes("items-center gap-4"):
            year_select(y, known, lambda v: f"/payment/clearing?year={v}")
            if run is not None:
                ui.label(
                    f"第 {run.version} 版 · {run.created_at:%Y-%m-%d %H:%M} · {run.created_by} · 政策版本 "
                    f"{run.policy_version}"
                ).classes("text-grey-7").mark("clearing-version")
        if run is None:
            ui.label(f"{y} 年尚未清算（在“月度预结算”中选择“年度清算”计算）").classes("text-grey-7").mark(
                "clearing-none"
            )
            return
        totals = {k: sum((ln[k] for ln in lines), Decimal(0)) for k in ("entitlement", "adjustments", "paid")}
        with ui.row().classes("gap-4"):
            for label, key in (("核定金额合计（元）", "entitlement"), ("调整合计（元）", "adjustments")):
                _figure(label, cell(key, totals[key]))
            _figure("清算合计（元，负数为追回）", cell("paid", totals["paid"]))
        ui.label(
            "结算点值 = (基金预算 ÷ 基金支付占比 − 点数以外支付) ÷ 全年总点数，保留位数后限于预算点值的上下限之内。"
        ).classes("text-grey-7")
        ui.label("各基金池的点值").classes("font-bold")
        memory_grid(
            qr.POOL_COLUMNS,
            lambda: pools,
            money=qr.POOL_MONEY,
            mark="clearing-pools",
            unit="项",
            height=None,
            ratios=("total_points",),
            rates=("change",),
        )
        ui.label("各医院清算（点一行查看机构结算单）").classes("font-bold")
        ui.label(
            "清算 = 核定金额 − 个人负担 − 已预结算 + 调整；调整包括支付率封顶、风险分担与考核扣减的质量保证金。"
        ).classes("text-grey-7")
        memory_grid(
            qr.CLEAR_LINE_COLUMNS,
            lambda: lines,
            money=qr.LINE_MONEY,
            numbers=("cases",),
            mark="clearing-lines",
            unit="行",
            height=520,
            ratios=("points",),
            on_click=lambda r: ui.navigate.to(
                f"/payment/statement?year={y}&month=0&fixmedins_code={r['fixmedins_code']}"
            ),
        )


def _figure(label: str, value: str) -> None:
    with ui.card().classes("w-64"):
        ui.label(label).classes("text-grey-7")
        ui.label(value).classes("text-xl font-bold text-teal-9")
