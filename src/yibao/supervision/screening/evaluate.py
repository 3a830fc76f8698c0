"""Evaluation of screening against injected labels (筛查评估, supervision.md §12).

Prevalence is tiny, so accuracy and ROC AUC mislead: report **AUPRC** (average precision; a random ranking
scores the prevalence, printed beside it), **precision@k** and **recall@k** at the team's capacity k, and
**amount@k**, the share of the injected loss in the top k; per pattern and entity type.

Conventions (each stated once here, and in docs/screening.md):

* The ranking is every entity the detector assessed (cases, then leads, then the rest by score). A labelled
  positive the detector never saw counts as ranked last (it lowers AUPRC and recall).
* The top k are the first k *opened* entities: cases and leads only, as a team opens them; precision@k divides
  by the number opened (≤ k), recall@k by all positives.
* An entity injected with *another* pattern is left out of this pattern's evaluation (it is neither a hit nor a
  false alarm: an investigator opening it finds fraud); how many of them were opened is reported apart.
* Decoys are negatives; the count of decoys opened should be 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from yibao.supervision.screening.leads import PATTERNS, Lead, opened


def average_precision(relevant: Sequence[bool], n_positive: int | None = None) -> float:
    """AUPRC as average precision: the mean over positives of the precision at each positive's rank; positives
    missing from the ranking (``n_positive`` larger than the hits) contribute 0. NaN without positives."""
    n_pos = sum(bool(r) for r in relevant) if n_positive is None else n_positive
    if n_pos == 0:
        return math.nan
    hits, total = 0, 0.0
    for i, r in enumerate(relevant, 1):
        if r:
            hits += 1
            total += hits / i
    return total / n_pos


def precision_at_k(relevant: Sequence[bool], k: int) -> float:
    """Share of positives among the first k (of fewer, when the list is shorter); NaN for an empty list."""
    top = list(relevant)[: max(k, 0)]
    return sum(bool(r) for r in top) / len(top) if top else math.nan


def recall_at_k(relevant: Sequence[bool], k: int, n_positive: int) -> float:
    """Share of all positives found among the first k; NaN without positives."""
    if n_positive == 0:
        return math.nan
    return sum(bool(r) for r in list(relevant)[: max(k, 0)]) / n_positive


def amount_at_k(losses: Sequence[int], k: int, total: int) -> float:
    """Share of the injected loss (fen) held by the first k; NaN when nothing was lost."""
    if total <= 0:
        return math.nan
    return sum(losses[: max(k, 0)]) / total


@dataclass(frozen=True)
class Label:
    entity_type: str
    entity_id: str
    pattern: str
    injected_loss_fen: int
    decoy: bool


@dataclass(frozen=True)
class PatternScore:
    pattern: str
    entity_type: str
    entities: int
    positives: int
    prevalence: float
    auprc: float
    capacity: int
    opened: int
    precision_at_k: float
    recall_at_k: float
    amount_at_k: float
    decoys: int
    decoys_opened: int
    other_fraud_opened: int


def evaluate_pattern(
    pattern: str, ranked: Sequence[Lead], labels: Sequence[Label], capacity: int
) -> PatternScore:
    etype = PATTERNS[pattern][0]
    mine = [x for x in labels if x.entity_type == etype]
    positive = {x.entity_id: x.injected_loss_fen for x in mine if x.pattern == pattern and not x.decoy}
    decoy = {x.entity_id for x in mine if x.pattern == pattern and x.decoy}
    other = {x.entity_id for x in mine if x.pattern != pattern and not x.decoy} - positive.keys()
    kept = [x for x in ranked if x.entity_id not in other]
    seen = {x.entity_id for x in kept}
    relevant = [x.entity_id in positive for x in kept]
    top = opened(kept, capacity)
    top_relevant = [x.entity_id in positive for x in top]
    total_loss = sum(positive.values())
    entities = len(seen | positive.keys())
    return PatternScore(
        pattern=pattern,
        entity_type=etype,
        entities=entities,
        positives=len(positive),
        prevalence=len(positive) / entities if entities else math.nan,
        auprc=average_precision(relevant, len(positive)),
        capacity=capacity,
        opened=len(top),
        precision_at_k=precision_at_k(top_relevant, capacity),
        recall_at_k=recall_at_k(top_relevant, capacity, len(positive)),
        amount_at_k=amount_at_k([positive.get(x.entity_id, 0) for x in top], capacity, total_loss),
        decoys=len(decoy),
        decoys_opened=sum(x.entity_id in decoy for x in top),
        other_fraud_opened=sum(x.entity_id in other for x in opened(ranked, capacity)),
    )


def evaluate(
    ranked: Mapping[str, Sequence[Lead]], labels: Sequence[Label], capacity: Mapping[str, int]
) -> list[PatternScore]:
    """One score per pattern the screening ranked, at the capacity of its entity type."""
    return [evaluate_pattern(p, ranked[p], labels, capacity[PATTERNS[p][0]]) for p in PATTERNS if p in ranked]
