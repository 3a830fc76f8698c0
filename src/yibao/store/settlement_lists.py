"""Settlement lists in the store (医保结算清单): what a 4101 needs to read, the list and its grouping written
in the caller's transaction, 4102's status change with its audit row, and the reads of 4103 / 3605.

Every function works on the ORM session of the caller's unit of work; nothing here commits. A list is an
institution's own: the reads take the caller's ``fixmedins_code`` and never return another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.payment.settlement_list import (
    INPATIENT_PREFIX,
    VALID,
    WESTERN,
    Diagnosis,
    Grouped,
    Procedure,
    SettledStay,
    Stay,
)
from yibao.store import audit
from yibao.store.tables import (
    ClinicalCode,
    Person,
    Settlement,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
    Visit,
)

# --- reads a 4101 makes ----------------------------------------------------------------------------------


_STAYS = (
    select(
        Settlement.setl_id,
        Settlement.mdtrt_id,
        Settlement.fixmedins_code,
        Settlement.psn_no,
        Settlement.med_type,
        Settlement.refd_setl_flag,
        Settlement.reversed_by,
        Settlement.mid_setl_flag,
        Visit.begntime,
        Visit.endtime,
        Visit.dscg_way,
        Person.gend,
        Person.brdy,
    )
    .join(Visit, Visit.mdtrt_id == Settlement.mdtrt_id)
    .join(Person, Person.psn_no == Settlement.psn_no)
)
"""A settlement with what a list reads of its visit and person, in :class:`SettledStay`'s field order."""


def settled_stay(s: Session, setl_id: str) -> SettledStay | None:
    """The settlement ``setl_id`` with its visit and person (None: no such settlement)."""
    row = s.execute(_STAYS.where(Settlement.setl_id == setl_id)).first()
    return None if row is None else SettledStay(*row)


def standing_stays(s: Session, year: int) -> list[SettledStay]:
    """Every inpatient settlement of ``year`` a list can be uploaded for — a discharge settlement that
    stands (not a reversal, not reversed, not 中途) — with its visit and person, by setl_id."""
    rows = s.execute(
        _STAYS.where(
            Settlement.year == year,
            Settlement.med_type.startswith(INPATIENT_PREFIX),
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
            Settlement.mid_setl_flag == "0",
        ).order_by(Settlement.setl_id)
    )
    return [SettledStay(*row) for row in rows]


def visit_status(s: Session, mdtrt_id: str, fixmedins_code: str) -> str | None:
    """The status of the caller's visit ``mdtrt_id`` (None: the caller has no such visit)."""
    return s.scalar(
        select(Visit.status).where(Visit.mdtrt_id == mdtrt_id, Visit.fixmedins_code == fixmedins_code)
    )


def grey_codes(s: Session, codes: set[str]) -> frozenset[str]:
    """Those of the diagnosis ``codes`` the code table flags as 灰码."""
    if not codes:
        return frozenset()
    found = s.scalars(
        select(ClinicalCode.code).where(
            ClinicalCode.system == "icd10",
            ClinicalCode.code.in_(sorted(codes)),
            ClinicalCode.grey_flag == "1",
        )
    )
    return frozenset(found)


def valid_list_id(s: Session, setl_id: str) -> str | None:
    """The settlement's valid list, if it has one (at most one: a unique index over the valid rows)."""
    return s.scalar(
        select(SettlementList.setl_list_id).where(
            SettlementList.setl_id == setl_id, SettlementList.vali_flag == VALID
        )
    )


# --- writes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewList:
    """A checked and grouped list, ready to be stored: the western diagnoses and the procedures in grouping
    order (principal first), the other (中医) diagnoses after them, the whole message as uploaded."""

    setl_list_id: str
    settled: SettledStay
    stay: Stay
    diagnoses: tuple[Diagnosis, ...]
    other_diagnoses: tuple[Diagnosis, ...]
    procedures: tuple[Procedure, ...]
    hi_paymtd: str | None
    grouped: Grouped
    content: str  # exact JSON
    also: tuple[Grouped, ...] = ()  # by the other kind of scheme the region runs (DIP beside DRG)


