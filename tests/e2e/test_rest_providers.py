"""REST resources of designated-provider agreement management (定点医药机构, issue 24), on both databases: the
full path from application to the public list — apply, upload, accept, panel, sheets, conclude, sign, the
agreement's PDF (text extracted), the public list as of its first day and not the day before; the refusals
end to end, each naming its field or reason (under 3 months of operation, a scorer with a conflict of
interest, signing below the pass mark, a public hospital asking to suspend, an unknown application, a role
without the permission, a value too long); settlement through the facade refused for a med_type the agreement
does not grant and during a suspension, then accepted after resumption; the other steps (supplementing, a
change of basic information, withdrawal, 医保医师, measures, renewal, the annual assessment)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from tests import world
from tests.providers.helpers import PUBLIC_USCC, hospital_org, panel, scores
from tests.rest import bearer, ok, refused
from yibao.api.app import create_app
from yibao.providers.application import add_months
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.store.tables import ApiClient, AuditLog, Institution

API = "/api/providers"
NEW = "H99010200077"  # the code the new hospital is given at signing
TODAY = date.today()
# its agreement's first day: five months back, so that its first term covers today (the facade serves an
# institution whose agreement is in force today) and the visits, suspension and resumption are behind us
BEGIN = add_months(TODAY.replace(day=1), -5)
VISIT = BEGIN + timedelta(days=9)
JUNE = add_months(BEGIN, 1)  # the month it is suspended for
JUNE_END = add_months(JUNE, 1) - timedelta(days=1)


@pytest.fixture
def api(engine):
    world.build(engine)
    with unit_of_work(engine) as s:
        s.get(Institution, world.HOSP3).uscc = PUBLIC_USCC  # 示例市第一人民医院: a public hospital (事业单位)
        for user, name, role in (("jb", "王经办", "handler"), ("jh", "赵稽核", "inspector"),
                                 ("jz", "钱局长", "director"), ("sh", "李审核", "reviewer")):  # fmt: skip
            create_user(s, user, name, [role], f"pw-{user}-123", actor="test")
    with TestClient(create_app(console=False)) as c:
        c.headers.update(bearer(c, "jb", "pw-jb-123"))
        yield c


def as_user(c: TestClient, user: str) -> dict[str, str]:
    return bearer(c, user, f"pw-{user}-123")


def apply(c: TestClient, status: int = 201, services=("S01", "S04", "S05"), **org) -> dict:
    body = hospital_org(licence_enddate="2039-04-30") | org
    return ok(c.post(f"{API}/applications", json={"kind": "apply", "admdvs": "990100", "org": body,
                                                   "services": list(services)}), status)  # fmt: skip


def evaluated(c: TestClient, share: str = "0.8", **org) -> str:
    """An application accepted, scored by a full panel at ``share`` of full marks and concluded."""
    appl_no = apply(c, **org)["appl_no"]
    assert ok(c.post(f"{API}/applications/{appl_no}/accept"))["status"] == "accepted"
    assert (
        ok(c.post(f"{API}/applications/{appl_no}/panel", json={"scorers": panel()}))["status"] == "evaluating"
    )
    for x in panel():
        ok(c.post(f"{API}/applications/{appl_no}/sheets", json={"scorer_id": x["scorer_id"], "scores": scores(share)}),
           201)  # fmt: skip
    ok(c.post(f"{API}/applications/{appl_no}/conclude"))
    return appl_no


def signed(c: TestClient, granted=("S01", "S04"), code: str = NEW, engine=None) -> dict:
    appl_no = evaluated(c)
    agreement = ok(c.post(f"{API}/applications/{appl_no}/sign",
                          json={"granted": list(granted), "begndate": BEGIN.isoformat(), "fixmedins_code": code}), 201)  # fmt: skip
    if engine is not None:  # its HIS, to settle through the facade
        with unit_of_work(engine) as s:
            s.add(
                ApiClient(
                    client_id=f"c-{code}", fixmedins_code=code, secret=f"secret-{code}", sign_algo="sha256"
                )
            )
    return agreement


def public_codes(c: TestClient, day: date) -> list[str]:
    body = ok(c.get("/public/providers", params={"on": day.isoformat()}, headers={"Authorization": ""}))
    return [x["fixmedins_code"] for x in body["items"]]


# --- the full path -------------------------------------------------------------------------------------------


def test_apply_evaluate_sign_document_and_public_list(api, engine):
    c = api
    app = apply(c)
    appl_no = app["appl_no"]
    assert (app["status"], app["kind_name"], app["name"]) == ("submitted", "申请定点", "示例康复医院")
    assert [s["name"] for s in app["services"]] == ["住院", "门诊统筹", "门诊特殊疾病"]

    licence = b"%PDF-1.4 scanned licence"
    meta = ok(c.post(f"{API}/applications/{appl_no}/attachments", data={"material": "执业许可证"},
                     files={"file": ("执业许可证.pdf", licence, "application/pdf")}), 201)  # fmt: skip
    assert meta["sha256"] == hashlib.sha256(licence).hexdigest() and meta["size"] == len(licence)
    got = c.get(f"{API}/applications/{appl_no}/attachments/{meta['id']}")
    assert got.content == licence and got.headers["x-content-sha256"] == meta["sha256"]

    accepted = ok(c.post(f"{API}/applications/{appl_no}/accept"))
    assert accepted["status"] == "accepted" and accepted["accepted_on"] == TODAY.isoformat()
    assert accepted["deadline"] == add_months(TODAY, 3).isoformat() and accepted["overdue"] is False

    ok(c.post(f"{API}/applications/{appl_no}/panel", json={"scorers": panel()}))
    for x in panel():
        sheet = ok(c.post(f"{API}/applications/{appl_no}/sheets",
                          json={"scorer_id": x["scorer_id"], "scores": scores("0.8")}), 201)  # fmt: skip
    assert sheet["total"] == "80.00"
    concluded = ok(c.post(f"{API}/applications/{appl_no}/conclude"))
    assert concluded["status"] == "passed" and concluded["evaluation"]["result"] == "80.00"
    assert concluded["evaluation"]["passed"] is True and concluded["evaluation"]["missing"] == []

    agreement = ok(c.post(f"{API}/applications/{appl_no}/sign",
                          json={"granted": ["S01", "S04"], "begndate": BEGIN.isoformat(), "fixmedins_code": NEW}), 201)  # fmt: skip
    assert (agreement["fixmedins_code"], agreement["kind"], agreement["status"]) == (NEW, "main", "active")
    last = add_months(BEGIN, 12) - timedelta(days=1)
    assert (agreement["begndate"], agreement["enddate"]) == (BEGIN.isoformat(), last.isoformat())  # a year
    assert [s["code"] for s in agreement["services"]] == ["S01", "S04"]
    no = agreement["agreement_no"]
    assert ok(c.get(f"{API}/agreements/{no}")) == agreement

    pdf = c.get(agreement["document"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (
        pdf.headers["x-content-sha256"]
        == hashlib.sha256(pdf.content).hexdigest()
        == agreement["document_sha256"]
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "示例康复医院" in text and no in text

    progress = ok(c.get(f"{API}/applications/{appl_no}"))
    assert progress["status"] == "signed" and progress["agreements"] == [no]
    assert progress["fixmedins_code"] == NEW and len(progress["attachments"]) == 1

    # 公布结果: on the list from its first day, not the day before; no login needed
    assert NEW in public_codes(c, BEGIN) and NEW not in public_codes(c, BEGIN - timedelta(days=1))
    listed = ok(c.get("/public/providers", params={"on": BEGIN.isoformat()}))
    mine = next(x for x in listed["items"] if x["fixmedins_code"] == NEW)
    assert (mine["fixmedins_name"], mine["class_name"]) == ("示例康复医院", "医院")
    assert [s["name"] for s in mine["services"]] == ["住院", "门诊统筹"]
    rows = list(
        csv.reader(io.StringIO(c.get(f"/public/providers?on={BEGIN}&format=csv").content.decode("utf-8-sig")))
    )
    assert rows[0][:2] == ["机构编码", "机构名称"] and [NEW, "示例康复医院"] in [r[:2] for r in rows]
    book = load_workbook(io.BytesIO(c.get(f"/public/providers?on={BEGIN}&format=xlsx").content))
    assert NEW in [r[0] for r in book.active.iter_rows(values_only=True)]
    # each step audited
    with unit_of_work(engine, write=False) as s:
        actions = [
            a.action for a in s.query(AuditLog).filter(AuditLog.entity_id == appl_no).order_by(AuditLog.seq)
        ]
    assert actions[:2] == ["apply", "update"] and "accept" in actions and "conclude" in actions


# --- refusals --------------------------------------------------------------------------------------------------


def test_applying_before_three_months_of_operation_is_refused_naming_the_day(api):
    opened = TODAY - timedelta(days=45)
    app = apply(api, opened_on=opened.isoformat())
    refusal = ok(api.post(f"{API}/applications/{app['appl_no']}/accept"))
    assert refusal["status"] == "refused" and refusal["status_name"] == "不予受理"
    assert len(refusal["problems"]) == 1
    assert refusal["problems"][0].startswith(f"opened_on: 自 {opened} 起正式运营 1 个月，须满 3 个月")
    # nothing further may happen to it
    assert refused(
        api.post(f"{API}/applications/{app['appl_no']}/panel", json={"scorers": panel()})
    ).startswith("status: 状态为 不予受理 时不能 组织评估")


def test_a_scorer_with_a_conflict_of_interest_is_refused(api):
    appl_no = apply(api)["appl_no"]
    ok(api.post(f"{API}/applications/{appl_no}/accept"))
    detail = refused(
        api.post(
            f"{API}/applications/{appl_no}/panel", json={"scorers": panel(affiliation=hospital_org()["uscc"])}
        )
    )
    assert detail.startswith("scorer: 代表甲 任职于被评估机构")
    declared = panel()
    declared[0]["declared_conflict"] = True
    assert "须回避" in refused(api.post(f"{API}/applications/{appl_no}/panel", json={"scorers": declared}))
    assert ok(api.get(f"{API}/applications/{appl_no}"))["status"] == "accepted"  # nothing written


def test_signing_below_the_pass_mark_is_refused(api):
    appl_no = evaluated(api, share="0.5")
    failed = ok(api.get(f"{API}/applications/{appl_no}"))
    assert (failed["status"], failed["evaluation"]["result"], failed["evaluation"]["passed"]) == (
        "failed",
        "50.00",
        False,
    )
    detail = refused(api.post(f"{API}/applications/{appl_no}/sign", json={"fixmedins_code": NEW}))
    assert detail.startswith("status: 状态为 评估未通过 时不能 签约")
    assert refused(api.get(f"{API}/institutions/{NEW}"), 404) == f"fixmedins_code: 定点医药机构不存在 {NEW}"


def test_a_public_hospital_may_not_ask_to_suspend(api):
    c = api
    body = {"kind": "suspend", "fixmedins_code": world.HOSP3,
            "details": {"suspend_begndate": (TODAY + timedelta(days=10)).isoformat(),
                        "suspend_enddate": (TODAY + timedelta(days=40)).isoformat(), "reason": "装修"}}  # fmt: skip
    appl_no = ok(c.post(f"{API}/applications", json=body), 201)["appl_no"]
    refusal = ok(c.post(f"{API}/applications/{appl_no}/accept"))
    assert refusal["status"] == "refused"
    assert refusal["problems"] == [
        "public: 公立医疗机构不得主动申请中止医保协议 (a public institution may not ask to leave)"
    ]
    # nor may staff record it as the institution's application
    detail = refused(c.post(f"{API}/institutions/{world.HOSP3}/suspend",
                            json={"begndate": "2025-06-01", "enddate": "2025-06-30", "by": "application", "reason": "装修"},
                            headers=as_user(c, "jh")))  # fmt: skip
    assert detail == "public: 公立医疗机构不得主动申请中止医保协议"


def test_unknown_application_and_agreement_are_404(api):
    assert (
        refused(api.get(f"{API}/applications/SQ99010020990101X"), 404)
        == "appl_no: 申请不存在 SQ99010020990101X"
    )
    assert refused(api.post(f"{API}/applications/NOPE/accept"), 404) == "appl_no: 申请不存在 NOPE"
    assert refused(api.get(f"{API}/agreements/XY-NOPE/document"), 404) == "agreement_no: 协议不存在 XY-NOPE"


def test_roles_without_the_permission_are_refused(api):
    c = api
    assert (
        refused(c.get(f"{API}/applications", headers=as_user(c, "sh")), 403) == "无权限: 需要 providers.read"
    )
    director = as_user(c, "jz")
    assert ok(c.get(f"{API}/applications", headers=director))["total"] == 0  # 局长 reads
    body = {"kind": "apply", "admdvs": "990100", "org": hospital_org(), "services": ["S01"]}
    assert (
        refused(c.post(f"{API}/applications", json=body, headers=director), 403)
        == "无权限: 需要 providers.write"
    )
    # a sanction is 稽核's, not 经办's
    suspend = {"begndate": "2025-06-01", "months": 1, "reason": "串换药品"}
    assert (
        refused(c.post(f"{API}/institutions/{world.HOSP2}/suspend", json=suspend), 403)
        == "无权限: 需要 supervision.write"
    )
    assert c.get(f"{API}/applications", headers={"Authorization": ""}).status_code == 401


def test_values_too_long_or_malformed_are_422_naming_the_field(api):
    c = api
    too_long = {
        "kind": "apply",
        "admdvs": "990100",
        "org": hospital_org() | {"name": "院" * 101},
        "services": ["S01"],
    }
    detail = refused(c.post(f"{API}/applications", json=too_long))
    assert detail[0]["loc"] == ["body", "org", "name"]
    bad_date = {
        "kind": "apply",
        "admdvs": "990100",
        "org": hospital_org() | {"opened_on": "2024-02-30"},
        "services": ["S01"],
    }
    assert refused(c.post(f"{API}/applications", json=bad_date))[0]["loc"] == ["body", "org", "opened_on"]
    unknown = {
        "kind": "apply",
        "admdvs": "990100",
        "org": hospital_org() | {"colour": "red"},
        "services": ["S01"],
    }
    assert refused(c.post(f"{API}/applications", json=unknown))[0]["loc"] == ["body", "org", "colour"]
    assert refused(c.post(f"{API}/applications", json={"kind": "move"}))[0]["loc"] == ["body", "kind"]
    assert refused(c.get("/public/providers?on=9999-12-31"))[0]["loc"] == ["query", "on"]
    # a score the scale does not allow: the indicator named
    appl_no = apply(c)["appl_no"]
    ok(c.post(f"{API}/applications/{appl_no}/accept"))
    ok(c.post(f"{API}/applications/{appl_no}/panel", json={"scorers": panel()}))
    over = scores("0.8") | {"A01": "99"}
    detail = refused(c.post(f"{API}/applications/{appl_no}/sheets", json={"scorer_id": "E1", "scores": over}))
    assert detail.startswith("scores.A01: 评分 99 超过该项满分 4")


# --- settlement follows the agreement ------------------------------------------------------------------------


def test_settlement_refused_for_an_ungranted_med_type_and_during_a_suspension_then_accepted(api, engine):
    c = api
    signed(c, granted=("S01", "S04"), engine=engine)  # 住院 and 门诊统筹; not 门诊特殊疾病 (14)
    his = world.His(c, NEW)
    mdtrt = his.ok(
        "2201", {"data": {"psn_no": world.POOR, "insutype": "390", "begntime": f"{VISIT} 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.ok(
        "2203",
        {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": world.POOR, "med_type": "14", "dise_codg": "M03900"}},
    )
    his.ok("2204", {"feedetail": [world.line("1", "A1", "300.00", mdtrt_id=mdtrt)]})
    settle = {"data": {"psn_no": world.POOR, "mdtrt_id": mdtrt, "medfee_sumamt": "300.00", "insutype": "390"}}
    reply = his.call("2207", settle)
    assert (reply["infcode"], reply["err_msg"]) == (
        -1,
        f"med_type: 定点医药机构 {NEW} 未开通 门诊慢特病 服务 (med_type 14)",
    )
    said = ok(c.get(f"{API}/institutions/{NEW}/status", params={"on": VISIT.isoformat(), "med_type": "14"}))
    assert said["may_settle"] is False and said["refusal"] == reply["err_msg"]
    assert ok(c.get(f"{API}/institutions/{NEW}/status", params={"on": VISIT.isoformat(), "med_type": "11"}))[
        "may_settle"
    ]

    # 稽核 suspends it for June (a sanction of one month)
    inspector = as_user(c, "jh")
    body = {
        "begndate": JUNE.isoformat(),
        "months": 1,
        "by": "sanction",
        "red_line": "R01",
        "reason": "串换药品",
    }
    inst = ok(c.post(f"{API}/institutions/{NEW}/suspend", json=body, headers=inspector))
    assert {
        "begndate": JUNE.isoformat(),
        "enddate": JUNE_END.isoformat(),
        "status": "suspended",
    }.items() <= next(d for d in inst["designation"] if d["status"] == "suspended").items()
    during = JUNE + timedelta(days=9)
    visit = {"data": {"psn_no": world.POOR, "insutype": "390", "begntime": f"{during} 09:00:00"}}
    his.fails(
        "2201",
        visit,
        f"fixmedins_code: 定点医药机构 {NEW} 在 {during} 医保协议中止 ({JUNE} 至 {JUNE_END}，原因 串换药品)",
    )
    said = ok(c.get(f"{API}/institutions/{NEW}/status", params={"on": during.isoformat()}))
    assert (said["status"], said["may_settle"]) == ("suspended", False) and "医保协议中止" in said["refusal"]
    assert NEW not in public_codes(c, during) and NEW in public_codes(c, JUNE_END + timedelta(days=1))

    ok(
        c.post(
            f"{API}/institutions/{NEW}/resume",
            json={"day": (JUNE + timedelta(days=4)).isoformat(), "reason": "整改到位"},
            headers=inspector,
        )
    )
    mdtrt = his.ok("2201", visit)["data"]["mdtrt_id"]
    his.ok("2204", {"feedetail": [world.line("1", "A1", "100.00", mdtrt_id=mdtrt)]})
    again = his.call(
        "2207",
        {"data": {"psn_no": world.POOR, "mdtrt_id": mdtrt, "medfee_sumamt": "100.00", "insutype": "390"}},
    )
    assert again["infcode"] == 0, again["err_msg"]
    assert (
        ok(c.get(f"{API}/institutions/{NEW}/status", params={"on": during.isoformat()}))["may_settle"] is True
    )
    assert NEW in public_codes(c, during)


def test_termination_by_sanction_takes_the_institution_off_the_list(api):
    c = api
    inspector = as_user(c, "jh")
    assert world.HOSP2 in public_codes(c, date(2025, 8, 1))
    no_red_line = {"day": "2025-08-01", "by": "sanction", "reason": "虚构医疗服务"}
    assert refused(
        c.post(f"{API}/institutions/{world.HOSP2}/terminate", json=no_red_line, headers=inspector)
    ).startswith("red_line:")
    inst = ok(
        c.post(
            f"{API}/institutions/{world.HOSP2}/terminate",
            json=no_red_line | {"red_line": "R01"},
            headers=inspector,
        )
    )
    assert inst["events"][-1]["to"] == "terminated" and inst["events"][-1]["red_line"] == "R01"
    assert world.HOSP2 in public_codes(c, date(2025, 7, 31)) and world.HOSP2 not in public_codes(
        c, date(2025, 8, 1)
    )
    said = ok(c.get(f"{API}/institutions/{world.HOSP2}/status", params={"on": "2025-08-01"}))
    assert said["may_settle"] is False and "没有有效的医保服务协议" in said["refusal"]
    # 退出清算: nothing was settled in the world, so nothing is outstanding; an institution in force has none
    st = ok(c.get(f"{API}/institutions/{world.HOSP2}/exit-statement"))
    assert (st["exit_date"], st["ended_by"], st["owed_total"], st["settled"]) == (
        "2025-08-01",
        "sanction",
        "0.00",
        True,
    )
    assert refused(c.get(f"{API}/institutions/{world.HOSP3}/exit-statement")).endswith(
        "协议在执行中，没有退出日期"
    )
    assert c.get(f"{API}/institutions/H99019999999/exit-statement").status_code == 404


# --- the other steps ---------------------------------------------------------------------------------------


def test_supplementing_stops_the_clock_and_withdrawal_closes(api):
    c = api
    appl_no = apply(c)["appl_no"]
    ok(c.post(f"{API}/applications/{appl_no}/accept"))
    asked = ok(
        c.post(
            f"{API}/applications/{appl_no}/supplement-request",
            json={"asked": ["床位及设备清单：请补充设备清单"]},
        )
    )
    assert (asked["status"], asked["deadline"], asked["problems"]) == (
        "supplementing",
        None,
        ["床位及设备清单：请补充设备清单"],
    )
    assert asked["pauses"] == [{"begndate": TODAY.isoformat(), "enddate": None}]
    back = ok(c.post(f"{API}/applications/{appl_no}/supplement", json={"org": {"beds": 150}}))
    assert back["status"] == "accepted" and back["org"]["beds"] == 150 and back["deadline"] is not None
    listed = ok(c.get(f"{API}/applications", params={"status": "accepted", "institution": "康复"}))
    assert [x["appl_no"] for x in listed["items"]] == [appl_no] and listed["total"] == 1
    assert ok(c.get(f"{API}/applications", params={"kind": "renew"}))["total"] == 0
    assert ok(c.post(f"{API}/applications/{appl_no}/withdraw"))["status"] == "withdrawn"
    assert refused(c.post(f"{API}/applications/{appl_no}/accept")).startswith(
        "status: 状态为 已撤回 时不能 受理"
    )


def test_changes_of_basic_information(api, engine):
    c = api
    quick = ok(c.post(f"{API}/applications", json={"kind": "change", "fixmedins_code": world.HOSP2,
                                                    "details": {"changes": {"phone": "028-1234567"}}}), 201)  # fmt: skip
    assert quick["status"] == "signed"  # a phone number takes effect at once
    reviewed = ok(c.post(f"{API}/applications", json={"kind": "change", "fixmedins_code": world.HOSP2,
                                                       "details": {"changes": {"address": "示例市东城区新路8号"}}}), 201)  # fmt: skip
    assert reviewed["status"] == "submitted"  # an address is reviewed again
    appl_no = reviewed["appl_no"]
    ok(c.post(f"{API}/applications/{appl_no}/accept"))
    assert ok(c.post(f"{API}/applications/{appl_no}/approve", json={}))["status"] == "signed"
    assert ok(c.get(f"{API}/institutions/{world.HOSP2}"))["address"] == "示例市东城区新路8号"
    unknown = {"kind": "change", "fixmedins_code": world.HOSP2, "details": {"changes": {"admdvs": "990200"}}}
    assert refused(c.post(f"{API}/applications", json=unknown))[0]["loc"] == [
        "body",
        "details",
        "changes",
        "admdvs",
    ]


def test_practitioners_measures_and_renewal(api):
    c = api
    agreement = signed(c)
    reg = ok(c.post(f"{API}/institutions/{NEW}/practitioners",
                    json={"prac_code": "D990102000001", "prac_name": "李医生", "qualification": "执业医师", "day": VISIT.isoformat()}), 201)  # fmt: skip
    assert reg["agreement_no"] == agreement["agreement_no"] and reg["status"] == "registered"
    assert [r["prac_code"] for r in ok(c.get(f"{API}/institutions/{NEW}/practitioners"))] == ["D990102000001"]
    again = {"prac_code": "D990102000001", "prac_name": "李医生", "day": VISIT.isoformat()}
    assert refused(c.post(f"{API}/institutions/{NEW}/practitioners", json=again)).startswith(
        "prac_code: D990102000001 已在协议"
    )

    inspector = as_user(c, "jh")
    talk = ok(c.post(f"{API}/institutions/{NEW}/measures", json={"code": "M1", "reason": "超量开药", "day": VISIT.isoformat()},
                     headers=inspector), 201)  # fmt: skip
    assert (talk["name"], talk["status"]) == ("约谈", "done")
    no_deadline = {"code": "M2", "reason": "超量开药", "day": VISIT.isoformat()}
    assert (
        refused(c.post(f"{API}/institutions/{NEW}/measures", json=no_deadline, headers=inspector))
        == "deadline: 限期整改须写明整改期限"
    )
    assert len(ok(c.get(f"{API}/institutions/{NEW}/measures"))) == 1
    fix = ok(c.post(f"{API}/institutions/{NEW}/measures", json=no_deadline | {"deadline": JUNE.isoformat()},
                    headers=inspector), 201)  # fmt: skip
    assert fix["status"] == "open"
    close = {"note": "复查病历 30 份，已规范", "day": JUNE.isoformat()}
    assert (
        c.post(f"{API}/measures/{fix['id']}/close", json=close).status_code == 403
    )  # (a handler: no sanctions)
    assert ok(c.post(f"{API}/measures/{fix['id']}/close", json=close, headers=inspector))["status"] == "done"
    assert refused(c.post(f"{API}/measures/{fix['id']}/close", json=close, headers=inspector)).endswith(
        "已办结"
    )
    ended = ok(
        c.post(f"{API}/registrations/{reg['id']}/end", json={"reason": "调离", "day": JUNE.isoformat()})
    )
    assert (ended["status"], ended["ended_on"]) == ("ended", JUNE.isoformat())
    assert c.post(f"{API}/registrations/0/end", json={"reason": "调离"}).status_code == 422
    assert c.post(f"{API}/registrations/999999/end", json={"reason": "调离"}).status_code == 404

    renewed = ok(c.post(f"{API}/institutions/{NEW}/renew", json={}), 201)
    assert (renewed["begndate"], renewed["enddate"]) == (
        add_months(BEGIN, 12).isoformat(),
        (add_months(BEGIN, 24) - timedelta(days=1)).isoformat(),
    )
    assert [s["code"] for s in renewed["services"]] == ["S01", "S04"] and renewed["document_sha256"]


def test_annual_assessment_run_sheets_and_figures(api):
    c = api
    run = ok(c.post(f"{API}/assessments/2025", json={"admdvs": "990100"}), 201)
    assert run["year"] == 2025 and run["institutions"] == sum(run["distribution"].values()) >= 4
    sheets = ok(c.get(f"{API}/assessments/2025/sheets", params={"admdvs": "990100"}))
    hosp2 = next(x for x in sheets["items"] if x["fixmedins_code"] == world.HOSP2)
    assert hosp2["fixmedins_name"] == "示例市第二人民医院" and hosp2["grade_name"] and hosp2["consequence"]
    inspector = as_user(c, "jh")  # on-site inspection scores are entered by 稽核 too
    after = ok(
        c.put(
            f"{API}/assessments/2025/sheets/{world.HOSP2}", json={"figures": {"K07": "92"}}, headers=inspector
        )
    )
    assert after["manual"] == {"K07": "92"} and after["values"]["K07"] == "92"
    assert refused(
        c.put(f"{API}/assessments/2025/sheets/{world.HOSP2}", json={"figures": {"K99": "1"}})
    ).startswith("K99: 未知的考核指标")
    assert refused(c.get(f"{API}/assessments/2024/sheets", params={"admdvs": "990100"}), 404).startswith(
        "year:"
    )
    assert refused(
        c.put(f"{API}/assessments/2025/sheets/{world.HOSP2}", json={"figures": {}}, headers=as_user(c, "jz")),
        403,
    )


def test_the_status_and_documents_of_an_unknown_institution(api):
    assert refused(api.get(f"{API}/institutions/H00000000000/status"), 404).startswith("fixmedins_code:")
    assert ok(api.get("/public/providers", params={"on": "2019-12-31"}))["total"] == 0
