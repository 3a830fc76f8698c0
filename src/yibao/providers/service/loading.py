"""An institution register loaded from a region's files (``institutions.csv``) or built by hand (tests):
each institution without an agreement gets the main agreement it is taken to have signed — from its
``begndate`` to its ``enddate`` (none: standing), every service category its class may be granted unless the
row lists ``services`` — and its designation, so a loaded region settles as it did before agreements were
managed. A ``suspended`` institution's agreement is suspended from its begndate until resumed; an ``exited``
one's ends with its enddate. Idempotent: an institution with an agreement keeps it, and its status is set
again from it (a reload of the file may have rewritten the row)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from yibao.audit_actions import Action
from yibao.providers.scheme import institution_class
from yibao.providers.service.common import AGREEMENT, ONE_DAY, scheme_for
from yibao.providers.service.designations import rebuild
from yibao.store import audit
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderAgreement, ProviderStatusEvent

LOADED_TEMPLATE = "loaded"  # an agreement taken from the register, no document
LOADED_REASON = "载入时已中止 (suspended in the loaded register)"
LOADED_EXIT_REASON = "载入时已退出 (exited in the loaded register)"


def designate_register(
    s,
    *,
    actor: str,
    codes: set[str] | None = None,
    services: Mapping[str, list[str]] | None = None,
    today: date | None = None,
    regions_dir: Path | None = None,
) -> int:
    """Give every institution (of ``codes``, else all) without an agreement its loaded agreement and
    designation; ``services``: a code's granted categories when the file lists them. Returns how many."""
    today = today or date.today()
    now = datetime.now()
    have = set(s.scalars(select(ProviderAgreement.fixmedins_code).distinct()))
    q = select(Institution).order_by(Institution.fixmedins_code)
    if codes is not None:
        q = q.where(Institution.fixmedins_code.in_(codes))
    entries = []
    for inst in s.scalars(q).all():
        if inst.fixmedins_code in have:
            # a reload rewrote the register's row: its standing comes from its agreements, not from the file
            rebuild(s, inst, today=today, regions_dir=regions_dir)
            continue
        granted = _granted(inst, (services or {}).get(inst.fixmedins_code), regions_dir)
        a = _agreement(s, inst, granted, actor, now)
        rows = rebuild(s, inst, today=today, regions_dir=regions_dir)
        entries.append(
            {
                "actor": actor,
                "action": Action.DESIGNATE,
                "entity": AGREEMENT,
                "entity_id": a.agreement_no,
                "after": {
                    "fixmedins_code": inst.fixmedins_code,
                    "services": granted,
                    "begndate": a.begndate,
                    "enddate": a.enddate,
                    "status": a.status,
                    "intervals": len(rows),
                },
            }
        )
    audit.record_many(s, entries)
    return len(entries)


def _granted(inst: Institution, listed: list[str] | None, regions_dir: Path | None) -> list[str]:
    scheme = scheme_for(inst.admdvs, regions_dir)
    if scheme is None:
        return list(listed or [])
    if listed:
        scheme.med_types_of(listed)  # (an unknown code is refused)
        return list(listed)
    return list(scheme.services_for(institution_class(inst.fixmedins_type, inst.beds)))


def _agreement(s, inst: Institution, granted: list[str], actor: str, now: datetime) -> ProviderAgreement:
    code = inst.fixmedins_code
    exited = inst.status == "exited"
    a = ProviderAgreement(
        agreement_no=store.next_number(s, ProviderAgreement.agreement_no, f"XY{code}-", 2),
        fixmedins_code=code,
        kind="main",
        template_code=LOADED_TEMPLATE,
        template_version="1",
        begndate=inst.begndate,
        enddate=inst.enddate,
        services=granted,
        status="terminated" if exited else "active",
        ended_on=(inst.enddate + ONE_DAY if inst.enddate else inst.begndate) if exited else None,
        end_reason=LOADED_EXIT_REASON if exited else None,
        signed_by=actor,
        signed_at=now,
    )
    s.add(a)
    if inst.status == "suspended":
        s.add(
            ProviderStatusEvent(
                fixmedins_code=code,
                agreement_no=a.agreement_no,
                from_status="active",
                to_status="suspended",
                measure="staff",
                reason=LOADED_REASON,
                begndate=inst.begndate,
                enddate=None,
                actor=actor,
                at=now,
            )
        )
    s.flush()
    return a
