"""The norms of a budget year (yibao.payment.norms), on hand-made history rows with the arithmetic in comments:
the fund budget (§5), its split over DRG and DIP by weighted history cost, the DRG weights, the budget point
value and rate (§3.7 step 1, 1 : 2 : 7), the forecast rate (§4.4) and the group norms, as stored and as
pricing reads them back. The demo policy (regions/990100, 2025): level coefficients 0.75 / 0.95 / 1.05, 基层病种
at 1, DRG rates to 2 places and point values to 4; the 职工 pool's budget figures are pinned by the fixture."""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from yibao.errors import InputError
from yibao.payment import norms
from yibao.payment.budget import GlobalBudget
from yibao.payment.history import HistoryRow
from yibao.payment.policy_view import PolicyView

REGION = Path(__file__).resolve().parents[2] / "regions" / "990100"
YEAR = 2025
H3, H1 = "H99019300001", "H99019100001"  # a 三级 hospital (DRG) and a 一级 one (DIP)
LEVELS = {H3: 3, H1: 1}
SCORES = norms.DipScores({"D1": 1000_0000, "D2": 500_0000, "K29.5-00": 400_0000}, {"K29.5-00"})
YUAN = 100


@pytest.fixture(scope="module")
def view() -> PolicyView:
    """The demo policy with the 职工 pool's figures these hand computations use (the demo's own are calibrated
    to its scale and may move): fund share 0.50, other outlays 30,000,000.00, revenue_last 38,000,000.00."""
    pol = PolicyView.on(REGION, date(YEAR, 1, 1)).policy
    pool = dataclasses.replace(pol.pools["310"], fund_share="0.50")
    budget = dataclasses.replace(pol.budget["310"], other_outlays="30000000.00", revenue_last="38000000.00")
    return PolicyView(
        dataclasses.replace(pol, pools={**pol.pools, "310": pool}, budget={**pol.budget, "310": budget})
    )


def drg(year: int, group: str, cases: int, mean_yuan: int, pool: str = "310") -> HistoryRow:
    return HistoryRow(year, pool, H3, 3, "drg", group, cases, cases * mean_yuan * YUAN, cases * 8, 0)


def dip(year: int, group: str, cases: int, mean_yuan: int, pool: str = "310") -> HistoryRow:
    return HistoryRow(year, pool, H1, 1, "dip", group, cases, cases * mean_yuan * YUAN, cases * 6, 0)


def history() -> list[HistoryRow]:
    """Three years at the 三级 hospital (DRG) and the 一级 one (DIP), 职工 only; 2024's DRG costs 10 % up."""
    rows = []
    for year in (2022, 2023, 2024):
        up = 11 if year == 2024 else 10
        rows += [drg(year, "GB11", 10, 2_000 * up), drg(year, "GC19", 30, 500 * up)]
        rows += [dip(year, "D1", 20, 3_000), dip(year, "K29.5-00", 50, 1_000), dip(year, "D9", 5, 2_000)]
    return rows


def funds(view) -> dict[str, norms.PoolFund]:
    return {pool: norms.pool_fund(view, pool, YEAR, 50_000_000 * YUAN) for pool in ("310", "390")}


def built(view, rows=None) -> dict[tuple[str, str], norms.SchemeBudget]:
    got = norms.build(history() if rows is None else rows, view, YEAR, LEVELS, SCORES, funds(view))
    return {(b.pool, b.scheme): b for b in got}


