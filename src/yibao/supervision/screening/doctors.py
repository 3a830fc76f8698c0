"""§11.5 Doctors (医师): physical capacity and the peers' ranges, per attending doctor over the year's outpatient
visits at hospitals.

* D1 physical capacity: clock hours with more than 20 visits (under 3 minutes a patient), flagged from 2 such
  hours. A consultation's length is medicine, not a peer percentile: a busy honest doctor sees many patients a
  day but not 30 in an hour. The most visits in any hour is printed beside it.
* D2 visits in one day (the most in any day);
* D3 cost per visit (mean of the visits' amounts); D4 night and weekend share (20:00–07:00, Saturday, Sunday);
* D5 patients shared with one store: among the doctor's visits followed within 7 days by a store purchase of the
  same person, the share going to the doctor's most frequent store.

D2–D5 are flagged above the peers' P99 (robust z ≥ 3); peers = same hospital grade and department, or the grade,
or all doctors, whichever first has 10 doctors. Lead = ≥ 2 flags; the score weighs D1 twice and D3–D5 half, so
that over-capacity heads the list and a doctor flagged only on cost, hours or one store follows it. The share
of lines hitting 可疑 rules and of restricted drugs come from the rule library's findings and are left to it.
"""

from __future__ import annotations

import numpy as np

from yibao.supervision.screening.claims import DAY_S, Claims, group_keys
from yibao.supervision.screening.fictitious import SPAN
from yibao.supervision.screening.leads import LEAD, NONE, Lead, Signal, score
from yibao.supervision.screening.params import DoctorParams
from yibao.supervision.screening.stats import grouped_peer_threshold

PATTERN = "doctor_overcapacity"
WEIGHTS = (2.0, 1.0, 0.5, 0.5, 0.5)  # capacity first: D3–D5 are other doctor anomalies, they raise priority
MIN_PEERS = 10


def _max_count(doctor: np.ndarray, bucket: np.ndarray, n_doc: int) -> np.ndarray:
    key, first = group_keys(doctor, bucket)
    out = np.zeros(n_doc, np.int64)
    np.maximum.at(out, doctor[first], np.bincount(key))
    return out


def peer_groups(grade: np.ndarray, dept: np.ndarray) -> np.ndarray:
    """Grade × department where it holds ≥ 10 doctors, else the grade, else everyone (−1)."""
    group = grade * 10_000 + dept
    _, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    group = np.where(counts[inv] >= MIN_PEERS, group, grade * 10_000 - 1)
    _, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    return np.where(counts[inv] >= MIN_PEERS, group, -1)


def shared_store(c: Claims, visits: np.ndarray, doctor: np.ndarray, days: int, n_doc: int) -> np.ndarray:
    """Per doctor: the share of visits followed within ``days`` by a purchase at the doctor's top store."""
    buys = np.flatnonzero(c.pharmacy_visit)
    if len(buys) == 0:
        return np.zeros(n_doc)
    order = buys[np.lexsort((c.begn_day[buys], c.person[buys]))]
    key = c.person[order].astype(np.int64) * SPAN + c.begn_day[order]
    at = np.searchsorted(key, c.person[visits].astype(np.int64) * SPAN + c.begn_day[visits], "left")
    ok = at < len(order)
    nxt = order[np.minimum(at, len(order) - 1)]
    ok &= (c.person[nxt] == c.person[visits]) & (c.begn_day[nxt] - c.begn_day[visits] <= days)
    d, store = doctor[ok], c.inst[nxt[ok]]
    top = _max_count(d, store, n_doc)
    n = np.bincount(doctor, minlength=n_doc)
    return np.divide(top, n, out=np.zeros(n_doc), where=n > 0)


def doctor_leads(c: Claims, year: int, p: DoctorParams) -> list[Lead]:
    visits = np.flatnonzero(~c.inpatient & ~c.pharmacy_visit & (c.doctor >= 0) & c.in_year(year))
    doctor = c.doctor[visits]
    n_doc = len(c.doctors)
    n = np.bincount(doctor, minlength=n_doc)
    ranked = np.flatnonzero(n >= p.min_visits)
    ts = c.begn_ts[visits]
    hour_key, hour_first = group_keys(doctor, ts // 3600)
    per_hour = np.bincount(hour_key)
    d1 = np.bincount(doctor[hour_first], weights=per_hour > p.hour_capacity, minlength=n_doc)
    d1_max = np.zeros(n_doc, np.int64)
    np.maximum.at(d1_max, doctor[hour_first], per_hour)
    d2 = _max_count(doctor, ts // DAY_S, n_doc)
    d3 = np.bincount(doctor, weights=c.medfee[visits], minlength=n_doc) / np.maximum(n, 1)
    hour = (ts % DAY_S) // 3600
    off = (hour < 7) | (hour >= 20) | ((ts // DAY_S + 3) % 7 >= 5)
    d4 = np.bincount(doctor, weights=off, minlength=n_doc) / np.maximum(n, 1)
    d5 = shared_store(c, visits, doctor, p.pharmacy_days, n_doc)
    # the doctor's hospital and department: those of the doctor's first visit
    first = np.zeros(n_doc, np.int64)
    first[doctor[::-1]] = visits[::-1]
    peers = peer_groups(c.inst_grade[c.inst[first]][ranked], c.dept[first][ranked])
    values = {"D1": d1, "D2": d2, "D3": d3, "D4": d4, "D5": d5}
    thr, z = {}, {}
    for k, x in values.items():
        thr[k], z[k] = grouped_peer_threshold(x[ranked].astype(np.float64), peers, p.peer_quantile, p.min_z)
    thr["D1"] = np.full(
        len(ranked), p.min_over_hours - 0.5
    )  # a medical bar: flagged from min_over_hours hours
    # D1's strength: the busiest hour against the bar (a pace near it orders the doctors no rule flags)
    z["D1"] = d1_max[ranked] * p.min_z / p.hour_capacity + d1[ranked] * p.min_z / max(p.min_over_hours, 1)
    names = {
        "D1": f"D1 hours over {p.hour_capacity} visits",
        "D2": "D2 visits in one day",
        "D3": "D3 cost per visit (fen)",
        "D4": "D4 night/weekend share",
        "D5": "D5 top-store share",
    }
    amount = np.bincount(doctor, weights=c.medfee[visits], minlength=n_doc)
    out = []
    for i, d in enumerate(ranked):
        flags = {k: bool(values[k][d] > thr[k][i]) for k in values}
        peer = _peer_name(peers[i])
        notes = {k: f"z {z[k][i]:.1f} among {peer} peers" for k in values}
        notes["D1"] = f"most in one hour: {d1_max[d]}"
        signals = tuple(
            Signal(names[k], float(values[k][d]), float(thr[k][i]), flags[k], notes[k]) for k in values
        )
        level = LEAD if sum(flags.values()) >= p.lead_min_of else NONE
        total = score(list(flags.values()), [z[k][i] / p.min_z for k in values], WEIGHTS)
        out.append(Lead("doctor", str(c.doctors[d]), PATTERN, level, total, signals, int(amount[d])))
    return out


def _peer_name(group: int) -> str:
    if group < 0:
        return "all"
    return "grade" if group % 10_000 == 9_999 else "grade × dept"
