"""Leads (线索): what screening hands an investigator, ranked and cut at the team's capacity.

Every detector assesses every entity of its type and returns one :class:`Lead` per entity, with each signal's
value, the peer threshold it was compared with and whether it is flagged. ``level`` orders the list: a *case*
(立案线索: a hard contradiction such as a settlement after death) above a *lead* (疑点线索: the pattern's flag
rule holds) above *none* (no rule holds; ranked by score only so that evaluation can see the whole order).
Only cases and leads are opened; :func:`opened` cuts them at capacity k. Wording follows supervision.md §0:
signals are "indicators consistent with" a pattern, never a finding of fraud.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from yibao.money import fmt_fen

CASE, LEAD, NONE = "case", "lead", "none"
LEVEL_ORDER = {CASE: 2, LEAD: 1, NONE: 0}

# pattern → (entity type, what it is); the generator's labels use the same names (data, not shared code)
PATTERNS = {
    "hospital_surge": ("hospital", "§11.1 单病种激增、住院同质 (批量虚假 / 诱导住院)"),
    "fictitious_stay": ("hospital", "§11.4 虚构住院"),
    "pharmacy_skimming": ("pharmacy", "§11.2 药店盗刷 / 空刷 / 冒名购药"),
    "doctor_overcapacity": ("doctor", "§11.5 医师超负荷接诊"),
    "person_stockpiling": ("person", "§11.5 参保人囤药 / 倒卖"),
}
ENTITY_TYPES = ("hospital", "pharmacy", "doctor", "person")


@dataclass(frozen=True)
class Signal:
    """One statistic: its value, the threshold it is compared with (NaN: none applies) and the verdict."""

    name: str  # "S1 volume surge"
    value: float
    threshold: float
    flagged: bool
    note: str = ""  # where and how: "2025-10…12: N 41/月 vs 22 expected"


@dataclass(frozen=True)
class Lead:
    entity_type: str
    entity_id: str
    pattern: str
    level: str
    score: float
    signals: tuple[Signal, ...]
    amount_fen: int = (
        0  # the money behind the flagged signals (fen), for the investigator; not a loss estimate
    )
    rank: int = 0

    @property
    def flagged(self) -> list[str]:
        return [s.name.split(" ")[0] for s in self.signals if s.flagged]


def squash(x: float) -> float:
    """A non-negative strength in [0, 1): ``x / (1 + x)``; NaN and negatives give 0."""
    if x is None or math.isnan(x) or x <= 0:
        return 0.0
    return x / (1.0 + x)


def score(flags: Sequence[bool], strengths: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Weighted count of flagged signals plus the mean strength (each in [0, 1)): flags decide, strength
    breaks ties and orders the entities no rule flags."""
    weights = weights or [1.0] * len(flags)
    counted = sum(w for f, w in zip(flags, weights, strict=True) if f)
    mean = sum(squash(s) for s in strengths) / len(strengths) if strengths else 0.0
    return counted + mean


def scores(flags: np.ndarray, strengths: np.ndarray, weights: Sequence[float] | None = None) -> np.ndarray:
    """:func:`score` for many entities at once: rows are entities, columns signals."""
    flags = np.asarray(flags, dtype=np.float64)
    w = np.ones(flags.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    st = np.nan_to_num(np.asarray(strengths, dtype=np.float64), nan=0.0)
    st = np.where(st > 0, st / (1.0 + np.where(st > 0, st, 0.0)), 0.0)
    return flags @ w + st.mean(axis=1)


def rank(leads: Iterable[Lead]) -> list[Lead]:
    """Cases, then leads, then the rest, each by score (ties by id, so the order is reproducible); rank 1…n."""
    ordered = sorted(leads, key=lambda x: (-LEVEL_ORDER[x.level], -x.score, x.entity_id))
    return [replace(x, rank=i) for i, x in enumerate(ordered, 1)]


def opened(ranked: Sequence[Lead], capacity: int) -> list[Lead]:
    """The cases and leads a team with capacity k opens: the first k of the ranking that are at least leads."""
    return [x for x in ranked if x.level != NONE][: max(capacity, 0)]


def fmt_value(x: float) -> str:
    """A signal's value or threshold as printed: integers plain, shares and ratios with 3 significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x)}"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


LEAD_COLUMNS = ["pattern", "entity_type", "entity_id", "level", "rank", "score", "amount_yuan", "flagged"]
SIGNAL_COLUMNS = [
    "pattern",
    "entity_type",
    "entity_id",
    "rank",
    "signal",
    "value",
    "threshold",
    "flagged",
    "note",
]


def lead_rows(leads: Iterable[Lead]) -> list[dict]:
    """One row per lead: the flagged signals by code (``S1 S2 S4``); money as a yuan string."""
    return [
        {
            "pattern": x.pattern,
            "entity_type": x.entity_type,
            "entity_id": x.entity_id,
            "level": x.level,
            "rank": x.rank,
            "score": round(x.score, 4),
            "amount_yuan": fmt_fen(x.amount_fen),
            "flagged": " ".join(x.flagged),
        }
        for x in leads
    ]


def signal_rows(leads: Iterable[Lead]) -> list[dict]:
    """One row per signal of each lead: value, the threshold it was compared with, the verdict and the note."""
    return [
        {
            "pattern": x.pattern,
            "entity_type": x.entity_type,
            "entity_id": x.entity_id,
            "rank": x.rank,
            "signal": s.name,
            "value": fmt_value(s.value),
            "threshold": fmt_value(s.threshold),
            "flagged": int(s.flagged),
            "note": s.note,
        }
        for x in leads
        for s in x.signals
    ]
