"""Every read the settlement path makes, declared once (结算的读取语句), with named rows; its writes are in
:mod:`yibao.settlement.writes`. The services (:mod:`yibao.settlement.service`, :mod:`~yibao.settlement.settle`)
say which they make and in what order; the unit of work (:mod:`yibao.store.uow`) decides how they travel.

Row locks, in the order every unit of work takes them (see :mod:`yibao.settlement.facts`): the patient's person
row, the visit, the paying personal account; the audit chain's head last, at commit.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    extract,
    func,
    or_,
    select,
)

from yibao.store.statements import Query
from yibao.store.tables import (
    Accumulator,
    AccumulatorYear,
    CatalogueItem,
    ChronicRegistration,
    Designation,
    Enrollment,
    FeeLine,
    Identity,
    Institution,
    Person,
    PersonalAccount,
    Settlement,
    SettlementDetail,
    SupplementaryEnrollment,
    Visit,
)

INPATIENT_PREFIX = "2"
_DES = Designation.__table__
_INST, _PSN, _ENR, _VIS, _FEE = (t.__table__ for t in (Institution, Person, Enrollment, Visit, FeeLine))
_ACCT, _IDET, _CHRONIC, _SUPP = (
    t.__table__ for t in (PersonalAccount, Identity, ChronicRegistration, SupplementaryEnrollment)
)
_ACC, _ACC_YEAR, _SETL, _DETAIL, _CAT = (
    t.__table__ for t in (Accumulator, AccumulatorYear, Settlement, SettlementDetail, CatalogueItem)
)

# --- institutions and persons ---------------------------------------------------------------------------

INSTITUTION = Query(
    "institution",
    select(_INST.c.fixmedins_code, _INST.c.admdvs, _INST.c.dedc_hosp_lv, _INST.c.status).where(
        _INST.c.fixmedins_code == bindparam("code")
    ),
)
# 医保服务协议: the institution's designation intervals (active with the med_types its services open, or
# suspended), as its agreements made them (yibao.providers.service); a few rows, read by the index
# (fixmedins_code, begndate), the day chosen by the pure yibao.providers.designation
AGREEMENT = Query(
    "agreement",
    select(_DES.c.begndate, _DES.c.enddate, _DES.c.status, _DES.c.med_types, _DES.c.reason)
    .where(_DES.c.fixmedins_code == bindparam("code"))
    .order_by(_DES.c.begndate),
)
_PERSON_COLS = (
    _PSN.c.psn_no,
    _PSN.c.psn_cert_type,
    _PSN.c.certno,
    _PSN.c.psn_name,
    _PSN.c.gend,
    _PSN.c.brdy,
    _PSN.c.naty,
    _PSN.c.death_date,
)
# FOR NO KEY UPDATE: settlements of one person take turns, but another call's foreign-key check on the person
# (a visit registered meanwhile) does not wait for them
LOCK_PERSON = Query(
    "lock_person",
    select(*_PERSON_COLS).where(_PSN.c.psn_no == bindparam("psn_no")).with_for_update(key_share=True),
)
_ENR_COLS = (
    _ENR.c.id,
    _ENR.c.insutype,
    _ENR.c.psn_type,
    _ENR.c.psn_insu_stas,
    _ENR.c.begndate,
    _ENR.c.enddate,
    _ENR.c.wait_until,
    _ENR.c.insuplc_admdvs,
    _ENR.c.paus_insu_date,
)
EnrollmentRow = namedtuple("EnrollmentRow", [c.name for c in _ENR_COLS])


def _person_enrollments(*of_type):
    """The person (does it exist?) and their enrollments begun by the day, latest first (NULLs: none)."""
    on = and_(_ENR.c.psn_no == _PSN.c.psn_no, _ENR.c.begndate <= bindparam("day"), *of_type)
    return (
        select(_PSN.c.psn_no.label("person"), *_ENR_COLS)
        .select_from(_PSN.outerjoin(_ENR, on))
        .where(_PSN.c.psn_no == bindparam("psn_no"))
        .order_by(_ENR.c.begndate.desc())
    )


ENROLLMENTS = Query("enrollments", _person_enrollments())
ENROLLMENTS_OF_TYPE = Query(
    "enrollments_of_type", _person_enrollments(_ENR.c.insutype == bindparam("insutype"))
)

# --- visits --------------------------------------------------------------------------------------------

_VISIT_COLS = (
    _VIS.c.mdtrt_id,
    _VIS.c.psn_no,
    _VIS.c.fixmedins_code,
    _VIS.c.insutype,
    _VIS.c.med_type,
    _VIS.c.begntime,
    _VIS.c.endtime,
    _VIS.c.status,
    _VIS.c.opsp_dise_code,
    _VIS.c.dise_codg,
)
# (and the diagnosis: a visit change's audit row says what it was before)
VISIT_COLUMNS = tuple(c.name for c in _VISIT_COLS)
VISIT = Query(
    "visit",
    select(*_VISIT_COLS, _VIS.c.dise_codg, _VIS.c.dise_name).where(_VIS.c.mdtrt_id == bindparam("mdtrt_id")),
)
LOCK_VISIT = Query(
    "lock_visit", select(*_VISIT_COLS).where(_VIS.c.mdtrt_id == bindparam("mdtrt_id")).with_for_update()
)
ENR_LABELS = tuple(f"enr_{c.name}" for c in _ENR_COLS)  # the enrollment's columns beside the visit's


def _visit_and_enrollments(day_of_visit):
    """A settlement's visit, locked, with the enrollments of its insurance type begun by its day (latest first;
    one row of NULLs when there is none)."""
    enrollment = and_(
        _ENR.c.psn_no == _VIS.c.psn_no, _ENR.c.insutype == _VIS.c.insutype, _ENR.c.begndate <= day_of_visit
    )
    return (
        select(*_VISIT_COLS, *(c.label(label) for c, label in zip(_ENR_COLS, ENR_LABELS, strict=True)))
        .select_from(_VIS.outerjoin(_ENR, enrollment))
        .where(_VIS.c.mdtrt_id == bindparam("mdtrt_id"))
        .order_by(_ENR.c.begndate.desc())
        .with_for_update(of=_VIS)
    )


VISIT_TO_SETTLE = Query(
    "visit_to_settle",
    _visit_and_enrollments(func.date(_VIS.c.begntime)),  # (SQLite keeps times as ISO text)
    pg=_visit_and_enrollments(cast(_VIS.c.begntime, Date)),
)
# a fee upload's visit, locked, and whether it has lines yet: most visits get one upload, which then needs no
# read of the serial numbers already taken (a line committed meanwhile by a concurrent upload is caught by the
# unique key on (mdtrt_id, feedetl_sn); the facade retries the call, and the retry reads the serial numbers)
VISIT_FOR_UPLOAD = Query(
    "visit_for_upload",
    select(*_VISIT_COLS, exists().where(_FEE.c.mdtrt_id == _VIS.c.mdtrt_id).label("has_lines"))
    .where(_VIS.c.mdtrt_id == bindparam("mdtrt_id"))
    .with_for_update(),
)
OPEN_ADMISSION = Query(
    "open_admission",
    select(_VIS.c.mdtrt_id).where(
        _VIS.c.psn_no == bindparam("psn_no"),
        _VIS.c.med_type.like(INPATIENT_PREFIX + "%"),
        or_(_VIS.c.status == "open", _VIS.c.status == "admitted"),
    ),
)

# --- fee lines -----------------------------------------------------------------------------------------

FEE_SNS = Query("fee_sns", select(_FEE.c.feedetl_sn).where(_FEE.c.mdtrt_id == bindparam("mdtrt_id")))
# what a refund is checked against: the visit's unsettled lines (read only for an upload with a refund)
UNSETTLED = Query(
    "unsettled",
    select(
        _FEE.c.feedetl_sn,
        _FEE.c.med_list_codg,
        _FEE.c.cnt,
        _FEE.c.det_item_fee_sumamt,
        _FEE.c.init_feedetl_sn,
    ).where(_FEE.c.mdtrt_id == bindparam("mdtrt_id"), _FEE.c.status == "open"),
)


def _catalogue(codes):
    return (
        select(
            _CAT.c.med_list_codg,
            _CAT.c.chrgitm_lv,
            _CAT.c.selfpay_prop,
            _CAT.c.pric_uplmt_amt,
            _CAT.c.lmt_used_flag,
            _CAT.c.med_chrgitm_type,
            _CAT.c.begndate,
            _CAT.c.enddate,
        )
        .where(codes)
        .order_by(_CAT.c.med_list_codg, _CAT.c.begndate)
    )


# every version of the codes (the visit day's is chosen by the service): the read needs nothing but the
# upload's own message, so it can travel ahead
CATALOGUE = Query(
    "catalogue",
    _catalogue(_CAT.c.med_list_codg.in_(bindparam("codes", expanding=True))),
    pg=_catalogue(_CAT.c.med_list_codg == any_(bindparam("codes", type_=ARRAY(String)))),
)
LINE_SPLIT_COLS = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
_OPEN_LINE_COLS = (
    _FEE.c.id,
    _FEE.c.med_list_codg,
    *(_FEE.c[k] for k in LINE_SPLIT_COLS),  # the split the upload stored (the kernel's own)
    _FEE.c.pric,
    _FEE.c.cnt,
    _FEE.c.det_item_fee_sumamt,
    _FEE.c.chrgitm_lv,
    _FEE.c.selfpay_prop,
    _FEE.c.pric_uplmt_amt,
    _FEE.c.lmt_used_flag,
    _FEE.c.hosp_appr_flag,
)


def _open_lines(*of_batch):
    where = (_FEE.c.mdtrt_id == bindparam("mdtrt_id"), _FEE.c.status == "open", *of_batch)
    return select(*_OPEN_LINE_COLS).where(*where).order_by(_FEE.c.id)


OPEN_LINES = Query("open_lines", _open_lines())
OPEN_LINES_OF_BATCH = Query("open_lines_of_batch", _open_lines(_FEE.c.chrg_bchno == bindparam("chrg_bchno")))
# 2205 / 2302: the unsettled lines a cancellation takes (all, a 收费批次, or one line)
LINES_TO_CANCEL = Query(
    "lines_to_cancel",
    select(_FEE.c.id).where(
        _FEE.c.mdtrt_id == bindparam("mdtrt_id"),
        _FEE.c.status == "open",
        or_(bindparam("chrg_bchno", type_=String).is_(None), _FEE.c.chrg_bchno == bindparam("chrg_bchno")),
        or_(bindparam("feedetl_sn", type_=String).is_(None), _FEE.c.feedetl_sn == bindparam("feedetl_sn")),
    ),
)

# --- the person's state at settlement ------------------------------------------------------------------

# (the person's key too: settlement has an index on it, none on the visit)
PRIOR_DEDUCTIBLES = Query(
    "prior_deductibles",
    select(_SETL.c.act_pay_dedc, _SETL.c.adm_dedc)
    .where(
        _SETL.c.psn_no == bindparam("psn_no"),
        _SETL.c.mdtrt_id == bindparam("mdtrt_id"),
        _SETL.c.refd_setl_flag == "0",
        _SETL.c.reversed_by.is_(None),
    )
    .order_by(_SETL.c.setl_time, _SETL.c.setl_id),  # the first opened the admission
)


def _of_visit(column):
    """A column of the settlement's visit: the accumulators' year and insurance type are the visit's, read by
    the statement itself so that it needs only the message's keys."""
    return select(column).where(_VIS.c.mdtrt_id == bindparam("mdtrt_id")).scalar_subquery()


