"""§11.4 Fictitious hospitalisation (虚构住院), per hospital over the year's stays.

* F1 presence contradiction: stays with another settlement of the same person strictly inside them (an
  outpatient visit, a store purchase, another admission), or admitted after the person's death. Case when a
  hospital has ≥ 3 such stays and more than the region's rate explains (Poisson tail p < 1e-4, the expected
  count = the region's contradictions per inner stay-day × the hospital's inner stay-days): one is as often
  委托购药 (a relative buying for the inpatient) or someone else's card used elsewhere.
* F2 missing care: share of stay-days with no nursing, drug or treatment line; share of stays with no laboratory
  test. Flagged when either is above the grade peers' P99 (robust z ≥ 3).
* F3 template billing: share of billed stay-days whose item vector (a multiset hash of item × quantity) is shared
  by ≥ 3 patients of the hospital; above the peers' P99.
* F4 recruited cohort: co-admission pairs (same admission and discharge day) against the number expected if
  admission weekday and length of stay were independent across patients: ``(observed + 1) / (expected + 1)``;
  above the peers' P99. The elderly share is printed beside it.

Lead = ≥ 2 of F2–F4. F5 (follow-up) and F6 (co-visit graph) need more than a year of one region and are left out.
"""

from __future__ import annotations

import numpy as np

from yibao.supervision.screening.claims import Claims, group_keys
from yibao.supervision.screening.leads import CASE, LEAD, NONE, Lead, Signal, score
from yibao.supervision.screening.params import FictitiousParams
from yibao.supervision.screening.stats import grouped_peer_threshold, mix64, poisson_sf

PATTERN = "fictitious_stay"
SPAN = np.int64(1 << 24)  # day numbers are below 2²⁴ until the year 47,900


def inside_counts(c: Claims, stays: np.ndarray) -> np.ndarray:
    """Per stay, the person's other visits whose first day lies strictly inside the stay."""
    key = np.sort(c.person.astype(np.int64) * SPAN + c.begn_day)
    base = c.person[stays].astype(np.int64) * SPAN
    lo = np.searchsorted(key, base + c.begn_day[stays] + 1, "left")
    hi = np.searchsorted(key, base + c.end_day[stays], "left")
    return np.maximum(hi - lo, 0)


def multiset_hash(group: np.ndarray, tokens: np.ndarray, n_groups: int) -> np.ndarray:
    """Order-free hash of each group's tokens: the wrapping sum of their 64-bit mixes (0 for an empty group)."""
    out = np.zeros(n_groups, np.uint64)
    if len(group) == 0:
        return out
    order = np.argsort(group, kind="stable")
    g, h = group[order], mix64(tokens[order])
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[g[starts]] = np.add.reduceat(h, starts)
    return out


