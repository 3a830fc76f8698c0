"""The designation (定点) settlement reads, rebuilt from an institution's agreements and suspensions on every
change of either: its main agreements' terms (cut at a termination), each split where a suspension (中止)
covers it, active intervals carrying the national med_types their granted service categories open. The
institution's ``status`` (and each agreement's active/suspended) is then set to what is true today.

Settlement reads the intervals of the service date (:data:`yibao.settlement.queries.AGREEMENT`), never the
status: "what was true on the service date"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from yibao.providers.scheme import ProviderScheme
from yibao.providers.service.common import ONE_DAY, scheme_for
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderAgreement

ACTIVE, SUSPENDED, EXITED = "active", "suspended", "exited"
ENDED = ("terminated", "expired")
_LAST = date.max


def coverage(a: ProviderAgreement) -> tuple[date, date | None]:
    """The first and last day an agreement covers: its term, cut the day before a termination takes effect
    (``ended_on``)."""
    last = a.enddate
    if a.status == "terminated" and a.ended_on is not None:
        cut = a.ended_on - ONE_DAY
        last = cut if last is None else min(last, cut)
    return a.begndate, last


def med_types_text(scheme: ProviderScheme | None, services) -> str | None:
    """The med_types the services open, space-separated (None without a scheme: every type)."""
    if scheme is None:
        return None
    return " ".join(sorted(scheme.med_types_of(services or ())))


def plan(mains: list, suspensions: list, scheme: ProviderScheme | None) -> list[dict]:
    """The intervals of the main agreements ``mains`` split by ``suspensions`` (events with begndate, enddate
    (None: until resumed) and reason; one ending before it begins was cancelled), in date order."""
    rows: list[dict] = []
    for a in sorted(mains, key=lambda a: (a.begndate, a.agreement_no)):
        begin, last = coverage(a)
        if last is not None and last < begin:
            continue
        end = last or _LAST
        med_types = med_types_text(scheme, a.services)
        cur = begin
        for sp in sorted(suspensions, key=lambda e: (e.begndate, e.id or 0)):
            sb, se = max(sp.begndate, cur), min(sp.enddate or _LAST, end)
            if (sp.enddate is not None and sp.enddate < sp.begndate) or sb > se:
                continue
            if sb > cur:
                rows.append(_row(cur, sb - ONE_DAY, ACTIVE, med_types, "", a.agreement_no))
            rows.append(_row(sb, se, SUSPENDED, None, sp.reason or "", a.agreement_no))
            if se == _LAST:
                cur = None
                break
            cur = se + ONE_DAY
        if cur is not None and cur <= end:
            rows.append(_row(cur, end, ACTIVE, med_types, "", a.agreement_no))
    return rows


def _row(begin: date, end: date, status: str, med_types, reason: str, agreement_no: str) -> dict:
    return {
        "begndate": begin,
        "enddate": None if end == _LAST else end,
        "status": status,
        "med_types": med_types,
        "reason": reason[:200],
        "agreement_no": agreement_no,
    }


def status_on(rows: list[dict], day: date) -> str:
    """active | suspended as the interval covering ``day`` says; active before a first term begins; exited
    when none covers it and none is to come."""
    for r in rows:
        if r["begndate"] <= day and (r["enddate"] is None or r["enddate"] >= day):
            return r["status"]
    if any(r["begndate"] > day for r in rows):
        return ACTIVE
    return EXITED


def rebuild(s, inst: Institution, *, today: date, regions_dir: Path | None = None) -> list[dict]:
    """Rebuild the institution's designation from its agreements and suspensions; set its status and its
    agreements' (active/suspended: those not ended) for ``today``. Returns the intervals."""
    code = inst.fixmedins_code
    agreements = store.agreements_of(s, code)
    mains = [a for a in agreements if a.kind == "main"]
    rows = plan(mains, store.suspensions_of(s, code), scheme_for(inst.admdvs, regions_dir))
    store.replace_designation(s, code, rows)
    inst.status = status_on(rows, today)
    today_of = {r["agreement_no"]: r["status"] for r in rows if _covers(r, today)}
    for a in agreements:
        if a.status in ENDED:
            continue
        key = a.agreement_no if a.kind == "main" else a.main_no
        a.status = SUSPENDED if today_of.get(key) == SUSPENDED else ACTIVE
    return rows


def _covers(r: dict, day: date) -> bool:
    return r["begndate"] <= day and (r["enddate"] is None or r["enddate"] >= day)
