"""Designated providers (定点医药机构) in the store: an application or agreement locked for a step, an
institution's agreements, suspensions and designation intervals, the numbers new applications and agreements
get, and the lists by status on a day. The rules are :mod:`yibao.providers`; the use cases
:mod:`yibao.providers.service`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from yibao.errors import NotFound
from yibao.store.tables import (
    Designation,
    Institution,
    PractitionerRegistration,
    ProviderAgreement,
    ProviderApplication,
    ProviderAssessment,
    ProviderAssessmentSheet,
    ProviderAttachment,
    ProviderClockPause,
    ProviderEvaluation,
    ProviderEvaluationSheet,
    ProviderMeasure,
    ProviderStatusEvent,
)

SUSPENDED = "suspended"
ACTIVE = "active"


def _locked(s: Session, stmt):
    return s.scalar(stmt.with_for_update().execution_options(populate_existing=True))


def locked_application(s: Session, appl_no: str) -> ProviderApplication:
    """The application, locked until commit (two clerks acting on it take turns)."""
    row = _locked(s, select(ProviderApplication).where(ProviderApplication.appl_no == appl_no))
    if row is None:
        raise NotFound(f"appl_no: 申请不存在 {appl_no}")
    return row


def institution(s: Session, fixmedins_code: str) -> Institution:
    row = s.get(Institution, fixmedins_code)
    if row is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {fixmedins_code}")
    return row


def locked_institution(s: Session, fixmedins_code: str) -> Institution:
    """The institution, locked until commit: every change of its agreements takes this lock first, so two
    changes rebuild its designation one after the other."""
    row = _locked(s, select(Institution).where(Institution.fixmedins_code == fixmedins_code))
    if row is None:
        raise NotFound(f"fixmedins_code: 定点医药机构不存在 {fixmedins_code}")
    return row


def application(s: Session, appl_no: str) -> ProviderApplication:
    row = s.get(ProviderApplication, appl_no)
    if row is None:
        raise NotFound(f"appl_no: 申请不存在 {appl_no}")
    return row


def applications_of(s: Session, fixmedins_code: str | None = None, uscc: str | None = None) -> list:
    """An institution's applications (by code, or a new one's by 统一社会信用代码), newest first."""
    q = select(ProviderApplication)
    if fixmedins_code:
        q = q.where(ProviderApplication.fixmedins_code == fixmedins_code)
    if uscc:
        q = q.where(ProviderApplication.org["uscc"].as_string() == uscc)
    return list(s.scalars(q.order_by(ProviderApplication.submitted_on.desc(), ProviderApplication.appl_no)))


def pending_applications(s: Session, fixmedins_code: str, kind: str, closed: tuple[str, ...]) -> list:
    """The institution's applications of a kind not in one of the ``closed`` statuses."""
    return list(
        s.scalars(
            select(ProviderApplication).where(
                ProviderApplication.fixmedins_code == fixmedins_code,
                ProviderApplication.kind == kind,
                ProviderApplication.status.not_in(closed),
            )
        )
    )


def attachments_of(s: Session, appl_no: str) -> list[ProviderAttachment]:
    return list(
        s.scalars(
            select(ProviderAttachment)
            .where(ProviderAttachment.appl_no == appl_no)
            .order_by(ProviderAttachment.id)
        )
    )


def pauses(s: Session, appl_no: str) -> list[ProviderClockPause]:
    return list(
        s.scalars(
            select(ProviderClockPause)
            .where(ProviderClockPause.appl_no == appl_no)
            .order_by(ProviderClockPause.begndate, ProviderClockPause.id)
        )
    )


def evaluation_of(s: Session, appl_no: str) -> ProviderEvaluation | None:
    return s.scalar(select(ProviderEvaluation).where(ProviderEvaluation.appl_no == appl_no))


def sheets_of(s: Session, evaluation_id: int) -> list[ProviderEvaluationSheet]:
    return list(
        s.scalars(
            select(ProviderEvaluationSheet)
            .where(ProviderEvaluationSheet.evaluation_id == evaluation_id)
            .order_by(ProviderEvaluationSheet.id)
        )
    )


def agreements_of(s: Session, fixmedins_code: str, kind: str | None = None) -> list[ProviderAgreement]:
    """The institution's agreements, oldest first (main before its supplementary ones)."""
    q = select(ProviderAgreement).where(ProviderAgreement.fixmedins_code == fixmedins_code)
    if kind:
        q = q.where(ProviderAgreement.kind == kind)
    return list(
        s.scalars(
            q.order_by(ProviderAgreement.begndate, ProviderAgreement.kind, ProviderAgreement.agreement_no)
        )
    )


def agreement(s: Session, agreement_no: str) -> ProviderAgreement:
    row = s.get(ProviderAgreement, agreement_no)
    if row is None:
        raise NotFound(f"agreement_no: 协议不存在 {agreement_no}")
    return row


def events_of(s: Session, fixmedins_code: str) -> list[ProviderStatusEvent]:
    """The institution's status history, in the order it happened."""
    return list(
        s.scalars(
            select(ProviderStatusEvent)
            .where(ProviderStatusEvent.fixmedins_code == fixmedins_code)
            .order_by(ProviderStatusEvent.at, ProviderStatusEvent.id)
        )
    )


def suspensions_of(s: Session, fixmedins_code: str) -> list[ProviderStatusEvent]:
    """Its suspensions (中止), by start; one resumed early has its ``enddate`` moved back (one cancelled before
    it began ends the day before it would have begun)."""
    return list(
        s.scalars(
            select(ProviderStatusEvent)
            .where(
                ProviderStatusEvent.fixmedins_code == fixmedins_code,
                ProviderStatusEvent.to_status == SUSPENDED,
            )
            .order_by(ProviderStatusEvent.begndate, ProviderStatusEvent.id)
        )
    )


