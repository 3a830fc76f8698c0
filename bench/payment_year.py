"""Benchmark of a case-payment year without a database (run by hand, not in CI): a synthetic region's year of
inpatient stays generated, grouped, aggregated into history, budgeted, priced, totalled per hospital line
and cleared, with the time of each stage, cases/s, peak memory and the sanity figures of
payment-drg-dip.md §10.

    python bench/payment_year.py [--cases 1000000] [--seed 20250] [--workers 2] [--drg-only]

The region (:mod:`yibao.synth.payment_region`): 60 hospitals (4 三级 / 12 二级 / 44 一级), 职工 45 % / 居民
55 %, three history years and the current one, real 医保版 2.0 codes. Under the demo policy
(``regions/990100/policy/payment/2025.yaml``) 二级 and 三级 hospitals are paid by DRG and 一级 by DIP (the demo
catalogue); ``--drg-only`` pays every hospital by DRG. Grouping runs in ``--workers`` forked processes; the
history's stays are coded like the current year's, so the year's grouping serves them. The fund budget is a
synthetic forecast (last year's DRG/DIP-paid cost grown by volume and cost growth), since the demo policy's
is sized for a 20,000-person demo.

Stages: generate (the case mix and four years of stays), group (the current year), history (the past years'
groups and the trimmed yearly aggregates), norms (:func:`yibao.payment.norms.build`), price
(:func:`yibao.payment.period_pricing.price_arrays`), lines (:func:`yibao.payment.period_arrays.lines_of`),
clear (the twelve months' pre-settlement, PV_settle per pool and scheme, every line's
:func:`yibao.payment.year_end.clear_line`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from yibao.money import FEN
from yibao.payment import norms
from yibao.payment import period as pp
from yibao.payment.grouping import Groupers
from yibao.payment.packs import load_drg_pack
from yibao.payment.period_arrays import M_DIP, METHODS, lines_of
from yibao.payment.period_pricing import price_arrays
from yibao.payment.policy_view import PolicyView
from yibao.synth.payment_figures import budget_residuals, group_cvs, outlier_shares, payment_ratios, rw_checks
from yibao.synth.payment_history import group_year, history_rows, past_groups
from yibao.synth.payment_mix import POOLS, YearParams
from yibao.synth.payment_region import generate
from yibao.synth.payment_valuation import (
    case_arrays,
    clear_year,
    dip_scores,
    hospital_levels,
    months_of,
    pool_funds,
)

REGION = Path(__file__).resolve().parents[1] / "regions" / "990100"
TIMES: dict[str, float] = {}


CPU: dict[str, float] = {}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the grouping workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def stage(name: str):
    start, cpu = time.perf_counter(), cpu_seconds()
    yield
    TIMES[name], CPU[name] = time.perf_counter() - start, cpu_seconds() - cpu
    print(f"  {name:<9} {TIMES[name]:6.1f} s  (CPU {CPU[name]:5.1f} s)")


def policy_view(year: int, drg_only: bool) -> PolicyView:
    view = PolicyView.on(REGION, date(year, 1, 1))
    if not drg_only:
        return view
    pol = view.policy
    every = dataclasses.replace(pol.schemes, by_level={lv: "drg" for lv in (1, 2, 3)}, hospitals={})
    return PolicyView(dataclasses.replace(pol, schemes=every))


def peak_mb() -> tuple[float, float]:
    """Max RSS of this process and of the largest grouping worker, MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drg-only", action="store_true")
    args = parser.parse_args()
    params = YearParams(cases=args.cases, seed=args.seed)
    view = policy_view(params.year, args.drg_only)
    groupers = Groupers(REGION)
    print(
        f"{args.cases:,} stays in {params.year} (+ {params.history_years} history years), {args.workers} workers"
    )

    with stage("generate"):
        region = generate(load_drg_pack(), params)
    year = region.current
    with stage("group"):
        groups = group_year(year, region, view, groupers, args.workers)
    with stage("history"):
        past = [past_groups(y, groups, region, view) for y in region.history]
        rows = history_rows(region.history, past, region, view.policy.trim)
    with stage("norms"):
        levels = hospital_levels(region)
        dip = dip_scores(groupers, params.year) if "dip" in norms.schemes_used(view, levels) else None
        funds = pool_funds(view, region, region.history[-1], past[-1])
        budgets = norms.build(rows, view, params.year, levels, dip, funds)
    norms_map = {(b.pool, b.scheme): b.norms for b in budgets}
    with stage("price"):
        cases = case_arrays(year, region)
        priced = price_arrays(cases, groups, norms_map, view)
    with stage("lines"):
        lines = lines_of(cases, priced)
    with stage("clear"):
        cleared = clear_year(cases, priced, months_of(year), budgets, view)
    total = sum(TIMES.values())
    own, worker = peak_mb()
    print(
        f"total {total:.1f} s = {args.cases / total:,.0f} cases/s (CPU {sum(CPU.values()):.1f} s); peak RSS"
        f" {own:,.0f} MB (largest grouping worker {worker:,.0f} MB); load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores"
    )
    print(f"history rows {len(rows):,}, hospital lines {len(lines):,}")
    report(region, groups, past, rows, budgets, cases, priced, cleared, groupers, view)


