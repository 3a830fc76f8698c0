"""§11.2 Pharmacy card skimming without the holder present (盗刷 / 空刷 / 冒名购药), per store over the year.

* P1 in-stay purchase: settlements while the person is an inpatient anywhere (strictly inside a stay); a case
  from 3 such settlements that the region's rate does not explain (binomial tail p < 1e-3).
* P2 after death: settlements after the person's death.
* P5 burst: most distinct persons settled within 10 minutes (the frame has no terminal: the store stands for
  it); the share of consecutive settlements of different persons < 60 s apart is printed beside it.
* P6 year-end drain: share of the year's amount settled in the last 15 days of December.
* P7 basket repetition: the largest number of persons settling one identical basket (items × quantities) on one
  day (counted from 3); the share of settlements in such groups is printed beside it.

P5–P7 are flagged above the peers' P99 (all stores; robust z ≥ 3). Case: ≥ 3 P1 or ≥ 1 P2 (params explain the
3); lead: ≥ 3 of P5–P7. P3 (impossible travel), P4 (credentials), P8 (distance, profile) and P9 (stock, trace
codes) need data the frame does not carry and are left out.
"""

from __future__ import annotations

import numpy as np

from yibao.supervision.screening.claims import DAY_S, Claims, group_keys
from yibao.supervision.screening.fictitious import SPAN, multiset_hash
from yibao.supervision.screening.leads import CASE, LEAD, NONE, Lead, Signal, score
from yibao.supervision.screening.params import PharmacyParams
from yibao.supervision.screening.stats import binomial_sf, peer_threshold

PATTERN = "pharmacy_skimming"


def in_stay(c: Claims, visits: np.ndarray) -> np.ndarray:
    """Whether each visit's day lies strictly inside a stay of the same person."""
    stays = np.flatnonzero(c.inpatient)
    if len(stays) == 0:
        return np.zeros(len(visits), bool)
    order = stays[np.lexsort((c.begn_day[stays], c.person[stays]))]
    key = c.person[order].astype(np.int64) * SPAN + c.begn_day[order]
    pos = np.searchsorted(key, c.person[visits].astype(np.int64) * SPAN + c.begn_day[visits], "left") - 1
    s = order[np.maximum(pos, 0)]
    return (pos >= 0) & (c.person[s] == c.person[visits]) & (c.end_day[s] > c.begn_day[visits])


def max_in_window(store: np.ndarray, ts: np.ndarray, window: int, n_store: int) -> np.ndarray:
    """Per store, the most settlements within any ``window`` seconds (rows: one per person and window)."""
    key = np.sort(store.astype(np.int64) * (1 << 40) + ts)
    count = np.searchsorted(key, key + window, "left") - np.arange(len(key))
    out = np.zeros(n_store, np.int64)
    np.maximum.at(out, (key >> 40).astype(np.int64), count)
    return out


def _one_per_person(store, person, ts, window):
    """Drop a person's repeat settlements at one store within ``window`` seconds of their previous one."""
    order = np.lexsort((ts, person, store))
    if not len(order):
        return order
    s, p, t = store[order], person[order], ts[order]
    repeat = np.r_[False, (s[1:] == s[:-1]) & (p[1:] == p[:-1]) & (t[1:] - t[:-1] < window)]
    return order[~repeat]


