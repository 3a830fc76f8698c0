"""Settlement use cases (结算服务), part 2: (pre-)settle a visit's unsettled lines, reverse a settlement.

As in :mod:`yibao.settlement.service`: the reads each makes are declared (:mod:`yibao.settlement.queries`) and
listed once, in the order it makes them (:func:`settle_reads`, which the facade may also send ahead of the call:
the same list, never a copy); the kernel is pure; the writes go to the unit of work in the order written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.enrollment.bindings import OWNER_ON
from yibao.errors import InputError, NotFound, SettlementError, quote
from yibao.money import fmt_fen
from yibao.policy.registry import get_bundle
from yibao.settlement import facts, online
from yibao.settlement import queries as q
from yibao.settlement import writes as w
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP, Charged, overdrawn_items
from yibao.settlement.record import audit_settlement, new_id, write_beside, write_settlement
from yibao.settlement.result import SETLINFO_AMOUNTS, DetailRow, Settled
from yibao.settlement.service import Context, check_agreement, institution_of, is_admission
from yibao.settlement.states import reverse_settlement, transition
from yibao.store.statements import Read
from yibao.store.tables import Settlement, SettlementDetail
from yibao.store.uow import UnitOfWork


@dataclass
class SettleOutcome:
    settled: Settled
    setl_id: str | None  # None for a pre-settlement
    visit: SimpleNamespace
    row: SimpleNamespace | None = None
    person: SimpleNamespace | None = None  # the insured person, as read
    enrollment: object | None = None  # the enrollment the settlement applied (pre-settlements)


def stored_fee(r) -> Fee:
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


def settle_reads(
    *, code: str, mdtrt_id: str, psn_no: str, chrg_bchno: str | None, own_account: bool, inpatient: bool
) -> dict[str, Read]:
    """What a (pre-)settlement reads from its message, in the order it takes their locks: the institution's
    agreement, the person, the visit (with its enrollments), its unsettled lines, an admission's earlier
    deductibles, and the person's state with the paying account (when it is the person's own).
    ``inpatient``: an admission (a hint from the transaction: a wrong one costs a read, never a wrong answer)."""
    by_batch = bool(chrg_bchno and chrg_bchno != "0000")
    reads = {
        "agreement": q.AGREEMENT(code=code),
        "person": q.LOCK_PERSON(psn_no=psn_no),
        "visit": q.VISIT_TO_SETTLE(mdtrt_id=mdtrt_id),
        "lines": q.OPEN_LINES_OF_BATCH(mdtrt_id=mdtrt_id, chrg_bchno=chrg_bchno)
        if by_batch
        else q.OPEN_LINES(mdtrt_id=mdtrt_id),
    }
    if inpatient:
        reads["prior"] = q.PRIOR_DEDUCTIBLES(psn_no=psn_no, mdtrt_id=mdtrt_id)
    if own_account:
        reads["state"] = q.PERSON_STATE(psn_no=psn_no, mdtrt_id=mdtrt_id, owner=psn_no)
    return reads


def _person_facts(state: dict, enrollment) -> tuple[PersonFacts, dict[str, int], int | None]:
    """The person as the kernel sees them, the year's accumulators and the paying account's balance (None: no
    account), from a :data:`~yibao.settlement.queries.PERSON_STATE` read."""
    who = PersonFacts(
        enrollment.insutype,
        enrollment.psn_type,
        [Dated(r.psn_idet_type, r.begntime, r.endtime, r.psn_type_lv) for r in state["identities"]],
        [Dated(r.opsp_dise_code, r.begndate, r.enddate) for r in state["chronic"]],
        {int(r.year) for r in state["supplementary"]},
        has_account=bool(state["account"]),
    )
    accum = {r.acc_key: int(r.value) for r in state["accumulators"] if r.value}
    return who, accum, (int(state["account"][0].balance) if state["account"] else None)


def _check_refunds_netted(lines: list) -> None:
    if any(r.cnt < 0 for r in lines):  # (a charge cancelled by 2205/2302 after its refund was uploaded)
        overdrawn = overdrawn_items(
            [Charged("", r.med_list_codg, r.cnt, r.det_item_fee_sumamt) for r in lines]
        )
        if overdrawn:
            raise SettlementError(
                f"feedetail: 项目 {quote(overdrawn[0])} 的退费超过本次结算的收费 (refunds more than was charged)"
            )


def settle(
    uow: UnitOfWork,
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
    inpatient_hint: bool = False,
    check: Callable | None = None,
) -> SettleOutcome:
    """2206/2207 门诊 and 2303/2304 住院 (预)结算 of the visit's unsettled lines: read and check what the message
    names, gather the person's facts, run the kernel, and (unless a pre-settlement) record the result.
    ``check``: called with the visit and the lines to settle once they are checked (the region's inline
    audit, which may refuse the settlement)."""
    inst = institution_of(uow, ctx)
    got = uow.fetch(
        settle_reads(
            code=ctx.fixmedins_code,
            mdtrt_id=mdtrt_id,
            psn_no=psn_no,
            chrg_bchno=chrg_bchno,
            own_account=acct_used_flag != 2,
            inpatient=inpatient_hint,
        )
    )
    case = _checked(got, ctx, mdtrt_id, psn_no, insutype, mid_setl_flag, medfee_sumamt)
    if check is not None:
        check(case.visit, case.lines)
    owner, prior, who, accum, balance = _person_at_settlement(uow, got, case, acct_used_flag)
    request = VisitRequest(
        med_type=case.visit.med_type,
        begndate=case.day,
        fees=[stored_fee(r) for r in case.lines],
        split=[{k: getattr(r, k) for k in online.LINE_SPLIT} for r in case.lines],
        hosp_lv=inst.dedc_hosp_lv,
        opsp_dise_code=case.visit.opsp_dise_code,
        diagnoses=[case.visit.dise_codg] if case.visit.dise_codg else [],
        acct_used_flag=acct_used_flag,
        new_admission=not prior,
        adm_dedc_used=sum(r.act_pay_dedc for r in prior),
        adm_dedc=prior[0].adm_dedc if prior else None,  # None (settled before 0004): derived
    )
    bundle = get_bundle(case.enrollment.insuplc_admdvs)
    settled, new_accum, new_balance = online.settle(bundle, who, request, accum, balance)
    if pre:
        return SettleOutcome(settled, None, case.visit, person=case.person, enrollment=case.enrollment)
    return _record(
        uow, ctx, inst, case, settled, accum, new_accum, (owner, balance, new_balance), mid_setl_flag
    )


@dataclass
class _Case:
    """A settlement's visit, person, enrollment and lines, as read and checked."""

    visit: SimpleNamespace
    person: object
    enrollment: object
    lines: list
    day: object
    after: object  # the visit's status once settled


