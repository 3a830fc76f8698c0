"""REST resources of designated-provider agreement management (定点医药机构协议管理, issue 24; docs/providers.md):
Chengdu's online services — apply (申请定点), change (基本信息变更), suspend (申请中止), terminate (申请解除), renew
(续签) and the progress query (进度查询) — with their files; the agency's steps on an application: accept or
refuse (受理 / 不予受理), ask for and receive supplementary materials (the evaluation clock stops meanwhile),
withdraw, approve or reject (the kinds without a panel); the evaluation: appoint the panel, each scorer's
sheet, the conclusion; and signing (签约), which makes the agreement. The agreement, the institution's status
(中止 / 恢复 / 解除, 医保医师备案, 协议处理), the annual assessment and the public list are in
:mod:`yibao.api.routes_providers_agreements`.

Who: ``providers.read`` reads (经办, 稽核, 局长); ``providers.write`` files and handles applications, evaluates,
signs, renews and registers practitioners (经办); a sanction — suspend, resume, terminate, a measure of the
ladder — is ``supervision.write`` (稽核). The public list (``GET /public/providers``) needs no login.

Conventions as the other resources: every write is one unit of work, audited by the use case it calls;
refusals by :func:`~yibao.api.refusals.refusals` (404 for what does not exist, 422 naming the field,
409 for a write a concurrent call made first); bodies bounded (:mod:`.routes_providers_models`): a value too
long or malformed is a 422 naming the field. Decimals (scores, results) are strings, never JSON numbers.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from yibao.api import routes_providers_agreements
from yibao.api import routes_providers_reads as reads
from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.api.routes_providers_models import (
    ApplicationIn,
    ApproveIn,
    Day,
    PanelIn,
    RefuseIn,
    SheetIn,
    SignIn,
    SupplementIn,
    SupplementRequestIn,
)
from yibao.providers.service import agreements, applications, evaluations
from yibao.store.db import unit_of_work
from yibao.store.tables import ProviderAttachment

Reader = Annotated[dict, Depends(require(routes_providers_agreements.READ))]
Writer = Annotated[dict, Depends(require(routes_providers_agreements.WRITE))]
ApplNo = Annotated[str, PathParam(min_length=1, max_length=30, description="申请编号")]
AttachmentId = Annotated[int, PathParam(ge=1, le=2**62, description="附件编号")]
MAX_BYTES = 10 * 1024 * 1024  # one file of an application (a scanned licence, a staff list)

applications_router = APIRouter(prefix="/api/providers/applications", tags=["定点申请 provider applications"])


def _one(appl_no: str) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        return reads.application_out(s, appl_no)


# --- the online services ------------------------------------------------------------------------------------


@applications_router.post(
    "",
    status_code=201,
    summary="网上申请: apply 申请定点 | change 基本信息变更 | suspend 申请中止 | terminate 申请解除 | renew 续签",
)
def submit(body: ApplicationIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        app = applications.submit(
            s,
            kind=body.kind,
            actor=actor(claims),
            org=body.org.data() if body.org else None,
            services=list(body.services) if body.services is not None else None,
            details=body.details.data() if body.details else None,
            fixmedins_code=body.fixmedins_code,
            admdvs=body.admdvs,
        )
        appl_no = app.appl_no
    return _one(appl_no)


@applications_router.get(
    "", summary="申请列表: by status, kind, institution (code, USCC or name), date; paged"
)
def list_applications(
    _: Reader,
    status: Literal[
        "submitted",
        "accepted",
        "refused",
        "supplementing",
        "evaluating",
        "passed",
        "failed",
        "signed",
        "withdrawn",
    ]
    | None = Query(None, description="状态"),
    kind: Literal["apply", "change", "suspend", "terminate", "renew"] | None = Query(None),
    institution: str | None = Query(
        None, min_length=1, max_length=100, description="机构编号、统一社会信用代码或名称"
    ),
    submitted_from: Day | None = Query(None, description="提交日期起"),
    submitted_to: Day | None = Query(None, description="提交日期止"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    with refusals(), unit_of_work(write=False) as s:
        total, items = reads.application_list(
            s, status=status, kind=kind, institution=institution, submitted_from=submitted_from,
            submitted_to=submitted_to, offset=(page - 1) * size, limit=size,
        )  # fmt: skip
    return {"items": items, "total": total, "page": page, "size": size}


@applications_router.get(
    "/{appl_no}",
    summary="进度查询: status, problems, the evaluation clock and its deadline, files, panel, agreements",
)
def get_application(appl_no: ApplNo, _: Reader) -> dict:
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/attachments", status_code=201, summary="上传申请材料 (multipart, ≤ 10 MB)"
)
def upload(
    appl_no: ApplNo,
    claims: Writer,
    material: Annotated[str, Form(min_length=1, max_length=60, description="材料名称（执业许可证 …）")],
    file: Annotated[UploadFile, File(description="文件 (pdf, jpg, png, ofd …)")],
) -> dict:
    data = file.file.read(MAX_BYTES + 1)  # one byte past the limit is enough to refuse it
    if len(data) > MAX_BYTES:
        raise HTTPException(413, f"file: 文件超过 {MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise HTTPException(422, "file: 文件为空")
    with refusals(), unit_of_work() as s:
        row = applications.add_attachment(
            s, appl_no, material=material, filename=file.filename or "", data=data,
            content_type=(file.content_type or "application/octet-stream")[:100], actor=actor(claims),
        )  # fmt: skip
        return reads.attachment_meta(row)


@applications_router.get(
    "/{appl_no}/attachments/{attachment_id}", summary="一份申请材料 (the file as uploaded)"
)
def attachment(appl_no: ApplNo, attachment_id: AttachmentId, _: Reader) -> Response:
    with refusals(), unit_of_work(write=False) as s:
        a = s.get(ProviderAttachment, attachment_id)
        if a is None or a.appl_no != appl_no:
            raise HTTPException(404, f"attachment_id: 申请 {appl_no} 没有附件 {attachment_id}")
        data, name, content_type, digest = a.data, a.filename, a.content_type, a.sha256
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="attachment-{attachment_id}"; '
            f"filename*=UTF-8''{url_quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "X-Content-SHA256": digest,
        },
    )


# --- the agency's steps -------------------------------------------------------------------------------------


@applications_router.post(
    "/{appl_no}/accept", summary="受理 or 不予受理: accepted, or refused with every problem named (problems)"
)
def accept(appl_no: ApplNo, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.accept(s, appl_no, actor=actor(claims))
    return _one(appl_no)


@applications_router.post("/{appl_no}/refuse", summary="不予受理 for a reason staff give")
def refuse(appl_no: ApplNo, body: RefuseIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.refuse(s, appl_no, reason=body.reason, actor=actor(claims))
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/supplement-request", summary="通知补充材料: what is missing; the evaluation clock stops"
)
def request_supplement(appl_no: ApplNo, body: SupplementRequestIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.request_supplement(s, appl_no, asked=list(body.asked), actor=actor(claims))
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/supplement", summary="材料补齐: the data corrected; the clock runs again"
)
def supplement(appl_no: ApplNo, body: SupplementIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.supplement(s, appl_no, actor=actor(claims), org=body.org.data() if body.org else None)
    return _one(appl_no)


@applications_router.post("/{appl_no}/withdraw", summary="撤回 (until signed)")
def withdraw(appl_no: ApplNo, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.withdraw(s, appl_no, actor=actor(claims))
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/approve", summary="审核同意 (change, suspend, terminate, renew): it takes effect, 办结"
)
def approve(appl_no: ApplNo, body: ApproveIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.approve(
            s, appl_no, actor=actor(claims), services=list(body.services) if body.services else None
        )
    return _one(appl_no)


@applications_router.post("/{appl_no}/reject", summary="审核不同意 (change, suspend, terminate, renew)")
def reject(appl_no: ApplNo, body: RefuseIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        applications.reject(s, appl_no, reason=body.reason, actor=actor(claims))
    return _one(appl_no)


# --- evaluation and signing ---------------------------------------------------------------------------------


@applications_router.post(
    "/{appl_no}/panel", summary="组织评估: the panel (experts and social supervisors, none with a conflict)"
)
def appoint_panel(appl_no: ApplNo, body: PanelIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        scorers = [x.model_dump() for x in body.scorers]
        evaluations.appoint_panel(s, appl_no, scorers=scorers, actor=actor(claims))
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/sheets", status_code=201, summary="评分表: one scorer's scores, every indicator of the scale"
)
def record_sheet(appl_no: ApplNo, body: SheetIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        sheet = evaluations.record_sheet(
            s, appl_no, scorer_id=body.scorer_id, scores=dict(body.scores), actor=actor(claims)
        )
        return {
            "appl_no": appl_no,
            "scorer_id": sheet.scorer_id,
            "name": sheet.name,
            "role": sheet.role,
            "field": sheet.field,
            "scores": sheet.scores,
            "total": sheet.total,
        }


@applications_router.post(
    "/{appl_no}/conclude", summary="评估结论: the sheets aggregated; passed at the pass mark, else failed"
)
def conclude(appl_no: ApplNo, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        evaluations.conclude_evaluation(s, appl_no, actor=actor(claims))
    return _one(appl_no)


@applications_router.post(
    "/{appl_no}/sign",
    status_code=201,
    summary="签约: the main agreement (and supplementary ones) for the services granted",
)
def sign(appl_no: ApplNo, body: SignIn, claims: Writer) -> dict:
    with refusals(), unit_of_work() as s:
        main = agreements.sign(
            s, appl_no, actor=actor(claims), granted=list(body.granted) if body.granted is not None else None,
            begndate=body.begndate, fixmedins_code=body.fixmedins_code,
        )  # fmt: skip
        agreement_no = main.agreement_no
    with refusals(), unit_of_work(write=False) as s:
        return reads.agreement_out(s, agreement_no)


router = APIRouter()
router.include_router(applications_router)
router.include_router(routes_providers_agreements.router)
router.include_router(routes_providers_agreements.public_router)
