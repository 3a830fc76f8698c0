"""Changing a visit after the fact, end to end on both databases: 2202 挂号撤销, 2205 / 2302 费用明细撤销,
2403 入院信息变更, 2404 入院撤销, 2405 出院撤销, and 2601 冲正 of a 2304 and of a 2401. Each success is checked
in the reply and in the database (the visit's status, the lines, the audit trail, the ledger); each refusal is
infcode -1 with a Chinese err_msg naming the field, and leaves nothing behind."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import world
from tests.e2e.test_fsi_flows import ledger_ok
from tests.world import HOSP2, HOSP3, OTHER, RESIDENT, WORKER, His, line
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, FeeLine, Settlement, Visit

NEVER = "990100M20250301000000999999"  # an mdtrt_id of the right shape that was never issued


# --- helpers ---------------------------------------------------------------------------------------


def visit(engine, mdtrt: str) -> Visit:
    with unit_of_work(engine, write=False) as s:
        v = s.get(Visit, mdtrt)
        s.expunge(v)
    return v


def lines_of(engine, mdtrt: str) -> dict[str, tuple[str, str | None]]:
    """feedetl_sn → (status, setl_id) of the visit's stored lines."""
    with unit_of_work(engine, write=False) as s:
        rows = s.execute(
            select(FeeLine.feedetl_sn, FeeLine.status, FeeLine.setl_id).where(FeeLine.mdtrt_id == mdtrt)
        ).all()
    return {sn: (status, setl) for sn, status, setl in rows}


def actions(engine, entity_id: str | None = None) -> list[str]:
    q = select(AuditLog.action).where(AuditLog.actor != world.ACTOR).order_by(AuditLog.seq)
    if entity_id is not None:
        q = q.where(AuditLog.entity_id == entity_id)
    with unit_of_work(engine, write=False) as s:
        return list(s.scalars(q))


def count(engine, table) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table))


def settlements(engine) -> list[Settlement]:
    with unit_of_work(engine, write=False) as s:
        rows = list(s.scalars(select(Settlement).order_by(Settlement.setl_time, Settlement.setl_id)))
        s.expunge_all()
    return rows


def adds_up(info: dict) -> None:
    """I1 and I2 on a reply's setlinfo."""
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"]
    assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]


def register(his: His, psn=RESIDENT, ins="390") -> str:
    return his.ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]


def admission(begin="2025-02-10 10:00:00", psn=RESIDENT) -> dict:
    """A 2401's input: a 390 resident admitted for appendicitis."""
    return {
        "mdtrtinfo": {
            "psn_no": psn,
            "insutype": "390",
            "med_type": "21",
            "begntime": begin,
            "dise_codg": "K35.800",
        }
    }


def admit(his: His, begin="2025-02-10 10:00:00", psn=RESIDENT, msgid: str | None = None) -> str:
    return his.ok("2401", admission(begin, psn), msgid)["result"]["mdtrt_id"]


def discharge(his: His, mdtrt: str, end="2025-02-20 10:00:00", psn=RESIDENT) -> None:
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": psn, "endtime": end, "dscg_way": "1"}})


def outpatient(mdtrt: str, fee: str, psn=RESIDENT, ins="390") -> dict:
    return {
        "data": {
            "psn_no": psn,
            "mdtrt_id": mdtrt,
            "medfee_sumamt": fee,
            "insutype": ins,
            "acct_used_flag": "0",
        }
    }


def inpatient(mdtrt: str, fee: str, mid: str = "0", psn=RESIDENT) -> dict:
    return {
        "data": {
            "psn_no": psn,
            "mdtrt_id": mdtrt,
            "insutype": "390",
            "acct_used_flag": "0",
            "medfee_sumamt": fee,
            "mid_setl_flag": mid,
        }
    }


def sn(mdtrt: str, *serials: str, psn=RESIDENT) -> dict:
    """A 2302 input: the lines to cancel (``0000`` = every unsettled line)."""
    return {"data": [{"mdtrt_id": mdtrt, "psn_no": psn, "feedetl_sn": x} for x in serials]}


# --- 2202 挂号撤销 -------------------------------------------------------------------------------------


