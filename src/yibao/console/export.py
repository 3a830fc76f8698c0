"""Export a list to Excel (.xlsx) exactly as it is filtered (导出)."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook
from openpyxl.styles import Font


def xlsx(
    title: str, columns: list[tuple[str, str]], rows: list[dict], amount_keys: set[str] = frozenset()
) -> bytes:
    """A workbook with a header row of Chinese titles; amounts as exact decimal numbers (two places)."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([label for _, label in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = []
        for key, _ in columns:
            v = row.get(key, "")
            if key in amount_keys:
                with contextlib.suppress(InvalidOperation):
                    v = Decimal(str(v))
            values.append(v)
        ws.append(values)
    for k, _ in enumerate(columns, start=1):
        if columns[k - 1][0] in amount_keys:
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
