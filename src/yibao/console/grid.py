"""The console's list (数据表格): paging and sorting done by the database over every row, one page shown.

AG Grid shows the page; its own sorting is switched off (every column's comparator keeps the server's order),
so a click on a header asks the database for that order — amounts sort as numbers and times as times over the
whole table, not as text over what was loaded. Below it: the true count (``共 154,043 笔``), the page, and the
page size. Its words are Chinese; it has no selection boxes. Pages give it their columns and a ``fetch`` that
returns the count and one page of rows for (offset, limit, sort key, descending); later lists reuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui

PAGE_SIZES = (20, 50, 100, 200)
# AG Grid's own words that can still show (column menu, loading, no rows)
LOCALE = {
    "noRowsToShow": "没有记录",
    "loadingOoo": "加载中…",
    "sortAscending": "升序",
    "sortDescending": "降序",
    "pinColumn": "固定列",
    "autosizeThisColumn": "自动列宽",
    "autosizeAllColumns": "全部自动列宽",
    "resetColumns": "重置列",
    "columns": "列",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | amount | time | code
    sortable: bool = True

    def definition(self) -> dict:
        # about 15 px a CJK character in the header, and room for the values of each kind
        chars = sum(2 if ord(ch) > 0x2E7F else 1 for ch in self.label)
        least = {"amount": 120, "time": 140, "code": 200}.get(self.kind, 90)
        out = {
            "field": self.key,
            "headerName": self.label,
            "sortable": self.sortable,
            "minWidth": max(least, chars * 8 + 48),
            "flex": 1,
            ":comparator": "() => 0",  # (the rows come sorted from the database)
        }
        if self.kind == "amount":
            out["type"] = "rightAligned"
        return out


Fetch = Callable[[int, int, str | None, bool], tuple[int, list[dict]]]


class ServerGrid:
    """One page of a list from the database, its true count, paging and sorting by the database."""

    def __init__(
        self,
        columns: list[Column],
        fetch: Fetch,
        *,
        unit: str = "笔",
        row_id: str | None = None,
        on_click: Callable[[dict], None] | None = None,
        page_size: int = 50,
        mark: str = "grid",
    ):
        self.columns, self.fetch, self.unit = columns, fetch, unit
        self.page, self.size, self.total = 0, page_size, 0
        self.sort: tuple[str | None, bool] = (None, True)
        self._loaded = False
        options = {
            "columnDefs": [c.definition() for c in columns],
            "rowData": [],
            "localeText": LOCALE,
            "suppressCellFocus": True,
            "suppressMultiSort": True,
            "animateRows": False,
        }
        if row_id:
            options[":getRowId"] = f"params => params.data.{row_id}"
        self.grid = ui.aggrid(options).classes("w-full h-[560px]").mark(mark)
        self.grid.on("sortChanged", self._sorted)
        if on_click is not None:
            self.grid.on("cellClicked", lambda e: on_click(e.args["data"]))
        with ui.row().classes("items-center gap-2 text-grey-8"):
            self.count = ui.label("").mark(f"{mark}-count")
            ui.button("首页", on_click=lambda: self.go(0)).props("flat dense").mark(f"{mark}-first")
            ui.button("上一页", on_click=lambda: self.go(self.page - 1)).props("flat dense").mark(
                f"{mark}-prev"
            )
            self.where = ui.label("").mark(f"{mark}-page")
            ui.button("下一页", on_click=lambda: self.go(self.page + 1)).props("flat dense").mark(
                f"{mark}-next"
            )
            ui.button("末页", on_click=lambda: self.go(self.pages - 1)).props("flat dense").mark(
                f"{mark}-last"
            )
            ui.select(
                {n: f"每页 {n} {unit}" for n in PAGE_SIZES},
                value=page_size,
                on_change=lambda e: self.resize(e.value),
            ).props("dense outlined").mark(f"{mark}-size")

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    def refresh(self, *, first_page: bool = True) -> None:
        """Read the page again (the first, after a new filter)."""
        if first_page:
            self.page = 0
        key, desc = self.sort
        self.total, rows = self.fetch(self.page * self.size, self.size, key, desc)
        if self.page >= self.pages:  # (the list shrank under the page)
            self.page = self.pages - 1
            self.total, rows = self.fetch(self.page * self.size, self.size, key, desc)
        if self._loaded:  # (replacing the options would also reset the sort shown in the header)
            self.grid.run_grid_method("setGridOption", "rowData", rows)
        else:
            self.grid.options["rowData"] = rows
            self.grid.update()
            self._loaded = True
        self.count.set_text(f"共 {self.total:,} {self.unit}")
        self.where.set_text(f"第 {self.page + 1:,} / {self.pages:,} 页")

    def go(self, page: int) -> None:
        self.page = min(max(page, 0), self.pages - 1)
        self.refresh(first_page=False)

    def resize(self, size: int) -> None:
        self.size = int(size)
        self.refresh()

    async def _sorted(self) -> None:
        state = await self.grid.run_grid_method("getColumnState")
        chosen = next((c for c in state or [] if c.get("sort")), None)
        self.sort = (chosen["colId"], chosen["sort"] == "desc") if chosen else (None, True)
        self.refresh()
