"""Requests awaiting a second person (双人复核): what a handler asked for, why, and who decided it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId

_WAITING = text("status = 'pending'")


class ReviewRequest(Base):
    """One request (a settlement's 结算撤销 …): filed with a reason, then approved, rejected or withdrawn.

    At most one request of a kind waits per settlement: a unique index over the pending rows only, so two
    handlers filing at the same moment cannot both succeed. The statuses and who may change them are
    :mod:`yibao.settlement.review`'s table."""

    __tablename__ = "review_request"
    __table_args__ = (
        Index("ix_review_request_queue", "status", "requested_at"),
        Index("ix_review_request_settlement", "setl_id"),
        Index(
            "ix_review_request_waiting",
            "setl_id",
            "kind",
            unique=True,
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # reversal
    setl_id: Mapped[str] = mapped_column(ForeignKey("settlement.setl_id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(40))  # the reviewer, or the requester withdrawing
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(String(200))  # 审核意见
    result_setl_id: Mapped[str | None] = mapped_column(String(30))  # the reversal an approval made
