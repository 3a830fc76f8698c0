"""REST resources of persons, personal accounts and 共济 bindings (人员登记、个人账户与家庭共济): register a
person (resident ID checked), read one with enrollments and balance, an account's statement, and family
bindings. Amounts are two-decimal yuan strings (:mod:`yibao.api.enrollment_io`); refusals name the field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from yibao import validation as v
from yibao.api import enrollment_io as eio
from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.enrollment import accounts, bindings, service
from yibao.store import enrollment_reads as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import FamilyBinding, Person

router = APIRouter(prefix="/api", tags=["参保登记 enrollment"])


def _person(s, psn_no: str) -> Person:
    p = s.get(Person, psn_no)
    if p is None:
        raise HTTPException(404, f"psn_no: 人员不存在 {psn_no}")
    return p


def _person_out(s, p: Person) -> dict:
    return eio.out(
        {
            "psn_no": p.psn_no,
            "psn_cert_type": p.psn_cert_type,
            "certno": reads.mask_certno(p.certno),
            "psn_name": p.psn_name,
            "gend": p.gend,
            "brdy": p.brdy,
            "naty": p.naty,
            "admdvs": p.admdvs,
            "death_date": p.death_date,
            "enrollments": reads.person_enrollments(s, p.psn_no),
            "account_balance": reads.account_balance(s, p.psn_no),
        }
    )


# --- persons ------------------------------------------------------------------------------------------


class PersonIn(BaseModel):
    certno: str = Field(..., min_length=1, max_length=30, description="居民身份证号码（18位，GB 11643 校验）")
    psn_name: str = Field(..., min_length=1, max_length=50, description="姓名")
    admdvs: eio.Code6 = Field(..., description="户籍/常住区县（6位医保区划）")
    naty: str | None = Field("01", max_length=3, description="民族代码")
    psn_no: str | None = Field(None, min_length=1, max_length=30, description="人员编号（不填则生成）")


@router.post("/persons", status_code=201, summary="人员登记 (居民身份证号码 validated)")
def register_person(body: PersonIn, claims: Annotated[dict, Depends(require("person.write"))]) -> dict:
    certno = eio.code("certno", v.resident_id, body.certno)
    adm = eio.code("admdvs", v.admdvs, body.admdvs)
    with refusals(), unit_of_work() as s:
        if body.psn_no and s.get(Person, body.psn_no) is not None:
            raise HTTPException(422, f"psn_no: 人员编号已存在 {body.psn_no}")
        p = service.register_person(
            s,
            certno=certno,
            psn_name=body.psn_name,
            admdvs=adm,
            naty=body.naty,
            psn_no=body.psn_no,
            actor=actor(claims),
        )
        return _person_out(s, p)


@router.get("/persons/{psn_no}", summary="人员信息: identity (ID masked), enrollments, account balance")
def get_person(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        return _person_out(s, _person(s, psn_no))


@router.get("/persons/{psn_no}/account", summary="个人账户: balance and statement (every movement)")
def person_account(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        balance = reads.account_balance(s, psn_no)
        if balance is None:
            raise HTTPException(404, f"psn_no: 人员 {psn_no} 没有个人账户")
        rows = accounts.statement(s, psn_no)
    return eio.out({"psn_no": psn_no, "balance": balance, "statement": rows})


class FamilyIn(BaseModel):
    member_psn_no: str = Field(
        ..., min_length=1, max_length=30, description="共济成员（配偶、父母或子女）人员编号"
    )
    relation: str = Field(..., max_length=10, description="关系: spouse 配偶 / parent 父母 / child 子女")
    begndate: date = Field(..., description="开始日期")


@router.get(
    "/persons/{psn_no}/family", summary="共济绑定: members of this account, and the account this person uses"
)
def person_family(
    psn_no: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("person.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        _person(s, psn_no)
        return {"psn_no": psn_no, **reads.family(s, psn_no)}


@router.post(
    "/persons/{psn_no}/family", status_code=201, summary="共济绑定 (the person is the account owner)"
)
def bind_family(
    psn_no: Annotated[str, Field(max_length=30)],
    body: FamilyIn,
    claims: Annotated[dict, Depends(require("enrollment.write"))],
) -> dict:
    with refusals(), unit_of_work() as s:
        _person(s, psn_no)
        bindings.bind_family(
            s,
            owner_psn_no=psn_no,
            member_psn_no=body.member_psn_no,
            relation=body.relation,
            begndate=body.begndate,
            actor=actor(claims),
        )
        return {"psn_no": psn_no, **reads.family(s, psn_no)}


class UnbindIn(BaseModel):
    date: eio.Day = Field(..., description="解绑日期（此日后不能再使用账户）")


@router.post("/persons/{psn_no}/family/{binding_id}/end", summary="解除共济绑定")
def unbind_family(
    psn_no: Annotated[str, Field(max_length=30)],
    binding_id: Annotated[int, Field(ge=1, le=2**62)],
    body: UnbindIn,
    claims: Annotated[dict, Depends(require("enrollment.write"))],
) -> dict:
    with refusals(), unit_of_work() as s:
        b = s.get(FamilyBinding, binding_id)
        if b is None or psn_no not in (b.owner_psn_no, b.member_psn_no):
            raise HTTPException(404, f"binding: 人员 {psn_no} 没有共济绑定 {binding_id}")
        bindings.unbind_family(s, binding_id, body.date, actor=actor(claims))
        return {"psn_no": psn_no, **reads.family(s, psn_no)}
