"""The audit view's raw tables (审核视图): what an adapter hands the rule engine, online or in batch.

Dates become whole numbers here, once, so the rule SQL needs no date functions (they differ between SQLite,
DuckDB and Spark): ``*_day`` counts days from 1970-01-01, ``*_year`` and ``*_md`` (``mmdd``) give an age in whole
years without a division (``year − brdy_year``, one less before the birthday: integer division and casts round
differently in DuckDB), ``begn_month`` is ``year × 12 + month − 1``. Money stays integer:
``amt`` fen, ``pric`` micro-yuan, ``cnt`` 1e-4 units (:mod:`yibao.money`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# raw_visits: one row per visit (就诊), with its person's and institution's facts on the visit's first day
VISIT_SCHEMA = pa.schema(
    [
        ("mdtrt_id", pa.string()),
        ("psn_no", pa.string()),
        ("fixmedins_code", pa.string()),
        ("insutype", pa.string()),
        ("med_type", pa.string()),
        ("begn_ts", pa.int64()),  # seconds from 1970-01-01 00:00 (local time, as stored)
        ("begn_day", pa.int32()),
        ("begn_year", pa.int32()),
        ("begn_md", pa.int32()),
        ("begn_month", pa.int32()),
        ("end_day", pa.int32()),  # discharge day; null while the visit is open
        ("gend", pa.string()),
        ("brdy_day", pa.int32()),
        ("brdy_year", pa.int32()),
        ("brdy_md", pa.int32()),
        ("death_day", pa.int32()),  # null: no death recorded
        ("inst_grade", pa.int32()),  # 1 一级及以下 / 2 二级 / 3 三级 (dedc_hosp_lv)
        ("inst_type", pa.string()),  # fixmedins_type: 1 医疗机构, 2 零售药店
        ("dept_code", pa.string()),
        ("atddr_no", pa.string()),
        ("dise_codg", pa.string()),  # principal diagnosis
        ("oprn_codg", pa.string()),
        ("setl_id", pa.string()),  # the visit's live settlement, null before settling
    ]
)
# raw_lines: one row per fee line (费用明细)
LINE_SCHEMA = pa.schema(
    [
        ("line_id", pa.int64()),
        ("mdtrt_id", pa.string()),
        ("feedetl_sn", pa.string()),
        ("med_list_codg", pa.string()),
        ("list_type", pa.string()),  # 101 西药中成药, 102 中药饮片, 201 医疗服务项目, 301 医用耗材
        ("med_chrgitm_type", pa.string()),  # 01 床位费 … 09 西药费 (national dictionary)
        ("fee_day", pa.int32()),
        ("fee_year", pa.int32()),
        ("fee_md", pa.int32()),
        ("cnt", pa.int64()),
        ("pric", pa.int64()),
        ("amt", pa.int64()),
        ("pric_uplmt", pa.int64()),  # the catalogue's price cap, null = none
        ("dept_code", pa.string()),  # billing department, null = the visit's
        ("dr_code", pa.string()),  # billing doctor, null = the visit's attending
    ]
)
DIAGNOSIS_SCHEMA = pa.schema([("mdtrt_id", pa.string()), ("dise_codg", pa.string()), ("main", pa.int32())])
OPERATION_SCHEMA = pa.schema([("mdtrt_id", pa.string()), ("oprn_codg", pa.string()), ("main", pa.int32())])

TABLES = {
    "raw_visits": VISIT_SCHEMA,
    "raw_lines": LINE_SCHEMA,
    "diagnoses": DIAGNOSIS_SCHEMA,
    "operations": OPERATION_SCHEMA,
}
EPOCH = date(1970, 1, 1).toordinal()
# constants as Arrow scalars: a Python number passed to a compute function is converted on every call (and
# makes pyarrow look for dateutil each time)
_SECONDS_A_DAY, _HUNDRED, _TWELVE, _ONE = (pa.scalar(n, pa.int64()) for n in (86400, 100, 12, 1))


def day_number(d: date | datetime | None) -> int | None:
    """Days from 1970-01-01 (the view's ``*_day``)."""
    if d is None:
        return None
    return (d.date() if isinstance(d, datetime) else d).toordinal() - EPOCH


@dataclass(frozen=True)
class Frame:
    """The four raw tables of the audit view (pyarrow), ready for either engine."""

    raw_visits: pa.Table
    raw_lines: pa.Table
    diagnoses: pa.Table
    operations: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLES}


