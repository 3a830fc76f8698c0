"""Visits, fee lines, settlements, accumulators and the double-entry fund ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, Timestamps, money


class Visit(Base, Timestamps):
    """就诊 (mdtrt): one outpatient visit, pharmacy purchase or admission."""

    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_person", "psn_no", "begntime"),
        Index("ix_visit_institution", "fixmedins_code", "begntime"),
    )
    mdtrt_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    insutype: Mapped[str] = mapped_column(String(6))
    med_type: Mapped[str] = mapped_column(String(6))
    begntime: Mapped[datetime] = mapped_column(DateTime)
    endtime: Mapped[datetime | None] = mapped_column(DateTime)
    dept_code: Mapped[str | None] = mapped_column(String(30))
    atddr_no: Mapped[str | None] = mapped_column(String(20))  # attending 医保医师
    dise_codg: Mapped[str | None] = mapped_column(String(30))  # main diagnosis
    dise_name: Mapped[str | None] = mapped_column(String(200))
    opsp_dise_code: Mapped[str | None] = mapped_column(String(30))
    oprn_codg: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | discharged | settled | cancelled
    dscg_way: Mapped[str | None] = mapped_column(String(3))
    extra: Mapped[dict | None] = mapped_column(JSON)


class FeeLine(Base):
    """费用明细: one billed item with the split computed at upload (2204/2301 result).

    Settling a line sets ``status`` and ``setl_id``, neither of them indexed, and pages keep room for that
    new version (fillfactor): PostgreSQL rewrites no index entry for it (a HOT update). Lines are found by
    visit (``mdtrt_id``, the unique key's first column), also when looked up by their settlement."""

    __tablename__ = "fee_line"
    __table_args__ = (UniqueConstraint("mdtrt_id", "feedetl_sn"), {"postgresql_with": {"fillfactor": 85}})
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visit.mdtrt_id"))
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    chrg_bchno: Mapped[str | None] = mapped_column(String(30))
    med_list_codg: Mapped[str | None] = mapped_column(String(50))
    medins_list_codg: Mapped[str | None] = mapped_column(String(150))
    med_chrgitm_type: Mapped[str | None] = mapped_column(String(2))
    fee_ocur_time: Mapped[datetime | None] = mapped_column(DateTime)
    pric: Mapped[int] = mapped_column(Fen)  # micro-yuan
    cnt: Mapped[int] = mapped_column(Fen)  # 1e-4 units
    det_item_fee_sumamt: Mapped[int] = money()
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    selfpay_prop: Mapped[int] = mapped_column(Integer, default=0)  # basis points
    pric_uplmt_amt: Mapped[int | None] = mapped_column(Fen)  # micro-yuan
    lmt_used_flag: Mapped[str] = mapped_column(String(1), default="0")
    hosp_appr_flag: Mapped[str] = mapped_column(String(1), default="0")
    fulamt_ownpay_amt: Mapped[int] = money()
    overlmt_amt: Mapped[int] = money()
    preselfpay_amt: Mapped[int] = money()
    inscp_scp_amt: Mapped[int] = money()
    bilg_dr_codg: Mapped[str | None] = mapped_column(String(20))
    init_feedetl_sn: Mapped[str | None] = mapped_column(String(30))  # 退费: the line a refund takes back
    setl_id: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | settled | cancelled


class Settlement(Base, Timestamps):
    """结算 (setlinfo): every amount in fen; a reversal is a separate, negated row."""

    __tablename__ = "settlement"
    __table_args__ = (
        Index("ix_settlement_person", "psn_no", "setl_time"),
        Index("ix_settlement_institution", "fixmedins_code", "setl_time"),
        Index("ix_settlement_visit", "mdtrt_id"),  # 2202/2404/2208/2601 and mid-way settlements read by visit
        Index("ix_settlement_supplement", "supplement_of"),
        CheckConstraint(
            "medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt", name="i1_medfee_identity"
        ),
        CheckConstraint("psn_part_amt = acct_pay + psn_cash_pay", name="i2_person_part_identity"),
        CheckConstraint(
            "medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt",
            name="i5_split_identity",
        ),
    )
    setl_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visit.mdtrt_id"))
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"))
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    insutype: Mapped[str] = mapped_column(String(6))
    psn_type: Mapped[str] = mapped_column(String(6))
    med_type: Mapped[str] = mapped_column(String(6))
    setl_time: Mapped[datetime] = mapped_column(DateTime)
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    dedc_hosp_lv: Mapped[int | None] = mapped_column(Integer)
    medfee_sumamt: Mapped[int] = money()
    fulamt_ownpay_amt: Mapped[int] = money()
    overlmt_selfpay: Mapped[int] = money()
    preselfpay_amt: Mapped[int] = money()
    inscp_scp_amt: Mapped[int] = money()
    act_pay_dedc: Mapped[int] = money()
    hifp_pay: Mapped[int] = money()
    pool_prop_selfpay: Mapped[int] = mapped_column(Integer, default=0)  # basis points
    cvlserv_pay: Mapped[int] = money()
    hifes_pay: Mapped[int] = money()
    hifmi_pay: Mapped[int] = money()
    hifob_pay: Mapped[int] = money()
    hifdm_pay: Mapped[int] = money()
    maf_pay: Mapped[int] = money()
    oth_pay: Mapped[int] = money()
    fund_pay_sumamt: Mapped[int] = money()
    psn_part_amt: Mapped[int] = money()
    acct_pay: Mapped[int] = money()
    acct_mulaid_pay: Mapped[int] = money()
    psn_cash_pay: Mapped[int] = money()
    hosp_part_amt: Mapped[int] = money()
    balc: Mapped[int] = money()
    clr_type: Mapped[str | None] = mapped_column(String(6))
    clr_way: Mapped[str | None] = mapped_column(String(6))
    clr_optins: Mapped[str | None] = mapped_column(String(6))
    refd_setl_flag: Mapped[str] = mapped_column(String(1), default="0")  # 1 = this row is a reversal
    orig_setl_id: Mapped[str | None] = mapped_column(String(30))  # the settlement a reversal cancels
    reversed_by: Mapped[str | None] = mapped_column(String(30))  # set on the original once reversed
    mid_setl_flag: Mapped[str] = mapped_column(String(1), default="0")
    # inpatient-type: the per-admission deductible its admission carries, fixed when the admission opened
    # (a 中途结算's continuation keeps it even if the year's admissions change meanwhile); fen
    adm_dedc: Mapped[int | None] = mapped_column(Fen)
    # 补充救助: the settlement a look-back assistance supplement (and its reversal) pays on; its money goes to
    # the person, not the institution
    supplement_of: Mapped[str | None] = mapped_column(String(30))
    medins_setl_id: Mapped[str | None] = mapped_column(
        String(40)
    )  # the HIS msgid (as long as message_log allows)
    policy_version: Mapped[str] = mapped_column(String(40))
    policy_hash: Mapped[str] = mapped_column(String(64))
    trace: Mapped[dict | None] = mapped_column(JSON)
    accum_delta: Mapped[dict | None] = mapped_column(
        JSON
    )  # what it added to each accumulator (reversal subtracts)


class SettlementDetail(Base):
    """基金分项 (setldetail): one row per fund that paid, plus the personal account."""

    __tablename__ = "settlement_detail"
    __table_args__ = (UniqueConstraint("setl_id", "fund_pay_type"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    setl_id: Mapped[str] = mapped_column(ForeignKey("settlement.setl_id"))
    fund_pay_type: Mapped[str] = mapped_column(String(10))
    inscp_scp_amt: Mapped[int] = money()
    crt_payb_lmt_amt: Mapped[int | None] = money(nullable=True, default=None)  # NULL = unlimited
    fund_payamt: Mapped[int] = money()
    setl_proc_info: Mapped[str | None] = mapped_column(String(4000))


class AccumulatorYear(Base):
    """累计 header: one row per person, year and insutype. Locked (FOR UPDATE) while settling."""

    __tablename__ = "accumulator_year"
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    insutype: Mapped[str] = mapped_column(String(6), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Accumulator(Base):
    """One accumulator value (fen or a count), e.g. ``cap:inpatient`` or ``disease:M03900``."""

    __tablename__ = "accumulator"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    insutype: Mapped[str] = mapped_column(String(6), primary_key=True)
    acc_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Fen, default=0)


class LedgerEntry(Base):
    """A journal entry of the fund ledger; its postings sum to zero."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_setl", "setl_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_type: Mapped[str] = mapped_column(String(20))  # settlement | reversal | contribution | credit …
    setl_id: Mapped[str | None] = mapped_column(String(30))
    fixmedins_code: Mapped[str | None] = mapped_column(String(12))
    psn_no: Mapped[str | None] = mapped_column(String(30))
    posted_at: Mapped[datetime] = mapped_column(DateTime)
    book_date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(String(200))


class LedgerPosting(Base):
    """One leg of a journal entry: positive = debit, negative = credit (fen)."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        Index("ix_ledger_posting_account", "account", "fund_pay_type"),
        Index("ix_ledger_posting_entry", "entry_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    account: Mapped[str] = mapped_column(
        String(40)
    )  # fund_expense | institution_payable | personal_account | cash …
    fund_pay_type: Mapped[str | None] = mapped_column(String(10))
    fixmedins_code: Mapped[str | None] = mapped_column(String(12))
    psn_no: Mapped[str | None] = mapped_column(String(30))
    amount: Mapped[int] = mapped_column(Fen)


class MessageLog(Base):
    """Every inbound ``msgid`` with its request digest and reply: retries return the same answer."""

    __tablename__ = "message_log"
    msgid: Mapped[str] = mapped_column(String(40), primary_key=True)
    infno: Mapped[str] = mapped_column(String(10))
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    request_digest: Mapped[str] = mapped_column(String(64))
    infcode: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    setl_id: Mapped[str | None] = mapped_column(String(30))
