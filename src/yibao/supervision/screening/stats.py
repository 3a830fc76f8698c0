"""Screening statistics (筛查统计): robust z against peers, peer percentiles, control charts on monthly series,
a binomial tail, and MinHash signatures for bill-template similarity. NumPy only; each function is small
enough to check by hand (tests/unit/test_screening_stats.py does).

Robust z (supervision.md §10): ``z = (x − median) / (1.4826 × MAD)``; 1.4826 makes the MAD a consistent estimate
of the standard deviation for normal data. When more than half of the peers share one value the MAD is 0; the
scale then falls back to ``1.2533 × mean absolute deviation`` (the same consistency for the mean deviation),
then to ``floor``; a value equal to the median always scores 0.
"""

from __future__ import annotations

import math

import numpy as np

MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533
Z_CAP = 1e6  # z where the scale is 0 and the value differs from the median
MERSENNE31 = (1 << 31) - 1


def robust_scale(ref: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    """(median, scale) of ``ref`` (NaN ignored): scale = 1.4826·MAD, else 1.2533·mean AD, at least ``floor``."""
    ref = np.asarray(ref, dtype=np.float64)
    ref = ref[~np.isnan(ref)]
    if ref.size == 0:
        return math.nan, math.nan
    med = float(np.median(ref))
    dev = np.abs(ref - med)
    scale = MAD_SCALE * float(np.median(dev))
    if scale == 0:
        scale = MEAN_AD_SCALE * float(dev.mean())
    return med, max(scale, floor)


def robust_z(x: np.ndarray, ref: np.ndarray | None = None, floor: float = 0.0) -> np.ndarray:
    """Robust z of each ``x`` against ``ref`` (default: ``x`` itself, the peers)."""
    x = np.asarray(x, dtype=np.float64)
    med, scale = robust_scale(x if ref is None else ref, floor)
    if math.isnan(med):
        return np.full(x.shape, np.nan)
    if scale == 0:
        return np.where(x == med, 0.0, np.sign(x - med) * Z_CAP)
    return (x - med) / scale


def grouped_robust_z(x: np.ndarray, group: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Robust z of each value against the values of its own peer group (``group``: integer labels)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    for g in np.unique(group):
        sel = group == g
        out[sel] = robust_z(x[sel], floor=floor)
    return out


def peer_quantile(x: np.ndarray, q: float) -> float:
    """The peers' percentile (P99 = ``q`` 0.99), linear interpolation, NaN ignored; NaN with no peers."""
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, q)) if x.size else math.nan


def grouped_quantile(x: np.ndarray, group: np.ndarray, q: float) -> np.ndarray:
    """Each value's peer-group percentile ``q`` (the threshold printed beside the value)."""
    out = np.full(np.shape(x), np.nan)
    for g in np.unique(group):
        sel = group == g
        out[sel] = peer_quantile(np.asarray(x)[sel], q)
    return out


def peer_threshold(
    x: np.ndarray, q: float = 0.99, min_z: float = 3.0, floor: float = 0.0, trim_z: float = 3.5
) -> tuple[float, np.ndarray]:
    """(threshold, robust z) for "above peer P99": the threshold is the peers' percentile ``q`` taken over the
    peers whose |z| ≤ ``trim_z`` (so that the 1–3 % of units under suspicion do not set their own bar), and at
    least ``median + min_z × scale``. A value is flagged when it exceeds the threshold."""
    x = np.asarray(x, dtype=np.float64)
    med, scale = robust_scale(x, floor)
    if math.isnan(med):
        return math.nan, np.full(x.shape, np.nan)
    z = robust_z(x, floor=floor)
    bulk = x[(np.abs(z) <= trim_z) & ~np.isnan(x)]
    p = float(np.quantile(bulk, q)) if bulk.size else med
    return max(p, med + min_z * scale), z


