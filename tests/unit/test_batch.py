"""Batch settlement specifics: shared accounts, slot keys across years, order of input."""

from __future__ import annotations

from datetime import date

import numpy as np

from tests.kernel_helpers import demo_bundle, fee
from yibao.settlement.batch import batch_from_requests, run_batch
from yibao.settlement.inputs import PersonFacts, VisitRequest


def _pharmacy_year():
    b = demo_bundle()
    persons = [PersonFacts("310", "11"), PersonFacts("310", "12")]
    visits = [
        (p, VisitRequest("41", date(2025, 1, 1 + k), [fee(1, "300.00")], acct_used_flag=1))
        for k in range(5)
        for p in (0, 1)
    ]
    return b, batch_from_requests(b, persons, [100_000, 0], visits)


def test_own_accounts():
    b, batch = _pharmacy_year()
    res = run_batch(b, batch)
    assert res.columns["acct_pay"][batch.person == 0].tolist() == [30_000, 30_000, 30_000, 10_000, 0]
    assert res.columns["acct_pay"][batch.person == 1].sum() == 0  # person 1 has nothing in their own account


def test_an_account_shared_by_two_chains_is_never_overdrawn():
    b, batch = _pharmacy_year()
    batch.acct = np.zeros(len(batch), dtype=np.int64)  # person 1 pays from person 0's account (共济)
    batch.acct_flag = np.where(batch.person == 1, 2, 1)
    res = run_batch(b, batch)
    assert res.columns["acct_pay"].sum() == 100_000  # the whole balance, never more
    assert int(res.state.bal[0]) == 0 and (res.columns["balc"] >= 0).all()
    assert res.columns["acct_mulaid_pay"].sum() == res.columns["acct_pay"][batch.person == 1].sum() > 0


def test_slots_separate_years_and_equal_dates_keep_input_order():
    b = demo_bundle()
    visits = [
        (0, VisitRequest("11", date(y, 3, 1), [fee(1, "900.00")], hosp_lv=1)) for y in (2026, 2025, 2025)
    ]
    res = run_batch(b, batch_from_requests(b, [PersonFacts("390", "15")], [0], visits))
    assert [tuple(k) for k in res.slot_keys.tolist()] == [(0, 2025, 1), (0, 2026, 1)]
    # 2025: cap 500 → 500 then 0 (same day: input order); 2026: cap 800 → 0.60 × 900 = 540
    assert res.columns["hifp_pay"].tolist() == [54_000, 50_000, 0]


def test_bulk_records_equal_the_per_settlement_ones():
    """setldetail, deltas and ledger legs built for a whole batch equal those of one-by-one settlement."""
    from hypothesis import HealthCheck, given, settings

    from tests.kernel_helpers import person_year
    from yibao.funds.ledger import settlement_postings
    from yibao.settlement import online
    from yibao.settlement.bulk import deltas, detail_arrays, posting_arrays

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(person_year(max_visits=10))
    def check(case):
        person, balance, visits = case
        b = demo_bundle()
        batch = batch_from_requests(b, [person], [balance], [(0, v) for v in visits])
        res = run_batch(b, batch)
        d = detail_arrays(b, batch, res)
        p = posting_arrays(d, res)
        dl = deltas(b, batch, res)
        accums, bal = {}, balance
        for i, v in enumerate(visits):
            key = (v.begndate.year, person.insutype)
            s, accums[key], bal = online.settle(b, person, v, accums.get(key, {}), bal)
            m = d.visit == i
            assert [
                (
                    r.fund_pay_type,
                    r.inscp_scp_amt,
                    -1 if r.crt_payb_lmt_amt is None else r.crt_payb_lmt_amt,
                    r.fund_payamt,
                )
                for r in s.setldetail
            ] == list(
                zip(
                    d.fund_pay_type[m].tolist(),
                    d.base[m].tolist(),
                    d.remaining[m].tolist(),
                    d.amount[m].tolist(),
                    strict=True,
                )
            )
            assert dl[i] == s.delta
            legs = settlement_postings(
                s.setlinfo,
                [(r.fund_pay_type, r.fund_payamt) for r in s.setldetail],
                fixmedins_code="H",
                psn_no="P",
            )
            pm = p.visit == i
            assert [(x.account, x.fund_pay_type or "", x.amount) for x in legs] == list(
                zip(p.account[pm].tolist(), p.fund_pay_type[pm].tolist(), p.amount[pm].tolist(), strict=True)
            )

    check()
