"""§11.1 Hospital surge with one diagnosis and near-identical stays (批量虚假 / 诱导住院).

S1 (volume surge, net of the region's season) is :mod:`surge`. Within the S1 window, for the window's top
principal diagnosis (ICD-10 category):

* S2 concentration: share s of the top diagnosis; flagged when s ≥ 0.40 and s − baseline ≥ 0.20, or when the
  binomial tail of its count against the baseline share is < 1e-4. The baseline share is the hospital's own
  deseasonalised share scaled by the region's season in those months, so a flu winter is not a rise.
* S3 LOS homogeneity: CV of length of stay below the peers' P5 for that diagnosis, with mode share ≥ 0.5.
* S4 bill template: median pairwise MinHash-Jaccard of the claims' (item, quantity) sets ≥ 0.9 while the peers'
  median is < 0.6; or cost CV below the peers' P5 for that diagnosis.
* S5 cohort (raises priority): ≥ 5 co-admission pairs (same admission and discharge day) and a share aged ≥ 65
  above the peers' P95 (grade peers). The frame has no township, no out-of-pocket amount and no beds, so the
  village share, the waived-deductible test and S6 capacity are left out.

Lead = S1 and ≥ 2 of S2–S4.
"""

from __future__ import annotations

import math

import numpy as np

from yibao.supervision.screening.claims import Claims, group_keys
from yibao.supervision.screening.leads import LEAD, NONE, Lead, Signal, score
from yibao.supervision.screening.params import HospitalParams
from yibao.supervision.screening.stats import (
    binomial_sf,
    cv,
    median_pairwise_similarity,
    minhash,
    mode_share,
    peer_quantile,
)
from yibao.supervision.screening.surge import Stays, Surge, hospital_stays, volume_surge

PATTERN = "hospital_surge"
PEER_SAMPLE = 30  # claims per peer hospital for the peers' similarity
PEER_HOSPITALS = 50  # peer hospitals sampled per diagnosis


def stay_signatures(c: Claims, visits: np.ndarray, perm: int) -> np.ndarray:
    """MinHash signatures of each stay's (item, total quantity) set, one row per stay in ``visits``."""
    pos = np.full(c.n_visits, -1, np.int64)
    pos[visits] = np.arange(len(visits))
    sel = np.flatnonzero(pos[c.line_visit] >= 0)
    key, first = group_keys(c.line_visit[sel], c.line_item[sel])
    qty = np.bincount(key, weights=c.line_cnt[sel].astype(np.float64)).astype(np.int64)
    token = (c.line_item[sel][first].astype(np.int64) << 40) ^ (qty & ((1 << 40) - 1))
    return minhash(token, pos[c.line_visit[sel][first]], len(visits), perm)


def _month_name(year: int, start: int, width: int) -> str:
    a, b = start - 11, start - 12 + width
    return f"{year}-{a:02d}" if width == 1 else f"{year}-{a:02d}…{b:02d}"


