"""Settlement use cases (结算服务) over the store: visits, fee lines, settle, pre-settle, reverse.

Each function works inside the caller's unit of work (the facade opens one per request),
loads what it needs, calls the pure kernel, and writes the results; nothing is committed
unless everything succeeded. An institution only ever sees and changes its own visits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yibao.errors import InputError, NotFound, SettlementError
from yibao.money import fmt_fen
from yibao.policy.registry import get_bundle
from yibao.settlement import facts, online
from yibao.settlement.inputs import Fee, VisitRequest
from yibao.settlement.lines import NO_CAP, split_lines
from yibao.settlement.record import new_id, record_settlement
from yibao.settlement.result import SETLINFO_AMOUNTS, DetailRow, Settled
from yibao.store import audit
from yibao.store.tables import (
    CatalogueItem,
    Enrollment,
    FeeLine,
    Institution,
    Person,
    Settlement,
    SettlementDetail,
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


def institution(session: Session, code: str) -> Institution:
    inst = session.get(Institution, code)
    if inst is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {code}")
    if inst.status != "active":
        raise SettlementError(f"fixmedins_code: 定点医药机构 {code} 状态为 {inst.status}，不能结算")
    return inst


def own_visit(session: Session, ctx: Context, mdtrt_id: str, *, lock: bool = False) -> Visit:
    q = select(Visit).where(Visit.mdtrt_id == mdtrt_id)
    visit = session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
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
    **details,
) -> Visit:
    """2201 挂号 / 2401 入院: open a visit for an enrolled person at the caller's institution."""
    inst = institution(session, ctx.fixmedins_code)
    person(session, psn_no)
    facts.enrollment_on(session, psn_no, insutype, begntime.date())
    if inpatient:
        open_adm = session.scalar(
            select(Visit.mdtrt_id).where(
                Visit.psn_no == psn_no,
                Visit.med_type.like(INPATIENT_PREFIX + "%"),
                Visit.status.in_(("open", "admitted")),
            )
        )
        if open_adm:
            raise SettlementError(f"psn_no: 人员已在院 (就诊 {open_adm})，不能重复入院")
    visit = Visit(
        mdtrt_id=new_id(inst.admdvs, "M", ctx.clock()),
        psn_no=psn_no,
        fixmedins_code=inst.fixmedins_code,
        insutype=insutype,
        med_type=med_type or ("21" if inpatient else "11"),
        begntime=begntime,
        status="admitted" if inpatient else "open",
        **details,
    )
    session.add(visit)
    session.flush()
    audit.record(
        session,
        actor=ctx.actor,
        action="admit" if inpatient else "register",
        entity="visit",
        entity_id=visit.mdtrt_id,
        after={"psn_no": psn_no, "insutype": insutype, "med_type": visit.med_type},
    )
    return visit


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
        raise SettlementError(f"mdtrt_id: 就诊状态为 {visit.status}，不能办理出院")
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
        raise SettlementError(f"mdtrt_id: 就诊状态为 {visit.status}，不能撤销出院")
    visit.status, visit.endtime = "admitted", None
    audit.record(session, actor=ctx.actor, action="undo_discharge", entity="visit", entity_id=mdtrt_id)
    return visit


# --- fee lines ---------------------------------------------------------------------------------------


def _catalogue(session: Session, codes: set[str], day: date) -> dict[str, CatalogueItem]:
    if not codes:
        return {}
    rows = session.scalars(
        select(CatalogueItem).where(
            CatalogueItem.med_list_codg.in_(codes),
            CatalogueItem.begndate <= day,
            or_(CatalogueItem.enddate.is_(None), CatalogueItem.enddate >= day),
        )
    )
    return {r.med_list_codg: r for r in rows}


def _fee(item: CatalogueItem | None, f: FeeInput) -> Fee:
    """Catalogue attributes of a line; a code outside the 医保目录 is 全自费 (丙类)."""
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


def upload_fees(session: Session, ctx: Context, mdtrt_id: str, lines: list[FeeInput]) -> list[FeeLine]:
    """2204 / 2301 费用明细上传: split each line against the catalogue and keep it until settlement."""
    visit = own_visit(session, ctx, mdtrt_id, lock=True)
    if visit.status not in ("open", "admitted", "discharged"):
        raise SettlementError(f"mdtrt_id: 就诊状态为 {visit.status}，不能上传费用")
    if not lines:
        raise InputError("feedetail: 没有费用明细")
    existing = set(session.scalars(select(FeeLine.feedetl_sn).where(FeeLine.mdtrt_id == mdtrt_id)))
    seen: set[str] = set()
    for f in lines:
        if f.feedetl_sn in existing or f.feedetl_sn in seen:
            raise InputError(f"feedetl_sn: 费用明细流水号 {f.feedetl_sn} 重复")
        seen.add(f.feedetl_sn)
    items = _catalogue(session, {f.med_list_codg for f in lines}, visit.begntime.date())
    fees = [_fee(items.get(f.med_list_codg), f) for f in lines]
    split = split_lines(online.line_arrays(fees))
    rows = []
    for k, (f, fee) in enumerate(zip(lines, fees, strict=True)):
        row = FeeLine(
            mdtrt_id=mdtrt_id,
            feedetl_sn=f.feedetl_sn,
            chrg_bchno=f.chrg_bchno,
            med_list_codg=f.med_list_codg,
            medins_list_codg=f.medins_list_codg,
            med_chrgitm_type=getattr(items.get(f.med_list_codg), "med_chrgitm_type", None),
            fee_ocur_time=f.fee_ocur_time,
            pric=f.pric,
            cnt=f.cnt,
            det_item_fee_sumamt=f.det_item_fee_sumamt,
            chrgitm_lv=f"{fee.chrgitm_lv:02d}",
            selfpay_prop=fee.selfpay_prop,
            pric_uplmt_amt=None if fee.pric_uplmt_amt == NO_CAP else fee.pric_uplmt_amt,
            lmt_used_flag=str(fee.lmt_used_flag),
            hosp_appr_flag=str(fee.hosp_appr_flag),
            fulamt_ownpay_amt=int(split.ful[k]),
            overlmt_amt=int(split.over[k]),
            preselfpay_amt=int(split.pre[k]),
            inscp_scp_amt=int(split.inscp[k]),
            bilg_dr_codg=f.bilg_dr_codg,
            status="open",
        )
        rows.append(row)
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=ctx.actor,
        action="upload_fees",
        entity="visit",
        entity_id=mdtrt_id,
        after={"lines": len(rows), "amount": fmt_fen(sum(r.det_item_fee_sumamt for r in rows))},
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


