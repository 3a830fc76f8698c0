"""Benchmark: 3102 事中分析 of a 50-line visit through the facade, and what the inline checks add to 2204.

A fresh database gets the bench world (``_his.build_world``), the demo catalogue and a rule library: the demo
region's (``regions/990100/rules``) when it loads, else a generated one of about 60 rules of every online kind
over the demo catalogue. One insured person has three settled visits in the month before (the history the
rules read); a registered visit is then analysed N times by 3102 with 50 orders (drugs and items of the demo
catalogue, some of them breaking a rule), in process through the facade's own route
(``facade_route.answer``: on PostgreSQL a greenlet on the event loop, as the server runs it; no HTTP), one
call at a time. Prints the p50 / p95 / p99 latency and the findings per call; then the latency of 2204 (10
lines on a fresh visit) with the region's inline checks on and off.

    .venv/bin/python bench/audit_online.py [--db postgresql|sqlite] [--calls 2000] [--uploads 500] [--generated]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _his import REPO, Client, build_world, drop_database, fresh_database, machine_shares, machine_ticks

PERSON, INSTITUTION = "B0000001", "H99010200001"  # a 职工 with an account; 医院0 (二级)
CATALOGUE = REPO / "regions" / "990100" / "catalogue" / "catalogue.csv"


class _InProcess:
    """The HIS's connection, answered by the facade's route in this process (no HTTP)."""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        from starlette.datastructures import Headers

        from yibao.api import facade_route

        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return await facade_route.answer(body, Headers(raw=raw))

    def close(self) -> None:
        pass


# --- the library --------------------------------------------------------------------------------------------


def _catalogue() -> list[dict]:
    import csv

    with CATALOGUE.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def generated_library(folder: Path, rows: list[dict]) -> Path:
    """About 60 rules of every online kind over the demo catalogue's codes, as one rule file (JSON is YAML)."""
    drugs = [r["med_list_codg"] for r in rows if r["list_type"].startswith("1")]
    items = [r["med_list_codg"] for r in rows if not r["list_type"].startswith("1")]
    rules: list[dict] = []

    def rule(kind: str, n: int, knowledge=None, result="违规", **extra) -> None:
        rules.append(
            {
                "rule_code": f"GZB{len(rules) + 1:03d}",
                "name": f"{kind} {n}",
                "kind": kind,
                "result_type": result,
                "stages": ["pre", "mid", "post"],
                "effective_from": "2020-01-01",
                "legal_basis": "《医疗保障基金使用监督管理条例》第十五条",
                **({"knowledge": knowledge} if knowledge is not None else {}),
                **extra,
            }
        )

    for n in range(8):
        rule("sex_limit", n, [{"code": c, "gend": "2"} for c in drugs[n * 3 : n * 3 + 3]])
    for n in range(5):
        rule(
            "age_limit",
            n,
            [{"code": c, "min_age": "0", "max_age": "14"} for c in drugs[30 + n * 2 : 32 + n * 2]],
        )
    for n in range(8):
        codes = (drugs + items)[50 + n * 4 : 54 + n * 4]
        rule("max_quantity", n, [{"code": c, "max_cnt": "3", "period": "day"} for c in codes], result="可疑")
    for n in range(4):
        rule("level_limit", n, [{"code": c, "min_grade": "3"} for c in items[n * 3 : n * 3 + 3]])
    for n in range(5):
        rule("pair_conflict", n, [{"code": items[20 + n], "with_code": items[40 + n], "scope": "day"}])
    for n in range(5):
        rule("indication", n, [{"code": c, "dise_prefix": "E11"} for c in drugs[60 + n * 3 : 63 + n * 3]])
    for n in range(3):
        rule("course_days", n, [{"code": drugs[80 + n], "max_days": "7"}])
    for n in range(3):
        rule("dept_limit", n, [{"code": items[60 + n], "dept_prefix": "A03"}])
    for n in range(2):
        rule("insutype_limit", n, [{"code": drugs[90 + n], "insutype": "390"}])
    for n in range(2):
        rule("visit_type_limit", n, [{"code": items[70 + n], "med_type": "2"}])
    for n in range(2):
        rule(
            "cycle_frequency",
            n,
            [{"code": items[80 + n], "cycle_days": "30", "max_in_cycle": "1"}],
            result="可疑",
        )
    rule("diagnosis_sex", 0, [{"dise_prefix": "N40", "gend": "2"}, {"dise_prefix": "O", "gend": "1"}])
    rule("diagnosis_sex", 1, [{"dise_prefix": "C61", "gend": "2"}])
    rule("diagnosis_age", 0, [{"dise_prefix": "P", "min_age": "0", "max_age": "1"}])
    rule("operation_sex", 0, [{"oprn_prefix": "68.", "gend": "2"}])
    rule("bed_days", 0, [{"code": items[90]}])
    rule("idle_stay", 0, [{"chrgitm_type": "01"}, {"chrgitm_type": "07"}], result="可疑")
    prices = {r["med_list_codg"]: r["pric"] for r in rows if r["pric"]}
    capped = [c for c in items if c in prices][:10]
    cap = lambda c: str((Decimal(prices[c]) * Decimal("0.9")).quantize(Decimal("0.01")))  # noqa: E731
    rule("price_cap", 0, [{"code": c, "max_pric": cap(c)} for c in capped])
    rule("fee_outside_stay", 0)
    rule("after_death", 0)
    rule("readmission", 0, result="可疑", params={"window_days": 15})
    rule("visit_frequency", 0, [{"med_type": "1"}], result="可疑", params={"max_visits": 8})
    rule("visit_during_stay", 0, result="可疑")
    rule("stay_overlap", 0, result="可疑")
    rule("drug_variety", 0, result="可疑", params={"max_drugs": 30})
    path = folder / "generated.yaml"
    path.write_text(json.dumps({"rules": rules}, ensure_ascii=False), encoding="utf-8")
    return path


