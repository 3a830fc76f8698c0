"""The sanity checks of payment-drg-dip.md §10 on a generated region (:mod:`yibao.synth.payment_region`),
without a database: 40,000 stays in 2025 and three history years, 60 hospitals, grouped (二级 and 三级 by
CHS-DRG 1.1, 一级 by the demo's DIP catalogue, as the demo policy says), aggregated into trimmed history,
budgeted (:func:`yibao.payment.norms.build`, the norms the budget service stores), priced, totalled per
hospital line and cleared as the clearing service clears a stored year.

* the generator: the region's shape (hospitals, volumes, pools, growth, deaths, stays), deterministic;
* the array paths (history aggregation, pricing, lines) give what the case-by-case functions give;
* recomputed RW reproduce the generator's expected costs within sampling error; within-group CV < 1 for at
  least 90 % of the groups;
* DIP: PV_budget × mean points per case ≈ mean cost per case (scale 1000: a point value near 10);
  the DRG rate within 7,000–20,000 yuan per RW;
* payment ratios (entitlement ÷ FFS charges) in 0.9–1.1 for most hospitals; outliers above 2 × the
  same-level group mean 2–5 %, below 0.5 × 3–8 %;
* the budget identity: the points' entitlements are the total-cost budget less the money outside the points,
  up to half a fen per line and half a unit of the PV's last place per point;
* the year's clearing does not depend on which month a case was discharged in, nor on the cases' order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.money import FEN
from yibao.payment import history as hist
from yibao.payment import norms, pricing
from yibao.payment import period as pp
from yibao.payment.grouping import Groupers
from yibao.payment.packs import load_drg_pack
from yibao.payment.period_arrays import M_DIP, M_DRG, CaseArrays, GroupArrays, PricedArrays, lines_of
from yibao.payment.period_pricing import price, price_arrays
from yibao.payment.policy_view import PolicyView
from yibao.synth.payment_figures import budget_residuals, group_cvs, outlier_shares, payment_ratios, rw_checks
from yibao.synth.payment_history import group_year, history_rows, past_groups
from yibao.synth.payment_mix import POOLS, YearParams
from yibao.synth.payment_region import DISCHARGE_DIED, HIGH, LOW, Region, generate
from yibao.synth.payment_valuation import (
    ClearedYear,
    case_arrays,
    clear_year,
    dip_scores,
    hospital_levels,
    months_of,
    pool_funds,
    rows_of,
)

REGION = Path(__file__).resolve().parents[2] / "regions" / "990100"
CASES = 40_000
YEAR = 2025


@dataclass
class Year:
    region: Region
    view: PolicyView
    groupers: Groupers
    groups: GroupArrays
    past: list[GroupArrays]
    rows: list[hist.HistoryRow]
    budgets: list[norms.SchemeBudget]
    cases: CaseArrays
    priced: PricedArrays
    months: np.ndarray
    cleared: ClearedYear

    def budget(self, pool: str, scheme: str) -> norms.SchemeBudget:
        return next(b for b in self.budgets if (b.pool, b.scheme) == (pool, scheme))


@pytest.fixture(scope="module")
def pack():
    return load_drg_pack()


@pytest.fixture(scope="module")
def year(pack) -> Year:
    region = generate(pack, YearParams(cases=CASES, year=YEAR))
    view = PolicyView.on(REGION, date(YEAR, 1, 1))
    groupers = Groupers(REGION)
    groups = group_year(region.current, region, view, groupers)
    past = [past_groups(y, groups, region, view) for y in region.history]
    rows = history_rows(region.history, past, region, view.policy.trim)
    funds = pool_funds(view, region, region.history[-1], past[-1])
    levels = hospital_levels(region)
    budgets = norms.build(rows, view, YEAR, levels, dip_scores(groupers, YEAR), funds)
    cases = case_arrays(region.current, region)
    priced = price_arrays(cases, groups, {(b.pool, b.scheme): b.norms for b in budgets}, view)
    months = months_of(region.current)
    cleared = clear_year(cases, priced, months, budgets, view)
    return Year(region, view, groupers, groups, past, rows, budgets, cases, priced, months, cleared)


# --- the generator ----------------------------------------------------------------------------------------------


def test_the_region_has_the_shape_of_section_10(year):
    region, cur = year.region, year.region.current
    assert [int((region.hospitals.level == lv).sum()) for lv in (3, 2, 1)] == [4, 12, 44]
    shares = [float((cur.level == lv).mean()) for lv in (3, 2, 1)]
    assert shares == pytest.approx([0.45, 0.35, 0.20], abs=0.02)
    assert float((cur.pool == 0).mean()) == pytest.approx(0.45, abs=0.02)  # 职工; 居民 the rest
    # volume +5 %/yr and cost +3 %/yr: the years' sizes, and the expected cost of the same coding
    sizes = [len(y) for y in (*region.history, cur)]
    assert [b / a for a, b in pairwise(sizes)] == pytest.approx([1.05] * 3, abs=0.001)
    # a past stay is coded like a current one of its level: it costs the same but for a year's inflation
    last = region.history[-1]
    assert last.expected_fen / cur.expected_fen[last.like] == pytest.approx(np.full(len(last), 1 / 1.03))
    cost = cur.cost_fen / FEN
    assert 9_000 < cost.mean() < 12_000  # §10: about 10–11 k overall
    assert cost[cur.level == 3].mean() > cost[cur.level == 2].mean() > cost[cur.level == 1].mean()
    assert 8 <= cur.los.mean() <= 10 and 0.005 <= float((cur.los > 60).mean()) <= 0.015
    assert 0.003 <= float((cur.dscg_way == DISCHARGE_DIED).mean()) <= 0.008
    for pool, (low, high) in enumerate(((0.30, 0.35), (0.45, 0.50))):
        mine = cur.pool == pool
        share = cur.personal_fen[mine] / cur.cost_fen[mine]
        assert low - 0.001 <= share.min() and share.max() <= high + 0.001
        assert (cur.fund_fen + cur.personal_fen == cur.cost_fen).all()
    # cost = expected × (ε or a mixture factor): the realised mean over the expected is the factor's mean
    assert float(cur.cost_fen.sum() / cur.expected_fen.sum()) == pytest.approx(
        region.params.expected_factor(), rel=0.03
    )
    kinds = np.bincount(cur.kind, minlength=3) / len(cur)
    assert kinds[LOW] == pytest.approx(0.04, abs=0.005) and kinds[HIGH] == pytest.approx(0.02, abs=0.005)


def test_the_generator_is_deterministic(pack):
    small = YearParams(cases=2_000, year=YEAR)
    a, b = generate(pack, small), generate(pack, small)
    for got, again in zip((a.current, *a.history), (b.current, *b.history), strict=True):
        assert all(
            np.array_equal(getattr(got, k), getattr(again, k))
            for k, v in vars(got).items()
            if isinstance(v, np.ndarray)
        )
    assert a.hospitals.code == b.hospitals.code and np.array_equal(a.mix.base, b.mix.base)


def test_the_year_groups(year):
    status = np.array([*year.groups.statuses, "none"])[year.groups.status]
    kind = np.array(year.groups.schemes)[year.groups.scheme]
    level = year.region.current.level
    assert (kind[level >= 2] == "drg").all() and (kind[level == 1] == "dip").all()  # the demo policy
    assert float((status[kind == "drg"] == "ok").mean()) >= 0.97  # real codes: CHS-DRG 1.1 groups them
    assert float((status[kind == "dip"] == "ok").mean()) >= 0.97
    dip_type = {r.dip_code: r.dip_type for r in year.groupers.dip_catalogue(date(YEAR, 1, 1)).rows}
    ok = (kind == "dip") & (status == "ok")
    types = np.array([dip_type.get(c, "") for c in year.groups.codes])[year.groups.group[ok]]
    assert float((types == "core").mean()) >= 0.8  # §10: about 85 % of cases in core combinations


# --- the array paths against the case-by-case ones ---------------------------------------------------------------


def test_history_rows_are_what_aggregate_makes(year):
    region = year.region
    past, groups = region.history[-1], year.past[-1]
    status = np.array([*groups.statuses, ""])[groups.status]
    records = [
        hist.CaseRecord(
            past.year,
            POOLS[p],
            region.hospitals.code[h],
            int(region.hospitals.level[h]),
            groups.schemes[s],
            groups.codes[g],
            c,
            los,
            way == DISCHARGE_DIED,
            st_,
        )
        for p, h, s, g, c, los, way, st_ in zip(
            past.pool.tolist(),
            past.hospital.tolist(),
            groups.scheme.tolist(),
            groups.group.tolist(),
            past.cost_fen.tolist(),
            past.los.tolist(),
            past.dscg_way.tolist(),
            status.tolist(),
            strict=True,
        )
        if st_
    ]
    for trim in ("sd3", "p2.5-97.5", "none"):
        assert history_rows([past], [groups], region, trim) == hist.aggregate(records, trim).rows


def one_by_one(case: pp.Case, g: pp.Grouping | None, scheme: str, norms_map, view) -> pp.Priced:
    """The oracle: a case routed by :func:`period.route` and priced alone, with the pricing kernels of
    :mod:`yibao.payment.pricing` on arrays of one (the rules of §3.4–§3.5, §4.4–§4.5, §6 case by case)."""
    r = pp.route(case, scheme, g, view)
    if r.method == pp.PERDIEM:
        return pp.perdiem_priced(case, r.category, view)
    if r.method == pp.FFS:
        return pp.ffs_priced(case, g.group_code if g else "", r.note)
    n = norms_map.get((case.pool, r.method))
    if n is None:
        return pp.ffs_priced(case, g.group_code, f"{case.pool} 基金池无 {r.method.upper()} 预算, 按项目")
    mean = n.mean(g.group_code, case.level)
    if r.method == pp.DIP:
        coef = pp.level_coef4(view, case.level, g.basic)
        p = pricing.dip_points([g.weight4], [g.aux4], [coef], [case.cost_fen], [mean], view.dip_deviation)
        cls, extreme, base, weight, coef4, extra = (
            p.cost_class[0],
            p.extreme[0],
            mean,
            g.weight4,
            g.aux4 * coef // pp.ONE4,
            0,
        )
    elif g.group_code not in n.weights:
        return pp.ffs_priced(case, g.group_code, f"{g.group_code} 无权重, 按项目")
    else:
        weight, coef4 = n.weights[g.group_code], pp.drg_coef4(view, case.level)
        rate = view.fixed_rate(case.pool, case.level) if view.drg.rate_mode == "fixed" else n.pv
        p = pricing.drg_value([weight], [coef4], [case.cost_fen], [mean], rate, view.drg_outlier)
        cls, extreme, extra = p.cost_class[0], False, int(p.extra_fen[0])
        base = int(p.standard_fen[0]) if view.drg.outlier.base == "standard" else mean
    return pp.Priced(
        r.method,
        g.group_code,
        pricing.CLASS_NAMES[int(cls)],
        bool(extreme),
        int(p.r4[0]),
        base,
        weight,
        coef4,
        int(p.points4[0]),
        extra,
    )


def variants(view: PolicyView) -> list[PolicyView]:
    """The demo policy, and one with a fixed DRG rate, outliers against the group mean paid pro rata and the
    level coefficient on DIP deviation cases."""
    pol = view.policy
    drg = dataclasses.replace(
        pol.drg,
        rate_mode="fixed",
        outlier=dataclasses.replace(pol.drg.outlier, base="group_mean", low_method="prorata"),
    )
    return [view, PolicyView(dataclasses.replace(pol, drg=drg, level_coef_on_deviation=True))]


def test_pricing_and_lines_as_arrays_are_pricing_case_by_case(year):
    """:func:`period_pricing.price_arrays` (behind :func:`period_pricing.price`, which the services call)
    against the oracle, and :func:`period_arrays.lines_of` against :func:`period.hospital_lines`, on a sample
    holding every method."""
    region, cur, g = year.region, year.region.current, year.groups
    idx = np.random.default_rng(5).choice(len(cur), 1_500, replace=False)
    cases = [
        pp.Case(
            f"s{i}",
            region.hospitals.code[cur.hospital[i]],
            int(cur.level[i]),
            POOLS[cur.pool[i]],
            cur.dscg_date[i].astype(object),
            int(cur.los[i]),
            bool(cur.dscg_way[i] == DISCHARGE_DIED),
            int(cur.cost_fen[i]),
            int(cur.personal_fen[i]),
            int(cur.fund_fen[i]),
            region.mix.dx[cur.combo[i]],
        )
        for i in idx.tolist()
    ]
    groupings = [
        None
        if g.status[i] < 0
        else pp.Grouping(
            g.schemes[g.scheme[i]],
            g.statuses[g.status[i]],
            g.codes[g.group[i]],
            int(g.weight4[i]),
            int(g.aux4[i]),
            bool(g.basic[i]),
            g.reasons[g.reason[i]],
        )
        for i in idx.tolist()
    ]
    schemes = [g.schemes[g.scheme[i]] for i in idx.tolist()]
    norms_map = {(b.pool, b.scheme): b.norms for b in year.budgets}
    for view in variants(year.view):
        oracle = [
            one_by_one(c, gr, s, norms_map, view) for c, gr, s in zip(cases, groupings, schemes, strict=True)
        ]
        assert price(cases, groupings, schemes, norms_map, view) == oracle
    assert {p.method for p in oracle} == {"drg", "dip", "perdiem", "ffs"}
    assert {p.cost_class for p in oracle} == {"normal", "high", "low"}
    as_arrays = rows_of(year.priced, idx)  # the year's pricing, cut to the sample
    assert as_arrays.priced() == [
        one_by_one(c, gr, s, norms_map, year.view) for c, gr, s in zip(cases, groupings, schemes, strict=True)
    ]
    assert pp.hospital_lines(cases, as_arrays.priced()) == lines_of(rows_of(year.cases, idx), as_arrays)
    # a pool without a budget for a scheme pays that scheme's cases as charged
    partial = {k: v for k, v in norms_map.items() if k != ("390", "dip")}
    got = price(cases, groupings, schemes, partial, year.view)
    assert got == [
        one_by_one(c, gr, s, partial, year.view) for c, gr, s in zip(cases, groupings, schemes, strict=True)
    ]
    assert any(p.note == "390 基金池无 DIP 预算, 按项目" for p in got)


# --- weights, spread, point values, rates ------------------------------------------------------------------------


def test_recomputed_weights_reproduce_the_generators_costs(year):
    """RW from the trimmed history (the norms') against the generator's expected costs, for the DRGs with 200
    or more history cases: within 4 standard errors (CV ÷ √n) plus 3 % for what trimming takes."""
    checks = rw_checks(year.region.history, year.past, year.budget("310", "drg").norms.weights, year.view)
    big = [c for c in checks if c.cases >= 200]
    assert len(big) >= 50
    errors = np.array([c.rw / c.truth - 1 for c in big])
    bounds = np.array([4 * c.cv / np.sqrt(c.cases) + 0.03 for c in big])
    assert (np.abs(errors) <= bounds).all(), [(c.group, e) for c, e in zip(big, errors, strict=True)]
    assert float(np.abs(errors).mean()) <= 0.035
    weights = year.budget("310", "drg").norms.weights
    assert weights == year.budget("390", "drg").norms.weights  # one regional table for both pools


def test_within_group_cv_is_below_one_for_nine_groups_in_ten(year):
    cvs = group_cvs(year.region.current, year.groups, min_cases=10)
    assert len(cvs) >= 200 and float((cvs < 1).mean()) >= 0.9
    assert 0.3 <= float(np.median(cvs)) <= 0.8  # §10: all-in CV around 0.5–0.7


def test_dip_point_value_prices_the_mean_case(year):
    """§3.7 step 6: PV_budget × mean points per case ≈ mean cost per case; at scale 1000 the PV is of the
    order of 10 yuan per point (here primary hospitals' cases, about 5 k yuan)."""
    for pool in ("310", "390"):
        b = year.budget(pool, "dip")
        mine = (year.priced.method == M_DIP) & (year.cases.pool == POOLS.index(pool))
        mean_points = year.priced.points4[mine].mean() / pp.ONE4
        mean_cost = year.cases.cost_fen[mine].mean() / FEN
        assert 0.9 <= float(b.pv_budget) * mean_points / mean_cost <= 1.1, (pool, b.pv_budget, mean_points)
        assert 3 <= float(b.pv_budget) <= 30


def test_drg_rate_is_within_7k_to_20k_and_levels_differ_by_their_coefficients(year):
    for pool in ("310", "390"):
        b = year.budget(pool, "drg")
        settled = year.cleared.values[(pool, "drg")].pv_settle
        assert 7_000 <= b.pv_budget <= 20_000 and 7_000 <= settled <= 20_000
    normal = (year.priced.method == M_DRG) & (year.priced.cost_class == 0)
    level = year.cases.level
    # a floating rate carries the level coefficient in the points: 三级 1.05, 二级 0.95 (the standards' ratio)
    assert set(year.priced.coef4[normal & (level == 3)].tolist()) == {10_500}
    assert set(year.priced.coef4[normal & (level == 2)].tolist()) == {9_500}


# --- hospitals and outliers --------------------------------------------------------------------------------------


def test_payment_ratios_are_mostly_within_0_9_to_1_1(year):
    """Hospitals with 300 or more DRG/DIP cases (smaller ones are a few dozen cases a group: noise): three in
    four pay 0.9–1.1 of their FFS charges; the region as a whole within 5 %."""
    ratios = payment_ratios(year.cleared)
    cases: dict[str, int] = {}
    for ln in year.cleared.lines:
        if ln.method in ("drg", "dip"):
            cases[ln.fixmedins_code] = cases.get(ln.fixmedins_code, 0) + ln.cases
    big = np.array([r for h, r in ratios.items() if cases[h] >= 300])
    assert len(big) >= 16 and float(((big >= 0.9) & (big <= 1.1)).mean()) >= 0.75, big
    pointed = [
        (ln, e)
        for ln, e in zip(year.cleared.lines, year.cleared.entitlements, strict=True)
        if ln.method in ("drg", "dip")
    ]
    overall = sum(e for _, e in pointed) / sum(ln.cost_fen for ln, _ in pointed)
    assert 0.95 <= overall <= 1.05


def test_outlier_shares(year):
    high, low = outlier_shares(year.cases, year.priced, year.budgets)
    assert 0.02 <= high <= 0.05 and 0.03 <= low <= 0.08


# --- the budget identity ------------------------------------------------------------------------------------------


def test_entitlements_share_out_the_budget_to_the_rounding(year):
    residuals = budget_residuals(year.cleared, year.budgets, year.view)
    assert len(residuals) >= 2, "every point value bounded: the identity would go untested"
    for r in residuals:
        assert abs(r.residual) <= r.allowed, r
    for (_, scheme), v in year.cleared.values.items():
        places = year.view.drg.rate_places if scheme == "drg" else year.view.point_value.places
        if v.bound is None:
            assert abs(Fraction(v.pv_settle) - v.pv_exact) <= Fraction(1, 2 * 10**places)


# --- the year does not depend on the months ----------------------------------------------------------------------


def outcome(cy: ClearedYear) -> tuple:
    """What the year owes: PV_settle, and each line's entitlement, year's owing, adjustments and total paid."""
    return (
        {k: (v.pv_settle, v.total_points4, v.extra_fen) for k, v in cy.values.items()},
        [
            (ln[:3], c.entitlement, c.owed_year, c.adjustments, c.pre_settled + c.clearing)
            for ln, c in zip(cy.lines, cy.cleared, strict=True)
        ],
    )


@settings(max_examples=6, deadline=None)
@given(moves=st.lists(st.tuples(st.integers(0, CASES - 1), st.integers(1, 12)), min_size=1, max_size=40))
def test_moving_cases_between_months_leaves_the_year(year, moves):
    months = year.months.copy()
    for i, m in moves:
        months[i] = m
    again = clear_year(year.cases, year.priced, months, year.budgets, year.view)
    assert outcome(again) == outcome(year.cleared)


def test_the_cases_order_changes_nothing(year):
    order = np.random.default_rng(11).permutation(len(year.months))
    cases, groups = rows_of(year.cases, order), rows_of(year.groups, order)
    norms_map = {(b.pool, b.scheme): b.norms for b in year.budgets}
    priced = price_arrays(cases, groups, norms_map, year.view)
    again = clear_year(cases, priced, year.months[order], year.budgets, year.view)
    assert outcome(again) == outcome(year.cleared)
    assert [c.clearing for c in again.cleared] == [c.clearing for c in year.cleared.cleared]
