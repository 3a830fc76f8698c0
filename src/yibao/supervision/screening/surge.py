"""§11.1 S1 volume surge (住院量激增): monthly admissions against the hospital's own baseline, net of the
region's season for each diagnosis, so that an epidemic seen across peers is not a surge.

For hospital h and month m: ``N`` admissions, ``F`` medical cost. The expected count is the hospital's median
baseline month scaled by its case mix's regional season: ``E[h, m] = base_h × Σ_d w[h, d] R[h, d, m]`` (then
normalised to median 1 over the baseline), where ``R[h, d, m]`` is the region's ratio of diagnosis d's month m to its baseline (a median over
hospitals weighted by volume, :func:`regional_ratio`: an epidemic lifts it, one hospital's surge or a few do
not) and ``w`` is h's deseasonalised diagnosis mix. Baseline months: the 12 before the screening year when the
data carries them, else the year's own months (the median resists a surge of up to five months).

S1 holds where, over a window of 1–3 consecutive months of the year, mean monthly N ≥ 20, N / E ≥ 1.5 and the
robust z of log(N / E) against the hospital's own other months ≥ 3 (base, median and 1.4826 × MAD over the
baseline months outside the window, the scale at least the Poisson 1/√base and divided by √window); or the
same test on F.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.supervision.screening.claims import Claims, group_keys
from yibao.supervision.screening.params import HospitalParams
from yibao.supervision.screening.stats import MAD_SCALE

MONTHS = 24  # baseline year + screening year
WINDOWS = (1, 2, 3)


@dataclass(frozen=True)
class Stays:
    """Inpatient stays at hospitals in the 24 months up to the screening year's end."""

    visit: np.ndarray  # visit index of each stay
    hosp: np.ndarray
    dx: np.ndarray
    month: np.ndarray  # 0…23; 12…23 are the screening year
    pair: np.ndarray  # (hospital, diagnosis) pair of each stay
    pair_hosp: np.ndarray
    pair_dx: np.ndarray
    year_cols: np.ndarray
    base_cols: np.ndarray


@dataclass(frozen=True)
class Surge:
    """Per hospital: the best window and its statistics."""

    start: np.ndarray  # month (0…23) the window starts
    width: np.ndarray
    n: np.ndarray  # admissions in the window
    expected: np.ndarray
    ratio: np.ndarray
    z: np.ndarray
    cost_ratio: np.ndarray
    cost_z: np.ndarray
    flagged: np.ndarray
    raw_ratio: np.ndarray  # N / base without the regional season: > 1.5 with S1 off means an epidemic
    top_season: np.ndarray  # the diagnosis whose regional season explains most of the window (−1 none)
    season: np.ndarray  # (hospital, month) case-mix season factors
    pair_r: np.ndarray  # (pair, month) leave-one-out regional ratios
    pair_w: np.ndarray  # deseasonalised diagnosis share of each pair in its hospital


def hospital_stays(c: Claims, year: int) -> Stays:
    is_hosp = c.inst_type[c.inst] == "1"
    month = c.begn_month - (year * 12 - 12)
    visit = np.flatnonzero(c.inpatient & is_hosp & (month >= 0) & (month < MONTHS))
    hosp, dx, month = c.inst[visit], c.dx[visit], month[visit]
    pair, first = group_keys(hosp, dx)
    prior = np.bincount(month, minlength=MONTHS)[:12] > 0
    base_cols = np.arange(12) if prior.sum() >= 6 else np.arange(12, MONTHS)
    return Stays(visit, hosp, dx, month, pair, hosp[first], dx[first], np.arange(12, MONTHS), base_cols)


def _matrix(rows: np.ndarray, month: np.ndarray, n_rows: int, weights=None) -> np.ndarray:
    flat = np.bincount(rows * MONTHS + month, weights=weights, minlength=n_rows * MONTHS)
    return flat.reshape(n_rows, MONTHS).astype(np.float64)


