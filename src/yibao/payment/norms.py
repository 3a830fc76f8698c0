"""The norms of a budget year (预算测算), pure: from the history rows, the policy, the hospitals' levels, the DIP
catalogue's scores and each pool's fund budget, for every pool and scheme in use the fund budget, the budget
point value or rate, the group weights, the prior-year group means by hospital level and the figures the
budget statement shows (payment-drg-dip.md §3.7 step 1, §4.3–§4.4, §5).

:func:`yibao.payment.service.budget.build_budgets` reads the inputs from the store and writes what
:func:`build` returns; the benchmark and the sanity tests call :func:`build` without a database, and price
with the very :class:`~yibao.payment.period.Norms` the store gives back (:func:`norms_of_rows`).

One function per step:

1. :func:`pool_fund` — each pool's fund budget (§5): last year's revenue (the ledger's, or the policy's) ×
   (1 + growth) × (1 − risk reserve) − other outlays;
2. :func:`schemes_used` and :func:`~yibao.payment.history.cost_share_by_scheme` — the schemes the hospitals
   are paid by, and the pool's budget split over them by their weighted history cost;
3. :func:`scheme_budget` — a scheme's budget PV or rate (weighted cost ÷ weighted points, 1 : 2 : 7), its
   total-cost budget and the DRG forecast rate;
4. :func:`norm_rows` / :func:`norms_of_rows` — the group norms as stored, and as pricing reads them back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from yibao.errors import InputError
from yibao.money import fmt_fen
from yibao.payment import history as hist
from yibao.payment.budget import GlobalBudget, global_budget, split_budget
from yibao.payment.exact import fen
from yibao.payment.history import HistoryRow
from yibao.payment.period import DIP, DRG, ONE4, Norms
from yibao.payment.pointvalue import budget_pv, drg_rate, round_pv, total_cost_budget


class PoolFund(NamedTuple):
    """A pool's fund budget (§5) and where last year's revenue came from (``ledger 2024``, ``policy``)."""

    revenue_last: int
    source: str
    budget: GlobalBudget


class DipScores(NamedTuple):
    """The DIP catalogue as the budget reads it: each 病种's score × 10⁴, and the 基层病种."""

    scores: Mapping[str, int]
    basic: Collection[str]


@dataclass(frozen=True)
class SchemeBudget:
    """One pool and scheme's budget for the year: what the store keeps (``values`` of a ``payment_budgets``
    row and its ``norm_rows``) and the :class:`Norms` pricing reads back from it."""

    pool: str
    scheme: str
    fund_budget_fen: int
    total_cost_budget_fen: int
    pv_budget: Decimal
    figures: dict
    norm_rows: list[dict]
    norms: Norms


# --- step 1: the pool's fund budget -------------------------------------------------------------------------


def pool_fund(view, pool: str, year: int, booked_fen: int) -> PoolFund:
    """§5 for one pool: the revenue the ledger booked in ``year − 1`` (``booked_fen``) when it has any, else
    the policy's ``budget.<pool>.revenue_last``."""
    b = view.policy.budget[pool]
    if booked_fen > 0:
        revenue, source = booked_fen, f"ledger {year - 1}"
    elif b.revenue_last is not None:
        revenue, source = b.revenue_last, "policy"
    else:
        raise InputError(
            f"基金池 {pool}: 账本没有 {year - 1} 年基金收入, 支付方式政策也未给 budget.{pool}.revenue_last"
        )
    return PoolFund(revenue, source, global_budget(revenue, b.growth, b.risk_reserve, b.other_outlays))


# --- step 2: schemes and the split ----------------------------------------------------------------------------


def schemes_used(view, levels: Mapping[str, int]) -> list[str]:
    """The case-payment schemes (drg, dip) the hospitals of ``levels`` (code → level) are paid by, sorted."""
    return sorted({view.scheme_of(code, lv) for code, lv in levels.items()} & {DRG, DIP})


