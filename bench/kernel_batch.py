"""Benchmark: settle 1,000,000 visits (≈ 8 million fee lines) for 100,000 persons in one batch.

A realistic mix is generated directly as arrays (not timed): 35 % 职工 (28 % of them retired),
4 % assistance targets, 48 % 惠民保, chronic registrations, and per person-year about 5
outpatient visits, monthly chronic visits for the registered, 0.18 admissions and pharmacy
purchases for 职工; lines per visit by type (inpatient ≈ 40, outpatient ≈ 6, chronic ≈ 5,
pharmacy ≈ 3). Then ``run_batch`` (split every line, settle every visit in person/date order)
is timed. Prints visits per second and the process's peak memory.

    .venv/bin/python bench/kernel_batch.py [--visits 1000000] [--persons 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from yibao.policy import load_region_policy
from yibao.settlement.batch import BatchInput, run_batch
from yibao.settlement.lines import NO_CAP, LineArrays, product_fen

REPO = Path(__file__).resolve().parents[1]


def generate(bundle, n_visits: int, n_persons: int, seed: int) -> BatchInput:
    rng = np.random.default_rng(seed)
    # persons
    employee = rng.random(n_persons) < 0.35
    retired = employee & (rng.random(n_persons) < 0.28)
    ins = np.where(employee, bundle.insutype_index("310"), bundle.insutype_index("390")).astype(np.int64)
    cat = np.where(
        employee,
        np.where(retired, bundle.category_index("310", "12"), bundle.category_index("310", "11")),
        bundle.category_index("390", "15"),
    ).astype(np.int64)
    assist_codes = np.array(["2304", "2303", "2305", "2302"])
    target = rng.random(n_persons) < 0.04
    idmask = np.where(
        target, [bundle.identity_mask([c]) for c in assist_codes[rng.integers(0, 4, n_persons)]], 0
    )
    hmb = rng.random(n_persons) < 0.48
    disease = np.where(
        rng.random(n_persons) < 0.12,
        rng.choice(len(bundle.diseases), n_persons, p=[0.55, 0.3, 0.07, 0.03, 0.05]),
        -1,
    )
    balance = np.where(employee, rng.integers(0, 800_000, n_persons), 0).astype(np.int64)
    # visits: type mix, person, date (sorted later by the kernel)
    kinds = np.array(["11", "14", "21", "41", "13"])
    mix = np.array([0.60, 0.12, 0.035, 0.20, 0.045])
    kind = rng.choice(len(kinds), n_visits, p=mix)
    person = rng.integers(0, n_persons, n_visits)
    person = np.where(
        (kind == 1) & (disease[person] < 0), rng.choice(np.flatnonzero(disease >= 0), n_visits), person
    )
    kind = np.where((kind == 3) & ~employee[person], 0, kind)  # 居民 rarely settle at pharmacies
    day = (np.datetime64("2025-01-01") - np.datetime64("1970-01-01")).astype(np.int64) + rng.integers(
        0, 365, n_visits
    )
    cls = np.array([bundle.class_index(0, kinds[k]) for k in range(len(kinds))])[kind]
    lvl = rng.choice([1, 2, 3], n_visits, p=[0.45, 0.35, 0.20])
    # lines per visit
    mean_lines = np.array([8, 5, 45, 3, 8])[kind]
    n_lines = np.maximum(1, rng.poisson(mean_lines))
    visit_of_line = np.repeat(np.arange(n_visits), n_lines)
    L = visit_of_line.size
    inpatient_line = np.repeat(kind == 2, n_lines)
    lv = rng.choice(np.array([1, 2, 3], dtype=np.int8), L, p=[0.55, 0.35, 0.10])
    # unit prices lognormal in yuan: outpatient median ≈ 25, inpatient ≈ 120 with a heavy tail
    price_fen = (
        np.exp(rng.normal(np.where(inpatient_line, 4.8, 3.2), np.where(inpatient_line, 1.4, 1.0))) * 100
    )
    pric = price_fen.astype(np.int64) * 10_000 + 10_000
    cnt = rng.choice(np.array([10_000, 20_000, 30_000, 5_000], dtype=np.int32), L, p=[0.6, 0.2, 0.1, 0.1])
    amt = product_fen(pric, cnt)
    selfpay = np.where(lv == 2, rng.choice(np.array([500, 1000, 2000], dtype=np.int16), L), 0).astype(
        np.int16
    )
    capped = rng.random(L) < 0.15
    cap = np.where(capped & (lv != 3), (pric * rng.uniform(0.8, 1.2, L)).astype(np.int64), NO_CAP)
    lmt = (rng.random(L) < 0.05).astype(np.int8)
    appr = np.where(lmt == 1, rng.choice(np.array([0, 1], dtype=np.int8), L), 0).astype(np.int8)
    lines = LineArrays(visit_of_line, pric, cnt, amt, lv, selfpay, cap, lmt, appr)
    return BatchInput(
        person=person,
        day=day,
        ver=np.zeros(n_visits, dtype=np.int64),
        ins=ins[person],
        cls=cls,
        cat=cat[person],
        lvl=lvl,
        dis=np.where(kind == 1, disease[person], -1),
        idmask=idmask[person],
        sp_enrolled=hmb[person],
        acct_flag=np.where(employee[person], 1, 0),
        has_account=employee,
        balance=balance,
        lines=lines,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    bundle = load_region_policy("990100", REPO / "regions")
    t0 = time.perf_counter()
    batch = generate(bundle, args.visits, args.persons, args.seed)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_batch(bundle, batch)
    elapsed = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    o = res.columns  # the setlinfo fields by national name
    assert (o["medfee_sumamt"] == o["fund_pay_sumamt"] + o["psn_part_amt"]).all()
    assert (o["psn_part_amt"] == o["acct_pay"] + o["psn_cash_pay"]).all()
    funds = {
        k: int(o[k].sum()) / 100
        for k in ("hifp_pay", "hifob_pay", "hifmi_pay", "oth_pay", "maf_pay", "acct_pay")
    }
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}"
    )
    print(
        f"input: {args.visits:,} visits, {len(batch.lines):,} fee lines, {args.persons:,} persons "
        f"(generated in {gen:.1f} s, not timed); waves: {int(np.bincount(batch.person).max())} max visits/person"
    )
    print("fund totals (yuan): " + ", ".join(f"{k} {v:,.2f}" for k, v in funds.items()))
    print(
        f"batch settlement: {elapsed:.2f} s → {args.visits / elapsed:,.0f} visits/s (goal ≥ 200,000); "
        f"peak memory {peak_gb:.2f} GB (goal ≤ 4 GB)"
    )


if __name__ == "__main__":
    main()
