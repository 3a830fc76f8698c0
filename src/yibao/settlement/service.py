"""Settlement use cases (结算服务) over the store: visits, fee lines, settle, pre-settle, reverse.

Each function works inside the caller's unit of work (the facade opens one per request),
loads what it needs, calls the pure kernel, and writes the results; nothing is committed
unless everything succeeded. An institution only ever sees and changes its own visits.

The facade's hot path (2201/2401 register, 2204/2301 upload, 2206/2207/2303/2304 settle, and
2101/2102 which chain them) uses no ORM objects: prebuilt statements (:class:`yibao.store.db.Fast`)
read in one round trip each, and writes whose results nobody reads are queued, to travel with
the next read or, at the end of the unit of work, with the audit rows and the COMMIT in one
round trip. The other use cases (reversal, cancellations, updates) use the ORM as before; both
kinds mix freely in one unit of work (queued writes are sent before any ORM flush).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import (
    ARRAY,
    BigInteger,
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
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from yibao.errors import InputError, NotFound, PolicyError, SettlementError, quote
from yibao.money import fmt_fen
from yibao.policy.registry import get_bundle
from yibao.settlement import facts, online
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP, Charged, LineError, check_refunds, overdrawn_items, split_lines
from yibao.settlement.record import audit_settlement, new_id, write_settlement
from yibao.settlement.result import SETLINFO_AMOUNTS, DetailRow, Settled
from yibao.store import audit
from yibao.store.db import Fast, FastRows, flush_writes
from yibao.store.tables import (
    Accumulator,
    CatalogueItem,
    ChronicRegistration,
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


@dataclass
class Context:
    """Who is calling: the institution (from its authenticated client) and the operator."""

    fixmedins_code: str
    opter: str = "his"
    msgid: str | None = None
    now: datetime | None = None
    # the institution, as read with the caller's credentials in the same unit of work (None: read it here)
    admdvs: str | None = None
    dedc_hosp_lv: int | None = None
    inst_status: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.fixmedins_code}/{self.opter}"

    def clock(self) -> datetime:
        return (
            self.now or datetime.now()
        )  # microseconds kept: ordering within a visit; the wire shows seconds


@dataclass
class FeeInput:
    """One fee line as uploaded (2204/2301/2102 drugdetail), in kernel units."""

    feedetl_sn: str
    med_list_codg: str
    pric: int  # micro-yuan
    cnt: int  # 1e-4 units
    det_item_fee_sumamt: int  # fen
    hosp_appr_flag: int = 0
    chrg_bchno: str | None = None
    medins_list_codg: str | None = None
    fee_ocur_time: datetime | None = None
    bilg_dr_codg: str | None = None
    init_feedetl_sn: str | None = None  # a refund's original line (退费: negative cnt)


def institution(session: Session, code: str) -> Institution:
    inst = session.get(Institution, code)
    if inst is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {code}")
    if inst.status != "active":
        raise SettlementError(f"fixmedins_code: 定点医药机构 {code} 状态为 {inst.status}，不能结算")
    return inst


# a visit's status as a refusal says it (the stored codes are English)
VISIT_STATE = {
    "open": "门诊就诊中",
    "admitted": "患者在院",
    "discharged": "已办理出院",
    "settled": "就诊已结算",
    "cancelled": "就诊已撤销",
}


def visit_state(status: str) -> str:
    return VISIT_STATE.get(status, f"就诊状态为 {status}")


def own_visit(session: Session, ctx: Context, mdtrt_id: str, *, lock: bool = False) -> Visit:
    """The caller's visit. Unlocked, a visit this unit of work already holds costs no statement (a handler's
    checks and the service function it calls both ask for it); locked, it is always read FOR UPDATE."""
    if lock:
        q = select(Visit).where(Visit.mdtrt_id == mdtrt_id).with_for_update()
        visit = session.execute(q).scalar_one_or_none()
    else:
        visit = session.get(Visit, mdtrt_id)
    if (
        visit is None or visit.fixmedins_code != ctx.fixmedins_code
    ):  # another institution's visit does not exist for you
        raise NotFound(f"mdtrt_id: 就诊不存在 {mdtrt_id}")
    return visit


def person(session: Session, psn_no: str) -> Person:
    p = session.get(Person, psn_no)
    if p is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return p


# --- Core statements of the hot path (built once; values are bound per call) ----------------------------

_INST, _PSN, _ENR, _VIS, _FEE = (
    Institution.__table__,
    Person.__table__,
    Enrollment.__table__,
    Visit.__table__,
    FeeLine.__table__,
)
_ACCT, _IDET, _CHRONIC, _SUPP, _ACC, _SETL = (
    PersonalAccount.__table__,
    Identity.__table__,
    ChronicRegistration.__table__,
    SupplementaryEnrollment.__table__,
    Accumulator.__table__,
    Settlement.__table__,
)
_INST_ROW = select(_INST.c.fixmedins_code, _INST.c.admdvs, _INST.c.dedc_hosp_lv, _INST.c.status).where(
    _INST.c.fixmedins_code == bindparam("code")
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
# FOR NO KEY UPDATE: settlements of one person still take turns, but another call's foreign-key check on the
# person (a visit registered meanwhile) does not wait for them
_LOCK_PERSON = Fast(
    select(*_PERSON_COLS).where(_PSN.c.psn_no == bindparam("psn_no")).with_for_update(key_share=True)
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
# the person (does it exist?) and their enrollments begun by the day, latest first, in one round trip
_PERSON_ENROLLMENTS = {
    by_insutype: Fast(
        select(_PSN.c.psn_no.label("person"), *_ENR_COLS)
        .select_from(
            _PSN.outerjoin(
                _ENR,
                and_(
                    _ENR.c.psn_no == _PSN.c.psn_no,
                    _ENR.c.begndate <= bindparam("day"),
                    *((_ENR.c.insutype == bindparam("insutype"),) if by_insutype else ()),
                ),
            )
        )
        .where(_PSN.c.psn_no == bindparam("psn_no"))
        .order_by(_ENR.c.begndate.desc())
    )
    for by_insutype in (True, False)
}
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
)


_ENR_LABELS = tuple(f"enr_{c.name}" for c in _ENR_COLS)  # the enrollment's columns beside the visit's


# a settlement's visit, locked, with the enrollments in its insurance type begun by its day (latest first; one
# row of NULLs when there is none): one round trip where two were
def _visit_and_enrollments(day_of_visit):
    enrollment = and_(
        _ENR.c.psn_no == _VIS.c.psn_no, _ENR.c.insutype == _VIS.c.insutype, _ENR.c.begndate <= day_of_visit
    )
    return (
        select(*_VISIT_COLS, *(c.label(label) for c, label in zip(_ENR_COLS, _ENR_LABELS, strict=True)))
        .select_from(_VIS.outerjoin(_ENR, enrollment))
        .where(_VIS.c.mdtrt_id == bindparam("mdtrt_id"))
        .order_by(_ENR.c.begndate.desc())
        .with_for_update(of=_VIS)
    )


_VISIT_TO_SETTLE = Fast(
    _visit_and_enrollments(func.date(_VIS.c.begntime)),  # SQLite keeps times as ISO text
    pg=_visit_and_enrollments(cast(_VIS.c.begntime, Date)),
)
EnrollmentRow = namedtuple("EnrollmentRow", [c.name for c in _ENR_COLS])
# a fee upload's visit, locked, and whether it has lines yet: most visits get one upload, which then needs no
# read of the serial numbers already taken. (A line committed by a concurrent upload after this statement's
# snapshot is caught by the unique key on (mdtrt_id, feedetl_sn); the facade retries the call, and the retry
# reads the serial numbers.)
_VISIT_FOR_UPLOAD = Fast(
    select(*_VISIT_COLS, exists().where(_FEE.c.mdtrt_id == _VIS.c.mdtrt_id).label("has_lines"))
    .where(_VIS.c.mdtrt_id == bindparam("mdtrt_id"))
    .with_for_update()
)
_OPEN_ADMISSION = select(_VIS.c.mdtrt_id).where(
    _VIS.c.psn_no == bindparam("psn_no"),
    _VIS.c.med_type.like(INPATIENT_PREFIX + "%"),
    _VIS.c.status.in_(("open", "admitted")),
)
_VISIT_KEYS = (
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "insutype",
    "med_type",
    "begntime",
    "status",
    "atddr_no",
    "dept_code",
    "dise_codg",
    "dise_name",
)
_INSERT_VISIT = Fast(insert(_VIS), keys=_VISIT_KEYS)
_FEE_SNS = Fast(select(_FEE.c.feedetl_sn).where(_FEE.c.mdtrt_id == bindparam("mdtrt_id")))
# what a refund is checked against: the visit's unsettled lines (read only for an upload with a refund)
_UNSETTLED = select(
    _FEE.c.feedetl_sn, _FEE.c.med_list_codg, _FEE.c.cnt, _FEE.c.det_item_fee_sumamt, _FEE.c.init_feedetl_sn
).where(_FEE.c.mdtrt_id == bindparam("mdtrt_id"), _FEE.c.status == "open")
_CAT = CatalogueItem.__table__
# every version of the codes (the day's is chosen in :func:`_catalogue`): the read needs nothing but the
# upload's own message, so it can travel with the call's first round trip (:func:`prefetch_upload`)
_CATALOGUE = Fast(
    *(
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
        for codes in (
            _CAT.c.med_list_codg.in_(bindparam("codes", expanding=True)),
            _CAT.c.med_list_codg == any_(bindparam("codes", type_=ARRAY(String))),
        )
    )
)
_FEE_KEYS = (
    "mdtrt_id",
    "feedetl_sn",
    "chrg_bchno",
    "med_list_codg",
    "medins_list_codg",
    "med_chrgitm_type",
    "fee_ocur_time",
    "pric",
    "cnt",
    "det_item_fee_sumamt",
    "chrgitm_lv",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "hosp_appr_flag",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
    "bilg_dr_codg",
    "init_feedetl_sn",
    "setl_id",
    "status",
)
_INSERT_FEES = FastRows(_FEE, _FEE_KEYS)
_OPEN_LINE_COLS = (
    _FEE.c.id,
    _FEE.c.med_list_codg,
    *(_FEE.c[k] for k in online.LINE_SPLIT[1:]),  # the split the upload stored (the kernel's own)
    _FEE.c.pric,
    _FEE.c.cnt,
    _FEE.c.det_item_fee_sumamt,
    _FEE.c.chrgitm_lv,
    _FEE.c.selfpay_prop,
    _FEE.c.pric_uplmt_amt,
    _FEE.c.lmt_used_flag,
    _FEE.c.hosp_appr_flag,
)
_OPEN_LINES = {
    by_batch: Fast(
        select(*_OPEN_LINE_COLS)
        .where(
            _FEE.c.mdtrt_id == bindparam("mdtrt_id"),
            _FEE.c.status == "open",
            *((_FEE.c.chrg_bchno == bindparam("chrg_bchno"),) if by_batch else ()),
        )
        .order_by(_FEE.c.id)
    )
    for by_batch in (False, True)
}
# (the person's key too: settlement has an index on it, none on the visit)
_PRIOR_DEDUCTIBLES = Fast(
    select(_SETL.c.act_pay_dedc, _SETL.c.adm_dedc)
    .where(
        _SETL.c.psn_no == bindparam("psn_no"),
        _SETL.c.mdtrt_id == bindparam("mdtrt_id"),
        _SETL.c.refd_setl_flag == "0",
        _SETL.c.reversed_by.is_(None),
    )
    .order_by(_SETL.c.setl_time, _SETL.c.setl_id)  # the first opened the admission
)
# identities, approved chronic registrations, 惠民保 years, the visit year's accumulators and the balance of the
# account that pays (its row locked: FOR UPDATE in the WITH), in one round trip: (kind, code, begin, end, number)
_NO_CODE, _NO_DATE, _NO_NUMBER = cast(null(), String), cast(null(), Date), cast(null(), BigInteger)
_OWNER_ACCOUNT = (
    select(_ACCT.c.balance).where(_ACCT.c.psn_no == bindparam("owner")).with_for_update().cte("owner_account")
)


def _of_visit(column):
    """A column of the settlement's visit: the accumulators' year and insurance type are the visit's, read
    by the statement itself so it needs only the message's keys (:func:`prefetch_settle`)."""
    return select(column).where(_VIS.c.mdtrt_id == bindparam("mdtrt_id")).scalar_subquery()


