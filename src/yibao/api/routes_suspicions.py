"""REST resources of the suspicion workflow (疑点处理, supervision.md §2.2; docs/supervision-workflow.md): a
reviewer confirms (初审确认) and notifies (告知机构) a suspicion, one or by filter; the institution accepts it or
appeals with files by the due date; a second reviewer upholds or dismisses it; an upheld amount is deducted
from the institution's next payment (one, or a month's in bulk). The list and one suspicion are the read
resources of :mod:`yibao.api.routes_supervision`; these answer each write with the suspicion's workflow.

Who: reviewers (稽核) hold ``supervision.write``. Staff tokens carry no institution (``POST /api/token`` is for
the bureau's staff), so — as a 特例单议 request is filed for a hospital — a handler (经办, ``settlement.write``)
records the institution's answer and names the institution (``fixmedins_code``), which must be the
suspicion's. The files of an appeal are read by ``supervision.read`` and by the handlers.

Refusals as the other resources give them (404 for what does not exist, 422 naming the field, 409 for a write
a concurrent call made first) and 403 for a step this user may not take (four eyes). Every write is one unit
of work, audited by the use case it calls. Amounts are decimal strings both ways, never JSON numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from yibao.api.auth import actor, require, require_any
from yibao.api.refusals import refusals
from yibao.errors import quote
from yibao.money import fmt_fen, parse_amount
from yibao.store import suspicion_workflow as reads
from yibao.store.db import unit_of_work
from yibao.supervision import suspicion_states as st
from yibao.supervision.service import suspicions as service

router = APIRouter(prefix="/api/supervision/suspicions", tags=["疑点处理 suspicion workflow"])

SuspicionId = Annotated[int, Path(ge=1, le=2**62, description="疑点编号")]
AttachmentId = Annotated[int, Path(ge=1, le=2**62, description="附件编号")]
Reviewer = Annotated[dict, Depends(require(st.REVIEW))]
Responder = Annotated[dict, Depends(require(st.RESPOND))]
REASON = Field(None, max_length=st.REASON_MAX * 2, description="理由（排除、申诉、维持申诉时必填）")


Reader = Annotated[dict, Depends(require_any(st.READ, st.RESPOND))]


class NoteIn(BaseModel):
    reason: str | None = REASON


class FilterIn(BaseModel):
    """Which suspicions a bulk notice takes (at least one condition besides the status)."""

    rule_code: str | None = Field(None, max_length=40)
    fixmedins_code: str | None = Field(None, max_length=12)
    status: Literal["open", "confirmed"] | None = Field(None, description="默认 open 与 confirmed")
    result_type: Literal["违规", "可疑"] | None = None
    min_amount: str | None = Field(None, max_length=24, description="疑点金额不低于（元）")
    run_id: int | None = Field(None, ge=1, le=2**62)
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(None, max_length=10_000)


class AcceptIn(BaseModel):
    fixmedins_code: str = Field(
        ..., min_length=1, max_length=12, description="答复的定点机构（须为疑点所属机构）"
    )
    reason: str | None = Field(None, max_length=st.REASON_MAX * 2, description="认可说明")


class DecideIn(BaseModel):
    decision: Literal["uphold", "dismiss"] = Field(..., description="uphold 维持 | dismiss 排除/撤销")
    reason: str | None = REASON
    amount: str | None = Field(None, max_length=24, description="维持金额（元，不超过疑点金额；默认全额）")


class DeductIn(BaseModel):
    month: str | None = Field(None, max_length=7, description="扣款月份 YYYY-MM（默认：下一次拨付）")


class DeductMonthIn(BaseModel):
    month: str = Field(..., max_length=7, description="扣款月份 YYYY-MM")
    fixmedins_code: str | None = Field(None, max_length=12, description="只扣此机构（默认全部）")


def _staff(claims: dict) -> st.Staff:
    return st.Staff(actor(claims), frozenset(claims.get("p") or ()))


def _regions_dir():
    from yibao.config import get_settings

    return get_settings().regions_dir


@contextmanager
def _refusals() -> Iterator[None]:
    """:func:`~yibao.api.refusals.refusals`, and 403 for a step the rules forbid this user."""
    with refusals():
        try:
            yield
        except st.NotPermitted as exc:
            raise HTTPException(403, exc.message) from None


def _money(fen: int | None) -> str | None:
    return None if fen is None else fmt_fen(fen)


def out(row, files: list[dict], today: date) -> dict:
    """A suspicion's workflow as these resources answer it: names beside the codes, amounts as strings."""
    return {
        "id": row.id,
        "rule_code": row.rule_code,
        "rule_name": row.rule_name,
        "result_type": row.result_type,
        "sev_deg": row.sev_deg,
        "fixmedins_code": row.fixmedins_code,
        "mdtrt_id": row.mdtrt_id,
        "setl_id": row.setl_id,
        "vola_amt": _money(row.vola_amt),
        "status": row.status,
        "status_name": st.name(row.status),
        "lapsed": st.is_lapsed(row.status, row.due_date, today),
        "confirmed_by": row.confirmed_by,
        "confirmed_at": row.confirmed_at,
        "notified_by": row.notified_by,
        "notified_at": row.notified_at,
        "due_date": row.due_date,
        "response": row.response,
        "response_reason": row.response_reason,
        "responded_by": row.responded_by,
        "responded_at": row.responded_at,
        "decision": row.decision,
        "decision_reason": row.decision_reason,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "upheld_amount": _money(row.upheld_fen) if row.decision == "upheld" else None,
        "deducted_amount": _money(row.deducted_fen) if row.deduction_entry_id else None,
        "deduction_month": row.deduction_month,
        "deduction_entry_id": row.deduction_entry_id,
        "deducted_by": row.deducted_by,
        "deducted_at": row.deducted_at,
        "attachments": [_file(f) for f in files],
    }


