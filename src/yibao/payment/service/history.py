"""Deriving the demo's history years (历史数据, synthetic): the settled year's cases grouped, trimmed and
aggregated, and the years before it derived from them (payment/history.py), both stored in place of what
those years held. ``yibao payment history synthetic`` and ``yibao demo`` call it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine

from yibao.payment.history import Aggregated, HistoryRow, aggregate, synthetic_history
from yibao.store.db import unit_of_work
from yibao.store.payment_history import replace_history, schemes_in_effect, settled_year_cases


def derive_synthetic(
    engine: Engine,
    year: int,
    catalogue,
    trim: str,
    *,
    years: int = 3,
    growth: Decimal = Decimal("0.05"),
    inflation: Decimal = Decimal("0.03"),
    seed: int = 990100,
    actor: str,
    progress: Callable[[int], None] = lambda n: None,
) -> tuple[Aggregated, list[HistoryRow]]:
    """Store ``year``'s settled cases (source ``settled``) and ``years`` derived years before it (source
    ``synthetic``); what was aggregated and what was derived. Nothing is stored when the year has no case."""
    with unit_of_work(engine, write=False) as s:
        records = settled_year_cases(s, year, None, schemes_in_effect(catalogue), progress=progress)
    done = aggregate(records, trim)
    if not done.rows:
        return done, []
    past = synthetic_history(done.rows, year, years, growth, inflation, seed)
    now = datetime.now()
    with unit_of_work(engine) as s:
        replace_history(s, done.rows, "settled", now, actor=actor)
        replace_history(s, past, "synthetic", now, actor=actor)
    return done, past
