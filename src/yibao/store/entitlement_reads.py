"""Read models of a person's entitlements (待遇资格), shared by the REST resources and the console: identities
with their type's name and grade, chronic registrations with the disease's and the institution's names, and
惠民保 years. Names come from the dictionaries ``yibao region load`` stores (a code without one shows bare).
Plain dicts, dates as ``date``; nothing here writes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.enrollment import entitlements as ent
from yibao.store.tables import (
    ChronicRegistration,
    Dictionary,
    Identity,
    Institution,
    SupplementaryEnrollment,
)


def names(s: Session, dic_type: str) -> dict[str, str]:
    """Code → name of a dictionary as loaded (national and regional scopes together)."""
    return dict(
        s.execute(select(Dictionary.code, Dictionary.name).where(Dictionary.dic_type == dic_type)).all()
    )


def _valid(begin: date, end: date | None, day: date) -> bool:
    return begin <= day and (end is None or day <= end)


def identity_row(i: Identity, type_names: dict[str, str], day: date) -> dict:
    lv = i.psn_type_lv
    return {
        "id": i.id,
        "psn_no": i.psn_no,
        "psn_idet_type": i.psn_idet_type,
        "psn_idet_type_name": type_names.get(i.psn_idet_type, ""),
        "psn_type_lv": lv,
        "psn_type_lv_name": ent.GRADES.get(lv or "", lv or "")
        if i.psn_idet_type.startswith(ent.DISABILITY)
        else (lv or ""),
        "begntime": i.begntime,
        "endtime": i.endtime,
        "idet_org": i.idet_org,
        "memo": i.memo,
        "valid": _valid(i.begntime, i.endtime, day),
    }


def identities(s: Session, psn_no: str, day: date | None = None) -> list[dict]:
    day = day or date.today()
    type_names = names(s, "psn_idet_type")
    rows = s.scalars(
        select(Identity).where(Identity.psn_no == psn_no).order_by(Identity.begntime, Identity.id)
    )
    return [identity_row(i, type_names, day) for i in rows]


def chronic_row(c: ChronicRegistration, dise: dict[str, str], inst: dict[str, str], day: date) -> dict:
    return {
        "id": c.id,
        "psn_no": c.psn_no,
        "opsp_dise_code": c.opsp_dise_code,
        "opsp_dise_name": dise.get(c.opsp_dise_code, ""),
        "begndate": c.begndate,
        "enddate": c.enddate,
        "status": c.status,
        "status_name": ent.CHRONIC_STATUS.get(c.status, c.status),
        "fixmedins_code": c.fixmedins_code,
        "fixmedins_name": inst.get(c.fixmedins_code or "", ""),
        "valid": c.status in ent.HOLDS and _valid(c.begndate, c.enddate, day),
    }


def chronic_registrations(s: Session, psn_no: str, day: date | None = None) -> list[dict]:
    day = day or date.today()
    rows = s.scalars(
        select(ChronicRegistration)
        .where(ChronicRegistration.psn_no == psn_no)
        .order_by(ChronicRegistration.begndate, ChronicRegistration.id)
    ).all()
    codes = {c.fixmedins_code for c in rows if c.fixmedins_code}
    inst = (
        dict(
            s.execute(
                select(Institution.fixmedins_code, Institution.fixmedins_name).where(
                    Institution.fixmedins_code.in_(codes)
                )
            ).all()
        )
        if codes
        else {}
    )
    dise = names(s, "opsp_dise")
    return [chronic_row(c, dise, inst, day) for c in rows]


def supplementary(s: Session, psn_no: str) -> list[dict]:
    return [
        {"psn_no": r.psn_no, "year": r.year, "product": r.product}
        for r in s.scalars(
            select(SupplementaryEnrollment)
            .where(SupplementaryEnrollment.psn_no == psn_no)
            .order_by(SupplementaryEnrollment.year)
        )
    ]


def entitlements(s: Session, psn_no: str, day: date | None = None) -> dict[str, list[dict]]:
    """Everything a person is entitled to by the feeds: the person page's and the REST list's content."""
    return {
        "identities": identities(s, psn_no, day),
        "chronic_registrations": chronic_registrations(s, psn_no, day),
        "supplementary": supplementary(s, psn_no),
    }
