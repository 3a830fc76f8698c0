"""先付费后报销 claims over the store: a person of a ``pay_first`` category paid a settlement in full at the
institution; the claim settles the same visit's lines by the same chain (``online.settle(..., claim=True)``)
on the year's accumulators as they stand, and records what the funds pay as a supplement of that settlement
(no fee; the funds pay the person; the accumulators move by the chain's own delta, restored on reversal).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from yibao.errors import NotFound, SettlementError
from yibao.policy.registry import get_bundle
from yibao.settlement import facts, online
from yibao.settlement import queries as q
from yibao.settlement.inputs import VisitRequest
from yibao.settlement.record import new_id
from yibao.settlement.result import claim_record
from yibao.settlement.settle import stored_fee
from yibao.settlement.supplements import CLAIM, Paid, record, supplemented
from yibao.store.tables import FeeLine, Person, Settlement, Visit
from yibao.store.uow import UnitOfWork


def settle_claim(uow: UnitOfWork, *, setl_id: str, actor: str, now: datetime) -> Paid:
    """The claim (报销) of a 先付费后报销 settlement: what the funds pay on its lines, paid to the person, once."""
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))
    if row is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    if uow.first(q.LOCK_PERSON(psn_no=row.psn_no)) is None:
        raise NotFound(f"psn_no: 人员不存在 {row.psn_no}")
    s = uow.session
    orig = s.get(Settlement, setl_id, populate_existing=True)
    if orig.refd_setl_flag == "1" or orig.reversed_by is not None or orig.supplement_of is not None:
        raise SettlementError(f"setl_id: {setl_id} 已撤销、是撤销记录或补充结算，不能报销")
    if supplemented(s, [setl_id], CLAIM):
        raise SettlementError(f"setl_id: {setl_id} 已报销 (already claimed)")
    others = s.scalar(
        select(Settlement.setl_id).where(
            Settlement.mdtrt_id == orig.mdtrt_id,
            Settlement.setl_id != setl_id,
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
            Settlement.supplement_of.is_(None),
        )
    )
    if others:
        raise SettlementError(f"setl_id: 就诊 {orig.mdtrt_id} 有多笔结算（中途结算），暂不支持按笔报销")
    visit = s.get(Visit, orig.mdtrt_id)
    person = s.get(Person, orig.psn_no)
    enrollment = facts.enrollment_on(s, orig.psn_no, orig.insutype, orig.begndate)
    who = facts.person_facts(s, person, enrollment, orig.begndate, account=None)
    bundle = get_bundle(orig.clr_optins)
    ver, ins = bundle.version_index(orig.begndate), bundle.insutype_index(orig.insutype)
    cat = bundle.category_index(orig.insutype, orig.psn_type)
    if ver is None or ins is None or cat is None or not bundle.arrays["pay_first"][ver, ins, cat]:
        raise SettlementError(
            f"setl_id: {setl_id} 不是先付费后报销人员的结算 (its category is settled at once)"
        )
    lines = list(s.scalars(select(FeeLine).where(FeeLine.setl_id == setl_id).order_by(FeeLine.id)))
    request = VisitRequest(
        med_type=orig.med_type,
        begndate=orig.begndate,
        fees=[stored_fee(r) for r in lines],
        split=[{k: getattr(r, k) for k in online.LINE_SPLIT} for r in lines],
        hosp_lv=orig.dedc_hosp_lv,
        opsp_dise_code=visit.opsp_dise_code,
        diagnoses=[visit.dise_codg] if visit.dise_codg else [],
    )
    key = {"psn_no": orig.psn_no, "year": orig.year, "insutype": orig.insutype}
    accum = {r.acc_key: int(r.value) for r in uow.read(q.ACCUMULATORS(**key)) if r.value}
    full, new_accum, _ = online.settle(bundle, who, request, accum, 0, claim=True)
    claim = claim_record(full)
    claim_id = new_id(orig.clr_optins, "B", now)
    record(uow, claim, orig, accum, new_accum, setl_id=claim_id, actor=actor, now=now, kind=CLAIM)
    return Paid(claim_id, setl_id, claim.setlinfo["fund_pay_sumamt"])
