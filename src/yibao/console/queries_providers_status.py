"""定点管理 · 机构状态 and 定点名单: the institutions with what their designation says today, one institution's
agreements, designation intervals, status history, measures and registered practitioners in words; the
public list (公布结果) as of a day in :mod:`yibao.providers.document`'s columns; and the background Excel
exports of the 定点管理 lists (their own registry, written by the console's one writer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_providers import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUS,
    class_name,
    class_of,
    people,
    scheme,
    services_text,
)
from yibao.providers.document import STATUS_NAMES, public_list_rows
from yibao.store import providers as store
from yibao.store.tables import Designation, Institution, Practitioner, ProviderAgreement

ON_DAY = {"active": "正常", "suspended": "中止", "none": "无有效协议"}
BY_NAMES = {
    "application": "依申请",
    "sanction": "违约处理",
    "staff": "经办机构办理",
    "expiry": "协议到期",
    "signing": "签约",
    "renewal": "续签",
}
PRAC_TYPES = {"doctor": "医师", "nurse": "护士", "pharmacist": "药师", "technician": "技师"}


# --- 机构状态: the institutions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionFilter:
    text: str = ""
    on_day: str = ""  # active | suspended | none
    day: date | None = None

    def describe(self) -> str:
        parts = [f"{self.day or date.today()} 的状态"]
        if self.on_day:
            parts.append(ON_DAY.get(self.on_day, self.on_day))
        if self.text:
            parts.append(f"机构：{self.text}")
        return "筛选：" + "；".join(parts)


INSTITUTION_COLUMNS = [
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构名称"),
    ("cls", "机构类别"),
    ("hosp_lv", "医院等级"),
    ("on_day", "当日状态"),
    ("begndate", "区间起"),
    ("enddate", "区间止"),
    ("reason", "中止原因"),
]
INSTITUTION_UNSORTED = ("cls", "reason")
INSTITUTION_DATES = ("begndate", "enddate")


def _cover(day: date):
    d, i = Designation, Institution
    return and_(
        d.fixmedins_code == i.fixmedins_code, d.begndate <= day, or_(d.enddate.is_(None), d.enddate >= day)
    )


def _institutions(f: InstitutionFilter):
    day = f.day or date.today()
    d, i = Designation, Institution
    q = select(i, d).select_from(i).outerjoin(d, _cover(day))
    text = f.text.strip()
    if text:
        q = q.where(or_(i.fixmedins_name.like(f"%{text}%"), i.fixmedins_code.like(f"%{text}%")))
    if f.on_day == "none":
        q = q.where(d.id.is_(None))
    elif f.on_day:
        q = q.where(d.status == f.on_day)
    return q


INSTITUTION_ORDER = {
    "fixmedins_code": Institution.fixmedins_code,
    "fixmedins_name": Institution.fixmedins_name,
    "hosp_lv": Institution.hosp_lv,
    "on_day": Designation.status,
    "begndate": Designation.begndate,
    "enddate": Designation.enddate,
}


def institution_count(s: Session, f: InstitutionFilter) -> int:
    return s.scalar(select(func.count()).select_from(_institutions(f).subquery())) or 0


def institution_records(
    s: Session, f: InstitutionFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> list[dict]:
    from yibao.console.display import names

    sc, n = scheme(), names(s)
    q = paged(
        _institutions(f),
        INSTITUTION_ORDER,
        order,
        "fixmedins_code",
        Institution.fixmedins_code,
        offset=offset,
        limit=limit,
    )
    return [
        {
            "fixmedins_code": i.fixmedins_code,
            "fixmedins_name": i.fixmedins_name,
            "cls": class_name(sc, class_of(i.fixmedins_type, i.beds)),
            "hosp_lv": n.of("hosp_lv", i.hosp_lv),
            "on_day": ON_DAY[d.status if d else "none"],
            "begndate": d.begndate if d else None,
            "enddate": d.enddate if d else None,
            "reason": (d.reason if d and d.status == "suspended" else "") or "",
        }
        for i, d in s.execute(q)
    ]


def institution_status(s: Session, code: str, today: date | None = None) -> dict | None:
    """One institution: what its designation says today, its agreements, intervals, history, measures and
    practitioners, in words."""
    inst = s.get(Institution, code)
    if inst is None:
        return None
    from yibao.console.display import names

    sc, n = scheme(), names(s)
    today = today or date.today()
    red = {r.code: r.name for r in sc.red_lines}
    intervals = store.designation_of(s, code)
    now = next(
        (d for d in intervals if d.begndate <= today and (d.enddate is None or today <= d.enddate)), None
    )
    events = store.events_of(s, code)
    measures = store.measures_of(s, code)
    regs = store.registrations_of(s, code)
    who = people(
        s, [e.actor for e in events] + [m.decided_by for m in measures] + [r.registered_by for r in regs]
    )
    pracs = {
        p.prac_code: p
        for p in s.scalars(
            select(Practitioner).where(Practitioner.prac_code.in_([r.prac_code for r in regs]))
        )
    }
    return {
        "code": code,
        "name": inst.fixmedins_name,
        "cls": class_name(sc, class_of(inst.fixmedins_type, inst.beds)),
        "today": ON_DAY[now.status if now else "none"],
        "today_key": now.status if now else "none",
        "today_reason": now.reason if now and now.status == "suspended" else "",
        "agreements": [
            {
                "agreement_no": a.agreement_no,
                "kind": AGREEMENT_KINDS.get(a.kind, a.kind),
                "begndate": str(a.begndate),
                "enddate": str(a.enddate or "长期"),
                "status": AGREEMENT_STATUS.get(a.status, a.status),
                "services": services_text(sc, a.services),
            }
            for a in store.agreements_of(s, code)
        ],
        "intervals": [
            {
                "begndate": str(d.begndate),
                "enddate": str(d.enddate or "—"),
                "status": ON_DAY.get(d.status, d.status),
                "note": d.reason
                or ("开通：" + med_types_text(n, d.med_types) if d.status == "active" else ""),
            }
            for d in intervals
        ],
        "events": [
            {
                "at": f"{e.at:%Y-%m-%d %H:%M}",
                "change": f"{STATUS_NAMES.get(e.from_status or '', '—')} → "
                f"{STATUS_NAMES.get(e.to_status, e.to_status)}",
                "by": BY_NAMES.get(e.measure, e.measure),
                "period": f"{e.begndate} 至 {e.enddate or '—'}",
                "reason": e.reason or "",
                "red_line": f"{e.red_line} {red.get(e.red_line, '')}".strip() if e.red_line else "",
                "actor": who.get(e.actor, e.actor),
            }
            for e in reversed(events)
        ],
        "measures": [
            {
                "id": m.id,
                "open": m.status == "open",
                "status": "整改中" if m.status == "open" else "已办结",
                "decided_on": str(m.decided_on),
                "name": m.name,
                "reason": m.reason,
                "deadline": str(m.deadline or "—"),
                "actor": who.get(m.decided_by, m.decided_by),
            }
            for m in reversed(measures)
        ],
        "practitioners": [
            {
                "id": r.id,
                "standing": r.status == "registered",
                "prac_code": r.prac_code,
                "name": pracs[r.prac_code].prac_name if r.prac_code in pracs else "",
                "type": PRAC_TYPES.get(pracs[r.prac_code].prac_type, "") if r.prac_code in pracs else "",
                "qualification": r.qualification or "",
                "agreement_no": r.agreement_no,
                "registered_on": str(r.registered_on),
                "status": "已备案" if r.status == "registered" else f"已注销（{r.ended_on}）",
            }
            for r in regs
        ],
        "exit": _exit_statement(s, code),
    }


def _exit_statement(s: Session, code: str) -> dict | None:
    """退出清算 of an institution whose agreements have all ended; None while one stands."""
    from yibao.errors import InputError
    from yibao.providers.service import exits

    try:
        return exits.statement(s, code)
    except InputError:
        return None


def med_types_text(n, codes: str | None) -> str:
    """``11 普通门诊、13 急诊`` (every medical type when the interval does not restrict them)."""
    if not codes:
        return "全部医疗类别"
    return "、".join(f"{c} {n.of('med_type', c)}".strip() for c in codes.split())


# --- 定点名单 (the public list) -------------------------------------------------------------------------------------


def public_rows(s: Session, day: date, cls: str = "") -> list[dict[str, str]]:
    """The designated institutions on ``day`` (their designation covers it: 正常 or 中止) with the services of
    the agreement in force, in the public list's columns (:func:`yibao.providers.document.public_list_rows`)."""
    from yibao.console.display import names

    sc, n = scheme(), names(s)
    d, i, a = Designation, Institution, ProviderAgreement
    q = (
        select(i, d.status, a.services, a.begndate, a.enddate)
        .select_from(d)
        .join(i, i.fixmedins_code == d.fixmedins_code)
        .join(a, a.agreement_no == d.agreement_no)
        .where(d.begndate <= day, or_(d.enddate.is_(None), d.enddate >= day))
        .order_by(i.fixmedins_code)
    )
    found = []
    for inst, on_day, services, begin, end in s.execute(q):
        c = class_of(inst.fixmedins_type, inst.beds)
        if not c or (cls and c != cls):
            continue
        found.append(
            {
                "fixmedins_code": inst.fixmedins_code,
                "fixmedins_name": inst.fixmedins_name,
                "class": c,
                "hosp_lv": inst.hosp_lv,
                "address": inst.address,
                "services": [x for x in services or () if x in sc.services],
                "begndate": begin,
                "enddate": end,
                "status": on_day,
            }
        )
    levels = {k: v for k, v in n.values.get("hosp_lv", {}).items()}
    return public_list_rows(
        found, classes=dict(sc.classes), services={k: v.name for k, v in sc.services.items()}, levels=levels
    )