_PERSON_STATE = Fast(
    union_all(
        select(
            literal_column("'i'").label("kind"),
            _IDET.c.psn_idet_type.label("code"),
            _IDET.c.begntime.label("begn"),
            _IDET.c.endtime.label("end"),
            _NO_NUMBER.label("n"),
        ).where(_IDET.c.psn_no == bindparam("psn_no")),
        select(
            literal_column("'c'"),
            _CHRONIC.c.opsp_dise_code,
            _CHRONIC.c.begndate,
            _CHRONIC.c.enddate,
            _NO_NUMBER,
        ).where(_CHRONIC.c.psn_no == bindparam("psn_no"), _CHRONIC.c.status == "approved"),
        select(literal_column("'s'"), _NO_CODE, _NO_DATE, _NO_DATE, _SUPP.c.year).where(
            _SUPP.c.psn_no == bindparam("psn_no")
        ),
        select(literal_column("'a'"), _ACC.c.acc_key, _NO_DATE, _NO_DATE, _ACC.c.value).where(
            _ACC.c.psn_no == bindparam("psn_no"),
            _ACC.c.year == _of_visit(cast(extract("year", _VIS.c.begntime), Integer)),
            _ACC.c.insutype == _of_visit(_VIS.c.insutype),
        ),
        select(literal_column("'b'"), _NO_CODE, _NO_DATE, _NO_DATE, _OWNER_ACCOUNT.c.balance),
    )
)
_SET_BALANCE = Fast(
    update(_ACCT).where(_ACCT.c.psn_no == bindparam("k_psn_no")).values(balance=bindparam("k_balance"))
)
# (the visit's key too: the index on it serves even a plan PostgreSQL cached while the table was tiny)
_SETTLE_LINES = Fast(
    *(
        update(_FEE)
        .where(_FEE.c.mdtrt_id == bindparam("k_mdtrt_id"), ids)
        .values(status="settled", setl_id=bindparam("k_setl_id"))
        for ids in (
            _FEE.c.id.in_(bindparam("ids", expanding=True)),
            _FEE.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))),
        )
    )
)
_SET_VISIT_STATUS = Fast(
    update(_VIS).where(_VIS.c.mdtrt_id == bindparam("k_mdtrt_id")).values(status=bindparam("k_status"))
)