def test_2202_cancels_a_visit_and_its_open_lines(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    his.fails(
        "2202", {"data": {"mdtrt_id": mdtrt, "psn_no": WORKER}}, "input.data.psn_no: 与就诊登记的人员不符"
    )
    his.fails("2202", {"data": {"psn_no": RESIDENT}}, "input.data.mdtrt_id: 缺少")
    assert visit(engine, mdtrt).status == "open" and lines_of(engine, mdtrt) == {"1": ("open", None)}

    assert his.ok("2202", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    assert visit(engine, mdtrt).status == "cancelled"
    assert lines_of(engine, mdtrt) == {"1": ("cancelled", None)}
    # a cancelled visit takes nothing more
    his.fails("2202", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}, "mdtrt_id: 就诊已撤销")
    his.fails("2204", {"feedetail": [line("2", "A1", "1.00", mdtrt_id=mdtrt)]}, "不能上传费用")
    his.fails("2207", outpatient(mdtrt, "100.00"), "mdtrt_id: 就诊已撤销，不能再结算")
    his.fails(
        "2203",
        {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "med_type": "11"}},
        "就诊已撤销，不能修改",
    )
    assert lines_of(engine, mdtrt) == {"1": ("cancelled", None)} and count(engine, Settlement) == 0
    assert actions(engine) == ["register", "upload_fees", "cancel"]


def test_2202_refused_while_the_visit_has_a_settlement(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    info = his.ok("2207", outpatient(mdtrt, "100.00"))["setlinfo"]
    # 居民, level 2, outpatient: no deductible, 0.50
    assert (info["hifp_pay"], info["fund_pay_sumamt"], info["psn_part_amt"]) == (
        Decimal("50.00"),
        Decimal("50.00"),
        Decimal("50.00"),
    )
    setl_id = info["setl_id"]
    his.fails(
        "2202",
        {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}},
        f"mdtrt_id: 就诊已有结算 {setl_id}，请先撤销结算",
    )
    assert visit(engine, mdtrt).status == "settled" and lines_of(engine, mdtrt) == {"1": ("settled", setl_id)}
    his.ok("2208", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": setl_id}})
    assert visit(engine, mdtrt).status == "open" and lines_of(engine, mdtrt) == {"1": ("open", None)}
    assert his.ok("2202", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    assert visit(engine, mdtrt).status == "cancelled" and lines_of(engine, mdtrt) == {
        "1": ("cancelled", None)
    }
    assert actions(engine) == ["register", "upload_fees", "settle", "reverse", "cancel"]
    assert ledger_ok(engine).settlements == 2


# --- 2205 门诊费用明细撤销 ------------------------------------------------------------------------------


def test_2205_cancels_one_batch_and_2207_settles_the_rest(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "80.00", mdtrt_id=mdtrt, chrg_bchno="B1")]})
    his.ok(
        "2204",
        {
            "feedetail": [
                line("2", "A1", "40.00", mdtrt_id=mdtrt, chrg_bchno="B2"),
                line("3", "C1", "20.00", mdtrt_id=mdtrt, chrg_bchno="B2"),
            ]
        },
    )
    assert his.ok("2205", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "chrg_bchno": "B2"}}) == {}
    assert lines_of(engine, mdtrt) == {
        "1": ("open", None),
        "2": ("cancelled", None),
        "3": ("cancelled", None),
    }
    his.fails(
        "2205",
        {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "chrg_bchno": "B2"}},
        "没有可撤销的未结算费用明细",
    )
    # the cancelled lines no longer count: the HIS's old total is refused, the new one settles
    his.fails("2207", outpatient(mdtrt, "140.00"), "medfee_sumamt: 140.00 与费用明细合计 80.00 不符")
    info = his.ok("2207", outpatient(mdtrt, "80.00"))["setlinfo"]
    assert info["medfee_sumamt"] == Decimal("80.00") and info["fulamt_ownpay_amt"] == Decimal("0.00")
    assert info["inscp_scp_amt"] == Decimal("80.00") and info["pool_prop_selfpay"] == Decimal("0.5")
    assert (info["hifp_pay"], info["fund_pay_sumamt"], info["psn_part_amt"], info["psn_cash_pay"]) == (
        Decimal("40.00"),
        Decimal("40.00"),
        Decimal("40.00"),
        Decimal("40.00"),
    )
    adds_up(info)
    setl_id = info["setl_id"]
    assert lines_of(engine, mdtrt) == {
        "1": ("settled", setl_id),
        "2": ("cancelled", None),
        "3": ("cancelled", None),
    }
    # settled lines cannot be cancelled, by batch or all at once
    for batch in ("B1", "0000"):
        his.fails(
            "2205",
            {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "chrg_bchno": batch}},
            "没有可撤销的未结算费用明细",
        )
    assert lines_of(engine, mdtrt)["1"] == ("settled", setl_id)
    # reversed, the line is open again and "0000" (every unsettled line) takes it
    his.ok("2208", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": setl_id}})
    assert his.ok("2205", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "chrg_bchno": "0000"}}) == {}
    assert {s for s, _ in lines_of(engine, mdtrt).values()} == {"cancelled"}
    his.fails("2207", outpatient(mdtrt, "80.00"), "feedetail: 没有未结算的费用明细")
    assert actions(engine, mdtrt) == ["register", "upload_fees", "upload_fees", "cancel_fees", "cancel_fees"]
    assert actions(engine) == [
        "register",
        "upload_fees",
        "upload_fees",
        "cancel_fees",
        "settle",
        "reverse",
        "cancel_fees",
    ]
    with unit_of_work(engine, write=False) as s:
        audited = s.scalars(
            select(AuditLog.after).where(AuditLog.action == "cancel_fees").order_by(AuditLog.seq)
        ).all()
    assert [a["lines"] for a in audited] == [2, 1]
    assert ledger_ok(engine).settlements == 2


