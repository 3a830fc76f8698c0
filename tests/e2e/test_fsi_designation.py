"""Settlement reads the designation of the service date (定点医药机构协议管理, issue 24): a visit outside the
agreement's term, during a suspension, or of a medical type the agreement does not grant is refused with
infcode -1 naming the reason; after the suspension is lifted the same settlement goes through."""

from __future__ import annotations

from datetime import date, datetime

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
