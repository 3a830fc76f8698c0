"""A settlement commits whole or not at all, and a reversal is the exact negation of what it reverses.

The failure is injected inside the database (a trigger that raises on one table's insert), so it strikes
where a real one would: after some of the settlement's writes have reached the server, within the same
transaction. Nothing may remain of the attempt: every table reads as it did before, and the same msgid
sent again settles normally.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text

from tests.e2e.test_fsi_refusals import open_visit, settle_data
from tests.world import HOSP2, RESIDENT, WORKER, His
from yibao.funds.check import check_ledger
from yibao.store import audit
from yibao.store.base import Base
from yibao.store.db import unit_of_work
from yibao.store.tables import LedgerEntry, LedgerPosting, Settlement, SettlementDetail

# the 2207's writes in the order the unit of work sends them: the ledger with the settlement's rows, the
# audit append and the message log last, just before COMMIT
STRUCK = ["settlement_detail", "ledger_posting", "accumulator", "audit_log", "message_log"]


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order (the world is small)."""
    out = {}
    with unit_of_work(engine, write=False) as s:
        for table in Base.metadata.sorted_tables:
            rows = s.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def fail_inserts_into(engine, table: str) -> None:
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(
                text(
                    "CREATE OR REPLACE FUNCTION yibao_test_fail() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                )
            )
            c.execute(
                text(
                    f"CREATE TRIGGER yibao_test_fail BEFORE INSERT ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION yibao_test_fail()"
                )
            )
        else:
            c.execute(
                text(
                    f"CREATE TRIGGER yibao_test_fail BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )


def heal(engine, table: str) -> None:
    with engine.begin() as c:
        suffix = f" ON {table}" if engine.dialect.name == "postgresql" else ""
        c.execute(text(f"DROP TRIGGER yibao_test_fail{suffix}"))


def adds_up(info: dict) -> None:
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"] + info.get(
        "hosp_part_amt", Decimal("0")
    )
    assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]


@pytest.mark.parametrize("table", STRUCK)
def test_a_settlement_that_fails_inside_the_database_leaves_nothing(client, engine, table):
    his = His(client, HOSP2)
    # the person's second settlement of the year, so accumulators are updated, not only inserted
    first = his.ok("2207", settle_data(open_visit(his, WORKER, "310", "300.00"), WORKER, "310", "300.00"))
    mdtrt = open_visit(his, WORKER, "310", "600.00")
    body = settle_data(mdtrt, WORKER, "310", "600.00")
    body["data"]["acct_used_flag"] = "1"  # the personal account moves too
    before = snapshot(engine)
    fail_inserts_into(engine, table)
    try:
        reply = his.call("2207", body, msgid="M-ATOMIC-1")
    finally:
        heal(engine, table)
    assert reply["infcode"] == -1 and "系统内部错误" in reply["err_msg"], reply
    assert "injected" not in reply["err_msg"]  # (the database's own words stay in the log)
    assert snapshot(engine) == before  # not a row of the attempt remains, in any table

    # the HIS resends the same message: it was never applied, so now it settles, once
    out = his.ok("2207", body, msgid="M-ATOMIC-1")
    assert his.ok("2207", body, msgid="M-ATOMIC-1") == out
    adds_up(out["setlinfo"])
    assert first["setlinfo"]["act_pay_dedc"] == Decimal("100.00")  # the year's deductible went with the first
    assert out["setlinfo"]["act_pay_dedc"] == Decimal("0.00") and out["setlinfo"]["hifp_pay"] == Decimal(
        "420.00"
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalars(select(Settlement.medins_setl_id).where(Settlement.mdtrt_id == mdtrt)).all() == [
            "M-ATOMIC-1"
        ]
        report = check_ledger(s)
        assert report.ok, report.problems
        assert audit.verify(s).ok


# a settlement's money columns; balc (the account's balance afterwards) is a state, not an amount paid
AMOUNTS = [
    c.name
    for c in Settlement.__table__.columns
    if c.name.endswith(("_amt", "_pay", "_selfpay", "_dedc", "_sumamt"))
    and c.name not in ("pool_prop_selfpay", "adm_dedc")
]


def _amounts(row: Settlement) -> dict[str, int]:
    return {name: getattr(row, name) for name in AMOUNTS}


def test_a_reversal_negates_every_amount_and_every_posting(client, engine):
    his = His(client, HOSP2)
    for _ in range(2):  # the second settlement of the year has its own deductible state
        mdtrt = open_visit(his, RESIDENT, "390", "260.00")
        out = his.ok("2207", settle_data(mdtrt, RESIDENT, "390", "260.00"))
    setl_id = out["setlinfo"]["setl_id"]
    with unit_of_work(engine, write=False) as s:
        accumulators_before = s.execute(text("SELECT * FROM accumulator ORDER BY 1, 2, 3")).all()
    rev = his.ok("2208", {"data": {"psn_no": RESIDENT, "setl_id": setl_id, "mdtrt_id": mdtrt}})
    rev_id = rev["setlinfo"]["setl_id"]
    shown = [name for name in AMOUNTS if name in out["setlinfo"]]
    assert len(shown) >= 15, shown
    assert {k: rev["setlinfo"][k] for k in shown} == {k: -out["setlinfo"][k] for k in shown}
    with unit_of_work(engine, write=False) as s:
        orig, neg = s.get(Settlement, setl_id), s.get(Settlement, rev_id)
        amounts = _amounts(orig)
        assert amounts and any(amounts.values())
        assert _amounts(neg) == {k: -v for k, v in amounts.items()}
        assert (neg.refd_setl_flag, neg.orig_setl_id, orig.reversed_by) == ("1", setl_id, rev_id)

        def details(sid):
            rows = s.scalars(select(SettlementDetail).where(SettlementDetail.setl_id == sid)).all()
            return sorted((d.fund_pay_type, d.fund_payamt, d.inscp_scp_amt) for d in rows)

        assert details(rev_id) == [(f, -a, -b) for f, a, b in details(setl_id)]

        def legs(sid):
            entry = s.scalars(select(LedgerEntry).where(LedgerEntry.setl_id == sid)).one()
            rows = s.scalars(select(LedgerPosting).where(LedgerPosting.entry_id == entry.id)).all()
            return sorted(
                (p.account, p.fund_pay_type or "", p.fixmedins_code, p.psn_no, p.amount) for p in rows
            )

        original_legs = legs(setl_id)
        assert original_legs and sum(leg[-1] for leg in original_legs) == 0
        assert legs(rev_id) == sorted((*leg[:-1], -leg[-1]) for leg in original_legs)
        # the year as if the reversed settlement had never been made: its accumulators subtracted again
        after = s.execute(text("SELECT * FROM accumulator ORDER BY 1, 2, 3")).all()
        assert after != accumulators_before
        assert check_ledger(s).ok
    # settling the same visit again gives the same answer as the first time
    again = his.ok("2207", settle_data(mdtrt, RESIDENT, "390", "260.00"))
    varies = ("setl_id", "setl_time", "balc", "medins_setl_id")  # (ids and times of the message itself)
    assert {k: v for k, v in again["setlinfo"].items() if k not in varies} == {
        k: v for k, v in out["setlinfo"].items() if k not in varies
    }