def fictitious_leads(c: Claims, year: int, p: FictitiousParams) -> list[Lead]:
    stays = np.flatnonzero(c.inpatient & (c.inst_type[c.inst] == "1") & c.in_year(year))
    n_inst = len(c.insts)
    hosp = c.inst[stays]
    n = np.bincount(hosp, minlength=n_inst).astype(np.float64)
    ranked = np.flatnonzero(n >= p.min_stays)
    grade = c.inst_grade
    # F1
    contra = (inside_counts(c, stays) > 0) | (c.begn_day[stays] > c.death_day[stays])
    f1_n = np.bincount(hosp, weights=contra, minlength=n_inst)
    f1_rate = _share(f1_n, n)
    # F2, F3: the stays' billed days
    los_days = np.maximum(c.los[stays], 1)
    pos = np.full(c.n_visits, -1, np.int64)
    pos[stays] = np.arange(len(stays))
    sel = np.flatnonzero(pos[c.line_visit] >= 0)
    sp, day = pos[c.line_visit[sel]], c.line_day[sel]
    day_key, first = group_keys(sp, day)
    care_codes = np.isin(c.chrgs, p.f2_care_codes)
    care_day = np.bincount(day_key, weights=care_codes[c.line_chrg[sel]], minlength=len(first)) > 0
    cared = np.bincount(sp[first], weights=care_day, minlength=len(stays))
    missing = np.clip(los_days - cared, 0, None)
    f2_days = _share(
        np.bincount(hosp, weights=missing, minlength=n_inst),
        np.bincount(hosp, weights=los_days, minlength=n_inst),
    )
    lab = np.flatnonzero(c.chrgs == p.f2_lab_code)
    has_lab = np.bincount(sp, weights=np.isin(c.line_chrg[sel], lab), minlength=len(stays)) > 0
    f2_nolab = _share(np.bincount(hosp, weights=~has_lab, minlength=n_inst), n)
    token = (c.line_item[sel].astype(np.int64) << 32) ^ c.line_cnt[sel]
    vec = multiset_hash(day_key, token, len(first)) ^ mix64(hosp[sp[first]])
    person = c.person[stays][sp[first]]
    _, vec_id = np.unique(vec, return_inverse=True)
    _, pair_first = group_keys(vec_id, person)
    patients = np.bincount(vec_id[pair_first], minlength=vec_id.max(initial=-1) + 1)
    template = patients[vec_id] >= p.f3_min_patients
    f3 = _share(
        np.bincount(hosp[sp[first]], weights=template, minlength=n_inst),
        np.bincount(hosp[sp[first]], minlength=n_inst),
    )
    # F4
    f4, observed = _co_admission(c, stays, hosp, n_inst)
    old = _share(np.bincount(hosp, weights=c.age[stays] >= 65, minlength=n_inst), n)
    thresholds = {}
    # a stay's exposure is its inner days: a 15-day stay meets more of a person's other visits than a 2-day one
    inner = np.maximum(c.los[stays] - 1, 0).astype(np.float64)
    exposure = np.bincount(hosp, weights=inner, minlength=n_inst)
    f1_base = float(f1_n[ranked].sum() / max(exposure[ranked].sum(), 1))  # the region's rate per inner day
    f1_p = np.array([poisson_sf(int(f1_n[h]), f1_base * exposure[h]) for h in ranked])
    for name, x in (("f1", f1_rate), ("f2d", f2_days), ("f2l", f2_nolab), ("f3", f3), ("f4", f4)):
        thr, z = grouped_peer_threshold(x[ranked], grade[ranked], p.peer_quantile, p.min_z)
        thresholds[name] = (thr, z)
    amount = np.bincount(hosp, weights=c.medfee[stays] * contra, minlength=n_inst)
    out = []
    for i, h in enumerate(ranked):
        t = {k: (float(v[0][i]), float(v[1][i])) for k, v in thresholds.items()}
        is_case = f1_n[h] >= p.f1_case_min and f1_p[i] < p.f1_max_p
        flag2 = f2_days[h] > t["f2d"][0] or f2_nolab[h] > t["f2l"][0]
        flag3, flag4 = f3[h] > t["f3"][0], f4[h] > t["f4"][0]
        signals = (
            Signal("F1 presence contradictions", float(f1_n[h]), float(p.f1_case_min), bool(is_case), f"{f1_rate[h]:.1%} of {n[h]:.0f} stays; {f1_base * exposure[h]:.1f} expected at the region's rate; p {f1_p[i]:.1e}"),
            Signal("F2 missing-care day share", float(f2_days[h]), t["f2d"][0], bool(flag2), f"stays without a lab test {f2_nolab[h]:.0%} (threshold {t['f2l'][0]:.0%})"),
            Signal("F3 template day share", float(f3[h]), t["f3"][0], bool(flag3), f"day vectors shared by ≥ {p.f3_min_patients} patients"),
            Signal("F4 co-admission excess", float(f4[h]), t["f4"][0], bool(flag4), f"{observed[h]:.0f} pairs; aged ≥ 65 {old[h]:.0%}"),
        )  # fmt: skip
        core = int(flag2) + int(flag3) + int(flag4)
        level = CASE if is_case else LEAD if core >= p.lead_min_of else NONE
        zs = [
            t["f1"][1] / p.min_z,
            max(t["f2d"][1], t["f2l"][1]) / p.min_z,
            t["f3"][1] / p.min_z,
            t["f4"][1] / p.min_z,
        ]
        total = score([is_case, flag2, flag3, flag4], zs, [2.0, 1.0, 1.0, 1.0])
        out.append(Lead("hospital", str(c.insts[h]), PATTERN, level, total, signals, int(amount[h])))
    return out


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _co_admission(c: Claims, stays, hosp, n_inst) -> tuple[np.ndarray, np.ndarray]:
    """(observed + 1) / (expected + 1) co-admission pairs per hospital, and the observed count."""
    begn, los = c.begn_day[stays], c.los[stays]
    key, first = group_keys(hosp, begn, los)
    size = np.bincount(key)
    observed = np.bincount(hosp[first], weights=size * (size - 1) / 2, minlength=n_inst)
    n = np.bincount(hosp, minlength=n_inst).astype(np.float64)
    weekday = (begn + 3) % 7
    wd_key, wd_first = group_keys(hosp, weekday)
    wd_share = np.bincount(wd_key) / n[hosp[wd_first]]
    same_day = np.bincount(hosp[wd_first], weights=wd_share**2 / 52.0, minlength=n_inst)
    l_key, l_first = group_keys(hosp, los)
    l_share = np.bincount(l_key) / n[hosp[l_first]]
    same_los = np.bincount(hosp[l_first], weights=l_share**2, minlength=n_inst)
    expected = n * (n - 1) / 2 * same_day * same_los
    return (observed + 1) / (expected + 1), observed
