"""付费: the grouped cases of the settlement lists (分组结果) with filters, one case and why it fell in its group
(分组过程), and the 歧义 / 未入组 worklist the hospitals fix their coding from (统计, CMI by hospital or
department: ``pages_payment_cmi``). Every list is on the database-paged grid and exports to Excel in the
background."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from nicegui import ui
from sqlalchemy import select

from yibao.console import display
from yibao.console import queries as q
from yibao.console import queries_payment as qp
from yibao.console.layout import can, frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution

PERMISSION = "payment.read"
TABS = [("分组结果", "/payment"), ("未入组/歧义", "/payment/worklist"), ("统计", "/payment/cmi")]


def day_of(text: str | None, what: str) -> date | None:
    """A date typed in the field ``what`` (empty: none), or a ValueError saying what is wrong with it."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}：“{text[:20]}”不是日期（例如 2025-03-31）") from None


def tabs(current: str) -> None:
    """The three 付费 pages, the one open (``current``) filled."""
    with ui.row().classes("gap-2").mark("payment-tabs"):
        for label, path in TABS:
            ui.button(label, on_click=lambda p=path: ui.navigate.to(p)).props(
                "color=teal" if path == current else "outline color=teal"
            )


def _institutions() -> dict[str, str]:
    with unit_of_work(write=False) as s:
        return {
            i.fixmedins_code: f"{i.fixmedins_code} {i.fixmedins_name}"
            for i in s.scalars(
                select(Institution)
                .where(Institution.fixmedins_type == "1")
                .order_by(Institution.fixmedins_code)
            )
        }


class Filters:
    """The filter row of the case lists; ``read()`` the filter as typed, or None after saying what is wrong."""

    def __init__(self, insts: dict[str, str], initial: qp.GroupFilter, statuses: dict[str, str], more: bool):
        self.insts = insts
        with ui.row().classes("items-end gap-2"):
            self.d_from = ui.input("出院日期从", value=str(initial.date_from or "")).props(
                "type=date outlined dense"
            )
            self.d_to = ui.input("到", value=str(initial.date_to or "")).props("type=date outlined dense")
            self.inst = (
                ui.select({"": "全部机构", **insts}, value=initial.fixmedins_code or "", label="定点机构")
                .props("outlined dense use-input input-debounce=0")
                .classes("w-72")
                .mark("f-inst")
            )
            self.ins = (
                ui.select({"": "全部", **q.INSUTYPES}, value=initial.insutype or "", label="险种")
                .props("outlined dense")
                .classes("w-44")
            )
            self.mdc = self.drg = None
            if more:
                self.mdc = (
                    ui.select({"": "全部", **qp.mdc_choices()}, value=initial.mdc or "", label="MDC")
                    .props("outlined dense")
                    .classes("w-56")
                    .mark("f-mdc")
                )
                self.drg = (
                    ui.input("DRG 编码（前几位）", value=initial.drg).props("outlined dense").classes("w-40")
                )
            self.status = (
                ui.select({"": "全部", **statuses}, value=initial.status or "", label="状态")
                .props("outlined dense")
                .classes("w-32")
                .mark("f-status")
            )
            self.row = ui.row().classes("items-end gap-2")

    def current(self) -> qp.GroupFilter:
        f = qp.GroupFilter(
            date_from=day_of(self.d_from.value, "出院日期从"),
            date_to=day_of(self.d_to.value, "到"),
            fixmedins_code=self.inst.value or None,
            insutype=self.ins.value or None,
            mdc=(self.mdc.value or None) if self.mdc else None,
            drg=(self.drg.value or "").strip() if self.drg else "",
            status=self.status.value or None,
        )
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise ValueError(f"出院日期：起始日 {f.date_from} 晚于截止日 {f.date_to}，请调换或修改")
        return f

    def read(self) -> qp.GroupFilter | None:
        try:
            return self.current()
        except ValueError as exc:
            ui.notify(str(exc), type="negative")
            return None

    def note(self) -> str:
        f = self.read() or qp.GroupFilter()
        return "筛选: " + ("；".join(f.describe(self.insts)) or "全部")


