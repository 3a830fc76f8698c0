"""Screening (筛查) of the settled data in the database: a year, with the year before as its baseline, from a
period snapshot of the audit view; the opened leads and the head of each pattern's ranking kept in the
``screening_lead`` table (a new screening of the year replaces them), where the console reads them. ``yibao
screening run --year`` and the console's background job both come here; ``yibao screening evaluate --year``
scores a screening against the labels ``yibao demo --fraud`` stored (:func:`labels`).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, select

from yibao.audit_actions import Action
from yibao.store import audit, audit_view
from yibao.store.db import unit_of_work
from yibao.store.tables import ScreeningLabel, ScreeningLead
from yibao.supervision.screening import run as screening
from yibao.supervision.screening.evaluate import Label
from yibao.supervision.screening.params import ScreeningParams

SHOWN_PER_PATTERN = 10  # the head of each ranking kept beside the opened leads


def screen_year(
    year: int,
    params: ScreeningParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> screening.Screening:
    """Every detector over ``year`` of the database's settled data (``progress`` hears "snapshot", then each
    pattern)."""
    with tempfile.TemporaryDirectory(prefix="yibao-screening-") as tmp:
        with unit_of_work(write=False) as s:
            audit_view.snapshot_period(s, date(year - 1, 1, 1), date(year, 12, 31), Path(tmp), 0, set())
        if progress:
            progress("snapshot")
        return screening.screen(Path(tmp), year, params, progress=progress)


def _plain(value):
    """A lead's value as JSON keeps it: NaN as null, anything else not JSON-native as text."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def save(result: screening.Screening, actor: str, capacity: dict[str, int] | None = None) -> int:
    """Keep the opened leads (at ``capacity``) and each ranking's head for the console, replacing the year's
    earlier screening; the number kept."""
    opened = {(x.pattern, x.entity_id) for x in result.leads(capacity or {})}
    kept = [
        x
        for ranked in result.ranked.values()
        for x in ranked
        if (x.pattern, x.entity_id) in opened or x.rank <= SHOWN_PER_PATTERN
    ]
    at = datetime.now().replace(microsecond=0)
    with unit_of_work() as s:
        s.execute(delete(ScreeningLead).where(ScreeningLead.year == result.year))
        s.add_all(
            ScreeningLead(
                year=result.year,
                screened_at=at,
                screened_by=actor[:64],
                pattern=x.pattern,
                entity_type=x.entity_type,
                entity_id=x.entity_id,
                rank=x.rank,
                opened=(x.pattern, x.entity_id) in opened,
                data=json.loads(json.dumps(asdict(x), ensure_ascii=False, default=_plain)),
            )
            for x in kept
        )
        audit.record(
            s,
            actor=actor,
            action=Action.SCREEN,
            entity="screening",
            entity_id=str(result.year),
            after={"leads": len(kept), "opened": len(opened)},
        )
    return len(kept)


def latest(year: int) -> dict | None:
    """The year's latest screening as kept: ``{"year", "at", "by", "leads": [lead with "opened"]}``."""
    with unit_of_work(write=False) as s:
        rows = s.scalars(
            select(ScreeningLead).where(ScreeningLead.year == year).order_by(ScreeningLead.id)
        ).all()
        if not rows:
            return None
        return {
            "year": year,
            "at": rows[0].screened_at.isoformat(timespec="seconds"),
            "by": rows[0].screened_by,
            "leads": [{**r.data, "opened": r.opened} for r in rows],
        }


def labels() -> list[Label]:
    """The fraud and decoys ``yibao demo --fraud`` injected (for evaluation only)."""
    with unit_of_work(write=False) as s:
        return [
            Label(r.entity_type, r.entity_id, r.pattern, int(r.injected_loss_fen), bool(r.decoy))
            for r in s.scalars(select(ScreeningLabel).order_by(ScreeningLabel.id))
        ]
