"""REST resources of a person's entitlements (待遇资格): 人员身份, 门诊慢特病备案 and 惠民保 years — list,
add, end (and revoke a registration). A body is parsed and checked exactly as an imported line is (the same
parsers, dictionaries and rules), then written by the same use case as the import, in one audited unit of
work. Refusals as the enrollment resources give them: 404 for what does not exist, 422 naming the field,
409 for a key a concurrent write took — never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.enrollment import entitlement_service as svc
from yibao.enrollment import entitlements as ent
from yibao.ingest import entitlement_kinds as kinds
from yibao.store import entitlement_reads as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import Person

router = APIRouter(prefix="/api/persons/{psn_no}", tags=["待遇资格 entitlements"])

PsnNo = Annotated[str, Path(max_length=30, description="人员编号")]
RowId = Annotated[int, Path(ge=1, le=2**62)]
Reader = Annotated[dict, Depends(require("person.read"))]
Writer = Annotated[dict, Depends(require("person.write"))]
Day = date  # field types, so that a field may be called "date"


def _person(s: Session, psn_no: str) -> None:
    if s.get(Person, psn_no) is None:
        raise HTTPException(404, f"psn_no: 人员不存在 {psn_no}")


def _one(rows: list[dict], key: str, value) -> dict:
    return next(r for r in rows if r[key] == value)


class EndIn(BaseModel):
    date: Day = Field(..., description="结束日期（当天仍有效）")


@router.get("/entitlements", summary="待遇资格: identities, chronic registrations and 惠民保 years")
def entitlements(psn_no: PsnNo, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, **reads.entitlements(s, psn_no)}


# --- 人员身份 -------------------------------------------------------------------------------------------


class IdentityIn(BaseModel):
    psn_idet_type: str = Field(
        ...,
        min_length=1,
        max_length=6,
        description="人员身份类别（字典 psn_idet_type，如 2303 低保、25 残疾）",
    )
    psn_type_lv: str | None = Field(None, max_length=6, description="等级（残疾人员: 1–4，一级至四级）")
    begntime: date = Field(..., description="开始日期")
    endtime: date | None = Field(None, description="结束日期（不填为长期有效）")
    idet_org: str | None = Field(None, max_length=100, description="认定机构（如 示例市民政局）")
    memo: str | None = Field(None, max_length=200, description="备注")


@router.get("/identities", summary="人员身份 (type name, grade, dates, issuing body; valid today)")
def list_identities(psn_no: PsnNo, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, "items": reads.identities(s, psn_no)}


@router.post("/identities", status_code=201, summary="认定人员身份 (periods of one type may not overlap)")
def add_identity(psn_no: PsnNo, body: IdentityIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        new = kinds.add_one(s, kinds.IDENTITIES, {"psn_no": psn_no, **body.model_dump()}, actor=actor(claims))
        return _one(reads.identities(s, psn_no), "id", new)


@router.post("/identities/{identity_id}/end", summary="结束人员身份 on a date")
def end_identity(psn_no: PsnNo, identity_id: RowId, body: EndIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        svc.end_dated(s, ent.IDENTITY, psn_no, identity_id, body.date, actor=actor(claims))
        return _one(reads.identities(s, psn_no), "id", identity_id)


# --- 门诊慢特病备案 ---------------------------------------------------------------------------------------


class ChronicIn(BaseModel):
    opsp_dise_code: str = Field(
        ..., min_length=1, max_length=30, description="病种编码（字典 opsp_dise，且待遇政策设有该病种）"
    )
    begndate: date = Field(..., description="开始日期")
    enddate: date | None = Field(None, description="结束日期（不填为长期有效）")
    fixmedins_code: str | None = Field(None, max_length=12, description="定点医药机构编号（须存在）")


@router.get("/chronic-registrations", summary="门诊慢特病备案 (disease, dates, institution, status)")
def list_chronic(psn_no: PsnNo, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, "items": reads.chronic_registrations(s, psn_no)}


@router.post("/chronic-registrations", status_code=201, summary="门诊慢特病备案 (approved)")
def add_chronic(psn_no: PsnNo, body: ChronicIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        values = {"psn_no": psn_no, **body.model_dump()}
        new = kinds.add_one(s, kinds.CHRONIC_REGISTRATIONS, values, actor=actor(claims))
        return _one(reads.chronic_registrations(s, psn_no), "id", new)


@router.post("/chronic-registrations/{registration_id}/end", summary="结束门诊慢特病备案 on a date")
def end_chronic(psn_no: PsnNo, registration_id: RowId, body: EndIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        svc.end_dated(s, ent.CHRONIC, psn_no, registration_id, body.date, actor=actor(claims))
        return _one(reads.chronic_registrations(s, psn_no), "id", registration_id)


@router.post(
    "/chronic-registrations/{registration_id}/revoke",
    summary="撤销门诊慢特病备案 (it never held: settlement stops recognising it)",
)
def revoke_chronic(psn_no: PsnNo, registration_id: RowId, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        svc.revoke_chronic(s, psn_no, registration_id, actor=actor(claims))
        return _one(reads.chronic_registrations(s, psn_no), "id", registration_id)


# --- 惠民保 ---------------------------------------------------------------------------------------------


class SupplementaryIn(BaseModel):
    year: int = Field(..., ge=2000, le=2100, description="参保年度")
    product: str | None = Field(None, max_length=30, description="产品（默认 huiminbao）")


@router.get("/supplementary", summary="惠民保 years")
def list_supplementary(psn_no: PsnNo, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, "items": reads.supplementary(s, psn_no)}


@router.post("/supplementary", status_code=201, summary="惠民保参保 for a year")
def add_supplementary(psn_no: PsnNo, body: SupplementaryIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        kinds.add_one(s, kinds.SUPPLEMENTARY, {"psn_no": psn_no, **body.model_dump()}, actor=actor(claims))
        return _one(reads.supplementary(s, psn_no), "year", body.year)


@router.post("/supplementary/{year}/end", summary="惠民保退保: the year is no longer held")
def end_supplementary(psn_no: PsnNo, year: Annotated[int, Path(ge=2000, le=2100)], claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        _person(s, psn_no)
        svc.cancel_supplementary(s, psn_no, year, actor=actor(claims))
        return {"psn_no": psn_no, "items": reads.supplementary(s, psn_no)}
