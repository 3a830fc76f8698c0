"""A console list on the database-paged grid (列表): the :class:`~yibao.console.grid.ServerGrid` over a query
pair of ``queries``/``queries_enrollment`` — ``count(s, f)`` and ``records(s, f, limit, offset=, order=)`` —
and its 导出 Excel button, which exports the whole filtered list as a background job (``export.export_lists``).

Amount columns are headed （元） and right-aligned, counts too; dates sort as dates. Columns are as wide as
their header and the values of the first page shown (a CJK character is two narrow ones), so Chinese names
are not cut; wider lists scroll sideways.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from nicegui import ui

from yibao.console import queries as q
from yibao.console.grid import Column, ServerGrid
from yibao.console.jobs import export_job, watch
from yibao.store.db import unit_of_work

COUNTS = {"settlements", "employees", "months", "contrib_months"}  # whole numbers, sorted as numbers
WIDEST = 320  # px: a longer value is cut with … (whole in its tooltip and in the export)


def _px(text: object) -> int:
    """About how wide a value shows in a cell: a CJK character 15 px, a digit or letter 8.5, and padding."""
    wide = sum(1 for ch in str(text or "") if ord(ch) > 0x2E7F)
    return int(wide * 15 + (len(str(text or "")) - wide) * 8.5 + 36)


def _fit(grid: ServerGrid, rows: list[dict]) -> None:
    """Widen each column to its widest value on the page (before the grid is first sent to the browser)."""
    for definition in grid.grid.options["columnDefs"]:
        widest = max((_px(r.get(definition["field"])) for r in rows), default=0)
        definition["minWidth"] = max(definition["minWidth"], min(widest, WIDEST))
        if widest > WIDEST:  # (a value cut with … shows whole under the pointer)
            definition["tooltipField"] = definition["field"]


def paged_list(
    columns: list[tuple[str, str]],
    count: Callable,
    records: Callable,
    current: Callable[[], Any],
    *,
    money: Collection[str] = (),
    unsorted: Collection[str] = (),
    dates: Collection[str] = (),
    height: int = 560,
    **grid: Any,
) -> ServerGrid:
    """The grid of one list for the filter ``current()`` returns when the grid reads (after 查询, the grid's
    ``refresh()`` reads the first page again). ``money`` keys are amounts (yuan, headed （元）), ``dates``
    dates; ``unsorted`` columns cannot be ordered by; ``height`` in px. ``grid`` goes to
    :class:`ServerGrid` (unit, row_id, on_click, page_size, mark)."""
    fitted = {"done": False}

    def page_of(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
        f = current()
        with unit_of_work(write=False) as s:
            rows = [q.shown(r) for r in records(s, f, limit, offset=offset, order=(key, desc))]
            total = count(s, f)
        if not fitted["done"]:
            _fit(out, rows)
            fitted["done"] = True
        return total, rows

    def kind(key: str) -> str:
        return "amount" if key in money or key in COUNTS else "time" if key in dates else "text"

    cols = [
        Column(k, f"{label}（元）" if k in money else label, kind(k), k not in unsorted)
        for k, label in columns
    ]
    out = ServerGrid(cols, page_of, **grid)
    if height != 560:  # (a page with several lists gives each less room)
        out.grid.classes(remove="h-[560px]").style(f"height: {height}px")
    out.refresh()
    return out


def export_button(name: str, current: Callable[[], Any], note: Callable[[], str], mark: str) -> ui.column:
    """导出 Excel: the whole list ``name`` (of ``export.export_lists``) as ``current()`` filters it, as a
    background job titled with ``note()``; its progress shows in the column returned (below the button's
    row, where the caller places it)."""

    def export() -> None:
        with area:
            watch(export_job(name, current(), note()))

    ui.button("导出 Excel", on_click=export).props("outline color=teal").mark(mark)
    area = ui.column().classes("w-full")
    return area
