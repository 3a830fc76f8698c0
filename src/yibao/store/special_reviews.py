"""Reads of 特例单议 (special-case review, payment-drg-dip.md §3.6), shared by the use cases, the REST resources,
the console and the year's clearing: a request with its case (person, hospital, group, cost, stay) and the
names of who filed and decided it; the list, filtered and paged by the database; the counts the cap reads;
and :func:`approved_for_year`, what the clearing adds. Plain values, money in fen; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import NamedTuple

from sqlalchemy import case as case_when
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from yibao.payment.settlement_list import VALID
from yibao.payment.special_review import COUNTED, INPATIENT_PREFIX, Case, Status
from yibao.store.tables import (
    AuditLog,
    Institution,
    PaymentBudget,
    PaymentNorm,
    PaymentRun,
    Person,
    Settlement,
    SettlementList,
    SettlementListGroup,
    SpecialReview,
    StaffUser,
    Visit,
)

ENTITY = "special_review"  # the audit rows' entity


class ApprovedReview(NamedTuple):
    """An approved request as the year's clearing adds it: extra points (× 10⁴; 0 when the grant is an FFS
    amount) or the FFS amount in fen (None when the grant is points)."""

    setl_id: str
    fixmedins_code: str
    scheme: str
    extra_points4: int
    ffs_fen: int | None


def approved_for_year(s: Session, year: int) -> list[ApprovedReview]:
    """Every approved request of ``year``, by hospital and setl_id (at most one per case)."""
    rows = s.execute(
        select(
            SpecialReview.setl_id,
            SpecialReview.fixmedins_code,
            SpecialReview.scheme,
            SpecialReview.extra_points4,
            SpecialReview.ffs_fen,
        )
        .where(SpecialReview.year == year, SpecialReview.status == Status.APPROVED.value)
        .order_by(SpecialReview.fixmedins_code, SpecialReview.setl_id)
    )
    return [ApprovedReview(sid, code, scheme, int(p or 0), ffs) for sid, code, scheme, p, ffs in rows]


# --- what the rules read ----------------------------------------------------------------------------------------


def count(
    s: Session,
    *,
    fixmedins_code: str | None = None,
    year: int | None = None,
    status: str | tuple[str, ...] | None = None,
) -> int:
    """How many requests of a hospital, a year, a status (or statuses); None: any."""
    conds = []
    if fixmedins_code is not None:
        conds.append(SpecialReview.fixmedins_code == fixmedins_code)
    if year is not None:
        conds.append(SpecialReview.year == year)
    if isinstance(status, str):
        conds.append(SpecialReview.status == status)
    elif status is not None:
        conds.append(SpecialReview.status.in_([str(x) for x in status]))
    return s.scalar(select(func.count()).select_from(SpecialReview).where(*conds)) or 0


def counted(s: Session, fixmedins_code: str, year: int) -> int:
    """The hospital's requests of the year that count against the cap: filed and approved."""
    return count(s, fixmedins_code=fixmedins_code, year=year, status=tuple(COUNTED))


def open_request(s: Session, setl_id: str) -> tuple[int, str] | None:
    """The case's request that is filed or approved, if one is: (id, status)."""
    found = s.execute(
        select(SpecialReview.id, SpecialReview.status)
        .where(SpecialReview.setl_id == setl_id, SpecialReview.status.in_([str(x) for x in COUNTED]))
        .order_by(SpecialReview.id)
        .limit(1)
    ).first()
    return None if found is None else (found[0], found[1])


