"""Insured persons (参保人) and the facts settlement reads about them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, Timestamps


class Person(Base, Timestamps):
    """参保人 identity snapshot: the national ``baseinfo``."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_cert", "psn_cert_type", "certno", unique=True),
        Index("ix_person_name", "psn_name"),
    )
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    psn_cert_type: Mapped[str] = mapped_column(String(6), default="01")
    certno: Mapped[str] = mapped_column(String(50))
    psn_name: Mapped[str] = mapped_column(String(50))
    gend: Mapped[str] = mapped_column(String(1))  # 0 未知 1 男 2 女 9 未说明
    brdy: Mapped[date] = mapped_column(Date)
    naty: Mapped[str | None] = mapped_column(String(3))
    admdvs: Mapped[str | None] = mapped_column(String(6))  # 户籍/常住 district
    tel: Mapped[str | None] = mapped_column(String(30))
    death_date: Mapped[date | None] = mapped_column(Date)


class Employer(Base, Timestamps):
    """参保单位: an employer identified by its 统一社会信用代码."""

    __tablename__ = "employer"
    emp_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    emp_name: Mapped[str] = mapped_column(String(200))
    admdvs: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10), default="active")


class Enrollment(Base, Timestamps):
    """参保登记: one insurance type held over a date range (``insuinfo``)."""

    __tablename__ = "enrollment"
    __table_args__ = (
        Index("ix_enrollment_person", "psn_no", "insutype"),
        Index("ix_enrollment_employer", "emp_no"),
        CheckConstraint("psn_insu_stas in ('0', '1', '2', '3', '4')", name="psn_insu_stas"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    insutype: Mapped[str] = mapped_column(String(6))
    psn_type: Mapped[str] = mapped_column(String(6))
    psn_insu_stas: Mapped[str] = mapped_column(String(1), default="1")  # 0 未参保 1 正常 2 暂停 3 无效 4 终止
    begndate: Mapped[date] = mapped_column(Date)  # psn_insu_date
    enddate: Mapped[date | None] = mapped_column(Date)
    paus_insu_date: Mapped[date | None] = mapped_column(Date)
    insuplc_admdvs: Mapped[str] = mapped_column(String(6))
    emp_no: Mapped[str | None] = mapped_column(ForeignKey("employer.emp_no"))
    emp_name: Mapped[str | None] = mapped_column(String(200))
    cvlserv_flag: Mapped[str] = mapped_column(String(1), default="0")
    flxempe_flag: Mapped[str] = mapped_column(String(1), default="0")  # 灵活就业
    wait_until: Mapped[date | None] = mapped_column(Date)  # 待遇等待期: no benefits before this date
    contrib_months: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # 职工 months (incl. transferred)
    end_reason: Mapped[str | None] = mapped_column(
        String(20)
    )  # death | emigration | transfer_out | retired …
    flexible_base: Mapped[int | None] = mapped_column(Fen)  # 灵活就业: the base they chose (fen)


class Identity(Base):
    """人员身份 (``idetinfo``): e.g. 2303 低保, valid over dates; drives medical assistance. Its natural key
    (person, type, start) is unique: the feeds of 民政, 残联 and 乡村振兴 upsert by it."""

    __tablename__ = "identity"
    __table_args__ = (Index("ix_identity_key", "psn_no", "psn_idet_type", "begntime", unique=True),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    psn_idet_type: Mapped[str] = mapped_column(String(6))
    psn_type_lv: Mapped[str | None] = mapped_column(String(6))
    begntime: Mapped[date] = mapped_column(Date)
    endtime: Mapped[date | None] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(String(200))
    idet_org: Mapped[str | None] = mapped_column(String(100))  # 认定机构: the body that recognised it


class ChronicRegistration(Base, Timestamps):
    """门诊慢特病备案 (2503): an approved chronic/special disease for a person; unique by its natural key
    (person, disease, start)."""

    __tablename__ = "chronic_registration"
    __table_args__ = (Index("ix_chronic_key", "psn_no", "opsp_dise_code", "begndate", unique=True),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    opsp_dise_code: Mapped[str] = mapped_column(String(30))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="approved")  # approved | revoked
    fixmedins_code: Mapped[str | None] = mapped_column(String(12))


class SupplementaryEnrollment(Base):
    """惠民保 enrollment for one year."""

    __tablename__ = "supplementary_enrollment"
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(30), default="huiminbao")


class PersonalAccount(Base, Timestamps):
    """个人账户 (职工): its balance in fen; every movement is a ledger posting."""

    __tablename__ = "personal_account"
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"), primary_key=True)
    balance: Mapped[int] = mapped_column(Fen, default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")