def report(region, groups, past, rows, budgets, cases, priced, cleared, groupers, view) -> None:
    """The §10 figures."""
    year = region.current
    print("\n§10 figures")
    status = np.array([*groups.statuses, "none"])[groups.status]
    kinds = np.array(groups.schemes)[groups.scheme]
    for kind in ("drg", "dip"):
        mine = kinds == kind
        if mine.any():
            shares = {s: f"{(status[mine] == s).mean():.2%}" for s in sorted(set(status[mine].tolist()))}
            print(f"  grouping {kind.upper()}: {mine.sum():,} stays {shares}")
    if (kinds == "dip").any():
        cat = groupers.dip_catalogue(date(year.year, 1, 1))
        dip_type = {r.dip_code: r.dip_type for r in cat.rows}
        ok = (kinds == "dip") & (status == "ok")
        types = np.array([dip_type.get(c, "?") for c in groups.codes])[groups.group[ok]]
        print("  DIP types:", {t: f"{(types == t).mean():.1%}" for t in sorted(set(types.tolist()))})
    cost = year.cost_fen / FEN
    print(
        f"  mean cost {cost.mean():,.0f} yuan (三级 {cost[year.level == 3].mean():,.0f}, 二级"
        f" {cost[year.level == 2].mean():,.0f}, 一级 {cost[year.level == 1].mean():,.0f}); mean LOS"
        f" {year.los.mean():.1f} d, > 60 d {(year.los > 60).mean():.2%}; deaths {(year.dscg_way == 5).mean():.2%};"
        f" personal share 职工 {personal(year, 0):.1%} 居民 {personal(year, 1):.1%}; 职工 {(year.pool == 0).mean():.1%}"
    )
    methods = np.array(METHODS)[priced.method]
    print("  paid by:", {m: f"{(methods == m).mean():.2%}" for m in METHODS})
    for b in budgets:
        v = cleared.values.get((b.pool, b.scheme))
        settle = f", PV_settle {v.pv_settle} ({v.bound or 'unbounded'})" if v else ""
        print(
            f"  {b.pool} {b.scheme.upper()}: fund budget {b.fund_budget_fen / FEN:,.2f}, PV_budget"
            f" {b.pv_budget}{settle}, {len(b.norms.weights)} groups"
        )
    drg = next((b for b in budgets if b.scheme == "drg"), None)
    if drg is not None:
        checks = rw_checks(region.history, past, drg.norms.weights, view)
        rw = np.array([c.rw for c in checks])
        big = [c for c in checks if c.cases >= 200]
        err = np.array([c.rw / c.truth - 1 for c in big])
        worst = big[int(np.argmax(np.abs(err)))]
        print(
            f"  DRG RW over {len(rw)} groups: p10 {np.percentile(rw, 10):.2f}, median {np.median(rw):.2f}, p90"
            f" {np.percentile(rw, 90):.2f}, max {rw.max():.1f}; recomputed (trimmed sd3) vs generated"
            f" ({len(big)} groups ≥ 200 cases): mean |error| {np.abs(err).mean():.2%}, max {np.abs(err).max():.2%}"
            f" ({worst.group}, within-group CV {worst.cv:.1f})"
        )
    cvs = group_cvs(year, groups)
    print(
        f"  within-group CV < 1: {(cvs < 1).mean():.1%} of {len(cvs)} groups (median CV {np.median(cvs):.2f})"
    )
    for b in budgets:
        if b.scheme == "dip":
            sel = (priced.method == M_DIP) & (cases.pool == POOLS.index(b.pool))
            mean_points = priced.points4[sel].mean() / pp.ONE4
            mean_cost = cases.cost_fen[sel].mean() / FEN
            print(
                f"  DIP {b.pool}: PV_budget {b.pv_budget} × mean points {mean_points:,.1f} = "
                f"{float(b.pv_budget) * mean_points:,.0f} vs mean cost {mean_cost:,.0f}"
                f" ({float(b.pv_budget) * mean_points / mean_cost:.3f})"
            )
    high, low = outlier_shares(cases, priced, budgets)
    print(f"  outliers against the same-level group mean: > 2× {high:.2%}, < 0.5× {low:.2%}")
    ratios = payment_ratios(cleared)
    r = np.array(list(ratios.values()))
    levels = hospital_levels(region)
    by_level = {lv: np.array([v for h, v in ratios.items() if levels[h] == lv]) for lv in (3, 2, 1)}
    print(
        f"  payment ratio in 0.9–1.1: {((r >= 0.9) & (r <= 1.1)).mean():.0%} of {len(r)} hospitals; by level "
        + ", ".join(f"{lv}: {a.min():.3f}–{a.max():.3f}" for lv, a in by_level.items() if len(a))
    )
    for res in budget_residuals(cleared, budgets, view):
        print(
            f"  budget identity {res.pool} {res.scheme.upper()}: residual {float(res.residual) / FEN:,.2f} yuan"
            f" (rounding allowed {float(res.allowed) / FEN:,.2f})"
        )


def personal(year, pool: int) -> float:
    sel = year.pool == pool
    return year.personal_fen[sel].sum() / year.cost_fen[sel].sum()


if __name__ == "__main__":
    main()