def add_list(s: Session, new: NewList, *, actor: str, msgid: str | None, now: datetime) -> None:
    """Store the list, its diagnoses and procedures and its grouping; one audit row (上传结算清单: a list
    registered, as a visit or an identity is)."""
    s.add(SettlementList(**list_row(new, msgid, now)))
    s.flush()  # (the children's foreign key)
    for row in diagnosis_rows(new):
        s.add(SettlementListDiagnosis(**row))
    for row in procedure_rows(new):
        s.add(SettlementListProcedure(**row))
    for g in (new.grouped, *new.also):
        s.add(SettlementListGroup(**group_row(new.setl_list_id, g, now)))
    audit.record(s, **register_entry(new, actor))


def add_lists(s: Session, news: list[tuple[NewList, datetime]], *, actor: str) -> None:
    """Many lists at once, each with the time it was uploaded: the rows :func:`add_list` writes, in one insert
    per table, and their audit rows in one append (the demo's year of lists; a batch upload)."""
    if not news:
        return
    s.execute(insert(SettlementList), [list_row(new, None, now) for new, now in news])
    s.execute(insert(SettlementListDiagnosis), [row for new, _ in news for row in diagnosis_rows(new)])
    if procedures := [row for new, _ in news for row in procedure_rows(new)]:
        s.execute(insert(SettlementListProcedure), procedures)
    s.execute(
        insert(SettlementListGroup),
        [group_row(new.setl_list_id, g, now) for new, now in news for g in (new.grouped, *new.also)],
    )
    audit.record_many(s, [register_entry(new, actor) for new, _ in news])


def list_row(new: NewList, msgid: str | None, now: datetime) -> dict:
    st, stay = new.settled, new.stay
    return {
        "setl_list_id": new.setl_list_id,
        "setl_id": st.setl_id,
        "mdtrt_id": st.mdtrt_id,
        "psn_no": st.psn_no,
        "fixmedins_code": st.fixmedins_code,
        "med_type": st.med_type,
        "gend": stay.gend,
        "brdy": st.brdy,
        "age": stay.age,
        "age_days": stay.age_days,
        "weight_g": stay.weight_g,
        "adm_time": stay.adm_time,
        "dscg_time": stay.dscg_time,
        "los": stay.los,
        "dscg_way": stay.dscg_way,
        "hi_paymtd": new.hi_paymtd,
        "vali_flag": VALID,
        "msgid": msgid,
        "uploaded_at": now,
        "changed_at": None,
        "content": new.content,
    }


def diagnosis_rows(new: NewList) -> list[dict]:
    return [
        {
            "setl_list_id": new.setl_list_id,
            "seq": seq,
            "diag_type": d.diag_type,
            "maindiag_flag": d.maindiag_flag,
            "diag_code": d.diag_code,
            "diag_name": d.diag_name,
            "adm_cond_type": d.adm_cond_type,
        }
        for seq, d in enumerate(new.diagnoses + new.other_diagnoses)
    ]


def procedure_rows(new: NewList) -> list[dict]:
    return [
        {
            "setl_list_id": new.setl_list_id,
            "seq": seq,
            "oprn_oprt_type": p.oprn_oprt_type,
            "oprn_oprt_code": p.oprn_oprt_code,
            "oprn_oprt_name": p.oprn_oprt_name,
            "oprn_oprt_date": p.oprn_oprt_date,
        }
        for seq, p in enumerate(new.procedures)
    ]


def group_row(setl_list_id: str, g: Grouped, now: datetime) -> dict:
    """A grouping row (the current one of its list and kind)."""
    r = g.group
    return {
        "setl_list_id": setl_list_id,
        "kind": g.kind,
        "scheme": g.scheme,
        "pack_hash": g.pack_hash,
        "grouper_version": g.grouper_version,
        "status": r.status,
        "mdc": r.mdc or None,
        "adrg": r.adrg or None,
        "group_code": r.drg,
        "group_name": g.group_name or None,
        "reason": r.reason[:400] or None,
        "trace": g.trace,
        "grouped_at": now,
        "is_current": True,
    }


