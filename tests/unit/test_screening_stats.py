"""The screening statistics by hand: robust z (1.4826 × MAD, with its fallbacks), the trimmed peer P99, the
binomial tail, EWMA and CUSUM charts, CV and mode share, MinHash; and the lead ranking rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yibao.supervision.screening.leads import CASE, LEAD, NONE, Lead, opened, rank, score, scores, squash
from yibao.supervision.screening.stats import (
    binomial_sf,
    cv,
    ewma,
    grouped_robust_z,
    median_pairwise_similarity,
    minhash,
    mode_share,
    peer_threshold,
    poisson_cusum,
    poisson_ewma_z,
    robust_z,
)


def test_robust_z_uses_1_4826_mad():
    # median 3; |x − 3| = 2 1 0 1 97 → MAD 1 → scale 1.4826
    z = robust_z(np.array([1, 2, 3, 4, 100]))
    assert z[4] == pytest.approx(97 / 1.4826)
    assert z[0] == pytest.approx(-2 / 1.4826)
    assert z[2] == 0


def test_robust_z_falls_back_to_the_mean_deviation_then_the_floor():
    # MAD 0 (four of five equal): mean |x − 5| = 0.8 → scale 1.2533 × 0.8 = 1.00264
    assert robust_z(np.array([5, 5, 5, 5, 9]))[4] == pytest.approx(4 / (1.2533 * 0.8))
    # mean deviation 0.25 → 0.3133, below the floor 1
    assert robust_z(np.array([0, 0, 0, 1]), floor=1.0)[3] == pytest.approx(1.0)
    assert list(robust_z(np.array([2, 2, 2]))) == [0, 0, 0]


def test_robust_z_against_a_reference_and_within_groups():
    assert robust_z(np.array([7.0]), ref=np.array([1, 2, 3, 4, 100]))[0] == pytest.approx(4 / 1.4826)
    z = grouped_robust_z(np.array([1, 2, 3, 10, 20, 30]), np.array([0, 0, 0, 1, 1, 1]))
    assert z[:3] == pytest.approx([-1 / 1.4826, 0, 1 / 1.4826])
    assert z[3:] == pytest.approx([-10 / 14.826, 0, 10 / 14.826])


def test_peer_threshold_trims_the_suspects_before_taking_p99():
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000], dtype=float)
    # median 6; sorted |x − 6| = 0 1 1 2 2 3 3 4 4 5 994 → MAD 3 → scale 4.4478; z(1000) ≈ 223 is trimmed
    thr, z = peer_threshold(x, 0.99, min_z=0.0)
    assert thr == pytest.approx(1 + 0.99 * 9)  # P99 of 1…10, not of the 1000
    thr3, _ = peer_threshold(x, 0.99, min_z=3.0)
    assert thr3 == pytest.approx(6 + 3 * 3 * 1.4826)  # the bar is at least median + 3 × scale
    assert z[-1] > 200


def test_binomial_tail():
    assert binomial_sf(2, 3, 0.5) == pytest.approx(4 / 8)  # P(2) + P(3) = 3/8 + 1/8
    assert binomial_sf(3, 3, 0.5) == pytest.approx(1 / 8)
    assert binomial_sf(1, 10, 0.1) == pytest.approx(1 - 0.9**10)
    assert binomial_sf(0, 5, 0.3) == 1.0 and binomial_sf(6, 5, 0.3) == 0.0
    assert 0 < binomial_sf(900, 1000, 0.1) < 1e-300 or binomial_sf(900, 1000, 0.1) == 0.0


def test_ewma_and_poisson_charts():
    assert list(ewma(np.array([10, 0, 10]), lam=0.5, start=0.0)) == [5.0, 2.5, 6.25]
    assert list(poisson_ewma_z(np.array([4, 4]), mu0=4)) == [0.0, 0.0]
    # e = 0.2·9 + 0.8·4 = 5; var = 4 · 0.2/1.8 · (1 − 0.8²) = 0.16 → z = 1 / 0.4
    assert poisson_ewma_z(np.array([9]), mu0=4)[0] == pytest.approx(2.5)
    # mu0 2 → mu1 4: k = 2 / ln 2 = 2.885; S = 5 − k, max(0, S − k), 6 − k
    k = 2 / math.log(2)
    assert poisson_cusum(np.array([5, 0, 6]), mu0=2, shift=2) == pytest.approx([5 - k, 0, 6 - k])


def test_cv_and_mode_share():
    assert cv(np.array([1, 2, 3])) == pytest.approx(math.sqrt(2 / 3) / 2)
    assert mode_share(np.array([7, 7, 7, 6])) == (7, 0.75)
    assert math.isnan(cv(np.array([])))


def test_minhash_estimates_jaccard():
    a, b = np.arange(0, 100), np.arange(50, 150)  # |A ∩ B| = 50, |A ∪ B| = 150: J = 1/3
    tokens = np.concatenate([a, b, a, np.arange(1000, 1100)])
    group = np.repeat([0, 1, 2, 3], 100)
    sig = minhash(tokens, group, 4, perm=256)
    assert (sig[0] == sig[2]).all()  # identical sets, identical signatures
    assert (sig[0] == sig[1]).mean() == pytest.approx(1 / 3, abs=0.1)
    assert (sig[0] == sig[3]).mean() < 0.05  # disjoint
    assert median_pairwise_similarity(sig[[0, 2, 2]]) == 1.0
    assert math.isnan(median_pairwise_similarity(sig[:1]))


def _lead(eid: str, level: str, s: float) -> Lead:
    return Lead("hospital", eid, "hospital_surge", level, s, ())


def test_score_and_ranking():
    assert squash(1.0) == 0.5 and squash(-2) == 0.0 and squash(float("nan")) == 0.0
    # two flags (weights 2 and 1) plus the mean of squash(1) = 0.5 and squash(3) = 0.75
    assert score([True, True, False], [1.0, 3.0], [2.0, 1.0, 1.0]) == pytest.approx(3.625)
    many = scores(np.array([[1, 1, 0]]), np.array([[1.0, 3.0]]), [2.0, 1.0, 1.0])
    assert many[0] == pytest.approx(3.625)
    ranked = rank(
        [_lead("B", NONE, 9.0), _lead("C", LEAD, 1.0), _lead("A", CASE, 0.5), _lead("D", LEAD, 1.0)]
    )
    assert [x.entity_id for x in ranked] == ["A", "C", "D", "B"]  # case, leads (ties by id), then the rest
    assert [x.rank for x in ranked] == [1, 2, 3, 4]
    assert [x.entity_id for x in opened(ranked, 2)] == ["A", "C"]
    assert [x.entity_id for x in opened(ranked, 10)] == ["A", "C", "D"]  # never the unflagged