def _dates(values, unit: str) -> pa.Array:
    """A column of dates or datetimes (Python objects or numpy datetime64) as a pyarrow timestamp/date array."""
    arr = np.asarray(values, dtype=f"datetime64[{unit}]")
    if not len(arr):
        return pa.array([], pa.date32() if unit == "D" else pa.timestamp(unit))
    return pa.array(arr, mask=np.isnat(arr))


def _day_ymd(values, unit: str = "s") -> tuple[pa.Array, pa.Array, pa.Array]:
    """Day numbers, years and ``mmdd`` of a column; ``unit`` "s" for datetimes, "D" for dates."""
    ts = _dates(values, unit)
    if unit == "D":
        days = pc.cast(ts, pa.int32())
    else:  # whole days of a non-negative timestamp (claims are after 1970): integer division truncates
        days = pc.cast(pc.divide(pc.cast(ts, pa.int64()), _SECONDS_A_DAY), pa.int32())
    md = pc.add(pc.multiply(pc.month(ts), _HUNDRED), pc.day(ts))
    return days, pc.cast(pc.year(ts), pa.int32()), pc.cast(md, pa.int32())


def visits_table(cols: Mapping[str, Sequence]) -> pa.Table:
    """``raw_visits`` from columns: the schema's plain columns plus ``begntime`` / ``endtime`` (datetimes),
    ``brdy`` and ``death_date`` (dates) in place of their derived numbers."""
    begn = _dates(cols["begntime"], "s")
    begn_day, begn_year, begn_md = _day_ymd(cols["begntime"])
    end_day = _day_ymd(cols["endtime"])[0]
    brdy_day, brdy_year, brdy_md = _day_ymd(cols["brdy"], "D")
    death_day = _day_ymd(cols["death_date"], "D")[0]
    month = pc.add(pc.multiply(pc.year(begn), _TWELVE), pc.subtract(pc.month(begn), _ONE))
    derived = {
        "begn_ts": pc.cast(begn, pa.int64()),
        "begn_day": begn_day,
        "begn_year": begn_year,
        "begn_md": begn_md,
        "begn_month": pc.cast(month, pa.int32()),
        "end_day": end_day,
        "brdy_day": brdy_day,
        "brdy_year": brdy_year,
        "brdy_md": brdy_md,
        "death_day": death_day,
    }
    return _table(VISIT_SCHEMA, cols, derived)


def lines_table(cols: Mapping[str, Sequence]) -> pa.Table:
    """``raw_lines`` from columns: the schema's plain columns plus ``fee_ocur_time`` (datetimes)."""
    fee_day, fee_year, fee_md = _day_ymd(cols["fee_ocur_time"])
    return _table(LINE_SCHEMA, cols, {"fee_day": fee_day, "fee_year": fee_year, "fee_md": fee_md})


def _table(schema: pa.Schema, cols: Mapping[str, Sequence], derived: Mapping[str, pa.Array]) -> pa.Table:
    arrays = []
    for f in schema:
        value = derived[f.name] if f.name in derived else cols.get(f.name)
        if value is None:
            value = pa.nulls(_length(cols), f.type)
        arrays.append(
            pa.array(value, f.type)
            if not isinstance(value, pa.Array | pa.ChunkedArray)
            else value.cast(f.type)
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def _length(cols: Mapping[str, Sequence]) -> int:
    return len(next(iter(cols.values()))) if cols else 0


def codes_table(schema: pa.Schema, rows: Sequence[tuple]) -> pa.Table:
    """``diagnoses`` / ``operations`` from ``(mdtrt_id, code, main)`` rows."""
    names = schema.names
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}, schema=schema)


def rows_to_columns(rows: Sequence[Mapping], names: Sequence[str]) -> dict[str, list]:
    return {n: [r.get(n) for r in rows] for n in names}


def frame_from_rows(
    visits: Sequence[Mapping],
    lines: Sequence[Mapping],
    diagnoses: Sequence[tuple] = (),
    operations: Sequence[tuple] = (),
) -> Frame:
    """A frame from dict rows (one visit online, a test world): the columns :func:`visits_table` and
    :func:`lines_table` take."""
    vnames = [*VISIT_SCHEMA.names, "begntime", "endtime", "brdy", "death_date"]
    lnames = [*LINE_SCHEMA.names, "fee_ocur_time"]
    return Frame(
        visits_table(rows_to_columns(visits, vnames)),
        lines_table(rows_to_columns(lines, lnames)),
        codes_table(DIAGNOSIS_SCHEMA, diagnoses),
        codes_table(OPERATION_SCHEMA, operations),
    )