def _checked(
    got: dict, ctx: Context, mdtrt_id: str, psn_no: str, insutype, mid_setl_flag, medfee_sumamt
) -> _Case:
    """The reads of :func:`settle_reads`, checked in order: the person, the visit (the caller's, the person's,
    of the insurance type given, in a status that may be settled), the agreement on the visit day, the lines
    and their total, the enrollment in force."""
    who_row = got["person"][0] if got["person"] else None
    if who_row is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    rows = got["visit"]
    if not rows or rows[0].fixmedins_code != ctx.fixmedins_code:  # another institution's visit does not exist
        raise NotFound(f"mdtrt_id: 就诊不存在 {mdtrt_id}")
    visit = SimpleNamespace(**{k: getattr(rows[0], k) for k in q.VISIT_COLUMNS})
    if visit.psn_no != psn_no:
        raise InputError(f"psn_no: 就诊 {mdtrt_id} 不属于人员 {psn_no}")
    if insutype and insutype != visit.insutype:
        raise InputError(f"insutype: 与就诊登记的险种 {visit.insutype} 不一致")
    admission = is_admission(visit)
    event = "settle_midway" if admission and mid_setl_flag else "settle"
    after = transition(visit.status, event, admission=admission)
    day = visit.begntime.date()
    check_agreement(got["agreement"], ctx.fixmedins_code, day, visit.med_type)
    lines = got["lines"]
    if not lines:
        raise SettlementError("feedetail: 没有未结算的费用明细")
    total = sum(r.det_item_fee_sumamt for r in lines)
    _check_refunds_netted(lines)
    if medfee_sumamt is not None and medfee_sumamt != total:
        raise InputError(f"medfee_sumamt: {fmt_fen(medfee_sumamt)} 与费用明细合计 {fmt_fen(total)} 不符")
    enrollments = [
        q.EnrollmentRow(*(getattr(r, label) for label in q.ENR_LABELS)) for r in rows if r.enr_id is not None
    ]
    enrollment = facts.choose_enrollment(enrollments, psn_no, visit.insutype, day)
    return _Case(visit, who_row, enrollment, lines, day, after)