def register_entry(new: NewList, actor: str) -> dict:
    st, g = new.settled, new.grouped
    return {
        "actor": actor,
        "action": Action.REGISTER,
        "entity": "settlement_list",
        "entity_id": new.setl_list_id,
        "after": {
            "setl_id": st.setl_id,
            "mdtrt_id": st.mdtrt_id,
            "scheme": g.scheme,
            "pack_hash": g.pack_hash,
            "status": g.group.status,
            "drg": g.group.drg,
        },
    }


def set_status(s: Session, row: SettlementList, vali_flag: str, *, actor: str, now: datetime) -> None:
    """4102: the list's ``vali_flag`` (the domain has checked the change); one audit row."""
    before = row.vali_flag
    row.vali_flag, row.changed_at = vali_flag, now
    s.flush()  # (a second valid list of the settlement fails here, on the unique index)
    audit.record(
        s,
        actor=actor,
        action=Action.CHANGE,
        entity="settlement_list",
        entity_id=row.setl_list_id,
        before={"vali_flag": before},
        after={"vali_flag": vali_flag},
    )


# --- reads of 4102 / 4103 / 3605 -------------------------------------------------------------------------


def own_list(
    s: Session,
    fixmedins_code: str,
    *,
    setl_list_id: str | None = None,
    setl_id: str | None = None,
    mdtrt_id: str | None = None,
) -> SettlementList | None:
    """The caller's list named by its id, or of a settlement or visit: the valid one, else the latest
    uploaded (a voided one, for its history). None: the caller has none."""
    stmt = select(SettlementList).where(SettlementList.fixmedins_code == fixmedins_code)
    if setl_list_id is not None:
        stmt = stmt.where(SettlementList.setl_list_id == setl_list_id)
    if setl_id is not None:
        stmt = stmt.where(SettlementList.setl_id == setl_id)
    if mdtrt_id is not None:
        stmt = stmt.where(SettlementList.mdtrt_id == mdtrt_id)
    stmt = stmt.order_by(
        (SettlementList.vali_flag == VALID).desc(),
        SettlementList.uploaded_at.desc(),
        SettlementList.setl_list_id.desc(),
    )
    return s.scalars(stmt.limit(1)).first()


def group_of(s: Session, setl_list_id: str, kind: str) -> SettlementListGroup | None:
    """How the list is grouped by a scheme of ``kind`` (drg / dip), if it was: its current grouping."""
    return s.scalar(
        select(SettlementListGroup).where(
            SettlementListGroup.setl_list_id == setl_list_id,
            SettlementListGroup.kind == kind,
            SettlementListGroup.is_current.is_(True),
        )
    )


# --- regrouping a year (yibao payment group-lists) -----------------------------------------------------------


class CurrentGroup(NamedTuple):
    """A list's current DRG grouping: by what (scheme, pack hash, grouper version) and to what."""

    scheme: str
    pack_hash: str
    grouper_version: str
    group_code: str
    status: str


@dataclass(frozen=True)
class StoredList:
    """A valid list as stored, with what grouping reads of it and its current DRG grouping (None: none)."""

    setl_list_id: str
    stay: Stay
    diagnoses: tuple[Diagnosis, ...]  # western, principal first (as stored)
    procedures: tuple[Procedure, ...]
    current: CurrentGroup | None
    setl_id: str = ""
    mdtrt_id: str = ""
    fixmedins_code: str = ""


def _discharged(start: datetime, end: datetime):
    return (
        SettlementList.vali_flag == VALID,
        SettlementList.dscg_time >= start,
        SettlementList.dscg_time < end,
    )


def _of_year(year: int):
    return _discharged(datetime(year, 1, 1), datetime(year + 1, 1, 1))


def count_lists_of_year(s: Session, year: int) -> int:
    """How many valid lists were discharged in ``year``."""
    return s.scalar(select(func.count()).select_from(SettlementList).where(*_of_year(year))) or 0


def lists_of_year(s: Session, year: int, *, after: str = "", limit: int = 1000) -> list[StoredList]:
    """The valid lists discharged in ``year`` with an id after ``after``, by id, at most ``limit`` (a page:
    the next one starts after the last id), each with its diagnoses, procedures and current DRG grouping."""
    return lists_discharged(s, datetime(year, 1, 1), datetime(year + 1, 1, 1), after=after, limit=limit)


