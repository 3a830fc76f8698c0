"""§11.5 Insured persons (参保人): stockpiling and shopping around, per person over the year.

* U1 visits in one month (the most, all kinds); U2 institutions in one month (the most distinct);
* U3 days with two or more institutions; U5 stores used in the year;
* U4 drug-days supplied per 30 days: the frame has no days' supply per box, so the usual month of each drug is
  estimated from its regular buyers (≥ 4 purchases): the median of their units per 30 days. Only long-term
  medicines count: drugs at least half of whose buyers buy them regularly (a cold remedy bought now and then
  has no "month"). A person's rate
  for a drug is the units bought before the last purchase over the days from first to last purchase; drug-days
  per 30 = 30 × rate / the drug's usual month, the most over the person's drugs. Flagged above 45.

U1–U3 and U5 are flagged at robust z ≥ 3 among all persons (a count's scale is at least 1: most persons' MAD
is 0). Lead = U4 (with ``lead_min_of`` 2, U4 and one more). Score = 3 · s(U4 / 45 − 1) + 2 · [U4] + ½ per other
flag + their mean strength, s(x) = x / (1 + x): the excess supply — what could be resold — orders the list.
A person with no flagged signal (most of them) is ranked by score but carries no signal list (for speed). The share of purchases at one store far from home needs the person's
home district, which the frame does not carry.
"""

from __future__ import annotations

import numpy as np

from yibao.supervision.screening.claims import Claims, group_keys
from yibao.supervision.screening.leads import LEAD, NONE, Lead, Signal, scores
from yibao.supervision.screening.params import PersonParams
from yibao.supervision.screening.stats import peer_threshold

PATTERN = "person_stockpiling"


def _max_count(person: np.ndarray, bucket: np.ndarray, n: int) -> np.ndarray:
    key, first = group_keys(person, bucket)
    out = np.zeros(n, np.int64)
    np.maximum.at(out, person[first], np.bincount(key))
    return out


