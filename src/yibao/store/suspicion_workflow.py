"""The suspicion workflow (疑点处理) in the store: a suspicion locked for a step, the worklist filtered and
ordered by the database, an appeal's files, the deduction's ledger entry, and the deductions a hospital's
monthly statement shows. The rules are :mod:`yibao.supervision.suspicion_states`; the use cases
:mod:`yibao.supervision.service.suspicions`. Money in fen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yibao.errors import NotFound
from yibao.funds.journal import post_many
from yibao.funds.ledger import Posting
from yibao.store.tables import (
    AuditAttachment,
    AuditSuspicion,
    Institution,
    PaymentRun,
    Settlement,
)
from yibao.supervision.suspicion_states import Attachment, Status

ENTITY = "audit_suspicion"  # the audit rows' entity
POSTED = "posted"  # a payment run in force (store.payment_runs.POSTED)


@dataclass(frozen=True)
class SuspicionFilter:
    """A worklist: by rule, institution, status (``overdue`` also takes a notice past its due date not yet
    marked), result type, at least an amount (fen), a due date on or before / after, a run, ids, a
    deduction month."""

    rule_code: str | None = None
    fixmedins_code: str | None = None
    status: str | tuple[str, ...] | None = None
    result_type: str | None = None
    min_fen: int | None = None
    due_to: date | None = None
    due_from: date | None = None
    run_id: int | None = None
    ids: tuple[int, ...] | None = None
    deduction_month: str | None = None
    today: date | None = None  # what "past its due date" is measured against (default: today)

    def where(self, q: Select) -> Select:
        t = AuditSuspicion
        if self.rule_code:
            q = q.where(t.rule_code == self.rule_code)
        if self.fixmedins_code:
            q = q.where(t.fixmedins_code == self.fixmedins_code)
        if self.status:
            wanted = (self.status,) if isinstance(self.status, str) else tuple(self.status)
            cond = t.status.in_(wanted)
            if Status.OVERDUE in wanted:  # a lapsed notice is overdue, marked or not
                today = self.today or date.today()
                cond = or_(cond, and_(t.status == Status.NOTIFIED.value, t.due_date < today))
            q = q.where(cond)
        if self.result_type:
            q = q.where(t.result_type == self.result_type)
        if self.min_fen is not None:
            q = q.where(t.vola_amt >= self.min_fen)
        if self.due_to is not None:
            q = q.where(t.due_date <= self.due_to)
        if self.due_from is not None:
            q = q.where(t.due_date >= self.due_from)
        if self.run_id is not None:
            q = q.where(t.run_id == self.run_id)
        if self.ids is not None:
            q = q.where(t.id.in_(self.ids))
        if self.deduction_month:
            q = q.where(t.deduction_month == self.deduction_month)
        return q


def _ordered(q: Select) -> Select:
    """Soonest due first (none last), then the larger amount, then the id."""
    t = AuditSuspicion
    return q.order_by(t.due_date.is_(None), t.due_date, t.vola_amt.desc(), t.id)


# --- what a step locks --------------------------------------------------------------------------------------------


def locked(s: Session, suspicion_id: int) -> AuditSuspicion:
    """The suspicion, locked until commit (FOR UPDATE): two people acting on it at once take turns, and the
    second sees the first's step."""
    row = s.scalar(
        select(AuditSuspicion)
        .where(AuditSuspicion.id == suspicion_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"suspicion: 疑点不存在 #{suspicion_id}")
    return row


def locked_many(s: Session, f: SuspicionFilter, limit: int | None = None) -> list[AuditSuspicion]:
    """The suspicions of a filter, locked until commit, by id (a bulk step takes them in one order, so two
    bulk steps cannot deadlock)."""
    q = f.where(select(AuditSuspicion)).order_by(AuditSuspicion.id).limit(limit)
    return list(s.scalars(q.with_for_update().execution_options(populate_existing=True)))


def admdvs_of(s: Session, fixmedins_code: str | None) -> str | None:
    if not fixmedins_code:
        return None
    return s.scalar(select(Institution.admdvs).where(Institution.fixmedins_code == fixmedins_code))


def insutype_of(s: Session, setl_id: str | None) -> str | None:
    if not setl_id:
        return None
    return s.scalar(select(Settlement.insutype).where(Settlement.setl_id == setl_id))


def last_paid_month(s: Session) -> tuple[int, int] | None:
    """The latest (year, month) a posted payment run paid: a month run's, or December of a cleared year."""
    months = s.execute(
        select(PaymentRun.kind, PaymentRun.year, PaymentRun.month).where(PaymentRun.status == POSTED)
    ).all()
    paid = [(y, 12 if kind == "clear" else m) for kind, y, m in months if kind in ("month", "clear")]
    return max(paid, default=None)


# --- an appeal's files ----------------------------------------------------------------------------------------------


def add_attachments(
    s: Session, suspicion_id: int, files: list[Attachment], *, by: str, at: datetime
) -> list[int]:
    rows = [
        AuditAttachment(
            suspicion_id=suspicion_id,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            sha256=a.sha256,
            data=a.data,
            uploaded_by=by,
            uploaded_at=at,
        )
        for a in files
    ]
    s.add_all(rows)
    s.flush()
    return [r.id for r in rows]


ATTACHMENT_COLUMNS = (
    AuditAttachment.id,
    AuditAttachment.filename,
    AuditAttachment.content_type,
    AuditAttachment.size,
    AuditAttachment.sha256,
    AuditAttachment.uploaded_by,
    AuditAttachment.uploaded_at,
)


def attachments_of(s: Session, suspicion_id: int) -> list[dict]:
    """The files of a suspicion's appeal, without their content, in the order they were attached."""
    rows = s.execute(
        select(*ATTACHMENT_COLUMNS)
        .where(AuditAttachment.suspicion_id == suspicion_id)
        .order_by(AuditAttachment.id)
    )
    return [dict(r._mapping) for r in rows]


def attachment(s: Session, suspicion_id: int, attachment_id: int) -> AuditAttachment:
    row = s.get(AuditAttachment, attachment_id)
    if row is None or row.suspicion_id != suspicion_id:
        raise NotFound(f"attachment: 疑点 #{suspicion_id} 没有附件 #{attachment_id}")
    return row


# --- the deduction ---------------------------------------------------------------------------------------------------


def post_deductions(s: Session, entries: list[tuple[str, list[Posting], datetime, str | None]]) -> list[int]:
    """Post the balanced entries of deductions ((entry_type, legs, when, memo) each) in the caller's
    transaction; their ids, in order."""
    return post_many(s, entries)


def deductions(s: Session, fixmedins_code: str, month: str) -> list[AuditSuspicion]:
    """The suspicions deducted from ``fixmedins_code``'s payment of ``month`` (YYYY-MM), by id."""
    return list(
        s.scalars(
            select(AuditSuspicion)
            .where(
                AuditSuspicion.deduction_month == month,
                AuditSuspicion.fixmedins_code == fixmedins_code,
                AuditSuspicion.status == Status.DEDUCTED.value,
            )
            .order_by(AuditSuspicion.id)
        )
    )


# --- the worklist ----------------------------------------------------------------------------------------------------


def count_of(s: Session, f: SuspicionFilter) -> int:
    return s.scalar(f.where(select(func.count()).select_from(AuditSuspicion))) or 0


def amount_of(s: Session, f: SuspicionFilter) -> int:
    return int(s.scalar(f.where(select(func.coalesce(func.sum(AuditSuspicion.vola_amt), 0)))) or 0)


def records(
    s: Session, f: SuspicionFilter, limit: int | None = None, *, offset: int = 0
) -> Iterator[AuditSuspicion]:
    """The worklist's suspicions, soonest due first, paged by the database."""
    yield from s.scalars(_ordered(f.where(select(AuditSuspicion))).offset(offset).limit(limit))


def one(s: Session, suspicion_id: int) -> AuditSuspicion:
    row = s.get(AuditSuspicion, suspicion_id)
    if row is None:
        raise NotFound(f"suspicion: 疑点不存在 #{suspicion_id}")
    return row


def institution_names(s: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = s.execute(
        select(Institution.fixmedins_code, Institution.fixmedins_name).where(
            Institution.fixmedins_code.in_(sorted(set(codes)))
        )
    )
    return {code: name for code, name in rows}
