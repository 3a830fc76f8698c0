"""Export a list to Excel (.xlsx) exactly as it is filtered (导出).

One writer for every list: a title row naming the list and the filter used, a bold header row of Chinese
titles frozen with it, columns wide enough for their Chinese titles and contents, typed cells — amounts as
exact decimal numbers shown with separators and two places, dates and times as date cells. It streams
(openpyxl's write-only mode), so a background job writes 150,000 rows in bounded memory and reports its
progress as it goes; a short list is written the same way into memory (:func:`xlsx`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

AMOUNT_FORMAT, TIME_FORMAT, DATE_FORMAT = "#,##0.00", "yyyy-mm-dd hh:mm", "yyyy-mm-dd"
SAMPLE = 200  # rows read ahead to size the columns


def _width(value) -> int:
    """Display width: a CJK character takes two columns."""
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _cell(ws, value):
    if isinstance(value, (Decimal, datetime, date)):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = (
            AMOUNT_FORMAT
            if isinstance(value, Decimal)
            else TIME_FORMAT
            if isinstance(value, datetime)
            else DATE_FORMAT
        )
        return cell
    return value


def write_xlsx(
    sink: str | IO[bytes],
    title: str,
    columns: list[tuple[str, str]],
    rows: Iterable[dict],
    *,
    note: str = "",
    progress: Callable[[int], None] | None = None,
    every: int = 2_000,
) -> int:
    """Write ``rows`` (dicts keyed by the columns' keys) to ``sink``; the number of rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.freeze_panes = "A3"  # the title and header rows stay in view
    it = iter(rows)
    head = list(itertools.islice(it, SAMPLE))
    for i, (key, label) in enumerate(columns, 1):
        widest = max([_width(label), *(_width(r.get(key)) for r in head)])
        ws.column_dimensions[get_column_letter(i)].width = min(widest + 2, 60)
    caption = WriteOnlyCell(ws, f"{title}　{note}".strip())
    caption.font = Font(bold=True, size=12)
    ws.append([caption])
    header = []
    for _, label in columns:
        cell = WriteOnlyCell(ws, label)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    n = 0
    for row in itertools.chain(head, it):
        ws.append([_cell(ws, row.get(key)) for key, _ in columns])
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    wb.save(sink)
    if progress is not None:
        progress(n)
    return n


# --- whole lists, in the background (yibao.jobs) -------------------------------------------------------------
@dataclass(frozen=True)
class ExportList:
    """A list a background job exports: its title, file name, columns, and its count and typed rows for a
    filter (functions of a session and the filter)."""

    title: str
    filename: str
    columns: list[tuple[str, str]]
    count: Callable
    rows: Callable


def export_lists() -> dict[str, ExportList]:
    """The lists a job can export, by name (built when first needed: the queries import the store)."""
    from yibao.console import queries as q
    from yibao.console import queries_employers as qm
    from yibao.console import queries_enrollment as qe
    from yibao.console import queries_institutions as qi
    from yibao.console import queries_payment_runs as qr
    from yibao.console import queries_supervision_cases as qsv

    def amounts(columns: list[tuple[str, str]], keys) -> list[tuple[str, str]]:
        return [(k, f"{label}（元）" if k in keys else label) for k, label in columns]

    return {
        "settlements": ExportList(
            "结算", "settlements.xlsx", q.SETTLEMENT_COLUMNS, q.settlement_count, q.settlement_records
        ),
        "persons": ExportList("参保人", "persons.xlsx", q.PERSON_COLUMNS, q.person_count, q.person_records),
        "institutions": ExportList(
            "定点机构",
            "institutions.xlsx",
            amounts(qi.INSTITUTION_COLUMNS, qi.INSTITUTION_AMOUNTS),
            qi.institution_count,
            qi.institution_records,
        ),
        "employers": ExportList(
            "单位",
            "employers.xlsx",
            amounts(qm.EMPLOYER_COLUMNS, qm.MONEY),
            qm.employer_count,
            qm.employer_records,
        ),
        "employer_months": ExportList(
            "按月缴费",
            "employer-months.xlsx",
            amounts(qm.MONTH_COLUMNS, qm.MONEY),
            qm.employer_month_count,
            qm.employer_month_records,
        ),
        "employer_employees": ExportList(
            "按职工缴费",
            "employer-employees.xlsx",
            amounts(qm.PER_EMPLOYEE_COLUMNS, qm.MONEY),
            qm.employer_employee_count,
            qm.employer_employee_records,
        ),
        "employer_staff": ExportList(
            "参保职工",
            "employer-staff.xlsx",
            qm.STAFF_COLUMNS,
            qm.employer_staff_count,
            qm.employer_staff_records,
        ),
        "overlaps": ExportList(
            "参保期间重叠",
            "duplicate-overlaps.xlsx",
            qe.OVERLAP_COLUMNS,
            qe.overlap_count,
            qe.overlap_records,
        ),
        "same_certno": ExportList(
            "同证多号",
            "duplicate-certno.xlsx",
            qe.SAME_CERT_COLUMNS,
            qe.same_certno_count,
            qe.same_certno_records,
        ),
        **payment_exports(amounts),
        **qr.exports(),
        **qsv.exports(),
    }


def payment_exports(amounts: Callable) -> dict[str, ExportList]:
    """付费: grouped cases, the 歧义 / 未入组 worklist, CMI by unit and the DRG weights."""
    from yibao.console import queries_payment as qp
    from yibao.console import queries_payment_cmi as qc

    money = (*qp.MONEY, *qc.MONEY)
    return {
        "payment_groups": ExportList(
            "分组结果",
            "payment-groups.xlsx",
            amounts(qp.GROUP_COLUMNS, money),
            qp.group_count,
            qp.group_records,
        ),
        "payment_worklist": ExportList(
            "未入组与歧义病例",
            "payment-worklist.xlsx",
            qp.WORKLIST_COLUMNS,
            qp.worklist_count,
            qp.worklist_records,
        ),
        "payment_cmi": ExportList(
            "病例组合指数（按医院）",
            "payment-cmi.xlsx",
            amounts(qc.UNIT_COLUMNS, money),
            qc.unit_count,
            qc.unit_rows_for_excel,
        ),
        "payment_cmi_dept": ExportList(
            "病例组合指数（按科室）",
            "payment-cmi-departments.xlsx",
            amounts(qc.DEPT_COLUMNS, money),
            qc.unit_count,
            qc.unit_rows_for_excel,
        ),
        "payment_weights": ExportList(
            "DRG 相对权重",
            "payment-weights.xlsx",
            amounts(qc.WEIGHT_COLUMNS, money),
            qc.weight_count,
            qc.weight_rows_for_excel,
        ),
    }


def export_list(progress: Callable, *, name: str, flt: Any, path: str, note: str = "") -> tuple[Path, str]:
    """(A job's work, in its own process) write the whole list ``name`` as filtered by ``flt`` to ``path``."""
    from yibao.store.db import unit_of_work

    spec = export_lists()[name]
    with unit_of_work(write=False) as s:
        progress(0, spec.count(s, flt))
        write_xlsx(path, spec.title, spec.columns, spec.rows(s, flt), note=note, progress=progress)
    return Path(path), spec.filename