def build(
    rows: Iterable[HistoryRow],
    view,
    year: int,
    levels: Mapping[str, int],
    dip: DipScores | None,
    funds: Mapping[str, PoolFund],
) -> list[SchemeBudget]:
    """Every pool and scheme's budget for ``year`` (pools in policy order, schemes sorted): ``rows`` the
    history (the years of the policy's ``history_weights`` are read), ``levels`` the hospitals' levels (code
    → dedc_hosp_lv), ``dip`` the catalogue's scores (needed when a hospital is paid by DIP) and ``funds``
    each pool's fund budget (:func:`pool_fund`)."""
    policy = view.policy
    years = hist.year_weights(year, policy.history_weights)
    rows = [r for r in rows if r.year in years]
    if not rows:
        raise InputError(
            f"没有 {min(years)}–{max(years)} 年的历史数据: 先运行 yibao payment history load 或 history synthetic"
        )
    scheme_of_hospital = {code: view.scheme_of(code, lv) for code, lv in levels.items()}
    used = schemes_used(view, levels)
    if DIP in used and dip is None:
        raise ValueError(
            "DIP 医院需要病种目录的分值 (a hospital is paid by DIP: pass the catalogue's scores)"
        )
    regional = compact(rows)
    weights = {
        DRG: hist.drg_weights(regional, years) if DRG in used else {},
        DIP: dict(dip.scores) if dip else {},
    }
    built = []
    for pool in policy.pools:
        mine = [r for r in rows if r.pool == pool]
        fund = funds[pool]
        shares = hist.cost_share_by_scheme(compact(mine, by_hospital=True), scheme_of_hospital.get, years)
        parts = (
            split_budget(fund.budget.case_budget_fen, {k: v for k, v in shares.items() if k in used and v})
            if shares
            else {}
        )
        for scheme in used:
            if scheme in parts:
                under = compact(
                    r for r in mine if scheme_of_hospital.get(r.fixmedins_code) == scheme and r.kind == scheme
                )
                basic = dip.basic if scheme == DIP and dip else ()
                built.append(
                    scheme_budget(
                        view, year, pool, scheme, fund, parts[scheme], shares, under, regional, weights, basic
                    )
                )
    return built


def compact(rows: Iterable[HistoryRow], *, by_hospital: bool = False) -> list[HistoryRow]:
    """The rows summed over hospitals (per year × pool × level × kind × group; ``fixmedins_code`` ``""``), or
    with ``by_hospital`` over groups (per year × pool × hospital × kind; ``group_code`` ``""``): the sums the
    norms take are the same, over far fewer rows (a region's history has a row per hospital and group).
    Rows without cases are left out of the regional sums, as every norm leaves them out; by hospital they
    stay, since the budget split counts their cost."""
    sums: dict[tuple, list[int]] = {}
    for r in rows:
        if by_hospital:
            key = (r.year, r.pool, r.fixmedins_code, r.level, r.kind, "")
        elif r.cases > 0:
            key = (r.year, r.pool, "", r.level, r.kind, r.group_code)
        else:
            continue
        acc = sums.setdefault(key, [0, 0, 0, 0])
        acc[0] += r.cases
        acc[1] += r.cost_fen
        acc[2] += r.los_days
        acc[3] += r.deaths
    return [HistoryRow(*key, *acc) for key, acc in sums.items()]


# --- step 3: one scheme's budget ------------------------------------------------------------------------------


