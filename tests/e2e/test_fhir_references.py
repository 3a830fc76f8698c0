"""FHIR references resolve: settlements made through the facade (an employee paying from the personal
account, a resident's admission and outpatient visit under two enrollments, a reversal) are read as FHIR,
and every reference in every resource is followed with GET until nothing new is referenced; the
CapabilityStatement declares exactly what answers; refusals are OperationOutcome."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from tests.rest import bearer
from tests.world import HOSP2, HOSP3, RESIDENT, WORKER, His, line
from yibao import __version__
from yibao.api import exactjson
from yibao.api.fhir_views.common import PSN_NO
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.store.tables import Enrollment, Settlement

BASE = "http://testserver/fhir"
LITERAL = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")


def _token(c: TestClient, username: str) -> dict[str, str]:
    return bearer(c, username, "pass-word-1")


def _outpatient(his: His, psn_no: str, insutype: str, begin: str, fee: str, acct: str) -> str:
    mdtrt = his.ok("2201", {"data": {"psn_no": psn_no, "insutype": insutype, "begntime": begin}})["data"][
        "mdtrt_id"
    ]
    his.ok("2204", {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt, fee_ocur_time=begin)]})
    data = {"psn_no": psn_no, "mdtrt_id": mdtrt, "insutype": insutype, "acct_used_flag": acct}
    return his.ok("2207", {"data": data | {"medfee_sumamt": fee}})["setlinfo"]["setl_id"]


def _admission(his: His, psn_no: str, begin: str, end: str) -> str:
    info = {"psn_no": psn_no, "insutype": "390", "med_type": "21", "begntime": begin, "dise_codg": "K35.800"}
    mdtrt = his.ok("2401", {"mdtrtinfo": info})["result"]["mdtrt_id"]
    his.ok("2301", {"feedetail": [line("1", "A1", "8000.00", mdtrt_id=mdtrt, fee_ocur_time=begin)]})
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": psn_no, "endtime": end, "dscg_way": "1"}})
    data = {"psn_no": psn_no, "mdtrt_id": mdtrt, "insutype": "390", "acct_used_flag": "0"}
    return his.ok("2304", {"data": data | {"medfee_sumamt": "8000.00", "mid_setl_flag": "0"}})["setlinfo"][
        "setl_id"
    ]


@pytest.fixture
def settled(client, engine):
    """The resident's enrollment of 2020 ended on 2025-02-28 and a new one began on 2025-03-01 (as a
    termination and a new enrollment leave them); then the visits are settled."""
    with unit_of_work(engine) as s:
        old = s.query(Enrollment).filter_by(psn_no=RESIDENT).one()
        old.enddate, old.psn_insu_stas = date(2025, 2, 28), "4"
        s.add(
            Enrollment(
                psn_no=RESIDENT,
                insutype="390",
                psn_type="15",
                psn_insu_stas="1",
                begndate=date(2025, 3, 1),
                insuplc_admdvs="990100",
            )
        )
        create_user(s, "rev", "审核员", ["reviewer"], "pass-word-1", actor="test")
        create_user(s, "fund", "基金管理", ["fund_manager"], "pass-word-1", actor="test")
        create_user(s, "norole", "未分配岗位", [], "pass-word-1", actor="test")  # no permission at all
    ids = {
        "worker": _outpatient(His(client, HOSP2), WORKER, "310", "2025-03-01 09:00:00", "600.00", "1"),
        "admission": _admission(His(client, HOSP3), RESIDENT, "2025-02-10 10:00:00", "2025-02-20 10:00:00"),
        "resident": _outpatient(His(client, HOSP2), RESIDENT, "390", "2025-03-05 09:00:00", "300.00", "0"),
    }
    his = His(client, HOSP2)
    ids["reversed"] = _outpatient(his, WORKER, "310", "2025-03-02 09:00:00", "200.00", "1")
    with unit_of_work(engine, write=False) as s:  # (the reversal names the visit)
        mdtrt = s.get(Settlement, ids["reversed"]).mdtrt_id
    rev = his.ok("2208", {"data": {"psn_no": WORKER, "mdtrt_id": mdtrt, "setl_id": ids["reversed"]}})
    ids["reversal"] = rev["setlinfo"]["setl_id"]
    client.headers.update(_token(client, "rev"))
    return client, ids


def _get(c: TestClient, path: str, **params):
    r = c.get(path if path.startswith("/") else f"/fhir/{path}", params=params or None)  # ({} drops a query)
    assert r.headers["content-type"].startswith("application/fhir+json"), (path, r.headers)
    return r, exactjson.loads(r.content)


def _references(node) -> list[str]:
    """Every ``reference`` string anywhere in a resource."""
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def _no_empty(node, where: str) -> None:
    """FHIR JSON has no empty arrays, objects or strings."""
    assert node not in ([], {}, ""), where
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        _no_empty(value, f"{where}.{key}")


def _crawl(c: TestClient, start: list[str]) -> dict[str, dict]:
    """GET every reference, and every reference of what that returns, once each."""
    seen: dict[str, dict] = {}
    todo = list(start)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        assert LITERAL.fullmatch(ref), f"not a relative literal reference: {ref!r}"
        r, body = _get(c, ref)
        assert r.status_code == 200, (ref, r.text)
        resource_type, rid = ref.split("/")
        assert (body["resourceType"], body["id"]) == (resource_type, rid)
        get_fhir_model_class(resource_type).model_validate(body)
        _no_empty(body, ref)
        seen[ref] = body
        todo.extend(_references(body))
    return seen


def _search(c: TestClient, resource_type: str, **params) -> list[dict]:
    """A searchset, every page of it: each entry's fullUrl reads back the same resource."""
    entries, path, total = [], f"/fhir/{resource_type}", None
    while path:
        r, bundle = _get(c, path, **params)
        assert r.status_code == 200, r.text
        get_fhir_model_class("Bundle").model_validate(bundle)
        assert bundle["type"] == "searchset"
        _no_empty(bundle, path)
        total = bundle["total"] if total is None else total
        assert bundle["total"] == total
        for e in bundle.get("entry", []):
            assert e["fullUrl"] == f"{BASE}/{e['resource']['resourceType']}/{e['resource']['id']}"
            assert _get(c, e["fullUrl"].removeprefix("http://testserver"))[1] == e["resource"]
            entries.append(e["resource"])
        nxt = [ln["url"] for ln in bundle.get("link", []) if ln["relation"] == "next"]
        path, params = (nxt[0].removeprefix("http://testserver"), {}) if nxt else (None, {})
    assert len(entries) == total
    return entries