def _case_list(
    filters: Filters,
    name: str,
    columns,
    count: Callable,
    records: Callable,
    mark: str,
    initial,
    on_refresh: Callable[[qp.GroupFilter], None] | None = None,
) -> None:
    shown = {"filter": initial}
    with filters.row:
        ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark(f"{mark}-search")
        export_button(name, lambda: filters.read() or shown["filter"], filters.note, f"{mark}-export")
    grid = paged_list(
        columns,
        count,
        records,
        lambda: shown["filter"],
        money=qp.MONEY,
        dates=qp.DATES,
        unit="例",
        row_id="setl_id",
        on_click=lambda row: ui.navigate.to(f"/payment/case/{row['setl_id']}"),
        mark=mark,
    )
    # every column in the page (a row reads whole, its reason too), the reasons wrapped rather than cut
    grid.grid.options["suppressColumnVirtualisation"] = True
    for definition in grid.grid.options["columnDefs"]:
        if definition["field"] in ("reason", "advice"):
            definition.update(wrapText=True, autoHeight=True, minWidth=300, flex=2)
            definition.pop("tooltipField", None)
    grid.grid.update()

    def refresh() -> None:
        if (f := filters.read()) is not None:
            shown["filter"] = f
            grid.refresh()
            if on_refresh is not None:
                on_refresh(f)


def drill_down(date_from: str, date_to: str, drg: str = "", **codes: str) -> qp.GroupFilter:
    """A filter from a drill-down's query (a bad date is left out rather than refused)."""
    days = []
    for text in (date_from, date_to):
        try:
            days.append(day_of(text, ""))
        except ValueError:
            days.append(None)
    return qp.GroupFilter(days[0], days[1], drg=drg, **{k: v or None for k, v in codes.items()})


@ui.page("/payment")
@protected(PERMISSION)
def groups(
    date_from: str = "",
    date_to: str = "",
    fixmedins_code: str = "",
    insutype: str = "",
    mdc: str = "",
    drg: str = "",
    status: str = "",
) -> None:
    insts = _institutions()
    initial = drill_down(
        date_from, date_to, fixmedins_code=fixmedins_code, insutype=insutype, mdc=mdc, drg=drg, status=status
    )
    with frame("付费 · 分组结果", active="付费"):
        tabs("/payment")
        ui.label("有效结算清单的当前分组（DRG）：点一行看病例的分组过程。已撤销结算的清单不计。").classes(
            "text-grey-7"
        )
        filters = Filters(insts, initial, qp.STATUS, more=True)
        _case_list(
            filters,
            "payment_groups",
            qp.GROUP_COLUMNS,
            qp.group_count,
            qp.group_records,
            "payment-grid",
            initial,
        )


def worklist_summary(f: qp.GroupFilter) -> None:
    """The worklist by hospital for the period and 险种 of ``f`` (every hospital; a row shows only its cases)."""
    with unit_of_work(write=False) as s:
        rows = qp.worklist_summary(s, replace(f, fixmedins_code=None, status=None))
    if not rows:
        ui.label("没有歧义或未入组的病例").classes("text-positive").mark("worklist-summary")
        return
    ui.table(
        columns=[
            {"name": "fixmedins_name", "label": "机构", "field": "fixmedins_name", "align": "left"},
            {"name": "cases", "label": "清单数", "field": "cases", "sortable": True},
            {"name": "qy", "label": "歧义", "field": "qy", "sortable": True},
            {"name": "ungrouped", "label": "未入组", "field": "ungrouped", "sortable": True},
            {"name": "share", "label": "占比", "field": "share"},
        ],
        rows=rows,
        row_key="fixmedins_code",
        pagination=10,
    ).props("dense flat").classes("w-full max-w-4xl").mark("worklist-summary").on(
        "rowClick",
        lambda e: ui.navigate.to(f"/payment/worklist?fixmedins_code={e.args[1]['fixmedins_code']}"),
    )


@ui.page("/payment/worklist")
@protected(PERMISSION)
def worklist(date_from: str = "", date_to: str = "", fixmedins_code: str = "", status: str = "") -> None:
    insts = _institutions()
    initial = drill_down(date_from, date_to, fixmedins_code=fixmedins_code, status=status)
    with frame("付费 · 未入组与歧义病例", active="付费"):
        tabs("/payment/worklist")
        ui.label(
            "歧义（主要手术与主要诊断不属同一 MDC）和未入组的病例，按医院列出原因和应核对的编码，供医院更正结算清单后重新上传。"
        ).classes("text-grey-7")
        summary = ui.refreshable(worklist_summary)  # (this page's own: refreshing it touches no other)
        summary(initial)
        filters = Filters(insts, initial, {k: qp.STATUS[k] for k in qp.TO_FIX}, more=False)
        _case_list(
            filters,
            "payment_worklist",
            qp.WORKLIST_COLUMNS,
            qp.worklist_count,
            qp.worklist_records,
            "worklist-grid",
            initial,
            on_refresh=summary.refresh,
        )