def scheme_budget(
    view,
    year: int,
    pool: str,
    scheme: str,
    fund: PoolFund,
    fund_budget_fen: int,
    shares: Mapping[str, int],
    under: Sequence[HistoryRow],
    rows: Sequence[HistoryRow],
    weights: Mapping[str, Mapping[str, int]],
    basic: Collection[str],
) -> SchemeBudget:
    """The budget of ``scheme`` in ``pool``: PV_budget = Σ w·cost ÷ Σ w·points over the years both have, of
    the scheme's hospitals' rows ``under``; the total-cost budget; the norms from every pool's rows
    (``rows``: they may be :func:`compact`)."""
    policy = view.policy
    years = hist.year_weights(year, policy.history_weights)
    coef4 = {lv: int(c * ONE4) for lv, c in view.level_coef.items()}
    group_weights = weights[scheme]
    cost = hist.history_cost(under, scheme, groups=group_weights)
    pts = hist.history_points(under, scheme, group_weights, coef4, basic=basic)
    common = sorted(set(cost) & set(pts))
    if not common:
        raise InputError(f"基金池 {pool} 的 {scheme.upper()} 医院没有可用的历史数据, 无法测算预算点值")
    w = [years[y] for y in common]
    places = policy.drg.rate_places if scheme == DRG else policy.point_value.places
    pv = round_pv(budget_pv([cost[y] for y in common], [pts[y] for y in common], w), places)
    tcb = total_cost_budget(fund_budget_fen, view.fund_share(pool))
    figures = {
        "revenue_last": fmt_fen(fund.revenue_last),
        "revenue_source": fund.source,
        "projected_revenue": fmt_fen(fund.budget.projected_revenue_fen),
        "after_reserve": fmt_fen(fund.budget.after_reserve_fen),
        "other_outlays": fmt_fen(fund.budget.other_outlays_fen),
        "case_budget": fmt_fen(fund.budget.case_budget_fen),
        "scheme_share_cost": {k: fmt_fen(v) for k, v in shares.items()},
        "history": {
            str(y): {"cost": fmt_fen(cost[y]), "points": str(Decimal(pts[y]) / ONE4)} for y in common
        },
        "groups": len(group_weights),
    }
    if scheme == DRG:
        fw = hist.forecast_weight4(under, max(years), group_weights, policy.drg.volume_growth)
        figures["forecast_weight"] = str(Decimal(fw) / ONE4)
        figures["forecast_rate"] = str(round_pv(drg_rate(tcb, fw), places)) if fw else None
    stored = norm_rows(rows, year - 1, scheme, group_weights)
    return SchemeBudget(
        pool, scheme, fund_budget_fen, fen(tcb), pv, figures, stored, norms_of_rows(scheme, pool, pv, stored)
    )


# --- step 4: the group norms ----------------------------------------------------------------------------------


def norm_rows(
    rows: Iterable[HistoryRow], prior_year: int, kind: str, weights: Mapping[str, int]
) -> list[dict]:
    """A budget's norm rows: each weighted group at level 0 (its weight and all-level mean) and its prior-year
    mean at each level (the means are regional: every pool's cases)."""
    rows = list(rows)
    means = hist.level_means(rows, prior_year, kind)
    counts: dict[tuple[str, int], int] = {}
    for r in rows:
        if r.kind == kind and r.year == prior_year:
            for lv in (r.level, 0):
                counts[(r.group_code, lv)] = counts.get((r.group_code, lv), 0) + r.cases
    out = [
        {
            "group_code": g,
            "level": 0,
            "weight4": w,
            "mean_fen": means.get((g, 0), 0),
            "cases": counts.get((g, 0), 0),
        }
        for g, w in sorted(weights.items())
    ]
    out += [
        {
            "group_code": g,
            "level": lv,
            "weight4": weights.get(g, 0),
            "mean_fen": m,
            "cases": counts.get((g, lv), 0),
        }
        for (g, lv), m in sorted(means.items())
        if lv
    ]
    return out


def norms_of_rows(scheme: str, pool: str, pv: Decimal, rows: Iterable[Mapping]) -> Norms:
    """The :class:`Norms` a budget's stored norm rows give (as :func:`yibao.store.payment_budgets.norms_of_year`
    reads them): the weights from the level-0 rows, the means from every row."""
    weights: dict[str, int] = {}
    means: dict[tuple[str, int], int] = {}
    for r in rows:
        if r["level"] == 0:
            weights[r["group_code"]] = r["weight4"]
        means[(r["group_code"], r["level"])] = r["mean_fen"]
    return Norms(scheme, pool, pv, weights, means)
