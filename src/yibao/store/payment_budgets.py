"""Budgets in the store (总额预算): a year's budget of each pool and scheme with its group norms, written as
a new version (the one before stays, no longer current), and read back as the :class:`Norms` runs price by."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.payment.period import Norms
from yibao.store import audit
from yibao.store.bulk import insert_rows
from yibao.store.tables import PaymentBudget, PaymentNorm


def current_budgets(s: Session, year: int) -> list[PaymentBudget]:
    return list(
        s.scalars(
            select(PaymentBudget)
            .where(PaymentBudget.year == year, PaymentBudget.is_current.is_(True))
            .order_by(PaymentBudget.pool, PaymentBudget.scheme)
        )
    )


def norms_of_year(s: Session, year: int) -> dict[tuple[str, str], Norms]:
    """The current budgets of ``year`` as norms, by (pool, scheme); empty when none was built."""
    out: dict[tuple[str, str], Norms] = {}
    for b in current_budgets(s, year):
        weights: dict[str, int] = {}
        means: dict[tuple[str, int], int] = {}
        for group, level, weight4, mean in s.execute(
            select(
                PaymentNorm.group_code, PaymentNorm.level, PaymentNorm.weight4, PaymentNorm.mean_fen
            ).where(PaymentNorm.budget_id == b.id)
        ):
            if level == 0:
                weights[group] = weight4
            means[(group, level)] = mean
        out[(b.pool, b.scheme)] = Norms(b.scheme, b.pool, Decimal(b.pv_budget), weights, means)
    return out


def write_budget(
    s: Session,
    *,
    year: int,
    pool: str,
    scheme: str,
    values: dict,
    norms: list[dict],
    actor: str,
    now: datetime,
) -> PaymentBudget:
    """A new current budget of (year, pool, scheme) with its norms; the one before kept, not current."""
    before = s.scalar(
        select(PaymentBudget).where(
            PaymentBudget.year == year,
            PaymentBudget.pool == pool,
            PaymentBudget.scheme == scheme,
            PaymentBudget.is_current.is_(True),
        )
    )
    version = 1 + (
        s.scalar(
            select(func.max(PaymentBudget.version)).where(
                PaymentBudget.year == year, PaymentBudget.pool == pool, PaymentBudget.scheme == scheme
            )
        )
        or 0
    )
    if before is not None:
        s.execute(update(PaymentBudget).where(PaymentBudget.id == before.id).values(is_current=False))
    new = PaymentBudget(
        year=year,
        pool=pool,
        scheme=scheme,
        version=version,
        is_current=True,
        created_at=now,
        created_by=actor,
        **values,
    )
    s.add(new)
    s.flush()
    insert_rows(s, PaymentNorm, [{**n, "budget_id": new.id} for n in norms])
    audit.record(
        s,
        actor=actor,
        action=Action.BUDGET,
        entity="payment_budget",
        entity_id=f"{year}:{pool}:{scheme}",
        before=None if before is None else {"version": before.version, "pv_budget": before.pv_budget},
        after={
            "version": version,
            "pv_budget": values["pv_budget"],
            "fund_budget_fen": values["fund_budget_fen"],
        },
    )
    return new
