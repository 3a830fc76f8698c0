"""先付费后报销 end to end: in a region where adult residents (15) pay first and claim later, the hospital's 2207
pays no fund (the person pays all, nothing accumulates); staff settle the claim later by the same chain on the
same lines — the funds pay the person, the accumulators move — once; the hospital cannot reverse the
settlement while its claim stands; reversing the claim restores everything."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.world import HOSP2, RESIDENT, His, demo_policy_with, settle_outpatient
from yibao.cli import main
from yibao.config import reset_settings
from yibao.funds.check import check_ledger
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator, Settlement

POOL_FUND = 'pool_fund: "390100"'


@pytest.fixture
def pay_first(tmp_path, monkeypatch):
    yield demo_policy_with(tmp_path, monkeypatch, POOL_FUND, POOL_FUND + '\n    pay_first: ["15"]')
    reset_settings()


def accumulators() -> dict[str, int]:
    with unit_of_work(write=False) as s:
        rows = s.execute(select(Accumulator.acc_key, Accumulator.value).where(Accumulator.psn_no == RESIDENT))
        return {k: int(v) for k, v in rows}


def test_a_pay_first_settlement_is_claimed_later_once(client, engine, pay_first, capsys):
    his = His(client, HOSP2)
    mdtrt, info = settle_outpatient(his, "2025-03-01", "300.00")
    assert (info["fund_pay_sumamt"], info["psn_cash_pay"]) == (Decimal("0.00"), Decimal("300.00"))
    assert accumulators() == {}
    setl_id = info["setl_id"]

    assert main(["claims", "settle", setl_id]) == 0
    # the claim: level 2 outpatient, 300 × 0.50 = 150 from the pool, paid to the person
    with unit_of_work(write=False) as s:
        (claim,) = s.scalars(select(Settlement).where(Settlement.supplement_of == setl_id)).all()
        assert (claim.hifp_pay, claim.fund_pay_sumamt, claim.psn_cash_pay, claim.medfee_sumamt) == (
            15000,
            15000,
            -15000,
            0,
        )
        assert check_ledger(s).ok
    assert accumulators() == {"cap:outpatient": 15000}

    capsys.readouterr()
    assert main(["claims", "settle", setl_id]) == 2
    assert "已报销" in capsys.readouterr().err
    his.fails("2208", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": setl_id}}, claim.setl_id)

    assert main(["claims", "reverse", claim.setl_id]) == 0
    assert accumulators() == {}
    with unit_of_work(write=False) as s:
        assert check_ledger(s).ok
    assert main(["claims", "settle", setl_id]) == 0  # a reversed claim may be made again
    assert accumulators() == {"cap:outpatient": 15000}


def test_a_settlement_of_a_category_paid_at_once_is_not_a_claim(client, engine, capsys):
    his = His(client, HOSP2)
    setl_id = settle_outpatient(his, "2025-03-01", "300.00")[1]["setl_id"]
    capsys.readouterr()
    assert main(["claims", "settle", setl_id]) == 2
    assert "不是先付费后报销人员的结算" in capsys.readouterr().err