# --- 2302 住院费用明细撤销 ------------------------------------------------------------------------------


def test_2302_cancels_lines_and_2304_settles_what_is_left(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok(
        "2301",
        {
            "feedetail": [
                line("1", "A1", "2000.00", mdtrt_id=mdtrt),
                line("2", "A1", "500.00", mdtrt_id=mdtrt),
                line("3", "C1", "300.00", mdtrt_id=mdtrt),
            ]
        },
    )
    assert his.ok("2302", sn(mdtrt, "2")) == {}
    assert lines_of(engine, mdtrt) == {"1": ("open", None), "2": ("cancelled", None), "3": ("open", None)}
    his.fails("2302", sn(mdtrt, "2"), "没有可撤销的未结算费用明细")
    # one good line and one never uploaded: refused as a whole, line 1 stays open
    his.fails("2302", sn(mdtrt, "1", "99"), "没有可撤销的未结算费用明细")
    assert lines_of(engine, mdtrt)["1"] == ("open", None)
    assert actions(engine, mdtrt) == ["admit", "upload_fees", "cancel_fees"]

    # 中途结算 of 2000 (甲) + 300 (丙): level 3, first admission: deductible 800, (2000 − 800) × 0.65 = 780
    mid = his.ok("2304", inpatient(mdtrt, "2300.00", mid="1"))["setlinfo"]
    assert (mid["medfee_sumamt"], mid["fulamt_ownpay_amt"], mid["inscp_scp_amt"], mid["act_pay_dedc"]) == (
        Decimal("2300.00"),
        Decimal("300.00"),
        Decimal("2000.00"),
        Decimal("800.00"),
    )
    assert (mid["hifp_pay"], mid["hifmi_pay"], mid["fund_pay_sumamt"], mid["psn_part_amt"]) == (
        Decimal("780.00"),
        Decimal("0.00"),
        Decimal("780.00"),
        Decimal("1520.00"),
    )
    adds_up(mid)
    # a settled line is not cancelled; "0000" takes only the lines uploaded after the 中途结算
    his.fails("2302", sn(mdtrt, "1"), "没有可撤销的未结算费用明细")
    his.ok(
        "2301",
        {"feedetail": [line("4", "A1", "700.00", mdtrt_id=mdtrt), line("5", "B1", "200.00", mdtrt_id=mdtrt)]},
    )
    assert his.ok("2302", sn(mdtrt, "0000")) == {}
    assert lines_of(engine, mdtrt) == {
        "1": ("settled", mid["setl_id"]),
        "2": ("cancelled", None),
        "3": ("settled", mid["setl_id"]),
        "4": ("cancelled", None),
        "5": ("cancelled", None),
    }
    his.ok("2301", {"feedetail": [line("6", "A1", "1000.00", mdtrt_id=mdtrt)]})
    discharge(his, mdtrt)
    his.fails("2304", inpatient(mdtrt, "1900.00"), "medfee_sumamt: 1900.00 与费用明细合计 1000.00 不符")
    final = his.ok("2304", inpatient(mdtrt, "1000.00"))["setlinfo"]
    # the admission's deductible is used up: 1000 × 0.65 = 650; 大病 base 1220 + 350 stays under 18000
    assert (final["act_pay_dedc"], final["hifp_pay"], final["hifmi_pay"], final["oth_pay"]) == (
        Decimal("0.00"),
        Decimal("650.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert (final["medfee_sumamt"], final["fund_pay_sumamt"], final["psn_part_amt"]) == (
        Decimal("1000.00"),
        Decimal("650.00"),
        Decimal("350.00"),
    )
    adds_up(final)
    assert lines_of(engine, mdtrt)["6"] == ("settled", final["setl_id"])
    his.fails("2302", sn(mdtrt, "0000"), "没有可撤销的未结算费用明细")
    assert visit(engine, mdtrt).status == "settled"
    assert actions(engine, mdtrt) == [
        "admit",
        "upload_fees",
        "cancel_fees",
        "upload_fees",
        "cancel_fees",
        "upload_fees",
        "discharge",
    ]
    assert ledger_ok(engine).settlements == 2


# --- 2403 入院信息变更 ------------------------------------------------------------------------------------


def test_2403_changes_the_admission_until_it_is_settled(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    change = {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "med_type": "22", "dise_codg": "S36.000"}
    assert his.ok("2403", {"adminfo": {**change, "dise_name": "脾损伤"}}) == {}
    v = visit(engine, mdtrt)
    assert (v.med_type, v.dise_codg, v.dise_name, v.status) == ("22", "S36.000", "脾损伤", "admitted")
    with unit_of_work(engine, write=False) as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "update")).one()
        assert row.entity_id == mdtrt
        assert (row.before["med_type"], row.before["dise_codg"]) == ("21", "K35.800")
        assert (row.after["med_type"], row.after["dise_codg"], row.after["dise_name"]) == (
            "22",
            "S36.000",
            "脾损伤",
        )
    # refusals name the field and change nothing
    his.fails(
        "2403",
        {"adminfo": {**change, "med_type": "11"}},
        "input.adminfo.med_type: 住院就诊的医疗类别须为住院类",
    )
    his.fails(
        "2403", {"adminfo": {**change, "med_type": "99"}}, 'input.adminfo.med_type: 不支持的医疗类别 "99"'
    )
    his.fails("2403", {"adminfo": {"psn_no": RESIDENT, "med_type": "22"}}, "input.adminfo.mdtrt_id: 缺少")
    his.fails("2403", {"data": change}, "input.adminfo: 缺少")
    v = visit(engine, mdtrt)
    assert (v.med_type, v.dise_codg) == ("22", "S36.000")
    assert actions(engine, mdtrt) == ["admit", "update"]
    # the change carries into the settlement; after it, the admission is closed to changes
    his.ok("2301", {"feedetail": [line("1", "A1", "1000.00", mdtrt_id=mdtrt)]})
    discharge(his, mdtrt)
    final = his.ok("2304", inpatient(mdtrt, "1000.00"))["setlinfo"]
    # level 3, first admission: (1000 − 800) × 0.65 = 130
    assert final["med_type"] == "22" and final["act_pay_dedc"] == Decimal("800.00")
    assert (final["hifp_pay"], final["fund_pay_sumamt"], final["psn_part_amt"]) == (
        Decimal("130.00"),
        Decimal("130.00"),
        Decimal("870.00"),
    )
    adds_up(final)
    his.fails("2403", {"adminfo": {**change, "dise_codg": "K35.900"}}, "mdtrt_id: 就诊已结算，不能修改")
    assert visit(engine, mdtrt).dise_codg == "S36.000"
    ledger_ok(engine)


def test_2403_refuses_an_outpatient_visit(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    his.fails("2403", {"adminfo": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "med_type": "21"}}, "mdtrt_id")
    assert visit(engine, mdtrt).med_type == "11"
    admit(His(client, HOSP3))  # the person is not in hospital


# --- 2404 入院撤销 -------------------------------------------------------------------------------------------


def test_2404_cancels_an_admission_and_a_new_one_can_follow(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "1000.00", mdtrt_id=mdtrt)]})
    his.fails(
        "2401",
        {"mdtrtinfo": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-02-11 10:00:00"}},
        "已在院",
    )
    assert his.ok("2404", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    assert visit(engine, mdtrt).status == "cancelled"
    assert lines_of(engine, mdtrt) == {"1": ("cancelled", None)}
    his.fails("2404", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}, "mdtrt_id: 就诊已撤销")
    his.fails("2404", {"data": {"psn_no": RESIDENT}}, "input.data.mdtrt_id: 缺少")
    his.fails("2301", {"feedetail": [line("2", "A1", "1.00", mdtrt_id=mdtrt)]}, "不能上传费用")
    his.fails(
        "2402",
        {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "endtime": "2025-02-20 10:00:00"}},
        "不能办理出院",
    )
    his.fails("2304", inpatient(mdtrt, "1000.00", mid="1"), "mdtrt_id: 就诊已撤销，不能再结算")
    assert actions(engine, mdtrt) == ["admit", "upload_fees", "cancel"]
    # the bed is free: a new admission, and it is the year's first (the cancelled one never counted)
    again = admit(his, "2025-02-11 10:00:00")
    assert again != mdtrt and visit(engine, again).status == "admitted"
    his.ok("2301", {"feedetail": [line("1", "A1", "1000.00", mdtrt_id=again)]})
    discharge(his, again)
    final = his.ok("2304", inpatient(again, "1000.00"))["setlinfo"]
    assert final["act_pay_dedc"] == Decimal("800.00") and final["hifp_pay"] == Decimal("130.00")
    adds_up(final)
    assert count(engine, Settlement) == 1
    ledger_ok(engine)