def _institution(session: Session, ctx: Context) -> SimpleNamespace:
    """The caller's institution (code, admdvs, dedc_hosp_lv): from the facade's authentication when it
    read it in this unit of work, else from the table; refused unless active."""
    if ctx.admdvs is not None:
        inst = SimpleNamespace(
            fixmedins_code=ctx.fixmedins_code,
            admdvs=ctx.admdvs,
            dedc_hosp_lv=ctx.dedc_hosp_lv,
            status=ctx.inst_status,
        )
    else:
        inst = session.connection().execute(_INST_ROW, {"code": ctx.fixmedins_code}).first()
        if inst is None:
            raise NotFound(f"fixmedins_code: 定点医药机构不存在 {ctx.fixmedins_code}")
    if inst.status != "active":
        raise SettlementError(
            f"fixmedins_code: 定点医药机构 {ctx.fixmedins_code} 状态为 {inst.status}，不能结算"
        )
    return inst


def _check_own(row, ctx: Context, mdtrt_id: str) -> None:
    """:func:`own_visit`'s refusal for a visit read as a plain row (the hot path reads no ORM object)."""
    if row is None or row.fixmedins_code != ctx.fixmedins_code:  # another institution's visit does not exist
        raise NotFound(f"mdtrt_id: 就诊不存在 {mdtrt_id}")


def _enrollments_read(psn_no: str, insutype: str | None, day: date) -> tuple[Fast, dict]:
    params = {"psn_no": psn_no, "day": day}
    if insutype:
        params["insutype"] = insutype
    return _PERSON_ENROLLMENTS[bool(insutype)], params


def read_enrollment(session: Session, psn_no: str, insutype: str | None, day: date):
    """:func:`facts.enrollment_on` in one round trip, refusing an unknown person first (without an ORM
    session: a facade call's later reads can still travel ahead)."""
    read, params = _enrollments_read(psn_no, insutype, day)
    rows = read.rows(session, params)
    if not rows:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return facts.choose_enrollment([r for r in rows if r.id is not None], psn_no, insutype, day)


