"""Benchmark: one outpatient settlement of 10 fee lines, in process, from parsed input to result.

Measures ``yibao.settlement.online.settle`` (resolve the policy version and indices,
split the lines, run the fund chain as a batch of one, build setlinfo, setldetail,
the accumulator delta and the trace). Prints p50 and p99 over N runs.

    .venv/bin/python bench/kernel_online.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

from yibao.money import parse_price, parse_ratio
from yibao.policy import load_region_policy
from yibao.settlement import online
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP, product_fen

REPO = Path(__file__).resolve().parents[1]


def ten_lines() -> list[Fee]:
    specs = [  # (chrgitm_lv, price, count, selfpay_prop, price cap)
        (1, "25.00", 1, "0", None),
        (1, "12.50", 2, "0", None),
        (2, "38.60", 3, "0.10", None),
        (2, "120.00", 1, "0.20", "100.00"),
        (3, "45.00", 1, "0", None),
        (1, "6.80", 10, "0", None),
        (2, "16.25", 4, "0.05", "15.00"),
        (1, "80.00", 1, "0", None),
        (2, "9.99", 6, "0.10", None),
        (1, "150.00", 1, "0", "140.00"),
    ]
    out = []
    for lv, price, cnt, sp, cap in specs:
        p, c = parse_price(price), cnt * 10_000
        out.append(
            Fee(
                p,
                c,
                int(product_fen([p], [c])[0]),
                lv,
                parse_ratio(sp),
                NO_CAP if cap is None else parse_price(cap),
            )
        )
    return out


QUIET_P50_MS = 0.22  # this benchmark's p50 on the project's machine on a quiet day (docs/performance.md)


def _case():
    bundle = load_region_policy("990100", REPO / "regions")
    person = PersonFacts("310", "11", [Dated("2303")], [], {2025}, has_account=True)
    visit = VisitRequest("11", date(2025, 5, 20), ten_lines(), hosp_lv=2, acct_used_flag=1)
    accum = {"dedc:outpatient": 4_000, "cap:outpatient": 52_000}
    return bundle, person, visit, accum


def timings(runs: int) -> list[int]:
    """Nanoseconds of each of ``runs`` settlements (after a warm-up), sorted."""
    bundle, person, visit, accum = _case()
    for _ in range(500):  # warm up
        online.settle(bundle, person, visit, accum, 120_000)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        online.settle(bundle, person, visit, accum, 120_000)
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    return times


def yardstick(runs: int = 3000) -> float:
    """This minute's speed of the machine: the p50 of this benchmark in ms (other benchmarks print it beside
    their figures, which on a shared VM vary with the minute more than with the code)."""
    return statistics.median(timings(runs)) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    times = timings(args.runs)
    p50 = statistics.median(times) / 1e6
    p99 = times[int(len(times) * 0.99) - 1] / 1e6
    bundle, person, visit, accum = _case()
    result, _, _ = online.settle(bundle, person, visit, accum, 120_000)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"settlement: medfee {result.setlinfo_json()['medfee_sumamt']}, hifp {result.setlinfo_json()['hifp_pay']}, "
        f"maf {result.setlinfo_json()['maf_pay']}, trace {len(result.trace)} parameters"
    )
    print(
        f"online settlement, 10 lines, {args.runs} runs: p50 {p50:.3f} ms, p99 {p99:.3f} ms (goal p50 ≤ 0.5 ms)"
    )


if __name__ == "__main__":
    main()
