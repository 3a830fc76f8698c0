"""Contributions (缴费) and family mutual-aid bindings (共济)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, money


class Contribution(Base):
    """One person's contribution for one period: 职工 monthly (YYYYMM), 居民 yearly (YYYY00)."""

    __tablename__ = "contribution"
    __table_args__ = (
        UniqueConstraint("psn_no", "period", "kind"),
        Index("ix_contribution_employer", "emp_no", "period"),
        Index("ix_contribution_status", "status", "period"),
        CheckConstraint("due_amt = employer_amt + employee_amt + individual_amt", name="due_parts"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    emp_no: Mapped[str | None] = mapped_column(String(30))
    insutype: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))  # employee | flexible | resident
    period: Mapped[int] = mapped_column(Integer)
    wage: Mapped[int | None] = mapped_column(Fen)  # declared monthly wage (fen)
    base: Mapped[int] = money()  # contribution base after clamping
    employer_amt: Mapped[int] = money()  # 职工 employer share (to the pool)
    employee_amt: Mapped[int] = money()  # 职工 employee share (to the account) or 灵活就业 (to the pool)
    individual_amt: Mapped[int] = money()  # 居民 individual share the person pays (after 资助)
    assistance_amt: Mapped[int] = money()  # 资助参保 paid by the medical-assistance fund
    subsidy_amt: Mapped[int] = money()  # government subsidy (居民)
    due_amt: Mapped[int] = money()  # what the payer owes
    paid_amt: Mapped[int] = money()
    status: Mapped[str] = mapped_column(String(10), default="due")  # due | paid
    due_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)


class FamilyBinding(Base):
    """共济: a relative (spouse, parent, child) may pay from the owner's 职工 personal account."""

    __tablename__ = "family_binding"
    __table_args__ = (
        UniqueConstraint("owner_psn_no", "member_psn_no"),
        Index("ix_binding_member", "member_psn_no"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    member_psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    relation: Mapped[str] = mapped_column(String(10))  # spouse | parent | child
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
