"""Settlement lists in the store (医保结算清单): what a 4101 needs to read, the list and its grouping written
in the caller's transaction, 4102's status change with its audit row, and the reads of 4103 / 3605.

Every function works on the ORM session of the caller's unit of work; nothing here commits. A list is an
institution's own: the reads take the caller's ``fixmedins_code`` and never return another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.payment.settlement_list import (
    VALID,
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


def settled_stay(s: Session, setl_id: str) -> SettledStay | None:
    """The settlement ``setl_id`` with its visit and person (None: no such settlement)."""
    row = s.execute(
        select(Settlement, Visit, Person.gend, Person.brdy)
        .join(Visit, Visit.mdtrt_id == Settlement.mdtrt_id)
        .join(Person, Person.psn_no == Settlement.psn_no)
        .where(Settlement.setl_id == setl_id)
    ).first()
    if row is None:
        return None
    setl, visit, gend, brdy = row
    return SettledStay(
        setl_id=setl.setl_id,
        mdtrt_id=setl.mdtrt_id,
        fixmedins_code=setl.fixmedins_code,
        psn_no=setl.psn_no,
        med_type=setl.med_type,
        refd_setl_flag=setl.refd_setl_flag,
        reversed_by=setl.reversed_by,
        mid_setl_flag=setl.mid_setl_flag,
        begntime=visit.begntime,
        endtime=visit.endtime,
        dscg_way=visit.dscg_way,
        gend=gend,
        brdy=brdy,
    )


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


def add_list(s: Session, new: NewList, *, actor: str, msgid: str | None, now: datetime) -> None:
    """Store the list, its diagnoses and procedures and its grouping; one audit row (上传结算清单: a list
    registered, as a visit or an identity is)."""
    st, stay, g = new.settled, new.stay, new.grouped
    s.add(
        SettlementList(
            setl_list_id=new.setl_list_id,
            setl_id=st.setl_id,
            mdtrt_id=st.mdtrt_id,
            psn_no=st.psn_no,
            fixmedins_code=st.fixmedins_code,
            med_type=st.med_type,
            gend=stay.gend,
            brdy=st.brdy,
            age=stay.age,
            age_days=stay.age_days,
            weight_g=stay.weight_g,
            adm_time=stay.adm_time,
            dscg_time=stay.dscg_time,
            los=stay.los,
            dscg_way=stay.dscg_way,
            hi_paymtd=new.hi_paymtd,
            vali_flag=VALID,
            msgid=msgid,
            uploaded_at=now,
            content=new.content,
        )
    )
    s.flush()  # (the children's foreign key)
    for seq, d in enumerate(new.diagnoses + new.other_diagnoses):
        s.add(
            SettlementListDiagnosis(
                setl_list_id=new.setl_list_id,
                seq=seq,
                diag_type=d.diag_type,
                maindiag_flag=d.maindiag_flag,
                diag_code=d.diag_code,
                diag_name=d.diag_name,
                adm_cond_type=d.adm_cond_type,
            )
        )
    for seq, p in enumerate(new.procedures):
        s.add(
            SettlementListProcedure(
                setl_list_id=new.setl_list_id,
                seq=seq,
                oprn_oprt_type=p.oprn_oprt_type,
                oprn_oprt_code=p.oprn_oprt_code,
                oprn_oprt_name=p.oprn_oprt_name,
                oprn_oprt_date=p.oprn_oprt_date,
            )
        )
    r = g.group
    s.add(
        SettlementListGroup(
            setl_list_id=new.setl_list_id,
            kind=g.kind,
            scheme=g.scheme,
            pack_hash=g.pack_hash,
            grouper_version=g.grouper_version,
            status=r.status,
            mdc=r.mdc or None,
            adrg=r.adrg or None,
            group_code=r.drg,
            group_name=g.group_name or None,
            reason=r.reason[:400] or None,
            trace=g.trace,
            grouped_at=now,
        )
    )
    audit.record(
        s,
        actor=actor,
        action=Action.REGISTER,
        entity="settlement_list",
        entity_id=new.setl_list_id,
        after={
            "setl_id": st.setl_id,
            "mdtrt_id": st.mdtrt_id,
            "scheme": g.scheme,
            "pack_hash": g.pack_hash,
            "status": r.status,
            "drg": r.drg,
        },
    )


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
    """How the list was grouped by a scheme of ``kind`` (drg / dip), if it was."""
    return s.scalar(
        select(SettlementListGroup).where(
            SettlementListGroup.setl_list_id == setl_list_id, SettlementListGroup.kind == kind
        )
    )