def test_every_reference_resolves(settled):
    c, ids = settled
    start = [f"{t}/{i}" for i in ids.values() for t in ("ClaimResponse", "ExplanationOfBenefit")]
    for psn in (WORKER, RESIDENT):
        start.append(f"Patient/{psn}")
        for resource_type in ("Coverage", "ExplanationOfBenefit", "ClaimResponse"):
            start += [f"{r['resourceType']}/{r['id']}" for r in _search(c, resource_type, patient=psn)]
        start += [f"Patient/{r['id']}" for r in _search(c, "Patient", identifier=psn)]
    seen = _crawl(c, start)
    assert {ref.split("/")[0] for ref in seen} == {
        "Patient",
        "Coverage",
        "Organization",
        "ClaimResponse",
        "ExplanationOfBenefit",
    }
    assert {"Organization/bureau-990100", f"Organization/{HOSP2}", f"Organization/{HOSP3}"} <= set(seen)
    # each settlement names the enrollment it applied, by the id the Coverage search serves
    coverage_of = {
        key: seen[f"ExplanationOfBenefit/{i}"]["insurance"][0]["coverage"]["reference"]
        for key, i in ids.items()
    }
    assert coverage_of == {
        "worker": "Coverage/P0001-310-20200101",
        "reversed": "Coverage/P0001-310-20200101",
        "reversal": "Coverage/P0001-310-20200101",
        "admission": "Coverage/P0003-390-20200101",  # admitted on 2025-02-10, under the enrollment ended since
        "resident": "Coverage/P0003-390-20250301",
    }
    for key, i in ids.items():
        assert seen[f"ClaimResponse/{i}"]["insurance"][0]["coverage"]["reference"] == coverage_of[key]
        assert seen[f"ClaimResponse/{i}"]["insurer"]["reference"] == "Organization/bureau-990100"
    resident = {f"Coverage/{r['id']}" for r in _search(c, "Coverage", patient=RESIDENT)}
    assert resident == {"Coverage/P0003-390-20200101", "Coverage/P0003-390-20250301"}
    # the institution's request is named by identifier (yibao keeps no Claim resource)
    request = seen[f"ClaimResponse/{ids['worker']}"]["request"]
    assert "reference" not in request and request["identifier"]["value"]
    statuses = {k: seen[f"ExplanationOfBenefit/{i}"]["status"] for k, i in ids.items()}
    assert statuses["reversed"] == statuses["reversal"] == "cancelled" and statuses["worker"] == "active"
    assert seen[f"ExplanationOfBenefit/{ids['admission']}"]["type"]["coding"][0]["code"] == "institutional"
    paid = {
        t["category"]["coding"][0]["code"]: t["amount"]["value"]
        for t in seen[f"ClaimResponse/{ids['worker']}"]["total"]
    }
    assert paid["paidbypatientother"] > 0 and isinstance(paid["submitted"], Decimal)
    # the whole ID number is in no resource (the Patient carries it masked, labelled so)
    text = "".join(exactjson.dumps(r) for r in seen.values())
    assert "110101198001010011" not in text and "110101199001010032" not in text
    patient = seen[f"Patient/{WORKER}"]
    assert patient["meta"]["security"][0]["code"] == "MASKED"
    assert [i["value"] for i in patient["identifier"]] == [WORKER, "1101**********0011"]
    assert (patient["gender"], patient["birthDate"], patient["name"][0]["text"]) == (
        "male",
        "1980-01-01",
        "张三",
    )


