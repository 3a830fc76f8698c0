"""Screening (筛查) of the settled data in the database: a year, with the year before as its baseline, from a
period snapshot of the audit view; the opened leads and the head of each pattern's ranking kept in the data
folder (``screening/leads-<year>.json``), where the console reads them. ``yibao screening run --year`` and the
console's background job both come here."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

from yibao.config import get_settings
from yibao.store import audit_view
from yibao.store.db import unit_of_work
from yibao.supervision.screening import run as screening
from yibao.supervision.screening.params import ScreeningParams

SHOWN_PER_PATTERN = 10  # the head of each ranking kept beside the opened leads


def result_path(year: int) -> Path:
    folder = Path(get_settings().data_dir) / "screening"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"leads-{year}.json"


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
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def save(result: screening.Screening, actor: str, capacity: dict[str, int] | None = None) -> Path:
    """Keep the opened leads (at ``capacity``) and each ranking's head for the console."""
    opened = {(x.pattern, x.entity_id) for x in result.leads(capacity or {})}
    kept = [
        x
        for ranked in result.ranked.values()
        for x in ranked
        if (x.pattern, x.entity_id) in opened or x.rank <= SHOWN_PER_PATTERN
    ]
    path = result_path(result.year)
    payload = {
        "year": result.year,
        "at": datetime.now().isoformat(timespec="seconds"),
        "by": actor,
        "leads": [{**asdict(x), "opened": (x.pattern, x.entity_id) in opened} for x in kept],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, default=_plain), encoding="utf-8")
    return path