def _file(f: dict) -> dict:
    return {
        k: f[k] for k in ("id", "filename", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    }


def _one(suspicion_id: int) -> dict:
    with _refusals(), unit_of_work(write=False) as s:
        row = reads.one(s, suspicion_id)
        return out(row, reads.attachments_of(s, suspicion_id), date.today())


@router.post("/notify", summary="批量告知机构 (稽核): every open or confirmed suspicion of a filter")
def notify_many(body: FilterIn, claims: Reviewer) -> dict:
    with _refusals():
        try:
            min_fen = None if body.min_amount in (None, "") else int(parse_amount(body.min_amount))
        except ValueError:
            raise st.SuspicionRefused(f"min_amount: 金额无效 {quote(body.min_amount)}") from None
        f = reads.SuspicionFilter(
            rule_code=body.rule_code or None,
            fixmedins_code=body.fixmedins_code or None,
            status=body.status,
            result_type=body.result_type,
            min_fen=min_fen,
            run_id=body.run_id,
            ids=tuple(body.ids) if body.ids is not None else None,
        )
        with unit_of_work() as s:
            done = service.notify_many(
                s, f, staff=_staff(claims), now=datetime.now(), regions_dir=_regions_dir()
            )
    return {
        "notified": len(done.done),
        "ids": done.done,
        "amount": fmt_fen(done.amount_fen),
        "skipped": dict(done.skipped),
    }


@router.post("/deduct", summary="扣款 of a payment month (稽核): every upheld suspicion not yet deducted")
def deduct_month(body: DeductMonthIn, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        done = service.deduct_month(
            s,
            body.month,
            staff=_staff(claims),
            now=datetime.now(),
            fixmedins_code=body.fixmedins_code or None,
        )
    return {
        "month": done.month,
        "deducted": len(done.done),
        "ids": done.done,
        "entries": done.entries,
        "amount": fmt_fen(done.amount_fen),
        "by_institution": {
            code: {"count": n, "amount": fmt_fen(fen)}
            for code, (n, fen) in sorted(done.by_institution.items())
        },
    }


@router.post(
    "/{suspicion_id}/confirm", summary="初审确认 (稽核): a finding may go to notice (a 可疑 one must be)"
)
def confirm(suspicion_id: SuspicionId, body: NoteIn, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.confirm(s, suspicion_id, staff=_staff(claims), reason=body.reason, now=datetime.now())
    return _one(suspicion_id)


@router.post(
    "/{suspicion_id}/notify", summary="告知机构 (稽核): the due date set from the region's appeal_days"
)
def notify(suspicion_id: SuspicionId, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.notify(s, suspicion_id, staff=_staff(claims), now=datetime.now(), regions_dir=_regions_dir())
    return _one(suspicion_id)


@router.post(
    "/{suspicion_id}/accept", summary="机构认可 (经办, for the institution, by the due date): upheld at once"
)
def accept(suspicion_id: SuspicionId, body: AcceptIn, claims: Responder) -> dict:
    with _refusals(), unit_of_work() as s:
        service.accept(
            s,
            suspicion_id,
            staff=_staff(claims),
            fixmedins_code=body.fixmedins_code,
            reason=body.reason,
            now=datetime.now(),
        )
    return _one(suspicion_id)


@router.post(
    "/{suspicion_id}/appeal",
    summary="机构申诉 (经办, for the institution, by the due date): reason and files (multipart)",
)
def appeal(
    suspicion_id: SuspicionId,
    claims: Responder,
    fixmedins_code: Annotated[str, Form(min_length=1, max_length=12, description="答复的定点机构")],
    reason: Annotated[str, Form(max_length=st.REASON_MAX * 2, description="申诉理由")],
    files: Annotated[
        list[UploadFile] | None, File(description="申诉材料 (pdf, jpg, png, ofd, docx, xlsx)")
    ] = None,
) -> dict:
    uploads = files or []
    with _refusals():
        if len(uploads) > st.MAX_FILES:  # (before reading any of them)
            raise st.SuspicionRefused(f"attachments: 附件最多 {st.MAX_FILES} 个（现 {len(uploads)} 个）")
        # at most one byte past the limit is read: enough to refuse a file that is too big
        read = [(u.filename, u.file.read(st.MAX_BYTES + 1)) for u in uploads]
        with unit_of_work() as s:
            service.appeal(
                s,
                suspicion_id,
                staff=_staff(claims),
                fixmedins_code=fixmedins_code,
                reason=reason,
                files=read,
                now=datetime.now(),
            )
    return _one(suspicion_id)


@router.post(
    "/{suspicion_id}/decide",
    summary="复核 (稽核, not who notified it nor who recorded the appeal): uphold (an amount ≤ vola_amt) or dismiss",
)
def decide(suspicion_id: SuspicionId, body: DecideIn, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.decide(
            s,
            suspicion_id,
            staff=_staff(claims),
            decision=body.decision,
            reason=body.reason,
            amount=body.amount,
            now=datetime.now(),
        )
    return _one(suspicion_id)


@router.post(
    "/{suspicion_id}/deduct", summary="扣款 (稽核): the upheld amount posted against a payment month"
)
def deduct(suspicion_id: SuspicionId, body: DeductIn, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.deduct(s, suspicion_id, staff=_staff(claims), month=body.month or None, now=datetime.now())
    return _one(suspicion_id)


@router.get(
    "/{suspicion_id}/attachments", summary="申诉材料: the files of the appeal (names, sizes, SHA-256)"
)
def attachments(suspicion_id: SuspicionId, _: Reader) -> list[dict]:
    with _refusals(), unit_of_work(write=False) as s:
        reads.one(s, suspicion_id)
        return [_file(f) for f in reads.attachments_of(s, suspicion_id)]


@router.get("/{suspicion_id}/attachments/{attachment_id}", summary="一份申诉材料 (the file as uploaded)")
def attachment(suspicion_id: SuspicionId, attachment_id: AttachmentId, _: Reader) -> Response:
    with _refusals(), unit_of_work(write=False) as s:
        a = reads.attachment(s, suspicion_id, attachment_id)
        data, name, content_type, digest = a.data, a.filename, a.content_type, a.sha256
    return Response(
        content=data,
        media_type=content_type,
        headers={
            # RFC 6266/5987: a Chinese file name survives; the plain one is an ASCII stand-in
            "Content-Disposition": f'attachment; filename="attachment-{attachment_id}"; '
            f"filename*=UTF-8''{url_quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "X-Content-SHA256": digest,
        },
    )