def test_pool_fund_from_the_ledger_else_the_policy(view):
    # 50,000,000.00 booked in 2024: × 1.06 = 53,000,000.00; × (1 − 0.03) = 51,410,000.00; − 30,000,000.00 other
    # outlays (the policy's 职工 figure) = 21,410,000.00 for DRG and DIP
    got = norms.pool_fund(view, "310", YEAR, 50_000_000 * YUAN)
    assert got == norms.PoolFund(
        50_000_000 * YUAN,
        "ledger 2024",
        GlobalBudget(53_000_000 * YUAN, 51_410_000 * YUAN, 30_000_000 * YUAN, 21_410_000 * YUAN),
    )
    # nothing booked: the policy's revenue_last (38,000,000.00 × 1.06 × 0.97 − 30,000,000.00 = 9,071,600.00)
    policy = norms.pool_fund(view, "310", YEAR, 0)
    assert policy.source == "policy" and policy.budget.case_budget_fen == 9_071_600 * YUAN
    pol = view.policy
    bare = dataclasses.replace(pol.budget["310"], revenue_last=None)
    no_revenue = PolicyView(dataclasses.replace(pol, budget={**pol.budget, "310": bare}))
    with pytest.raises(InputError, match="基金池 310: 账本没有 2024 年基金收入"):
        norms.pool_fund(no_revenue, "310", YEAR, 0)


def test_drg_budget_weights_and_rate(view):
    b = built(view)[("310", "drg")]
    # RW: m_GB11 = 0.1·20,000 + 0.2·20,000 + 0.7·22,000 = 21,400; M = 0.1·8,750 + 0.2·8,750 + 0.7·9,625 = 9,362.5
    # → 2.285714… = 22857 (×10⁴); GC19: 5,350 ÷ 9,362.5 = 0.571428… = 5714 (inflation alone leaves RW alone)
    assert b.norms.weights == {"GB11": 22857, "GC19": 5714}
    # points a year: (10 × 2.2857 + 30 × 0.5714) × 1.05 = 41.99895 → 41.9990 (half up at 1e-4)
    # weighted cost: 0.1·350,000 + 0.2·350,000 + 0.7·385,000 = 374,500 → rate 374,500 ÷ 41.999 = 8,916.8789… → 8,916.88
    assert b.pv_budget == D("8916.88") and b.norms.pv == D("8916.88")
    # the pool's 21,410,000.00 split by weighted history cost, DRG 374,500 : DIP 120,000 (D9 without a score
    # counts in the split): 16,214,448.938… and 5,195,551.061… → floors, the spare fen to the larger remainder
    assert b.fund_budget_fen == 1_621_444_894
    assert built(view)[("310", "dip")].fund_budget_fen == 519_555_106
    assert b.total_cost_budget_fen == 3_242_889_788  # ÷ fund share 0.50
    # forecast: 2024's 10 × 2.2857 + 30 × 0.5714 = 39.999 RW × 1.05 = 41.99895 → 41.9990;
    # 32,428,897.88 ÷ 41.999 = 772,135.0003… (a tiny history against the policy's budget)
    assert b.figures["forecast_weight"] == "41.999" and b.figures["forecast_rate"] == "772135.00"
    assert b.figures["history"] == {
        "2022": {"cost": "350000.00", "points": "41.999"},
        "2023": {"cost": "350000.00", "points": "41.999"},
        "2024": {"cost": "385000.00", "points": "41.999"},
    }
    assert b.figures["revenue_source"] == "ledger 2024" and b.figures["case_budget"] == "21410000.00"
    assert (
        b.figures["scheme_share_cost"] == {"dip": "120000.00", "drg": "374500.00"}
        and b.figures["groups"] == 2
    )


