"""3101 事前 / 3102 事中 analysis, 3103 feedback and the inline checks at 2204/2301 and 2206/2207/2303/2304,
end to end through ``POST /fsi/api/callService`` with a small library of four rules of different kinds:

* GZ-T-SEX   sex_limit   B1 限女性 (违规, sev 1), block at upload and at settlement;
* GZ-T-QTY   max_quantity A1 ≤ 5 per day (可疑, sev 2), warn;
* GZ-T-READM readmission within 15 days, same principal diagnosis (可疑), 事中 and 事后 only;
* GZ-T-PRICE price_cap   B2 at most 1200.00 (违规), warn at upload, block at settlement.

The world (tests/world.py): WORKER and RESIDENT are men, RETIREE a woman; A1 甲类, B1 乙类, B2 乙类 capped.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests import world
from tests.world import HOSP2, HOSP3, OTHER, RESIDENT, RETIREE, WORKER, His, line
from yibao.api import routes_fsi
from yibao.api.facade_route import FacadeFront
from yibao.config import reset_settings
from yibao.errors import ConfigError
from yibao.store.audit_rules import import_library
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditWarning, FeeLine, Settlement
from yibao.supervision.library_files import load_library
from yibao.supervision.service import inline
from yibao.supervision.service import issued as warning_service
from yibao.supervision.service import library as library_service

REPO = Path(__file__).resolve().parents[2]
RULES = """
rules:
  - rule_code: GZ-T-SEX
    name: 药品区分性别使用
    kind: sex_limit
    result_type: 违规
    stages: [pre, mid, post]
    actions: {upload: block, settle: block}
    effective_from: 2020-01-01
    legal_basis: 《医疗保障基金使用监督管理条例》第十五条
    knowledge:
      - {code: B1, gend: "2"}
  - rule_code: GZ-T-QTY
    name: 限定数量
    kind: max_quantity
    result_type: 可疑
    stages: [pre, mid, post]
    actions: {upload: warn, settle: warn}
    effective_from: 2020-01-01
    knowledge:
      - {code: A1, max_cnt: "5", period: day}
  - rule_code: GZ-T-READM
    name: 分解住院
    kind: readmission
    result_type: 可疑
    stages: [mid, post]
    effective_from: 2020-01-01
    params: {window_days: 15}
  - rule_code: GZ-T-PRICE
    name: 超限定单价
    kind: price_cap
    result_type: 违规
    stages: [pre, mid, post]
    actions: {upload: warn, settle: block}
    effective_from: 2020-01-01
    knowledge:
      - {code: B2, max_pric: "1200.00"}