def lists_discharged(
    s: Session, start: datetime, end: datetime, *, after: str = "", limit: int = 1000
) -> list[StoredList]:
    """:func:`lists_of_year` for discharges in [start, end) (a month of case payment)."""
    rows = s.scalars(
        select(SettlementList)
        .where(*_discharged(start, end), SettlementList.setl_list_id > after)
        .order_by(SettlementList.setl_list_id)
        .limit(limit)
    ).all()
    ids = [r.setl_list_id for r in rows]
    if not ids:
        return []
    dx: dict[str, list[Diagnosis]] = {}
    for d in s.scalars(
        select(SettlementListDiagnosis)
        .where(SettlementListDiagnosis.setl_list_id.in_(ids), SettlementListDiagnosis.diag_type == WESTERN)
        .order_by(SettlementListDiagnosis.setl_list_id, SettlementListDiagnosis.seq)
    ):
        dx.setdefault(d.setl_list_id, []).append(
            Diagnosis(d.seq, d.diag_code, d.diag_name, d.diag_type, d.maindiag_flag, d.adm_cond_type)
        )
    px: dict[str, list[Procedure]] = {}
    for p in s.scalars(
        select(SettlementListProcedure)
        .where(SettlementListProcedure.setl_list_id.in_(ids))
        .order_by(SettlementListProcedure.setl_list_id, SettlementListProcedure.seq)
    ):
        px.setdefault(p.setl_list_id, []).append(
            Procedure(p.seq, p.oprn_oprt_code, p.oprn_oprt_name, p.oprn_oprt_type, p.oprn_oprt_date)
        )
    current = {
        g.setl_list_id: CurrentGroup(g.scheme, g.pack_hash, g.grouper_version, g.group_code, g.status)
        for g in s.execute(
            select(
                SettlementListGroup.setl_list_id,
                SettlementListGroup.scheme,
                SettlementListGroup.pack_hash,
                SettlementListGroup.grouper_version,
                SettlementListGroup.group_code,
                SettlementListGroup.status,
            ).where(
                SettlementListGroup.setl_list_id.in_(ids),
                SettlementListGroup.kind == "drg",
                SettlementListGroup.is_current.is_(True),
            )
        )
    }
    return [
        StoredList(
            setl_list_id=r.setl_list_id,
            stay=Stay(r.gend, r.age, r.age_days, r.adm_time, r.dscg_time, r.los, r.dscg_way, r.weight_g),
            diagnoses=tuple(dx.get(r.setl_list_id, ())),
            procedures=tuple(px.get(r.setl_list_id, ())),
            current=current.get(r.setl_list_id),
            setl_id=r.setl_id,
            mdtrt_id=r.mdtrt_id,
            fixmedins_code=r.fixmedins_code,
        )
        for r in rows
    ]


def regroup(s: Session, grouped: list[tuple[StoredList, Grouped]], *, actor: str, now: datetime) -> None:
    """Each list's new grouping becomes its current one; the one it replaces stays, no longer current. One
    audit row per list (before: the group it had, after: the new one)."""
    if not grouped:
        return
    kinds = {g.kind for _, g in grouped}
    ids = [lst.setl_list_id for lst, _ in grouped]
    s.execute(
        update(SettlementListGroup)
        .where(
            SettlementListGroup.setl_list_id.in_(ids),
            SettlementListGroup.kind.in_(kinds),
            SettlementListGroup.is_current.is_(True),
        )
        .values(is_current=False)
    )
    s.execute(insert(SettlementListGroup), [group_row(lst.setl_list_id, g, now) for lst, g in grouped])
    audit.record_many(
        s,
        [
            {
                "actor": actor,
                "action": Action.CHANGE,
                "entity": "settlement_list",
                "entity_id": lst.setl_list_id,
                "before": None
                if lst.current is None
                else {
                    "scheme": lst.current.scheme,
                    "pack_hash": lst.current.pack_hash,
                    "drg": lst.current.group_code,
                },
                "after": {
                    "scheme": g.scheme,
                    "pack_hash": g.pack_hash,
                    "status": g.group.status,
                    "drg": g.group.drg,
                },
            }
            for lst, g in grouped
        ],
    )