def test_2404_refused_while_the_admission_has_a_settlement(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "2000.00", mdtrt_id=mdtrt)]})
    mid = his.ok("2304", inpatient(mdtrt, "2000.00", mid="1"))["setlinfo"]
    assert (mid["act_pay_dedc"], mid["hifp_pay"], mid["psn_part_amt"]) == (
        Decimal("800.00"),
        Decimal("780.00"),
        Decimal("1220.00"),
    )
    adds_up(mid)
    his.fails(
        "2404",
        {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}},
        f"mdtrt_id: 就诊已有结算 {mid['setl_id']}，请先撤销结算",
    )
    assert visit(engine, mdtrt).status == "admitted"
    assert lines_of(engine, mdtrt) == {"1": ("settled", mid["setl_id"])}
    his.ok("2305", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": mid["setl_id"]}})
    assert lines_of(engine, mdtrt) == {"1": ("open", None)}
    assert his.ok("2404", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    assert visit(engine, mdtrt).status == "cancelled" and lines_of(engine, mdtrt) == {
        "1": ("cancelled", None)
    }
    assert actions(engine) == ["admit", "upload_fees", "settle", "reverse", "cancel"]
    assert ledger_ok(engine).settlements == 2


# --- 2405 出院撤销 -------------------------------------------------------------------------------------------


def test_2405_undoes_a_discharge_until_the_final_settlement(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "2000.00", mdtrt_id=mdtrt)]})
    his.fails("2405", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}, "不能撤销出院")  # not discharged
    discharge(his, mdtrt, "2025-02-15 10:00:00")
    v = visit(engine, mdtrt)
    assert v.status == "discharged" and v.endtime == datetime(2025, 2, 15, 10, 0)
    assert his.ok("2405", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    v = visit(engine, mdtrt)
    assert v.status == "admitted" and v.endtime is None
    # in hospital again: more fees, the final settlement wants a discharge first
    his.ok("2301", {"feedetail": [line("2", "A1", "500.00", mdtrt_id=mdtrt)]})
    his.fails("2304", inpatient(mdtrt, "2500.00"), "须先办理出院")
    discharge(his, mdtrt, "2025-02-20 10:00:00")
    final = his.ok("2304", inpatient(mdtrt, "2500.00"))["setlinfo"]
    # level 3, first admission: (2500 − 800) × 0.65 = 1105; 大病 base 1395 < 18000
    assert (final["inscp_scp_amt"], final["act_pay_dedc"], final["hifp_pay"], final["hifmi_pay"]) == (
        Decimal("2500.00"),
        Decimal("800.00"),
        Decimal("1105.00"),
        Decimal("0.00"),
    )
    assert (final["medfee_sumamt"], final["fund_pay_sumamt"], final["psn_part_amt"]) == (
        Decimal("2500.00"),
        Decimal("1105.00"),
        Decimal("1395.00"),
    )
    adds_up(final)
    [row] = settlements(engine)
    assert (row.begndate, row.enddate) == (date(2025, 2, 10), date(2025, 2, 20))
    # after the final settlement the discharge stands, until that settlement is reversed
    msg = his.fails("2405", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}, "不能撤销出院")
    assert msg.startswith("mdtrt_id: ")
    assert visit(engine, mdtrt).status == "settled"
    his.ok("2305", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": final["setl_id"]}})
    assert visit(engine, mdtrt).status == "discharged"
    assert his.ok("2405", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}) == {}
    v = visit(engine, mdtrt)
    assert v.status == "admitted" and v.endtime is None
    assert lines_of(engine, mdtrt) == {"1": ("open", None), "2": ("open", None)}
    assert actions(engine, mdtrt) == [
        "admit",
        "upload_fees",
        "discharge",
        "undo_discharge",
        "upload_fees",
        "discharge",
        "undo_discharge",
    ]
    assert ledger_ok(engine).settlements == 2