def test_searches_page_and_parse_their_parameters(settled):
    c, ids = settled
    mine = [
        ids["reversal"],
        ids["reversed"],
        ids["worker"],
    ]  # newest first (settled in this order, backwards)
    for resource_type in ("ExplanationOfBenefit", "ClaimResponse"):
        assert [r["id"] for r in _search(c, resource_type, patient=WORKER, _count=2)] == mine
        _, page = _get(c, resource_type, patient=f"Patient/{WORKER}", _count=2)
        links = {ln["relation"]: parse_qs(urlsplit(ln["url"]).query) for ln in page["link"]}
        assert page["total"] == 3 and len(page["entry"]) == 2
        assert links["next"]["_offset"] == ["2"] and "previous" not in links
        _, last = _get(c, resource_type, patient=f"{BASE}/Patient/{WORKER}", _count=2, _offset=2)
        assert [e["resource"]["id"] for e in last["entry"]] == mine[2:] and "next" not in str(last["link"])
        _, counted = _get(c, resource_type, patient=WORKER, _count=0)
        assert (counted["total"] == 3 and "entry" not in counted) or counted["entry"] == []
        _, big = _get(c, resource_type, patient=WORKER, _count=5000)
        assert "_count=100" in big["link"][0]["url"] and len(big["entry"]) == 3
        assert _get(c, resource_type, patient="NOPE")[1]["total"] == 0
    for value, total in (
        (WORKER, 1),
        (f"{PSN_NO}|{WORKER}", 1),
        (f"|{WORKER}", 1),
        (f"urn:x|{WORKER}", 0),
        ("NOPE", 0),
    ):
        assert _get(c, "Patient", identifier=value)[1]["total"] == total, value
    assert _get(c, "Coverage", patient="NOPE")[1]["total"] == 0


def _declared(statement: dict) -> set[tuple[str, str]]:
    out = set()
    for res in statement["rest"][0]["resource"]:
        for i in res["interaction"]:
            out.add((res["type"], i["code"]))
    return out


