"""REST resources of 特例单议 (special-case review, payment-drg-dip.md §3.6): a hospital's request for one settled
inpatient case filed (by a handler, for the hospital), decided by a reviewer who is neither its filer nor from
that hospital — approved with extra points or an FFS amount, or not — or withdrawn by its filer; the list and
one request with its case.

Refusals as the enrollment resources give them (404 for what does not exist, 422 naming the field, 409 for a
write a concurrent call made first), and 403 for a step this user may not take (their own request to decide,
someone else's to withdraw, a reviewer from the hospital itself). Every write is one unit of work, audited by
the use case it calls. Points and amounts are decimal strings both ways, never JSON numbers.

Staff tokens carry no institution (``POST /api/token`` is for the bureau's staff; a hospital's HIS signs
facade calls, not these resources), so the hospital a request is for is a field of the request, and the
reviewer says where they work (``reviewer_institution``) for the conflict-of-interest rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from yibao.api.auth import actor, require, require_any
from yibao.api.refusals import refusals
from yibao.money import fmt_fen
from yibao.payment import special_review as sr
from yibao.payment.service import special_review as service
from yibao.store import special_reviews as reads
from yibao.store.db import unit_of_work

router = APIRouter(prefix="/api/payment", tags=["特例单议 special reviews"])

ReviewId = Annotated[int, Path(ge=1, le=2**62, description="特例单议申请编号")]
Filer = Annotated[dict, Depends(require(sr.FILE))]
Reviewer = Annotated[dict, Depends(require(sr.DECIDE))]
STATUSES = Literal["filed", "approved", "rejected", "withdrawn", "all"]


Reader = Annotated[dict, Depends(require_any(sr.READ, sr.FILE))]


class EvidenceIn(BaseModel):
    name: str = Field(..., max_length=sr.NAME_MAX * 2, description="附件名称")
    digest: str | None = Field(None, max_length=80, description="SHA-256（64 位十六进制，可加 sha256: 前缀）")


class FileIn(BaseModel):
    fixmedins_code: str = Field(..., min_length=1, max_length=12, description="申请医院（定点医药机构编号）")
    year: int = Field(..., ge=2000, le=2100, description="结算年度")
    setl_id: str = Field(..., min_length=1, max_length=30, description="病例的出院结算ID")
    reason: str = Field(
        ...,
        max_length=40,
        description="long_stay 超长住院 | icu 重症监护 | new_tech 新药新技术 | extreme 费用极高 | rescue 急危重症抢救",
    )
    statement: str = Field(..., max_length=sr.STATEMENT_MAX * 2, description="医院说明（必填，最多 2000 字）")
    evidence: list[EvidenceIn | str] = Field(
        default_factory=list, max_length=sr.EVIDENCE_MAX * 2, description="证明材料（名称，或名称与摘要）"
    )


class DecideIn(BaseModel):
    decision: Literal["approve", "reject"] = Field(..., description="approve 通过 | reject 不通过")
    extra_points: str | None = Field(
        None, max_length=24, description="通过：追加点数（大于 0，最多四位小数），与 ffs_amount 二选一"
    )
    ffs_amount: str | None = Field(
        None, max_length=24, description="通过：按项目付费金额（元，两位小数），与 extra_points 二选一"
    )
    note: str | None = Field(None, max_length=sr.NOTE_MAX * 2, description="评审意见（不通过时必填）")
    reviewer_institution: str | None = Field(
        None, max_length=12, description="评审人员所在机构（利益冲突回避；医保经办机构人员不填）"
    )


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=sr.NOTE_MAX * 2, description="撤回说明")


def _staff(claims: dict) -> sr.Staff:
    return sr.Staff(actor(claims), frozenset(claims.get("p") or ()))


@contextmanager
def _refusals() -> Iterator[None]:
    """:func:`~yibao.api.refusals.refusals`, and 403 for a step the rules forbid this user."""
    with refusals():
        try:
            yield
        except sr.NotPermitted as exc:
            raise HTTPException(403, exc.message) from None


def _out(r: dict) -> dict:
    """A request as the resources answer it: names beside the codes, points and amounts as strings."""
    out = {k: v for k, v in r.items() if k not in ("extra_points4", "ffs_fen", "medfee_sumamt", "case")}
    out.update(
        status_name=sr.name(r["status"]),
        reason_name=sr.kind_name(r["reason"]),
        scheme_name=sr.SCHEME_NAMES.get(r["scheme"], r["scheme"]),
        extra_points=sr.points_words(r["extra_points4"]) if r["extra_points4"] else None,
        ffs_amount=None if r["ffs_fen"] is None else fmt_fen(r["ffs_fen"]),
    )
    facts = r.get("case")
    if facts is not None:
        c = facts.case
        out["case"] = {
            "group_code": c.group_code,
            "group_name": facts.group_name,
            "medfee_sumamt": fmt_fen(c.cost_fen),
            "los": c.los,
            "admitted": facts.admitted,
            "discharged": c.discharged,
            "dscg_way": c.dscg_way,
        }
    return out


def _one(s, review_id: int) -> dict:
    found = reads.one(s, review_id)
    if found is None:
        raise HTTPException(404, f"review: 特例单议申请不存在 #{review_id}")
    return _out(found)


@router.get("/special-reviews", summary="特例单议申请列表 (waiting first, oldest first), filtered and paged")
def list_reviews(
    _: Reader,
    status: STATUSES = Query("all", description="filed 待评审 … all 全部"),
    fixmedins_code: str | None = Query(None, max_length=12),
    year: int | None = Query(None, ge=2000, le=2100),
    reason: str | None = Query(None, max_length=40),
    setl_id: str | None = Query(None, max_length=30),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> dict:
    f = reads.ReviewFilter(
        status=None if status == "all" else status,
        fixmedins_code=fixmedins_code or None,
        year=year,
        reason=reason or None,
        setl_id=setl_id or None,
    )
    with unit_of_work(write=False) as s:
        rows = reads.records(s, f, size, offset=(page - 1) * size)
        total = reads.count_of(s, f)
    return {"items": [_out(r) for r in rows], "total": total, "page": page, "size": size}


@router.get("/special-reviews/{review_id}", summary="一项特例单议申请: the case, the statement, the decision")
def one(review_id: ReviewId, _: Reader) -> dict:
    with unit_of_work(write=False) as s:
        return _one(s, review_id)


@router.post(
    "/special-reviews",
    status_code=201,
    summary="申请特例单议 (经办, for the hospital): within the cap, one request per case",
)
def file_request(body: FileIn, claims: Filer) -> dict:
    evidence = [e if isinstance(e, str) else e.model_dump() for e in body.evidence]
    with _refusals(), unit_of_work() as s:
        new = service.file_request(
            s,
            staff=_staff(claims),
            fixmedins_code=body.fixmedins_code,
            year=body.year,
            setl_id=body.setl_id,
            reason=body.reason,
            statement=body.statement,
            evidence=evidence,
            now=datetime.now(),
        )
    with unit_of_work(write=False) as s:
        return _one(s, new)


@router.post(
    "/special-reviews/{review_id}/decide",
    summary="评审 (审核, not the filer, not from the hospital): approve with points or an FFS amount, or reject",
)
def decide(review_id: ReviewId, body: DecideIn, claims: Reviewer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.decide(
            s,
            review_id,
            staff=_staff(claims),
            decision=body.decision,
            extra_points=body.extra_points,
            ffs_amount=body.ffs_amount,
            note=body.note,
            reviewer_institution=body.reviewer_institution,
            now=datetime.now(),
        )
    with unit_of_work(write=False) as s:
        return _one(s, review_id)


@router.post("/special-reviews/{review_id}/withdraw", summary="撤回 (the filer, while it waits)")
def withdraw(review_id: ReviewId, body: NoteIn, claims: Filer) -> dict:
    with _refusals(), unit_of_work() as s:
        service.withdraw(s, review_id, staff=_staff(claims), note=body.note, now=datetime.now())
    with unit_of_work(write=False) as s:
        return _one(s, review_id)