def test_dip_budget_scores_basic_groups_and_means(view):
    b = built(view)[("310", "dip")]
    # points a year: D1 20 × 1000 × 0.75 = 15,000; K29.5-00 (基层病种, coefficient 1) 50 × 400 = 20,000;
    # D9 has no score and counts neither points nor cost → 110,000 ÷ 35,000 = 3.142857… → 3.1429
    assert b.pv_budget == D("3.1429")
    assert b.total_cost_budget_fen == 1_039_110_212  # 5,195,551.06 ÷ 0.50
    assert b.norms.weights == dict(SCORES.scores)  # the catalogue's scores, every 病种
    # the prior year's (2024) means: by level and for every level; D9 has a mean but no weight
    assert b.norms.mean("D1", 1) == 3_000 * YUAN and b.norms.mean("D1", 3) == 3_000 * YUAN  # level 0's
    assert b.norms.mean("D9", 1) == 2_000 * YUAN and b.norms.mean("D2", 1) == 0  # no case last year
    rows = {(r["group_code"], r["level"]): r for r in b.norm_rows}
    assert rows[("D1", 0)] == {
        "group_code": "D1",
        "level": 0,
        "weight4": 1000_0000,
        "mean_fen": 300_000,
        "cases": 20,
    }
    assert (
        rows[("D9", 1)]["weight4"] == 0 and ("D9", 0) not in rows
    )  # stored at its level, not as a weighted group
    assert "forecast_rate" not in b.figures


def test_a_pool_without_history_gets_no_budget(view):
    assert sorted(built(view)) == [("310", "dip"), ("310", "drg")]  # 居民 has no rows


def test_the_norms_read_back_are_the_stored_rows(view):
    for b in built(view).values():
        again = norms.norms_of_rows(b.scheme, b.pool, b.pv_budget, b.norm_rows)
        assert again == b.norms
        level0 = {r["group_code"]: r["weight4"] for r in b.norm_rows if r["level"] == 0}
        assert again.weights == level0


def test_row_order_and_splitting_change_nothing(view):
    """The norms are sums: the rows in any order, a row's cases split over two rows, and rows of other years
    or of no cases beside them give the same budgets."""
    rows = history()
    split = []
    for r in rows:
        half = r.cases // 2
        if half and r.group_code == "GC19":
            a = r._replace(cases=half, cost_fen=r.cost_fen // 3, los_days=r.los_days // 2)
            split += [
                a,
                r._replace(
                    cases=r.cases - half, cost_fen=r.cost_fen - a.cost_fen, los_days=r.los_days - a.los_days
                ),
            ]
        else:
            split.append(r)
    noise = [drg(2019, "GB11", 99, 1), drg(2024, "GB11", 0, 0)]
    random.Random(7).shuffle(split)
    assert built(view, split + noise) == built(view)


def test_refusals(view):
    with pytest.raises(InputError, match="没有 2022–2024 年的历史数据"):
        norms.build([drg(2019, "GB11", 1, 1)], view, YEAR, LEVELS, SCORES, funds(view))
    with pytest.raises(ValueError, match="DIP"):
        norms.build(history(), view, YEAR, LEVELS, None, funds(view))
    # DRG hospitals only: no catalogue needed
    only = norms.build(history(), view, YEAR, {H3: 3}, None, funds(view))
    assert [(b.pool, b.scheme) for b in only] == [("310", "drg")]
    assert norms.schemes_used(view, LEVELS) == ["dip", "drg"] and norms.schemes_used(view, {H3: 2}) == ["drg"]
    # DIP hospitals whose rows have no scored group: no points, no budget point value
    with pytest.raises(InputError, match="基金池 310 的 DIP 医院没有可用的历史数据"):
        norms.build(
            [r for r in history() if r.group_code in ("D9", "GB11")], view, YEAR, LEVELS, SCORES, funds(view)
        )


def test_compact_keeps_every_sum(view):
    rows = [*history(), drg(2024, "GB11", 0, 0)]
    regional = norms.compact(rows)
    assert sum(r.cases for r in regional) == sum(r.cases for r in rows)
    assert sum(r.cost_fen for r in regional) == sum(r.cost_fen for r in rows)
    assert all(r.fixmedins_code == "" and r.cases > 0 for r in regional)
    by_hospital = norms.compact(rows, by_hospital=True)
    assert {(r.year, r.fixmedins_code, r.kind) for r in by_hospital} == {
        (r.year, r.fixmedins_code, r.kind) for r in rows
    }
    assert len(by_hospital) == 6 and all(r.group_code == "" for r in by_hospital)