def load_rules(engine, tmp: Path, generated: bool = False):
    """The demo region's library if it loads (and ``generated`` is not asked for), else a generated one; stored
    in the database."""
    from yibao.errors import YibaoError
    from yibao.store.audit_rules import import_library
    from yibao.store.db import unit_of_work
    from yibao.supervision.library_files import load_library

    demo = REPO / "regions" / "990100" / "rules"
    source = str(demo.relative_to(REPO))
    try:
        if generated or not demo.is_dir():
            raise FileNotFoundError("--generated" if generated else demo)
        library = load_library(demo)
    except (YibaoError, OSError) as exc:
        source = f"generated (not the demo library: {str(exc).splitlines()[0][:100]})"
        library = load_library(generated_library(tmp, _catalogue()))
    with unit_of_work(engine) as s:
        import_library(s, library, "bench")
    return library, source


# --- the calls ----------------------------------------------------------------------------------------------


async def _ok(client: Client, infno: str, input_: dict) -> dict:
    _, reply = await client.call(infno, input_)
    if reply["infcode"] != 0:
        raise RuntimeError(f"{infno}: {reply['err_msg']}")
    return reply["output"]


async def history(client: Client) -> None:
    """Three settled outpatient visits in February: the history the rules read."""
    for day in ("2025-02-05", "2025-02-12", "2025-02-20"):
        reg = {"psn_no": PERSON, "insutype": "310", "begntime": f"{day} 09:00:00"}
        mdtrt = (await _ok(client, "2201", {"data": reg}))["data"]["mdtrt_id"]
        lines = [_line(str(k), f"X{k:03d}", mdtrt, f"{day} 10:00:00") for k in range(10)]
        await _ok(client, "2204", {"feedetail": lines})
        data = {"psn_no": PERSON, "mdtrt_id": mdtrt, "medfee_sumamt": "250.00", "insutype": "310"}
        await _ok(client, "2207", {"data": data})


def _line(sn: str, code: str, mdtrt: str, when: str = "2025-03-01 10:00:00") -> dict:
    return {
        "feedetl_sn": sn,
        "mdtrt_id": mdtrt,
        "med_list_codg": code,
        "pric": "12.50",
        "cnt": 2,
        "det_item_fee_sumamt": "25.00",
        "fee_ocur_time": when,
    }


def orders(library, rng: random.Random, n: int) -> list[dict]:
    """``n`` orders of the demo catalogue: a few codes some rule names (so some rules hit), the rest drawn."""
    rows = {r["med_list_codg"]: r for r in _catalogue()}
    named = [
        k.values["code"] for rule in library.rules.values() for k in rule.knowledge if "code" in k.values
    ]
    picked = [c for c in dict.fromkeys(named) if c in rows][:5]
    picked += rng.sample([c for c in rows if c not in picked], n - len(picked))
    out = []
    for k, code in enumerate(picked):
        r = rows[code]
        pric = r["pric"] or "10.00"
        cnt = 1 + k % 4
        out.append(
            {
                "rx_id": f"RX{k:03d}",
                "rxno": f"NO{k // 5:03d}",
                "hilist_type": r["list_type"],
                "chrg_type": r["med_chrgitm_type"],
                "hilist_code": code,
                "hilist_name": r["med_list_name"],
                "cnt": str(cnt),
                "pric": pric,
                "drord_begn_date": "2025-03-01 10:00:00",
                "curr_drord_flag": "1",
            }
        )
    return out


def analysis_input(mdtrt: str, order_rows: list[dict]) -> dict:
    encounter = {
        "mdtrt_id": mdtrt,
        "medins_id": INSTITUTION,
        "med_type": "11",
        "adm_date": "2025-03-01 09:00:00",
        "fsi_diagnose_dtos": [{"dise_codg": "J18.900", "maindise_flag": "1"}],
        "fsi_order_dtos": order_rows,
    }
    patient = {"patn_id": PERSON, "gend": "1", "fsi_encounter_dtos": [encounter]}
    return {"data": {"patient_dtos": [patient], "trig_scen": "2"}}


