"""Benchmark of 事后审核 (run by hand, not in CI): the whole rule library over a generated year of settled fee
lines in DuckDB, without a database. Goal (issue 23): 10,000,000 lines in ≤ 60 s and ≤ 4 GB on 2 cores.

    .venv/bin/python bench/audit.py [--lines 10000000] [--seed 2025] [--threads 2] [--memory 3GB]
                                    [--data DIR] [--keep] [--rules regions/990100/rules]

A year of the demo region is generated with numpy straight into the audit view's raw tables
(:mod:`yibao.supervision.frame`) as Parquet, in a child process (so the figures below are the audit's own):
about 200,000 persons (sex, birth day, insurance type, a few deaths), a visit mix like the demo's (普通门诊
60 %, 门诊慢特病 15 %, 购药 17 %, 住院 4 % …, persons' visit counts skewed so some visit often), the
region's institutions with their grades and departments, ICD-10 diagnoses and ICD-9-CM3 procedures, and
fee lines over the demo catalogue (a 诊查费 per outpatient visit, a bed, nursing and ward-round line per
inpatient day, a surgery for a stay with a procedure, then drugs, herbs, examinations, tests, treatments
and materials, the cheaper the more common, the codes the library limits rarely), 1 % over the price list,
a few dated after discharge. The rule library is the demo region's (``regions/990100/rules``) when it
loads, else a generated one with a rule of every kind over the catalogue.

Prints the lines, visits, findings (per rule kind, with each statement's seconds), the load and run seconds
and the peak RSS (``resource.getrusage``) of the audit; ``--data`` reuses a generated folder.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from yibao.supervision.frame import DIAGNOSIS_SCHEMA, OPERATION_SCHEMA, lines_table, visits_table

REGION = Path(__file__).resolve().parents[1] / "regions" / "990100"
YEAR_START = np.datetime64("2025-01-01", "D")
MED_TYPES = np.array(["11", "13", "14", "21", "22", "41"])
MED_SHARES = np.array([0.60, 0.04, 0.15, 0.035, 0.005, 0.17])
# the outpatient, pharmacy and inpatient line mixes: (list_type, charge types) pools and their shares
OUT_POOLS = [(("101",), 0.55), (("102",), 0.10), (("201", "03", "04"), 0.22), (("201", "05"), 0.08),
             (("301",), 0.05)]  # fmt: skip
PHARMACY_POOLS = [(("101",), 0.8), (("102",), 0.2)]
IN_POOLS = [(("101",), 0.50), (("102",), 0.05), (("201", "03", "04"), 0.20), (("201", "05", "13", "14"), 0.15),
            (("301",), 0.10)]  # fmt: skip
CHUNK_VISITS = 100_000


# --- reference data -----------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _micro(text: str) -> int:
    whole, _, frac = text.strip().partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


class Reference:
    """The demo region's catalogue, institutions, departments and codes as arrays."""

    def __init__(self, limited: frozenset[str] = frozenset(), price_list: dict | None = None) -> None:
        self.limited = limited
        cat = _rows(REGION / "catalogue" / "catalogue.csv")
        self.code = np.array([r["med_list_codg"] for r in cat])
        self.list_type = np.array([r["list_type"] for r in cat])
        self.chrg = np.array([r["med_chrgitm_type"] for r in cat])
        self.pric = np.array([_micro(r["pric"] or "1") for r in cat], dtype=np.int64)
        self.uplmt = np.array([_micro(r["pric_uplmt_amt"]) if r["pric_uplmt_amt"] else -1 for r in cat])
        # the price list's maximum per code and institution grade (1–3; -1: none): what hospitals charge
        self.max_pric = np.full((len(cat), 4), -1, dtype=np.int64)
        where = {c: i for i, c in enumerate(self.code)}
        for (code, grade), price in (price_list or {}).items():
            if code in where:
                self.max_pric[where[code], [grade] if grade else [1, 2, 3]] = price
        inst = _rows(REGION / "institutions.csv")
        self.inst = np.array([r["fixmedins_code"] for r in inst])
        self.inst_type = np.array([r["fixmedins_type"] for r in inst])
        self.grade = np.array([int(r["dedc_hosp_lv"] or 1) for r in inst], dtype=np.int32)
        depts: dict[str, list[str]] = {}
        for r in _rows(REGION / "departments.csv"):
            depts.setdefault(r["fixmedins_code"], []).append(r["dept_code"])
        self.depts = [np.array(depts.get(c, [""])) for c in self.inst]
        self.icd10 = np.array([r["code"] for r in _rows(REGION / "codes" / "icd10.csv")])
        self.icd9 = np.array([r["code"] for r in _rows(REGION / "codes" / "icd9cm3.csv")])
        self.hospitals = np.flatnonzero(self.inst_type == "1")
        self.pharmacies = np.flatnonzero(self.inst_type == "2")
        self._popular: dict[tuple[str, ...], np.ndarray] = {}

    def pool(self, spec: tuple[str, ...]) -> np.ndarray:
        """Catalogue indices of a list type (and charge types, when given)."""
        mask = self.list_type == spec[0]
        if len(spec) > 1:
            mask &= np.isin(self.chrg, spec[1:])
        return np.flatnonzero(mask)

    def popular(self, spec: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """A pool's indices and how often each is used: Zipf by rank, the cheaper ranked first give or take (a
        fixed noise); the codes with a payment limit (知识点 of the library: restricted drugs and items are
        prescribed less, and mostly within their limits) a tenth as often."""
        if spec not in self._popular:
            idx = self.pool(spec)
            noise = np.random.default_rng(len(idx)).normal(0, 1.0, len(idx))
            idx = idx[np.argsort(np.log(np.maximum(self.pric[idx], 1)) + noise)]
            weight = 1.0 / np.arange(1, len(idx) + 1) ** 0.9
            weight[np.isin(self.code[idx], sorted(self.limited))] *= 0.1
            self._popular[spec] = (idx, weight / weight.sum())
        return self._popular[spec]

    def daily(self, chrg: str) -> np.ndarray:
        return np.flatnonzero((self.list_type == "201") & (self.chrg == chrg))


# --- the year -----------------------------------------------------------------------------------------------


def _zipf(rng: np.random.Generator, n: int, size: int, a: float = 1.1) -> np.ndarray:
    """Indices 0..n-1, the first ones far more often (common diagnoses)."""
    weights = 1.0 / np.arange(1, n + 1) ** a
    return rng.choice(n, size=size, p=weights / weights.sum())


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def persons(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    age = np.concatenate([rng.integers(0, 15, int(n * 0.18)), rng.integers(15, 60, int(n * 0.63))])
    age = np.concatenate([age, rng.integers(60, 96, n - len(age))])
    rng.shuffle(age)
    brdy = YEAR_START - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    newborn = rng.random(n) < 0.005  # born during the year
    brdy[newborn] = YEAR_START + rng.integers(0, 330, newborn.sum())
    death = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    dead = rng.random(n) < 0.003
    death[dead] = YEAR_START + rng.integers(30, 365, dead.sum())
    return {
        "gend": np.where(rng.random(n) < 0.5, "1", "2"),
        "brdy": brdy.astype("datetime64[D]"),
        "death": death,
        "insutype": np.where(rng.random(n) < 0.35, "310", "390"),
        "weight": rng.gamma(0.6, 1.0, n),
    }


def visit_chunk(rng, ref: Reference, people: dict, first: int, n: int) -> dict:
    """``n`` visits (ids from ``first``): who, where, when, how long, which diagnosis."""
    p = people["weight"]
    who = rng.choice(len(p), size=n, p=p / p.sum())
    kind = MED_TYPES[rng.choice(len(MED_TYPES), size=n, p=MED_SHARES)]
    inpatient = np.char.startswith(kind, "2")
    where = np.where(kind == "41", rng.choice(ref.pharmacies, n), rng.choice(ref.hospitals, n))
    day = rng.integers(0, 365, n)
    begn = (YEAR_START + day).astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 9 * 3600, n))
    los = np.where(inpatient, 1 + np.minimum(rng.lognormal(2.0, 0.6, n).astype(np.int64), 90), 0)
    died = people["death"][who]
    after = ~np.isnat(died) & (rng.random(n) < 0.02)  # a few visits after the person's recorded death
    begn[after] = (died[after] + rng.integers(1, 20, after.sum())).astype("datetime64[s]") + 9 * 3600
    end = np.where(inpatient, begn + los * 86400 + 3600, np.datetime64("NaT"))
    dx = np.where(kind == "41", "", ref.icd10[_zipf(rng, len(ref.icd10), n)])
    dept = np.array([ref.depts[i][rng.integers(0, len(ref.depts[i]))] for i in where])
    ops = np.where(inpatient & (rng.random(n) < 0.4), ref.icd9[rng.integers(0, len(ref.icd9), n)], "")
    ids = np.arange(first, first + n)
    return {
        "ids": ids, "who": who, "kind": kind, "inpatient": inpatient, "where": where, "begn": begn,
        "end": end.astype("datetime64[s]"), "los": los, "dx": dx, "dept": dept, "ops": ops,
    }  # fmt: skip


