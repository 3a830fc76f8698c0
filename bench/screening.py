"""Benchmark: screening quality and cost on generated regions with labelled fraud (supervision.md §12).

For each seed a region is generated (``yibao.synth.fraud``: 200 hospitals, 300 stores, 100,000 persons by
default) with each institution pattern injected at a rate drawn from 1–3 % of its units and person stockpiling
at 0.1–0.5 % of persons, plus decoys; its raw tables are written as Parquet. Screening then runs in a fresh
process from the Parquet directory (so its time and peak memory are its own) and is scored against the
labels. Printed per pattern and entity type: prevalence, AUPRC, precision@k, recall@k, amount@k, decoys opened,
and the spread over the seeds; then run time and peak memory.

    .venv/bin/python bench/screening.py [--seeds 1 2 3] [--persons 100000] [--capacity hospital=10,person=100]
                                        [--intensity 0.5]   # subtler injections: half the volume, twice the spacing
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
from yibao.commands.screening import parse_capacity, read_labels
from yibao.supervision.screening.evaluate import evaluate
from yibao.supervision.screening.run import screen
folder, year, capacity = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
result = screen(folder, year)
seconds = time.perf_counter() - t
scores = evaluate(result.ranked, read_labels(__import__("pathlib").Path(folder) / "labels.parquet"), parse_capacity(capacity))
try:  # VmHWM is this program's own peak; ru_maxrss would keep the parent's from before exec (Linux)
    peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "scores": [s.__dict__ for s in scores]}))
"""


def one_seed(
    seed: int, persons: int, hospitals: int, pharmacies: int, capacity: str, intensity: float
) -> dict:
    import pyarrow.parquet as pq

    from yibao.synth.fraud import FraudRates, build_region

    rng = np.random.default_rng(1000 + seed)
    inst = rng.uniform(0.01, 0.03, 4)
    rates = FraudRates(
        hospital_surge=inst[0],
        fictitious_stay=inst[1],
        pharmacy_skimming=inst[2],
        doctor_overcapacity=inst[3],
        person_stockpiling=rng.uniform(0.001, 0.005),
        intensity=intensity,
    )
    t = time.perf_counter()
    region = build_region(seed, persons=persons, hospitals=hospitals, pharmacies=pharmacies, rates=rates)
    build_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="yibao-screening-") as folder:
        for name, table in region.frame.tables().items():
            pq.write_table(table, Path(folder) / f"{name}.parquet")
        pq.write_table(region.labels, Path(folder) / "labels.parquet")
        done = subprocess.run(
            [sys.executable, "-c", CHILD, folder, "2025", capacity],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out.update(seed=seed, build_s=build_s, rates=rates.__dict__, **region.stats)
    return out


def fmt(values: list[float]) -> str:
    v = [x for x in values if not math.isnan(x)]
    if not v:
        return "–"
    return f"{np.mean(v):.3f} [{min(v):.2f}–{max(v):.2f}]" if len(v) > 1 else f"{v[0]:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--hospitals", type=int, default=200)
    ap.add_argument("--pharmacies", type=int, default=300)
    ap.add_argument("--intensity", type=float, default=1.0, help="injection strength (0.5: subtler fraud)")
    ap.add_argument(
        "--capacity", default="", help="as yibao screening --capacity (default: the run defaults)"
    )
    args = ap.parse_args()
    print(f"# screening bench — {platform.python_version()}, {platform.machine()}, seeds {args.seeds}")
    print(
        f"# region: {args.persons:,} persons, {args.hospitals} hospitals, {args.pharmacies} stores, year 2025; "
        f"injection intensity {args.intensity}"
    )
    runs = []
    for seed in args.seeds:
        r = one_seed(seed, args.persons, args.hospitals, args.pharmacies, args.capacity, args.intensity)
        runs.append(r)
        print(
            f"seed {seed}: {r['visits']:,} visits, {r['lines']:,} lines; generated in {r['build_s']:.1f} s; "
            f"screened in {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB"
        )
        for s in r["scores"]:
            print(
                f"  {s['pattern']:<20} {s['entity_type']:<8} n {s['entities']:>6}  pos {s['positives']:>3}  "
                f"prev {s['prevalence']:.4f}  AUPRC {s['auprc']:.3f}  k {s['capacity']:>3}  opened {s['opened']:>3}  "
                f"P@k {s['precision_at_k']:.3f}  R@k {s['recall_at_k']:.3f}  amount@k {s['amount_at_k']:.3f}  "
                f"decoys {s['decoys_opened']}/{s['decoys']}  other {s['other_fraud_opened']}"
            )
    print("\n# over the seeds: mean [min–max]")
    head = f"{'pattern':<20} {'entity':<8} {'prevalence':>22} {'AUPRC':>22} {'P@k':>22} {'R@k':>22} {'amount@k':>22} decoys"
    print(head)
    patterns = [s["pattern"] for s in runs[0]["scores"]]
    ok = True
    for p in patterns:
        rows = [next(s for s in r["scores"] if s["pattern"] == p) for r in runs]
        col = {
            k: fmt([row[k] for row in rows])
            for k in ("prevalence", "auprc", "precision_at_k", "recall_at_k", "amount_at_k")
        }
        decoys = sum(row["decoys_opened"] for row in rows)
        print(
            f"{p:<20} {rows[0]['entity_type']:<8} {col['prevalence']:>22} {col['auprc']:>22} {col['precision_at_k']:>22} "
            f"{col['recall_at_k']:>22} {col['amount_at_k']:>22} {decoys}"
        )
        auprc = [row["auprc"] for row in rows if not math.isnan(row["auprc"])]
        ok &= bool(auprc) and min(auprc) >= 0.8 and decoys == 0
    secs = [r["seconds"] for r in runs]
    print(
        f"\nscreening run time {np.mean(secs):.1f} s mean ({min(secs):.1f}–{max(secs):.1f}), "
        f"peak memory {max(r['peak_mb'] for r in runs):.0f} MB; generation {np.mean([r['build_s'] for r in runs]):.1f} s"
    )
    print(
        f"goal (AUPRC ≥ 0.8 for every pattern on every seed, no decoy opened): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