# --- visits ------------------------------------------------------------------------------------------


def register_visit(
    session: Session,
    ctx: Context,
    *,
    psn_no: str,
    insutype: str,
    begntime: datetime,
    med_type: str | None = None,
    inpatient: bool = False,
    enrollment_checked: bool = False,
    **details,
) -> SimpleNamespace:
    """2201 挂号 / 2401 入院: open a visit for an enrolled person at the caller's institution.
    ``enrollment_checked``: the caller has read :func:`read_enrollment` for this person, type and day in this
    unit of work (a pharmacy's 2102 checks the medical type first)."""
    inst = _institution(session, ctx)
    if not enrollment_checked:
        read_enrollment(session, psn_no, insutype, begntime.date())
    if inpatient:
        open_adm = session.connection().execute(_OPEN_ADMISSION, {"psn_no": psn_no}).scalar()
        if open_adm:
            raise SettlementError(f"psn_no: 人员已在院 (就诊 {open_adm})，不能重复入院")
    visit = {
        "mdtrt_id": new_id(inst.admdvs, "M", ctx.clock()),
        "psn_no": psn_no,
        "fixmedins_code": inst.fixmedins_code,
        "insutype": insutype,
        "med_type": med_type or ("21" if inpatient else "11"),
        "begntime": begntime,
        "status": "admitted" if inpatient else "open",
        **details,
    }
    if set(details) <= set(_VISIT_KEYS):
        _INSERT_VISIT.queue(session, {**dict.fromkeys(_VISIT_KEYS), **visit})
    else:
        session.connection().execute(insert(_VIS), visit)
    audit.record(
        session,
        actor=ctx.actor,
        action="admit" if inpatient else "register",
        entity="visit",
        entity_id=visit["mdtrt_id"],
        after={"psn_no": psn_no, "insutype": insutype, "med_type": visit["med_type"]},
    )
    return SimpleNamespace(**{**{c.name: None for c in _VISIT_COLS}, **visit})


def update_visit(session: Session, ctx: Context, mdtrt_id: str, **changes) -> Visit:
    """2203 就诊信息上传 / 2403 入院信息变更: med_type, diagnoses, the chronic disease …"""
    visit = own_visit(session, ctx, mdtrt_id)
    if visit.status in ("settled", "cancelled"):
        raise SettlementError(f"mdtrt_id: 就诊已{'结算' if visit.status == 'settled' else '撤销'}，不能修改")
    before = {k: getattr(visit, k) for k in changes}
    for k, v in changes.items():
        if v is not None:
            setattr(visit, k, v)
    audit.record(
        session,
        actor=ctx.actor,
        action="update",
        entity="visit",
        entity_id=mdtrt_id,
        before=before,
        after={k: getattr(visit, k) for k in changes},
    )
    return visit


def cancel_visit(session: Session, ctx: Context, mdtrt_id: str) -> Visit:
    """2202 挂号撤销 / 2404 入院撤销: only a visit with no settlement."""
    visit = own_visit(session, ctx, mdtrt_id, lock=True)
    live = session.scalar(
        select(Settlement.setl_id).where(
            Settlement.mdtrt_id == mdtrt_id,
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
        )
    )
    if live:
        raise SettlementError(f"mdtrt_id: 就诊已有结算 {live}，请先撤销结算")
    if visit.status == "cancelled":
        raise SettlementError("mdtrt_id: 就诊已撤销")
    session.execute(
        update(FeeLine)
        .where(FeeLine.mdtrt_id == mdtrt_id, FeeLine.status == "open")
        .values(status="cancelled")
    )
    visit.status = "cancelled"
    audit.record(session, actor=ctx.actor, action="cancel", entity="visit", entity_id=mdtrt_id)
    return visit


def discharge(
    session: Session, ctx: Context, mdtrt_id: str, endtime: datetime, dscg_way: str | None = None, **details
) -> Visit:
    """2402 出院办理."""
    visit = own_visit(session, ctx, mdtrt_id)
    if not visit.med_type.startswith(INPATIENT_PREFIX) or visit.status != "admitted":
        raise SettlementError(f"mdtrt_id: {visit_state(visit.status)}，不能办理出院")
    if endtime < visit.begntime:
        raise InputError(f"endtime: 出院时间 {endtime} 早于入院时间 {visit.begntime}")
    visit.endtime, visit.dscg_way, visit.status = endtime, dscg_way, "discharged"
    for k, v in details.items():
        if v is not None:
            setattr(visit, k, v)
    audit.record(
        session,
        actor=ctx.actor,
        action="discharge",
        entity="visit",
        entity_id=mdtrt_id,
        after={"endtime": endtime, "dscg_way": dscg_way},
    )
    return visit


def undo_discharge(session: Session, ctx: Context, mdtrt_id: str) -> Visit:
    """2405 出院撤销: back to admitted, unless the final settlement was made."""
    visit = own_visit(session, ctx, mdtrt_id)
    if visit.status != "discharged":
        raise SettlementError(f"mdtrt_id: {visit_state(visit.status)}，不能撤销出院")
    visit.status, visit.endtime = "admitted", None
    audit.record(session, actor=ctx.actor, action="undo_discharge", entity="visit", entity_id=mdtrt_id)
    return visit


# --- fee lines ---------------------------------------------------------------------------------------


def _catalogue(session: Session, codes: set[str], day: date) -> dict:
    if not codes:
        return {}
    rows = _CATALOGUE.rows(session, {"codes": sorted(codes)})
    # the version in force on the day (the latest begun, should two overlap)
    return {r.med_list_codg: r for r in rows if r.begndate <= day and (r.enddate is None or r.enddate >= day)}


