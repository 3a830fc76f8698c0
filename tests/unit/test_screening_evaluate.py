"""Evaluation metrics by hand (supervision.md §12): average precision, precision@k, recall@k, amount@k, and
how one pattern is scored against labels with decoys and other patterns' positives."""

from __future__ import annotations

import math

import pytest

from yibao.supervision.screening.evaluate import (
    Label,
    amount_at_k,
    average_precision,
    evaluate,
    evaluate_pattern,
    precision_at_k,
    recall_at_k,
)
from yibao.supervision.screening.leads import LEAD, NONE, Lead, rank


def test_average_precision():
    # positives at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision([1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    # a third positive never ranked contributes 0
    assert average_precision([1, 0, 1, 0], n_positive=3) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision([0, 0, 1]) == pytest.approx(1 / 3)  # = the prevalence of a random ranking here
    assert math.isnan(average_precision([0, 0]))


def test_precision_recall_amount_at_k():
    assert precision_at_k([1, 0, 1, 0], 2) == 0.5
    assert precision_at_k([1, 0, 1, 0], 10) == 0.5  # a shorter list: over the entities it holds
    assert math.isnan(precision_at_k([], 5))
    assert recall_at_k([1, 0, 1], 1, n_positive=2) == 0.5
    assert amount_at_k([100, 0, 50], 1, total=200) == 0.5
    assert math.isnan(amount_at_k([0], 1, total=0))


def _lead(eid, level, score):
    return Lead("hospital", eid, "hospital_surge", level, score, ())


def test_one_pattern_against_labels():
    ranked = rank(
        [
            _lead("H1", LEAD, 9),  # positive
            _lead("H3", LEAD, 8),  # injected with another pattern: left out
            _lead("H2", LEAD, 7),  # decoy
            _lead("H4", NONE, 6),  # positive the rules missed
            _lead("H5", NONE, 5),
        ]
    )
    labels = [
        Label("hospital", "H1", "hospital_surge", 300, False),
        Label("hospital", "H4", "hospital_surge", 100, False),
        Label("hospital", "H2", "hospital_surge", 0, True),
        Label("hospital", "H3", "fictitious_stay", 50, False),
        Label("pharmacy", "H1", "pharmacy_skimming", 10, False),  # another entity type: ignored
    ]
    s = evaluate_pattern("hospital_surge", ranked, labels, capacity=2)
    assert (s.entities, s.positives, s.prevalence) == (4, 2, 0.5)
    assert s.auprc == pytest.approx((1 / 1 + 2 / 3) / 2)  # kept order H1 H2 H4 H5
    assert (s.opened, s.precision_at_k, s.recall_at_k) == (2, 0.5, 0.5)  # opened H1, H2
    assert s.amount_at_k == pytest.approx(300 / 400)
    assert (s.decoys, s.decoys_opened, s.other_fraud_opened) == (1, 1, 1)
    [again] = evaluate({"hospital_surge": ranked}, labels, {"hospital": 2})
    assert again == s
