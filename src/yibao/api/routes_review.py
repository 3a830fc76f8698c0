"""REST resources of the requests awaiting a second person (双人复核): a handler files the reversal of a
settlement with a reason, a reviewer approves (the reversal is made then) or rejects it, the requester may
withdraw it; the queue, a request, a settlement's requests.

Refusals as the enrollment resources give them (404 for what does not exist, 422 naming the field, 409 for a
request a concurrent call filed first), and 403 for a step this user may not take — their own request to
approve, someone else's to withdraw. Every write is one unit of work, audited by the use case it calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from yibao.api.auth import actor, require
from yibao.api.refusals import refusals
from yibao.money import fmt_fen
from yibao.settlement import review, review_service
from yibao.settlement.review import REVIEW, WRITE, Staff
from yibao.store import review_reads as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import Settlement
from yibao.store.uow import lent_to

router = APIRouter(prefix="/api", tags=["审核 reviews"])

RequestId = Annotated[int, Path(ge=1, le=2**62, description="申请编号")]
SetlId = Annotated[str, Path(max_length=30, description="结算ID")]
Reader = Annotated[dict, Depends(require("settlement.read"))]
Writer = Annotated[dict, Depends(require(WRITE))]
Reviewer = Annotated[dict, Depends(require(REVIEW))]
STATUSES = Literal["pending", "approved", "rejected", "withdrawn", "all"]


# (the bodies bound what is read; the use case says the limit, in characters, with the field's name)
class ReasonIn(BaseModel):
    reason: str = Field(..., max_length=review.REASON_MAX * 2, description="撤销原因（必填，最多 200 字）")


class CommentIn(BaseModel):
    comment: str | None = Field(
        None, max_length=review.REASON_MAX * 2, description="审核意见（驳回时必填，最多 200 字）"
    )


def _staff(claims: dict) -> Staff:
    return Staff(actor(claims), frozenset(claims.get("p") or ()))


@contextmanager
def _refusals() -> Iterator[None]:
    """:func:`~yibao.api.refusals.refusals`, and 403 for a step the rules forbid this user."""
    with refusals():
        try:
            yield
        except review.NotPermitted as exc:
            raise HTTPException(403, exc.message) from None


def _out(r: dict, now: datetime) -> dict:
    return {
        **r,
        "status_name": review.name(r["status"]),
        "kind_name": review.KIND_NAMES.get(r["kind"], r["kind"]),
        "medfee_sumamt": fmt_fen(r["medfee_sumamt"]),
        "fund_pay_sumamt": fmt_fen(r["fund_pay_sumamt"]),
        "waited": review.waited(r["requested_at"], r["decided_at"] or now),
    }


def _one(s, request_id: int) -> dict:
    found = reads.one(s, request_id)
    if found is None:
        raise HTTPException(404, f"request: 申请不存在 #{request_id}")
    return _out(found, datetime.now())


@router.get("/reviews", summary="审核工作台: the queue (waiting first, oldest first), paged")
def queue(
    _: Reviewer,
    status: STATUSES = Query("pending", description="pending 待审核 … all 全部"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    which = None if status == "all" else status
    now = datetime.now()
    with unit_of_work(write=False) as s:
        rows = reads.queue(s, status=which, offset=(page - 1) * size, limit=size)
        total = reads.count(s, which)
    return {"items": [_out(r, now) for r in rows], "total": total, "page": page, "size": size}


@router.get("/reviews/{request_id}", summary="一项申请: reason, who filed and decided it, the settlement")
def one(request_id: RequestId, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        return _one(s, request_id)


@router.get("/settlements/{setl_id}/reviews", summary="一笔结算的撤销申请 (latest first)")
def of_settlement(setl_id: SetlId, _: Reader) -> dict:
    now = datetime.now()
    with unit_of_work(write=False) as s:
        if s.get(Settlement, setl_id) is None:
            raise HTTPException(404, f"setl_id: 结算不存在 {setl_id}")
        return {"setl_id": setl_id, "items": [_out(r, now) for r in reads.of_settlement(s, setl_id)]}


@router.post(
    "/settlements/{setl_id}/reversal-requests",
    status_code=201,
    summary="申请撤销结算 (经办): a second person approves it before the settlement is reversed",
)
def file_reversal(setl_id: SetlId, body: ReasonIn, claims: Writer) -> dict:
    with _refusals(), unit_of_work() as s, lent_to(s) as uow:
        new = review_service.file_reversal(
            uow, setl_id=setl_id, reason=body.reason, staff=_staff(claims), now=datetime.now()
        )
    with unit_of_work(write=False) as s:
        return _one(s, new)


def _step(step, request_id: int, claims: dict, comment: str | None) -> dict:
    """One step of a request in its own unit of work; the request as it then is."""
    with _refusals(), unit_of_work() as s, lent_to(s) as uow:
        step(uow, request_id, staff=_staff(claims), comment=comment, now=datetime.now())
    with unit_of_work(write=False) as s:
        return _one(s, request_id)


@router.post(
    "/reviews/{request_id}/approve", summary="审核通过: the settlement is reversed (not by its requester)"
)
def approve(request_id: RequestId, body: CommentIn, claims: Reviewer) -> dict:
    return _step(review_service.approve, request_id, claims, body.comment)


@router.post("/reviews/{request_id}/reject", summary="驳回 (comment required): the settlement stands")
def reject(request_id: RequestId, body: CommentIn, claims: Reviewer) -> dict:
    return _step(review_service.reject, request_id, claims, body.comment)


@router.post("/reviews/{request_id}/withdraw", summary="撤回 (the requester, while it waits)")
def withdraw(request_id: RequestId, body: CommentIn, claims: Writer) -> dict:
    return _step(review_service.withdraw, request_id, claims, body.comment)
