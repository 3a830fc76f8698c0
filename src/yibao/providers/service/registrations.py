"""Ending a 医保医师备案: by staff (:func:`yibao.providers.service.staff.end_registration`), with the
agreement it was made under when the institution leaves (:func:`yibao.providers.service.status.terminate`), or
at the agreement's expiry — carried to the renewed agreement when there is one
(:func:`yibao.providers.service.status.expire`)."""

from __future__ import annotations

from datetime import date, datetime

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.service.common import ONE_DAY, PRACTITIONER, record, text
from yibao.store import providers as store
from yibao.store.tables import PractitionerRegistration, ProviderAgreement


def end(s, reg: PractitionerRegistration, *, day: date, reason: str, actor: str, now: datetime) -> None:
    """The registration ends on ``day`` (its last day), with its audit row; refused when it already ended or
    ``day`` is before it began."""
    reason = text(reason, "reason", "注销原因")
    if reg.status != "registered":
        raise InputError(f"id: 备案 {reg.id} 已于 {reg.ended_on} 注销")
    if day < reg.registered_on:
        raise InputError(f"day: 注销日 {day} 早于备案日 {reg.registered_on}")
    reg.status, reg.ended_on = "ended", day
    record(s, Action.END, PRACTITIONER, str(reg.id), actor=actor, at=now,
           before={"status": "registered"}, after={"status": "ended", "ended_on": day, "reason": reason})  # fmt: skip


def end_under(
    s, agreement_nos: list[str], *, first_day_out: date, reason: str, actor: str, now: datetime
) -> int:
    """Every registration still standing under ``agreement_nos`` ends the day before ``first_day_out`` (or
    the day it began, if later). Returns how many."""
    n = 0
    for reg in store.registrations_under(s, agreement_nos):
        if reg.status == "registered":
            end(
                s,
                reg,
                day=max(reg.registered_on, first_day_out - ONE_DAY),
                reason=reason,
                actor=actor,
                now=now,
            )
            n += 1
    return n


def make(s, *, prac_code: str, fixmedins_code: str, agreement_no: str, qualification: str, day: date,
         actor: str, now: datetime, noted: dict) -> PractitionerRegistration:  # fmt: skip
    """A registration standing under ``agreement_no`` from ``day``, audited (``noted``: more for its row)."""
    reg = PractitionerRegistration(prac_code=prac_code, fixmedins_code=fixmedins_code, agreement_no=agreement_no,
                                   qualification=qualification, registered_on=day, status="registered",
                                   registered_by=actor)  # fmt: skip
    s.add(reg)
    s.flush()
    record(s, Action.REGISTER, PRACTITIONER, str(reg.id), actor=actor, at=now,
           after={"prac_code": prac_code, "fixmedins_code": fixmedins_code, "agreement_no": agreement_no,
                  "registered_on": day, **noted})  # fmt: skip
    return reg


def carry_or_end(s, expired: ProviderAgreement, successor: ProviderAgreement | None, *, actor: str,
                 now: datetime) -> int:  # fmt: skip
    """At an agreement's expiry (到期): each registration standing under it ends on its last day and, when
    the agreement was renewed (``successor`` begins the next day), is made again under the successor from its
    first day — a renewal keeps the institution's 医保医师. Returns how many were carried."""
    why = "协议到期，随续签协议重新备案" if successor else "协议到期"
    carried = 0
    for reg in store.registrations_under(s, [expired.agreement_no]):
        if reg.status != "registered":
            continue
        end(s, reg, day=max(reg.registered_on, expired.enddate or reg.registered_on), reason=why, actor=actor,
            now=now)  # fmt: skip
        if successor is not None:
            make(s, prac_code=reg.prac_code, fixmedins_code=reg.fixmedins_code,
                 agreement_no=successor.agreement_no, qualification=reg.qualification, day=successor.begndate,
                 actor=actor, now=now, noted={"carried_from": reg.id})  # fmt: skip
            carried += 1
    return carried