def skimming_leads(c: Claims, year: int, p: PharmacyParams) -> list[Lead]:
    visits = np.flatnonzero(c.pharmacy_visit & c.in_year(year))
    n_inst = len(c.insts)
    store, person, ts = c.inst[visits], c.person[visits], c.begn_ts[visits]
    n = np.bincount(store, minlength=n_inst)
    stores = np.flatnonzero(n > 0)
    p1 = np.bincount(store, weights=in_stay(c, visits), minlength=n_inst)
    p2 = np.bincount(store, weights=c.begn_day[visits] > c.death_day[visits], minlength=n_inst)
    keep = _one_per_person(store, person, ts, p.p5_window_s)
    p5 = max_in_window(store[keep], ts[keep], p.p5_window_s, n_inst).astype(np.float64)
    gap_share = _fast_share(store, person, ts, p.p5_gap_s, n_inst)
    last = np.datetime64(f"{year}-12-31").astype(np.int64) - p.p6_last_days + 1
    amount = c.medfee[visits].astype(np.float64)
    year_amt = np.bincount(store, weights=amount, minlength=n_inst)
    end_amt = np.bincount(store, weights=amount * (c.begn_day[visits] >= last), minlength=n_inst)
    p6 = np.divide(end_amt, year_amt, out=np.zeros(n_inst), where=year_amt > 0)
    p7, p7_share, p7_day = _basket_repetition(c, visits, store, person, p.p7_min_persons, n_inst)
    thr, z = {}, {}
    for name, x in (("p5", p5), ("p6", p6), ("p7", p7)):
        t, zz = peer_threshold(x[stores], p.peer_quantile, p.min_z)
        thr[name], z[name] = t, zz
    rate = float(p1.sum() / max(n.sum(), 1))  # the region's rate, pooled
    out = []
    for i, s in enumerate(stores):
        flags = [p5[s] > thr["p5"], p6[s] > thr["p6"], p7[s] > thr["p7"]]
        p1_p = binomial_sf(int(p1[s]), int(n[s]), max(rate, 1e-4))
        p1_case = p1[s] >= p.p1_case_min and p1_p < p.p1_max_p
        is_case = p1_case or p2[s] >= p.p2_case_min
        day = str(np.datetime64(int(p7_day[s]), "D")) if p7[s] else "–"
        signals = (
            Signal("P1 in-stay purchases", float(p1[s]), float(p.p1_case_min), bool(p1_case), f"settled while the person was an inpatient; region rate {rate:.2%}, binomial p {p1_p:.1e}"),
            Signal("P2 after-death purchases", float(p2[s]), float(p.p2_case_min), bool(p2[s] >= p.p2_case_min), "settled after the date of death"),
            Signal("P5 persons in 10 min", float(p5[s]), thr["p5"], bool(flags[0]), f"consecutive different persons < {p.p5_gap_s} s: {gap_share[s]:.0%}"),
            Signal("P6 year-end share", float(p6[s]), thr["p6"], bool(flags[1]), f"last {p.p6_last_days} days of December; year {year_amt[s] / 100:,.0f} yuan"),
            Signal("P7 identical basket persons", float(p7[s]), thr["p7"], bool(flags[2]), f"largest on {day}; {p7_share[s]:.1%} of settlements in such groups"),
        )  # fmt: skip
        level = CASE if is_case else LEAD if sum(flags) >= p.lead_min_of else NONE
        zs = [z["p5"][i] / p.min_z, z["p6"][i] / p.min_z, z["p7"][i] / p.min_z]
        total = score([is_case, *flags], zs, [2.0, 1.0, 1.0, 1.0])
        out.append(Lead("pharmacy", str(c.insts[s]), PATTERN, level, total, signals, int(end_amt[s])))
    return out


def _fast_share(store, person, ts, gap, n_inst) -> np.ndarray:
    """Share of consecutive settlements at a store that are different persons less than ``gap`` s apart."""
    order = np.lexsort((ts, store))
    s, p, t = store[order], person[order], ts[order]
    same_store = s[1:] == s[:-1]
    fast = same_store & (p[1:] != p[:-1]) & (t[1:] - t[:-1] < gap)
    pairs = np.bincount(s[1:], weights=same_store, minlength=n_inst)
    return np.divide(
        np.bincount(s[1:], weights=fast, minlength=n_inst), pairs, out=np.zeros(n_inst), where=pairs > 0
    )


def _basket_repetition(c: Claims, visits, store, person, min_persons, n_inst):
    """Per store: the largest day group of persons with one identical basket, the share of settlements in
    groups of ≥ ``min_persons``, and the day of the largest group."""
    pos = np.full(c.n_visits, -1, np.int64)
    pos[visits] = np.arange(len(visits))
    sel = np.flatnonzero(pos[c.line_visit] >= 0)
    token = (c.line_item[sel].astype(np.int64) << 32) ^ c.line_cnt[sel]
    basket = multiset_hash(pos[c.line_visit[sel]], token, len(visits))
    _, basket_id = np.unique(basket, return_inverse=True)
    day = c.begn_day[visits]
    group, first = group_keys(store, day, basket_id)
    distinct_key, distinct_first = group_keys(group, person)
    persons = np.bincount(group[distinct_first], minlength=len(first))
    size = np.where(persons >= min_persons, persons, 0)
    largest = np.zeros(n_inst, np.int64)
    np.maximum.at(largest, store[first], size)
    at = np.zeros(n_inst, np.int64)
    best = size == largest[store[first]]
    at[store[first][best]] = day[first][best]
    in_group = size[group] > 0
    n = np.bincount(store, minlength=n_inst)
    share = np.divide(
        np.bincount(store, weights=in_group, minlength=n_inst), n, out=np.zeros(n_inst), where=n > 0
    )
    del distinct_key
    return largest.astype(np.float64), share, at


__all__ = ["DAY_S", "skimming_leads"]
