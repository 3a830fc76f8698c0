"""总额预算: each pool's DRG/DIP fund budget for a year (§5: last year's revenue × (1 + growth) × (1 − risk
reserve) − other outlays; the revenue from the ledger where it has the year, from the policy where not),
split over the schemes by their hospitals' weighted history cost, with each scheme's budget point value or
rate (§3.7 step 1: weighted cost ÷ weighted points, 1 : 2 : 7) and its group norms (weights or scores, and
the prior year's group means by hospital level). The arithmetic is :mod:`yibao.payment.norms`'s: this
module reads its inputs from the store and writes the budgets it returns."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import InputError
from yibao.funds.ledger import FUND_INCOME
from yibao.payment import history as hist
from yibao.payment import norms
from yibao.payment.dip_catalogue import load_dip_catalogue
from yibao.payment.period import DIP, ONE4
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
    """Build and store ``year``'s budgets (a new current version of each); the stored rows. The arithmetic is
    :func:`yibao.payment.norms.build`'s; this reads its inputs (history, levels, the ledger's revenue) and
    writes what it returns."""
    view = PolicyView.on(region_dir, date(year, 1, 1))
    years = hist.year_weights(year, view.policy.history_weights)
    rows = history_rows(s, list(years))
    if not rows:
        raise InputError(
            f"没有 {min(years)}–{max(years)} 年的历史数据: 先运行 yibao payment history load 或 history synthetic"
        )
    levels = institution_levels(s)
    dip = dip_norms(region_dir) if DIP in norms.schemes_used(view, levels) else None
    funds = {pool: pool_budget(s, view, pool, year) for pool in view.policy.pools}
    return [
        payment_budgets.write_budget(
            s,
            year=year,
            pool=b.pool,
            scheme=b.scheme,
            values={
                "fund_budget_fen": b.fund_budget_fen,
                "total_cost_budget_fen": b.total_cost_budget_fen,
                "pv_budget": str(b.pv_budget),
                "policy_version": view.version,
                "figures": b.figures,
            },
            norms=b.norm_rows,
            actor=actor,
            now=now,
        )
        for b in norms.build(rows, view, year, levels, dip, funds)
    ]


def pool_budget(s: Session, view: PolicyView, pool: str, year: int) -> norms.PoolFund:
    """§5 for one pool: the revenue from the ledger's ``year − 1`` when it has it, else the policy's figure."""
    return norms.pool_fund(view, pool, year, ledger_revenue(s, view.pool_fund(pool), year - 1))


def dip_norms(region_dir: Path) -> norms.DipScores:
    """The DIP catalogue's scores (× 10⁴) by 病种 code, and its 基层病种."""
    cat = load_dip_catalogue(region_dir / "payment", region_dir.name)
    scores = {r.dip_code: int(r.score * ONE4) for r in cat.rows}
    return norms.DipScores(scores, {r.dip_code for r in cat.rows if r.dip_type == "basic"})