def test_2405_after_the_final_settlement_gives_a_chinese_reason(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "1000.00", mdtrt_id=mdtrt)]})
    discharge(his, mdtrt)
    his.ok("2304", inpatient(mdtrt, "1000.00"))
    msg = his.fails("2405", {"data": {"mdtrt_id": mdtrt, "psn_no": RESIDENT}}, "就诊已结算")
    assert "settled" not in msg


# --- every change: another institution's visit, a visit never issued -----------------------------------


CHANGES = {
    "2202": lambda m: {"data": {"mdtrt_id": m, "psn_no": RESIDENT}},
    "2205": lambda m: {"data": {"mdtrt_id": m, "psn_no": RESIDENT, "chrg_bchno": "0000"}},
    "2302": lambda m: sn(m, "0000"),
    "2403": lambda m: {"adminfo": {"mdtrt_id": m, "psn_no": RESIDENT, "med_type": "22"}},
    "2404": lambda m: {"data": {"mdtrt_id": m, "psn_no": RESIDENT}},
    "2405": lambda m: {"data": {"mdtrt_id": m, "psn_no": RESIDENT}},
}


def _visit_for(his: His, infno: str) -> str:
    """A visit at ``his``'s institution in the state ``infno`` would change, with one open line."""
    if infno in ("2202", "2205"):
        mdtrt = register(his)
        his.ok("2204", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
        return mdtrt
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    if infno == "2405":
        discharge(his, mdtrt)
    return mdtrt


@pytest.mark.parametrize("infno", sorted(CHANGES))
def test_another_institutions_visit_or_one_never_issued_does_not_exist(client, engine, infno):
    owner, other = His(client, HOSP2), His(client, OTHER)
    mdtrt = _visit_for(owner, infno)
    before = (visit(engine, mdtrt).status, visit(engine, mdtrt).med_type, lines_of(engine, mdtrt))
    audited = actions(engine)
    msg = other.fails(infno, CHANGES[infno](mdtrt), f"mdtrt_id: 就诊不存在 {mdtrt}")
    assert HOSP2 not in msg  # nothing about the owner leaks
    owner.fails(infno, CHANGES[infno](NEVER), f"mdtrt_id: 就诊不存在 {NEVER}")
    assert (visit(engine, mdtrt).status, visit(engine, mdtrt).med_type, lines_of(engine, mdtrt)) == before
    assert actions(engine) == audited  # a refusal writes no audit row
    # the owner itself may: the refusals were about the caller, not the visit
    owner.ok(infno, CHANGES[infno](mdtrt))


@pytest.mark.parametrize("infno", ["2205", "2302", "2404", "2405"])
def test_a_psn_no_that_is_not_the_visits_person_is_refused(client, engine, infno):
    his = His(client, HOSP2)
    mdtrt = _visit_for(his, infno)
    body = CHANGES[infno](mdtrt)
    for row in body["data"] if isinstance(body["data"], list) else [body["data"]]:
        row["psn_no"] = WORKER
    before = (visit(engine, mdtrt).status, lines_of(engine, mdtrt))
    his.fails(infno, body, "psn_no")
    assert (visit(engine, mdtrt).status, lines_of(engine, mdtrt)) == before


# --- 2601 冲正 of a 2304 and of a 2401 ---------------------------------------------------------------------


def test_2601_reverses_a_2304_whose_reply_was_lost(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "2000.00", mdtrt_id=mdtrt)]})
    discharge(his, mdtrt)
    lost = his.call("2304", inpatient(mdtrt, "2000.00"), msgid="LOST-2304")
    assert lost["infcode"] == 0  # the HIS never saw this reply
    first = lost["output"]["setlinfo"]
    assert (first["act_pay_dedc"], first["hifp_pay"], first["psn_part_amt"]) == (
        Decimal("800.00"),
        Decimal("780.00"),
        Decimal("1220.00"),
    )
    # only the institution's own 2304 under that msgid
    his.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2304", "oinfno": "2207"}},
        "input.data.omsgid: 原交易 LOST-2304 不是本机构的 2207 交易",
    )
    His(client, HOSP2).fails(
        "2601", {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2304", "oinfno": "2304"}}, "不是本机构的"
    )
    assert count(engine, Settlement) == 1

    out = his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2304", "oinfno": "2304"}})["result"]
    assert out["stas"] == "1" and out["omsgid"] == "LOST-2304"
    orig, rev = settlements(engine)
    assert orig.setl_id == first["setl_id"] and orig.reversed_by == rev.setl_id == out["setl_id"]
    assert (rev.refd_setl_flag, rev.orig_setl_id) == ("1", orig.setl_id)
    assert (rev.hifp_pay, rev.medfee_sumamt, rev.act_pay_dedc) == (-78000, -200000, -80000)
    # the stay is back where it was before the final settlement: discharged, its line open
    assert visit(engine, mdtrt).status == "discharged"
    assert lines_of(engine, mdtrt) == {"1": ("open", None)}
    assert his.ok("5206", {"data": {"psn_no": RESIDENT, "cum_ym": "202502"}})["cuminfo"] == []
    # 冲正 again is harmless
    again = his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2304", "oinfno": "2304"}})["result"]
    assert again == {"omsgid": "LOST-2304", "stas": "1", "setl_id": rev.setl_id, "memo": "已撤销"}
    # and the HIS settles again: the same amounts (the deductible came back with the reversal)
    final = his.ok("2304", inpatient(mdtrt, "2000.00"))["setlinfo"]
    assert {k: final[k] for k in ("act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt")} == {
        "act_pay_dedc": Decimal("800.00"),
        "hifp_pay": Decimal("780.00"),
        "fund_pay_sumamt": Decimal("780.00"),
        "psn_part_amt": Decimal("1220.00"),
    }
    adds_up(final)
    assert visit(engine, mdtrt).status == "settled"
    assert actions(engine) == ["admit", "upload_fees", "discharge", "settle", "reverse", "settle"]
    assert ledger_ok(engine).settlements == 3


def test_2601_of_a_mid_settlement_waits_for_the_later_one(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his)
    his.ok("2301", {"feedetail": [line("1", "A1", "2000.00", mdtrt_id=mdtrt)]})
    mid = his.ok("2304", inpatient(mdtrt, "2000.00", mid="1"), msgid="MID-2304")["setlinfo"]
    his.ok("2301", {"feedetail": [line("2", "A1", "1000.00", mdtrt_id=mdtrt)]})
    discharge(his, mdtrt)
    final = his.ok("2304", inpatient(mdtrt, "1000.00"), msgid="FINAL-2304")["setlinfo"]
    assert final["hifp_pay"] == Decimal("650.00") and final["act_pay_dedc"] == Decimal("0.00")
    his.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "MID-2304", "oinfno": "2304"}},
        f"同一就诊的后续结算 {final['setl_id']} 须先撤销",
    )
    assert count(engine, Settlement) == 2
    assert (
        his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "FINAL-2304", "oinfno": "2304"}})["result"][
            "stas"
        ]
        == "1"
    )
    assert (
        his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "MID-2304", "oinfno": "2304"}})["result"][
            "stas"
        ]
        == "1"
    )
    assert lines_of(engine, mdtrt) == {"1": ("open", None), "2": ("open", None)}
    assert visit(engine, mdtrt).status == "discharged" and mid["setl_id"]
    assert ledger_ok(engine).settlements == 4


