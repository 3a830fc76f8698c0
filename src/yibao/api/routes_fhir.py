"""FHIR R4 endpoints: Coverage search, ClaimResponse and ExplanationOfBenefit by settlement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import select

from yibao.api import exactjson, fhir
from yibao.api.auth import require
from yibao.errors import NotFound
from yibao.settlement.service import load_settled
from yibao.store.db import unit_of_work
from yibao.store.tables import Dictionary, Enrollment, Institution, Person

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])
FHIR_JSON = "application/fhir+json; charset=utf-8"


def _reply(resource: dict) -> Response:
    return Response(exactjson.dumps(resource), media_type=FHIR_JSON)


@router.get("/Coverage", summary="Coverage?patient=<psn_no>")
def coverage(
    patient: Annotated[str, Query(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> Response:
    with unit_of_work(write=False) as s:
        person = s.get(Person, patient)
        if person is None:
            return _reply(fhir.coverage_bundle([]))
        names = {
            d.code: d.name for d in s.scalars(select(Dictionary).where(Dictionary.dic_type == "insutype"))
        }
        entries = [
            fhir.coverage(e, person, names)
            for e in s.scalars(
                select(Enrollment).where(Enrollment.psn_no == patient).order_by(Enrollment.begndate)
            )
        ]
    return _reply(fhir.coverage_bundle(entries))


def _settlement(setl_id: str, build) -> Response:
    with unit_of_work(write=False) as s:
        try:
            row, settled = load_settled(s, setl_id)
        except NotFound:
            raise HTTPException(404, f"结算不存在 {setl_id}") from None
        return _reply(build(row, settled, s.get(Person, row.psn_no), s.get(Institution, row.fixmedins_code)))


@router.get("/ClaimResponse/{setl_id}")
def claim_response(setl_id: str, _: Annotated[dict, Depends(require("settlement.read"))]) -> Response:
    return _settlement(setl_id, fhir.claim_response)


@router.get("/ExplanationOfBenefit/{setl_id}")
def explanation_of_benefit(setl_id: str, _: Annotated[dict, Depends(require("settlement.read"))]) -> Response:
    return _settlement(setl_id, fhir.explanation_of_benefit)