def _fee(item, f: FeeInput) -> Fee:
    """Catalogue attributes of a line; a code outside the 医保目录 (where the region pays it at all) is 全自费
    (丙类)."""
    if item is None:
        return Fee(f.pric, f.cnt, f.det_item_fee_sumamt, 3, 0, NO_CAP, 0, f.hosp_appr_flag)
    cap = item.pric_uplmt_amt if item.pric_uplmt_amt else NO_CAP
    return Fee(
        f.pric,
        f.cnt,
        f.det_item_fee_sumamt,
        int(item.chrgitm_lv),
        item.selfpay_prop if item.chrgitm_lv == "02" else 0,
        cap,
        int(item.lmt_used_flag or 0),
        f.hosp_appr_flag,
    )


def _unknown_items_paid(admdvs: str, day: date) -> bool:
    """Whether the 就医地's policy takes a code outside its catalogue as 全自费 on ``day`` (``catalogue:
    unknown_items: self_pay``); by default it is refused, as the national platform refuses an item that is
    not in the catalogue or not mapped to it (目录对照)."""
    try:
        bundle = get_bundle(admdvs)
    except PolicyError:
        return False
    ver = bundle.version_index(day)
    return ver is not None and bundle.policies[ver].catalogue.unknown_items == "self_pay"


def _check_catalogue(session: Session, ctx: Context, lines: list[FeeInput], items: dict, day: date) -> None:
    missing = next((k for k, f in enumerate(lines) if f.med_list_codg not in items), None)
    if missing is None or _unknown_items_paid(_institution(session, ctx).admdvs, day):
        return
    code = lines[missing].med_list_codg
    raise LineError(
        missing,
        "med_list_codg",
        f"目录中不存在 {quote(code)}，或就诊日 {day} 不在其有效期内 (not in the catalogue)",
    )


def _check_refunds(session: Session, mdtrt_id: str, lines: list[FeeInput]) -> None:
    """退费 lines (negative cnt) against the visit's unsettled lines: read only for an upload with one."""
    if not any(f.cnt < 0 or f.init_feedetl_sn is not None for f in lines):
        return
    unsettled = [Charged(*r) for r in session.connection().execute(_UNSETTLED, {"mdtrt_id": mdtrt_id})]
    check_refunds(
        unsettled,
        [
            Charged(f.feedetl_sn, f.med_list_codg, f.cnt, f.det_item_fee_sumamt, f.init_feedetl_sn)
            for f in lines
        ],
    )


def visit_for_upload(session: Session, ctx: Context, mdtrt_id: str) -> SimpleNamespace:
    """The caller's visit, locked for a fee upload (:func:`upload_fees` may be given it)."""
    row = _VISIT_FOR_UPLOAD.first(session, {"mdtrt_id": mdtrt_id})
    _check_own(row, ctx, mdtrt_id)
    return SimpleNamespace(**row._asdict())


def upload_fees(
    session: Session,
    ctx: Context,
    mdtrt_id: str,
    lines: list[FeeInput],
    *,
    visit: SimpleNamespace | None = None,
) -> list[dict]:
    """2204 / 2301 费用明细上传: split each line against the catalogue and keep it until settlement.

    Returns the stored lines (column → value). ``visit`` is the visit already locked by
    :func:`visit_for_upload` in this unit of work, if the caller has it."""
    if visit is None:
        visit = visit_for_upload(session, ctx, mdtrt_id)
    if visit.status not in ("open", "admitted", "discharged"):
        raise SettlementError(f"mdtrt_id: {visit_state(visit.status)}，不能上传费用")
    if not lines:
        raise InputError("feedetail: 没有费用明细")
    existing = (
        {r.feedetl_sn for r in _FEE_SNS.rows(session, {"mdtrt_id": mdtrt_id})}
        if getattr(visit, "has_lines", True)
        else set()
    )
    seen: set[str] = set()
    for k, f in enumerate(lines):
        if f.feedetl_sn in existing or f.feedetl_sn in seen:
            raise LineError(
                k, "feedetl_sn", f"费用明细流水号 {f.feedetl_sn} 重复 (already used in this visit)"
            )
        seen.add(f.feedetl_sn)
    day = visit.begntime.date()
    items = _catalogue(session, {f.med_list_codg for f in lines}, day)
    _check_catalogue(session, ctx, lines, items, day)
    fees = [_fee(items.get(f.med_list_codg), f) for f in lines]
    split = split_lines(online.line_arrays(fees))
    _check_refunds(session, mdtrt_id, lines)
    ful, over, pre, inscp = (a.tolist() for a in (split.ful, split.over, split.pre, split.inscp))
    rows = []
    for k, (f, fee) in enumerate(zip(lines, fees, strict=True)):
        item = items.get(f.med_list_codg)
        rows.append(
            {
                "mdtrt_id": mdtrt_id,
                "feedetl_sn": f.feedetl_sn,
                "chrg_bchno": f.chrg_bchno,
                "med_list_codg": f.med_list_codg,
                "medins_list_codg": f.medins_list_codg,
                "med_chrgitm_type": item.med_chrgitm_type if item is not None else None,
                "fee_ocur_time": f.fee_ocur_time,
                "pric": f.pric,
                "cnt": f.cnt,
                "det_item_fee_sumamt": f.det_item_fee_sumamt,
                "chrgitm_lv": f"{fee.chrgitm_lv:02d}",
                "selfpay_prop": fee.selfpay_prop,
                "pric_uplmt_amt": None if fee.pric_uplmt_amt == NO_CAP else fee.pric_uplmt_amt,
                "lmt_used_flag": str(fee.lmt_used_flag),
                "hosp_appr_flag": str(fee.hosp_appr_flag),
                "fulamt_ownpay_amt": ful[k],
                "overlmt_amt": over[k],
                "preselfpay_amt": pre[k],
                "inscp_scp_amt": inscp[k],
                "bilg_dr_codg": f.bilg_dr_codg,
                "init_feedetl_sn": f.init_feedetl_sn,
                "setl_id": None,
                "status": "open",
            }
        )
    _INSERT_FEES.queue(session, rows)
    audit.record(
        session,
        actor=ctx.actor,
        action="upload_fees",
        entity="visit",
        entity_id=mdtrt_id,
        after={"lines": len(rows), "amount": fmt_fen(sum(r["det_item_fee_sumamt"] for r in rows))},
    )
    return rows