def visits_of(v: dict, ref: Reference, people: dict) -> pa.Table:
    who = v["who"]
    ids = _strings("M", v["ids"])
    return visits_table(
        {
            "mdtrt_id": ids,
            "psn_no": _strings("P", who),
            "fixmedins_code": ref.inst[v["where"]],
            "insutype": people["insutype"][who],
            "med_type": v["kind"],
            "begntime": v["begn"],
            "endtime": v["end"],
            "gend": people["gend"][who],
            "brdy": people["brdy"][who],
            "death_date": people["death"][who],
            "inst_grade": ref.grade[v["where"]],
            "inst_type": ref.inst_type[v["where"]],
            "dept_code": v["dept"],
            "dise_codg": pa.array(v["dx"]).cast(pa.string()),
            "oprn_codg": pa.array(np.where(v["ops"] == "", None, v["ops"]), pa.string()),
            "setl_id": _strings("S", v["ids"]),
        }
    )


def _pick(rng, ref: Reference, pools, size: int) -> np.ndarray:
    """Catalogue indices from the pools by their shares, within a pool by :meth:`Reference.popular`."""
    which = rng.choice(len(pools), size=size, p=[share for _, share in pools])
    out = np.empty(size, dtype=np.int64)
    for i, (spec, _) in enumerate(pools):
        idx, p = ref.popular(spec)
        mask = which == i
        out[mask] = idx[rng.choice(len(idx), size=int(mask.sum()), p=p)]
    return out


