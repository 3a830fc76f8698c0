"""Settlement reads the designation of the service date (定点医药机构协议管理, issue 24): a visit outside the
agreement's term, during a suspension, or of a medical type the agreement does not grant is refused with
infcode -1 naming the reason; after the suspension is lifted the same settlement goes through."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from tests.providers.helpers import STAFF, at, hospital_org, make_uscc, panel, scores
from tests.world import HOSP2, POOR, RESIDENT, His, line
from yibao.providers.service import agreements, applications, evaluations, status
from yibao.store.db import unit_of_work
from yibao.store.tables import ApiClient

TODAY = date(2025, 6, 1)  # the status the staff's steps keep; the visits are of March


def visit(his: His, begin: str = "2025-03-15 09:00:00", psn=RESIDENT) -> str:
    return his.ok("2201", {"data": {"psn_no": psn, "insutype": "390", "begntime": begin}})["data"]["mdtrt_id"]


def settle(his: His, mdtrt: str, psn=RESIDENT, fee="100.00") -> dict:
    return his.call(
        "2207", {"data": {"psn_no": psn, "mdtrt_id": mdtrt, "medfee_sumamt": fee, "insutype": "390"}}
    )


def test_a_visit_before_the_agreement_begins_is_refused(client, engine):
    his = His(client, HOSP2)
    his.fails(
        "2201",
        {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2019-12-31 09:00:00"}},
        f"fixmedins_code: 定点医药机构 {HOSP2} 在 2019-12-31 没有有效的医保服务协议（协议自 2020-01-01 起生效）",
    )


def test_a_settlement_during_a_suspension_is_refused_and_goes_through_once_resumed(client, engine):
    his = His(client, HOSP2)
    mdtrt = visit(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    with unit_of_work(engine) as s:  # suspended for March after the visit was opened (a sanction, backdated)
        status.suspend(s, HOSP2, begndate=date(2025, 3, 1), months=1, by="sanction", reason="串换药品",
                       actor=STAFF, today=TODAY)  # fmt: skip
    refused = settle(his, mdtrt)
    assert refused["infcode"] == -1
    assert refused["err_msg"] == (
        f"fixmedins_code: 定点医药机构 {HOSP2} 在 2025-03-15 医保协议中止 (2025-03-01 至 2025-03-31，原因 串换药品)"
    )
    his.fails(
        "2201",
        {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-20 09:00:00"}},
        "医保协议中止",
    )
    with unit_of_work(engine) as s:
        status.resume(s, HOSP2, day=date(2025, 3, 15), reason="整改到位", actor=STAFF, today=TODAY)
    again = settle(his, mdtrt)
    assert again["infcode"] == 0, again["err_msg"]
    assert again["output"]["setlinfo"]["medfee_sumamt"] == 100


def test_a_visit_begun_before_a_suspension_is_settled_during_it(client, engine):
    """中止 from 2025-04-01 until resumed (the institution's standing today is 中止): the March visit is still
    settled, a visit dated in the suspension is refused."""
    from yibao.store.tables import Institution

    his = His(client, HOSP2)
    mdtrt = visit(his)
    his.ok("2204", {"feedetail": [line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    with unit_of_work(engine) as s:
        status.suspend(s, HOSP2, begndate=date(2025, 4, 1), enddate=None, by="staff", reason="信息系统整改",
                       actor=STAFF, today=TODAY)  # fmt: skip
        assert s.get(Institution, HOSP2).status == "suspended"
    done = settle(his, mdtrt)
    assert done["infcode"] == 0, done["err_msg"]
    his.fails(
        "2201",
        {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-04-02 09:00:00"}},
        f"fixmedins_code: 定点医药机构 {HOSP2} 在 2025-04-02 医保协议中止 (2025-04-01 起，原因 信息系统整改)",
    )


def _designated(engine, code: str, granted: list[str], org_digits: str) -> None:
    """A new hospital through application, evaluation and signing, granted ``granted``, with an HIS client."""
    day = date(2025, 3, 3)
    with unit_of_work(engine) as s:
        app = applications.submit(s, kind="apply", admdvs="990100", services=["S01", "S04", "S05"],
                                  org=hospital_org(uscc=make_uscc("52", org_digits)), actor="counter", now=at(day))  # fmt: skip
        applications.accept(s, app.appl_no, actor=STAFF, now=at(day))
        evaluations.appoint_panel(s, app.appl_no, scorers=panel(), actor=STAFF, now=at(day))
        for x in panel():
            evaluations.record_sheet(s, app.appl_no, scorer_id=x["scorer_id"], scores=scores("0.8"), actor=STAFF,
                                     now=at(day))  # fmt: skip
        evaluations.conclude_evaluation(s, app.appl_no, actor=STAFF, now=at(day))
        agreements.sign(s, app.appl_no, granted=granted, fixmedins_code=code, begndate=date(2025, 3, 1),
                        actor=STAFF, now=datetime(2025, 3, 3, 10))  # fmt: skip
        s.add(
            ApiClient(client_id=f"c-{code}", fixmedins_code=code, secret=f"secret-{code}", sign_algo="sha256")
        )


def test_a_medical_type_the_agreement_does_not_grant_is_refused(client, engine):
    _designated(engine, "H99010200088", ["S01"], "11223344")  # 住院 only: no 门诊
    _designated(engine, "H99010200089", ["S01", "S04"], "22334455")  # 住院 and 门诊统筹, no 门诊特殊疾病
    inpatient_only = His(client, "H99010200088")
    inpatient_only.fails(
        "2201",
        {"data": {"psn_no": POOR, "insutype": "390", "begntime": "2025-05-01 09:00:00"}},
        "med_type: 定点医药机构 H99010200088 未开通 普通门诊 服务 (med_type 11)",
    )
    his = His(client, "H99010200089")
    mdtrt = visit(his, "2025-05-01 09:00:00", psn=POOR)
    his.ok(
        "2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": POOR, "med_type": "14", "dise_codg": "M03900"}}
    )
    his.ok("2204", {"feedetail": [line("1", "A1", "300.00", mdtrt_id=mdtrt)]})
    refused = settle(his, mdtrt, psn=POOR, fee="300.00")
    assert (refused["infcode"], refused["err_msg"]) == (
        -1,
        "med_type: 定点医药机构 H99010200089 未开通 门诊慢特病 服务 (med_type 14)",
    )
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": POOR, "med_type": "11"}})
    assert settle(his, mdtrt, psn=POOR, fee="300.00")["infcode"] == 0
    # before its term began (signed from 2025-03-01)
    his.fails(
        "2201",
        {"data": {"psn_no": POOR, "insutype": "390", "begntime": "2025-02-28 09:00:00"}},
        "没有有效的医保服务协议（协议自 2025-03-01 起生效）",
    )


def test_an_institution_that_leaves_settles_what_it_began_and_its_exit_statement_follows_it(client, engine):
    """解除 from 2025-04-01: the stay admitted in March is still discharged, settled and reversed after the
    exit (the service date's designation decides, not the institution's standing today); a visit dated on or
    after the exit is refused; the exit statement lists the visit still open, the fund's balance owed to the
    institution and the practitioners' registrations ended with the agreement."""
    from yibao.providers.service import exits, staff

    his = His(client, HOSP2)
    base = {"psn_no": RESIDENT, "insutype": "390", "acct_used_flag": "0"}
    stay = his.ok("2401", {"mdtrtinfo": {**base, "med_type": "21", "begntime": "2025-03-10 10:00:00",
                                         "dise_codg": "K35.800"}})["result"]["mdtrt_id"]  # fmt: skip
    his.ok("2301", {"feedetail": [line("1", "A1", "3000.00", mdtrt_id=stay)]})
    unfinished = visit(his, "2025-03-20 09:00:00")
    with unit_of_work(engine) as s:
        reg = staff.register_practitioner(s, HOSP2, prac_code="D990100000077", prac_name="钱医生", actor=STAFF,
                                          day=date(2025, 3, 1))  # fmt: skip
        status.terminate(
            s, HOSP2, day=date(2025, 4, 1), by="staff", reason="机构歇业", actor=STAFF, today=TODAY
        )
        reg_id = reg.id
    his.ok("2402", {"dscginfo": {"mdtrt_id": stay, "psn_no": RESIDENT, "endtime": "2025-04-03 10:00:00",
                                 "dscg_way": "1"}})  # fmt: skip
    data = {**base, "mdtrt_id": stay, "medfee_sumamt": "3000.00", "mid_setl_flag": "0"}
    settled = his.ok("2304", {"data": data})["setlinfo"]
    assert settled["medfee_sumamt"] == 3000
    his.fails("2201", {"data": {**base, "begntime": "2025-04-01 09:00:00"}},
              f"fixmedins_code: 定点医药机构 {HOSP2} 在 2025-04-01 没有有效的医保服务协议")  # fmt: skip
    with unit_of_work(engine, write=False) as s:
        st = exits.statement(s, HOSP2)
    assert st["exit_date"] == date(2025, 4, 1) and st["reason"] == "机构歇业"
    assert [v["mdtrt_id"] for v in st["unfinished_visits"]] == [unfinished]
    assert st["unfinished_visits"][0]["status_name"] == "门诊就诊中"
    assert st["settled_since_exit"] == {"count": 1, "fund_pay_sumamt": str(settled["fund_pay_sumamt"])}
    # what the funds owe for the settlement, fund by fund, as charged (no payment run has taken it back)
    assert {b["account"] for b in st["balances"]} == {"institution_payable"}
    assert sum(Decimal(b["owed"]) for b in st["balances"]) == settled["fund_pay_sumamt"]
    assert Decimal(st["owed_total"]) == settled["fund_pay_sumamt"] > 0
    assert st["registrations_standing"] == 0
    assert not st["settled"]
    with unit_of_work(engine, write=False) as s:
        from yibao.store.tables import PractitionerRegistration

        ended = s.get(PractitionerRegistration, reg_id)
        assert (ended.status, ended.ended_on) == ("ended", date(2025, 3, 31))
    # the settlement reversed after the exit (the stay is discharged again, so unfinished) and both visits
    # cancelled: nothing owed, nothing open — the statement is settled
    his.ok("2305", {"data": {**base, "mdtrt_id": stay, "setl_id": settled["setl_id"]}})
    with unit_of_work(engine, write=False) as s:
        assert [v["mdtrt_id"] for v in exits.statement(s, HOSP2)["unfinished_visits"]] == [stay, unfinished]
    his.ok("2404", {"data": {"psn_no": RESIDENT, "mdtrt_id": stay}})
    his.ok("2202", {"data": {"psn_no": RESIDENT, "mdtrt_id": unfinished}})
    with unit_of_work(engine, write=False) as s:
        st = exits.statement(s, HOSP2)
    assert st["balances"] == [] and st["owed_total"] == "0.00" and st["settled"]