class _Peers:
    """Per-diagnosis peer references over the year's stays: LOS CV and cost CV P5, median bill similarity."""

    def __init__(self, c: Claims, s: Stays, sig: np.ndarray, p: HospitalParams):
        self.c, self.s, self.sig, self.p = c, s, sig, p
        year = s.month >= 12
        self.year_idx = np.flatnonzero(year)
        n_pairs = len(s.pair_hosp)
        n = np.bincount(s.pair[year], minlength=n_pairs)
        self.enough = n >= p.min_stays
        self.los_cv = self._grouped_cv(c.los[s.visit[year]], s.pair[year], n_pairs)
        self.cost_cv = self._grouped_cv(c.medfee[s.visit[year]], s.pair[year], n_pairs)
        self._sim: dict[int, float] = {}

    @staticmethod
    def _grouped_cv(x, group, n_groups) -> np.ndarray:
        x = x.astype(np.float64)
        n = np.bincount(group, minlength=n_groups)
        mean = np.bincount(group, weights=x, minlength=n_groups) / np.maximum(n, 1)
        sq = np.bincount(group, weights=x * x, minlength=n_groups) / np.maximum(n, 1)
        sd = np.sqrt(np.maximum(sq - mean * mean, 0.0))
        return np.divide(sd, mean, out=np.full(n_groups, np.nan), where=mean > 0)

    def p5(self, values: np.ndarray, dx: int, hosp: int, q: float) -> float:
        mine = self.enough & (self.s.pair_dx == dx) & (self.s.pair_hosp != hosp)
        if mine.sum() < 5:  # too few peers treat this diagnosis: the region's pairs of any diagnosis
            mine = self.enough & (self.s.pair_hosp != hosp)
        return peer_quantile(values[mine], q)

    def similarity(self, dx: int) -> float:
        """Median over peer hospitals (≤ 50) of each one's median pairwise similarity for the diagnosis."""
        if dx not in self._sim:
            rng = np.random.default_rng(dx)
            pairs = np.flatnonzero(self.enough & (self.s.pair_dx == dx))
            if len(pairs) > PEER_HOSPITALS:
                pairs = rng.choice(pairs, PEER_HOSPITALS, replace=False)
            yp = self.s.pair[self.year_idx]
            meds = []
            for k in pairs:
                rows = self.year_idx[yp == k]
                if len(rows) > PEER_SAMPLE:
                    rows = rng.choice(rows, PEER_SAMPLE, replace=False)
                meds.append(median_pairwise_similarity(self.sig[rows]))
            self._sim[dx] = float(np.nanmedian(meds)) if meds else math.nan
        return self._sim[dx]


def surge_leads(c: Claims, year: int, p: HospitalParams) -> list[Lead]:
    """One assessment per hospital (inst_type 1) with stays in the year."""
    s = hospital_stays(c, year)
    sv = volume_surge(c, s, p)
    sig = stay_signatures(c, s.visit, p.minhash_perm)
    peers = _Peers(c, s, sig, p)
    grade = c.inst_grade
    elderly = np.bincount(
        s.hosp[peers.year_idx],
        weights=(c.age[s.visit[peers.year_idx]] >= 65).astype(float),
        minlength=len(c.insts),
    )
    n_year = np.bincount(s.hosp[peers.year_idx], minlength=len(c.insts))
    old_share = np.divide(elderly, n_year, out=np.full(len(c.insts), np.nan), where=n_year > 0)
    order = np.argsort(s.hosp, kind="stable")
    bounds = np.searchsorted(s.hosp[order], np.arange(len(c.insts) + 1))
    pair_order = np.argsort(s.pair_hosp, kind="stable")
    pair_bounds = np.searchsorted(s.pair_hosp[pair_order], np.arange(len(c.insts) + 1))
    out = []
    for h in np.flatnonzero(n_year > 0):
        rows = order[bounds[h] : bounds[h + 1]]
        own_pairs = pair_order[pair_bounds[h] : pair_bounds[h + 1]]
        old_p95 = peer_quantile(
            old_share[(grade == grade[h]) & (np.arange(len(grade)) != h)], p.s5_peer_quantile
        )
        out.append(_assess(c, s, sv, sig, peers, p, year, int(h), rows, own_pairs, old_share[h], old_p95))
    return out