def test_capability_statement_declares_exactly_what_answers(settled):
    c, ids = settled
    r, statement = _get(TestClient(c.app), "metadata")  # anonymous, as FHIR clients fetch it
    assert r.status_code == 200
    model = get_fhir_model_class("CapabilityStatement").model_validate(statement)
    _no_empty(statement, "metadata")
    assert (model.fhirVersion, model.kind, model.status, model.format) == (
        "4.0.1",
        "instance",
        "active",
        ["json"],
    )
    assert (model.software.name, model.software.version) == ("yibao", __version__)
    assert model.implementation.url == BASE and model.rest[0].mode == "server"
    # a populated world's ids of each type, and a value for each search parameter
    sample = {
        "Patient": WORKER,
        "Coverage": "P0001-310-20200101",
        "Organization": HOSP2,
        "ClaimResponse": ids["worker"],
        "ExplanationOfBenefit": ids["worker"],
    }
    values = {("reference", "patient"): f"Patient/{WORKER}", ("token", "identifier"): f"{PSN_NO}|{WORKER}"}
    for res in statement["rest"][0]["resource"]:
        kind = res["type"]
        codes = {i["code"] for i in res["interaction"]}
        assert codes <= {"read", "search-type"}, codes
        if "read" in codes:
            assert _get(c, f"{kind}/{sample[kind]}")[0].status_code == 200, kind
        assert ("search-type" in codes) == bool(res.get("searchParam")), kind
        for p in res.get("searchParam", []):
            assert (p["type"], p["name"]) in values, f"{kind}?{p['name']} declared but not tried here"
            r, bundle = _get(c, kind, **{p["name"]: values[(p["type"], p["name"])]})
            assert r.status_code == 200 and bundle["total"] >= 1, (kind, p["name"], r.text)
            assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {kind}
    # and every FHIR route is declared: nothing answers that the statement does not name
    routed = set()
    for path in TestClient(c.app).get("/openapi.json").json()["paths"]:
        parts = path.split("/")[2:]
        if path.startswith("/fhir/") and parts != ["metadata"]:
            routed.add((parts[0], "read" if len(parts) == 2 else "search-type"))
    assert routed == _declared(statement)


def _refused(r, status: int, code: str, contains: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = exactjson.loads(r.content)
    get_fhir_model_class("OperationOutcome").model_validate(body)
    issue = body["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", code) and contains in issue["diagnostics"], body


def test_refusals_are_operation_outcomes(settled):
    c, _ = settled
    for path in (
        "Patient/NOPE",
        "Coverage/P0001-310-19990101",
        "Coverage/P0001-310-20200101-2",
        "Organization/H00000000000",
        "Organization/bureau-000001",
        "ClaimResponse/NOPE",
        "ExplanationOfBenefit/NOPE",
    ):
        _refused(c.get(f"/fhir/{path}"), 404, "not-found", "不存在")
    for path in ("Patient/a_b", f"Coverage/{'x' * 65}", "ClaimResponse/a%20b", "Patient/a/b", "Patient/"):
        _refused(c.get(f"/fhir/{path}"), 400, "invalid", "不")
    _refused(c.get("/fhir/Encounter/1"), 404, "not-supported", "不支持的资源类型")
    for params, field in (
        ({}, "patient"),
        ({"patient": WORKER, "_count": "-1"}, "_count"),
        ({"patient": WORKER, "_offset": "x"}, "_offset"),
        ({"patient": "Organization/H1"}, "patient"),
        ({"patient": "a\x00b"}, "patient"),
    ):
        _refused(c.get("/fhir/ExplanationOfBenefit", params=params), 400, "invalid", field)
    _refused(c.get("/fhir/Patient"), 400, "invalid", "identifier")
    # permissions, as before: no token 401, a role without the permission 403
    anon = TestClient(c.app)
    for path in (f"Patient/{WORKER}", f"Coverage?patient={WORKER}", f"ExplanationOfBenefit?patient={WORKER}"):
        r = anon.get(f"/fhir/{path}")
        _refused(r, 401, "login", "未登录")
        assert r.headers["www-authenticate"] == "Bearer"
    _refused(
        c.get(f"/fhir/Patient/{WORKER}", headers={"Authorization": "Bearer forged.x"}), 401, "login", "令牌"
    )
    fund = _token(c, "fund")
    _refused(c.get(f"/fhir/Patient/{WORKER}", headers=_token(c, "norole")), 403, "forbidden", "person.read")
    assert c.get("/fhir/Organization/bureau-990100", headers=fund).status_code == 200
