"""Use cases of the requests awaiting a second person (双人复核) over the store: file a reversal of a settlement,
approve it (the reversal made in the same transaction), reject it, withdraw it. Each changes one request,
writes its audit row with an action constant and the request's status before and after, and runs in the
caller's unit of work (a console page or a REST call lends its session: :func:`yibao.store.uow.lent_to`).

The rules — the statuses, who may take which step, what a reason is — are :mod:`yibao.settlement.review`.
An approved reversal is the one the facade's 2208 makes (:func:`yibao.settlement.settle.reverse`): the same
negated settlement, ledger entry, accumulators, account and audit row; a pharmacy's visit is then cancelled
as its 2103 cancels it. Only the actor differs: the reviewer who approved, not an institution's operator. A
look-back supplement (补充救助, the bureau's own settlement) is reversed as ``yibao assistance reverse`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from yibao.audit_actions import Action
from yibao.errors import NotFound
from yibao.settlement import queries as q
from yibao.settlement import review, settle, supplements
from yibao.settlement import service as svc
from yibao.settlement.review import Kind, ReviewRefused, Staff, Status
from yibao.store import audit
from yibao.store import review_reads as reads
from yibao.store.tables import Institution, ReviewRequest
from yibao.store.uow import UnitOfWork

ENTITY = "review_request"
PHARMACY = "2"  # fixmedins_type 零售药店: its visit is one purchase, cancelled with its settlement (2103)
FIELDS = ("status", "decided_by", "decided_at", "comment", "result_setl_id")


@dataclass
class BureauContext(svc.Context):
    """The settlement's institution as the reversal sees it, the bureau's member of staff as its actor."""

    staff: str = ""

    @property
    def actor(self) -> str:
        return self.staff


def file_reversal(uow: UnitOfWork, *, setl_id: str, reason: str | None, staff: Staff, now: datetime) -> int:
    """经办申请结算撤销: a handler asks for the reversal of a standing settlement, with the reason. Refused now
    for anything that would refuse the reversal itself (a later settlement of the visit standing, a
    supplement …), tried and undone in a savepoint. Returns the request's id."""
    review.check_filer(staff)
    why = review.reason(reason)
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))
    if row is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    review.check_filing(
        setl_id, row.refd_setl_flag, row.reversed_by, reads.waiting_id(uow.session, setl_id, Kind.REVERSAL)
    )
    with uow.savepoint():  # (what approval would do, undone: its refusal, if any, is the handler's to read)
        _reverse(uow, setl_id, staff, now)
    req = ReviewRequest(
        kind=Kind.REVERSAL.value,
        setl_id=setl_id,
        status=Status.PENDING.value,
        reason=why,
        requested_by=staff.username,
        requested_at=now,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(req)
    except IntegrityError:  # (the waiting-request index: another handler filed it since it was read above)
        raise ReviewRefused(
            f"setl_id: 结算 {setl_id} 已有待审核的撤销申请（刚由他人提交），不能重复申请"
        ) from None
    audit.record(
        uow,
        actor=staff.username,
        action=Action.REQUEST,
        entity=ENTITY,
        entity_id=str(req.id),
        after={"kind": req.kind, "setl_id": setl_id, "status": req.status, "reason": why},
        at=now,
    )
    return req.id


def approve(
    uow: UnitOfWork, request_id: int, *, staff: Staff, comment: str | None = None, now: datetime
) -> str:
    """审核通过: another member of staff (settlement.review) approves; the settlement is reversed in this same
    transaction. Returns the reversal's setl_id."""
    req = _locked(uow, request_id)
    after = review.transition(Action.APPROVE, req.status, staff=staff, requested_by=req.requested_by)
    note = review.comment(Action.APPROVE, comment)
    rev_id = _reverse(uow, req.setl_id, staff, now)
    _decide(uow, req, Action.APPROVE, after, staff, note, now, rev_id)
    return rev_id


def reject(uow: UnitOfWork, request_id: int, *, staff: Staff, comment: str | None, now: datetime) -> None:
    """驳回: another member of staff (settlement.review) refuses it, saying why; the settlement stands."""
    req = _locked(uow, request_id)
    after = review.transition(Action.REJECT, req.status, staff=staff, requested_by=req.requested_by)
    _decide(uow, req, Action.REJECT, after, staff, review.comment(Action.REJECT, comment), now)


def withdraw(
    uow: UnitOfWork, request_id: int, *, staff: Staff, comment: str | None = None, now: datetime
) -> None:
    """撤回: the requester takes back a request still waiting."""
    req = _locked(uow, request_id)
    after = review.transition(Action.WITHDRAW, req.status, staff=staff, requested_by=req.requested_by)
    _decide(uow, req, Action.WITHDRAW, after, staff, review.comment(Action.WITHDRAW, comment), now)


def _locked(uow: UnitOfWork, request_id: int) -> ReviewRequest:
    """The request, locked until commit (FOR UPDATE): two reviewers deciding at once take turns, and the
    second sees the first's decision."""
    req = uow.session.scalar(
        select(ReviewRequest)
        .where(ReviewRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if req is None:
        raise NotFound(f"request: 申请不存在 #{request_id}")
    return req


def _decide(
    uow: UnitOfWork,
    req: ReviewRequest,
    action: Action,
    after: Status,
    staff: Staff,
    note: str | None,
    now: datetime,
    rev_id: str | None = None,
) -> None:
    before = {k: getattr(req, k) for k in FIELDS}
    req.status, req.decided_by, req.decided_at = after.value, staff.username, now
    req.comment, req.result_setl_id = note, rev_id
    uow.session.flush()
    audit.record(
        uow,
        actor=staff.username,
        action=action,
        entity=ENTITY,
        entity_id=str(req.id),
        before=before,
        after={k: getattr(req, k) for k in FIELDS} | {"setl_id": req.setl_id},
        at=now,
    )


def _reverse(uow: UnitOfWork, setl_id: str, staff: Staff, now: datetime) -> str:
    """The settlement's reversal as its institution's 2208 makes it (a pharmacy's as its 2103; a look-back
    supplement's as the bureau's own reversal of it), made by ``staff``; its id."""
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))
    if row is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    if (
        row.supplement_of is not None
    ):  # 补充救助: the bureau's own settlement, as `yibao assistance reverse` makes it
        return supplements.reverse_supplement(uow, setl_id=setl_id, actor=staff.username, now=now)
    inst = uow.session.get(Institution, row.fixmedins_code)
    ctx = BureauContext(
        fixmedins_code=row.fixmedins_code,
        opter=staff.username,
        now=now,
        admdvs=inst.admdvs,
        dedc_hosp_lv=inst.dedc_hosp_lv,
        staff=staff.username,
    )
    outcome = settle.reverse(uow, ctx, setl_id=setl_id)
    if inst.fixmedins_type == PHARMACY:
        svc.cancel_visit(uow, ctx, outcome.visit.mdtrt_id)
    return outcome.setl_id
