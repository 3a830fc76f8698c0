"""付费 · 统计: cases, DRG groups and the case-mix index (CMI) by hospital or department, and the relative
weight of every DRG, derived from the period's grouped cases and said so on the page
(:mod:`yibao.console.queries_payment_cmi`). Both tables export to Excel in the background."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

from nicegui import ui

from yibao.console import queries as q
from yibao.console import queries_payment_cmi as qc
from yibao.console.grid import Column, ServerGrid
from yibao.console.layout import frame, protected
from yibao.console.lists import export_button
from yibao.console.pages_payment import PERMISSION, day_of, drill_down, tabs
from yibao.payment.weights import rounded
from yibao.store.db import unit_of_work

WIDTHS = {"fixmedins_code": 150, "fixmedins_name": 300, "dept_name": 160, "drg_name": 360}  # px


def _shown(r: dict) -> dict:
    """A statistics row as the grid shows it: weights and CMI with four decimals, money with two."""
    out = q.shown({k: v for k, v in r.items() if k not in qc.RATIOS})
    out.update({k: "—" if r[k] is None else f"{r[k]:.4f}" for k in qc.RATIOS if k in r})
    return out


def _stat_grid(columns, records: Callable, state: dict, mark: str, unit: str) -> ServerGrid:
    def kind(k: str) -> str:
        return "amount" if k in (*qc.MONEY, *qc.COUNTS, *qc.RATIOS) else "text"

    def fetch(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
        rows = list(records(None, state["filter"], computed=state["stats"], order=(key, desc)))
        return len(rows), [_shown(r) for r in rows[offset : offset + limit]]

    cols = [Column(k, f"{label}（元）" if k in qc.MONEY else label, kind(k)) for k, label in columns]
    grid = ServerGrid(cols, fetch, unit=unit, mark=mark)
    for definition in grid.grid.options["columnDefs"]:  # (room for codes and Chinese names)
        definition["minWidth"] = max(definition["minWidth"], WIDTHS.get(definition["field"], 0))
    grid.grid.classes(remove="h-[560px]").style("height: 420px")
    return grid


@ui.page("/payment/cmi")
@protected(PERMISSION)
def cmi(date_from: str = "", date_to: str = "", insutype: str = "", by: str = "hospital") -> None:
    initial = drill_down(date_from, date_to, insutype=insutype)
    by = "department" if by == "department" else "hospital"
    state = {"filter": qc.CmiFilter(initial.date_from, initial.date_to, initial.insutype, by=by)}
    with unit_of_work(write=False) as s:
        state["stats"] = qc.stats(s, state["filter"])
    with frame("付费 · 病例组合指数（CMI）", active="付费"):
        tabs("/payment/cmi")
        ui.label(
            "相对权重（RW）由本页所选期间和险种的入组病例计算：某 DRG 的 RW = 该组病例的平均医疗费总额 ÷ 全部入组病例的"
            "平均医疗费总额（CHS-DRG 1.1 国家分组表不含权重；未截尾、未经专家调整）。CMI = 该单位入组病例的 RW 之和 ÷ "
            "入组病例数，全市合计为 1。歧义和未入组病例计入病例数，不计权重。"
        ).classes("text-grey-7").mark("cmi-method")
        with ui.row().classes("items-end gap-2"):
            d_from = ui.input("出院日期从", value=date_from).props("type=date outlined dense")
            d_to = ui.input("到", value=date_to).props("type=date outlined dense")
            ins = (
                ui.select({"": "全部", **q.INSUTYPES}, value=insutype or "", label="险种")
                .props("outlined dense")
                .classes("w-44")
            )
            unit_by = (
                ui.toggle({"hospital": "按医院", "department": "按科室"}, value=by)
                .props("toggle-color=teal color=white text-color=teal")
                .mark("cmi-by")
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("cmi-search")
        summary = ui.label("").mark("cmi-summary")

        def read() -> qc.CmiFilter | None:
            try:
                f = qc.CmiFilter(
                    day_of(d_from.value, "出院日期从"),
                    day_of(d_to.value, "到"),
                    ins.value or None,
                    by=unit_by.value,
                )
            except ValueError as exc:
                ui.notify(str(exc), type="negative")
                return None
            return f

        def note() -> str:
            return "筛选: " + "；".join((read() or state["filter"]).describe())

        by_dept = by == "department"
        with ui.row().classes("items-center gap-4"):
            ui.label("各科室" if by_dept else "各医院").classes("font-bold")
            export_button(
                "payment_cmi_dept" if by_dept else "payment_cmi",
                lambda: replace(read() or state["filter"], by=by),
                note,
                "cmi-export",
            )
        units = _stat_grid(
            qc.DEPT_COLUMNS if by_dept else qc.UNIT_COLUMNS, qc.unit_records, state, "cmi-grid", "个"
        )
        with ui.row().classes("items-center gap-4"):
            ui.label("各 DRG 的相对权重").classes("font-bold")
            export_button("payment_weights", lambda: read() or state["filter"], note, "weights-export")
        weights = _stat_grid(qc.WEIGHT_COLUMNS, qc.weight_records, state, "weights-grid", "组")

        def show_summary() -> None:
            st = state["stats"]
            mean = f"{rounded(Fraction(st.fen, st.cases * 100), 2):,}" if st.cases else "—"
            summary.set_text(
                f"入组病例 {st.cases:,} 例，DRG {len(st.groups):,} 组，全部入组病例平均医疗费总额 {mean} 元"
            )

        def refresh() -> None:
            f = read()
            if f is None:
                return
            if f.by != state["filter"].by:  # (other columns: the page again, with the filter in its address)
                ui.navigate.to(
                    f"/payment/cmi?date_from={f.date_from or ''}&date_to={f.date_to or ''}"
                    f"&insutype={f.insutype or ''}&by={f.by}"
                )
                return
            with unit_of_work(write=False) as s:
                state["filter"], state["stats"] = f, qc.stats(s, f)
            show_summary()
            units.refresh()
            weights.refresh()

        show_summary()
        units.refresh()
        weights.refresh()
