"""A scenario person's enrollment history (``person.enrollment``): the periods they held the case's basic
insurance, each with its waiting period (待遇等待期).

The waiting period is computed as enrollment computes it (:func:`yibao.enrollment.rules.waiting_until` with
the contribution policy in force on the later of the start and the registration), and a settlement is let
through or refused as the database path does it (:func:`yibao.enrollment.rules.choose_enrollment`), in the
same words. Without ``enrollment`` the person is enrolled all along and never waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.enrollment import rules
from yibao.errors import InputError
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.scenario_input import StepError, date_of, warn

PERIOD_KEYS = {"from", "to", "registered"}
SHAPE = "a list of periods ({from, to, registered})"


@dataclass(frozen=True)
class Held:
    """One period of the history, in the shape :func:`rules.choose_enrollment` reads (as a stored row)."""

    begndate: date
    enddate: date | None  # None: still enrolled
    registered: date | None  # 办理日期; None: taken over as it stands (only a break makes it wait)
    wait_until: date | None = None
    psn_insu_stas: str = "1"
    paus_insu_date: date | None = None


@dataclass(frozen=True)
class History:
    periods: tuple[Held, ...]
    psn_no: str
    insutype: str

    def check(self, day: date) -> None:
        """Refuse a visit on ``day`` outside every period, or before its period's ``wait_until``."""
        begun = sorted((p for p in self.periods if p.begndate <= day), key=lambda p: p.begndate, reverse=True)
        rules.choose_enrollment(begun, self.psn_no, self.insutype, day)


def enrollment_history(raw: Any, bundle: PolicyBundle, warnings: list[str]) -> History | None:
    """``person.enrollment`` parsed and checked (one-line errors naming the key), each period's wait_until
    computed; None when the person gives no history."""
    items = raw.get("enrollment") if isinstance(raw, dict) else None
    if items is None:
        return None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise StepError(f"person.enrollment: {SHAPE}")
    spans: list[tuple[date, date | None, date | None]] = []
    for k, item in enumerate(items, 1):
        where = f"person.enrollment[{k}]"
        if not isinstance(item, dict):
            raise StepError(f"{where}: a period is a mapping ({{from, to, registered}})")
        warn(warnings, where, set(item) - PERIOD_KEYS)
        if item.get("from") is None:
            raise StepError(f"{where}.from: missing")
        begn = date_of(item["from"], f"{where}.from")
        end = None if item.get("to") is None else date_of(item["to"], f"{where}.to")
        reg = None if item.get("registered") is None else date_of(item["registered"], f"{where}.registered")
        if end is not None and end < begn:
            raise StepError(f"{where}.to: {end} is before from {begn}")
        earlier = [(str(j), rules.Period(b, e)) for j, (b, e, _) in enumerate(spans, 1)]
        clash = rules.overlapping(rules.Period(begn, end), earlier)
        if clash:
            b, e, _ = spans[int(clash) - 1]
            raise StepError(
                f"{where}: overlaps person.enrollment[{clash}] ({b} – {e or '…'}); one basic insurance at a time"
            )
        spans.append((begn, end, reg))
    insutype = str(raw.get("insutype", "")).strip()
    periods = []
    for k, (begn, end, reg) in enumerate(spans, 1):
        try:
            wait = _wait(begn, reg, spans, insutype, bundle)
        except InputError as exc:  # no contribution policy in force on the day it depends on
            key = "registered" if reg is not None and reg > begn else "from"
            raise StepError(f"person.enrollment[{k}].{key}: {exc.message.split(': ', 1)[-1]}") from None
        periods.append(Held(begn, end, reg, wait))
    who = raw.get("psn_no") or raw.get("name") or "(scenario)"
    return History(tuple(periods), str(who), insutype)


def _wait(begn: date, reg: date | None, spans: list, insutype: str, bundle: PolicyBundle) -> date | None:
    """wait_until of the period starting ``begn``, as :func:`yibao.enrollment.service.enroll` sets it: after
    a break since the latest period ended before it, and for a 居民 registered outside the window."""
    ended = [e for _, e, _ in spans if e is not None and e < begn]
    previous_end = max(ended) if ended else None
    if reg is None and previous_end is None:
        return None  # nothing to wait for, and no policy needed (as the bulk load takes a record over)
    policy = rules.contribution_policy(bundle, max(begn, reg or begn))
    return rules.waiting_until(begn, policy, registered=reg, insutype=insutype, previous_end=previous_end)
