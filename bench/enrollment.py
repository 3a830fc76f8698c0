"""Benchmark: bulk enrollment of 1,000,000 persons and one month's contributions of 350,000 employees.

The bulk load is what a bureau runs when it takes over a population: ``yibao import`` of three files —
employers (10,000, 统一社会信用代码 checked), persons (1,000,000, 居民身份证号码 checked) and their basic
enrollments (350,000 在职 with an employer, 120,000 退休, 20,000 灵活就业, 510,000 居民) — through the
same parsing, validation and enrollment rules as any import (one basic insurance at a time, categories,
employers, flexible bounds, waiting periods, personal accounts). The files are generated first (not timed).

The month is ``yibao contributions run --month 2025-03 --wages FILE`` (every employee's declared wage,
clamped and split 8 % / 2 %, 灵活就业 8 %, 退休 credits of 90.00) followed by the collection that posts
one receipt per employer to the ledger and credits each employee's account. ``yibao ledger check`` is
run afterwards (not timed) and must pass.

    .venv/bin/python bench/enrollment.py --db sqlite|postgresql [--persons 1000000] [--employees 350000]

Prints the time of each step; the goal is ≤ 120 s for the enrollment and ≤ 120 s for the month.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from _his import drop_database, fresh_database  # noqa: E402  (the benchmarks' shared database helpers)

DISTRICTS = ["990102", "990103", "990104", "990111", "990112", "990121", "990122"]


def resident_ids(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n distinct valid GB 11643 numbers (the generator's own), their genders and births."""
    from yibao.synth.population import id_numbers

    i = np.arange(n, dtype=np.int64)
    district = np.array(DISTRICTS)[i % len(DISTRICTS)]
    born = np.datetime64("1940-01-01") + ((i // len(DISTRICTS)) % 25_000).astype("timedelta64[D]")
    male = rng.integers(1, 3, n) == 1
    return id_numbers(district, born, male), np.where(male, "1", "2"), born.astype(str)


def write_files(folder: Path, persons: int, employees: int, seed: int) -> dict[str, Path]:
    from yibao.synth.population import uscc

    rng = np.random.default_rng(seed)
    n_emp = max(employees // 35, 1)
    retirees, flexible = persons * 12 // 100, persons * 2 // 100
    files = {k: folder / f"{k}.csv" for k in ("employers", "persons", "enrollments", "wages")}
    emp_no = [f"E99010{k:08d}" for k in range(n_emp)]
    with files["employers"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emp_no", "uscc", "emp_name", "admdvs"])
        for k, e in enumerate(emp_no):
            d = DISTRICTS[k % len(DISTRICTS)]
            w.writerow([e, uscc(d, 1_000_000 + k), f"示例市第{k + 1}有限公司", d])
    cert, gend, brdy = resident_ids(persons, rng)
    psn = np.char.add("9901", np.char.zfill(np.arange(persons).astype(str), 12))
    district = np.array(DISTRICTS)[np.arange(persons) % len(DISTRICTS)]
    with files["persons"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["psn_no", "certno", "psn_name", "gend", "brdy", "admdvs"])
        w.writerows(
            zip(
                psn.tolist(),
                cert.tolist(),
                ["参保人"] * persons,
                gend.tolist(),
                brdy.tolist(),
                district.tolist(),
                strict=True,
            )
        )
    months = rng.integers(0, 420, persons)
    with files["enrollments"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "psn_no",
                "insutype",
                "psn_type",
                "begndate",
                "insuplc_admdvs",
                "emp_no",
                "flexible_base",
                "contrib_months",
            ]
        )
        for k, p in enumerate(psn.tolist()):
            if k < employees:
                w.writerow([p, "310", "11", "2020-01-01", "990100", emp_no[k % n_emp], "", months[k]])
            elif k < employees + retirees:
                w.writerow([p, "310", "12", "2020-01-01", "990100", "", "", months[k]])
            elif k < employees + retirees + flexible:
                w.writerow([p, "310", "11", "2021-07-01", "990100", "", "6000.00", months[k]])
            else:
                w.writerow([p, "390", "15", "2020-01-01", "990100", "", "", ""])
    wages = rng.integers(300_000, 3_000_000, employees)
    with files["wages"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["psn_no", "wage"])
        w.writerows(
            (p, f"{x // 100}.{x % 100:02d}")
            for p, x in zip(psn[:employees].tolist(), wages.tolist(), strict=True)
        )
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--employees", type=int, default=350_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pg-name", default="yibao_h3_bench", help="PostgreSQL database to (re)create")
    ap.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = ap.parse_args()

    os.environ.setdefault("YIBAO_MODE", "test")
    os.environ.setdefault("YIBAO_REGIONS_DIR", str(REPO / "regions"))
    url = fresh_database(args.db, args.pg_name)
    os.environ["YIBAO_DATABASE_URL"] = url
    from yibao.commands.enrollment import _wages
    from yibao.enrollment.collection import collect
    from yibao.enrollment.contributions import run_month
    from yibao.funds.check import check_ledger
    from yibao.ingest.loader import run_import
    from yibao.ingest.region import load_region
    from yibao.policy.registry import get_bundle
    from yibao.store import migrate
    from yibao.store.db import get_engine, unit_of_work

    print(
        f"yibao enrollment benchmark — {args.db}, {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    engine = get_engine(url)
    folder = Path(tempfile.mkdtemp(prefix="yibao-bench-files-"))
    try:
        migrate.upgrade(engine)
        load_region(engine, "990100", REPO / "regions")
        t = time.perf_counter()
        files = write_files(folder, args.persons, args.employees, args.seed)
        print(f"  files generated in {time.perf_counter() - t:.1f} s (not timed): {folder}")

        print(f"bulk enrollment of {args.persons:,} persons (yibao import employers, persons, enrollments):")
        total = cpu_total = 0.0
        for kind in ("employers", "persons", "enrollments"):
            t, c0 = time.perf_counter(), time.process_time()
            report = run_import(engine, kind, files[kind])
            dt, cpu = time.perf_counter() - t, time.process_time() - c0
            total += dt
            cpu_total += cpu
            c = report.counts()
            print(
                f"  {kind:<12} {c['read']:>9,} rows  {c['inserted']:>9,} inserted  {c['rejected']:>3} rejected"
                f"  {dt:7.1f} s  ({c['read'] / dt:,.0f} rows/s; this process's CPU {cpu:.1f} s)"
            )
            if c["rejected"]:
                print(f"    first rejections: {[str(r) for r in report.rejected[:3]]}")
                return 1
        print(f"  enrollment total {total:.1f} s (goal ≤ 120 s; CPU {cpu_total:.1f} s)")

        print(f"one month's contributions of {args.employees:,} employees (2025-03):")
        bundle = get_bundle("990100")
        t, c0 = time.perf_counter(), time.process_time()
        wages = _wages(files["wages"])
        run = run_month(engine, bundle, "2025-03", wages=wages)
        t_run, cpu_run = time.perf_counter() - t, time.process_time() - c0
        print(
            f"  run       {run.employees:,} employees, {run.flexible:,} flexible, {run.retirees_credited:,} "
            f"retirees credited, due {run.due / 100:,.2f}  {t_run:7.1f} s"
        )
        t, c0 = time.perf_counter(), time.process_time()
        paid = collect(engine, run.period, when=datetime(2025, 4, 15))
        t_collect, cpu_collect = time.perf_counter() - t, time.process_time() - c0
        print(f"  collect   {paid / 100:,.2f} collected  {t_collect:7.1f} s")
        print(f"  month total {t_run + t_collect:.1f} s (goal ≤ 120 s; CPU {cpu_run + cpu_collect:.1f} s)")
        print(f"  load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        t = time.perf_counter()
        with unit_of_work(engine, write=False) as s:
            check = check_ledger(s)
        print(
            f"ledger check {'ok' if check.ok else 'FAILED'}: {check.entries:,} entries, {check.postings:,} "
            f"postings, {check.accounts:,} accounts ({time.perf_counter() - t:.1f} s, not timed)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory {peak:,.0f} MB")
        return 0 if check.ok and paid == run.due else 1
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(url)
            shutil.rmtree(folder, ignore_errors=True)
            if args.db == "sqlite":
                shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
