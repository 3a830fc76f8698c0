"""The audit view's raw tables as integer-coded NumPy arrays (就诊与明细数组), the one input every detector reads.

Screening takes the raw tables of :mod:`yibao.supervision.frame` (a :class:`Frame`, or a directory of
``<table>.parquet`` files written by the snapshot exporter or ``yibao screening generate``) and never the
database. Strings become codes here, once: ``person``, ``inst``, ``doctor``, ``item`` … index into the sorted
``persons``, ``insts``, ``doctors``, ``items``; a missing code is −1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yibao.errors import InputError
from yibao.supervision.frame import TABLES, Frame

NO_DAY = np.iinfo(np.int32).max  # a death day that never comes
DAY_S = 86_400


# the columns screening reads; the rest of the view's columns may be present or not
VISIT_COLUMNS = (
    "mdtrt_id", "psn_no", "fixmedins_code", "med_type", "begn_ts", "begn_day", "end_day", "brdy_day",
    "death_day", "inst_grade", "inst_type", "dept_code", "atddr_no", "dise_codg",
)  # fmt: skip
LINE_COLUMNS = ("mdtrt_id", "med_list_codg", "med_chrgitm_type", "fee_day", "cnt", "amt")
READ = {"raw_visits": VISIT_COLUMNS, "raw_lines": LINE_COLUMNS}


def read_frame(source: Frame | Path | str) -> Frame:
    """A frame as given, or the columns screening reads from ``<dir>/raw_visits.parquet`` and
    ``<dir>/raw_lines.parquet``; a missing directory, file or column is one InputError."""
    if isinstance(source, Frame):
        return source
    folder = Path(source)
    if not folder.is_dir():
        raise InputError(f"{folder}: 不是目录 (not a directory of raw tables)")
    tables = {name: schema.empty_table() for name, schema in TABLES.items()}
    for name, columns in READ.items():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise InputError(f"{path}: 缺少原始表 (missing raw table {name})")
        try:
            names = pq.read_schema(path).names
            missing = [c for c in columns if c not in names]
            if missing:
                raise InputError(f"{path}: 缺少列 (missing columns) {', '.join(missing[:5])}")
            table = pq.read_table(path, columns=list(columns))
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: 无法读取 (unreadable parquet): {str(exc)[:80]}") from None
        schema = TABLES[name]
        tables[name] = table.cast(pa.schema([schema.field(c) for c in columns]))
    return Frame(**tables)


def codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int32 codes into the sorted unique values, the values); nulls get −1."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    uniq = pc.unique(arr.drop_null() if arr.null_count else arr)
    uniq = pc.take(uniq, pc.array_sort_indices(uniq))
    idx = pc.index_in(arr, value_set=uniq)
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int32), np.asarray(
        uniq.to_pylist(), object
    )


def _int(column, fill: int) -> np.ndarray:
    return pc.fill_null(column, fill).to_numpy(zero_copy_only=False).astype(np.int64)


@dataclass(frozen=True)
class Claims:
    """Visits (one row each) and fee lines (with the index of their visit), as arrays."""

    # visits
    person: np.ndarray
    persons: np.ndarray
    inst: np.ndarray
    insts: np.ndarray
    inst_type: np.ndarray  # per institution: "1" 医疗机构, "2" 零售药店
    inst_grade: np.ndarray  # per institution: 1/2/3, 0 unknown
    doctor: np.ndarray
    doctors: np.ndarray
    dept: np.ndarray
    depts: np.ndarray
    dx: np.ndarray  # principal diagnosis, ICD-10 3-character category
    dxs: np.ndarray
    inpatient: np.ndarray  # med_type 2x
    begn_ts: np.ndarray
    begn_day: np.ndarray
    end_day: np.ndarray  # = begn_day for a visit without a discharge day
    los: np.ndarray  # days from admission to discharge (0 for a one-day visit)
    begn_month: np.ndarray
    death_day: np.ndarray  # NO_DAY: alive
    age: np.ndarray
    medfee: np.ndarray  # fen: sum of the visit's line amounts
    # lines
    line_visit: np.ndarray
    line_item: np.ndarray
    items: np.ndarray
    line_chrg: np.ndarray  # med_chrgitm_type code
    chrgs: np.ndarray
    line_day: np.ndarray
    line_cnt: np.ndarray  # 1e-4 units
    line_amt: np.ndarray  # fen

    @property
    def n_visits(self) -> int:
        return len(self.person)

    @property
    def pharmacy_visit(self) -> np.ndarray:
        return self.inst_type[self.inst] == "2"

    def in_year(self, year: int) -> np.ndarray:
        return (self.begn_month >= year * 12) & (self.begn_month < year * 12 + 12)


def load_claims(frame: Frame) -> Claims:
    """The frame as arrays; lines whose visit is not in ``raw_visits`` are dropped."""
    v, ln = frame.raw_visits, frame.raw_lines
    inst, insts = codes(v["fixmedins_code"])
    first = np.full(len(insts), -1, np.int64)
    first[inst[::-1]] = np.arange(len(inst))[
        ::-1
    ]  # each institution's first visit carries its type and grade
    itype = np.asarray(v["inst_type"].to_pylist(), object)[first] if len(insts) else np.array([], object)
    grade = _int(v["inst_grade"], 0)[first] if len(insts) else np.array([], np.int64)
    med_type = pc.fill_null(v["med_type"], "")
    begn_day = _int(v["begn_day"], 0)
    end_day = _int(v["end_day"], -1)
    end_day = np.where(end_day < 0, begn_day, end_day)
    age = (begn_day - _int(v["brdy_day"], 0)) * 10_000 // 3_652_425  # whole years of 365.2425 days
    line_visit = pc.fill_null(pc.index_in(ln["mdtrt_id"], value_set=v["mdtrt_id"].combine_chunks()), -1)
    line_visit = line_visit.to_numpy(zero_copy_only=False).astype(np.int64)
    keep = line_visit >= 0
    ln = ln.filter(pa.array(keep)) if not keep.all() else ln
    line_visit = line_visit[keep]
    line_amt = _int(ln["amt"], 0)
    medfee = np.bincount(line_visit, weights=line_amt, minlength=len(v)).astype(np.int64)
    person, persons = codes(v["psn_no"])
    doctor, doctors = codes(v["atddr_no"])
    dept, depts = codes(v["dept_code"])
    dx, dxs = codes(pc.utf8_slice_codeunits(v["dise_codg"], 0, 3))
    item, items = codes(ln["med_list_codg"])
    chrg, chrgs = codes(ln["med_chrgitm_type"])
    return Claims(
        person=person,
        persons=persons,
        inst=inst,
        insts=insts,
        inst_type=itype,
        inst_grade=grade,
        doctor=doctor,
        doctors=doctors,
        dept=dept,
        depts=depts,
        dx=dx,
        dxs=dxs,
        inpatient=pc.starts_with(med_type, "2").to_numpy(zero_copy_only=False),
        begn_ts=_int(v["begn_ts"], 0),
        begn_day=begn_day,
        end_day=end_day,
        los=np.maximum(end_day - begn_day, 0),
        begn_month=begn_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12,
        death_day=_int(v["death_day"], NO_DAY),
        age=age,
        medfee=medfee,
        line_visit=line_visit,
        line_item=item,
        items=items,
        line_chrg=chrg,
        chrgs=chrgs,
        line_day=_int(ln["fee_day"], 0),
        line_cnt=_int(ln["cnt"], 0),
        line_amt=line_amt,
    )


def group_keys(*cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index per row, first row of each group) of the combination of integer columns."""
    if not cols or cols[0].size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cols = tuple(np.asarray(c, np.int64) for c in cols)
    spans = [int(c.max()) - int(c.min()) + 1 for c in cols]
    if np.prod(np.asarray(spans, dtype=np.float64)) < 2.0**62:  # one mixed-radix key: a fast 1-D unique
        key = np.zeros(cols[0].size, np.int64)
        for c, span in zip(cols, spans, strict=True):
            key = key * span + (c - c.min())
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_index=True, return_inverse=True)
    return inverse.ravel(), first
