"""What the designated-provider resources answer (:mod:`yibao.api.routes_providers`): an application with its
progress, an agreement, an institution's designation on a day, an assessment sheet — names beside the codes,
dates as ISO text, decimals as strings — and the two reads the store does not have: the applications by
filter, paged, and the designated list of a day (公布结果) with each institution's granted services."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.errors import SettlementError
from yibao.providers import states
from yibao.providers.scheme import institution_class
from yibao.providers.service import applications, assessments
from yibao.providers.service.common import scheme_for
from yibao.store import providers as store
from yibao.store.tables import (
    Designation,
    Institution,
    ProviderAgreement,
    ProviderApplication,
    ProviderAttachment,
)

CLASSES = {"hospital": "医院", "clinic": "门诊诊所", "pharmacy": "零售药店"}  # (a region without a scheme)


def service_names(admdvs: str | None) -> dict[str, str]:
    scheme = scheme_for(admdvs)
    return {c: x.name for c, x in scheme.services.items()} if scheme else {}


def named(codes, names: dict[str, str]) -> list[dict]:
    return [{"code": c, "name": names.get(c, c)} for c in codes or ()]


# --- applications --------------------------------------------------------------------------------------------


def attachments_of(s: Session, appl_no: str) -> list[ProviderAttachment]:
    a = ProviderAttachment
    return list(s.scalars(select(a).where(a.appl_no == appl_no).order_by(a.id)))


def attachment_meta(a: ProviderAttachment) -> dict:
    return {
        "id": a.id,
        "material": a.material,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "uploaded_by": a.uploaded_by,
        "uploaded_at": a.uploaded_at,
    }


def application_out(s: Session, appl_no: str) -> dict:
    """The application as the progress query (进度查询) tells it, with its data, files and evaluation."""
    app = store.application(s, appl_no)
    names = service_names(app.admdvs)
    out = applications.progress(s, appl_no)
    out["pauses"] = [{"begndate": b, "enddate": e} for b, e in out["pauses"]]
    out |= {
        "status_name": states.name(app.status),
        "kind_name": states.KIND_NAMES.get(app.kind, app.kind),
        "admdvs": app.admdvs,
        "org": app.org,
        "services": named(app.services, names),
        "details": app.details,
        "opened_on": app.opened_on,
        "submitted_by": app.submitted_by,
        "attachments": [attachment_meta(a) for a in attachments_of(s, appl_no)],
        "evaluation": evaluation_out(s, appl_no),
    }
    return out


def evaluation_out(s: Session, appl_no: str) -> dict | None:
    ev = store.evaluation_of(s, appl_no)
    if ev is None:
        return None
    sheets = store.sheets_of(s, ev.id)
    return {
        "panel": ev.panel,
        "appointed_on": ev.appointed_on,
        "sheets": [
            {
                "scorer_id": x.scorer_id,
                "name": x.name,
                "role": x.role,
                "field": x.field,
                "total": x.total,
                "recorded_at": x.recorded_at,
            }
            for x in sheets
        ],
        "missing": [x["scorer_id"] for x in ev.panel if x["scorer_id"] not in {y.scorer_id for y in sheets}],
        "result": ev.result,
        "passed": ev.passed,
        "method": ev.method,
        "concluded_on": ev.concluded_on,
    }


def application_list(
    s: Session,
    *,
    status: str | None,
    kind: str | None,
    institution: str | None,
    submitted_from: date | None,
    submitted_to: date | None,
    offset: int,
    limit: int,
) -> tuple[int, list[dict]]:
    """Applications by filter, newest first; ``institution``: its code, 统一社会信用代码 or part of its name."""
    a = ProviderApplication
    conds = []
    if status:
        conds.append(a.status == status)
    if kind:
        conds.append(a.kind == kind)
    if institution:
        conds.append(
            or_(
                a.fixmedins_code == institution,
                a.org["uscc"].as_string() == institution,
                a.org["name"].as_string().contains(institution, autoescape=True),
            )
        )
    if submitted_from:
        conds.append(a.submitted_on >= submitted_from)
    if submitted_to:
        conds.append(a.submitted_on <= submitted_to)
    where = and_(True, *conds)
    total = s.scalar(select(func.count()).select_from(a).where(where)) or 0
    rows = s.scalars(
        select(a).where(where).order_by(a.submitted_on.desc(), a.appl_no.desc()).offset(offset).limit(limit)
    )
    return total, [
        {
            "appl_no": r.appl_no,
            "kind": r.kind,
            "kind_name": states.KIND_NAMES.get(r.kind, r.kind),
            "status": r.status,
            "status_name": states.name(r.status),
            "admdvs": r.admdvs,
            "fixmedins_code": r.fixmedins_code,
            "name": (r.org or {}).get("name"),
            "uscc": (r.org or {}).get("uscc"),
            "services": list(r.services or ()),
            "submitted_on": r.submitted_on,
            "accepted_on": r.accepted_on,
            "decided_on": r.decided_on,
        }
        for r in rows
    ]


# --- agreements and institutions -----------------------------------------------------------------------------


def agreement_out(s: Session, agreement_no: str) -> dict:
    a = store.agreement(s, agreement_no)
    inst = s.get(Institution, a.fixmedins_code)
    others = store.agreements_of(s, a.fixmedins_code)
    return {
        "agreement_no": a.agreement_no,
        "fixmedins_code": a.fixmedins_code,
        "fixmedins_name": inst.fixmedins_name if inst else None,
        "kind": a.kind,
        "main_no": a.main_no,
        "supp_code": a.supp_code,
        "supplementary": [x.agreement_no for x in others if x.main_no == a.agreement_no],
        "appl_no": a.appl_no,
        "template": {"code": a.template_code, "version": a.template_version},
        "begndate": a.begndate,
        "enddate": a.enddate,
        "services": named(a.services, service_names(inst.admdvs if inst else None)),
        "status": a.status,
        "status_name": states.name(a.status),
        "ended_on": a.ended_on,
        "end_reason": a.end_reason,
        "document_sha256": a.document_sha256,
        "document": f"/api/providers/agreements/{a.agreement_no}/document" if a.document else None,
        "signed_by": a.signed_by,
        "signed_at": a.signed_at,
    }


def institution_out(s: Session, code: str) -> dict:
    """The institution with its agreements, designation intervals, status history, measures and 医保医师."""
    inst = store.institution(s, code)
    return {
        "fixmedins_code": inst.fixmedins_code,
        "fixmedins_name": inst.fixmedins_name,
        "fixmedins_type": inst.fixmedins_type,
        "class": institution_class(inst.fixmedins_type, inst.beds),
        "hosp_lv": inst.hosp_lv,
        "admdvs": inst.admdvs,
        "uscc": inst.uscc,
        "address": inst.address,
        "status": inst.status,
        "agreements": [agreement_out(s, a.agreement_no) for a in store.agreements_of(s, code)],
        "designation": [designation_row(d) for d in store.designation_of(s, code)],
        "events": [
            {
                "from": e.from_status,
                "to": e.to_status,
                "measure": e.measure,
                "reason": e.reason,
                "red_line": e.red_line,
                "begndate": e.begndate,
                "enddate": e.enddate,
                "agreement_no": e.agreement_no,
                "actor": e.actor,
                "at": e.at,
            }
            for e in store.events_of(s, code)
        ],
        "measures": [measure_out(m) for m in store.measures_of(s, code)],
        "practitioners": [registration_out(r) for r in store.registrations_of(s, code)],
    }


def designation_row(d: Designation) -> dict:
    return {
        "begndate": d.begndate,
        "enddate": d.enddate,
        "status": d.status,
        "med_types": (d.med_types or "").split() if d.med_types is not None else None,
        "reason": d.reason,
        "agreement_no": d.agreement_no,
    }


def status_on(s: Session, code: str, day: date, med_type: str | None) -> dict:
    """What settlement would say of a visit at the institution on ``day`` (of ``med_type``, when given):
    the same check the facade makes (:func:`yibao.settlement.service.check_agreement`)."""
    from yibao.settlement.service import check_agreement

    inst = store.institution(s, code)
    rows = store.designation_of(s, code)
    covering = [d for d in rows if d.begndate <= day and (d.enddate is None or day <= d.enddate)]
    try:
        check_agreement(rows, code, day, med_type)
        refusal = None
    except SettlementError as exc:
        refusal = exc.message
    on_day = next((d for d in covering if d.status == "suspended"), covering[0] if covering else None)
    return {
        "fixmedins_code": code,
        "fixmedins_name": inst.fixmedins_name,
        "on": day,
        "med_type": med_type,
        "may_settle": refusal is None,
        "refusal": refusal,
        "status": on_day.status if on_day else "none",
        "designation": designation_row(on_day) if on_day else None,
    }


def measure_out(m) -> dict:
    return {
        "id": m.id,
        "code": m.code,
        "step": m.step,
        "name": m.name,
        "effect": m.effect,
        "reason": m.reason,
        "decided_on": m.decided_on,
        "deadline": m.deadline,
        "suspicion_id": m.suspicion_id,
        "status": m.status,
        "decided_by": m.decided_by,
    }


def registration_out(r) -> dict:
    return {
        "id": r.id,
        "prac_code": r.prac_code,
        "fixmedins_code": r.fixmedins_code,
        "agreement_no": r.agreement_no,
        "qualification": r.qualification,
        "registered_on": r.registered_on,
        "ended_on": r.ended_on,
        "status": r.status,
    }


# --- annual assessment ---------------------------------------------------------------------------------------


def sheet_out(sheet, admdvs: str, names: dict[str, str]) -> dict:
    scheme = scheme_for(admdvs)
    outcome = assessments.consequences(scheme, sheet.grade) if scheme else None
    return {
        "fixmedins_code": sheet.fixmedins_code,
        "fixmedins_name": names.get(sheet.fixmedins_code),
        "values": sheet.values,
        "manual": sheet.manual,
        "points": sheet.points,
        "notes": sheet.notes,
        "total": sheet.total,
        "grade": sheet.grade,
        "grade_name": outcome.name if outcome else None,
        "consequence": outcome.describe() if outcome else None,
    }


# --- the public list (公布结果) --------------------------------------------------------------------------------


def designated_on(s: Session, day: date, admdvs: str | None) -> list[dict[str, Any]]:
    """The institutions designated (active, not suspended) on ``day``, each with its agreement's term and
    granted services: the 公布结果 list. Exited and suspended institutions are not on it."""
    d, i, a = Designation, Institution, ProviderAgreement
    q = (
        select(
            i.fixmedins_code,
            i.fixmedins_name,
            i.fixmedins_type,
            i.beds,
            i.hosp_lv,
            i.address,
            i.admdvs,
            a.services,
            a.begndate,
            a.enddate,
        )
        .select_from(d)
        .join(i, i.fixmedins_code == d.fixmedins_code)
        .outerjoin(a, a.agreement_no == d.agreement_no)
        .where(d.status == "active", d.begndate <= day, or_(d.enddate.is_(None), d.enddate >= day))
        .order_by(i.fixmedins_code)
    )
    if admdvs:  # a city's list takes its districts'
        q = q.where(i.admdvs.like(admdvs[:4] + "%") if admdvs.endswith("00") else i.admdvs == admdvs)
    suspended = select(d.fixmedins_code).where(
        d.status == "suspended", d.begndate <= day, or_(d.enddate.is_(None), d.enddate >= day)
    )
    q = q.where(i.fixmedins_code.not_in(suspended))
    out, seen = [], set()
    for r in s.execute(q):
        if r.fixmedins_code in seen:
            continue
        seen.add(r.fixmedins_code)
        out.append(
            {
                "fixmedins_code": r.fixmedins_code,
                "fixmedins_name": r.fixmedins_name,
                "class": institution_class(r.fixmedins_type, r.beds),
                "hosp_lv": r.hosp_lv,
                "address": r.address,
                "admdvs": r.admdvs,
                "services": list(r.services or ()),
                "begndate": r.begndate,
                "enddate": r.enddate,
                "status": "active",
            }
        )
    return out