def test_2601_cancels_a_2401_whose_reply_was_lost(client, engine):
    his = His(client, HOSP3)
    lost = his.call("2401", admission(), msgid="LOST-2401")
    assert lost["infcode"] == 0
    mdtrt = lost["output"]["result"]["mdtrt_id"]
    his.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2401", "oinfno": "2304"}},
        "不是本机构的 2304 交易",
    )
    out = his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "LOST-2401", "oinfno": "2401"}})["result"]
    assert out == {"omsgid": "LOST-2401", "stas": "1", "mdtrt_id": mdtrt}
    assert visit(engine, mdtrt).status == "cancelled"
    assert actions(engine) == ["admit", "cancel"]
    # the person is not in hospital any more: the HIS admits again
    again = admit(his)
    assert again != mdtrt and visit(engine, again).status == "admitted"
    assert count(engine, Settlement) == 0
    ledger_ok(engine)


def test_2601_of_a_2401_refused_once_the_stay_has_a_settlement(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his, msgid="ADMIT-1")
    his.ok("2301", {"feedetail": [line("1", "A1", "2000.00", mdtrt_id=mdtrt)]})
    mid = his.ok("2304", inpatient(mdtrt, "2000.00", mid="1"))["setlinfo"]
    his.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-1", "oinfno": "2401"}},
        f"mdtrt_id: 就诊已有结算 {mid['setl_id']}，请先撤销结算",
    )
    assert visit(engine, mdtrt).status == "admitted"
    assert lines_of(engine, mdtrt) == {"1": ("settled", mid["setl_id"])}
    his.ok("2305", {"data": {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "setl_id": mid["setl_id"]}})
    # with the settlement reversed the 冲正 goes through, and takes the open line with it
    assert (
        his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-1", "oinfno": "2401"}})["result"][
            "stas"
        ]
        == "1"
    )
    assert visit(engine, mdtrt).status == "cancelled" and lines_of(engine, mdtrt) == {
        "1": ("cancelled", None)
    }
    assert actions(engine) == ["admit", "upload_fees", "settle", "reverse", "cancel"]
    assert ledger_ok(engine).settlements == 2