def cancel_fees(
    session: Session,
    ctx: Context,
    mdtrt_id: str,
    *,
    chrg_bchno: str | None = None,
    feedetl_sn: str | None = None,
) -> int:
    """2205 / 2302 费用明细撤销: ``0000`` (or nothing) = every unsettled line."""
    own_visit(session, ctx, mdtrt_id, lock=True)
    q = update(FeeLine).where(FeeLine.mdtrt_id == mdtrt_id, FeeLine.status == "open")
    if chrg_bchno and chrg_bchno != "0000":
        q = q.where(FeeLine.chrg_bchno == chrg_bchno)
    if feedetl_sn and feedetl_sn != "0000":
        q = q.where(FeeLine.feedetl_sn == feedetl_sn)
    n = session.execute(q.values(status="cancelled")).rowcount
    if not n:
        raise SettlementError("feedetl_sn: 没有可撤销的未结算费用明细")
    audit.record(
        session,
        actor=ctx.actor,
        action="cancel_fees",
        entity="visit",
        entity_id=mdtrt_id,
        after={"lines": n, "chrg_bchno": chrg_bchno, "feedetl_sn": feedetl_sn},
    )
    return n


# --- settle and reverse -----------------------------------------------------------------------------


def _stored_fee(r) -> Fee:
    return Fee(
        r.pric,
        r.cnt,
        r.det_item_fee_sumamt,
        int(r.chrgitm_lv),
        r.selfpay_prop,
        NO_CAP if r.pric_uplmt_amt is None else r.pric_uplmt_amt,
        int(r.lmt_used_flag),
        int(r.hosp_appr_flag),
    )


@dataclass
class SettleOutcome:
    settled: Settled
    setl_id: str | None  # None for a pre-settlement
    visit: Visit | SimpleNamespace
    row: Settlement | SimpleNamespace | None = None
    person: Person | SimpleNamespace | None = None  # the insured person, when already read
    enrollment: Enrollment | None = None  # the enrollment the settlement applied (pre-settlements)


def _open_lines_read(mdtrt_id: str, chrg_bchno: str | None) -> tuple[Fast, dict]:
    by_batch = bool(chrg_bchno and chrg_bchno != "0000")
    return _OPEN_LINES[by_batch], {"mdtrt_id": mdtrt_id, **({"chrg_bchno": chrg_bchno} if by_batch else {})}


def _person_state(session: Session, psn_no: str, mdtrt_id: str, owner: str):
    """Identities, approved chronic registrations, 惠民保 years, the accumulators of the visit's year and
    insurance type, and the balance of ``owner``'s personal account, locked (None: no account)."""
    ids, chronic, years, accum, balance = [], [], set(), {}, None
    rows = _PERSON_STATE.rows(session, {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "owner": owner})
    for kind, code, begn, end, n in rows:
        if kind == "b":
            balance = int(n)
        elif kind == "i":
            ids.append(Dated(code, begn, end))
        elif kind == "c":
            chronic.append(Dated(code, begn, end))
        elif kind == "s":
            years.add(int(n))
        elif n:
            accum[code] = int(n)
    return ids, chronic, years, accum, balance