# the paying account's row is locked (FOR UPDATE in a WITH: not allowed in a branch of a UNION)
_OWNER_ACCOUNT = (
    select(_ACCT.c.balance).where(_ACCT.c.psn_no == bindparam("owner")).with_for_update().cte("owner_account")
)
# identities, approved chronic registrations, 惠民保 years, the visit year's accumulators and the paying
# account's balance, in one statement
PERSON_STATE = Query.parts(
    "person_state",
    identities=select(_IDET.c.psn_idet_type, _IDET.c.begntime, _IDET.c.endtime, _IDET.c.psn_type_lv).where(
        _IDET.c.psn_no == bindparam("psn_no")
    ),
    chronic=select(_CHRONIC.c.opsp_dise_code, _CHRONIC.c.begndate, _CHRONIC.c.enddate).where(
        _CHRONIC.c.psn_no == bindparam("psn_no"), _CHRONIC.c.status == "approved"
    ),
    supplementary=select(_SUPP.c.year).where(_SUPP.c.psn_no == bindparam("psn_no")),
    accumulators=select(_ACC.c.acc_key, _ACC.c.value).where(
        _ACC.c.psn_no == bindparam("psn_no"),
        _ACC.c.year == _of_visit(cast(extract("year", _VIS.c.begntime), Integer)),
        _ACC.c.insutype == _of_visit(_VIS.c.insutype),
    ),
    account=select(_OWNER_ACCOUNT.c.balance),
)
ACCUMULATORS = Query(
    "accumulators",
    select(_ACC.c.acc_key, _ACC.c.value).where(
        _ACC.c.psn_no == bindparam("psn_no"),
        _ACC.c.year == bindparam("year"),
        _ACC.c.insutype == bindparam("insutype"),
    ),
)
LOCK_ACCOUNT = Query(
    "lock_account", select(_ACCT.c.balance).where(_ACCT.c.psn_no == bindparam("owner")).with_for_update()
)