def test_2601_of_a_2401_again_is_harmless(client, engine):
    his = His(client, HOSP3)
    mdtrt = admit(his, msgid="ADMIT-2")
    his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-2", "oinfno": "2401"}})
    again = his.ok("2601", {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-2", "oinfno": "2401"}})["result"]
    assert again["stas"] == "1" and again["mdtrt_id"] == mdtrt
    assert actions(engine) == ["admit", "cancel"]


def test_2402_2301_and_2601_of_another_institution_or_person(client, engine):
    owner, other = His(client, HOSP3), His(client, OTHER)
    mdtrt = admit(owner, msgid="ADMIT-OWN")
    other.fails("2301", {"feedetail": [line("1", "A1", "10.00", mdtrt_id=mdtrt)]}, "mdtrt_id: 就诊不存在")
    end = {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "endtime": "2025-02-20 10:00:00", "dscg_way": "1"}
    other.fails("2402", {"dscginfo": end}, "mdtrt_id: 就诊不存在")
    owner.fails(
        "2402", {"dscginfo": {**end, "psn_no": WORKER}}, "input.dscginfo.psn_no: 与就诊登记的人员不符"
    )
    assert visit(engine, mdtrt).status == "admitted" and lines_of(engine, mdtrt) == {}
    # another institution cannot 冲正 this one's message, nor name it as another transaction
    other.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-OWN", "oinfno": "2401"}},
        "input.data.omsgid: 原交易 ADMIT-OWN 不是本机构的 2401 交易",
    )
    owner.fails(
        "2601",
        {"data": {"psn_no": RESIDENT, "omsgid": "ADMIT-OWN", "oinfno": "2207"}},
        "不是本机构的 2207 交易",
    )
    assert visit(engine, mdtrt).status == "admitted"
    discharge(owner, mdtrt)
