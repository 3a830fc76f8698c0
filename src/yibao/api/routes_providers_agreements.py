"""REST resources of agreements and designated institutions (定点医药机构, issue 24; docs/providers.md): an
agreement and its signed document (the PDF, its SHA-256 in ``X-Content-SHA256``); an institution with its
agreements, designation and history; what settlement would say of it on a day; renewal (续签); suspension,
resumption and termination by the agency (中止 / 恢复 / 解除, with the measure, months, red line and reason);
医保医师备案; the measures of the ladder (约谈, 限期整改 …); the annual assessment (年度考核: run, sheets, staff's
figures of one sheet); and the public list of designated institutions on a day (公布结果, JSON, CSV or XLSX,
no login).

Who and how: see :mod:`yibao.api.routes_providers` (``providers.read`` / ``providers.write``; sanctions
``supervision.write``; refusals by :func:`~yibao.api.refusals.refusals`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from yibao.api import routes_providers_reads as reads
from yibao.api.auth import actor, require, require_any
from yibao.api.refusals import refusals
from yibao.api.routes_providers_models import (
    Admdvs,
    AssessIn,
    CloseMeasureIn,
    Day,
    EndRegistrationIn,
    FiguresIn,
    MeasureIn,
    PractitionerIn,
    RenewIn,
    ResumeIn,
    SuspendIn,
    TerminateIn,
)
from yibao.providers.document import public_list_csv, public_list_rows, public_list_xlsx
from yibao.providers.service import agreements, assessments, exits, staff, status
from yibao.providers.service.common import scheme_for
from yibao.store import provider_figures
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import ProviderAssessment

READ, WRITE, SANCTION = "providers.read", "providers.write", "supervision.write"
Reader = Annotated[dict, Depends(require(READ))]
Writer = Annotated[dict, Depends(require(WRITE))]
Sanctioner = Annotated[dict, Depends(require(SANCTION))]
FigureEditor = Annotated[dict, Depends(require_any(WRITE, SANCTION))]
Code = Annotated[str, PathParam(min_length=1, max_length=12, description="定点医药机构编号")]
AgreementNo = Annotated[str, PathParam(min_length=1, max_length=30, description="协议编号")]
Year = Annotated[int, PathParam(ge=1901, le=2999, description="考核年度")]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="记录编号")]

router = APIRouter(prefix="/api/providers", tags=["定点医药机构 designated providers"])
public_router = APIRouter(prefix="/public", tags=["公布结果 public"])


def _institution(code: str) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return reads.institution_out(s, code)


# --- agreements -------------------------------------------------------------------------------------------------


@router.get("/agreements/{agreement_no}", summary="医保服务协议: term, services, status, document hash")
def get_agreement(agreement_no: AgreementNo, _: Reader) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return reads.agreement_out(s, agreement_no)


@router.get(
    "/agreements/{agreement_no}/document",
    summary="协议文书: the signed PDF (its SHA-256 in X-Content-SHA256)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def agreement_document(agreement_no: AgreementNo, _: Reader) -> Response:
    with refusals(), unit_of_work(write=False) as s:
        a = store.agreement(s, agreement_no)
        pdf, digest = a.document, a.document_sha256
    if not pdf:
        raise HTTPException(404, f"agreement_no: 协议 {agreement_no} 没有协议文书（区划未配置协议范本）")
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{agreement_no}.pdf"',
            "X-Content-SHA256": digest or "",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- institutions ---------------------------------------------------------------------------------------------


@router.get(
    "/institutions/{code}",
    summary="定点医药机构: agreements, designation, status history, measures, 医保医师",
)
def get_institution(code: Code, _: Reader) -> dict:
    return _institution(code)


@router.get(
    "/institutions/{code}/status", summary="定点状态: what settlement would say of a visit on the day"
)
def institution_status(
    code: Code,
    _: Reader,
    on: Day | None = Query(None, description="就诊日期（默认今天）"),
    med_type: str | None = Query(None, min_length=1, max_length=6, description="医疗类别 (11, 14, 21 …)"),
) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return reads.status_on(s, code, on or date.today(), med_type)


@router.post(
    "/institutions/{code}/renew", status_code=201, summary="续签: a new term after the latest agreement"
)
def renew(code: Code, body: RenewIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        main = agreements.renew(
            s, code, actor=actor(claims), services=list(body.services) if body.services else None
        )
        agreement_no = main.agreement_no
    with refusals(), unit_of_work(write=False) as s:
        return reads.agreement_out(s, agreement_no)


@router.post(
    "/institutions/{code}/suspend",
    summary="中止 (稽核): by sanction for 1/2/4/6 months, by staff, or as applied",
)
def suspend(code: Code, body: SuspendIn, claims: Sanctioner) -> dict:
    with refusals(), unit_of_work() as s:
        status.suspend(
            s, code, begndate=body.begndate, by=body.by, reason=body.reason, actor=actor(claims),
            months=body.months, enddate=body.enddate, red_line=body.red_line,
        )  # fmt: skip
    return _institution(code)


@router.post("/institutions/{code}/resume", summary="恢复 (稽核): the suspension ends the day before")
def resume(code: Code, body: ResumeIn, claims: Sanctioner) -> dict:
    with refusals(), unit_of_work() as s:
        status.resume(s, code, day=body.day, reason=body.reason, actor=actor(claims))
    return _institution(code)


@router.post(
    "/institutions/{code}/terminate",
    summary="解除 (稽核): by sanction on a red line, by staff, or as applied",
)
def terminate(code: Code, body: TerminateIn, claims: Sanctioner) -> dict:
    with refusals(), unit_of_work() as s:
        status.terminate(
            s,
            code,
            day=body.day,
            by=body.by,
            reason=body.reason,
            red_line=body.red_line,
            actor=actor(claims),
        )
    return _institution(code)


@router.post(
    "/institutions/{code}/practitioners", status_code=201, summary="医保医师备案 under the agreement in force"
)
def register_practitioner(code: Code, body: PractitionerIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        reg = staff.register_practitioner(
            s, code, prac_code=body.prac_code, prac_name=body.prac_name, prac_type=body.prac_type,
            dept_code=body.dept_code, qualification=body.qualification, day=body.day, actor=actor(claims),
        )  # fmt: skip
        return reads.registration_out(reg)


@router.get("/institutions/{code}/practitioners", summary="备案的医保医师")
def practitioners(code: Code, _: Reader) -> list[dict]:
    with refusals(), unit_of_work(write=False) as s:
        store.institution(s, code)
        return [reads.registration_out(r) for r in store.registrations_of(s, code)]


@router.post(
    "/institutions/{code}/measures",
    status_code=201,
    summary="协议处理 (稽核): a measure of the ladder — 约谈, 限期整改 (deadline) … 中止 (months), 解除 (red line)",
)
def record_measure(code: Code, body: MeasureIn, claims: Sanctioner) -> dict:
    with refusals(), unit_of_work() as s:
        row = staff.record_measure(
            s, code, code=body.code, reason=body.reason, actor=actor(claims), day=body.day,
            deadline=body.deadline, suspicion_id=body.suspicion_id, months=body.months, red_line=body.red_line,
        )  # fmt: skip
        return reads.measure_out(row)


@router.get("/institutions/{code}/measures", summary="协议处理记录")
def measures(code: Code, _: Reader) -> list[dict]:
    with refusals(), unit_of_work(write=False) as s:
        store.institution(s, code)
        return [reads.measure_out(m) for m in store.measures_of(s, code)]


@router.post("/registrations/{reg_id}/end", summary="注销医保医师备案: the registration's last day and why")
def end_registration(reg_id: RowId, body: EndRegistrationIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        reg = staff.end_registration(s, reg_id, reason=body.reason, day=body.day, actor=actor(claims))
        return reads.registration_out(reg)


@router.post(
    "/measures/{measure_id}/close", summary="整改验收 (稽核): a 限期整改 measure done, with the check made"
)
def close_measure(measure_id: RowId, body: CloseMeasureIn, claims: Sanctioner) -> dict:
    with refusals(), unit_of_work() as s:
        return reads.measure_out(staff.close_measure(s, measure_id, note=body.note, day=body.day,
                                                     actor=actor(claims)))  # fmt: skip


@router.get(
    "/institutions/{code}/exit-statement",
    summary="退出清算: an institution that left — unfinished visits, what the fund still owes it, registrations",
)
def exit_statement(code: Code, _: Reader) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return exits.statement(s, code)


# --- annual assessment ------------------------------------------------------------------------------------------


def _run_out(run) -> dict:
    return {
        "admdvs": run.admdvs,
        "year": run.year,
        "distribution": run.distribution,
        "assessed_by": run.assessed_by,
        "assessed_at": run.assessed_at,
    }


@router.post(
    "/assessments/{year}",
    status_code=201,
    summary="年度考核: every institution with an agreement in the year scored and graded (replaces a rerun)",
)
def assess(year: Year, body: AssessIn, claims: Writer) -> dict:
    manual = {code: dict(figures) for code, figures in (body.manual or {}).items()}
    with refusals(), unit_of_work() as s:
        run = assessments.assess_year(s, body.admdvs, year, actor=actor(claims), manual=manual or None)
        return _run_out(run) | {"institutions": sum(run.distribution.values())}


@router.get(
    "/assessments/{year}/sheets", summary="考核表: the year's distribution and each institution's sheet"
)
def assessment_sheets(
    year: Year,
    _: Reader,
    admdvs: Admdvs = Query(..., description="医保区划"),
    grade: str | None = Query(None, min_length=1, max_length=4, description="只看此等次"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(100, ge=1, le=1000),
) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        run, sheets = assessments.sheets(s, admdvs, year)
        chosen = [x for x in sheets if grade is None or x.grade == grade]
        shown = chosen[(page - 1) * size : page * size]
        names = provider_figures.names_of(s, [x.fixmedins_code for x in shown])
        items = [reads.sheet_out(x, run.admdvs, names) for x in shown]
        return _run_out(run) | {"items": items, "total": len(chosen), "page": page, "size": size}


@router.put(
    "/assessments/{year}/sheets/{code}",
    summary="录入考核数据: staff's figures of one sheet (现场检查, 投诉, 好差评 …); re-scored at once",
)
def set_figures(year: Year, code: Code, body: FiguresIn, claims: FigureEditor) -> dict:
    with refusals(), unit_of_work() as s:
        sheet = assessments.set_manual(s, year, code, dict(body.figures), actor=actor(claims))
        run = s.get(ProviderAssessment, sheet.assessment_id)
        names = provider_figures.names_of(s, [code])
        return reads.sheet_out(sheet, run.admdvs, names) | {"distribution": run.distribution}


# --- the public list (公布结果) ---------------------------------------------------------------------------------


@public_router.get(
    "/providers",
    summary="定点医药机构名单 (公布结果, no login): designated on the day — exited and suspended ones left out",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
def public_list(
    on: Day | None = Query(None, description="日期（默认今天）"),
    admdvs: Admdvs | None = Query(None, description="医保区划（市级含所辖区县）"),
    format: Literal["json", "csv", "xlsx"] = Query("json", description="json | csv | xlsx"),
    page: int = Query(1, ge=1, le=100_000, description="json: 页码"),
    size: int = Query(500, ge=1, le=5000, description="json: 每页条数"),
):
    day = on or date.today()
    with refusals(), unit_of_work(write=False) as s:
        listed = reads.designated_on(s, day, admdvs)
    names: dict[str, dict[str, str]] = {}
    for x in listed:
        if x["admdvs"] not in names:
            names[x["admdvs"]] = reads.service_names(x["admdvs"])
    if format == "json":
        shown = listed[(page - 1) * size : page * size]
        items = [
            x
            | {
                "class_name": reads.CLASSES.get(x["class"], x["class"]),
                "services": reads.named(x["services"], names[x["admdvs"]]),
            }
            for x in shown
        ]
        return {"on": day, "items": items, "total": len(listed), "page": page, "size": size}
    with refusals():
        rows = []
        for adm in sorted(names):
            scheme = scheme_for(adm)
            classes = dict(scheme.classes) if scheme else reads.CLASSES
            mine = [x | {"services": [c for c in x["services"] if c in names[adm]]} for x in listed
                    if x["admdvs"] == adm]  # fmt: skip
            rows += public_list_rows(mine, classes=classes, services=names[adm])
        rows.sort(key=lambda r: r["机构编码"])
        data = public_list_csv(rows) if format == "csv" else public_list_xlsx(rows)
    media = "text/csv; charset=utf-8" if format == "csv" else (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )  # fmt: skip
    return Response(
        content=data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="designated-{day.isoformat()}.{format}"'},
    )
