"""Read models of the requests awaiting a second person (双人复核), shared by the 审核 console page and the REST
resources: one request with its settlement's person, institution and amounts and the names of who filed and
who decided it; the queue, paged and ordered by the database. Plain dicts, amounts in fen, times as
``datetime``; nothing here writes."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from yibao.settlement.review import Status
from yibao.store.tables import AuditLog, Institution, Person, ReviewRequest, Settlement, StaffUser

_REQUESTER, _DECIDER = aliased(StaffUser), aliased(StaffUser)
# the columns the queue may be ordered by (the database orders every row, not a page)
ORDER = {
    "id": ReviewRequest.id,
    "setl_id": ReviewRequest.setl_id,
    "psn_name": Person.psn_name,
    "fixmedins_name": Institution.fixmedins_name,
    "medfee_sumamt": Settlement.medfee_sumamt,
    "fund_pay_sumamt": Settlement.fund_pay_sumamt,
    "requested_by": ReviewRequest.requested_by,
    "requested_at": ReviewRequest.requested_at,
    "status": ReviewRequest.status,
    "decided_at": ReviewRequest.decided_at,
}


def _select() -> Select:
    return (
        select(
            ReviewRequest,
            Settlement.psn_no,
            Person.psn_name,
            Settlement.fixmedins_code,
            Institution.fixmedins_name,
            Settlement.medfee_sumamt,
            Settlement.fund_pay_sumamt,
            Settlement.setl_time,
            Settlement.reversed_by,
            _REQUESTER.display_name,
            _DECIDER.display_name,
        )
        .join(Settlement, Settlement.setl_id == ReviewRequest.setl_id)
        .join(Person, Person.psn_no == Settlement.psn_no)
        .join(Institution, Institution.fixmedins_code == Settlement.fixmedins_code)
        .outerjoin(_REQUESTER, _REQUESTER.username == ReviewRequest.requested_by)
        .outerjoin(_DECIDER, _DECIDER.username == ReviewRequest.decided_by)
    )


def _row(found) -> dict:
    r, psn_no, psn_name, code, inst_name, medfee, fund, setl_time, reversed_by, filer, decider = found
    return {
        "id": r.id,
        "kind": r.kind,
        "setl_id": r.setl_id,
        "status": r.status,
        "reason": r.reason,
        "requested_by": r.requested_by,
        "requested_by_name": filer or r.requested_by,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by,
        "decided_by_name": (decider or r.decided_by) if r.decided_by else None,
        "decided_at": r.decided_at,
        "comment": r.comment,
        "result_setl_id": r.result_setl_id,
        "psn_no": psn_no,
        "psn_name": psn_name,
        "fixmedins_code": code,
        "fixmedins_name": inst_name,
        "medfee_sumamt": medfee,
        "fund_pay_sumamt": fund,
        "setl_time": setl_time,
        "settlement_reversed_by": reversed_by,
    }


def _where(status: str | None) -> list:
    return [] if status is None else [ReviewRequest.status == status]


def queue(
    s: Session,
    *,
    status: str | None = Status.PENDING,
    offset: int = 0,
    limit: int = 50,
    order: tuple[str | None, bool] = (None, False),
) -> list[dict]:
    """A page of requests (of ``status``; None: all). By default the waiting ones first, oldest first (the
    order they are worked in), then the decided ones, latest decision first; or by a column of :data:`ORDER`."""
    key, desc = order
    if key in ORDER:
        column = ORDER[key]
        by = [column.desc() if desc else column.asc(), ReviewRequest.id]
    else:
        waiting = case((ReviewRequest.status == Status.PENDING.value, 0), else_=1)
        by = [waiting, ReviewRequest.decided_at.desc(), ReviewRequest.requested_at, ReviewRequest.id]
    stmt = _select().where(*_where(status)).order_by(*by).offset(offset).limit(limit)
    return [_row(found) for found in s.execute(stmt)]


def count(s: Session, status: str | None = Status.PENDING) -> int:
    return s.scalar(select(func.count()).select_from(ReviewRequest).where(*_where(status))) or 0


def one(s: Session, request_id: int) -> dict | None:
    found = s.execute(_select().where(ReviewRequest.id == request_id)).first()
    return None if found is None else _row(found)


def of_settlement(s: Session, setl_id: str) -> list[dict]:
    """A settlement's requests, the latest first (at most one of them waits)."""
    stmt = _select().where(ReviewRequest.setl_id == setl_id).order_by(ReviewRequest.id.desc())
    return [_row(found) for found in s.execute(stmt)]


def waiting_id(s: Session, setl_id: str, kind: str) -> int | None:
    """The id of the request of ``kind`` waiting on a settlement, if one does."""
    return s.scalar(
        select(ReviewRequest.id).where(
            ReviewRequest.setl_id == setl_id,
            ReviewRequest.kind == kind,
            ReviewRequest.status == Status.PENDING.value,
        )
    )


def trail(s: Session, request_id: int) -> list[dict]:
    """The request's audit rows (审计记录), oldest first: who filed, decided or withdrew it, when, and why."""
    rows = s.scalars(
        select(AuditLog)
        .where(AuditLog.entity == "review_request", AuditLog.entity_id == str(request_id))
        .order_by(AuditLog.seq)
    )
    return [
        {
            "seq": a.seq,
            "at": a.at,
            "actor": a.actor,
            "action": a.action,
            "status": (a.after or {}).get("status"),
            "note": (a.after or {}).get("comment") or (a.after or {}).get("reason"),
        }
        for a in rows
    ]