def grouped_peer_threshold(
    x: np.ndarray, group: np.ndarray, q: float = 0.99, min_z: float = 3.0, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`peer_threshold` within each peer group: (threshold per unit, z per unit)."""
    x = np.asarray(x, dtype=np.float64)
    thr, z = np.full(x.shape, np.nan), np.full(x.shape, np.nan)
    for g in np.unique(group):
        sel = group == g
        t, zz = peer_threshold(x[sel], q, min_z, floor)
        thr[sel], z[sel] = t, zz
    return thr, z


def ewma(x: np.ndarray, lam: float = 0.2, start: float | None = None) -> np.ndarray:
    """Exponentially weighted moving average ``e_t = λ x_t + (1 − λ) e_{t−1}``, ``e_0`` = ``start`` (default x_0)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    prev = x[0] if start is None else start
    for t, v in enumerate(x):
        prev = lam * v + (1 - lam) * prev
        out[t] = prev
    return out


def poisson_ewma_z(counts: np.ndarray, mu0: float, lam: float = 0.2) -> np.ndarray:
    """Poisson EWMA chart: the EWMA of monthly counts started at the in-control mean ``mu0``, standardised by its
    exact variance ``mu0 · λ/(2 − λ) · (1 − (1 − λ)^{2t})``."""
    e = ewma(counts, lam, start=mu0)
    t = np.arange(1, len(e) + 1)
    var = max(mu0, 1e-9) * lam / (2 - lam) * (1 - (1 - lam) ** (2 * t))
    return (e - mu0) / np.sqrt(var)


def poisson_cusum(counts: np.ndarray, mu0: float, shift: float = 1.5) -> np.ndarray:
    """Upper Poisson CUSUM ``S_t = max(0, S_{t−1} + x_t − k)`` tuned to detect ``mu0 → shift·mu0``:
    ``k = (mu1 − mu0) / (ln mu1 − ln mu0)``."""
    mu0 = max(mu0, 1e-9)
    mu1 = shift * mu0
    k = (mu1 - mu0) / (math.log(mu1) - math.log(mu0))
    out = np.empty(len(counts))
    s = 0.0
    for t, v in enumerate(np.asarray(counts, dtype=np.float64)):
        s = max(0.0, s + v - k)
        out[t] = s
    return out


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed in log space (exact enough for p-values near 1e-300)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    i = np.arange(k, n + 1)
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    logpmf = logfact[n] - logfact[i] - logfact[n - i] + i * math.log(p) + (n - i) * math.log1p(-p)
    top = logpmf.max()
    return float(min(1.0, math.exp(top) * np.exp(logpmf - top).sum()))


def poisson_sf(k: int, mu: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mu): 1 − the sum of the pmf below k, in log space for large k."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    i = np.arange(k)
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, k)))]) if k > 1 else np.zeros(1)
    below = float(np.exp(i * math.log(mu) - mu - logfact[:k]).sum())
    if below < 0.5:
        return 1.0 - below
    j = np.arange(k, k + int(10 * math.sqrt(mu) + 50) + max(0, int(mu) - k))  # the upper tail, directly
    logj = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, j[-1] + 1)))])[j]
    return float(min(1.0, np.exp(j * math.log(mu) - mu - logj).sum()))


def cv(x: np.ndarray) -> float:
    """Coefficient of variation (population SD / mean); NaN for an empty or zero-mean sample."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0 or x.mean() == 0:
        return math.nan
    return float(x.std() / x.mean())


def mode_share(x: np.ndarray) -> tuple[int, float]:
    """(mode, share of values equal to it) of integer values."""
    x = np.asarray(x, dtype=np.int64)
    if x.size == 0:
        return 0, math.nan
    values, counts = np.unique(x, return_counts=True)
    i = int(counts.argmax())
    return int(values[i]), float(counts[i] / x.size)


# --- MinHash (bill templates) -------------------------------------------------------------------------------


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads integer keys (e.g. item × 1e6 + quantity) over 64 bits."""
    z = np.asarray(x).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def minhash(
    tokens: np.ndarray, group: np.ndarray, n_groups: int, perm: int = 64, seed: int = 7
) -> np.ndarray:
    """MinHash signatures (n_groups × perm, uint64) of the token sets of each group: ``min_x (a·x + b) mod p``
    with p = 2³¹ − 1 and random ``a``, ``b``; two signatures agree in a position with probability equal to the
    Jaccard similarity of the two sets. An empty group's signature is all ``p`` (agrees only with empties)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE31, perm, dtype=np.uint64)
    b = rng.integers(0, MERSENNE31, perm, dtype=np.uint64)
    x = mix64(tokens) % np.uint64(MERSENNE31)
    order = np.argsort(group, kind="stable")
    x, g = x[order], np.asarray(group)[order]
    sig = np.full((n_groups, perm), MERSENNE31, dtype=np.uint64)
    if x.size == 0:
        return sig
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    for lo in range(0, perm, 8):  # 8 permutations at a time keeps the product array small
        h = (a[lo : lo + 8, None] * x[None, :] + b[lo : lo + 8, None]) % np.uint64(MERSENNE31)
        sig[g[starts], lo : lo + 8] = np.minimum.reduceat(h, starts, axis=1).T
    return sig


def median_pairwise_similarity(sig: np.ndarray) -> float:
    """Median estimated Jaccard similarity over all pairs of the given signatures (rows); NaN under 2 rows."""
    n = sig.shape[0]
    if n < 2:
        return math.nan
    i, j = np.triu_indices(n, 1)
    return float(np.median((sig[i] == sig[j]).mean(axis=1)))