"""


def _forget() -> None:
    library_service.forget()
    warning_service.forget()
    inline.clear()


@pytest.fixture
def client(engine, tmp_path):
    world.build(engine)
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    with unit_of_work(engine) as s:
        import_library(s, load_library(tmp_path / "rules.yaml"), "test")
    _forget()
    app = FastAPI()
    app.include_router(routes_fsi.router)
    with TestClient(FacadeFront(app)) as c:
        yield c
    _forget()  # (the next test's library is its own)


def count(engine, table, *where) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table).where(*where))


def warnings_of(engine, **by) -> list[AuditWarning]:
    with unit_of_work(engine, write=False) as s:
        q = select(AuditWarning).filter_by(**by).order_by(AuditWarning.rule_code)
        return list(s.scalars(q))


def order(rx: str, code: str, pric: str, cnt: str = "1", **extra) -> dict:
    return {
        "rx_id": rx,
        "rxno": f"NO{rx}",
        "hilist_type": "101",
        "chrg_type": "09",
        "hilist_code": code,
        "hilist_name": code,
        "cnt": cnt,
        "pric": pric,
        "sumamt": str((Decimal(pric) * Decimal(cnt)).quantize(Decimal("0.01"))),
        "drord_begn_date": "2025-03-01 10:00:00",
        "curr_drord_flag": "1",
        **extra,
    }


def encounter(
    mdtrt: str, orders: list[dict], medins=HOSP2, med_type="11", adm="2025-03-01 09:00:00", **extra
):
    return {
        "mdtrt_id": mdtrt,
        "medins_id": medins,
        "med_type": med_type,
        "adm_date": adm,
        "fsi_diagnose_dtos": [{"dise_codg": "J18.900", "maindise_flag": "1", "inout_dise_type": "1"}],
        "fsi_order_dtos": orders,
        "fsi_operation_dtos": [],
        **extra,
    }


def analysis(psn: str, encounters: list[dict], trig_scen: str | None = "2", **extra) -> dict:
    data = {
        "patient_dtos": [
            {"patn_id": psn, "patn_name": "患者", "gend": "1", "fsi_encounter_dtos": encounters}
        ],
        **({"trig_scen": trig_scen} if trig_scen else {}),
        **extra,
    }
    return {"data": data}


def by_rule(result: list[dict]) -> dict[str, dict]:
    return {r["rule_id"]: r for r in result}


# --- 3101 / 3102 -----------------------------------------------------------------------------------------


def test_3101_a_new_encounter_hits_the_rules_its_orders_break_in_the_national_shape(client, engine):
    his = His(client, HOSP2)
    msgid = f"{HOSP2}202503011000000001"
    orders = [
        order("RX1", "B1", "10.00"),  # 限女性, the patient is a man: 违规, 10.00 at stake
        order("RX2", "A1", "1.00", "8"),  # 8 > 5 a day: 可疑, the excess 3/8 of 8.00 = 3.00
        order("RX3", "S1", "5.00"),  # no rule
    ]
    reply = his.call("3101", analysis(RESIDENT, [encounter("HIS-0001", orders)], trig_scen="2"), msgid)
    assert reply["infcode"] == 0, reply["err_msg"]
    result = reply["output"]["result"]
    assert sorted(r["rule_id"] for r in result) == ["GZ-T-QTY", "GZ-T-SEX"]
    sex, qty = by_rule(result)["GZ-T-SEX"], by_rule(result)["GZ-T-QTY"]
    assert set(sex) == {
        "jr_id", "rule_id", "rule_name", "vola_cont", "patn_id", "mdtrt_id", "judge_result_detail_dtos",
        "vola_amt", "vola_amt_stas", "sev_deg", "vola_evid", "vola_bhvr_type", "task_id",
    }  # fmt: skip
    assert (sex["rule_name"], sex["patn_id"], sex["mdtrt_id"], sex["task_id"]) == (
        "药品区分性别使用",
        RESIDENT,
        "HIS-0001",
        msgid,
    )
    assert sex["vola_cont"] == "药品区分性别使用: B1 限女性使用，患者为男性，涉及金额 10.00 元"
    assert (sex["vola_amt"], sex["vola_amt_stas"], sex["sev_deg"], sex["vola_bhvr_type"]) == (
        "10.00",
        "1",
        "1",
        "2",
    )
    assert sex["vola_evid"].startswith("《医疗保障基金使用监督管理条例》第十五条；知识点 GZ-T-SEX#")
    assert "code=B1" in sex["vola_evid"] and "gend=2" in sex["vola_evid"]
    [detail] = sex["judge_result_detail_dtos"]
    assert detail == {
        "jrd_id": f"{sex['jr_id']}001",
        "patn_id": RESIDENT,
        "mdtrt_id": "HIS-0001",
        "rx_id": "RX1",
        "vola_item_type": "1",
        "vola_amt": "10.00",
    }
    assert (qty["vola_amt"], qty["sev_deg"]) == ("3.00", "2")  # 8.00 × (8 − 5) / 8
    assert [d["rx_id"] for d in qty["judge_result_detail_dtos"]] == ["RX2"]
    assert len({r["jr_id"] for r in result}) == 2
    stored = warnings_of(engine, msgid=msgid)
    assert {w.jr_id for w in stored} == {r["jr_id"] for r in result}
    w = next(x for x in stored if x.rule_code == "GZ-T-SEX")
    assert (w.infno, w.warn_type, w.fixmedins_code, w.psn_no, w.mdtrt_id) == (
        "3101",
        "1",
        HOSP2,
        RESIDENT,
        "HIS-0001",
    )
    assert (w.sev_deg, w.action, w.vola_amt, w.dspo_way) == ("1", "block", 1000, None)
    assert w.detail == sex["judge_result_detail_dtos"]
    # a woman may have B1; 5 of A1 is the limit, not above it
    miss = [order("RX1", "B1", "10.00"), order("RX2", "A1", "1.00", "5")]
    assert his.ok("3101", analysis(RETIREE, [encounter("HIS-0002", miss)]))["result"] == []


def test_3102_a_registered_visit_counts_its_stored_lines_and_the_persons_history(client, engine):
    his = His(client, HOSP2)
    mdtrt = his.ok(
        "2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.ok("2204", {"feedetail": [line("1", "A1", "1.00", 3, mdtrt_id=mdtrt)]})  # 3 of A1, stored
    out = his.ok("3102", analysis(WORKER, [encounter(mdtrt, [order("RX9", "A1", "1.00", "3")])]))["result"]
    [qty] = out
    # 3 stored + 3 ordered = 6 > 5: both lines at fault, 6.00 × 1/6 = 1.00, shared by amount
    assert (qty["rule_id"], qty["mdtrt_id"], qty["vola_amt"]) == ("GZ-T-QTY", mdtrt, "1.00")
    details = qty["judge_result_detail_dtos"]
    assert sorted(d["rx_id"] for d in details) == ["1", "RX9"]  # the stored line by its feedetl_sn
    assert sum(Decimal(d["vola_amt"]) for d in details) == Decimal("1.00")
    # 分解住院 (事中 only): discharged on 03-10 with K35, admitted again on 03-20 with K35 (10 days ≤ 15)
    stay = his.ok(
        "2401",
        {"mdtrtinfo": {"psn_no": RETIREE, "insutype": "310", "med_type": "21",
                       "begntime": "2025-03-05 10:00:00", "dise_codg": "K35.800"}},
    )["result"]["mdtrt_id"]  # fmt: skip
    his.ok("2402", {"dscginfo": {"mdtrt_id": stay, "psn_no": RETIREE, "endtime": "2025-03-10 10:00:00"}})
    again = encounter(
        "HIS-READM", [], med_type="21", adm="2025-03-20 09:00:00", dscg_main_dise_codg="K35.800"
    )
    [readm] = his.ok("3102", analysis(RETIREE, [again], trig_scen="4"))["result"]
    assert (readm["rule_id"], readm["vola_bhvr_type"], readm["vola_amt"], readm["vola_amt_stas"]) == (
        "GZ-T-READM",
        "1",
        "0.00",
        "0",
    )
    assert readm["judge_result_detail_dtos"][0]["rx_id"] == ""
    assert stay in readm["vola_cont"] and "10 天" in readm["vola_cont"]
    assert his.ok("3101", analysis(RETIREE, [again], trig_scen="3"))["result"] == []  # 事前: not its stage
    assert [w.warn_type for w in warnings_of(engine, infno="3102")] == ["2", "2"]


def test_rule_ids_run_only_the_rules_named(client, engine):
    his = His(client, HOSP2)
    orders = [order("RX1", "B1", "10.00"), order("RX2", "A1", "1.00", "8")]
    one = his.ok(
        "3102", analysis(RESIDENT, [encounter("HIS-1", orders)], trig_scen=None, rule_ids="GZ-T-SEX")
    )
    assert [r["rule_id"] for r in one["result"]] == ["GZ-T-SEX"]
    both = his.ok(
        "3101",
        analysis(RESIDENT, [encounter("HIS-2", orders)], trig_scen=None, rule_ids=["GZ-T-QTY", "GZ-T-SEX"]),
    )
    assert sorted(r["rule_id"] for r in both["result"]) == ["GZ-T-QTY", "GZ-T-SEX"]
    # rule_ids choose the rules, whatever their stages: 分解住院 is no 事前 rule, but runs when named
    assert (
        his.ok("3101", analysis(RESIDENT, [encounter("HIS-3", orders)], rule_ids="GZ-T-READM"))["result"]
        == []
    )
    his.fails(
        "3102",
        analysis(RESIDENT, [encounter("HIS-4", orders)], rule_ids=["GZ-T-SEX", "GZ-NONE"]),
        'input.data.rule_ids[1]: 规则不存在 "GZ-NONE"',
    )
    his.fails(
        "3102", analysis(RESIDENT, [encounter("HIS-5", orders)], trig_scen=None), "input.data.trig_scen: 缺少"
    )
    his.fails(
        "3102",
        analysis(RESIDENT, [encounter("HIS-6", orders)], trig_scen="X"),
        "input.data.trig_scen: 无效值",
    )


def test_bad_input_unknown_persons_and_other_institutions_encounters_are_refused_by_path(client, engine):
    his = His(client, HOSP2)
    ok_orders = [order("RX1", "A1", "1.00"), order("RX2", "A1", "1.00")]
    path = "input.data.patient_dtos[0].fsi_encounter_dtos[1]"
    bad = [order("RX1", "A1", "1.00"), {**order("RX2", "A1", "1.00"), "cnt": "abc"}]
    his.fails(
        "3101",
        analysis(RESIDENT, [encounter("E1", ok_orders), encounter("E2", bad)]),
        f"{path}.fsi_order_dtos[1].cnt:",
    )
    wrong_sum = [order("RX1", "A1", "1.00", "2", sumamt="3.00")]
    his.fails(
        "3101",
        analysis(RESIDENT, [encounter("E1", wrong_sum)]),
        "fsi_order_dtos[0].sumamt: 3.00 ≠ pric × cnt = 2.00",
    )
    twice = [order("RX1", "A1", "1.00"), order("RX1", "B1", "1.00")]
    his.fails("3101", analysis(RESIDENT, [encounter("E1", twice)]), "fsi_order_dtos[1].rx_id: RX1 重复")
    no_code = [{**order("RX1", "A1", "1.00"), "hilist_code": "Ａ1"}]
    his.fails("3101", analysis(RESIDENT, [encounter("E1", no_code)]), "fsi_order_dtos[0].hilist_code:")
    his.fails(
        "3101",
        analysis("P9999", [encounter("E1", ok_orders)]),
        "input.data.patient_dtos[0].patn_id: 人员不存在 P9999",
    )
    his.fails(
        "3101",
        analysis(RESIDENT, [encounter("E1", ok_orders), encounter("E2", ok_orders, medins=OTHER)]),
        f'{path}.medins_id: "{OTHER}" 不是本机构 {HOSP2}',
    )
    # a visit registered at another institution is not the caller's to analyse
    theirs = His(client, OTHER).ok(
        "2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.fails(
        "3102",
        analysis(RESIDENT, [encounter(theirs, ok_orders)]),
        f"fsi_encounter_dtos[0].mdtrt_id: 就诊 {theirs} 不是本机构的就诊",
    )
    mine = his.ok("2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    his.fails("3102", analysis(RESIDENT, [encounter(mine, ok_orders)]), f"登记的人员不是 {RESIDENT}")
    his.fails("3101", {"data": {"trig_scen": "1"}}, "input.data.patient_dtos: 缺少")
    his.fails(
        "3101",
        analysis(RESIDENT, [{**encounter("E1", ok_orders), "adm_date": "2025-13-01"}]),
        "fsi_encounter_dtos[0].adm_date:",
    )
    assert count(engine, AuditWarning) == 0


# --- 3103 ------------------------------------------------------------------------------------------------


def test_3103_records_continue_or_modify_once(client, engine):
    his = His(client, HOSP2)
    orders = [order("RX1", "B1", "10.00"), order("RX2", "A1", "1.00", "8")]
    result = his.ok("3101", analysis(RESIDENT, [encounter("HIS-1", orders)]))["result"]
    sex, qty = by_rule(result)["GZ-T-SEX"]["jr_id"], by_rule(result)["GZ-T-QTY"]["jr_id"]
    answer = {"warn_rslt_id": sex, "dspo_way": "1", "warn_type": "1"}
    his.fails("3103", {"data": answer}, "input.data.dspo_way_rea: 继续执行须说明原因")
    his.fails(
        "3103", {"data": {**answer, "warn_type": "2", "dspo_way_rea": "x"}}, "input.data.warn_type: 提醒"
    )
    his.fails(
        "3103", {"data": {**answer, "warn_rslt_id": "NOPE"}}, "input.data.warn_rslt_id: 提醒不存在 NOPE"
    )
    His(client, HOSP3).fails("3103", {"data": {**answer, "dspo_way_rea": "x"}}, f"提醒不存在 {sex}")
    answer["dspo_way_rea"] = "患者为变性手术后女性，病历已记录"
    assert his.ok("3103", {"data": answer}) == {}
    assert his.ok("3103", {"data": answer}) == {}  # the same answer again (another msgid): nothing changes
    his.fails("3103", {"data": {**answer, "dspo_way": "2"}}, "input.data.warn_rslt_id: 提醒")
    [w] = warnings_of(engine, jr_id=sex)
    assert (w.dspo_way, w.dspo_way_rea) == ("1", answer["dspo_way_rea"]) and w.dspo_at is not None
    # the provincial editions' shape: warn_type beside warns[]
    assert (
        his.ok("3103", {"data": {"warn_type": "1", "warns": [{"warn_rslt_id": qty, "dspo_way": "2"}]}}) == {}
    )
    [w] = warnings_of(engine, jr_id=qty)
    assert (w.dspo_way, w.dspo_way_rea) == ("2", None)
    his.fails(
        "3103",
        {"data": {"warns": [{"warn_rslt_id": qty, "dspo_way": "2"}]}},
        "input.data.warns[0].warn_type: 缺少",
    )


# --- inline checks ---------------------------------------------------------------------------------------


def register(his: His, psn=WORKER, ins="310") -> str:
    return his.ok("2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}})[
        "data"
    ]["mdtrt_id"]


def test_a_blocking_rule_refuses_the_upload_naming_rule_and_line_and_nothing_is_stored(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    lines = [line("1", "A1", "5.00", mdtrt_id=mdtrt), line("2", "B1", "10.00", mdtrt_id=mdtrt)]
    err = his.fails("2204", {"feedetail": lines}, "input.feedetail[1]: 违反规则 GZ-T-SEX")
    assert (
        err
        == "input.feedetail[1]: 违反规则 GZ-T-SEX 药品区分性别使用: B1 限女性使用，患者为男性，涉及金额 10.00 元"
    )
    assert count(engine, FeeLine) == 0 and count(engine, AuditWarning) == 0
    # the same lines for a woman: stored, nothing to say
    out = his.ok("2204", {"feedetail": [line("1", "B1", "10.00", mdtrt_id=register(his, RETIREE))]})
    assert "audit_warnings" not in out and count(engine, FeeLine) == 1


def test_a_warning_rides_along_and_the_upload_is_stored(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    msgid = f"{HOSP2}202503011000000042"
    reply = his.call(
        "2204",
        {"feedetail": [line("1", "S1", "5.00", mdtrt_id=mdtrt), line("2", "A1", "1.00", 8, mdtrt_id=mdtrt)]},
        msgid,
    )
    assert reply["infcode"] == 0, reply["err_msg"]
    out = reply["output"]
    assert [r["feedetl_sn"] for r in out["result"]] == ["1", "2"]
    [warning] = out["audit_warnings"]
    assert (warning["rule_id"], warning["task_id"], warning["vola_amt"]) == ("GZ-T-QTY", msgid, "3.00")
    assert warning["judge_result_detail_dtos"][0]["rx_id"] == "2"  # the line by its feedetl_sn
    [w] = warnings_of(engine, msgid=msgid)
    assert (w.jr_id, w.infno, w.warn_type, w.action, w.mdtrt_id) == (
        warning["jr_id"],
        "2204",
        "2",
        "warn",
        mdtrt,
    )
    assert count(engine, FeeLine) == 2
    # settled with the same warning (the lines are still unsettled at 2207), answered by 3103
    data = {"psn_no": WORKER, "mdtrt_id": mdtrt, "medfee_sumamt": "13.00", "insutype": "310"}
    settled = his.ok("2207", {"data": data})
    assert settled["setlinfo"]["medfee_sumamt"] == Decimal("13.00")
    assert [x["rule_id"] for x in settled["audit_warnings"]] == ["GZ-T-QTY"]
    answer = {
        "warn_rslt_id": settled["audit_warnings"][0]["jr_id"],
        "dspo_way": "1",
        "dspo_way_rea": "遵医嘱",
        "warn_type": "2",
    }
    assert his.ok("3103", {"data": answer}) == {}


def test_a_rule_blocking_at_settlement_refuses_2206_and_2207_naming_the_line(client, engine):
    his = His(client, HOSP2)
    mdtrt = register(his)
    upload = his.ok(
        "2204",
        {"feedetail": [line("1", "A1", "2.00", mdtrt_id=mdtrt), line("2", "B2", "1300.00", mdtrt_id=mdtrt)]},
    )
    assert [w["rule_id"] for w in upload["audit_warnings"]] == ["GZ-T-PRICE"]  # warn at upload
    data = {"psn_no": WORKER, "mdtrt_id": mdtrt, "medfee_sumamt": "1302.00", "insutype": "310"}
    message = "input.data: 违反规则 GZ-T-PRICE 超限定单价: B2 单价 1300"
    assert his.fails("2206", {"data": data}, message).endswith("(费用明细 feedetl_sn=2)")
    his.fails("2207", {"data": data}, message)
    assert count(engine, Settlement) == 0
    assert [w.infno for w in warnings_of(engine)] == ["2204"]  # a refused call keeps none
    his.ok("2205", {"data": {"mdtrt_id": mdtrt, "psn_no": WORKER}})  # the lines withdrawn, then re-uploaded
    his.ok("2204", {"feedetail": [line("3", "A1", "2.00", mdtrt_id=mdtrt)]})
    assert his.ok("2207", {"data": {**data, "medfee_sumamt": "2.00"}})["setlinfo"]["setl_id"]


def test_inpatient_settlement_is_checked_at_2303_and_2304(client, engine):
    his = His(client, HOSP3)
    stay = his.ok(
        "2401",
        {"mdtrtinfo": {"psn_no": RESIDENT, "insutype": "390", "med_type": "21",
                       "begntime": "2025-02-10 10:00:00", "dise_codg": "K35.800"}},
    )["result"]["mdtrt_id"]  # fmt: skip
    his.ok(
        "2301",
        {"feedetail": [line("1", "A1", "200.00", mdtrt_id=stay), line("2", "B2", "1500.00", mdtrt_id=stay)]},
    )
    his.ok("2402", {"dscginfo": {"mdtrt_id": stay, "psn_no": RESIDENT, "endtime": "2025-02-20 10:00:00"}})
    base = {"psn_no": RESIDENT, "mdtrt_id": stay, "insutype": "390", "medfee_sumamt": "1700.00"}
    his.fails("2303", {"data": base}, "违反规则 GZ-T-PRICE")
    his.fails("2304", {"data": base}, "(费用明细 feedetl_sn=2)")
    assert count(engine, Settlement) == 0
    # 2301: a blocking rule refuses an inpatient upload too
    his.fails(
        "2301",
        {"feedetail": [line("3", "B1", "1.00", mdtrt_id=stay)]},
        "input.feedetail[0]: 违反规则 GZ-T-SEX",
    )


def test_inline_checks_off_leave_the_calls_as_they_were(client, engine, tmp_path, monkeypatch):
    regions = tmp_path / "regions"
    shutil.copytree(REPO / "regions", regions)
    spec = regions / "990100" / "region.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text[: text.index("supervision:")], encoding="utf-8")
    monkeypatch.setenv("YIBAO_REGIONS_DIR", str(regions))
    reset_settings()
    assert inline.switch_for("990100", regions) == inline.InlineSwitch(False, False)
    his = His(client, HOSP2)
    mdtrt = register(his)
    out = his.ok(
        "2204",
        {"feedetail": [line("1", "B1", "10.00", mdtrt_id=mdtrt), line("2", "B2", "1300.00", mdtrt_id=mdtrt)]},
    )
    assert set(out) == {"result"}
    settled = his.ok(
        "2207", {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "medfee_sumamt": "1310.00", "insutype": "310"}}
    )
    assert "audit_warnings" not in settled
    assert count(engine, AuditWarning) == 0
    # 3101 / 3102 answer whatever the switch
    assert his.ok("3102", analysis(WORKER, [encounter(mdtrt, [])]))["result"]


def test_the_switch_is_read_from_the_region_and_its_city():
    assert inline.parse({"inline": True}, "x") == inline.InlineSwitch(True, True)
    assert inline.parse({"inline": {"settle": True}}, "x") == inline.InlineSwitch(False, True)
    assert inline.parse({}, "x") == inline.InlineSwitch()
    with pytest.raises(ConfigError, match=r"supervision\.inline\.uplod"):
        inline.parse({"inline": {"uplod": True}}, "x")
    assert inline.switch_for("990100", REPO / "regions") == inline.InlineSwitch(True, True)
    assert inline.switch_for("990102", REPO / "regions").upload  # a district: its city's switch
    assert inline.switch_for("990201", REPO / "regions") == inline.InlineSwitch()


def test_the_declared_reads_of_a_visit_are_the_audit_views(client, engine):
    """The facade reads a visit's context with declared statements (one round trip): the same rows as
    :func:`yibao.store.audit_view.visit_context` reads, history, its lines of the counted codes and the
    secondary codes included."""
    from tests.e2e.test_fsi_settlement_list import settled_stay, settlement_list
    from yibao.store import audit_warnings as aw
    from yibao.store.audit_view import list_types, visit_context
    from yibao.store.uow import lent_to

    his = His(client, HOSP2)
    stay = his.ok(
        "2401",
        {"mdtrtinfo": {"psn_no": RETIREE, "insutype": "310", "med_type": "21",
                       "begntime": "2025-01-20 10:00:00", "dise_codg": "K35.800"}},
    )["result"]["mdtrt_id"]  # fmt: skip
    his.ok("2301", {"feedetail": [line("1", "A1", "1.00", 2, mdtrt_id=stay)]})
    earlier = register(his, RETIREE)
    his.ok(
        "2204",
        {
            "feedetail": [
                line("1", "A1", "1.00", 2, mdtrt_id=earlier),
                line("2", "S1", "3.00", mdtrt_id=earlier),
            ]
        },
    )
    visit = his.ok(
        "2201", {"data": {"psn_no": RETIREE, "insutype": "310", "begntime": "2025-03-02 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.ok("2204", {"feedetail": [line("7", "S1", "3.00", mdtrt_id=visit)]})
    listed, setl_id = settled_stay(His(client, HOSP3))  # a stay coded on its settlement list (4101)
    His(client, HOSP3).ok("4101", settlement_list(listed, setl_id))
    with unit_of_work(engine) as s, lent_to(s) as uow:
        types = list_types(s)
        for mdtrt, psn, lookback, cross in (
            (visit, RETIREE, 31, {"A1"}),
            (visit, RETIREE, 60, set()),
            (visit, RETIREE, 5, {"A1", "S1"}),
            (listed, RESIDENT, 31, {"A1"}),
        ):
            row = s.execute(aw.AUDIT_VISIT.stmt, {"mdtrt_id": mdtrt}).one()._asdict()
            reads = aw.context_reads(mdtrt, psn, row["begntime"], lookback, cross, stored=True)
            mine = aw.context(row, uow.fetch(reads), types)
            theirs = visit_context(s, mdtrt, lookback, cross, types)
            key = lambda r: sorted(r, key=repr)  # noqa: E731
            assert mine.visit == theirs.visit
            assert key(mine.lines) == key(theirs.lines)
            assert key(mine.history) == key(theirs.history)
            assert key(mine.history_lines) == key(theirs.history_lines)
            assert sorted(mine.diagnoses) == sorted(theirs.diagnoses)
            assert sorted(mine.operations) == sorted(theirs.operations)
        assert ("K35.200" in {c for _, c, _ in mine.diagnoses}) and mine.operations  # (the last: the list's)
