"""The screening region's register and bookkeeping (筛查示例区): institutions, doctors, persons, a catalogue, and
a ledger that collects visits and fee lines as NumPy chunks before they become the audit view's raw tables.

Independent of :mod:`yibao.supervision.screening` by design (supervision.md §12: the injection and the
screening share no code path); what they share is the format of :mod:`yibao.supervision.frame`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.settlement.lines import product_fen
from yibao.supervision.frame import DIAGNOSIS_SCHEMA, OPERATION_SCHEMA, Frame, lines_table, visits_table

EPOCH = date(1970, 1, 1).toordinal()
DAY_S = 86_400
DEPTS = np.array(["A03", "A04", "A05", "A07", "A50"])  # 内科 外科 妇产科 儿科 中医科
DEPT_P = np.array([0.45, 0.2, 0.1, 0.15, 0.1])
MED_TYPES = np.array(["11", "21", "41"])  # 普通门诊, 普通住院, 定点药店购药
OUTPATIENT, INPATIENT, PHARMACY = 0, 1, 2

# inpatient diagnoses: code, relative frequency, mean LOS (days), drug pool size; J11/J18/J44 have winters
DIAGNOSES = [
    ("I63.900", 8, 12), ("I25.100", 7, 8), ("I10.x00", 6, 7), ("J18.900", 8, 9), ("J11.100", 3, 5),
    ("J44.100", 5, 10), ("E11.900", 6, 9), ("K35.800", 3, 6), ("K80.100", 3, 8), ("N18.500", 3, 10),
    ("M54.500", 5, 10), ("M17.900", 4, 12), ("S72.000", 2, 15), ("O80.000", 4, 4), ("C34.900", 2, 14),
    ("C50.900", 2, 10), ("I50.900", 4, 10), ("A09.900", 3, 4), ("K29.700", 4, 6), ("N39.000", 3, 6),
    ("R51.x00", 2, 5), ("G45.900", 3, 7), ("I48.x00", 3, 8), ("J20.900", 4, 6), ("Z51.100", 0, 2),
]  # fmt: skip
DX_CODES = np.array([d[0] for d in DIAGNOSES])
DX_FREQ = np.array([d[1] for d in DIAGNOSES], dtype=np.float64)
DX_LOS = np.array([d[2] for d in DIAGNOSES], dtype=np.float64)
CHEMO_DX = int(np.flatnonzero(DX_CODES == "Z51.100")[0])
FLU_DX = [int(np.flatnonzero(c == DX_CODES)[0]) for c in ("J11.100", "J18.900", "J44.100")]
# monthly multipliers of the winter diagnoses (Jan … Dec): a region-wide influenza season
WINTER = np.array(
    [
        [5.0, 3.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 4.0],
        [1.8, 1.5, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.6],
        [1.4, 1.3, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3],
    ]
)
OUT_DX = np.array(["J06.900", "K29.700", "I10.x00", "E11.900", "M54.500", "R51.x00", "L30.900", "H10.900"])


@dataclass(frozen=True)
class Catalogue:
    """Items: code, med_chrgitm_type, list_type, unit price (micro-yuan). Groups index rows by purpose."""

    code: np.ndarray
    chrg: np.ndarray
    list_type: np.ndarray
    pric: np.ndarray
    groups: dict[str, np.ndarray]


def make_catalogue(rng: np.random.Generator) -> Catalogue:
    spec = [  # group, count, chrgitm type, list type, price range (yuan)
        ("bed", 3, "01", "201", (30, 90)),
        ("consult", 2, "02", "201", (10, 30)),
        ("exam", 20, "03", "201", (60, 600)),
        ("lab", 30, "04", "201", (10, 150)),
        ("treat", 30, "05", "201", (20, 300)),
        ("nurse", 3, "07", "201", (15, 50)),
        ("material", 20, "08", "301", (5, 400)),
        ("drug", 150, "09", "101", (2, 200)),
        ("otc", 100, "09", "101", (8, 120)),
        ("chronic", 20, "09", "101", (30, 180)),
    ]
    code, chrg, ltype, pric, groups, n = [], [], [], [], {}, 0
    for name, count, ct, lt, (lo, hi) in spec:
        groups[name] = np.arange(n, n + count)
        code += [f"{lt}{ct}{name[:2].upper()}{i:05d}" for i in range(count)]
        chrg += [ct] * count
        ltype += [lt] * count
        pric.append(np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), count)), 2) * 1_000_000)
        n += count
    return Catalogue(
        np.array(code), np.array(chrg), np.array(ltype), np.concatenate(pric).astype(np.int64), groups
    )


@dataclass(frozen=True)
class Register:
    """Institutions (hospitals first, then pharmacies), doctors and persons."""

    year: int
    inst_code: np.ndarray
    inst_type: np.ndarray  # "1" hospital, "2" pharmacy
    inst_grade: np.ndarray  # 1/2/3; 0 pharmacies
    inst_weight: np.ndarray
    doc_code: np.ndarray
    doc_inst: np.ndarray
    doc_dept: np.ndarray
    doc_weight: np.ndarray
    psn_no: np.ndarray
    gend: np.ndarray
    brdy: np.ndarray  # day number
    death: np.ndarray  # day number, −1 alive
    age: np.ndarray  # on 1 January

    @property
    def day0(self) -> int:
        return date(self.year, 1, 1).toordinal() - EPOCH

    @property
    def hospitals(self) -> np.ndarray:
        return np.flatnonzero(self.inst_type == "1")

    @property
    def pharmacies(self) -> np.ndarray:
        return np.flatnonzero(self.inst_type == "2")


@dataclass
class Ledger:
    """Visits and lines in chunks; a visit's number is its position in the order visits were added."""

    visits: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    n_visits: int = 0

    def add_visits(self, person, inst, doctor, kind, ts, los, dx) -> np.ndarray:
        """Add visits (``kind`` OUTPATIENT/INPATIENT/PHARMACY; ``dx`` a code array); returns their numbers."""
        n = len(person)
        ids = np.arange(self.n_visits, self.n_visits + n)
        full = np.broadcast_to
        self.visits.append(
            {
                "visit": ids, "person": np.asarray(person), "inst": full(inst, n).copy(),
                "doctor": full(doctor, n).copy(), "kind": full(kind, n).copy(),
                "ts": np.asarray(ts, np.int64), "los": full(los, n).astype(np.int64), "dx": full(dx, n).copy(),
            }
        )  # fmt: skip
        self.n_visits += n
        return ids

    def add_lines(self, visit, item, day, cnt_e4, cat: Catalogue) -> None:
        """Fee lines: ``day`` is the fee day number, ``cnt_e4`` the quantity in 1e-4 units."""
        item = np.asarray(item)
        cnt = np.asarray(cnt_e4, np.int64)
        pric = cat.pric[item]
        self.lines.append(
            {"visit": np.asarray(visit), "item": item, "day": np.asarray(day, np.int64), "cnt": cnt, "pric": pric,
             "amt": product_fen(pric, cnt)}
        )  # fmt: skip

    def visit_table(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([c[k] for c in self.visits]) for k in self.visits[0]}

    def line_table(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([c[k] for c in self.lines]) for k in self.lines[0]}

    def compact(self) -> None:
        """One chunk of visits and one of lines (so that columns can be changed in place)."""
        if len(self.visits) > 1:
            self.visits = [self.visit_table()]
        if len(self.lines) > 1:
            self.lines = [self.line_table()]

    def drop_visits(self, dead: np.ndarray) -> None:
        """Remove visits (by number) and their lines; numbers are not reused."""
        dead_set = np.asarray(dead)
        self.visits = [{k: v[~np.isin(c["visit"], dead_set)] for k, v in c.items()} for c in self.visits]
        self.lines = [{k: v[~np.isin(c["visit"], dead_set)] for k, v in c.items()} for c in self.lines]


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def to_frame(reg: Register, ledger: Ledger, cat: Catalogue) -> Frame:
    """The raw tables of the audit view from the ledger, through :mod:`yibao.supervision.frame`'s own builders
    (they derive the day numbers and whatever else the view defines)."""
    v = ledger.visit_table()
    order = np.argsort(v["ts"], kind="stable")
    v = {k: a[order] for k, a in v.items()}
    p, kind, doctor, inst = v["person"], v["kind"], v["doctor"], v["inst"]
    begn = v["ts"].astype("datetime64[s]")
    end = np.where(kind == PHARMACY, np.datetime64("NaT"), begn + v["los"] * DAY_S)
    death = np.where(reg.death[p] >= 0, reg.death[p], np.iinfo(np.int64).min).astype("datetime64[D]")
    grade = reg.inst_grade[inst]
    visits = visits_table(
        {
            "mdtrt_id": _ids("MD", v["visit"], 9),
            "psn_no": reg.psn_no[p],
            "fixmedins_code": reg.inst_code[inst],
            "insutype": np.where(reg.age[p] >= 18, "310", "390"),
            "med_type": MED_TYPES[kind],
            "gend": reg.gend[p],
            "inst_grade": pa.array(grade.astype(np.int32), mask=grade == 0),
            "inst_type": reg.inst_type[inst],
            "dept_code": pa.array(reg.doc_dept[np.maximum(doctor, 0)], mask=doctor < 0),
            "atddr_no": pa.array(reg.doc_code[np.maximum(doctor, 0)], mask=doctor < 0),
            "dise_codg": pa.array(v["dx"], mask=kind == PHARMACY),
            "setl_id": _ids("ST", v["visit"], 9),
            "begntime": begn,
            "endtime": end,
            "brdy": reg.brdy[p].astype("datetime64[D]"),
            "death_date": death,
        }
    )
    ln = ledger.line_table()
    lorder = np.lexsort((ln["day"], ln["visit"]))
    ln = {k: a[lorder] for k, a in ln.items()}
    n = len(ln["day"])
    item = ln["item"]
    lines = lines_table(
        {
            "line_id": np.arange(1, n + 1, dtype=np.int64),
            "mdtrt_id": _ids("MD", ln["visit"], 9),
            "feedetl_sn": pc.cast(pa.array(np.arange(1, n + 1)), pa.string()),
            "med_list_codg": cat.code[item],
            "list_type": cat.list_type[item],
            "med_chrgitm_type": cat.chrg[item],
            "cnt": ln["cnt"],
            "pric": ln["pric"],
            "amt": ln["amt"],
            "fee_ocur_time": (ln["day"] * DAY_S + 10 * 3600).astype("datetime64[s]"),
        }
    )
    main = pc.is_valid(visits["dise_codg"])
    diagnoses = pa.table(
        {
            "mdtrt_id": visits["mdtrt_id"],
            "dise_codg": visits["dise_codg"],
            "main": pa.array(np.ones(len(p), np.int32)),
        }
    ).filter(main)
    return Frame(visits, lines, diagnoses.cast(DIAGNOSIS_SCHEMA), OPERATION_SCHEMA.empty_table())