# --- settlements ---------------------------------------------------------------------------------------

_SETTLEMENT_COLS = tuple(c for c in _SETL.c if c.key not in ("created_at", "updated_at"))
SETTLEMENT = Query("settlement", select(*_SETTLEMENT_COLS).where(_SETL.c.setl_id == bindparam("setl_id")))
SETTLEMENT_DETAILS = Query(
    "settlement_details",
    select(
        _DETAIL.c.fund_pay_type, _DETAIL.c.inscp_scp_amt, _DETAIL.c.crt_payb_lmt_amt, _DETAIL.c.fund_payamt
    )
    .where(_DETAIL.c.setl_id == bindparam("setl_id"))
    .order_by(_DETAIL.c.id),
)
# a settlement of the visit made after the given time and still standing (a reversal must come first)
LATER_SETTLEMENT = Query(
    "later_settlement",
    select(_SETL.c.setl_id, _SETL.c.supplement_of).where(
        _SETL.c.mdtrt_id == bindparam("mdtrt_id"),
        _SETL.c.refd_setl_flag == "0",
        _SETL.c.reversed_by.is_(None),
        _SETL.c.setl_time > bindparam("setl_time"),
    ),
)
LIVE_SETTLEMENT = Query(
    "live_settlement",
    select(_SETL.c.setl_id).where(
        _SETL.c.mdtrt_id == bindparam("mdtrt_id"),
        _SETL.c.refd_setl_flag == "0",
        _SETL.c.reversed_by.is_(None),
    ),
)
