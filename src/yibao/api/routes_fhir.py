"""FHIR R4 endpoints (read-only): a read of every resource type served or referenced, the searches a client
expects, and the CapabilityStatement (``/fhir/metadata``). Ids are described in :mod:`yibao.api.fhir_views`.

Every answer is ``application/fhir+json``, refusals too: an OperationOutcome with the HTTP status the REST
resources use (401/403 for tokens and permissions, 404 ``not-found`` for an unknown id, 400 ``invalid``
for a malformed id or search parameter), its diagnostics in Chinese first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError

from yibao.api import exactjson
from yibao.api.auth import require
from yibao.api.fhir_views import adjudication, capability, parties, reads
from yibao.api.fhir_views.common import (
    BUREAU_PREFIX,
    ISSUE_TYPE,
    PSN_NO,
    is_fhir_id,
    outcome,
    query,
    searchset,
)
from yibao.api.fhir_views.coverage import coverage, coverage_ids, psn_no_candidates
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution, Person, Region, Settlement

FHIR_JSON = "application/fhir+json; charset=utf-8"


class Refused(HTTPException):
    """A refusal whose OperationOutcome issue type is not the one its status implies."""

    def __init__(self, status_code: int, issue: str, detail: str):
        super().__init__(status_code, detail)
        self.issue = issue


def _reply(resource: dict, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(exactjson.dumps(resource), status_code, headers, media_type=FHIR_JSON)


def _invalid_parameters(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        name = ".".join(str(x) for x in e["loc"][1:]) or "request"
        parts.append(
            f"{name}: 缺少必填的参数" if e["type"] == "missing" else f"{name}: 参数不合法 ({e['msg']})"
        )
    return "；".join(parts)


class FhirRoute(APIRoute):
    """One error mapping for every FHIR endpoint, authentication included: refusals become
    OperationOutcome; a request FastAPI cannot validate is a 400 (FHIR's status for a bad search)."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except HTTPException as exc:
                issue = getattr(exc, "issue", None) or ISSUE_TYPE.get(exc.status_code, "processing")
                return _reply(outcome(issue, str(exc.detail)), exc.status_code, exc.headers)
            except RequestValidationError as exc:
                return _reply(outcome("invalid", _invalid_parameters(exc)), 400)
            except DataError:  # a value the database cannot take (a NUL …): nothing was read, say so
                return _reply(outcome("invalid", "输入含数据库不接受的字符或超出范围的值"), 400)

        return fhir_handler


router = APIRouter(prefix="/fhir", tags=["FHIR R4"], route_class=FhirRoute)


def _may(resource_type: str):
    """The permission the CapabilityStatement names for the type is the one enforced."""
    return Depends(require(capability.RESOURCES[resource_type][0]))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix


def _checked_id(resource_type: str, rid: str, field: str = "id") -> str:
    if not is_fhir_id(rid):
        raise HTTPException(
            400,
            f"{field}: {resource_type} id 不合法，须为至多 64 个字母、数字、'-' 或 '.' (got {rid[:80]!r})",
        )
    return rid


def _missing(resource_type: str, rid: str) -> HTTPException:
    return HTTPException(404, f"{resource_type}/{rid} 不存在 (not found)")


def _patient_param(value: str) -> str:
    """A reference search value — ``<psn_no>``, ``Patient/<psn_no>`` or a URL ending so — as a psn_no."""
    segments = value.rstrip("/").split("/")
    if len(segments) > 1 and segments[-2] != "Patient":
        raise HTTPException(400, f"patient: 须为 Patient 引用 (got {value[:80]!r})")
    return _checked_id("Patient", segments[-1], "patient")


@router.get("/metadata", summary="CapabilityStatement（无需令牌）")
def metadata(request: Request) -> Response:
    return _reply(capability.statement(_base(request)))


@router.get("/Patient/{psn_no}", summary="参保人")
def read_patient(psn_no: str, _: Annotated[dict, _may("Patient")]) -> Response:
    _checked_id("Patient", psn_no)
    with unit_of_work(write=False) as s:
        person = s.get(Person, psn_no)
        if person is None:
            raise _missing("Patient", psn_no)
        return _reply(parties.patient(person))


@router.get("/Patient", summary="Patient?identifier=<psn_no>")
def search_patient(
    request: Request,
    identifier: Annotated[str, Query(max_length=200)],
    _: Annotated[dict, _may("Patient")],
) -> Response:
    system, _bar, value = identifier.rpartition("|")
    found = []
    if system in ("", PSN_NO) and is_fhir_id(value):  # no other value can be a psn_no served here
        with unit_of_work(write=False) as s:
            person = s.get(Person, value)
            found = [parties.patient(person)] if person is not None else []
    links = {"self": query("Patient", {"identifier": identifier})}
    return _reply(searchset(_base(request), found, len(found), links))


@router.get("/Coverage/{coverage_id}", summary="参保登记")
def read_coverage(coverage_id: str, _: Annotated[dict, _may("Coverage")]) -> Response:
    _checked_id("Coverage", coverage_id)
    with unit_of_work(write=False) as s:
        found = reads.find_coverage(s, coverage_id, psn_no_candidates(coverage_id))
        if found is None:
            raise _missing("Coverage", coverage_id)
        enrollment, person = found
        regions = reads.region_names(s, [enrollment.insuplc_admdvs])
        return _reply(coverage(enrollment, coverage_id, person, reads.insutype_names(s), regions))


@router.get("/Coverage", summary="Coverage?patient=<psn_no>: 该人全部参保登记")
def search_coverage(
    request: Request,
    patient: Annotated[str, Query(max_length=200)],
    _: Annotated[dict, _may("Coverage")],
) -> Response:
    psn_no = _patient_param(patient)
    entries = []
    with unit_of_work(write=False) as s:
        person = s.get(Person, psn_no)
        if person is not None:
            own = reads.enrollments_of(s, [psn_no])[psn_no]
            ids, names = coverage_ids(own), reads.insutype_names(s)
            regions = reads.region_names(s, {e.insuplc_admdvs for e in own})
            for e in sorted(own, key=lambda e: (e.begndate, e.id)):
                entries.append(coverage(e, ids[e.id], person, names, regions))
    # bounded by what one person holds: every match on one page, total says how many
    links = {"self": query("Coverage", {"patient": psn_no})}
    return _reply(searchset(_base(request), entries, len(entries), links))


@router.get("/Organization/{org_id}", summary="定点医药机构 <fixmedins_code> 或医保局 bureau-<admdvs>")
def read_organization(org_id: str, _: Annotated[dict, _may("Organization")]) -> Response:
    _checked_id("Organization", org_id)
    with unit_of_work(write=False) as s:
        if org_id.startswith(BUREAU_PREFIX):
            region = s.get(Region, org_id.removeprefix(BUREAU_PREFIX))
            if region is not None:
                return _reply(parties.bureau(region.admdvs, region.name))
        else:
            inst = s.get(Institution, org_id)
            if inst is not None:
                return _reply(parties.institution(inst))
    raise _missing("Organization", org_id)


def _read_settlement(resource_type: str, setl_id: str, build) -> Response:
    _checked_id(resource_type, setl_id)
    with unit_of_work(write=False) as s:
        row = s.get(Settlement, setl_id)
        if row is None:
            raise _missing(resource_type, setl_id)
        return _reply(build(reads.settlement_views(s, [row])[0]))


def _search_settlements(request: Request, resource_type: str, patient: str, count: int, offset: int, build):
    psn_no = _patient_param(patient)
    count = min(count, capability.MAX_COUNT)
    with unit_of_work(write=False) as s:
        total, rows = reads.settlement_page(s, psn_no, offset, count)
        entries = [build(v) for v in reads.settlement_views(s, rows)]
    page = {"patient": psn_no, "_count": count}
    links = {"self": query(resource_type, page | {"_offset": offset})}
    if count and offset + count < total:
        links["next"] = query(resource_type, page | {"_offset": offset + count})
    if count and offset > 0:
        links["previous"] = query(resource_type, page | {"_offset": max(0, offset - count)})
    return _reply(searchset(_base(request), entries, total, links))


Count = Annotated[int, Query(alias="_count", ge=0, le=1_000_000, description="每页条数（至多 100）")]
Offset = Annotated[
    int, Query(alias="_offset", ge=0, le=1_000_000_000, description="跳过的条数（见 next 链接）")
]


@router.get("/ClaimResponse/{setl_id}", summary="结算的 ClaimResponse")
def read_claim_response(setl_id: str, _: Annotated[dict, _may("ClaimResponse")]) -> Response:
    return _read_settlement("ClaimResponse", setl_id, adjudication.claim_response)


@router.get("/ClaimResponse", summary="ClaimResponse?patient=<psn_no>（分页）")
def search_claim_response(
    request: Request,
    patient: Annotated[str, Query(max_length=200)],
    _: Annotated[dict, _may("ClaimResponse")],
    count: Count = capability.DEFAULT_COUNT,
    offset: Offset = 0,
) -> Response:
    return _search_settlements(request, "ClaimResponse", patient, count, offset, adjudication.claim_response)


@router.get("/ExplanationOfBenefit/{setl_id}", summary="结算的 ExplanationOfBenefit")
def read_explanation_of_benefit(setl_id: str, _: Annotated[dict, _may("ExplanationOfBenefit")]) -> Response:
    return _read_settlement("ExplanationOfBenefit", setl_id, adjudication.explanation_of_benefit)


@router.get("/ExplanationOfBenefit", summary="ExplanationOfBenefit?patient=<psn_no>（分页）")
def search_explanation_of_benefit(
    request: Request,
    patient: Annotated[str, Query(max_length=200)],
    _: Annotated[dict, _may("ExplanationOfBenefit")],
    count: Count = capability.DEFAULT_COUNT,
    offset: Offset = 0,
) -> Response:
    return _search_settlements(
        request, "ExplanationOfBenefit", patient, count, offset, adjudication.explanation_of_benefit
    )


@router.get("/{path:path}", include_in_schema=False)
def unsupported(path: str) -> Response:
    """Anything else under /fhir: an unknown resource type is 404 ``not-supported``; a known type with a
    path that is no id (``Patient/a/b``) is a 400."""
    resource_type = path.split("/", 1)[0]
    if resource_type in capability.RESOURCES:
        raise HTTPException(
            400, f"{resource_type}: 不支持的请求路径 /fhir/{path[:80]} (read: {resource_type}/<id>)"
        )
    raise Refused(404, "not-supported", f"不支持的资源类型 {resource_type[:80]!r} (see /fhir/metadata)")
