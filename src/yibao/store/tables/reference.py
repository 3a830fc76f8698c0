"""Reference data (基础数据): regions, dictionaries, institutions, staff codes, catalogue, clinical codes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, Timestamps

NATIONAL = "000000"  # admdvs scope of national dictionary values


class Region(Base, Timestamps):
    """统筹区 / 行政区划: a pooling region or one of its districts."""

    __tablename__ = "region"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    parent_admdvs: Mapped[str | None] = mapped_column(String(6))
    level: Mapped[str] = mapped_column(String(10), default="city")  # nation | province | city | district
    population: Mapped[int | None] = mapped_column(Integer)  # census resident population (参保率 denominator)


class Dictionary(Base):
    """字典 (1901 semantics): a code value of a dictionary type, scoped to an admdvs and valid dates."""

    __tablename__ = "dictionary"
    __table_args__ = (
        UniqueConstraint("dic_type", "code", "admdvs", "valid_from", name="uq_dictionary_value"),
        Index("ix_dictionary_type", "dic_type", "admdvs"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dic_type: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(30))
    admdvs: Mapped[str] = mapped_column(String(6), default=NATIONAL)
    valid_from: Mapped[date] = mapped_column(Date, default=date(2000, 1, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)
    vali_flag: Mapped[str] = mapped_column(String(1), default="1")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str | None] = mapped_column(String(200))  # file it was loaded from


class Institution(Base, Timestamps):
    """定点医药机构: a designated hospital, clinic or pharmacy (H/P + admdvs + 5 digits)."""

    __tablename__ = "institution"
    __table_args__ = (CheckConstraint("dedc_hosp_lv in (1, 2, 3)", name="dedc_hosp_lv"),)
    fixmedins_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    fixmedins_name: Mapped[str] = mapped_column(String(100))
    fixmedins_type: Mapped[str] = mapped_column(String(3))  # 1 医疗机构, 2 零售药店 …
    hosp_lv: Mapped[str | None] = mapped_column(String(3))  # 1 三级特等 … 14 一级无等
    dedc_hosp_lv: Mapped[int] = mapped_column(Integer)  # 起付线等级 1/2/3
    admdvs: Mapped[str] = mapped_column(ForeignKey("region.admdvs"))
    uscc: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | suspended | exited
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(200))
    beds: Mapped[int | None] = mapped_column(Integer)


class Department(Base):
    """科室 of an institution (3401)."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("fixmedins_code", "dept_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    dept_code: Mapped[str] = mapped_column(String(30))
    dept_name: Mapped[str] = mapped_column(String(100))
    caty: Mapped[str | None] = mapped_column(String(10))  # 科别 code


class Practitioner(Base, Timestamps):
    """医保医师 (D + admdvs + 6 digits) and other insured-service staff."""

    __tablename__ = "practitioner"
    __table_args__ = (Index("ix_practitioner_institution", "fixmedins_code"),)
    prac_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    prac_name: Mapped[str] = mapped_column(String(50))
    prac_type: Mapped[str] = mapped_column(String(10), default="doctor")  # doctor | nurse | pharmacist
    fixmedins_code: Mapped[str | None] = mapped_column(ForeignKey("institution.fixmedins_code"))
    dept_code: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="active")


class CatalogueItem(Base, Timestamps):
    """医保目录 item: drug, service or material, with its class and payment limits."""

    __tablename__ = "catalogue_item"
    __table_args__ = (
        UniqueConstraint("med_list_codg", "begndate"),
        CheckConstraint("chrgitm_lv in ('01', '02', '03')", name="chrgitm_lv"),
        Index("ix_catalogue_item_name", "med_list_name"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_type: Mapped[str] = mapped_column(String(3))  # 101 西药中成药 … 201 服务 … 301 耗材
    med_list_codg: Mapped[str] = mapped_column(String(50))  # national code, opaque
    med_list_name: Mapped[str] = mapped_column(String(200))
    med_chrgitm_type: Mapped[str | None] = mapped_column(String(2))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))  # 01 甲 / 02 乙 / 03 丙
    selfpay_prop: Mapped[int] = mapped_column(Integer, default=0)  # basis points
    pric: Mapped[int | None] = mapped_column(Fen)  # reference unit price, micro-yuan
    pric_uplmt_amt: Mapped[int | None] = mapped_column(Fen)  # price cap, micro-yuan; NULL = none
    lmt_used_flag: Mapped[str] = mapped_column(String(1), default="0")
    lmt_used_desc: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(20))
    admdvs: Mapped[str] = mapped_column(String(6), default="000000")
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)


class ClinicalCode(Base):
    """Diagnosis (ICD-10 医保版) and procedure (ICD-9-CM-3 医保版) codes."""

    __tablename__ = "clinical_code"
    system: Mapped[str] = mapped_column(String(12), primary_key=True)  # icd10 | icd9cm3
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    chapter: Mapped[str | None] = mapped_column(String(50))
    grey_flag: Mapped[str] = mapped_column(String(1), default="0")  # 灰码: not acceptable as a main diagnosis