def _person_at_settlement(uow: UnitOfWork, got: dict, case: _Case, acct_used_flag: int):
    """The paying account's owner, the admission's earlier deductibles (a continuation after a 中途结算), and
    the person as the kernel sees them with the year's accumulators and the paying account's balance."""
    psn_no, mdtrt_id, day = case.visit.psn_no, case.visit.mdtrt_id, case.day
    prior = []
    if is_admission(case.visit):
        prior = (
            got["prior"]
            if "prior" in got
            else uow.read(q.PRIOR_DEDUCTIBLES(psn_no=psn_no, mdtrt_id=mdtrt_id))
        )
    owner = psn_no
    if acct_used_flag == 2:  # 共济: a bound relative's 职工 account pays
        bound = uow.first(OWNER_ON(member=psn_no, day=day))
        if bound is None:
            raise SettlementError("acct_used_flag: 未绑定共济账户 (no family mutual-aid binding)")
        owner = bound.owner_psn_no
    facts.check_alive(case.person, day)
    # the owner's account row is locked, never the owner: two persons paying from each other's account at once
    # would each hold their own person row and wait for the other's
    state = (
        got["state"]
        if "state" in got
        else uow.read(q.PERSON_STATE(psn_no=psn_no, mdtrt_id=mdtrt_id, owner=owner))
    )
    who, accum, account_balance = _person_facts(state, case.enrollment)
    return owner, prior, who, accum, account_balance or 0


def _record(uow, ctx, inst, case: _Case, settled, accum, new_accum, account, mid_setl_flag) -> SettleOutcome:
    """The settlement, its details and ledger entry, the accumulators, the account, the lines and the visit's
    status, in this order; the audit row last (the chain's head is locked until commit)."""
    owner, balance, new_balance = account
    visit = case.visit
    now = ctx.clock()
    setl_id = new_id(inst.admdvs, "S", now)
    row = write_settlement(
        uow,
        settled,
        setl_id=setl_id,
        mdtrt_id=visit.mdtrt_id,
        psn_no=visit.psn_no,
        psn_type=case.enrollment.psn_type,
        fixmedins_code=inst.fixmedins_code,
        med_type=visit.med_type,
        begndate=case.day,
        enddate=visit.endtime.date() if visit.endtime else None,
        setl_time=now,
        clr_optins=case.enrollment.insuplc_admdvs,
        dedc_hosp_lv=inst.dedc_hosp_lv,
        msgid=ctx.msgid,
        actor=ctx.actor,
        mid_setl_flag="1" if mid_setl_flag else "0",
        account_owner=owner if owner != visit.psn_no else None,
    )
    facts.save_accumulators(uow, visit.psn_no, case.day.year, visit.insutype, accum, new_accum)
    if new_balance != balance:
        uow.write(w.SET_BALANCE, {"k_psn_no": owner, "k_balance": new_balance})
    uow.write(
        w.SETTLE_LINES,
        {"k_mdtrt_id": visit.mdtrt_id, "ids": [r.id for r in case.lines], "k_setl_id": setl_id},
    )
    if case.after != visit.status:
        uow.write(w.SET_VISIT_STATUS, {"k_mdtrt_id": visit.mdtrt_id, "k_status": case.after.value})
        visit.status = case.after.value
    audit_settlement(uow, settled, row, actor=ctx.actor)
    return SettleOutcome(settled, setl_id, visit, row, person=case.person)


