"""Look-back assistance over the store (补充救助经办): find the settlements in the window, write one
supplementary settlement for each (row, setldetail, ledger entry paying the person, accumulators, audit), and
reverse one. The arithmetic is :mod:`yibao.settlement.lookback`.

Exactly once: a settlement that already has a standing supplement for the category gets none; a supplement
reversed may be paid again by running the look-back again. The person's row is locked first, as settling does,
so that a settlement and a look-back of the same person never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from yibao.errors import NotFound, SettlementError
from yibao.policy.registry import get_bundle
from yibao.settlement import facts, lookback, online
from yibao.settlement import queries as q
from yibao.settlement import writes as w
from yibao.settlement.record import new_id, write_beside
from yibao.settlement.result import SETLINFO_AMOUNTS, Settled
from yibao.settlement.settle import audit_settlement, settled_from_row
from yibao.store.tables import Settlement, Visit
from yibao.store.uow import UnitOfWork

LONGEST = 24  # months: the schema's bound on look_back_months
LOOK_BACK, CLAIM = "look_back", "claim"  # the kinds of supplement (trace["supplement"])


@dataclass(frozen=True)
class Paid:
    """One supplement written: its id, the settlement it supplements, what the funds paid the person (fen)."""

    setl_id: str
    supplement_of: str
    amount: int


def look_back(
    uow: UnitOfWork, *, psn_no: str, code: str, grade: str | None, recognised: date, actor: str, now: datetime
) -> list[Paid]:
    """Pay category ``code``'s look-back to ``psn_no``, recognised on ``recognised``: every standing settlement
    of the window that has none for the category yet gets its supplement, oldest first."""
    if uow.first(q.LOCK_PERSON(psn_no=psn_no)) is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    s = uow.session
    earliest = lookback.window(recognised, LONGEST)[0]
    rows = list(
        s.execute(
            select(Settlement, Visit.dise_codg, Visit.opsp_dise_code)
            .join(Visit, Visit.mdtrt_id == Settlement.mdtrt_id)
            .where(
                Settlement.psn_no == psn_no,
                Settlement.refd_setl_flag == "0",
                Settlement.reversed_by.is_(None),
                Settlement.supplement_of.is_(None),
                Settlement.begndate >= earliest,
                Settlement.begndate < recognised,
            )
            .order_by(Settlement.begndate, Settlement.setl_time)
        )
    )
    done = supplemented(s, [r[0].setl_id for r in rows], LOOK_BACK, code)
    paid = []
    for row, dise_codg, opsp in rows:
        bundle = get_bundle(row.clr_optins)
        months = lookback.months_of(bundle, code, recognised)
        if months is None or row.begndate < lookback.window(recognised, months)[0] or row.setl_id in done:
            continue
        original = lookback.Original(
            setl_id=row.setl_id,
            begndate=row.begndate,
            insutype=row.insutype,
            med_type=row.med_type,
            setlinfo={k: getattr(row, k) for k in SETLINFO_AMOUNTS},
            diagnoses=tuple(d for d in (dise_codg, opsp) if d),
        )
        key = {"psn_no": psn_no, "year": row.year, "insutype": row.insutype}
        accum = {r.acc_key: int(r.value) for r in uow.read(q.ACCUMULATORS(**key)) if r.value}
        made = lookback.supplement(bundle, original, code, grade, accum, recognised)
        if made is None:
            continue
        settled, new_accum = made
        setl_id = new_id(row.clr_optins, "B", now)
        record(uow, settled, row, accum, new_accum, setl_id=setl_id, actor=actor, now=now, kind=LOOK_BACK)
        paid.append(Paid(setl_id, row.setl_id, settled.setlinfo["maf_pay"]))
    return paid


def record(
    uow: UnitOfWork,
    settled: Settled,
    original,
    accum: dict[str, int],
    new_accum: dict[str, int],
    *,
    setl_id: str,
    actor: str,
    now: datetime,
    kind: str | None = None,
    reverses: str | None = None,
) -> None:
    """A supplement of ``original`` (or, with ``reverses``, the reversal of the supplement ``original``) written
    beside it — its visit, person, institution and dates — with its ledger entry, the accumulators and audit."""
    row = write_beside(
        uow,
        settled,
        original,
        setl_id=setl_id,
        setl_time=now,
        actor=actor,
        orig_setl_id=reverses,
        supplement_of=original.supplement_of if reverses else original.setl_id,
        supplement_kind=kind,
    )
    facts.save_accumulators(uow, original.psn_no, original.year, original.insutype, accum, new_accum)
    audit_settlement(uow, settled, row, actor=actor)


def supplemented(s, setl_ids: list[str], kind: str, code: str | None = None) -> set[str]:
    """The settlements among ``setl_ids`` with a standing supplement of ``kind`` (for category ``code``)."""
    if not setl_ids:
        return set()
    rows = s.execute(
        select(Settlement.supplement_of, Settlement.trace).where(
            Settlement.supplement_of.in_(setl_ids),
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
        )
    )
    return {
        of
        for of, trace in rows
        if (trace or {}).get("supplement") == kind
        and (code is None or (trace or {}).get("assistance_category") == code)
    }


def reverse_supplement(uow: UnitOfWork, *, setl_id: str, actor: str, now: datetime) -> str:
    """Reverse a look-back supplement (经办机构撤销): the negation, its accumulators restored; the id of the
    reversal. Only a standing supplement can be reversed here (a HIS's settlement is reversed by the HIS)."""
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))
    if row is None:
        raise NotFound(f"setl_id: 结算不存在 {setl_id}")
    if uow.first(q.LOCK_PERSON(psn_no=row.psn_no)) is None:
        raise NotFound(f"psn_no: 人员不存在 {row.psn_no}")
    row = uow.first(q.SETTLEMENT(setl_id=setl_id))  # (again, under the person's lock)
    if row.supplement_of is None:
        raise SettlementError(f"setl_id: {setl_id} 不是补充救助结算，由定点医药机构撤销 (not a supplement)")
    if row.refd_setl_flag == "1" or row.reversed_by is not None:
        raise SettlementError(f"setl_id: 补充救助结算 {setl_id} 已撤销或本身是撤销记录")
    details = uow.read(q.SETTLEMENT_DETAILS(setl_id=setl_id))
    key = {"psn_no": row.psn_no, "year": row.year, "insutype": row.insutype}
    accum = {r.acc_key: int(r.value) for r in uow.read(q.ACCUMULATORS(**key)) if r.value}
    negated, new_accum, _ = online.reverse(settled_from_row(row, details), accum, 0)
    rev_id = new_id(row.clr_optins, "R", now)
    uow.write(w.MARK_REVERSED, {"k_setl_id": setl_id, "k_reversed_by": rev_id})
    record(uow, negated, row, accum, new_accum, setl_id=rev_id, actor=actor, now=now, reverses=setl_id)
    return rev_id


def after_identities(uow: UnitOfWork, added: list[dict], *, actor: str, now: datetime) -> list[Paid]:
    """The look-backs new identity records bring (``psn_no``, ``psn_idet_type``, ``psn_type_lv``,
    ``begntime``): each recognition whose category has a look-back in the policy its person's settlements
    were made under pays it. One read for the whole batch finds those policies; most rows stop there."""
    persons = {r["psn_no"] for r in added}
    if not persons:
        return []
    places: dict[str, set[str]] = {}
    for psn_no, admdvs in uow.session.execute(
        select(Settlement.psn_no, Settlement.clr_optins).where(Settlement.psn_no.in_(persons)).distinct()
    ):
        places.setdefault(psn_no, set()).add(admdvs)
    paid: list[Paid] = []
    for r in added:
        begn = r["begntime"]
        day = begn.date() if isinstance(begn, datetime) else begn
        code = r["psn_idet_type"]
        if not any(lookback.months_of(get_bundle(a), code, day) for a in places.get(r["psn_no"], ())):
            continue
        paid += look_back(
            uow,
            psn_no=r["psn_no"],
            code=code,
            grade=r.get("psn_type_lv"),
            recognised=day,
            actor=actor,
            now=now,
        )
    return paid