def sanction_terminations(s: Session, fixmedins_codes: set[str], since: date) -> list[ProviderStatusEvent]:
    """Terminations by sanction (违规解除) of any of the codes effective on or after ``since``."""
    if not fixmedins_codes:
        return []
    return list(
        s.scalars(
            select(ProviderStatusEvent).where(
                ProviderStatusEvent.fixmedins_code.in_(fixmedins_codes),
                ProviderStatusEvent.to_status == "terminated",
                ProviderStatusEvent.measure == "sanction",
                ProviderStatusEvent.begndate >= since,
            )
        )
    )


def codes_with_uscc(s: Session, uscc: str) -> set[str]:
    return set(s.scalars(select(Institution.fixmedins_code).where(Institution.uscc == uscc)))


def designation_of(s: Session, fixmedins_code: str) -> list[Designation]:
    return list(
        s.scalars(
            select(Designation)
            .where(Designation.fixmedins_code == fixmedins_code)
            .order_by(Designation.begndate, Designation.id)
        )
    )


def replace_designation(s: Session, fixmedins_code: str, rows: list[dict]) -> None:
    """Its designation intervals replaced by ``rows`` (begndate, enddate, status, med_types, reason,
    agreement_no) in the caller's transaction."""
    s.execute(delete(Designation).where(Designation.fixmedins_code == fixmedins_code))
    s.add_all(Designation(fixmedins_code=fixmedins_code, **r) for r in rows)
    s.flush()


def next_number(s: Session, column, prefix: str, width: int) -> str:
    """``prefix`` + the next sequence number of that width among the column's values with the prefix."""
    last = s.scalar(
        select(func.max(column)).where(column.like(prefix + "%"), func.length(column) == len(prefix) + width)
    )
    n = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{n:0{width}d}"


def expiring(s: Session, before: date) -> list[ProviderAgreement]:
    """Agreements in force or suspended whose term ended before ``before`` (到期)."""
    return list(
        s.scalars(
            select(ProviderAgreement)
            .where(ProviderAgreement.status.in_((ACTIVE, SUSPENDED)), ProviderAgreement.enddate < before)
            .order_by(ProviderAgreement.fixmedins_code, ProviderAgreement.agreement_no)
        )
    )


def registrations_of(s: Session, fixmedins_code: str) -> list[PractitionerRegistration]:
    return list(
        s.scalars(
            select(PractitionerRegistration)
            .where(PractitionerRegistration.fixmedins_code == fixmedins_code)
            .order_by(PractitionerRegistration.registered_on, PractitionerRegistration.id)
        )
    )


def registrations_under(s: Session, agreement_nos: list[str]) -> list[PractitionerRegistration]:
    """The registrations made under these agreements, locked (they are about to end)."""
    if not agreement_nos:
        return []
    stmt = select(PractitionerRegistration).where(PractitionerRegistration.agreement_no.in_(agreement_nos))
    return list(s.scalars(stmt.order_by(PractitionerRegistration.id).with_for_update()))


def measures_of(s: Session, fixmedins_code: str) -> list[ProviderMeasure]:
    return list(
        s.scalars(
            select(ProviderMeasure)
            .where(ProviderMeasure.fixmedins_code == fixmedins_code)
            .order_by(ProviderMeasure.decided_on, ProviderMeasure.id)
        )
    )


def latest_grade(s: Session, fixmedins_code: str, year: int) -> str | None:
    """The institution's annual-assessment grade of ``year``, if it was assessed."""
    return s.scalar(
        select(ProviderAssessmentSheet.grade)
        .join(ProviderAssessment, ProviderAssessment.id == ProviderAssessmentSheet.assessment_id)
        .where(ProviderAssessmentSheet.fixmedins_code == fixmedins_code, ProviderAssessment.year == year)
    )


# --- lists ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """An institution and what its designation says on the day: active | suspended | none (no agreement)."""

    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str
    hosp_lv: str | None
    admdvs: str
    status: str  # the institution's status today
    on_day: str  # active | suspended | none
    med_types: str | None
    begndate: date | None
    enddate: date | None
    reason: str


def listed_on(s: Session, day: date, status: str | None = None, admdvs: str | None = None) -> list[Listed]:
    """Every institution with its designation on ``day`` (one outer join on the designation index), by code;
    ``status``: only those whose designation says so on the day (``none``: those with none)."""
    d, i = Designation, Institution
    cover = and_(
        d.fixmedins_code == i.fixmedins_code, d.begndate <= day, or_(d.enddate.is_(None), d.enddate >= day)
    )
    q = (
        select(
            i.fixmedins_code,
            i.fixmedins_name,
            i.fixmedins_type,
            i.hosp_lv,
            i.admdvs,
            i.status,
            d.status.label("on_day"),
            d.med_types,
            d.begndate,
            d.enddate,
            d.reason,
        )
        .select_from(i)
        .outerjoin(d, cover)
        .order_by(i.fixmedins_code)
    )
    if admdvs:  # a city's list takes its districts' institutions
        q = q.where(i.admdvs.like(admdvs[:4] + "%") if admdvs.endswith("00") else i.admdvs == admdvs)
    out = [
        Listed(
            r.fixmedins_code,
            r.fixmedins_name,
            r.fixmedins_type,
            r.hosp_lv,
            r.admdvs,
            r.status,
            r.on_day or "none",
            r.med_types,
            r.begndate,
            r.enddate,
            r.reason or "",
        )
        for r in s.execute(q)
    ]
    return [x for x in out if status is None or x.on_day == status]
