"""REST resources of employers and enrollments (单位登记、参保登记): employers with what each owes, enrollments
and their lifecycle (suspend, resume, terminate, category, transfer out and in), and two reports (参保率 by
district, duplicate enrollments). Persons and their accounts are in :mod:`routes_persons`, contributions in
:mod:`routes_contributions`; what they share in :mod:`yibao.api.enrollment_io`. Every write is one unit of
work and is audited by the service it calls; a refusal is 422 (404 for what does not exist) with a message
that names the field — never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from yibao import validation as v
from yibao.api import enrollment_io as eio
from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.config import get_settings
from yibao.enrollment import rules, service, transfers
from yibao.store import contribution_reads
from yibao.store import enrollment_reads as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import Employer, Enrollment

router = APIRouter(prefix="/api", tags=["参保登记 enrollment"])


def _enrollment_out(s, enrollment_id: int, warnings: list[str] | None = None) -> dict:
    """An enrollment as stored, with its status as of today in words (``status_text``: a change dated ahead
    shows as scheduled, 正常（暂停已预约，2027-03-01 生效）) and the lifecycle actions that apply to it."""
    e = s.get(Enrollment, enrollment_id)
    today = date.today()
    row = eio.out(reads.enrollment_row(e))
    row["status_text"] = rules.status_text(e, today)
    row["scheduled"] = rules.scheduled_change(e, today)
    row["actions"] = rules.actions_for(e, today)
    if warnings is not None:
        row["warnings"] = warnings
    return row


# --- employers ----------------------------------------------------------------------------------------


class EmployerIn(BaseModel):
    uscc: str = Field(..., min_length=1, max_length=30, description="统一社会信用代码（18位，GB 32100 校验）")
    emp_name: str = Field(..., min_length=1, max_length=200, description="单位名称")
    admdvs: eio.Code6 = Field(..., description="单位所在医保区划（6位）")
    emp_no: str | None = Field(None, min_length=1, max_length=30, description="单位编号（不填则由代码生成）")


@router.post("/employers", status_code=201, summary="单位登记 (统一社会信用代码 validated)")
def register_employer(
    body: EmployerIn, claims: Annotated[dict, Depends(require("enrollment.write"))]
) -> dict:
    code = eio.code("uscc", v.uscc, body.uscc)
    adm = eio.code("admdvs", v.admdvs, body.admdvs)
    with refusals(), unit_of_work() as s:
        if body.emp_no and s.get(Employer, body.emp_no) is not None:
            raise HTTPException(422, f"emp_no: 单位编号已存在 {body.emp_no}")
        emp = service.register_employer(
            s, uscc=code, emp_name=body.emp_name, admdvs=adm, emp_no=body.emp_no, actor=actor(claims)
        )
        return eio.out(contribution_reads.employer_row(emp))


@router.get("/employers", summary="单位列表 (name/code, district; employees and what each owes)")
def list_employers(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    q: str | None = Query(None, max_length=200, description="单位编号、统一社会信用代码或名称"),
    admdvs: str | None = Query(None, max_length=6),
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    with unit_of_work(write=False) as s:
        total, rows = contribution_reads.employers(
            s, text=q, admdvs=admdvs, as_of=as_of, offset=(page - 1) * size, limit=size
        )
    return {"items": eio.out(rows), "total": total, "page": page, "size": size}


@router.get(
    "/employers/{emp_no}", summary="单位详情: employees, contributions due/paid/arrears by month and employee"
)
def get_employer(
    emp_no: Annotated[str, Field(max_length=30)],
    _: Annotated[dict, Depends(require("enrollment.read"))],
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return eio.out(contribution_reads.employer_detail(s, emp_no, as_of))


# --- enrollments --------------------------------------------------------------------------------------


class EnrollmentIn(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    insutype: str = Field(
        ..., max_length=6, description="险种: 310 职工基本医疗保险 / 390 城乡居民基本医疗保险"
    )
    psn_type: str = Field(..., max_length=6, description="人员类别: 11 在职, 12 退休, 14xx/15/16 居民")
    begndate: date = Field(..., description="参保日期")
    insuplc_admdvs: eio.Code6 | None = Field(None, description="参保地医保区划（默认本统筹区）")
    emp_no: str | None = Field(None, max_length=30, description="单位编号（职工）")
    flexible_base: eio.Yuan | None = Field(
        None, description="灵活就业: 自选缴费基数（元），须在 60%–300% 社平工资之间"
    )
    registered: date | None = Field(None, description="办理日期（默认今天；决定居民是否在集中参保期内）")
    contrib_months: int = Field(0, ge=0, le=1200, description="已有缴费月数（职工）")


def _enroll_args(body: EnrollmentIn) -> dict:
    adm = eio.code("insuplc_admdvs", v.admdvs, body.insuplc_admdvs or get_settings().region)
    return {
        "psn_no": body.psn_no,
        "insutype": body.insutype,
        "psn_type": body.psn_type,
        "begndate": body.begndate,
        "insuplc_admdvs": adm,
        "emp_no": body.emp_no or None,
        "flexible_base": eio.fen(body.flexible_base, "flexible_base", positive=True),
        "registered": body.registered,
        "contrib_months": body.contrib_months,
    }


@router.post(
    "/enrollments",
    status_code=201,
    summary="参保登记 (职工 / 居民 / 灵活就业; one basic insurance at a time)",
)
def enroll(body: EnrollmentIn, claims: Annotated[dict, Depends(require("enrollment.write"))]) -> dict:
    args = _enroll_args(body)
    bundle = eio.bundle(args["insuplc_admdvs"], "insuplc_admdvs")
    with refusals(), unit_of_work() as s:
        done = service.enroll(s, bundle, actor=actor(claims), **args)
        return _enrollment_out(s, done.enrollment.id, done.warnings)


@router.get("/enrollments", summary="参保登记列表 (by person, employer, status)")
def list_enrollments(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    psn_no: str | None = Query(None, max_length=30),
    emp_no: str | None = Query(None, max_length=30),
    status: str | None = Query(None, max_length=1, description="参保状态 1 正常 2 暂停 4 终止"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    conds = [
        c
        for c, val in (
            (Enrollment.psn_no == psn_no, psn_no),
            (Enrollment.emp_no == emp_no, emp_no),
            (Enrollment.psn_insu_stas == status, status),
        )
        if val
    ]
    with unit_of_work(write=False) as s:
        total = s.scalar(select(func.count()).select_from(Enrollment).where(*conds)) or 0
        rows = s.scalars(
            select(Enrollment)
            .where(*conds)
            .order_by(Enrollment.psn_no, Enrollment.begndate, Enrollment.id)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        items = [eio.out(reads.enrollment_row(e)) for e in rows]
    return {"items": items, "total": total, "page": page, "size": size}


@router.get("/enrollments/{enrollment_id}", summary="参保登记详情")
def get_enrollment(
    enrollment_id: Annotated[int, Field(ge=1, le=2**62)],
    _: Annotated[dict, Depends(require("enrollment.read"))],
) -> dict:
    with unit_of_work(write=False) as s:
        if s.get(Enrollment, enrollment_id) is None:
            raise HTTPException(404, f"enrollment: 参保登记不存在 {enrollment_id}")
        return _enrollment_out(s, enrollment_id)


class StatusIn(BaseModel):
    date: eio.Day = Field(..., description="生效日期")
    reason: str | None = Field(None, max_length=20, description="原因")


class TerminateIn(BaseModel):
    date: eio.Day = Field(..., description="终止日期")
    reason: str = Field(
        ..., max_length=20, description="终止原因: death 死亡 / emigration 出国定居 / other 其他"
    )


class CategoryIn(BaseModel):
    psn_type: str = Field(..., max_length=6, description="新的人员类别（如 12 退休）")
    date: eio.Day = Field(..., description="变更日期")


class TransferOutIn(BaseModel):
    date: eio.Day = Field(..., description="转出日期")
    to_admdvs: eio.Code6 = Field(..., description="转入地医保区划")


def _change(enrollment_id: int, action: str, day: date, reason: str | None, claims: dict) -> dict:
    with refusals(), unit_of_work() as s:
        service.change_status(s, enrollment_id, action, day, actor=actor(claims), reason=reason)
        return _enrollment_out(s, enrollment_id)


EnrollmentId = Annotated[int, Field(ge=1, le=2**62)]
Writer = Annotated[dict, Depends(require("enrollment.write"))]


@router.post("/enrollments/{enrollment_id}/suspend", summary="暂停参保 (from 正常)")
def suspend(enrollment_id: EnrollmentId, body: StatusIn, claims: Writer) -> dict:
    return _change(enrollment_id, "suspend", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/resume", summary="恢复参保 (from 暂停)")
def resume(enrollment_id: EnrollmentId, body: StatusIn, claims: Writer) -> dict:
    return _change(enrollment_id, "resume", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/terminate", summary="终止参保 (death, emigration, other)")
def terminate(enrollment_id: EnrollmentId, body: TerminateIn, claims: Writer) -> dict:
    return _change(enrollment_id, "terminate", body.date, body.reason, claims)


@router.post("/enrollments/{enrollment_id}/category", summary="人员类别变更 (e.g. 在职 11 → 退休 12)")
def change_category(enrollment_id: EnrollmentId, body: CategoryIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        enr = s.get(Enrollment, enrollment_id)
        if enr is None:
            raise HTTPException(404, f"enrollment: 参保登记不存在 {enrollment_id}")
        bundle = eio.bundle(enr.insuplc_admdvs, "insuplc_admdvs")
        done = service.change_category(
            s, bundle, enrollment_id, body.psn_type, body.date, actor=actor(claims)
        )
        return _enrollment_out(s, enrollment_id, done.warnings)


@router.post(
    "/enrollments/{enrollment_id}/transfer-out", summary="转出 (contribution months and the balance leave)"
)
def transfer_out(enrollment_id: EnrollmentId, body: TransferOutIn, claims: Writer) -> dict:
    to = eio.code("to_admdvs", v.admdvs, body.to_admdvs)
    with refusals(), unit_of_work() as s:
        certificate = transfers.transfer_out(s, enrollment_id, body.date, to, actor=actor(claims))
        return {"enrollment": _enrollment_out(s, enrollment_id), "certificate": certificate}


class TransferInIn(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    psn_type: str = Field("11", max_length=6, description="人员类别（职工: 11 在职 / 12 退休）")
    begndate: date = Field(..., description="转入参保日期")
    insuplc_admdvs: eio.Code6 | None = Field(None, description="参保地医保区划（默认本统筹区）")
    from_admdvs: eio.Code6 = Field(..., description="转出地医保区划")
    contrib_months: int = Field(..., ge=0, le=1200, description="转出地的缴费月数")
    balance: eio.Yuan = Field("0.00", description="随转移的个人账户余额（元）")
    emp_no: str | None = Field(None, max_length=30, description="新单位编号")


@router.post(
    "/enrollments/transfer-in",
    status_code=201,
    summary="转入 (a 职工 enrollment carrying months and balance)",
)
def transfer_in(body: TransferInIn, claims: Writer) -> dict:
    adm = eio.code("insuplc_admdvs", v.admdvs, body.insuplc_admdvs or get_settings().region)
    frm = eio.code("from_admdvs", v.admdvs, body.from_admdvs)
    balance = eio.fen(body.balance, "balance")
    bundle = eio.bundle(adm, "insuplc_admdvs")
    with refusals(), unit_of_work() as s:
        done = transfers.transfer_in(
            s,
            bundle,
            psn_no=body.psn_no,
            psn_type=body.psn_type,
            begndate=body.begndate,
            insuplc_admdvs=adm,
            from_admdvs=frm,
            contrib_months=body.contrib_months,
            balance=balance,
            emp_no=body.emp_no or None,
            actor=actor(claims),
        )
        out = _enrollment_out(s, done.enrollment.id, done.warnings)
        out["account_balance"] = eio.out({"balance": reads.account_balance(s, body.psn_no)})["balance"]
        return out


# --- reports ------------------------------------------------------------------------------------------


@router.get("/reports/coverage", summary="参保率 by district (insured ÷ the district's resident population)")
def coverage_report(
    _: Annotated[dict, Depends(require("enrollment.read"))],
    admdvs: str | None = Query(None, max_length=6, description="统筹区（默认本统筹区）"),
    on: date | None = Query(None, description="统计日（默认今天）"),
) -> dict:
    region = admdvs or get_settings().region
    with refusals(), unit_of_work(write=False) as s:
        name, table = reads.districts(s, region)
        c = reads.coverage(s, table, on or date.today())
    for row in c["districts"]:
        row["rate"], row["rate_percent"] = rules.coverage_rate(row["insured"], row["population"])
    c["rate"], c["rate_percent"] = rules.coverage_rate(c["insured"], c["population"])
    return {"admdvs": region, "name": name, **c}


@router.get(
    "/reports/duplicate-enrollments",
    summary="重复参保: overlapping basic enrollments; one ID number, two psn_no",
)
def duplicate_enrollments(_: Annotated[dict, Depends(require("enrollment.read"))]) -> dict:
    with unit_of_work(write=False) as s:
        d = reads.duplicate_enrollments(s)
    return eio.out({**d, "total": len(d["overlaps"]) + len(d["same_certno"])})