def lines_of(rng, v: dict, ref: Reference, first_line: int) -> pa.Table:
    """The visits' fee lines: per visit a 诊查费 (outpatient) or daily bed, nursing and ward-round lines
    (inpatient), then items of its pools; days spread over a stay."""
    n = len(v["ids"])
    outpatient = ~v["inpatient"] & (v["kind"] != "41")
    pharmacy = v["kind"] == "41"
    k_out = np.where(outpatient, rng.poisson(5.5, n), 0) + np.where(pharmacy, 1 + rng.poisson(3.0, n), 0)
    k_in = np.where(v["inpatient"], rng.poisson(7.0 * np.maximum(v["los"], 1)), 0)
    visit_of, codes, offset = [], [], []
    # outpatient 诊查费, one per visit
    exam = ref.pool(("201", "02"))
    ov = np.flatnonzero(outpatient)
    (
        visit_of.append(ov),
        codes.append(exam[rng.integers(0, len(exam), len(ov))]),
        offset.append(np.zeros(len(ov), np.int64)),
    )
    # daily lines of a stay: bed (01), nursing (07), ward round (02)
    stays = np.flatnonzero(v["inpatient"])
    days = np.maximum(v["los"][stays], 1)
    stay_rep = np.repeat(stays, days)
    day_no = np.arange(days.sum()) - np.repeat(np.cumsum(days) - days, days)
    for chrg in ("01", "07", "02"):
        pool = ref.daily(chrg)
        pick = pool[rng.integers(0, len(pool), len(stays))]  # one code per stay
        visit_of.append(stay_rep), codes.append(np.repeat(pick, days)), offset.append(day_no)
    # a surgery (手术费) for a stay with a procedure
    surgery = ref.pool(("201", "06"))
    operated = np.flatnonzero(v["ops"] != "")
    visit_of.append(operated), codes.append(surgery[rng.integers(0, len(surgery), len(operated))])
    offset.append(np.minimum(1, v["los"][operated]))
    # items
    for mask, count, pools in ((outpatient, k_out, OUT_POOLS), (pharmacy, k_out, PHARMACY_POOLS),
                               (v["inpatient"], k_in, IN_POOLS)):  # fmt: skip
        idx = np.flatnonzero(mask)
        rep = np.repeat(idx, count[idx])
        visit_of.append(rep)
        codes.append(_pick(rng, ref, pools, len(rep)))
        offset.append(rng.integers(0, np.maximum(v["los"][rep], 0) + 1))
    visit_of, codes, offset = np.concatenate(visit_of), np.concatenate(codes), np.concatenate(offset)
    late = v["inpatient"][visit_of] & (rng.random(len(codes)) < 0.0005)  # billed after discharge
    offset = offset + late * (v["los"][visit_of] + 1)
    order = np.argsort(visit_of, kind="stable")
    visit_of, codes, offset = visit_of[order], codes[order], offset[order]
    m = len(codes)
    drug = np.isin(ref.list_type[codes], ("101", "102"))
    cnt = np.where(drug, rng.choice([1, 1, 1, 2, 2, 3, 4, 6], size=m), 1).astype(np.int64) * 10_000
    cap = ref.uplmt[codes]
    listed = ref.max_pric[codes, ref.grade[v["where"]][visit_of]]
    pric = np.where(listed > 0, np.minimum(ref.pric[codes], listed), ref.pric[codes])  # the price list holds
    over = (listed > 0) & (rng.random(m) < 0.01)  # but not always
    pric[over] = listed[over] + listed[over] // 5
    day0 = v["begn"].astype("datetime64[D]")[visit_of]
    fee_time = (day0 + offset).astype("datetime64[s]") + 10 * 3600
    starts = np.r_[0, np.flatnonzero(np.diff(visit_of)) + 1]
    sn = np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m])) + 1
    return lines_table(
        {
            "line_id": np.arange(first_line, first_line + m, dtype=np.int64),
            "mdtrt_id": _strings("M", v["ids"][visit_of]),
            "feedetl_sn": pc.cast(pa.array(sn), pa.string()),
            "med_list_codg": ref.code[codes],
            "list_type": ref.list_type[codes],
            "med_chrgitm_type": ref.chrg[codes],
            "fee_ocur_time": fee_time,
            "cnt": cnt,
            "pric": pric,
            "amt": (pric * cnt + 50_000_000) // 100_000_000,
            "pric_uplmt": pa.array(np.where(cap > 0, cap, 0), mask=cap <= 0),
        }
    )


