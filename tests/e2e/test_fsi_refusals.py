"""Every refusal is infcode -1 with a Chinese err_msg naming the field, never a 500 nor a half-written record;
retries are idempotent by msgid; 2601 cancels a settlement whose reply was lost; 3201 balances."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from tests import world
from tests.world import HOSP2, OTHER, RESIDENT, WORKER, His, line
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, FeeLine, MessageLog, Settlement, Visit


def count(engine, table) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table))


def open_visit(his: His, psn=RESIDENT, ins="390", fee="100.00") -> str:
    mdtrt = his.ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    his.ok("2204", {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt)]})
    return mdtrt


def settle_data(mdtrt, psn=RESIDENT, ins="390", fee="100.00"):
    return {
        "data": {
            "psn_no": psn,
            "mdtrt_id": mdtrt,
            "medfee_sumamt": fee,
            "insutype": ins,
            "acct_used_flag": "0",
        }
    }


def test_envelope_and_authentication_refusals(client, engine):
    his = His(client, HOSP2)
    bad_json = his.post_raw(b"{not json")
    assert bad_json["infcode"] == -1 and "JSON" in bad_json["err_msg"]
    assert his.post_raw(b"[1, 2]")["err_msg"] == "报文应为 JSON 对象"
    assert "infno: 不支持的交易编号" in his.call("9999", {})["err_msg"]
    assert (
        "msgid: 缺少"
        in his.post_raw(b'{"infno": "9001", "fixmedins_code": "H99010200001", "input": {}}')["err_msg"]
    )
    assert (
        "未签名" in his.call("9001", {}, sign=False)["err_msg"]
        or "未认证" in his.call("9001", {}, sign=False)["err_msg"]
    )
    stale = str(int(time.time() * 1000) - 31 * 60 * 1000)
    assert "30分钟" in his.call("9001", {}, timestamp=stale)["err_msg"]
    forged = His(client, HOSP2, secret="wrong")
    assert "签名错误" in forged.call("9001", {})["err_msg"]
    # a suspended institution signs in; what it may not do is open or settle a visit dated in the suspension
    suspended = His(client, "H99010300009")
    assert suspended.ok("9001", {"signIn": {"opter_no": "001", "mac": "", "ip": ""}})["signinoutb"]["sign_no"]
    suspended.fails(
        "2201",
        {"data": {"psn_no": "P0001", "insutype": "310", "begntime": "2025-03-01 09:00:00"}},
        "fixmedins_code: 定点医药机构 H99010300009 在 2025-03-01 医保协议中止 (2020-01-01 起",
    )
    impostor = His(
        client, HOSP2, client_id=f"c-{OTHER}", secret=f"secret-{OTHER}"
    )  # OTHER's key, HOSP2's envelope
    assert "与客户端所属机构" in impostor.call("9001", {})["err_msg"]
    sm3 = His(client, HOSP2, client_id="c-sm3", secret="sm3-secret", algo="sm3")
    assert sm3.ok("9001", {"signIn": {"opter_no": "001", "mac": "", "ip": ""}})["signinoutb"]["sign_no"]


def test_business_refusals_name_the_field(client, engine):
    his = His(client, HOSP2)
    his.fails(
        "2201",
        {"data": {"psn_no": "NOBODY", "insutype": "390", "begntime": "2025-03-01 09:00:00"}},
        "人员不存在",
    )
    his.fails(
        "2201",
        {"data": {"psn_no": RESIDENT, "insutype": "310", "begntime": "2025-03-01 09:00:00"}},
        "未参加险种 310",
    )
    his.fails(
        "2201",
        {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "yesterday"}},
        'input.data.begntime: "yesterday" 不是时间',
    )
    his.fails("2201", {"data": {"insutype": "390"}}, "input.data.psn_no: 缺少")
    mdtrt = open_visit(his)
    his.fails("2204", {"feedetail": [line("1", "A1", "1.00", mdtrt_id=mdtrt)]}, "费用明细流水号 1 重复")
    his.fails(
        "2204",
        {"feedetail": [{**line("2", "A1", "10.00", mdtrt_id=mdtrt), "det_item_fee_sumamt": "10.02"}]},
        "det_item_fee_sumamt",
    )
    his.fails(
        "2204",
        {"feedetail": [{**line("3", "A1", "10.00", mdtrt_id=mdtrt), "pric": "abc"}]},
        'input.feedetail[0].pric: "abc" 不是有效的单价 (not a price)',
    )
    his.fails(
        "2207",
        {"data": {**settle_data(mdtrt)["data"], "medfee_sumamt": "99.00"}},
        "与费用明细合计 100.00 不符",
    )
    his.fails(
        "2207",
        {"data": {**settle_data(mdtrt)["data"], "acct_used_flag": "7"}},
        "input.data.acct_used_flag: 无效值",
    )
    other = His(client, OTHER)  # another institution sees no such visit
    other.fails("2207", settle_data(mdtrt), "就诊不存在")
    other.fails("2204", {"feedetail": [line("9", "A1", "1.00", mdtrt_id=mdtrt)]}, "就诊不存在")
    setl = his.ok("2207", settle_data(mdtrt))["setlinfo"]
    other.fails("2208", {"data": {"psn_no": RESIDENT, "setl_id": setl["setl_id"]}}, "结算不存在")
    other.fails("5203", {"data": {"psn_no": RESIDENT, "setl_id": setl["setl_id"]}}, "结算不存在")
    # none of the refusals left anything behind: one visit, one line, one settlement
    assert (count(engine, Visit), count(engine, FeeLine), count(engine, Settlement)) == (1, 1, 1)


def test_the_reply_envelope_is_the_national_one(client):
    """inf_refmsgid = this region's admdvs (6) + yyyyMMddHHmmss (14) + serial (10); refmsg_time and
    respond_time are yyyyMMddHHmmssSSS, when the message arrived and when it was answered."""
    his = His(client, HOSP2)
    before = datetime.now().replace(microsecond=0)
    replies = [
        his.call("2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}})
    ]
    replies.append(
        his.call("2201", {"data": {"psn_no": "NOBODY", "insutype": "390", "begntime": "2025-03-01 09:00:00"}})
    )
    after = datetime.now() + timedelta(seconds=1)
    assert [r["infcode"] for r in replies] == [0, -1] and replies[0]["err_msg"] == ""
    assert replies[1]["err_msg"].startswith("psn_no: 人员不存在") and replies[1]["output"] == {}
    for r in replies:
        assert re.fullmatch(r"990100\d{24}", r["inf_refmsgid"]), r["inf_refmsgid"]
        received, responded = (
            datetime.strptime(r[k], "%Y%m%d%H%M%S%f") for k in ("refmsg_time", "respond_time")
        )
        assert before <= received <= responded <= after
        assert before <= datetime.strptime(r["inf_refmsgid"][6:20], "%Y%m%d%H%M%S") <= after
    assert replies[0]["inf_refmsgid"] != replies[1]["inf_refmsgid"]


def test_retries_are_idempotent(client, engine):
    his = His(client, HOSP2)
    mdtrt = open_visit(his)
    first = his.call("2207", settle_data(mdtrt), msgid="M-RETRY-1")
    again = his.call("2207", settle_data(mdtrt), msgid="M-RETRY-1")
    assert first == again and first["infcode"] == 0
    assert count(engine, Settlement) == 1
    changed = settle_data(mdtrt)
    changed["data"]["acct_used_flag"] = "1"
    assert "报文内容不同" in his.call("2207", changed, msgid="M-RETRY-1")["err_msg"]
    # a refusal is remembered too: the same request gets the same answer
    refusal = his.call("2207", settle_data(mdtrt), msgid="M-RETRY-2")
    assert refusal["infcode"] == -1 and his.call("2207", settle_data(mdtrt), msgid="M-RETRY-2") == refusal
    assert count(engine, Settlement) == 1


def test_2601_reverses_a_settlement_whose_reply_was_lost(client, engine):
    his = His(client, HOSP2)
    mdtrt = open_visit(his, WORKER, "310", "600.00")
    lost = his.call(
        "2207",
        {"data": {**settle_data(mdtrt, WORKER, "310", "600.00")["data"], "acct_used_flag": "1"}},
        msgid="LOST-1",
    )
    assert lost["infcode"] == 0  # the HIS never saw this reply
    out = his.ok("2601", {"data": {"psn_no": WORKER, "omsgid": "LOST-1", "oinfno": "2207"}})
    assert out["result"]["stas"] == "1"
    with unit_of_work(engine, write=False) as s:
        rows = s.scalars(select(Settlement).order_by(Settlement.setl_time)).all()
    assert [r.refd_setl_flag for r in rows] == ["0", "1"] and rows[0].reversed_by == rows[1].setl_id
    assert rows[1].acct_pay == -rows[0].acct_pay
    info = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "110101198001010011"}})
    assert info["insuinfo"][0]["balc"] == Decimal("1000.00")
    # 冲正 again is harmless; a 冲正 for a message that never arrived blocks it from ever applying
    assert (
        his.ok("2601", {"data": {"psn_no": WORKER, "omsgid": "LOST-1", "oinfno": "2207"}})["result"]["memo"]
        == "已撤销"
    )
    his.ok("2601", {"data": {"psn_no": WORKER, "omsgid": "NEVER-1", "oinfno": "2207"}})
    late = his.call(
        "2207", {"data": {**settle_data(mdtrt, WORKER, "310", "600.00")["data"]}}, msgid="NEVER-1"
    )
    assert late["infcode"] == -1 and "已冲正" in late["err_msg"]
    his.fails(
        "2601", {"data": {"psn_no": WORKER, "omsgid": "X", "oinfno": "2204"}}, "input.data.oinfno: 无效值"
    )


def test_3201_balanced_and_unbalanced(client, engine):
    his = His(client, HOSP2)
    for fee in ("100.00", "200.00"):
        mdtrt = open_visit(his, fee=fee)
        his.ok("2207", settle_data(mdtrt, fee=fee))
    with unit_of_work(engine, write=False) as s:
        fund = sum(r.fund_pay_sumamt for r in s.scalars(select(Settlement)))
    today = time.strftime("%Y-%m-%d")
    data = {
        "insutype": "390",
        "clr_type": "11",
        "setl_optins": "990100",
        "stmt_begndate": today,
        "stmt_enddate": today,
        "medfee_sumamt": "300.00",
        "fund_pay_sumamt": str(Decimal(fund) / 100),
        "acct_pay": "0.00",
        "fixmedins_setl_cnt": 2,
        "refd_setl_flag": "0",
    }
    assert his.ok("3201", {"data": data})["stmtinfo"]["stmt_rslt"] == "0"
    off = his.ok("3201", {"data": {**data, "medfee_sumamt": "300.01", "fixmedins_setl_cnt": 3}})["stmtinfo"]
    assert off["stmt_rslt"] == "1" and "medfee_sumamt 机构 300.01 / 中心 300.00" in off["stmt_rslt_dscr"]
    assert "fixmedins_setl_cnt" in off["stmt_rslt_dscr"]


def test_every_state_change_is_audited(client, engine):
    his = His(client, HOSP2)
    mdtrt = open_visit(his)
    his.ok("2207", settle_data(mdtrt))
    with unit_of_work(engine, write=False) as s:
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.actor != world.ACTOR).order_by(AuditLog.seq)
        ).all()
        logged = s.scalar(select(func.count()).select_from(MessageLog))
    assert actions == ["register", "upload_fees", "settle"] and logged == 3
