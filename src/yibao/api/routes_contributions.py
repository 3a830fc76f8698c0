"""REST resources of contributions (缴费): an employer's monthly wage declaration (职工缴费核定), the
contributions with filters and arrears, and collection. Amounts are two-decimal yuan strings in and out
(:mod:`yibao.api.enrollment_io`); refusals name the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from yibao.api import enrollment_io as eio
from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.enrollment import collection
from yibao.enrollment import contributions as contrib
from yibao.store import contribution_reads as reads
from yibao.store.db import get_engine, unit_of_work
from yibao.store.tables import Employer

router = APIRouter(prefix="/api", tags=["参保登记 enrollment"])


class WageLine(BaseModel):
    psn_no: str = Field(..., min_length=1, max_length=30, description="人员编号")
    wage: eio.Yuan = Field(..., description="本月工资（元）")


class WagesIn(BaseModel):
    month: str = Field(..., max_length=7, description="申报月份 YYYY-MM", examples=["2025-03"])
    wages: list[WageLine] = Field(..., min_length=1, max_length=100_000, description="职工工资申报")


@router.post("/employers/{emp_no}/wages", summary="月度工资申报 → 职工缴费核定")
def declare_wages(
    emp_no: Annotated[str, Field(max_length=30)],
    body: WagesIn,
    claims: Annotated[dict, Depends(require("contribution.write"))],
) -> dict:
    with refusals():
        period = reads.parse_period(body.month, "month")
    if period % 100 == 0:
        raise HTTPException(422, f'month: "{body.month}" 应为月份 YYYY-MM')
    with unit_of_work(write=False) as s:
        emp = s.get(Employer, emp_no)
        if emp is None:
            raise HTTPException(404, f"emp_no: 单位不存在 {emp_no}")
        admdvs = emp.admdvs
    wages: dict[str, int] = {}
    for i, line in enumerate(body.wages):
        if line.psn_no in wages:
            raise HTTPException(422, f"wages[{i}].psn_no: 重复申报 {line.psn_no}")
        wages[line.psn_no] = eio.fen(line.wage, f"wages[{i}].wage")
    with refusals():
        _, problems = contrib.declare_wages(
            get_engine(), eio.bundle(admdvs, "emp_no"), emp_no, body.month, wages, actor=actor(claims)
        )
    if len(problems) == len(wages):
        raise HTTPException(422, "wages: " + "；".join(problems))
    with unit_of_work(write=False) as s:
        _, totals, rows = reads.contributions(
            s, reads.ContributionFilter(period=period, emp_no=emp_no), limit=None
        )
    return eio.out(
        {
            "emp_no": emp_no,
            "month": reads.period_text(period),
            "accepted": len(wages) - len(problems),
            "refused": problems,
            "contributions": rows,
            "totals": totals,
        }
    )


# --- contributions ------------------------------------------------------------------------------------


@router.get(
    "/contributions", summary="缴费记录 (filters: period, employer, person, kind, status incl. arrears)"
)
def list_contributions(
    _: Annotated[dict, Depends(require("contribution.read"))],
    period: str | None = Query(None, max_length=7, description="YYYY-MM（职工）或 YYYY（居民年度）"),
    emp_no: str | None = Query(None, max_length=30),
    psn_no: str | None = Query(None, max_length=30),
    kind: str | None = Query(None, max_length=12, description="employee / flexible / resident / retiree"),
    status: str | None = Query(
        None, max_length=10, description="due 未缴 / paid 已缴 / arrears 欠缴（逾期未缴）"
    ),
    as_of: date | None = Query(None, description="欠缴的计算日（默认今天）"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    if status and status not in ("due", "paid", "arrears"):
        raise HTTPException(
            422, f"status: 缴费状态应为 due 未缴、paid 已缴或 arrears 欠缴（填写的是 {status}）"
        )
    if kind and kind not in reads.KINDS:
        raise HTTPException(422, f"kind: 缴费类型应为 {'、'.join(reads.KINDS)} 之一（填写的是 {kind}）")
    with refusals():
        p = reads.parse_period(period) if period else None
    f = reads.ContributionFilter(
        period=p, emp_no=emp_no, psn_no=psn_no, kind=kind, status=status, as_of=as_of
    )
    with unit_of_work(write=False) as s:
        total, totals, rows = reads.contributions(s, f, offset=(page - 1) * size, limit=size)
    return eio.out({"items": rows, "total": total, "totals": totals, "page": page, "size": size})


@router.get("/contributions/arrears", summary="欠缴 by payer (employers; flexible workers and residents)")
def contribution_arrears(
    _: Annotated[dict, Depends(require("contribution.read"))],
    as_of: date | None = Query(None, description="计算日（默认今天）：缴费期限早于此日仍未缴的为欠缴"),
    emp_no: str | None = Query(None, max_length=30),
) -> dict:
    day = as_of or date.today()
    with unit_of_work(write=False) as s:
        rows = reads.arrears(s, day, emp_no)
    return eio.out({"as_of": day, "items": rows, "arrears": sum(r["arrears"] for r in rows)})


class CollectIn(BaseModel):
    period: str = Field(..., max_length=7, description="缴费期 YYYY-MM（职工）或 YYYY（居民年度）")
    emp_no: str | None = Field(None, max_length=30, description="只收缴此单位（不填则全部）")
    paid_at: datetime | None = Field(None, description="到账时间（默认现在）")


@router.post(
    "/contributions/collect", summary="收缴: record what is due for a period as paid (posts the receipts)"
)
def collect(body: CollectIn, claims: Annotated[dict, Depends(require("contribution.write"))]) -> dict:
    with refusals():
        period = reads.parse_period(body.period)
    if body.emp_no:
        with unit_of_work(write=False) as s:
            if s.get(Employer, body.emp_no) is None:
                raise HTTPException(404, f"emp_no: 单位不存在 {body.emp_no}")
    with refusals():
        amount = collection.collect(
            get_engine(),
            period,
            emp_no=body.emp_no,
            when=body.paid_at or datetime.now(),
            actor=actor(claims),
        )
    return eio.out({"period": reads.period_text(period), "emp_no": body.emp_no, "collected": amount})
