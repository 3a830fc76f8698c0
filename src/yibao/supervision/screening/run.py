"""Run the screening (筛查): every detector over one year of the audit view's raw tables, to ranked leads.

The input is a :class:`~yibao.supervision.frame.Frame` or a directory of ``<table>.parquet`` files (the period
snapshot, or ``yibao screening generate``'s region); months before the year, when present, are the hospitals'
own baseline (§10). Nothing here reads the database or any label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yibao.errors import InputError
from yibao.supervision.frame import Frame
from yibao.supervision.screening.claims import Claims, load_claims, read_frame
from yibao.supervision.screening.doctors import doctor_leads
from yibao.supervision.screening.fictitious import fictitious_leads
from yibao.supervision.screening.hospital import surge_leads
from yibao.supervision.screening.leads import ENTITY_TYPES, PATTERNS, Lead, opened, rank
from yibao.supervision.screening.params import ScreeningParams
from yibao.supervision.screening.persons import person_leads
from yibao.supervision.screening.pharmacy import skimming_leads

# pattern → (detector, its thresholds in ScreeningParams)
DETECTORS: dict[str, tuple[Callable, str]] = {
    "hospital_surge": (surge_leads, "hospital"),
    "fictitious_stay": (fictitious_leads, "fictitious"),
    "pharmacy_skimming": (skimming_leads, "pharmacy"),
    "doctor_overcapacity": (doctor_leads, "doctor"),
    "person_stockpiling": (person_leads, "person"),
}
# cases a team opens per period, by entity type (the §10 capacity k); persons are many and quick to check
DEFAULT_CAPACITY = {"hospital": 10, "pharmacy": 10, "doctor": 10, "person": 100}


@dataclass(frozen=True)
class Screening:
    year: int
    ranked: dict[str, list[Lead]]  # pattern → every assessed entity, ranked

    def leads(self, capacity: Mapping[str, int] | None = None) -> list[Lead]:
        """The cases and leads opened at each entity type's capacity, pattern by pattern."""
        capacity = {**DEFAULT_CAPACITY, **(capacity or {})}
        return [x for p, ranked in self.ranked.items() for x in opened(ranked, capacity[PATTERNS[p][0]])]


def capacity_of(value: int | Mapping[str, int] | None) -> dict[str, int]:
    """A capacity for every entity type: one number for all, or a mapping over the defaults."""
    if value is None:
        return dict(DEFAULT_CAPACITY)
    if isinstance(value, int):
        return dict.fromkeys(ENTITY_TYPES, value)
    return {**DEFAULT_CAPACITY, **value}


def screen(
    source: Frame | Path | str,
    year: int,
    params: ScreeningParams | None = None,
    patterns: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Screening:
    """Every (or the named) detector over ``year``; ``progress`` is told each pattern as it finishes."""
    params = params or ScreeningParams()
    chosen = list(patterns or DETECTORS)
    unknown = [p for p in chosen if p not in DETECTORS]
    if unknown:
        raise InputError(f"未知模式 (unknown pattern) {unknown[0]!r}; one of {', '.join(DETECTORS)}")
    claims = load_claims(read_frame(source))
    check_year(claims, year)
    if progress:
        progress("load")
    ranked = {}
    for pattern in chosen:
        detector, section = DETECTORS[pattern]
        ranked[pattern] = rank(detector(claims, year, getattr(params, section)))
        if progress:
            progress(pattern)
    return Screening(year, ranked)


def check_year(claims: Claims, year: int) -> None:
    if not claims.in_year(year).any():
        months = np.unique(claims.begn_month // 12)
        have = f"{months.min()}–{months.max()}" if len(months) else "none"
        raise InputError(
            f"--year {year}: 数据中没有该年度的就诊 (no visits in {year}; the data covers {have})"
        )