def settle(
    session: Session,
    ctx: Context,
    *,
    mdtrt_id: str,
    psn_no: str,
    insutype: str | None = None,
    acct_used_flag: int = 0,
    medfee_sumamt: int | None = None,
    chrg_bchno: str | None = None,
    mid_setl_flag: bool = False,
    pre: bool = False,
) -> SettleOutcome:
    """2206/2207 门诊 and 2303/2304 住院 (预)结算 of the visit's unsettled lines."""
    inst = _institution(session, ctx)
    who_row = _LOCK_PERSON.first(session, {"psn_no": psn_no})
    if who_row is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    rows = _VISIT_TO_SETTLE.rows(session, {"mdtrt_id": mdtrt_id})
    _check_own(rows[0] if rows else None, ctx, mdtrt_id)
    visit = SimpleNamespace(**{c.name: getattr(rows[0], c.name) for c in _VISIT_COLS})
    if visit.psn_no != psn_no:
        raise InputError(f"psn_no: 就诊 {mdtrt_id} 不属于人员 {psn_no}")
    if insutype and insutype != visit.insutype:
        raise InputError(f"insutype: 与就诊登记的险种 {visit.insutype} 不一致")
    inpatient = visit.med_type.startswith(INPATIENT_PREFIX)
    if visit.status in ("settled", "cancelled"):
        raise SettlementError(
            f"mdtrt_id: 就诊已{'结算' if visit.status == 'settled' else '撤销'}，不能再结算"
        )
    if inpatient and not mid_setl_flag and visit.status != "discharged":
        raise SettlementError("mdtrt_id: 住院须先办理出院 (2402) 才能出院结算；中途结算请传 mid_setl_flag=1")
    read, params = _open_lines_read(mdtrt_id, chrg_bchno)
    lines = read.rows(session, params)
    if not lines:
        raise SettlementError("feedetail: 没有未结算的费用明细")
    total = sum(r.det_item_fee_sumamt for r in lines)
    if any(r.cnt < 0 for r in lines):  # (a charge cancelled by 2205/2302 after its refund was uploaded)
        overdrawn = overdrawn_items(
            [Charged("", r.med_list_codg, r.cnt, r.det_item_fee_sumamt) for r in lines]
        )
        if overdrawn:
            raise SettlementError(
                f"feedetail: 项目 {quote(overdrawn[0])} 的退费超过本次结算的收费 (refunds more than was charged)"
            )
    if medfee_sumamt is not None and medfee_sumamt != total:
        raise InputError(f"medfee_sumamt: {fmt_fen(medfee_sumamt)} 与费用明细合计 {fmt_fen(total)} 不符")
    day = visit.begntime.date()
    enrollments = [
        EnrollmentRow(*(getattr(r, label) for label in _ENR_LABELS)) for r in rows if r.enr_id is not None
    ]
    enrollment = facts.choose_enrollment(enrollments, psn_no, visit.insutype, day)
    bundle = get_bundle(enrollment.insuplc_admdvs)
    # a continuation (after a 中途结算): what the admission's deductible was and how much of it is used
    prior = (
        [] if not inpatient else _PRIOR_DEDUCTIBLES.rows(session, {"psn_no": psn_no, "mdtrt_id": mdtrt_id})
    )
    owner = psn_no
    if acct_used_flag == 2:  # 共济: a bound relative's 职工 account pays
        from yibao.enrollment.service import mutual_aid_owner

        owner = mutual_aid_owner(session, psn_no, day)
        if owner is None:
            raise SettlementError("acct_used_flag: 未绑定共济账户 (no family mutual-aid binding)")
    facts.check_alive(who_row, day)
    # the owner's account row is locked, never the owner: two persons paying from each other's account at
    # once would each hold their own person row and wait for the other's (a deadlock, one of them retried)
    ids, chronic, years, accum, account_balance = _person_state(session, psn_no, mdtrt_id, owner)
    who = PersonFacts(
        enrollment.insutype, enrollment.psn_type, ids, chronic, years, has_account=account_balance is not None
    )
    request = VisitRequest(
        med_type=visit.med_type,
        begndate=day,
        fees=[_stored_fee(r) for r in lines],
        split=[{k: getattr(r, k) for k in online.LINE_SPLIT} for r in lines],
        hosp_lv=inst.dedc_hosp_lv,
        opsp_dise_code=visit.opsp_dise_code,
        acct_used_flag=acct_used_flag,
        new_admission=not prior,
        adm_dedc_used=sum(r.act_pay_dedc for r in prior),
        adm_dedc=prior[0].adm_dedc if prior else None,  # None (settled before 0004): derived
    )
    balance = account_balance or 0
    settled, new_accum, new_balance = online.settle(bundle, who, request, accum, balance)
    if pre:
        return SettleOutcome(settled, None, visit, person=who_row, enrollment=enrollment)
    now = ctx.clock()
    setl_id = new_id(inst.admdvs, "S", now)
    row = write_settlement(
        session,
        settled,
        setl_id=setl_id,
        mdtrt_id=mdtrt_id,
        psn_no=psn_no,
        psn_type=enrollment.psn_type,
        fixmedins_code=inst.fixmedins_code,
        med_type=visit.med_type,
        begndate=day,
        enddate=visit.endtime.date() if visit.endtime else None,
        setl_time=now,
        clr_optins=enrollment.insuplc_admdvs,
        dedc_hosp_lv=inst.dedc_hosp_lv,
        msgid=ctx.msgid,
        actor=ctx.actor,
        mid_setl_flag="1" if mid_setl_flag else "0",
        account_owner=owner if owner != psn_no else None,
    )
    facts.save_accumulators(session, psn_no, day.year, visit.insutype, accum, new_accum)
    if new_balance != balance:
        _SET_BALANCE.queue(session, {"k_psn_no": owner, "k_balance": new_balance})
    _SETTLE_LINES.queue(session, {"k_mdtrt_id": mdtrt_id, "ids": [r.id for r in lines], "k_setl_id": setl_id})
    if not (inpatient and mid_setl_flag):
        _SET_VISIT_STATUS.queue(session, {"k_mdtrt_id": mdtrt_id, "k_status": "settled"})
        visit.status = "settled"
    audit_settlement(session, settled, row, actor=ctx.actor)  # last: the chain's head is locked until commit
    return SettleOutcome(settled, setl_id, visit, row, person=who_row)


# --- reads ahead (PostgreSQL): a call's reads that need only its message travel with its first round trip


def prefetch_register(session: Session, *, psn_no: str, insutype: str | None, day: date) -> None:
    """The reads of :func:`register_visit` (an outpatient visit)."""
    read, params = _enrollments_read(psn_no, insutype, day)
    read.prefetch(session, params)


def prefetch_upload(session: Session, *, mdtrt_id: str, codes: set[str]) -> None:
    """The reads of :func:`upload_fees` for a visit without lines yet (the usual single upload)."""
    _VISIT_FOR_UPLOAD.prefetch(session, {"mdtrt_id": mdtrt_id})
    if codes:
        _CATALOGUE.prefetch(session, {"codes": sorted(codes)})