def _stored_fee(r: FeeLine) -> Fee:
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
    visit: Visit
    row: Settlement | None = None


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
    inst = institution(session, ctx.fixmedins_code)
    who_row = facts.lock_person(session, psn_no)
    visit = own_visit(session, ctx, mdtrt_id, lock=True)
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
    q = select(FeeLine).where(FeeLine.mdtrt_id == mdtrt_id, FeeLine.status == "open")
    if chrg_bchno and chrg_bchno != "0000":
        q = q.where(FeeLine.chrg_bchno == chrg_bchno)
    lines = list(session.scalars(q.order_by(FeeLine.id)))
    if not lines:
        raise SettlementError("feedetail: 没有未结算的费用明细")
    total = sum(r.det_item_fee_sumamt for r in lines)
    if medfee_sumamt is not None and medfee_sumamt != total:
        raise InputError(f"medfee_sumamt: {fmt_fen(medfee_sumamt)} 与费用明细合计 {fmt_fen(total)} 不符")
    day = visit.begntime.date()
    enrollment = facts.enrollment_on(session, psn_no, visit.insutype, day)
    bundle = get_bundle(enrollment.insuplc_admdvs)
    prior = (
        []
        if not inpatient
        else list(
            session.scalars(
                select(Settlement).where(
                    Settlement.mdtrt_id == mdtrt_id,
                    Settlement.refd_setl_flag == "0",
                    Settlement.reversed_by.is_(None),
                )
            )
        )
    )
    owner = psn_no
    if acct_used_flag == 2:  # 共济: a bound relative's 职工 account pays
        from yibao.enrollment.service import mutual_aid_owner

        owner = mutual_aid_owner(session, psn_no, day)
        if owner is None:
            raise SettlementError("acct_used_flag: 未绑定共济账户 (no family mutual-aid binding)")
        facts.lock_person(session, owner)
    account = facts.lock_account(session, owner)
    who = facts.person_facts(session, who_row, enrollment, day, account)
    request = VisitRequest(
        med_type=visit.med_type,
        begndate=day,
        fees=[_stored_fee(r) for r in lines],
        hosp_lv=inst.dedc_hosp_lv,
        opsp_dise_code=visit.opsp_dise_code,
        acct_used_flag=acct_used_flag,
        new_admission=not prior,
        adm_dedc_used=sum(s.act_pay_dedc for s in prior),
    )
    accum = facts.load_accumulators(session, psn_no, day.year, visit.insutype)
    balance = account.balance if account is not None else 0
    settled, new_accum, new_balance = online.settle(bundle, who, request, accum, balance)
    if pre:
        return SettleOutcome(settled, None, visit)
    now = ctx.clock()
    setl_id = new_id(inst.admdvs, "S", now)
    row = record_settlement(
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
        facts.set_account_balance(session, owner, new_balance)
    ids = [r.id for r in lines]
    session.execute(update(FeeLine).where(FeeLine.id.in_(ids)).values(status="settled", setl_id=setl_id))
    if not (inpatient and mid_setl_flag):
        visit.status = "settled"
    return SettleOutcome(settled, setl_id, visit, row)


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
    facts.lock_person(session, row.psn_no)
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
    if owner != row.psn_no:
        facts.lock_person(session, owner)
    balance = facts.account_balance(session, owner)
    negated, new_accum, new_balance = online.reverse(settled, accum, balance)
    now = ctx.clock()
    inst = institution(session, ctx.fixmedins_code)
    rev_id = new_id(inst.admdvs, "R", now)
    rev_row = record_settlement(
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
    if new_balance != balance:
        facts.set_account_balance(session, owner, new_balance)
    session.execute(update(FeeLine).where(FeeLine.setl_id == setl_id).values(status="open", setl_id=None))
    visit = session.get(Visit, row.mdtrt_id)
    if visit.status == "settled":
        visit.status = (
            "discharged" if visit.endtime and visit.med_type.startswith(INPATIENT_PREFIX) else "open"
        )
    return SettleOutcome(negated, rev_id, visit, rev_row)


def enrollment_for(session: Session, psn_no: str, insutype: str | None, day: date) -> Enrollment:
    return facts.enrollment_on(session, psn_no, insutype, day)