async def time_3102(client: Client, library, calls: int) -> tuple[list[float], list[float], float]:
    """Wall and CPU seconds of each of ``calls`` 3102 calls (after a warm-up), and the findings per call."""
    reg = {"psn_no": PERSON, "insutype": "310", "begntime": "2025-03-01 09:00:00"}
    mdtrt = (await _ok(client, "2201", {"data": reg}))["data"]["mdtrt_id"]
    request = analysis_input(mdtrt, orders(library, random.Random(7), 50))
    found = 0
    for _ in range(50):  # warm up: statements prepared, the library and its engine loaded
        await _ok(client, "3102", request)
    wall, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        out = await _ok(client, "3102", request)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        found += len(out["result"])
    return wall, cpu, found / calls


async def time_2204(client: Client, uploads: int, *, warm: int = 0) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``uploads`` 2204 calls of 10 lines, each on a fresh visit (withdrawn after)."""
    wall, cpu = [], []
    for n in range(warm + uploads):
        reg = {"psn_no": PERSON, "insutype": "310", "begntime": "2025-03-02 09:00:00"}
        mdtrt = (await _ok(client, "2201", {"data": reg}))["data"]["mdtrt_id"]
        lines = [_line(str(k), f"X{(n + k) % 30:03d}", mdtrt, "2025-03-02 10:00:00") for k in range(10)]
        t0, c0 = time.perf_counter(), time.process_time()
        await _ok(client, "2204", {"feedetail": lines})
        if n >= warm:
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        await _ok(
            client, "2205", {"data": {"mdtrt_id": mdtrt, "psn_no": PERSON}}
        )  # (the history stays small)
        await _ok(client, "2202", {"data": {"mdtrt_id": mdtrt, "psn_no": PERSON}})
    return wall, cpu


def quantiles(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return f"p50 {pick(0.50):.2f} ms, p95 {pick(0.95):.2f} ms, p99 {pick(0.99):.2f} ms (mean {statistics.fmean(ms):.2f})"


def _regions_without_inline(tmp: Path) -> Path:
    regions = tmp / "regions"
    shutil.copytree(REPO / "regions", regions)
    spec = regions / "990100" / "region.yaml"
    text = spec.read_text(encoding="utf-8")
    if "\nsupervision:" in text:
        spec.write_text(text[: text.index("\nsupervision:")] + "\n", encoding="utf-8")
    return regions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--uploads", type=int, default=500)
    ap.add_argument("--generated", action="store_true", help="a generated library even if the demo's loads")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yibao-audit-bench-"))
    url = fresh_database(args.db)
    try:
        build_world(url, 200)
        os.environ.update(YIBAO_DATABASE_URL=url, YIBAO_MODE="test", YIBAO_REGIONS_DIR=str(REPO / "regions"))
        from yibao.api import fsi_handlers  # noqa: F401 - registers the handlers
        from yibao.config import reset_settings
        from yibao.ingest.loader import run_import
        from yibao.store.db import get_engine

        reset_settings()
        engine = get_engine()
        run_import(engine, "catalogue", CATALOGUE, actor="bench")
        library, source = load_rules(engine, tmp, args.generated)
        online = [r for r in library.active("mid") if r.spec.online]
        client = Client(_InProcess(), "", INSTITUTION, f"a{os.getpid() % 100000}")
        loop = asyncio.new_event_loop()
        loop.run_until_complete(history(client))
        ticks = machine_ticks()
        wall, cpu, per_call = loop.run_until_complete(time_3102(client, library, args.calls))
        shares = machine_shares(ticks, machine_ticks())
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {args.db}"
        )
        print(f"library: {source}: {len(library.rules)} rules, {len(online)} run online at 事中")
        print(
            f"3102 (50 orders, a registered visit, 3 visits of history), {args.calls} calls in process, one at a time:"
        )
        print(f"  wall: {quantiles(wall)}")
        print(f"  CPU of this process (client and facade; PostgreSQL's not included): {quantiles(cpu)}")
        print(f"  {per_call:.1f} findings per call; {shares}")
        off_regions = _regions_without_inline(tmp)
        on, off = ([], []), ([], [])
        loop.run_until_complete(time_2204(client, 0, warm=20))
        for block in range(
            2 * max(1, args.uploads // 50)
        ):  # alternating blocks of 50: the machine's mood is shared
            inline_on = block % 2 == 0
            os.environ["YIBAO_REGIONS_DIR"] = str(REPO / "regions" if inline_on else off_regions)
            reset_settings()
            w, c = loop.run_until_complete(time_2204(client, 50, warm=2))
            target = on if inline_on else off
            target[0].extend(w)
            target[1].extend(c)
        print(f"2204 (10 lines on a fresh visit), {len(on[0])} uploads each way, in alternating blocks:")
        print(f"  inline checks on:  wall {quantiles(on[0])}; CPU {quantiles(on[1])}")
        print(f"  inline checks off: wall {quantiles(off[0])}; CPU {quantiles(off[1])}")
    finally:
        get_engine_dispose()
        drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


def get_engine_dispose() -> None:
    from yibao.store.db import dispose_engines

    dispose_engines()


if __name__ == "__main__":
    main()