def prefetch_settle(
    session: Session,
    *,
    mdtrt_id: str,
    psn_no: str,
    chrg_bchno: str | None,
    own_account: bool,
    inpatient: bool,
) -> None:
    """The reads of :func:`settle`, in its order (its locks: the person, the visit, the paying account).
    ``own_account``: the person's own account pays (not a 共济 relative's); ``inpatient``: an admission (a
    hint: a wrong one costs a read, never a wrong answer)."""
    _LOCK_PERSON.prefetch(session, {"psn_no": psn_no})
    _VISIT_TO_SETTLE.prefetch(session, {"mdtrt_id": mdtrt_id})
    read, params = _open_lines_read(mdtrt_id, chrg_bchno)
    read.prefetch(session, params)
    if inpatient:
        _PRIOR_DEDUCTIBLES.prefetch(session, {"psn_no": psn_no, "mdtrt_id": mdtrt_id})
    if own_account:
        _PERSON_STATE.prefetch(session, {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "owner": psn_no})


def settled_from_row(row: Settlement, details: list[SettlementDetail]) -> Settled:
    info = {k: getattr(row, k) for k in SETLINFO_AMOUNTS}
    info["pool_prop_selfpay"] = row.pool_prop_selfpay
    trace = row.trace or {}
    return Settled(
        setlinfo=info,
        setldetail=[
            DetailRow(d.fund_pay_type, d.inscp_scp_amt, d.crt_payb_lmt_amt, d.fund_payamt) for d in details
        ],
        delta=dict(row.accum_delta or {}),
        year=row.year,
        insutype=row.insutype,
        policy_version=row.policy_version,
        policy_hash=row.policy_hash,
        trace=list(trace.get("params", [])),
        assistance_category=trace.get("assistance_category"),
        reversal=row.refd_setl_flag == "1",
    )


def load_settled(session: Session, setl_id: str) -> tuple[Settlement, Settled]:
    row = session.get(Settlement, setl_id)
    if row is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    details = list(
        session.scalars(
            select(SettlementDetail).where(SettlementDetail.setl_id == setl_id).order_by(SettlementDetail.id)
        )
    )
    return row, settled_from_row(row, details)


def reverse(
    session: Session, ctx: Context, *, setl_id: str, psn_no: str | None = None, mdtrt_id: str | None = None
) -> SettleOutcome:
    """2208 / 2305 / 2103 结算撤销 (and 2601 冲正): record the exact negation, restore accumulators."""
    row = session.get(Settlement, setl_id)
    if row is None or row.fixmedins_code != ctx.fixmedins_code:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    who = facts.lock_person(session, row.psn_no)
    session.refresh(row)  # re-read under the person lock: a concurrent reversal may just have committed
    if psn_no and psn_no != row.psn_no:
        raise InputError(f"psn_no: 结算 {setl_id} 不属于人员 {psn_no}")
    if mdtrt_id and mdtrt_id != row.mdtrt_id:
        raise InputError(f"mdtrt_id: 结算 {setl_id} 不属于就诊 {mdtrt_id}")
    if row.refd_setl_flag == "1":
        raise SettlementError(f"setl_id: {setl_id} 是一笔撤销记录，不能再撤销")
    if row.reversed_by:
        raise SettlementError(f"setl_id: 结算 {setl_id} 已撤销 ({row.reversed_by})，不能重复撤销")
    later = session.scalar(
        select(Settlement.setl_id).where(
            Settlement.mdtrt_id == row.mdtrt_id,
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
            Settlement.setl_time > row.setl_time,
        )
    )
    if later:
        raise SettlementError(f"setl_id: 同一就诊的后续结算 {later} 须先撤销")
    _, settled = load_settled(session, setl_id)
    accum = facts.load_accumulators(session, row.psn_no, row.year, row.insutype)
    owner = (row.trace or {}).get(
        "account_owner"
    ) or row.psn_no  # 共济: the relative's account is credited back
    balance = facts.account_balance(session, owner)  # (the account locked, not its owner: see settle)
    negated, new_accum, new_balance = online.reverse(settled, accum, balance)
    now = ctx.clock()
    inst = _institution(session, ctx)
    rev_id = new_id(inst.admdvs, "R", now)
    rev_row = write_settlement(
        session,
        negated,
        setl_id=rev_id,
        mdtrt_id=row.mdtrt_id,
        psn_no=row.psn_no,
        psn_type=row.psn_type,
        fixmedins_code=row.fixmedins_code,
        med_type=row.med_type,
        begndate=row.begndate,
        enddate=row.enddate,
        setl_time=now,
        clr_optins=row.clr_optins,
        dedc_hosp_lv=row.dedc_hosp_lv,
        msgid=ctx.msgid,
        actor=ctx.actor,
        orig_setl_id=setl_id,
        mid_setl_flag=row.mid_setl_flag,
        account_owner=owner if owner != row.psn_no else None,
    )
    row.reversed_by = rev_id
    facts.save_accumulators(session, row.psn_no, row.year, row.insutype, accum, new_accum)
    flush_writes(session)  # the ORM statements below do not send the queued writes themselves
    if new_balance != balance:
        facts.set_account_balance(session, owner, new_balance)
    session.execute(
        update(FeeLine)
        .where(FeeLine.mdtrt_id == row.mdtrt_id, FeeLine.setl_id == setl_id)
        .values(status="open", setl_id=None)
    )
    visit = session.get(Visit, row.mdtrt_id)
    if visit.status == "settled":
        visit.status = (
            "discharged" if visit.endtime and visit.med_type.startswith(INPATIENT_PREFIX) else "open"
        )
    audit_settlement(
        session, negated, rev_row, actor=ctx.actor
    )  # last: the chain's head is locked until commit
    return SettleOutcome(negated, rev_id, visit, rev_row, person=who)


def enrollment_for(session: Session, psn_no: str, insutype: str | None, day: date) -> Enrollment:
    return facts.enrollment_on(session, psn_no, insutype, day)