def drug_days(
    c: Claims, visits: np.ndarray, min_purchases: int, min_regular_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per person: (drug-days per 30 days of their most-supplied drug, that drug's index or −1)."""
    n_p = len(c.persons)
    pos = np.full(c.n_visits, -1, np.int64)
    pos[visits] = np.arange(len(visits))
    sel = np.flatnonzero(pos[c.line_visit] >= 0)
    person, item = c.person[c.line_visit[sel]], c.line_item[sel]
    day, units = c.line_day[sel], c.line_cnt[sel].astype(np.float64)
    pair, first = group_keys(person, item)
    n_pairs = len(first)
    last = np.full(n_pairs, np.iinfo(np.int64).min)
    np.maximum.at(last, pair, day)
    start = np.full(n_pairs, np.iinfo(np.int64).max)
    np.minimum.at(start, pair, day)
    days_key, days_first = group_keys(pair, day)
    buys = np.bincount(pair[days_first], minlength=n_pairs)
    before = np.bincount(pair, weights=units * (day < last[pair]), minlength=n_pairs)
    span = (last - start).astype(np.float64)
    regular = (buys >= min_purchases) & (span > 0)
    rate = np.divide(before, span, out=np.zeros(n_pairs), where=span > 0) * 30
    usual = np.zeros(len(c.items))
    items = item[first]
    buyers = np.bincount(items, minlength=len(c.items))
    regulars = np.bincount(items, weights=regular, minlength=len(c.items))
    long_term = regulars >= min_regular_share * np.maximum(buyers, 1)
    for i in np.unique(items[regular & long_term[items]]):
        usual[i] = np.median(rate[regular & (items == i)])
    dd = np.divide(30 * rate, usual[items], out=np.zeros(n_pairs), where=(usual[items] > 0) & regular)
    best = np.zeros(n_p)
    np.maximum.at(best, person[first], dd)
    which = np.full(n_p, -1, np.int64)
    top = dd == best[person[first]]
    which[person[first][top & regular]] = items[top & regular]
    del days_key
    return best, which


def person_leads(c: Claims, year: int, p: PersonParams) -> list[Lead]:
    visits = np.flatnonzero(c.in_year(year))
    n_p = len(c.persons)
    person = c.person[visits]
    active = np.flatnonzero(np.bincount(person, minlength=n_p) > 0)
    u1 = _max_count(person, c.begn_month[visits], n_p)
    ik, ifirst = group_keys(person, c.begn_month[visits], c.inst[visits])
    u2 = _max_count(person[ifirst], c.begn_month[visits][ifirst], n_p)
    dk, dfirst = group_keys(person, c.begn_day[visits], c.inst[visits])
    per_day_key, per_day_first = group_keys(person[dfirst], c.begn_day[visits][dfirst])
    multi = np.bincount(per_day_key) >= 2
    u3 = np.bincount(person[dfirst][per_day_first], weights=multi, minlength=n_p)
    buys = visits[c.pharmacy_visit[visits]]
    sk, sfirst = group_keys(c.person[buys], c.inst[buys])
    u5 = np.bincount(c.person[buys][sfirst], minlength=n_p)
    u4, drug = drug_days(c, buys, p.min_purchases, p.min_regular_share)
    values = {"U1": u1, "U2": u2, "U3": u3, "U5": u5}
    names = {
        "U1": "U1 visits in one month",
        "U2": "U2 institutions in one month",
        "U3": "U3 days with ≥ 2 institutions",
        "U5": "U5 stores used",
    }
    thr, z = {}, {}
    for k, x in values.items():
        thr[k], z[k] = peer_threshold(x[active].astype(np.float64), 0.99, p.min_z, p.z_floor)
    amount = np.bincount(c.person[buys], weights=c.medfee[buys], minlength=n_p)
    flag4 = u4[active] > p.max_drug_days_30
    flags = np.stack([flag4, *(values[k][active] > thr[k] for k in values)], axis=1)
    strengths = np.stack([u4[active] / p.max_drug_days_30, *(z[k] / p.min_z for k in values)], axis=1)
    # the excess supply leads (the volume that could be resold); the other signals order within it
    excess = np.maximum(u4[active] / p.max_drug_days_30 - 1.0, 0.0)
    others = scores(flags[:, 1:], strengths[:, 1:], [0.5] * len(values))
    total = (3.0 * excess / (1.0 + excess) + 2.0 * flag4 + others).tolist()
    is_lead = (flag4 & (flags.sum(axis=1) >= p.lead_min_of)).tolist()
    cols = [u4[active].tolist(), *(values[k][active].astype(float).tolist() for k in values)]
    zs = [z[k].round(1).tolist() for k in values]
    thresholds = [p.max_drug_days_30, *(float(thr[k]) for k in values)]
    labels = ["U4 drug-days per 30 days", *(names[k] for k in values)]
    flag_rows = flags.tolist()
    drug_code = [str(c.items[d]) if d >= 0 else "" for d in drug[active].tolist()]
    ids, money = c.persons[active].tolist(), amount[active].astype(np.int64).tolist()
    any_flag = flags.any(axis=1).tolist()
    out = []
    for i in range(len(active)):
        if not any_flag[i]:  # most persons: ranked by score, their (unremarkable) signals not kept
            out.append(Lead("person", ids[i], PATTERN, NONE, total[i], (), money[i]))
            continue
        notes = [f"drug {drug_code[i]}" if drug_code[i] else "no drug bought regularly"]
        notes += [f"z {zz[i]}" for zz in zs]
        signals = tuple(
            Signal(labels[j], cols[j][i], thresholds[j], flag_rows[i][j], notes[j])
            for j in range(len(labels))
        )
        out.append(Lead("person", ids[i], PATTERN, LEAD if is_lead[i] else NONE, total[i], signals, money[i]))
    del ik, dk, sk
    return out
