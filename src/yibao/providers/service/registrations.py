"""Ending a 医保医师备案: by staff (:func:`yibao.providers.service.staff.end_registration`) or with the
agreement it was made under when the institution leaves (:func:`yibao.providers.service.status.terminate`)."""

from __future__ import annotations

from datetime import date, datetime

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.service.common import ONE_DAY, PRACTITIONER, record, text
from yibao.store import providers as store
from yibao.store.tables import PractitionerRegistration


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
