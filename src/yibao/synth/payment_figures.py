"""The sanity figures of payment-drg-dip.md §10 on a synthetic region's valued year: recomputed RW against
the generator's expected costs (:func:`rw_checks`), within-group CVs, outlier shares, each hospital's payment
ratio and the budget identity (:func:`budget_residuals`), as bench/payment_year.py prints them and
tests/integration/test_payment_sanity.py checks them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from yibao.money import FEN
from yibao.payment import norms
from yibao.payment.history import year_weights
from yibao.payment.period import DIP, DRG, ONE4
from yibao.payment.period_arrays import M_DIP, M_DRG, CaseArrays, GroupArrays, PricedArrays
from yibao.payment.pointvalue import total_cost_budget
from yibao.synth.payment_history import grouped
from yibao.synth.payment_region import YearCases
from yibao.synth.payment_valuation import ClearedYear


class RwCheck(NamedTuple):
    """A DRG's relative weight as the norms computed it from the trimmed history (``rw``) and as the
    generator's expected costs make it (``truth``: the same 1 : 2 : 7 weighting of yearly means), with its
    history cases and within-group CV (of the realised costs)."""

    group: str
    cases: int
    rw: float
    truth: float
    cv: float


def rw_checks(
    past: Sequence[YearCases], groups: Sequence[GroupArrays], weights: Mapping[str, int], view
) -> list[RwCheck]:
    """Recomputed RW against the generator's truth, per DRG of the history (§10's first check)."""
    year_w = {y: float(w) for y, w in year_weights(past[-1].year + 1, view.policy.history_weights).items()}
    per_group: dict[str, dict[int, tuple[float, float, float, float]]] = {}
    everyone: dict[int, float] = {}
    for cases, g in zip(past, groups, strict=True):
        sel = np.flatnonzero(grouped(g) & (np.array(g.schemes)[g.scheme] == DRG))
        everyone[cases.year] = float(cases.expected_fen[sel].mean())
        code, expected, cost = g.group[sel], cases.expected_fen[sel], cases.cost_fen[sel].astype(float)
        n = np.bincount(code, minlength=len(g.codes))
        sums = [np.bincount(code, weights=v, minlength=len(g.codes)) for v in (expected, cost, cost * cost)]
        for k in np.flatnonzero(n).tolist():
            per_group.setdefault(g.codes[k], {})[cases.year] = (n[k], sums[0][k], sums[1][k], sums[2][k])
    big_m = sum(year_w[y] * m for y, m in everyone.items()) / sum(year_w[y] for y in everyone)
    out = []
    for code, years in sorted(per_group.items()):
        if code not in weights:
            continue
        ws = sum(year_w[y] for y in years)
        truth = sum(year_w[y] * e / n for y, (n, e, _, _) in years.items()) / ws / big_m
        n_all = sum(n for n, _, _, _ in years.values())
        s1, s2 = sum(v[2] for v in years.values()), sum(v[3] for v in years.values())
        mean = s1 / n_all
        cv = math.sqrt(max(s2 / n_all - mean * mean, 0)) / mean
        out.append(RwCheck(code, int(n_all), weights[code] / ONE4, truth, cv))
    return out


def group_cvs(cases: YearCases, g: GroupArrays, min_cases: int = 10) -> np.ndarray:
    """The within-group CV of the realised cost of each group (kind × code) with ``min_cases`` or more."""
    sel = np.flatnonzero(grouped(g))
    key = g.scheme[sel] * max(len(g.codes), 1) + g.group[sel]
    _, inverse, n = np.unique(key, return_inverse=True, return_counts=True)
    x = cases.cost_fen[sel].astype(float)
    s1, s2 = np.bincount(inverse, weights=x), np.bincount(inverse, weights=x * x)
    mean = s1 / n
    cv = np.sqrt(np.maximum(s2 / n - mean**2, 0)) / mean
    return cv[n >= min_cases]


def outlier_shares(
    ca: CaseArrays, priced: PricedArrays, budgets: Sequence[norms.SchemeBudget]
) -> tuple[float, float]:
    """Of the DRG and DIP cases with a prior-year mean: the share costing more than 2 × the same-level group
    mean (A_g), and less than 0.5 ×."""
    high = low = n = 0
    for b in budgets:
        m = M_DRG if b.scheme == DRG else M_DIP
        sel = np.flatnonzero((priced.method == m) & (ca.pool == list(ca.pools).index(b.pool)))
        mean = np.array(
            [
                b.norms.mean(priced.codes[gi], lv)
                for gi, lv in zip(priced.group[sel].tolist(), ca.level[sel].tolist(), strict=True)
            ]
        )
        known = mean > 0
        cost = ca.cost_fen[sel][known]
        high += int((cost > 2 * mean[known]).sum())
        low += int((2 * cost < mean[known]).sum())
        n += int(known.sum())
    return high / n, low / n


def payment_ratios(cy: ClearedYear) -> dict[str, float]:
    """Each hospital's payment ratio (支付率): its DRG and DIP entitlements ÷ their FFS-valued charges."""
    ent: dict[str, int] = {}
    cost: dict[str, int] = {}
    for ln, e in zip(cy.lines, cy.entitlements, strict=True):
        if ln.method in (DRG, DIP):
            ent[ln.fixmedins_code] = ent.get(ln.fixmedins_code, 0) + e
            cost[ln.fixmedins_code] = cost.get(ln.fixmedins_code, 0) + ln.cost_fen
    return {h: ent[h] / cost[h] for h in sorted(ent) if cost[h]}


class Residual(NamedTuple):
    """The budget identity of one pool and scheme: what the points leave of the total-cost budget after the
    money outside them (``residual``, fen, exact) and the rounding it may come to (``allowed``)."""

    pool: str
    scheme: str
    residual: Fraction
    allowed: Fraction


def budget_residuals(cy: ClearedYear, budgets: Sequence[norms.SchemeBudget], view) -> list[Residual]:
    """Σ line entitlements (points part) against total-cost budget − money outside points, for every pool and
    scheme whose settlement PV the bounds left alone: the residual is rounding only — half a fen per line and
    the PV's half unit per point (§0, §3.7)."""
    out = []
    for b in budgets:
        v = cy.values.get((b.pool, b.scheme))
        if v is None or v.bound is not None:
            continue
        mine = [
            (ln, e)
            for ln, e in zip(cy.lines, cy.entitlements, strict=True)
            if (ln.pool, ln.method) == (b.pool, b.scheme)
        ]
        pointed = sum(e - ln.extra_fen for ln, e in mine)
        tcb = total_cost_budget(b.fund_budget_fen, view.fund_share(b.pool))
        places = view.drg.rate_places if b.scheme == DRG else view.point_value.places
        half_unit_fen = Fraction(FEN, 2 * 10**places)  # fen per point: half the PV's last place
        allowed = Fraction(len(mine), 2) + Fraction(v.total_points4, ONE4) * half_unit_fen
        out.append(Residual(b.pool, b.scheme, tcb - v.extra_fen - pointed, allowed))
    return out