# --- background exports -------------------------------------------------------------------------------------------


def exports() -> dict:
    """The 定点管理 lists a background job exports, by name."""
    from yibao.console import queries_providers as qp
    from yibao.console import queries_providers_agreements as qa
    from yibao.console import queries_providers_assess as qs
    from yibao.console.export import ExportList

    return {
        "provider_applications": ExportList(
            "定点申请",
            "provider-applications.xlsx",
            qp.APPLICATION_COLUMNS,
            qp.application_count,
            qp.application_records,
        ),
        "provider_agreements": ExportList(
            "医保服务协议",
            "provider-agreements.xlsx",
            qa.AGREEMENT_COLUMNS,
            qa.agreement_count,
            qa.agreement_records,
        ),
        "provider_institutions": ExportList(
            "定点医药机构状态",
            "provider-institutions.xlsx",
            INSTITUTION_COLUMNS,
            institution_count,
            institution_records,
        ),
        "provider_assessment": ExportList(
            "年度考核", "provider-assessment.xlsx", qs.SHEET_COLUMNS, qs.sheet_count, qs.sheet_records
        ),
    }


def export_work(progress: Callable, *, name: str, flt: Any, path: str, note: str = "") -> tuple[Path, str]:
    """(A job's work, in its own process) the whole list ``name`` as ``flt`` filters it, to ``path``."""
    from yibao.console.export import write_xlsx
    from yibao.store.db import unit_of_work

    spec = exports()[name]
    with unit_of_work(write=False) as s:
        progress(0, spec.count(s, flt))
        write_xlsx(path, spec.title, spec.columns, spec.rows(s, flt), note=note, progress=progress)
    return Path(path), spec.filename
