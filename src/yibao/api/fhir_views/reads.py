"""What the FHIR views read: a statement per kind of row, whatever the number of resources built from them
(a page of settlements reads its setldetail, persons, enrollments, institutions and regions once each)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.api.fhir_views.adjudication import SettlementView
from yibao.api.fhir_views.common import bureau_ref
from yibao.api.fhir_views.coverage import applied_enrollment, coverage_ids
from yibao.config import get_settings
from yibao.settlement.settle import settled_from_row
from yibao.store.tables import (
    Dictionary,
    Enrollment,
    Institution,
    Person,
    Region,
    Settlement,
    SettlementDetail,
)


def region_names(s: Session, admdvs: Iterable[str]) -> dict[str, str]:
    wanted = {a for a in admdvs if a}
    if not wanted:
        return {}
    return {
        a: name for a, name in s.execute(select(Region.admdvs, Region.name).where(Region.admdvs.in_(wanted)))
    }


def insutype_names(s: Session) -> dict[str, str]:
    rows = s.execute(select(Dictionary.code, Dictionary.name).where(Dictionary.dic_type == "insutype"))
    return {code: name for code, name in rows}


def enrollments_of(s: Session, psn_nos: Iterable[str]) -> dict[str, list[Enrollment]]:
    """Each person's enrollments, in registration order (what their Coverage ids are numbered by)."""
    out: dict[str, list[Enrollment]] = defaultdict(list)
    wanted = set(psn_nos)
    if wanted:
        for e in s.scalars(select(Enrollment).where(Enrollment.psn_no.in_(wanted)).order_by(Enrollment.id)):
            out[e.psn_no].append(e)
    return out


def find_coverage(s: Session, coverage_id: str, candidates: list[str]) -> tuple[Enrollment, Person] | None:
    """The enrollment whose Coverage id is ``coverage_id`` among the candidate persons' enrollments."""
    for psn_no, enrollments in enrollments_of(s, candidates).items():
        ids = coverage_ids(enrollments)
        for e in enrollments:
            if ids[e.id] == coverage_id:
                return e, s.get(Person, psn_no)
    return None


def settlement_page(s: Session, psn_no: str, offset: int, count: int) -> tuple[int, list[Settlement]]:
    """A person's settlements and reversals, newest first: how many in all, and one page of them."""
    total = s.scalar(select(func.count()).select_from(Settlement).where(Settlement.psn_no == psn_no)) or 0
    if count == 0 or offset >= total:
        return total, []
    rows = s.scalars(
        select(Settlement)
        .where(Settlement.psn_no == psn_no)
        .order_by(Settlement.setl_time.desc(), Settlement.setl_id.desc())
        .offset(offset)
        .limit(count)
    ).all()
    return total, list(rows)


def settlement_views(s: Session, rows: list[Settlement]) -> list[SettlementView]:
    """Each settlement with its amounts, person, institution, the Coverage of the enrollment it applied
    and its insurer: the bureau of the region that cleared it (``clr_optins``, the enrollment's
    insurance region when it settled)."""
    if not rows:
        return []
    details: dict[str, list[SettlementDetail]] = defaultdict(list)
    for d in s.scalars(
        select(SettlementDetail)
        .where(SettlementDetail.setl_id.in_([r.setl_id for r in rows]))
        .order_by(SettlementDetail.id)
    ):
        details[d.setl_id].append(d)
    psn_nos = {r.psn_no for r in rows}
    persons = {p.psn_no: p for p in s.scalars(select(Person).where(Person.psn_no.in_(psn_nos)))}
    enrollments = enrollments_of(s, psn_nos)
    institutions = {
        i.fixmedins_code: i
        for i in s.scalars(
            select(Institution).where(Institution.fixmedins_code.in_({r.fixmedins_code for r in rows}))
        )
    }
    views, insurers = [], {}
    for r in rows:
        own = enrollments[r.psn_no]
        applied = applied_enrollment(own, r.insutype, r.begndate)
        insurers[r.setl_id] = r.clr_optins or (applied.insuplc_admdvs if applied else get_settings().region)
        views.append((r, applied and coverage_ids(own)[applied.id]))
    regions = region_names(s, insurers.values())
    return [
        SettlementView(
            row=r,
            settled=settled_from_row(r, details[r.setl_id]),
            person=persons[r.psn_no],
            institution=institutions[r.fixmedins_code],
            coverage_id=coverage_id,
            insurer=bureau_ref(insurers[r.setl_id], regions),
        )
        for r, coverage_id in views
    ]
