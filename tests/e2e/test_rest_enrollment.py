"""REST resources of enrollment, contributions and personal accounts, on both databases: employers
(统一社会信用代码 checked), wage declarations and what each employer owes, persons (ID numbers checked),
enrollments and their lifecycle, transfers with balances, 共济, statements, and the two reports with
exact numbers. Every refusal is a 422/404 naming the field; nothing is half-written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.rest import bearer, ok, refused
from yibao.api.app import create_app
from yibao.ingest.region import save_districts
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, Contribution, Employer, Enrollment, Person
from yibao.synth.population import uscc
from yibao.validation import id_check_char
from yibao.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[2]

WORKERS = "990102"  # 示例市东城区, population 612000
WEST = "990103"  # 示例市西城区, population 558340


def certno(district: str, born: str, serial: str) -> str:
    body = f"{district}{born}{serial}"
    return body + id_check_char(body)


ZHANG = certno(WORKERS, "19640101", "001")  # a man (of an age to retire in 2025)
LI = certno(WORKERS, "19850505", "002")  # a woman
WANG = certno(WEST, "19900101", "003")
ZHAO = certno(WEST, "19700707", "005")
SUN = certno(WORKERS, "19750303", "007")


@pytest.fixture
def api(engine):
    with unit_of_work(engine) as s:
        # the region and its districts' census, as `yibao region load` writes them (参保率 denominators)
        save_districts(s, "990100", load_yaml(REPO / "regions" / "990100" / "region.yaml"))
        create_user(s, "jb", "王经办", ["handler"], "pass-word-1", actor="test")
        create_user(s, "sh", "李审核", ["reviewer"], "pass-word-2", actor="test")
    with TestClient(create_app(console=False)) as c:
        c.headers.update(bearer(c, "jb", "pass-word-1"))
        yield c


def employer(c, serial: int, name: str, district: str = WORKERS) -> dict:
    return ok(
        c.post("/api/employers", json={"uscc": uscc(district, serial), "emp_name": name, "admdvs": district}),
        201,
    )


def person(c, cert: str, name: str, district: str = WORKERS) -> dict:
    return ok(c.post("/api/persons", json={"certno": cert, "psn_name": name, "admdvs": district}), 201)


def enroll(c, status: int = 201, **body) -> dict:
    body = {"begndate": "2025-01-01", "insuplc_admdvs": "990100", "registered": "2024-12-01", **body}
    return ok(c.post("/api/enrollments", json=body), status)


@pytest.fixture
def firm(api):
    """Two employers; 张三 and 李四 employed by the first, 王五 by the second; 赵六 a resident."""
    c = api
    a, b = employer(c, 101, "示例市科技有限公司"), employer(c, 202, "示例市商贸有限公司", WEST)
    p = {
        k: person(c, cert, k, d)
        for k, cert, d in (
            ("张三", ZHANG, WORKERS),
            ("李四", LI, WORKERS),
            ("王五", WANG, WEST),
            ("赵六", ZHAO, WEST),
        )
    }
    e = {
        "张三": enroll(c, psn_no=p["张三"]["psn_no"], insutype="310", psn_type="11", emp_no=a["emp_no"]),
        "李四": enroll(c, psn_no=p["李四"]["psn_no"], insutype="310", psn_type="11", emp_no=a["emp_no"]),
        "王五": enroll(c, psn_no=p["王五"]["psn_no"], insutype="310", psn_type="11", emp_no=b["emp_no"]),
        "赵六": enroll(c, psn_no=p["赵六"]["psn_no"], insutype="390", psn_type="15"),
    }
    return c, a, b, p, e


def test_token_and_permissions(api):
    anon = TestClient(api.app)
    assert anon.get("/api/employers").status_code == 401
    assert anon.post("/api/persons", json={}).status_code == 401
    reviewer = bearer(anon, "sh", "pass-word-2")
    assert anon.get("/api/employers", headers=reviewer).status_code == 200  # enrollment.read
    r = anon.post(
        "/api/employers",
        headers=reviewer,
        json={"uscc": uscc(WORKERS, 1), "emp_name": "x", "admdvs": WORKERS},
    )
    assert r.status_code == 403 and "enrollment.write" in r.json()["detail"]
    assert anon.get("/api/contributions", headers=reviewer).status_code == 403  # no contribution.read


def test_register_employers_and_refuse_a_bad_credit_code(api, engine):
    c = api
    code = uscc(WORKERS, 101)
    emp = employer(c, 101, "示例市科技有限公司")
    assert emp["uscc"] == code and emp["admdvs"] == WORKERS and emp["emp_no"].startswith("E")
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert refused(c.post("/api/employers", json={"uscc": bad, "emp_name": "某公司", "admdvs": WORKERS})) == (
        f"uscc: 统一社会信用代码无效：校验位错误（末位应为 {code[-1]}）"
    )
    msg = refused(c.post("/api/employers", json={"uscc": "91-990102", "emp_name": "x", "admdvs": WORKERS}))
    assert msg.startswith("uscc: 统一社会信用代码无效：长度应为18位")
    assert refused(
        c.post("/api/employers", json={"uscc": code, "emp_name": "重名", "admdvs": WORKERS})
    ).startswith("uscc: 统一社会信用代码")  # already registered
    assert refused(
        c.post("/api/employers", json={"uscc": uscc(WORKERS, 9), "emp_name": "x", "admdvs": "99"})
    ).startswith("admdvs: ")
    assert str(refused(c.post("/api/employers", json={"uscc": uscc(WORKERS, 9), "emp_name": "x"}))).count(
        "admdvs"
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Employer)) == 1  # nothing saved from a refusal
        audit = s.scalars(select(AuditLog).where(AuditLog.entity == "employer")).all()
    assert [(a.action, a.entity_id, a.actor) for a in audit] == [("register", emp["emp_no"], "jb")]
    listed = ok(c.get("/api/employers", params={"q": "科技"}))
    assert listed["total"] == 1 and listed["items"][0]["emp_no"] == emp["emp_no"]
    assert listed["items"][0]["due"] == "0.00" and listed["items"][0]["employees"] == 0
    assert ok(c.get("/api/employers", params={"admdvs": WEST}))["total"] == 0
    assert refused(c.get("/api/employers/E000"), 404) == "emp_no: 单位不存在 E000"


def test_register_persons_and_refuse_a_bad_id_number(api, engine):
    c = api
    p = person(c, ZHANG, "张三")
    assert p["psn_name"] == "张三" and p["gend"] == "1" and p["brdy"] == "1964-01-01"
    assert p["certno"] == ZHANG[:4] + "*" * 10 + ZHANG[-4:]  # never the whole ID number
    assert p["enrollments"] == [] and p["account_balance"] is None
    bad = ZHANG[:-1] + ("1" if ZHANG[-1] != "1" else "2")
    assert refused(c.post("/api/persons", json={"certno": bad, "psn_name": "某人", "admdvs": WORKERS})) == (
        f"certno: 居民身份证号码无效：校验位错误（末位应为 {ZHANG[-1]}）"
    )
    assert refused(
        c.post("/api/persons", json={"certno": "99010219801301001X", "psn_name": "某人", "admdvs": WORKERS})
    ).startswith("certno: 居民身份证号码无效：出生日期无效")
    again = refused(c.post("/api/persons", json={"certno": ZHANG, "psn_name": "张三", "admdvs": WORKERS}))
    assert again == f"certno: 该居民身份证号码已登记（人员编号 {p['psn_no']}）"
    assert (
        refused(
            c.post(
                "/api/persons",
                json={"certno": LI, "psn_name": "李四", "admdvs": WORKERS, "psn_no": p["psn_no"]},
            )
        )
        == f"psn_no: 人员编号已存在 {p['psn_no']}"
    )
    assert refused(
        c.post("/api/persons", json={"certno": LI, "psn_name": " ", "admdvs": WORKERS})
    ).startswith("psn_name:")
    assert ok(c.get(f"/api/persons/{p['psn_no']}"))["psn_no"] == p["psn_no"]
    assert refused(c.get("/api/persons/NOPE"), 404) == "psn_no: 人员不存在 NOPE"
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1


def test_enrollments_of_each_scheme_and_one_basic_insurance_at_a_time(firm):
    c, a, _, p, e = firm
    zhang = e["张三"]
    assert zhang["insutype"] == "310" and zhang["psn_insu_stas"] == "1" and zhang["emp_no"] == a["emp_no"]
    assert zhang["emp_name"] == "示例市科技有限公司" and zhang["wait_until"] is None
    assert ok(c.get(f"/api/persons/{p['张三']['psn_no']}/account")) == {
        "psn_no": p["张三"]["psn_no"],
        "balance": "0.00",
        "statement": [],
    }
    # 灵活就业: a base within [60 %, 300 %] of 7,500.00; no employer, no account
    sun = person(c, SUN, "孙七")
    low = enroll(c, 422, psn_no=sun["psn_no"], insutype="310", psn_type="11", flexible_base="4499.99")
    assert low["detail"].startswith("flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间")
    assert enroll(c, 422, psn_no=sun["psn_no"], insutype="310", psn_type="11", flexible_base="5000.001")[
        "detail"
    ].startswith("flexible_base: ")
    flex = enroll(c, psn_no=sun["psn_no"], insutype="310", psn_type="11", flexible_base="4500.00")
    assert flex["flxempe_flag"] == "1" and flex["flexible_base"] == "4500.00" and flex["emp_no"] is None
    assert refused(c.get(f"/api/persons/{sun['psn_no']}/account"), 404).startswith("psn_no: ")
    # a second basic insurance overlapping the first is refused, naming the existing enrollment
    clash = enroll(c, 422, psn_no=p["赵六"]["psn_no"], insutype="310", psn_type="11", emp_no=a["emp_no"])
    assert clash["detail"].startswith(
        f"insutype: 与现有参保登记重叠（登记号 {e['赵六']['id']}：城乡居民基本医疗保险"
    )
    # 居民 outside the enrollment window wait three months
    li_ming = person(c, certno(WEST, "20000202", "009"), "李明", WEST)
    late = enroll(
        c,
        psn_no=li_ming["psn_no"],
        insutype="390",
        psn_type="15",
        begndate="2025-03-01",
        registered="2025-03-01",
    )
    assert late["wait_until"] == "2025-06-01" and late["warnings"]
    for body, field in (
        ({"psn_no": "NOPE", "insutype": "390", "psn_type": "15"}, "psn_no"),
        ({"psn_no": li_ming["psn_no"], "insutype": "320", "psn_type": "15"}, "insutype"),
        ({"psn_no": li_ming["psn_no"], "insutype": "390", "psn_type": "11"}, "psn_type"),
        (
            {"psn_no": li_ming["psn_no"], "insutype": "390", "psn_type": "15", "insuplc_admdvs": "99"},
            "insuplc_admdvs",
        ),
    ):
        r = c.post("/api/enrollments", json={"begndate": "2026-01-01", **body})
        assert r.status_code in (404, 422) and r.json()["detail"].startswith(f"{field}: "), r.text
    listed = ok(c.get("/api/enrollments", params={"emp_no": a["emp_no"]}))
    assert listed["total"] == 2 and {i["psn_no"] for i in listed["items"]} == {
        p["张三"]["psn_no"],
        p["李四"]["psn_no"],
    }
    assert ok(c.get(f"/api/enrollments/{zhang['id']}"))["id"] == zhang["id"]
    assert refused(c.get("/api/enrollments/999999"), 404).startswith("enrollment: ")


def test_lifecycle_transitions_and_the_refused_ones(firm, engine):
    c, _, _, p, e = firm
    zid, rid = e["张三"]["id"], e["赵六"]["id"]
    assert refused(c.post(f"/api/enrollments/{zid}/resume", json={"date": "2025-02-01"})).startswith(
        "psn_insu_stas: 参保状态为正常，不能恢复"
    )
    s = ok(c.post(f"/api/enrollments/{zid}/suspend", json={"date": "2025-02-01", "reason": "停薪留职"}))
    assert s["psn_insu_stas"] == "2" and s["paus_insu_date"] == "2025-02-01"
    assert refused(c.post(f"/api/enrollments/{zid}/suspend", json={"date": "2025-02-02"})).startswith(
        "psn_insu_stas: 参保状态为暂停，不能暂停"
    )
    assert refused(
        c.post(f"/api/enrollments/{zid}/category", json={"psn_type": "12", "date": "2025-02-03"})
    ).startswith("psn_insu_stas: ")
    r = ok(c.post(f"/api/enrollments/{zid}/resume", json={"date": "2025-02-01"}))
    assert r["psn_insu_stas"] == "1" and r["paus_insu_date"] is None
    # 在职 → 退休: the employer ends; a man with no contribution months is flagged
    ret = ok(c.post(f"/api/enrollments/{zid}/category", json={"psn_type": "12", "date": "2025-03-01"}))
    assert (
        ret["psn_type"] == "12"
        and ret["emp_no"] is None
        and any("缴费年限不足" in w for w in ret["warnings"])
    )
    assert refused(
        c.post(f"/api/enrollments/{zid}/category", json={"psn_type": "15", "date": "2025-03-01"})
    ).startswith("psn_type: 人员类别「15 城乡居民（成年）」不属于职工基本医疗保险")
    # terminate: a date before the start, or an unknown reason, is refused; death ends the person too
    assert refused(
        c.post(f"/api/enrollments/{rid}/terminate", json={"date": "2024-12-31", "reason": "death"})
    ).startswith("date: 终止日期不能早于参保日期（2025-01-01）")
    assert refused(
        c.post(f"/api/enrollments/{rid}/terminate", json={"date": "2025-05-01", "reason": "bored"})
    ).startswith("reason: ")
    t = ok(c.post(f"/api/enrollments/{rid}/terminate", json={"date": "2025-05-01", "reason": "death"}))
    assert t["psn_insu_stas"] == "4" and t["enddate"] == "2025-05-01" and t["end_reason"] == "death"
    assert ok(c.get(f"/api/persons/{p['赵六']['psn_no']}"))["death_date"] == "2025-05-01"
    assert refused(c.post(f"/api/enrollments/{rid}/resume", json={"date": "2025-06-01"})).startswith(
        "psn_insu_stas: 参保状态为终止，不能恢复"
    )
    assert refused(c.post("/api/enrollments/999999/suspend", json={"date": "2025-06-01"}), 404).startswith(
        "enrollment: 参保登记不存在 999999"
    )
    assert c.post(f"/api/enrollments/{rid}/suspend", json={"date": "not a date"}).status_code == 422
    with unit_of_work(engine, write=False) as s:
        actions = s.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity == "enrollment", AuditLog.entity_id == str(zid))
            .order_by(AuditLog.seq)
        ).all()
        assert actions == ["enroll", "suspend", "resume", "change_category"]
        stas = s.scalar(select(Enrollment.psn_insu_stas).where(Enrollment.id == rid))
    assert stas == "4"


def test_wage_declaration_contributions_and_arrears(firm, engine):
    c, a, b, p, _ = firm
    zhang, li, wang = p["张三"]["psn_no"], p["李四"]["psn_no"], p["王五"]["psn_no"]
    unknown = c.post(
        "/api/employers/E404/wages",
        json={"month": "2025-03", "wages": [{"psn_no": zhang, "wage": "8000.00"}]},
    )
    assert refused(unknown, 404) == "emp_no: 单位不存在 E404"
    wages = [
        {"psn_no": zhang, "wage": "8000.00"},  # within the bounds: base = wage
        {"psn_no": li, "wage": "3000.00"},  # below 60 % of 7,500.00: base 4,500.00
        {"psn_no": wang, "wage": "9000.00"},  # not an employee of this employer
    ]
    d = ok(c.post(f"/api/employers/{a['emp_no']}/wages", json={"month": "2025-03", "wages": wages}))
    assert d["accepted"] == 2 and len(d["refused"]) == 1 and wang in d["refused"][0]
    rows = {r["psn_no"]: r for r in d["contributions"]}
    assert (rows[zhang]["base"], rows[zhang]["employer_amt"], rows[zhang]["employee_amt"]) == (
        "8000.00",
        "640.00",
        "160.00",
    )
    assert (rows[li]["wage"], rows[li]["base"], rows[li]["due_amt"]) == ("3000.00", "4500.00", "450.00")
    assert d["totals"] == {"due": "1250.00", "paid": "0.00", "unpaid": "1250.00", "arrears": "1250.00"}
    for body, start in (
        ({"month": "2025-13", "wages": wages[:1]}, "month: "),
        ({"month": "2025", "wages": wages[:1]}, "month: "),
        ({"month": "2025-03", "wages": [{"psn_no": zhang, "wage": "8000.001"}]}, "wages[0].wage: "),
        ({"month": "2025-03", "wages": [{"psn_no": zhang, "wage": "-1.00"}]}, "wages[0].wage: "),
        ({"month": "2025-03", "wages": [wages[0], wages[0]]}, "wages[1].psn_no: 重复申报"),
        ({"month": "2025-03", "wages": [wages[2]]}, f"wages: psn_no {wang}"),
    ):
        assert refused(c.post(f"/api/employers/{a['emp_no']}/wages", json=body)).startswith(start), body
    r = c.post(
        f"/api/employers/{a['emp_no']}/wages",
        json={"month": "2025-03", "wages": [{"psn_no": zhang, "wage": 8000.5}]},
    )
    assert r.status_code == 422  # a JSON number is not an amount: amounts are strings, never floats
    # 30,000.00 is above 300 %: base 22,500.00 — 2025-04 for 张三 only
    ok(
        c.post(
            f"/api/employers/{a['emp_no']}/wages",
            json={"month": "2025-04", "wages": [{"psn_no": zhang, "wage": "30000.00"}]},
        )
    )
    # collect March for the employer: the employee shares reach the accounts
    got = ok(
        c.post(
            "/api/contributions/collect",
            json={"period": "2025-03", "emp_no": a["emp_no"], "paid_at": "2025-04-10T09:00:00"},
        )
    )
    assert got == {"period": "2025-03", "emp_no": a["emp_no"], "collected": "1250.00"}
    assert refused(c.post("/api/contributions/collect", json={"period": "2025-03", "emp_no": "E404"}), 404)
    detail = ok(c.get(f"/api/employers/{a['emp_no']}", params={"as_of": "2025-05-01"}))
    assert {x["psn_no"] for x in detail["employees"]} == {zhang, li}
    months = {m["period"]: m for m in detail["contributions"]["by_month"]}
    assert months["2025-03"] == {
        "period": "2025-03",
        "employees": 2,
        "due": "1250.00",
        "paid": "1250.00",
        "unpaid": "0.00",
        "arrears": "0.00",
    }
    assert months["2025-04"] == {
        "period": "2025-04",
        "employees": 1,
        "due": "2250.00",
        "paid": "0.00",
        "unpaid": "2250.00",
        "arrears": "0.00",
    }  # due by 2025-05-15: not yet late
    per = {x["psn_no"]: x for x in detail["contributions"]["by_employee"]}
    assert (
        per[zhang]["months"] == 2 and per[zhang]["due"] == "3050.00" and per[zhang]["last_base"] == "22500.00"
    )
    assert per[li]["paid"] == "450.00" and per[li]["arrears"] == "0.00"
    assert detail["contributions"]["total"] == {
        "due": "3500.00",
        "paid": "1250.00",
        "unpaid": "2250.00",
        "arrears": "0.00",
    }
    # the list and its filters
    march = ok(c.get("/api/contributions", params={"period": "2025-03", "emp_no": a["emp_no"]}))
    assert march["total"] == 2 and march["totals"]["paid"] == "1250.00"
    assert all(i["status"] == "paid" for i in march["items"])
    assert ok(c.get("/api/contributions", params={"status": "paid"}))["total"] == 2
    due = ok(c.get("/api/contributions", params={"status": "arrears", "as_of": "2025-05-16"}))
    assert (
        due["total"] == 1
        and due["items"][0]["period"] == "2025-04"
        and due["items"][0]["status"] == "arrears"
    )
    assert ok(c.get("/api/contributions", params={"status": "arrears", "as_of": "2025-05-15"}))["total"] == 0
    assert refused(c.get("/api/contributions", params={"status": "late"})).startswith("status: ")
    assert refused(c.get("/api/contributions", params={"period": "March"})).startswith("period: ")
    arrears = ok(c.get("/api/contributions/arrears", params={"as_of": "2025-06-01"}))
    assert arrears["arrears"] == "2250.00"
    assert arrears["items"] == [
        {
            "payer": "employer",
            "emp_no": a["emp_no"],
            "name": "示例市科技有限公司",
            "persons": 1,
            "periods": 1,
            "arrears": "2250.00",
            "oldest_due_date": "2025-05-15",
        }
    ]
    listed = {x["emp_no"]: x for x in ok(c.get("/api/employers", params={"as_of": "2025-06-01"}))["items"]}
    assert listed[a["emp_no"]]["employees"] == 2 and listed[a["emp_no"]]["arrears"] == "2250.00"
    assert listed[b["emp_no"]]["due"] == "0.00"
    second = ok(c.get("/api/employers", params={"size": 1, "page": 2}))
    assert second["total"] == 2 and [x["emp_no"] for x in second["items"]] == [max(a["emp_no"], b["emp_no"])]
    # the account statement: the March employee share, then the balance
    acct = ok(c.get(f"/api/persons/{zhang}/account"))
    assert acct["balance"] == "160.00"
    assert [(r["kind"], r["amount"], r["balance"]) for r in acct["statement"]] == [
        ("contribution", "160.00", "160.00")
    ]
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(Enrollment.contrib_months).where(Enrollment.psn_no == zhang)) == 1


def test_one_employers_declaration_leaves_another_employers_contributions(firm):
    c, a, b, p, _ = firm
    ok(
        c.post(
            f"/api/employers/{a['emp_no']}/wages",
            json={"month": "2025-03", "wages": [{"psn_no": p["张三"]["psn_no"], "wage": "8000.00"}]},
        )
    )
    ok(
        c.post(
            f"/api/employers/{b['emp_no']}/wages",
            json={"month": "2025-03", "wages": [{"psn_no": p["王五"]["psn_no"], "wage": "9000.00"}]},
        )
    )
    march = ok(c.get("/api/contributions", params={"period": "2025-03"}))
    assert {i["psn_no"] for i in march["items"]} == {p["张三"]["psn_no"], p["王五"]["psn_no"]}


def test_transfers_carry_months_and_balances(firm):
    c, a, _, p, e = firm
    zhang = p["张三"]["psn_no"]
    ok(
        c.post(
            f"/api/employers/{a['emp_no']}/wages",
            json={"month": "2025-03", "wages": [{"psn_no": zhang, "wage": "8000.00"}]},
        )
    )
    ok(c.post("/api/contributions/collect", json={"period": "2025-03", "paid_at": "2025-04-10T09:00:00"}))
    assert refused(
        c.post(
            f"/api/enrollments/{e['张三']['id']}/transfer-out", json={"date": "2025-06-30", "to_admdvs": "12"}
        )
    ).startswith("to_admdvs: ")
    out = ok(
        c.post(
            f"/api/enrollments/{e['张三']['id']}/transfer-out",
            json={"date": "2025-06-30", "to_admdvs": "330100"},
        )
    )
    assert out["enrollment"]["psn_insu_stas"] == "4" and out["enrollment"]["end_reason"] == "transfer_out"
    assert (out["certificate"]["contrib_months"], out["certificate"]["balance"]) == (1, "160.00")
    acct = ok(c.get(f"/api/persons/{zhang}/account"))
    assert acct["balance"] == "0.00" and [r["amount"] for r in acct["statement"]] == ["160.00", "-160.00"]
    assert refused(
        c.post(
            f"/api/enrollments/{e['张三']['id']}/transfer-out",
            json={"date": "2025-07-01", "to_admdvs": "330100"},
        )
    ).startswith("psn_insu_stas: ")
    # 转入: a newcomer brings 120 months and 1,234.56
    sun = person(c, SUN, "孙七")
    body = {
        "psn_no": sun["psn_no"],
        "psn_type": "11",
        "begndate": "2025-07-01",
        "from_admdvs": "330100",
        "contrib_months": 120,
        "balance": "1234.56",
        "emp_no": a["emp_no"],
    }
    assert refused(c.post("/api/enrollments/transfer-in", json={**body, "balance": "12.345"})).startswith(
        "balance: "
    )
    assert refused(c.post("/api/enrollments/transfer-in", json={**body, "from_admdvs": "x"})).startswith(
        "from_admdvs: "
    )
    t = ok(c.post("/api/enrollments/transfer-in", json=body), 201)
    assert t["contrib_months"] == 120 and t["account_balance"] == "1234.56" and t["begndate"] == "2025-07-01"
    acct = ok(c.get(f"/api/persons/{sun['psn_no']}/account"))
    assert acct["balance"] == "1234.56" and acct["statement"][-1]["balance"] == "1234.56"
    # the one who left may come back after the transfer: no overlap with an ended enrollment
    back = enroll(
        c,
        psn_no=zhang,
        insutype="310",
        psn_type="11",
        emp_no=a["emp_no"],
        begndate="2025-09-01",
        registered="2025-09-01",
    )
    assert back["psn_insu_stas"] == "1"


def test_family_mutual_aid_bindings(firm):
    c, _, _, p, _ = firm
    zhang, li, wang, zhao = (p[k]["psn_no"] for k in ("张三", "李四", "王五", "赵六"))
    assert ok(c.get(f"/api/persons/{zhang}/family")) == {"psn_no": zhang, "members": [], "uses": []}
    bind = {"member_psn_no": zhao, "relation": "spouse", "begndate": "2025-02-01"}
    assert refused(c.post(f"/api/persons/{zhang}/family", json={**bind, "relation": "cousin"})).startswith(
        "relation: "
    )
    assert refused(c.post(f"/api/persons/{zhang}/family", json={**bind, "member_psn_no": zhang})).startswith(
        "member_psn_no: "
    )
    assert refused(c.post("/api/persons/NOPE/family", json=bind), 404).startswith("psn_no: ")
    fam = ok(c.post(f"/api/persons/{zhang}/family", json=bind), 201)
    assert [
        (m["member_psn_no"], m["relation"], m["relation_name"], m["psn_name"]) for m in fam["members"]
    ] == [(zhao, "spouse", "配偶", "赵六")]
    assert refused(c.post(f"/api/persons/{li}/family", json={**bind, "relation": "child"})).startswith(
        "member_psn_no: "
    )  # one account at a time
    uses = ok(c.get(f"/api/persons/{zhao}/family"))
    assert uses["members"] == [] and uses["uses"][0]["owner_psn_no"] == zhang
    assert refused(c.get("/api/persons/NOPE/family"), 404)
    assert ok(c.get(f"/api/persons/{wang}/family"))["uses"] == []
    bid = fam["members"][0]["id"]
    assert refused(c.post(f"/api/persons/{wang}/family/{bid}/end", json={"date": "2025-03-01"}), 404)
    assert refused(c.post(f"/api/persons/{zhang}/family/{bid}/end", json={"date": "2025-01-01"})).startswith(
        "date: "
    )  # before the binding began
    ended = ok(c.post(f"/api/persons/{zhang}/family/{bid}/end", json={"date": "2025-03-01"}))
    assert ended["members"][0]["enddate"] == "2025-03-01"
    assert (
        ok(c.post(f"/api/persons/{li}/family", json={**bind, "begndate": "2025-04-01"}), 201)["members"][0][
            "member_psn_no"
        ]
        == zhao
    )  # free to bind to another account once unbound


def test_coverage_by_district_with_exact_rates(firm, engine):
    c, _, _, _, e = firm
    # insured on 2025-06-30: 东城 张三 李四 (2 of 612,000), 西城 王五 赵六 (2 of 558,340)
    cov = ok(c.get("/api/reports/coverage", params={"on": "2025-06-30"}))
    rows = {r["admdvs"]: r for r in cov["districts"]}
    assert cov["name"] == "示例市" and len(rows) == 7
    assert (rows[WORKERS]["insured"], rows[WORKERS]["population"]) == (2, 612000)
    assert (rows[WORKERS]["rate"], rows[WORKERS]["rate_percent"]) == ("0.000003", "0.0003")  # 3.27e-6
    assert (rows[WEST]["insured"], rows[WEST]["rate"]) == (2, "0.000004")  # 3.58e-6 → half up
    assert rows["990104"] == {
        "admdvs": "990104",
        "name": "示例市南湖区",
        "insured": 0,
        "population": 486215,
        "rate": "0.000000",
        "rate_percent": "0.0000",
    }
    total = 612000 + 558340 + 486215 + 415870 + 448690 + 356120 + 322765
    assert (cov["insured"], cov["population"], cov["elsewhere"]) == (4, total, 0)
    assert cov["rate"] == "0.000001"  # 4 / 3,200,000
    # before the enrollments began nobody was insured; a terminated enrollment no longer counts
    assert ok(c.get("/api/reports/coverage", params={"on": "2024-12-31"}))["insured"] == 0
    ok(
        c.post(
            f"/api/enrollments/{e['赵六']['id']}/terminate",
            json={"date": "2025-05-01", "reason": "emigration"},
        )
    )
    after = {
        r["admdvs"]: r["insured"]
        for r in ok(c.get("/api/reports/coverage", params={"on": "2025-06-30"}))["districts"]
    }
    assert after[WEST] == 1
    # a person of no listed district is counted apart
    out = person(c, certno("990199", "19950101", "011"), "外区", "990199")
    enroll(c, psn_no=out["psn_no"], insutype="390", psn_type="15")
    assert ok(c.get("/api/reports/coverage", params={"on": "2025-06-30"}))["elsewhere"] == 1
    assert refused(c.get("/api/reports/coverage", params={"admdvs": "123456"}), 404).startswith("admdvs: ")


def test_duplicate_enrollment_report(firm, engine):
    c, _, _, p, e = firm
    assert ok(c.get("/api/reports/duplicate-enrollments")) == {"overlaps": [], "same_certno": [], "total": 0}
    li, zhao = p["李四"]["psn_no"], p["赵六"]["psn_no"]
    with unit_of_work(engine) as s:  # legacy data the services would refuse
        s.add(
            Enrollment(
                psn_no=li,
                insutype="390",
                psn_type="15",
                psn_insu_stas="1",
                begndate=date(2025, 6, 1),
                enddate=date(2025, 8, 31),
                insuplc_admdvs="990100",
            )
        )
        s.add(
            Enrollment(
                psn_no=zhao,
                insutype="390",
                psn_type="15",
                psn_insu_stas="3",  # 无效: void
                begndate=date(2025, 6, 1),
                insuplc_admdvs="990100",
            )
        )
        s.add(
            Person(
                psn_no="LEGACY1",
                psn_cert_type="02",
                certno=ZHANG,
                psn_name="张三",
                gend="1",
                brdy=date(1964, 1, 1),
                admdvs=WORKERS,
            )
        )
    d = ok(c.get("/api/reports/duplicate-enrollments"))
    assert d["total"] == 2
    (o,) = d["overlaps"]
    assert o["psn_no"] == li and o["certno"] == LI[:4] + "*" * 10 + LI[-4:]
    assert o["enrollments"][0]["id"] == e["李四"]["id"]
    assert (o["overlap_from"], o["overlap_to"]) == ("2025-06-01", "2025-08-31")
    (same,) = d["same_certno"]
    assert same["certno"] == ZHANG[:4] + "*" * 10 + ZHANG[-4:]
    assert [x["psn_no"] for x in same["persons"]] == sorted([p["张三"]["psn_no"], "LEGACY1"])


def test_no_refusal_leaves_a_trace(firm, engine):
    """A refused write changes nothing: counts before and after a batch of bad requests are equal."""
    c, a, _, p, e = firm

    def counts():
        with unit_of_work(engine, write=False) as s:
            return tuple(
                s.scalar(select(func.count()).select_from(t))
                for t in (Employer, Person, Enrollment, Contribution, AuditLog)
            )

    before = counts()
    for method, url, body in (
        ("post", "/api/employers", {"uscc": "1" * 18, "emp_name": "x", "admdvs": WORKERS}),
        ("post", "/api/persons", {"certno": "1" * 18, "psn_name": "x", "admdvs": WORKERS}),
        (
            "post",
            "/api/enrollments",
            {"psn_no": p["张三"]["psn_no"], "insutype": "390", "psn_type": "15", "begndate": "2025-02-01"},
        ),
        ("post", f"/api/enrollments/{e['张三']['id']}/terminate", {"date": "2025-02-01", "reason": "x"}),
        (
            "post",
            f"/api/employers/{a['emp_no']}/wages",
            {"month": "2025-13", "wages": [{"psn_no": "NOPE", "wage": "1.00"}]},
        ),
    ):
        r = getattr(c, method)(url, json=body)
        assert r.status_code in (404, 409, 422), (url, r.status_code, r.text)
    assert counts() == before