# --- one case --------------------------------------------------------------------------------------------------


def _table(rows: list[dict], columns: list[tuple[str, str]], mark: str, key: str = "seq") -> None:
    ui.table(
        columns=[{"name": k, "label": label, "field": k, "align": "left"} for k, label in columns],
        rows=rows,
        row_key=key,
    ).props("dense flat").classes("w-full").mark(mark)


@ui.page("/payment/case/{setl_id}")
@protected(PERMISSION)
def case(setl_id: str) -> None:
    with unit_of_work(write=False) as s:
        c = qp.case_detail(s, setl_id)
    with frame("付费 · 病例分组", active="付费"):
        tabs("")
        if c is None:
            ui.label(f"结算 {setl_id} 没有结算清单").classes("text-negative")
            return
        if not c["valid"]:
            ui.label("此结算清单已作废，其分组结果不再有效").classes("text-negative text-lg")
        if c["reversed_by"]:
            ui.label(f"结算已撤销（撤销记录 {c['reversed_by']}），其分组不计").classes(
                "text-negative text-lg"
            )
        ui.label(
            f"{c['setl_id']} · {c['psn']} · {c['fixmedins_name']}"
            + (f" · {c['dept_name']}" if c["dept_name"] else "")
            + f" · {c['insutype']} · 医疗费总额 {display.yuan(c['medfee_sumamt'])} 元"
        ).classes("text-lg").mark("case-header")
        with ui.row().classes("items-center gap-4"):
            ui.label(f"结算清单 {c['setl_list_id']} · {c['stay']}").classes("text-grey-7")
            if can("settlement.read"):
                ui.link("查看结算详情", f"/settlement/{c['setl_id']}").classes("text-teal-8")
        g = c["group"]
        with ui.row().classes("w-full gap-4 xl:flex-nowrap"):
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("诊断").classes("font-bold")
                _table(
                    c["diagnoses"],
                    [("role", "类别"), ("code", "编码"), ("name", "名称"), ("mark", "CC/MCC")],
                    "case-diagnoses",
                )
                ui.label("手术及操作").classes("font-bold")
                if c["procedures"]:
                    _table(
                        c["procedures"],
                        [("role", "类别"), ("code", "编码"), ("name", "名称"), ("date", "日期")],
                        "case-procedures",
                    )
                else:
                    ui.label("无").classes("text-grey-7")
            with ui.card().classes("w-full xl:w-1/2 min-w-0").mark("case-group"):
                ui.label("分组结果").classes("font-bold")
                if g is None:
                    ui.label("未分组").classes("text-grey-7")
                else:
                    colour = "text-positive" if g["status_code"] == "ok" else "text-negative"
                    ui.label(f"{g['status']}：{g['drg']}").classes(f"text-lg font-bold {colour}").mark(
                        "case-status"
                    )
                    for label, value in (("MDC", g["mdc"]), ("ADRG", g["adrg"]), ("原因", g["reason"])):
                        if value:
                            ui.label(f"{label}：{value}")
                    if g["advice"]:
                        ui.label(f"请医院核对：{g['advice']}").classes("text-deep-orange-9").mark(
                            "case-advice"
                        )
                    ui.label(
                        f"分组方案 {g['scheme']}（{g['kind']}） · 分组器版本 {g['grouper_version']} · "
                        f"分组时间 {g['grouped_at']}"
                    ).classes("text-grey-7")
                    ui.label(f"规则包哈希 {g['pack_hash']}").classes("text-grey-7 text-xs break-all").mark(
                        "case-pack-hash"
                    )
        ui.label("分组过程（为什么入此组）").classes("font-bold")
        with (
            ui.grid(columns="2rem 15rem minmax(0, 1fr)").classes("w-full gap-x-2 gap-y-1").mark("case-trace")
        ):
            for i, step in enumerate(c["steps"], 1):
                ui.label(f"{i}.").classes("text-right text-grey-7")
                ui.label(step["stage"]).classes("text-teal-9")
                ui.label(step["text"])