def _codes(schema: pa.Schema, ids: pa.Array, codes: np.ndarray, main: np.ndarray) -> pa.Table:
    keep = codes != ""
    return pa.table(
        {
            "mdtrt_id": ids.filter(pa.array(keep)),
            schema.names[1]: codes[keep],
            "main": main[keep].astype(np.int32),
        },
        schema=schema,
    )


def _cut(lines: pa.Table, visits: pa.Table, room: int) -> tuple[pa.Table, pa.Table]:
    """The chunk's visits up to the one whose lines reach ``room`` lines (that one included), and their lines."""
    ids = lines["mdtrt_id"].combine_chunks()
    last = ids[min(room, len(ids)) - 1]
    position = pc.index(visits["mdtrt_id"], last).as_py()
    visits = visits.slice(0, position + 1)
    lines = lines.filter(pc.is_in(ids, value_set=visits["mdtrt_id"].combine_chunks()))
    return lines, visits


def generate(
    out: Path, target_lines: int, seed: int, limited: frozenset[str], price_list: dict
) -> dict[str, int]:
    """Write ``raw_visits``, ``raw_lines``, ``diagnoses``, ``operations`` for about ``target_lines`` lines;
    ``limited``: the codes the library limits (used less); ``price_list``: (code, grade) → maximum price."""
    rng = np.random.default_rng(seed)
    ref = Reference(limited, price_list)
    n_visits = max(target_lines // 10, 1000)
    people = persons(rng, max(n_visits // 5, 100))
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        "raw_visits": None, "raw_lines": None, "diagnoses": pq.ParquetWriter(out / "diagnoses.parquet", DIAGNOSIS_SCHEMA),
        "operations": pq.ParquetWriter(out / "operations.parquet", OPERATION_SCHEMA),
    }  # fmt: skip
    counts = Counter()
    first = 0
    while counts["lines"] < target_lines:
        n = min(CHUNK_VISITS, max(1000, (target_lines - counts["lines"]) // 10 + 1))
        v = visit_chunk(rng, ref, people, first, n)
        visits = visits_of(v, ref, people)
        lines = lines_of(rng, v, ref, counts["lines"] + 1)
        last_chunk = counts["lines"] + lines.num_rows >= target_lines
        if last_chunk:  # cut at the first visit that reaches the target (whole visits only)
            lines, visits = _cut(lines, visits, target_lines - counts["lines"])
        for name, table in (("raw_visits", visits), ("raw_lines", lines)):
            if writers[name] is None:
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
            writers[name].write_table(table)
        ids = visits["mdtrt_id"].combine_chunks()
        dx = visits["dise_codg"].to_numpy(zero_copy_only=False).astype(str)
        writers["diagnoses"].write_table(_codes(DIAGNOSIS_SCHEMA, ids, dx, np.ones(len(dx))))
        second = np.where(
            (dx != "") & (rng.random(len(dx)) < 0.3), ref.icd10[_zipf(rng, len(ref.icd10), len(dx))], ""
        )
        writers["diagnoses"].write_table(_codes(DIAGNOSIS_SCHEMA, ids, second, np.zeros(len(dx))))
        ops = visits["oprn_codg"].fill_null("").to_numpy(zero_copy_only=False).astype(str)
        writers["operations"].write_table(_codes(OPERATION_SCHEMA, ids, ops, np.ones(len(ops))))
        counts["visits"] += visits.num_rows
        counts["lines"] += lines.num_rows
        first += n
        if last_chunk:
            break
    for w in writers.values():
        w.close()
    counts["persons"] = len(people["gend"])
    return dict(counts)


# --- the library --------------------------------------------------------------------------------------------


def generated_library():
    """A rule of every kind over the demo catalogue (when the region's library does not load)."""
    from yibao.supervision.kinds import KINDS
    from yibao.supervision.library_files import parse_rule

    ref = Reference()
    drug, item = ref.code[ref.pool(("101",))], ref.code[ref.pool(("201", "03", "04"))]
    rows = {
        "sex_limit": [{"code": c, "gend": "2"} for c in drug[:10]],
        "age_limit": [{"code": c, "max_age": "17", "mode": "forbid"} for c in drug[10:20]],
        "insutype_limit": [{"code": c, "insutype": "390"} for c in drug[20:25]],
        "level_limit": [{"code": c, "min_grade": "3"} for c in drug[25:35]],
        "visit_type_limit": [{"code": c, "med_type": "2"} for c in item[:5]],
        "dept_limit": [{"code": c, "dept_prefix": "A03"} for c in item[5:10]],
        "indication": [{"code": c, "dise_prefix": "I"} for c in drug[35:45]],
        "max_quantity": [{"code": c, "max_cnt": "3", "period": "visit"} for c in drug[45:60]],
        "course_days": [{"code": c, "max_days": "7"} for c in drug[60:70]],
        "pair_conflict": [
            {"code": a, "with_code": b, "scope": "day"} for a, b in zip(item[10:20], item[20:30], strict=True)
        ],
        "bundle_split": [{"bundle": "B1", "code": c, "min_parts": "3"} for c in item[30:36]],
        "cycle_frequency": [{"code": c, "cycle_days": "30", "max_in_cycle": "1"} for c in item[:10]],
        "diagnosis_sex": [{"dise_prefix": "N4", "gend": "1"}, {"dise_prefix": "O", "gend": "2"}],
        "operation_sex": [{"oprn_prefix": "60.", "gend": "1"}],
        "diagnosis_age": [{"dise_prefix": "P", "unit": "d", "max_age": "28"}],
        "visit_frequency": [{"med_type": "1"}],
        "bed_days": [{"code": c} for c in ref.code[ref.daily("01")]],
        "idle_stay": [{"chrgitm_type": "01"}, {"chrgitm_type": "07"}, {"chrgitm_type": "02"}],
        "exam_dominated_stay": [{"chrgitm_type": "03"}, {"chrgitm_type": "04"}],
        "ratio_indicator": [{"chrgitm_type": "09"}],
    }
    params = {"visit_frequency": {"max_visits": 4}, "exam_dominated_stay": {"min_share_bp": "0.6"}}
    problems: list[str] = []
    rules = {}
    for i, kind in enumerate(KINDS):
        item_ = {"rule_code": f"BENCH{i:02d}", "name": KINDS[kind].title, "kind": kind, "result_type": "可疑",
                 "sev_deg": "2", "effective_from": "2020-01-01", "knowledge": rows.get(kind),
                 "params": params.get(kind, {}), "stages": ["post"]}  # fmt: skip
        rule = parse_rule(item_, "bench", None, problems)
        if rule is not None:
            rules[rule.rule_code] = rule
    if problems:
        raise SystemExit("\n".join(problems))
    from yibao.supervision.library import Library

    return Library(rules, "bench")


def library(path: Path | None):
    from yibao.supervision.library_files import load_library

    try:
        return load_library(path or REGION / "rules"), str(path or REGION / "rules")
    except Exception as exc:  # the region's library is another change's: measure something regardless
        print(f"({path or REGION / 'rules'} does not load: {str(exc).splitlines()[0]}; a generated library)")
        return generated_library(), "generated"


# --- the run ------------------------------------------------------------------------------------------------


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process, every thread (the machine may be shared: wall time alone misleads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def audit(data: Path, lib, threads: int, memory: str) -> None:
    from yibao.supervision.batch import BatchEngine

    t0, c0 = time.perf_counter(), _cpu()
    engine = BatchEngine(lib, threads=threads, memory_limit=memory)
    engine.load(data)
    loaded, loaded_cpu = time.perf_counter() - t0, _cpu() - c0
    print(f"load (views materialised): {loaded:.1f} s ({loaded_cpu:.1f} s CPU), RSS {_rss_mb():,.0f} MB")
    timings: list[tuple[str, float, float]] = []
    last = [time.perf_counter(), _cpu()]

    def step(label: str) -> None:
        now, cpu = time.perf_counter(), _cpu()
        timings.append((label, now - last[0], cpu - last[1]))
        last[:] = [now, cpu]

    findings = engine.run(step)  # the last step's end: the hit rows' columns, then the findings assembled
    assembled, assembled_cpu = time.perf_counter() - last[0], _cpu() - last[1]
    total, total_cpu = time.perf_counter() - t0, _cpu() - c0
    per_rule = Counter(f.rule_code for f in findings)
    per_kind = Counter()
    for code, n in per_rule.items():
        per_kind[lib.rules[code].kind] += n
    print(f"  {'statement':<22} {'wall':>7} {'CPU':>7} {'findings':>9}")
    for label, seconds, cpu in sorted(timings, key=lambda x: -x[2]):
        n = per_rule[label] if label in lib.rules else per_kind[label]
        print(f"  {label:<22} {seconds:6.2f}s {cpu:6.2f}s {n:>9,}")
    lines_at_stake = sum(len(f.lines) for f in findings)
    print(
        f"  {'(findings assembled)':<22} {assembled:6.2f}s {assembled_cpu:6.2f}s {lines_at_stake:>9,} lines at stake"
    )
    lines = pq.ParquetFile(data / "raw_lines.parquet").metadata.num_rows
    visits = pq.ParquetFile(data / "raw_visits.parquet").metadata.num_rows
    billed = engine.con.execute("SELECT SUM(amt) FROM raw_lines").fetchone()[0]
    at_stake = sum(f.vola_amt for f in findings)
    print(
        f"\n{lines:,} lines, {visits:,} visits, {len(engine.library.rules)} rules: {len(findings):,} findings "
        f"in {len({f.mdtrt_id for f in findings if f.mdtrt_id}):,} visits, {at_stake / 100:,.2f} yuan at stake "
        f"of {billed / 100:,.2f} billed ({at_stake / billed:.1%}); {total:.1f} s "
        f"(load {loaded:.1f} s, rules {total - loaded - assembled:.1f} s, findings {assembled:.1f} s; "
        f"{total_cpu:.1f} CPU-seconds); peak RSS {_rss_mb():,.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", default="3GB", help="DuckDB memory_limit")
    ap.add_argument("--data", type=Path, help="a folder generated before (or to generate into and keep)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    ap.add_argument("--rules", type=Path, help="rule folder (default: regions/990100/rules)")
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    lib, source = library(args.rules)
    print(
        f"library: {source}, {len(lib.rules)} rules, {sum(len(r.knowledge) for r in lib.rules.values())} knowledge rows"
    )
    limited = frozenset(
        k.values["code"]
        for r in lib.rules.values()
        for k in r.knowledge
        if r.kind not in ("cycle_frequency", "price_cap") and k.values.get("code")
    )
    price_list = {
        (k.values["code"], k.values.get("inst_grade")): int(k.values["max_pric"])
        for r in lib.rules.values()
        if r.kind == "price_cap"
        for k in r.knowledge
    }
    tmp = None
    data = args.data
    if data is None or not (data / "raw_lines.parquet").exists():
        if data is None:
            tmp = Path(tempfile.mkdtemp(prefix="yibao-bench-audit-"))
            data = tmp
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(1) as pool:  # the generator's memory is not the audit's
            counts = pool.apply(generate, (data, args.lines, args.seed, limited, price_list))
        print(
            f"generated {counts['lines']:,} lines, {counts['visits']:,} visits, {counts['persons']:,} persons "
            f"in {time.perf_counter() - t0:.1f} s (peak RSS {_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB) → {data}"
        )
    try:
        audit(data, lib, args.threads, args.memory)
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