def discharges(s: Session, fixmedins_code: str, year: int) -> int:
    """The hospital's discharges of ``year``: its inpatient (医疗类别 2x) discharge settlements that stand — not a
    reversal, not reversed, not 中途, not a look-back supplement (as ``settlement_lists.standing_stays``) —
    discharged in the year (``enddate``, the visit's discharge day: the clearing's year is the discharge's,
    while ``settlement.year`` is the admission's)."""
    return (
        s.scalar(
            select(func.count())
            .select_from(Settlement)
            .where(
                Settlement.fixmedins_code == fixmedins_code,
                Settlement.enddate >= date(year, 1, 1),
                Settlement.enddate < date(year + 1, 1, 1),
                Settlement.med_type.startswith(INPATIENT_PREFIX),
                Settlement.refd_setl_flag == "0",
                Settlement.reversed_by.is_(None),
                Settlement.mid_setl_flag == "0",
                Settlement.supplement_of.is_(None),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class CaseFacts:
    """A case as a request shows and checks it: the rules' :class:`Case`, and what else a page says of it."""

    case: Case
    mdtrt_id: str
    psn_no: str
    insutype: str
    admitted: date
    group_name: str | None
    group_status: str | None


def case_facts(s: Session, setl_id: str, kind: str) -> CaseFacts | None:
    """The settlement ``setl_id`` as a case (None: no such settlement), of the year it was discharged in: the
    stay from its valid settlement list (else from the visit), its cost the 医疗费总额 of the visit's standing settlements (中途 ones included), its
    current grouping of ``kind`` (drg / dip) if the list has one. The group's mean is :func:`group_mean`'s."""
    row = s.execute(
        select(Settlement, Visit.begntime, Visit.endtime, Visit.dscg_way)
        .join(Visit, Visit.mdtrt_id == Settlement.mdtrt_id)
        .where(Settlement.setl_id == setl_id)
    ).first()
    if row is None:
        return None
    st, begn, end, dscg_way = row
    lst = s.scalar(
        select(SettlementList).where(SettlementList.setl_id == setl_id, SettlementList.vali_flag == VALID)
    )
    group = None
    if lst is not None:
        group = s.scalar(
            select(SettlementListGroup).where(
                SettlementListGroup.setl_list_id == lst.setl_list_id,
                SettlementListGroup.kind == kind,
                SettlementListGroup.is_current.is_(True),
            )
        )
    cost = s.scalar(
        select(func.sum(Settlement.medfee_sumamt)).where(
            Settlement.mdtrt_id == st.mdtrt_id,
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
            Settlement.supplement_of.is_(None),
        )
    )
    admitted = (lst.adm_time if lst is not None else begn).date()
    out_at = lst.dscg_time if lst is not None else end
    discharged = out_at.date() if out_at is not None else (st.enddate or st.setl_time.date())
    los = lst.los if lst is not None else max((discharged - admitted).days, 1)
    return CaseFacts(
        case=Case(
            setl_id=st.setl_id,
            fixmedins_code=st.fixmedins_code,
            year=discharged.year,  # (the clearing's year: the discharge's, not the admission's)
            med_type=st.med_type,
            refd_setl_flag=st.refd_setl_flag,
            reversed_by=st.reversed_by,
            mid_setl_flag=st.mid_setl_flag,
            supplement_of=st.supplement_of,
            discharged=discharged,
            los=los,
            dscg_way=lst.dscg_way if lst is not None else dscg_way,
            cost_fen=int(cost if cost is not None else st.medfee_sumamt),
            listed=lst is not None,
            group_code=group.group_code if group is not None else None,
        ),
        mdtrt_id=st.mdtrt_id,
        psn_no=st.psn_no,
        insutype=st.insutype,
        admitted=admitted,
        group_name=group.group_name if group is not None else None,
        group_status=group.status if group is not None else None,
    )


def with_mean(facts: CaseFacts, mean_fen: int | None) -> CaseFacts:
    return replace(facts, case=replace(facts.case, group_mean_fen=mean_fen))


def group_mean(
    s: Session, *, year: int, pool: str, scheme: str, group_code: str | None, level: int | None
) -> int | None:
    """The group's mean cost in the year's current budget of the pool and scheme (§3.5 ``A_g``): at the
    hospital's level, else over every level (``level`` 0); None when the year has no such norm."""
    if not group_code:
        return None
    levels = [lv for lv in (level, 0) if lv is not None]
    rows = s.execute(
        select(PaymentNorm.level, PaymentNorm.mean_fen)
        .join(PaymentBudget, PaymentBudget.id == PaymentNorm.budget_id)
        .where(
            PaymentBudget.year == year,
            PaymentBudget.pool == pool,
            PaymentBudget.scheme == scheme,
            PaymentBudget.is_current.is_(True),
            PaymentNorm.group_code == group_code,
            PaymentNorm.level.in_(levels),
        )
    ).all()
    by_level = {lv: int(mean) for lv, mean in rows}
    return next((by_level[lv] for lv in levels if lv in by_level), None)


def month_settled_on(s: Session, year: int, month: int) -> date | None:
    """The day the month's first pre-settlement (月度预结算) was run, if it has been: a request's window opens."""
    first = s.scalar(
        select(func.min(PaymentRun.created_at)).where(
            PaymentRun.kind == "month", PaymentRun.year == year, PaymentRun.month == month
        )
    )
    return None if first is None else first.date()


# --- the list and one request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    """What the list shows: a status (None: all), a hospital, a year, a kind, a settlement."""

    status: str | None = Status.FILED.value
    fixmedins_code: str | None = None
    year: int | None = None
    reason: str | None = None
    setl_id: str | None = None

    def conditions(self) -> list:
        conds = []
        for column, value in (
            (SpecialReview.status, self.status),
            (SpecialReview.fixmedins_code, self.fixmedins_code),
            (SpecialReview.year, self.year),
            (SpecialReview.reason, self.reason),
            (SpecialReview.setl_id, self.setl_id),
        ):
            if value is not None and value != "":
                conds.append(column == value)
        return conds


_FILER, _DECIDER = aliased(StaffUser), aliased(StaffUser)
_REVIEWER_INST = aliased(Institution)
ORDER = {  # the columns the list may be ordered by (the database orders every row, not a page)
    "id": SpecialReview.id,
    "year": SpecialReview.year,
    "setl_id": SpecialReview.setl_id,
    "fixmedins_name": Institution.fixmedins_name,
    "psn_name": Person.psn_name,
    "reason": SpecialReview.reason,
    "status": SpecialReview.status,
    "medfee_sumamt": Settlement.medfee_sumamt,
    "filed_by": SpecialReview.filed_by,
    "filed_at": SpecialReview.filed_at,
    "decided_at": SpecialReview.decided_at,
    "extra_points4": SpecialReview.extra_points4,
    "ffs_fen": SpecialReview.ffs_fen,
}


def _select() -> Select:
    return (
        select(
            SpecialReview,
            Settlement.psn_no,
            Person.psn_name,
            Institution.fixmedins_name,
            Settlement.medfee_sumamt,
            Settlement.insutype,
            _FILER.display_name,
            _DECIDER.display_name,
            _REVIEWER_INST.fixmedins_name,
        )
        .join(Settlement, Settlement.setl_id == SpecialReview.setl_id)
        .join(Person, Person.psn_no == Settlement.psn_no)
        .join(Institution, Institution.fixmedins_code == SpecialReview.fixmedins_code)
        .outerjoin(_FILER, _FILER.username == SpecialReview.filed_by)
        .outerjoin(_DECIDER, _DECIDER.username == SpecialReview.decided_by)
        .outerjoin(_REVIEWER_INST, _REVIEWER_INST.fixmedins_code == SpecialReview.reviewer_institution)
    )


def _row(found) -> dict:
    r, psn_no, psn_name, inst_name, medfee, insutype, filer, decider, reviewer_inst = found
    return {
        "id": r.id,
        "year": r.year,
        "setl_id": r.setl_id,
        "fixmedins_code": r.fixmedins_code,
        "fixmedins_name": inst_name,
        "scheme": r.scheme,
        "reason": r.reason,
        "statement": r.statement,
        "evidence": list(r.evidence or []),
        "status": r.status,
        "filed_by": r.filed_by,
        "filed_by_name": filer or r.filed_by,
        "filed_at": r.filed_at,
        "decided_by": r.decided_by,
        "decided_by_name": (decider or r.decided_by) if r.decided_by else None,
        "reviewer_institution": r.reviewer_institution,
        "reviewer_institution_name": reviewer_inst,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "extra_points4": int(r.extra_points4 or 0),
        "ffs_fen": r.ffs_fen,
        "psn_no": psn_no,
        "psn_name": psn_name,
        "insutype": insutype,
        "medfee_sumamt": medfee,  # the discharge settlement's; the stay's total is in :func:`one`
    }


def records(
    s: Session,
    f: ReviewFilter,
    limit: int = 50,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> list[dict]:
    """A page of requests: by default those waiting first, oldest first (the order they are worked in), then
    the decided ones, latest decision first; or by a column of :data:`ORDER`."""
    key, desc = order
    if key in ORDER:
        column = ORDER[key]
        by = [column.desc() if desc else column.asc(), SpecialReview.id]
    else:
        waiting = case_when((SpecialReview.status == Status.FILED.value, 0), else_=1)
        by = [waiting, SpecialReview.decided_at.desc(), SpecialReview.filed_at, SpecialReview.id]
    stmt = _select().where(*f.conditions()).order_by(*by).offset(offset).limit(limit)
    return [_row(found) for found in s.execute(stmt)]


def count_of(s: Session, f: ReviewFilter) -> int:
    return s.scalar(select(func.count()).select_from(SpecialReview).where(*f.conditions())) or 0


def one(s: Session, review_id: int) -> dict | None:
    """One request with its case (``case``: :class:`CaseFacts`, None if the settlement is gone) and its
    audit trail."""
    found = s.execute(_select().where(SpecialReview.id == review_id)).first()
    if found is None:
        return None
    out = _row(found)
    out["case"] = case_facts(s, out["setl_id"], out["scheme"])
    out["trail"] = trail(s, review_id)
    return out


def trail(s: Session, review_id: int) -> list[dict]:
    """The request's audit rows, oldest first: who filed, decided or withdrew it, when, and the note."""
    rows = s.scalars(
        select(AuditLog)
        .where(AuditLog.entity == ENTITY, AuditLog.entity_id == str(review_id))
        .order_by(AuditLog.seq)
    )
    return [
        {
            "seq": a.seq,
            "at": a.at,
            "actor": a.actor,
            "action": a.action,
            "status": (a.after or {}).get("status"),
            "note": (a.after or {}).get("decision_note") or (a.after or {}).get("statement"),
        }
        for a in rows
    ]
