"""总额预算: each pool's DRG/DIP fund budget for a year (§5: last year's revenue × (1 + growth) × (1 − risk
reserve) − other outlays; the revenue from the ledger where it has the year, from the policy where not),
split over the schemes by their hospitals' weighted history cost, with each scheme's budget point value or
rate (§3.7 step 1: weighted cost ÷ weighted points, 1 : 2 : 7) and its group norms (weights or scores, and
the prior year's group means by hospital level)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import InputError
from yibao.funds.ledger import FUND_INCOME
from yibao.money import fmt_fen
from yibao.payment import history as hist
from yibao.payment.budget import global_budget, split_budget
from yibao.payment.dip_catalogue import load_dip_catalogue
from yibao.payment.exact import fen
from yibao.payment.period import DIP, DRG, ONE4
from yibao.payment.pointvalue import budget_pv, drg_rate, round_pv, total_cost_budget
from yibao.payment.policy_view import PolicyView
from yibao.store import payment_budgets
from yibao.store.payment_history import history_rows, institution_levels
from yibao.store.tables import LedgerEntry, LedgerPosting, PaymentBudget


def ledger_revenue(s: Session, pool_fund: str, year: int) -> int:
    """The pool fund's income booked in ``year`` (credits of ``fund_income``), fen; 0 when none."""
    total = s.scalar(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(
            LedgerPosting.account == FUND_INCOME,
            LedgerPosting.fund_pay_type == pool_fund,
            LedgerEntry.book_date >= date(year, 1, 1),
            LedgerEntry.book_date < date(year + 1, 1, 1),
        )
    )
    return -int(total or 0)


def build_budgets(
    s: Session, region_dir: Path, year: int, *, actor: str, now: datetime
) -> list[PaymentBudget]:
    """Build and store ``year``'s budgets (a new current version of each); the stored rows."""
    view = PolicyView.on(region_dir, date(year, 1, 1))
    policy = view.policy
    years = hist.year_weights(year, policy.history_weights)
    rows = history_rows(s, list(years))
    if not rows:
        raise InputError(
            f"没有 {min(years)}–{max(years)} 年的历史数据: 先运行 yibao payment history load 或 history synthetic"
        )
    levels = institution_levels(s)
    scheme_of_hospital = {code: view.scheme_of(code, lv) for code, lv in levels.items()}
    coef4 = {lv: int(c * ONE4) for lv, c in view.level_coef.items()}
    used = sorted({s_ for s_ in scheme_of_hospital.values() if s_ in (DRG, DIP)})
    drg_rw = hist.drg_weights(rows, years) if DRG in used else {}
    dip_scores, basic = dip_norms(region_dir) if DIP in used else ({}, set())
    built = []
    for pool in policy.pools:
        mine = [r for r in rows if r.pool == pool]
        fund = pool_budget(s, view, pool, year)
        shares = hist.cost_share_by_scheme(mine, lambda code: scheme_of_hospital.get(code), years)
        parts = (
            split_budget(fund.budget.case_budget_fen, {k: v for k, v in shares.items() if k in used and v})
            if shares
            else {}
        )
        for scheme in used:
            if scheme not in parts:
                continue
            weights = drg_rw if scheme == DRG else dip_scores
            under = [
                r for r in mine if scheme_of_hospital.get(r.fixmedins_code) == scheme and r.kind == scheme
            ]
            cost = hist.history_cost(under, scheme, groups=weights)
            pts = hist.history_points(under, scheme, weights, coef4, basic=basic if scheme == DIP else ())
            common = sorted(set(cost) & set(pts))
            if not common:
                raise InputError(
                    f"基金池 {pool} 的 {scheme.upper()} 医院没有可用的历史数据, 无法测算预算点值"
                )
            w = [years[y] for y in common]
            places = policy.drg.rate_places if scheme == DRG else policy.point_value.places
            pv = round_pv(budget_pv([cost[y] for y in common], [pts[y] for y in common], w), places)
            tcb = total_cost_budget(parts[scheme], view.fund_share(pool))
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
                "groups": len(weights),
            }
            if scheme == DRG:
                fw = hist.forecast_weight4([r for r in under], max(years), drg_rw, policy.drg.volume_growth)
                figures["forecast_weight"] = str(Decimal(fw) / ONE4)
                figures["forecast_rate"] = str(round_pv(drg_rate(tcb, fw), places)) if fw else None
            norms = norm_rows(rows, year - 1, scheme, weights, pool)
            built.append(
                payment_budgets.write_budget(
                    s,
                    year=year,
                    pool=pool,
                    scheme=scheme,
                    values={
                        "fund_budget_fen": parts[scheme],
                        "total_cost_budget_fen": fen(tcb),
                        "pv_budget": str(pv),
                        "policy_version": view.version,
                        "figures": figures,
                    },
                    norms=norms,
                    actor=actor,
                    now=now,
                )
            )
    return built


class PoolFund:
    def __init__(self, revenue_last: int, source: str, budget):
        self.revenue_last, self.source, self.budget = revenue_last, source, budget


def pool_budget(s: Session, view: PolicyView, pool: str, year: int) -> PoolFund:
    """§5 for one pool: the revenue from the ledger's ``year − 1`` when it has it, else the policy's figure."""
    b = view.policy.budget[pool]
    booked = ledger_revenue(s, view.pool_fund(pool), year - 1)
    if booked > 0:
        revenue, source = booked, f"ledger {year - 1}"
    elif b.revenue_last is not None:
        revenue, source = b.revenue_last, "policy"
    else:
        raise InputError(
            f"基金池 {pool}: 账本没有 {year - 1} 年基金收入, 支付方式政策也未给 budget.{pool}.revenue_last"
        )
    return PoolFund(revenue, source, global_budget(revenue, b.growth, b.risk_reserve, b.other_outlays))


def dip_norms(region_dir: Path) -> tuple[dict[str, int], set[str]]:
    """The DIP catalogue's scores (× 10⁴) by 病种 code, and its 基层病种."""
    cat = load_dip_catalogue(region_dir / "payment", region_dir.name)
    scores = {r.dip_code: int(r.score * ONE4) for r in cat.rows}
    return scores, {r.dip_code for r in cat.rows if r.dip_type == "basic"}


def norm_rows(rows, prior_year: int, kind: str, weights: dict[str, int], pool: str) -> list[dict]:
    """A budget's norm rows: each weighted group at level 0 (its weight and all-level mean) and its prior-year
    mean at each level (the means are regional: every pool's cases)."""
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
