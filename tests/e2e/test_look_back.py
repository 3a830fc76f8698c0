"""Look-back assistance (补充救助) end to end: a resident recognised as 低保 on 10 July, in a region whose 低保
category looks back 6 months, gets assistance on the settlement of March (not on the one of early January):
recorded as its own settlement, ledgered as a payment to the person, in the accumulators, exactly once;
the hospital cannot reverse the March settlement while the supplement stands; staff reverse the supplement,
everything is restored, and the look-back pays again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.world import HOSP2, RESIDENT, His, demo_policy_with, settle_outpatient
from yibao.cli import main
from yibao.config import reset_settings
from yibao.funds.check import check_ledger
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator, LedgerEntry, LedgerPosting, Settlement

LOW_INCOME = '"2303": {name: 低保对象, ratio: "0.80", annual_limit: "150000.00"'


@pytest.fixture
def looking_back(tmp_path, monkeypatch):
    """The demo region with 低保 looking back 6 months."""
    yield demo_policy_with(tmp_path, monkeypatch, LOW_INCOME, LOW_INCOME + ", look_back_months: 6")
    reset_settings()


def settle(his: His, day: str, amount: str) -> tuple[str, str]:
    mdtrt, info = settle_outpatient(his, day, amount)
    assert info["maf_pay"] == Decimal("0.00")
    return mdtrt, info["setl_id"]


def assistance_accumulators() -> dict[str, int]:
    with unit_of_work(write=False) as s:
        rows = s.execute(
            select(Accumulator.acc_key, Accumulator.value).where(
                Accumulator.psn_no == RESIDENT, Accumulator.acc_key.like("assistance:%")
            )
        )
        return {k: int(v) for k, v in rows}


def supplements() -> list[Settlement]:
    with unit_of_work(write=False) as s:
        return list(s.scalars(select(Settlement).where(Settlement.supplement_of.is_not(None))))


def test_a_recognition_pays_the_months_before_it_once(client, engine, tmp_path, looking_back, capsys):
    his = His(client, HOSP2)
    _, january = settle(his, "2025-01-05", "300.00")  # before the window (10 Jan – 9 Jul)
    march_visit, march = settle(his, "2025-03-01", "300.00")
    # March, level 2 outpatient: pool 300 × 0.50 = 150; left 150, × 0.80 (低保) = 120.00
    feed = tmp_path / "低保.csv"
    feed.write_text(
        f"psn_no,psn_idet_type,begntime,idet_org\n{RESIDENT},2303,2025-07-10,示例市民政局\n", "utf-8"
    )
    assert main(["import", "identities", str(feed)]) == 0
    (sup,) = supplements()
    assert (sup.supplement_of, sup.maf_pay, sup.fund_pay_sumamt) == (march, 12000, 12000)
    assert (sup.medfee_sumamt, sup.psn_part_amt, sup.psn_cash_pay) == (0, -12000, -12000)
    assert sup.mdtrt_id == march_visit and sup.begndate.isoformat() == "2025-03-01"
    assert assistance_accumulators() == {"assistance:paid": 12000, "assistance:outpatient": 12000}
    with unit_of_work(write=False) as s:
        legs = s.execute(
            select(LedgerPosting.account, LedgerPosting.fund_pay_type, LedgerPosting.amount)
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.setl_id == sup.setl_id)
        ).all()
        assert sorted(legs) == [("fund_expense", "610100", 12000), ("patient_cash", None, -12000)]
        assert check_ledger(s).ok
    assert january not in {x.supplement_of for x in supplements()}

    # again, by hand: nothing more is paid
    capsys.readouterr()
    assert (
        main(["assistance", "look-back", "--psn-no", RESIDENT, "--idet", "2303", "--date", "2025-07-10"]) == 0
    )
    assert "补充救助 0 笔" in capsys.readouterr().out
    assert len(supplements()) == 1

    # the hospital may not reverse March while its supplement stands, nor the supplement itself
    his.fails("2208", {"data": {"psn_no": RESIDENT, "mdtrt_id": march_visit, "setl_id": march}}, sup.setl_id)
    his.fails("2208", {"data": {"psn_no": RESIDENT, "setl_id": sup.setl_id}}, "补充救助")

    # staff reverse it: the accumulators are restored, the ledger still agrees, and the look-back pays again
    assert main(["assistance", "reverse", sup.setl_id]) == 0
    assert assistance_accumulators() == {}
    with unit_of_work(write=False) as s:
        assert check_ledger(s).ok
    capsys.readouterr()
    assert main(["assistance", "reverse", sup.setl_id]) == 2  # once only
    assert "已撤销或本身是撤销记录" in capsys.readouterr().err
    assert (
        main(["assistance", "look-back", "--psn-no", RESIDENT, "--idet", "2303", "--date", "2025-07-10"]) == 0
    )
    standing = [x for x in supplements() if x.refd_setl_flag == "0" and x.reversed_by is None]
    assert [(x.supplement_of, x.maf_pay) for x in standing] == [(march, 12000)]
    # and once the supplement is reversed, so can the hospital reverse March
    assert main(["assistance", "reverse", standing[0].setl_id]) == 0
    his.ok("2208", {"data": {"psn_no": RESIDENT, "mdtrt_id": march_visit, "setl_id": march}})


def test_a_category_without_look_back_pays_nothing_back(client, engine, tmp_path):
    his = His(client, HOSP2)
    settle(his, "2025-03-01", "300.00")
    feed = tmp_path / "低保.csv"
    feed.write_text(f"psn_no,psn_idet_type,begntime\n{RESIDENT},2303,2025-07-10\n", "utf-8")
    assert main(["import", "identities", str(feed)]) == 0
    assert supplements() == []