def settled_from_row(row, details: list) -> Settled:
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
    """A stored settlement as the staff pages and REST read it (ORM)."""
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
    uow: UnitOfWork, ctx: Context, *, setl_id: str, psn_no: str | None = None, mdtrt_id: str | None = None
) -> SettleOutcome:
    """2208 / 2305 / 2103 结算撤销 (and 2601 冲正): record the exact negation, restore accumulators."""
    who, row, details = _reversible(uow, ctx, setl_id, psn_no, mdtrt_id)
    owner = (row.trace or {}).get(
        "account_owner"
    ) or row.psn_no  # 共济: the relative's account is credited back
    now = uow.fetch(
        {
            "accum": q.ACCUMULATORS(psn_no=row.psn_no, year=row.year, insutype=row.insutype),
            "account": q.LOCK_ACCOUNT(owner=owner),  # (the account locked, not its owner: see settle)
            "visit": q.VISIT(mdtrt_id=row.mdtrt_id),
        }
    )
    accum = {r.acc_key: int(r.value) for r in now["accum"] if r.value}
    balance = int(now["account"][0].balance) if now["account"] else 0
    negated, new_accum, new_balance = online.reverse(settled_from_row(row, details), accum, balance)
    when = ctx.clock()
    rev_id = new_id(institution_of(uow, ctx).admdvs, "R", when)
    rev_row = write_beside(
        uow,
        negated,
        row,
        setl_id=rev_id,
        setl_time=when,
        msgid=ctx.msgid,
        actor=ctx.actor,
        orig_setl_id=setl_id,
        mid_setl_flag=row.mid_setl_flag,
        account_owner=owner if owner != row.psn_no else None,
    )
    uow.write(w.MARK_REVERSED, {"k_setl_id": setl_id, "k_reversed_by": rev_id})
    facts.save_accumulators(uow, row.psn_no, row.year, row.insutype, accum, new_accum)
    if new_balance != balance:
        uow.write(w.SET_BALANCE, {"k_psn_no": owner, "k_balance": new_balance})
    uow.write(w.REOPEN_LINES, {"k_mdtrt_id": row.mdtrt_id, "k_setl_id": setl_id})
    visit = SimpleNamespace(**now["visit"][0]._asdict())
    after = transition(visit.status, "reverse", admission=is_admission(visit))
    if after != visit.status:
        uow.write(w.SET_VISIT_STATUS, {"k_mdtrt_id": row.mdtrt_id, "k_status": after.value})
        visit.status = after.value
    audit_settlement(uow, negated, rev_row, actor=ctx.actor)  # last: the chain's head is locked until commit
    return SettleOutcome(negated, rev_id, visit, rev_row, person=who)


def _reversible(uow: UnitOfWork, ctx: Context, setl_id: str, psn_no: str | None, mdtrt_id: str | None):
    """The caller's settlement, read again under its person's lock (a concurrent reversal may just have
    committed), with its details; or why it cannot be reversed: another person's or visit's, a reversal, one
    already reversed, or one with a later settlement of the same visit still standing."""
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))
    if row is None or row.fixmedins_code != ctx.fixmedins_code:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    got = uow.fetch(
        {
            "person": q.LOCK_PERSON(psn_no=row.psn_no),
            "row": q.SETTLEMENT(setl_id=setl_id),
            "details": q.SETTLEMENT_DETAILS(setl_id=setl_id),
        }
    )
    who, row = got["person"][0], got["row"][0]
    if psn_no and psn_no != row.psn_no:
        raise InputError(f"psn_no: 结算 {setl_id} 不属于人员 {psn_no}")
    if mdtrt_id and mdtrt_id != row.mdtrt_id:
        raise InputError(f"mdtrt_id: 结算 {setl_id} 不属于就诊 {mdtrt_id}")
    reverse_settlement(setl_id, row.refd_setl_flag, row.reversed_by)
    if row.supplement_of is not None:
        raise SettlementError(
            f"setl_id: {setl_id} 是补充救助结算，由医保经办机构撤销 (a look-back supplement)"
        )
    later = uow.first(q.LATER_SETTLEMENT(mdtrt_id=row.mdtrt_id, setl_time=row.setl_time))
    if later and later.supplement_of is not None:
        raise SettlementError(
            f"setl_id: 结算 {setl_id} 有补充救助结算 {later.setl_id}，须先由医保经办机构撤销 (its supplement stands)"
        )
    if later:
        raise SettlementError(f"setl_id: 同一就诊的后续结算 {later.setl_id} 须先撤销")
    return who, row, got["details"]
