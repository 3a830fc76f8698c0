"""The demo's planned history (synth/history.py), pure: plausible 参保日期 and months, events that do not
overlap, relatives of plausible ages, the same plan from the same seed."""

from __future__ import annotations

from datetime import date

import numpy as np

from yibao.synth import history
from yibao.synth import population as pop_mod
from yibao.synth.params import Params

DISTRICTS = [("990102", 300_000), ("990103", 200_000), ("990111", 100_000)]
P = Params(persons=4_000, seed=21)


def _plan(seed: int = 21):
    pop = pop_mod.generate(np.random.default_rng(seed), P, DISTRICTS, "990100")
    return pop, history.plan(np.random.default_rng([seed, 1]), P, pop)


def test_enrollment_dates_are_plausible_for_age_and_category():
    pop, past = _plan()
    start = np.datetime64(date(P.year, 1, 1))
    assert (past.begndate >= pop.brdy).all()
    assert (past.begndate <= np.datetime64(date(P.year, 12, 31))).all()
    age_then = (past.begndate - pop.brdy).astype(np.int64) // 366  # a lower bound of 周岁
    for code, youngest in (("11", 17), ("15", 17), ("16", 59), ("1403", 4)):
        assert (age_then[pop.psn_type == code] >= youngest).all(), code
    newborn = np.isin(pop.psn_type, ("1401", "1402"))
    assert (past.begndate[newborn] == pop.brdy[newborn]).all()
    staff = pop.insutype == "310"
    assert (
        len(set(past.begndate[staff].tolist())) > 100 and len(set(past.contrib_months[staff].tolist())) > 100
    )
    retired = pop.psn_type == "12"
    assert (past.contrib_months[retired] >= 180).all() and (past.begndate[retired] <= start).all()
    assert (past.contrib_months[~staff] == 0).all()


def test_events_concern_distinct_persons_and_relatives_fit():
    pop, past = _plan()
    involved = np.concatenate(
        [past.transfer_in, past.transfer_out, past.overlap, past.twin, past.owner, past.member]
    )
    assert involved.size == np.unique(involved).size > 0
    assert past.late and all(1 <= past.repaid[e] < k for e, k in past.late.items())
    for o, m, rel in zip(past.owner.tolist(), past.member.tolist(), past.relation, strict=True):
        gap = int(pop.age[o]) - int(pop.age[m])
        assert pop.psn_type[o] == "11" and pop.insutype[m] == "390"
        assert {"child": 20 <= gap <= 40, "parent": -40 <= gap <= -20, "spouse": abs(gap) <= 6}[rel]
        if rel == "child":
            assert pop.name[m][0] == pop.name[o][0]  # the parent's surname
    for t in past.twin.tolist():  # the legacy record: someone else's ID with a lower-case check character
        other = np.flatnonzero(pop.certno == pop.certno[t][:-1] + "X")
        assert other.size == 1 and pop.brdy[other[0]] == pop.brdy[t] and pop.name[other[0]] == pop.name[t]
    assert (pop.balance[past.transfer_in] > 0).all()


def test_the_same_seed_plans_the_same_history():
    (_, a), (_, b) = _plan(), _plan()
    assert (a.begndate == b.begndate).all() and a.late == b.late
    assert (a.owner == b.owner).all() and (a.transfer_out_day == b.transfer_out_day).all()
