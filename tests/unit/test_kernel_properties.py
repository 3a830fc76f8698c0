"""Contract §6 invariants, on random persons and years of visits (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kernel_helpers import demo_bundle, person_year
from yibao.policy.compiler import INF
from yibao.settlement import online
from yibao.settlement.batch import batch_from_requests, run_batch

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUNDS = ("hifp_pay", "hifob_pay", "hifmi_pay", "oth_pay", "maf_pay")


def settle_year(person, balance, visits):
    """One by one, as the online service would: accumulators per (year, insutype), one balance."""
    b = demo_bundle()
    accums, results = defaultdict(dict), []
    for v in visits:
        key = (v.begndate.year, person.insutype)
        s, accums[key], balance = online.settle(b, person, v, accums[key], balance)
        results.append(s)
    return results, accums, balance


@SETTINGS
@given(person_year())
def test_identities_and_bounds_hold_on_every_settlement(case):
    person, balance, visits = case
    results, _, _ = settle_year(person, balance, visits)
    for s in results:
        s.check_identities()
        info = s.setlinfo
        for k, val in info.items():
            assert val >= 0, (k, val)
        # no fund pays above the base it computed on, nor beyond its remaining limit
        for row in s.setldetail:
            assert row.fund_payamt <= row.inscp_scp_amt, row
            if row.crt_payb_lmt_amt is not None:
                assert row.fund_payamt <= row.crt_payb_lmt_amt, row
        assert info["fund_pay_sumamt"] <= info["inscp_scp_amt"]
        assert info["act_pay_dedc"] <= info["inscp_scp_amt"]


@SETTINGS
@given(person_year(max_visits=20))
def test_no_cap_is_exceeded_over_a_year(case):
    person, balance, visits = case
    b = demo_bundle()
    _results, accums, _ = settle_year(person, balance, visits)
    A = b.arrays
    for (year, ins_code), acc in accums.items():
        vi = b.version_index(visits[0].begndate.replace(year=year, month=1, day=1))
        ii = b.insutype_index(ins_code)
        pi = b.category_index(ins_code, person.psn_type)
        for gi, g in enumerate(b.groups):
            assert acc.get(f"cap:{g}", 0) <= A["cap_amt"][vi, ii, gi, pi]
        for di, d in enumerate(b.diseases):
            assert acc.get(f"disease:{d}", 0) <= A["dis_cap"][vi, ii, b.classes.index("chronic"), di]
        assert acc.get("large_expense:paid", 0) <= A["le_cap"][vi, ii] or A["le_cap"][vi, ii] >= INF // 2
        if not any(i.code in ("2302", "2303", "2304", "2305") for i in person.identities):
            assert acc.get("critical:paid", 0) <= A["ci_cap"][vi, ii, 0]
        assert acc.get("supplementary:paid", 0) <= A["sp_cap"][vi, 0]
        if not any(i.code in ("2301", "2304") for i in person.identities):
            assert acc.get("assistance:paid", 0) <= 15_000_000
            assert acc.get("assistance:outpatient", 0) <= 2_000_000
    # every deductible consumed at most once a year
    for (_year, _ins), acc in accums.items():
        if person.insutype == "310":
            assert acc.get("dedc:outpatient", 0) <= 10_000


@SETTINGS
@given(person_year(max_visits=15))
def test_batch_equals_one_by_one(case):
    person, balance, visits = case
    b = demo_bundle()
    results, accums, final_balance = settle_year(person, balance, visits)
    batch = batch_from_requests(b, [person], [balance], [(0, v) for v in visits])
    res = run_batch(b, batch)
    for i, s in enumerate(results):
        assert res.setlinfo(i) == s.setlinfo, i
    for slot, (_p, year, ins) in enumerate(res.slot_keys):
        assert res.state.slot_values(b, slot) == accums[(int(year), b.insutypes[int(ins)])]
    assert int(res.state.bal[0]) == final_balance


@SETTINGS
@given(person_year(max_visits=10), st.data())
def test_reverse_restores_accumulators(case, data):
    person, balance, visits = case
    b = demo_bundle()
    results, accums, final_balance = settle_year(person, balance, visits)
    k = data.draw(st.integers(0, len(results) - 1))
    target = results[k]
    key = (target.year, target.insutype)
    rev, acc_after, bal_after = online.reverse(target, accums[key], final_balance)
    # the accumulators now equal the sum of the deltas of the settlements that remain
    expected = defaultdict(int)
    for j, s in enumerate(results):
        if j != k and (s.year, s.insutype) == key:
            for name, val in s.delta.items():
                expected[name] += val
    assert acc_after == {n: v for n, v in expected.items() if v}
    assert bal_after == final_balance + target.setlinfo["acct_pay"]
    assert rev.setlinfo["hifp_pay"] == -target.setlinfo["hifp_pay"]
    if k == len(results) - 1:  # reversing the last one restores exactly the state before it
        before = defaultdict(dict)
        bal = balance
        for v in visits[:-1]:
            kk = (v.begndate.year, person.insutype)
            _, before[kk], bal = online.settle(b, person, v, before[kk], bal)
        assert acc_after == before[key]
        assert bal_after == bal
    # and re-settling the same visit gives the same result again
    again, _, _ = online.settle(b, person, visits[k], acc_after, bal_after)
    if k == len(results) - 1:
        assert again.setlinfo == target.setlinfo


@SETTINGS
@given(person_year(max_visits=10))
def test_a_visit_with_its_stored_split_settles_as_one_split_anew(case):
    """2207 passes the split its upload stored (VisitRequest.split): the same settlement, to the fen."""
    from dataclasses import replace

    person, balance, visits = case
    anew, _, _ = settle_year(person, balance, visits)
    stored = [replace(v, split=online.split_fees(v.fees)[1]) for v in visits]
    again, _, _ = settle_year(person, balance, stored)
    for s, t in zip(anew, again, strict=True):
        assert (s.setlinfo, s.setldetail, s.lines, s.delta) == (t.setlinfo, t.setldetail, t.lines, t.delta)


def test_the_stored_split_is_what_settles():  # (the test above cannot tell reuse from recomputation)
    from dataclasses import replace

    from tests.kernel_helpers import fee
    from yibao.settlement.inputs import PersonFacts, VisitRequest

    b = demo_bundle()
    person = PersonFacts("310", "11")
    visit = VisitRequest("11", date(2025, 3, 1), [fee(1, "100.00")], hosp_lv=2)
    split = online.split_fees(visit.fees)[1]
    assert split[0]["inscp_scp_amt"] == 10000
    shifted = [{**split[0], "fulamt_ownpay_amt": 4000, "inscp_scp_amt": 6000}]
    s, _, _ = online.settle(b, person, replace(visit, split=shifted), {}, 0)
    assert (s.setlinfo["fulamt_ownpay_amt"], s.setlinfo["inscp_scp_amt"]) == (4000, 6000)
