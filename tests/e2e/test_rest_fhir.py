"""REST resources and FHIR R4 views over settlements made through the facade."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from tests import world
from tests.rest import bearer
from tests.world import HOSP2, WORKER, His, line
from yibao.api import routes_fhir, routes_fsi, routes_rest
from yibao.store.db import unit_of_work
from yibao.store.tables import Role, StaffUser, UserRole


@pytest.fixture
def api(engine):
    world.build(engine)
    with unit_of_work(engine) as s:
        s.add(Role(name="reviewer", title="审核", permissions=["settlement.read", "person.read"]))
        s.add(
            StaffUser(
                username="rev", display_name="审核员", password_hash=PasswordHasher().hash("pass-word-1")
            )
        )
        s.flush()
        s.add(UserRole(username="rev", role="reviewer"))
    app = FastAPI()
    for r in (routes_fsi.router, routes_rest.router, routes_fhir.router):
        app.include_router(r)
    with TestClient(app) as c:
        his = His(c, HOSP2)
        setl_ids = []
        for fee in ("600.00", "300.00"):
            mdtrt = his.ok(
                "2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-01 09:00:00"}}
            )["data"]["mdtrt_id"]
            his.ok(
                "2204",
                {
                    "feedetail": [
                        line("1", "A1", fee, mdtrt_id=mdtrt),
                        line("2", "C1", "10.00", mdtrt_id=mdtrt),
                    ]
                },
            )
            out = his.ok(
                "2207",
                {
                    "data": {
                        "psn_no": WORKER,
                        "mdtrt_id": mdtrt,
                        "insutype": "310",
                        "acct_used_flag": "1",
                        "medfee_sumamt": str(float(fee) + 10) + "0",
                    }
                },
            )
            setl_ids.append(out["setlinfo"]["setl_id"])
        c.headers.update(bearer(c, "rev", "pass-word-1"))
        yield c, setl_ids


def test_token_and_permissions(api):
    c, _ = api
    anon = TestClient(c.app)
    assert anon.get("/api/settlements").status_code == 401
    assert anon.post("/api/token", data={"username": "rev", "password": "nope"}).status_code == 401
    assert c.get("/api/settlements", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    assert c.get("/api/ledger/balances").status_code == 403  # reviewer may not read the ledger


def test_settlement_list_filters_and_detail(api):
    c, setl_ids = api
    page = c.get("/api/settlements", params={"psn_no": WORKER, "size": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert c.get("/api/settlements", params={"min_amount": "500"}).json()["total"] == 1
    assert c.get("/api/settlements", params={"min_amount": "5.001"}).status_code == 422
    # newest first; page 2 of size 1 is the first settlement
    pages = [c.get("/api/settlements", params={"size": 1, "page": n}).json() for n in (1, 2, 3)]
    assert [[i["setl_id"] for i in p["items"]] for p in pages] == [[setl_ids[1]], [setl_ids[0]], []]
    today = date.fromisoformat(
        pages[0]["items"][0]["setl_time"][:10]
    )  # (the day it settled, not the visit's)
    for params, total in (
        ({"fixmedins_code": HOSP2}, 2),
        ({"fixmedins_code": "H99010300009"}, 0),
        ({"med_type": "11"}, 2),
        ({"med_type": "21"}, 0),
        ({"insutype": "310"}, 2),
        ({"insutype": "390"}, 0),
        ({"max_amount": "500"}, 1),
        ({"min_amount": "310.00", "max_amount": "310.00"}, 1),
        ({"from": str(today), "to": str(today)}, 2),
        ({"to": str(today - timedelta(days=1))}, 0),
        ({"from": str(today + timedelta(days=1))}, 0),
    ):
        assert c.get("/api/settlements", params=params).json()["total"] == total, params
    detail = c.get(f"/api/settlements/{setl_ids[0]}").json()
    assert detail["setlinfo"]["hifp_pay"] == "350.00" and detail["setlinfo"]["fulamt_ownpay_amt"] == "10.00"
    assert [ln["feedetl_sn"] for ln in detail["fee_lines"]] == ["1", "2"]
    assert any(t["param"].startswith("insutype 310 › outpatient › ratio") for t in detail["trace"])
    assert c.get("/api/settlements/NOPE").status_code == 404
    acc = c.get(f"/api/persons/{WORKER}/accumulators", params={"year": 2025}).json()
    assert acc["accumulators"]["310"]["dedc:outpatient"] == "100.00"


def test_fhir_views_validate(api):
    c, setl_ids = api
    bundle = c.get("/fhir/Coverage", params={"patient": WORKER})
    assert bundle.headers["content-type"].startswith("application/fhir+json")
    b = Bundle.model_validate_json(bundle.content)
    assert b.total == 1 and b.entry[0].resource.beneficiary.identifier.value == WORKER
    cr = ClaimResponse.model_validate_json(c.get(f"/fhir/ClaimResponse/{setl_ids[0]}").content)
    cats = {(t.category.coding[0].code, t.category.coding[-1].code): t.amount for t in cr.total if t.amount}
    assert cats[("submitted", "submitted")].value == Decimal("610.00")
    assert cats[("benefit", "310100")].value == Decimal("350.00")
    assert cats[("noncovered", "fulamt_ownpay")].value == Decimal("10.00")
    assert cats[("paidbypatientother", "paidbypatientother")].value == Decimal("260.00")
    eob = ExplanationOfBenefit.model_validate_json(c.get(f"/fhir/ExplanationOfBenefit/{setl_ids[1]}").content)
    assert eob.provider.identifier.value == HOSP2 and eob.insurance[0].focal
    assert b'"value":350.00' in c.get(f"/fhir/ClaimResponse/{setl_ids[0]}").content  # exact, two decimals
    assert c.get("/fhir/ClaimResponse/NOPE").status_code == 404


def _categories(total) -> dict[tuple[str, str], Decimal]:
    return {(t.category.coding[0].code, t.category.coding[-1].code): t.amount.value for t in total}


def test_every_adjudication_category_maps_its_setlinfo_amount(api):
    """A bill with 全自费, 超限价 and 先行自付 parts, paid in cash: each adjudication category carries the
    setlinfo/setldetail amount named in the issue, in ClaimResponse and ExplanationOfBenefit alike."""
    c, _ = api
    his = His(c, HOSP2)
    mdtrt = his.ok(
        "2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": "2025-03-02 09:00:00"}}
    )["data"]["mdtrt_id"]
    lines = [
        line("1", "A1", "600.00", mdtrt_id=mdtrt),  # 甲类
        line("2", "B1", "200.00", mdtrt_id=mdtrt),  # 乙类, 先行自付 10 %: 20.00
        line(
            "3", "B2", "1500.00", mdtrt_id=mdtrt
        ),  # 乙类 capped at 1,200.00: 超限价 300.00, 先行自付 20 % of 1,200
        line("4", "C1", "10.00", mdtrt_id=mdtrt),  # 丙类: 全自费
    ]
    his.ok("2204", {"feedetail": lines})
    data = {
        "psn_no": WORKER,
        "mdtrt_id": mdtrt,
        "insutype": "310",
        "acct_used_flag": "0",
        "medfee_sumamt": "2310.00",
    }
    out = his.ok("2207", {"data": data})
    info, setl_id = out["setlinfo"], out["setlinfo"]["setl_id"]
    # by hand: the parts of the bill that fall outside the policy's scope
    assert (info["fulamt_ownpay_amt"], info["overlmt_selfpay"], info["preselfpay_amt"]) == (
        Decimal("10.00"),
        Decimal("300.00"),
        Decimal("260.00"),
    )
    assert info["inscp_scp_amt"] == Decimal("1740.00") and info["acct_pay"] == Decimal("0.00")
    expected = {
        ("submitted", "submitted"): Decimal("2310.00"),
        ("eligible", "eligible"): Decimal("1740.00"),
        ("deductible", "deductible"): info["act_pay_dedc"],
        ("paidbypatientother", "paidbypatientother"): Decimal("0.00"),
        ("paidbypatientcash", "paidbypatientcash"): info["psn_cash_pay"],
        ("noncovered", "fulamt_ownpay"): Decimal("10.00"),
        ("noncovered", "overlmt_selfpay"): Decimal("300.00"),
        ("noncovered", "preselfpay"): Decimal("260.00"),
    }
    funds = {
        d["fund_pay_type"]: d["fund_payamt"] for d in out["setldetail"] if d["fund_pay_type"] != "310200"
    }
    assert funds and sum(funds.values()) == info["fund_pay_sumamt"]
    expected |= {("benefit", code): amount for code, amount in funds.items()}
    cr = ClaimResponse.model_validate_json(c.get(f"/fhir/ClaimResponse/{setl_id}").content)
    eob = ExplanationOfBenefit.model_validate_json(c.get(f"/fhir/ExplanationOfBenefit/{setl_id}").content)
    for resource in (cr, eob):
        got = _categories(resource.total)
        assert got == expected
        assert resource.payment.amount.value == info["fund_pay_sumamt"]
        # the bill is whole: what the funds paid, the account and the cash add up to what was submitted
        benefit = sum(v for (cat, _), v in got.items() if cat == "benefit")
        patient = (
            got[("paidbypatientother", "paidbypatientother")]
            + got[("paidbypatientcash", "paidbypatientcash")]
        )
        assert benefit + patient == got[("submitted", "submitted")] - info.get("hosp_part_amt", Decimal("0"))
    codings = {
        t.category.coding[-1].system
        for t in cr.total
        if t.category.coding[0].code in ("benefit", "noncovered")
    }
    assert len(codings) == 2 and all("yibao" in s for s in codings)  # the project's own CodeSystems
