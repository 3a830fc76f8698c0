"""REST resources and FHIR R4 views over settlements made through the facade."""

from __future__ import annotations

from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from tests import world
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
        tok = c.post("/api/token", data={"username": "rev", "password": "pass-word-1"}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {tok}"
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