def season_factors(s: Stays, n_hosp: int, n_dx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(season[h, m], R[pair, m], w[pair]) as in the module docstring."""
    n_pairs = len(s.pair_hosp)
    counts = _matrix(s.pair, s.month, n_pairs)
    r = regional_ratio(counts, s.pair_dx, s.base_cols)
    w_raw = (counts[:, s.base_cols] / r[:, s.base_cols]).sum(axis=1)
    w_sum = np.bincount(s.pair_hosp, weights=w_raw, minlength=n_hosp)
    w = np.divide(w_raw, w_sum[s.pair_hosp], out=np.zeros(n_pairs), where=w_sum[s.pair_hosp] > 0)
    season = np.zeros((n_hosp, MONTHS))
    for m in range(MONTHS):
        season[:, m] = np.bincount(s.pair_hosp, weights=w * r[:, m], minlength=n_hosp)
    norm = np.median(season[:, s.base_cols], axis=1)
    season = np.where(norm[:, None] > 0, season / np.where(norm > 0, norm, 1)[:, None], 1.0)
    return season, r, w


def regional_ratio(
    counts: np.ndarray, pair_dx: np.ndarray, base_cols: np.ndarray, own_max: float = 0.1
) -> np.ndarray:
    """The region's ratio of each diagnosis's month to its baseline, per (hospital, diagnosis) pair: the median
    over hospitals of ``(n + ½) / (baseline + ½)`` weighted by their baseline volume. A weighted median follows
    an epidemic (most hospitals rise) but not one hospital's surge, nor a few (their weight is small); a pair
    holding more than ``own_max`` of its diagnosis's baseline is left out of its own median."""
    base = counts[:, base_cols].mean(axis=1)
    ratio = (counts + 0.5) / (base[:, None] + 0.5)
    total = np.bincount(pair_dx, weights=base, minlength=int(pair_dx.max(initial=-1)) + 1)
    out = np.ones_like(ratio)
    for m in range(counts.shape[1]):
        out[:, m] = _weighted_median(ratio[:, m], base, pair_dx)
    big = np.flatnonzero(base > own_max * total[pair_dx])
    for k in big:  # leave-one-out for the pairs that would weigh on their own median
        others = np.flatnonzero((pair_dx == pair_dx[k]) & (np.arange(len(pair_dx)) != k))
        if base[others].sum() > 0:
            for m in range(counts.shape[1]):
                out[k, m] = _weighted_median(ratio[others, m], base[others], np.zeros(len(others), np.int64))[
                    0
                ]
        else:
            out[k] = 1.0
    return out


def _weighted_median(x: np.ndarray, w: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, the weighted median of ``x`` within its ``group`` (1 where the group weighs nothing)."""
    if not len(group):  # no stays at all (a region of clinics and pharmacies, an empty period)
        return np.ones(0)
    order = np.lexsort((x, group))
    g, xs, ws = group[order], x[order], w[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.int64)
    cum = np.cumsum(ws)
    before = np.repeat(np.r_[0.0, cum][starts], np.diff(np.r_[starts, len(g)]))
    within = cum - before
    half = np.repeat(within[np.r_[starts[1:], len(g)] - 1] / 2, np.diff(np.r_[starts, len(g)]))
    hit = (within >= half) & (half > 0)
    med = np.ones(int(group.max(initial=-1)) + 1)
    first_hit = np.flatnonzero(hit & ~np.r_[False, hit[:-1] & (g[1:] == g[:-1])])
    med[g[first_hit]] = xs[first_hit]
    return med[group]


def _window_test(x: np.ndarray, season: np.ndarray, base_cols, year_cols, floor: np.ndarray):
    """Every window of the year against the unit's *other* baseline months (a surge must not set its own bar):
    expected = median of the other months × season; z of log(sum / expected sum) against the other months' log
    ratios (median, 1.4826 × MAD, at least ``floor``), scaled by √width. Arrays (units, windows)."""
    sums, exps, zs, widths, starts = [], [], [], [], []
    for width in WINDOWS:
        for start in range(year_cols[0], year_cols[-1] + 2 - width):
            other = np.setdiff1d(base_cols, np.arange(start, start + width))
            expected = np.median(x[:, other], axis=1)[:, None] * season
            log_a = np.log((x[:, other] + 0.5) / (expected[:, other] + 0.5))
            med = np.median(log_a, axis=1)
            scale = np.maximum(MAD_SCALE * np.median(np.abs(log_a - med[:, None]), axis=1), floor)
            xs = x[:, start : start + width].sum(axis=1)
            es = expected[:, start : start + width].sum(axis=1)
            sums.append(xs)
            exps.append(es)
            zs.append((np.log((xs + 0.5) / (es + 0.5)) - med) / (scale / np.sqrt(width)))
            widths.append(width)
            starts.append(start)
    sums, exps, zs = np.stack(sums, 1), np.stack(exps, 1), np.stack(zs, 1)
    ratio = np.divide(sums, exps, out=np.zeros_like(sums), where=exps > 0)
    return ratio, zs, sums, np.array(widths), np.array(starts), exps


def volume_surge(c: Claims, s: Stays, p: HospitalParams) -> Surge:
    n_hosp = len(c.insts)
    season, r, w = season_factors(s, n_hosp, len(c.dxs))
    n = _matrix(s.hosp, s.month, n_hosp)
    f = _matrix(s.hosp, s.month, n_hosp, weights=c.medfee[s.visit].astype(np.float64))
    floor = 1.0 / np.sqrt(np.maximum(np.median(n[:, s.base_cols], axis=1), 1.0))
    ratio, z, sums, widths, starts, exps = _window_test(n, season, s.base_cols, s.year_cols, floor)
    # a month's cost varies more than its count: relative SD √(1 + CV²)/√N for stays of cost CV
    cost = c.medfee[s.visit].astype(np.float64)
    k = np.bincount(s.hosp, minlength=n_hosp)
    mean = np.bincount(s.hosp, weights=cost, minlength=n_hosp) / np.maximum(k, 1)
    sq = np.bincount(s.hosp, weights=cost * cost, minlength=n_hosp) / np.maximum(k, 1)
    cost_cv2 = np.divide(np.maximum(sq - mean * mean, 0), mean * mean, out=np.zeros(n_hosp), where=mean > 0)
    cratio, cz, _, _, _, _ = _window_test(f, season, s.base_cols, s.year_cols, floor * np.sqrt(1 + cost_cv2))
    raw_ratio, _, _, _, _, _ = _window_test(n, np.ones_like(season), s.base_cols, s.year_cols, floor)
    per_month = sums / widths[None, :]
    ok_n = (per_month >= p.s1_min_admissions) & (ratio >= p.s1_min_ratio) & (z >= p.s1_min_z)
    ok_f = (per_month >= p.s1_min_admissions) & (cratio >= p.s1_min_ratio) & (cz >= p.s1_min_z)
    ok = ok_n | ok_f
    key = np.where(ok, 1e6, 0.0) + np.maximum(
        z, cz
    )  # the flagged window with the largest z, else the largest z
    best = np.argmax(key, axis=1)
    rows = np.arange(n_hosp)
    top_season = _top_season(s, r, w, starts[best], widths[best], n_hosp)
    return Surge(
        start=starts[best],
        width=widths[best],
        n=sums[rows, best],
        expected=exps[rows, best],
        ratio=ratio[rows, best],
        z=z[rows, best],
        cost_ratio=cratio[rows, best],
        cost_z=cz[rows, best],
        flagged=ok[rows, best],
        raw_ratio=raw_ratio[rows, best],
        top_season=top_season,
        season=season,
        pair_r=r,
        pair_w=w,
    )


def _top_season(s: Stays, r, w, start, width, n_hosp) -> np.ndarray:
    """Per hospital, the diagnosis contributing most regional seasonal lift to its window (−1: none lifts the
    hospital's mix by 5 % or more)."""
    cum = np.concatenate([np.zeros((len(r), 1)), np.cumsum(r, axis=1)], axis=1)
    k = np.arange(len(r))
    lo, wd = start[s.pair_hosp], width[s.pair_hosp]
    lift = w * ((cum[k, lo + wd] - cum[k, lo]) / wd - 1.0)
    top = np.full(n_hosp, -1, np.int64)
    order = np.lexsort((-lift, s.pair_hosp))  # by hospital, largest lift first
    first = order[np.r_[True, s.pair_hosp[order][1:] != s.pair_hosp[order][:-1]]] if len(order) else order
    keep = first[lift[first] >= 0.05]
    top[s.pair_hosp[keep]] = s.pair_dx[keep]
    return top