def _assess(
    c, s: Stays, sv: Surge, sig, peers: _Peers, p: HospitalParams, year, h, rows, own_pairs, old, old_p95
):
    lo, wd = int(sv.start[h]), int(sv.width[h])
    win = rows[(s.month[rows] >= lo) & (s.month[rows] < lo + wd)]
    when = _month_name(year, lo, wd)
    s1_note = f"{when}: N {sv.n[h]:.0f} vs {sv.expected[h]:.1f} expected; cost ×{sv.cost_ratio[h]:.2f} (z {sv.cost_z[h]:.1f})"
    if not sv.flagged[h] and sv.raw_ratio[h] >= p.s1_min_ratio and sv.top_season[h] >= 0:
        s1_note += f"; rise explained by the region-wide season of {c.dxs[sv.top_season[h]]} (excluded)"
    signals = [Signal("S1 volume surge z", float(sv.z[h]), p.s1_min_z, bool(sv.flagged[h]), s1_note)]
    if len(win) == 0:
        return Lead("hospital", str(c.insts[h]), PATTERN, NONE, 0.0, tuple(signals))
    dxs, counts = np.unique(s.dx[win], return_counts=True)
    top = int(dxs[counts.argmax()])
    k, n = int(counts.max()), len(win)
    share = k / n
    # baseline share: the pair's deseasonalised weight under the region's season in the window, over the mix's
    months = slice(lo, lo + wd)
    mine = own_pairs[s.pair_dx[own_pairs] == top]
    num = float((sv.pair_w[mine, None] * sv.pair_r[mine, months]).sum())
    den = float((sv.pair_w[own_pairs, None] * sv.pair_r[own_pairs, months]).sum())
    base = num / den if den > 0 else 0.0
    pval = binomial_sf(k, n, max(base, 1.0 / (n + 1)))
    s2 = k >= p.min_stays and (
        (share >= p.s2_min_share and share - base >= p.s2_min_rise) or pval < p.s2_max_p
    )
    signals.append(
        Signal(
            "S2 top-diagnosis share",
            share,
            p.s2_min_share,
            bool(s2),
            f"{c.dxs[top]} {k}/{n}; baseline {base:.2f}; binomial p {pval:.1e}",
        )
    )
    top_rows = win[s.dx[win] == top]
    los = c.los[s.visit[top_rows]]
    los_cv = cv(los)
    mode, mshare = mode_share(los)
    los_p5 = peers.p5(peers.los_cv, top, h, p.s3_peer_quantile)
    s3 = len(top_rows) >= p.min_stays and los_cv < los_p5 and mshare >= p.s3_min_mode_share
    signals.append(
        Signal(
            "S3 LOS CV", los_cv, los_p5, bool(s3), f"mode {mode} d in {mshare:.0%} of {len(top_rows)} stays"
        )
    )
    pick = (
        top_rows
        if len(top_rows) <= p.sample_claims
        else np.random.default_rng(h).choice(top_rows, p.sample_claims, replace=False)
    )
    sim = median_pairwise_similarity(sig[pick])
    peer_sim = peers.similarity(top)
    cost_cv = cv(c.medfee[s.visit[top_rows]])
    cost_p5 = peers.p5(peers.cost_cv, top, h, p.s4_cost_quantile)
    s4_sim = sim >= p.s4_min_similarity and (math.isnan(peer_sim) or peer_sim < p.s4_max_peer_similarity)
    s4 = len(top_rows) >= p.min_stays and (s4_sim or cost_cv < cost_p5)
    signals.append(
        Signal(
            "S4 bill similarity",
            sim,
            p.s4_min_similarity,
            bool(s4),
            f"peers {peer_sim:.2f}; cost CV {cost_cv:.2f} vs peer P5 {cost_p5:.2f}",
        )
    )
    _, pairs = np.unique(c.begn_day[s.visit[top_rows]] * 4096 + c.los[s.visit[top_rows]], return_counts=True)
    co_pairs = int((pairs * (pairs - 1) // 2).sum())
    s5 = (co_pairs >= p.s5_min_pairs) + bool(old > old_p95) >= p.s5_min_of
    signals.append(
        Signal(
            "S5 co-admission pairs",
            co_pairs,
            p.s5_min_pairs,
            bool(s5),
            f"aged ≥ 65 {old:.0%} (peer P95 {old_p95:.0%})",
        )
    )
    core = int(s2) + int(s3) + int(s4)
    is_lead = bool(sv.flagged[h]) and core >= p.lead_min_of_s2_s4
    strengths = [
        sv.z[h] / p.s1_min_z,
        share / p.s2_min_share,
        (los_p5 / los_cv if los_cv > 0 else 2.0),
        sim / p.s4_min_similarity,
    ]
    total = score([sv.flagged[h], s2, s3, s4, s5], [float(x) for x in strengths], [2.0, 1.0, 1.0, 1.0, 0.5])
    amount = int(c.medfee[s.visit[top_rows]].sum())
    return Lead(
        "hospital", str(c.insts[h]), PATTERN, LEAD if is_lead else NONE, total, tuple(signals), amount
    )
