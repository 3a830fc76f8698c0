"""The settlement list (医保结算清单, 4101), its diagnoses and procedures, and how it was grouped."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId

_VALID = text("vali_flag = '1'")
_CURRENT = text("is_current")


class SettlementList(Base):
    """One uploaded list of an inpatient settlement: the facts grouping read (from the list, the visit and
    the person) and the whole message as uploaded.

    ``vali_flag`` 1 有效 / 0 无效 (4102 作废): at most one valid list per settlement (a unique index over the
    valid rows), so a list is replaced by voiding it and uploading again; the voided one stays."""

    __tablename__ = "settlement_list"
    __table_args__ = (
        Index("ix_settlement_list_setl", "setl_id"),
        Index("ix_settlement_list_visit", "mdtrt_id"),
        Index("ix_settlement_list_discharge", "dscg_time"),  # a month's or a year's discharges (case payment)
        Index(
            "ix_settlement_list_valid",
            "setl_id",
            unique=True,
            sqlite_where=_VALID,
            postgresql_where=_VALID,
        ),
    )
    setl_list_id: Mapped[str] = mapped_column(String(30), primary_key=True)  # 清单流水号
    setl_id: Mapped[str] = mapped_column(ForeignKey("settlement.setl_id"))
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visit.mdtrt_id"))
    psn_no: Mapped[str] = mapped_column(String(30))
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    med_type: Mapped[str] = mapped_column(String(6))  # 医疗类别 of the visit
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date] = mapped_column(Date)
    age: Mapped[int] = mapped_column(Integer)  # 周岁 on admission
    age_days: Mapped[int] = mapped_column(Integer)  # days of age on admission
    weight_g: Mapped[int | None] = mapped_column(Integer)  # 新生儿入院 (出生) 体重
    adm_time: Mapped[datetime] = mapped_column(DateTime)
    dscg_time: Mapped[datetime] = mapped_column(DateTime)
    los: Mapped[int] = mapped_column(Integer)  # 实际住院天数
    dscg_way: Mapped[str] = mapped_column(String(3))
    hi_paymtd: Mapped[str | None] = mapped_column(String(3))  # 医保支付方式 as the list says
    vali_flag: Mapped[str] = mapped_column(String(1), default="1")
    msgid: Mapped[str | None] = mapped_column(String(40))  # the 4101 that uploaded it
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)  # last 4102
    content: Mapped[str] = mapped_column(
        Text
    )  # the 4101 input as uploaded, exact JSON (setlinfo, diseinfo[] …)


class SettlementListDiagnosis(Base):
    """A diagnosis of a list, in grouping order: ``seq`` 0 the principal, then the others as uploaded
    (中医 diagnoses after them, not grouped)."""

    __tablename__ = "settlement_list_diagnosis"
    __table_args__ = (UniqueConstraint("setl_list_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    setl_list_id: Mapped[str] = mapped_column(ForeignKey("settlement_list.setl_list_id"))
    seq: Mapped[int] = mapped_column(Integer)
    diag_type: Mapped[str] = mapped_column(String(3))
    maindiag_flag: Mapped[str] = mapped_column(String(1))
    diag_code: Mapped[str] = mapped_column(String(30))
    diag_name: Mapped[str] = mapped_column(String(200))
    adm_cond_type: Mapped[str | None] = mapped_column(String(3))  # 入院病情


class SettlementListProcedure(Base):
    """A procedure of a list: ``seq`` 0 the principal (主要手术及操作), then the others as uploaded."""

    __tablename__ = "settlement_list_procedure"
    __table_args__ = (UniqueConstraint("setl_list_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    setl_list_id: Mapped[str] = mapped_column(ForeignKey("settlement_list.setl_list_id"))
    seq: Mapped[int] = mapped_column(Integer)
    oprn_oprt_type: Mapped[str] = mapped_column(String(3))
    oprn_oprt_code: Mapped[str] = mapped_column(String(30))
    oprn_oprt_name: Mapped[str] = mapped_column(String(200))
    oprn_oprt_date: Mapped[datetime | None] = mapped_column(DateTime)


class SettlementListGroup(Base):
    """How a list was grouped, once per kind of scheme (``drg``; ``dip`` beside it where the region has DIP):
    the scheme (its registered, versioned name), the rule pack's hash and the grouper's version, so that the
    result can be reproduced; status, MDC, ADRG, the group, the reason, and the trace that explains it
    (payment-drg-dip.md §9.3).

    A list regrouped (``yibao payment group-lists``, after a rule-pack update) gets a new row; ``is_current``
    marks the grouping that counts (one per list and kind: a unique index over the current rows), the older
    ones stay as its history."""

    __tablename__ = "settlement_list_group"
    __table_args__ = (
        Index("ix_settlement_list_group_list", "setl_list_id"),
        Index(
            "ix_settlement_list_group_current",
            "setl_list_id",
            "kind",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    setl_list_id: Mapped[str] = mapped_column(ForeignKey("settlement_list.setl_list_id"))
    kind: Mapped[str] = mapped_column(String(8))  # drg | dip
    scheme: Mapped[str] = mapped_column(String(40))  # chs-drg-1.1
    pack_hash: Mapped[str] = mapped_column(String(64))
    grouper_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # ok | qy | ungrouped
    mdc: Mapped[str | None] = mapped_column(String(8))
    adrg: Mapped[str | None] = mapped_column(String(8))
    group_code: Mapped[str] = mapped_column(String(60))  # the DRG (GZ13, GQY, 0000) or DIP 病种
    group_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(400))
    trace: Mapped[dict] = mapped_column(JSON)
    grouped_at: Mapped[datetime] = mapped_column(DateTime)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
