"""事后 audit runs and their suspicions (疑点) in the database: a run's row, its suspicions inserted in bulk
(``COPY`` on PostgreSQL) with the fingerprints already stored left out, and the reads the CLI, REST and
console share: runs, one run with its suspicions per rule, the suspicion worklist filtered and paged by the
database, one suspicion. Plain values, money in fen. The suspicion workflow's state changes live elsewhere
(``supervision/service/suspicions.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yibao.store.bulk import in_, insert_rows
from yibao.store.tables import AuditRule, AuditRun, AuditSuspicion, Institution

ENTITY = "audit_run"  # the audit rows' entity
CHUNK = 5_000
SUSPICION_COLUMNS = [
    "fingerprint", "run_id", "rule_code", "rule_name", "rule_version", "result_type", "sev_deg",
    "vola_bhvr_type", "fixmedins_code", "mdtrt_id", "psn_no", "setl_id", "service_date", "vola_amt",
    "vola_cont", "evidence", "lines", "status", "created_at", "deducted_fen",
]  # fmt: skip


def rule_versions(s: Session) -> dict[str, int]:
    """Each stored rule's current version (a suspicion records the version that found it)."""
    return dict(s.execute(select(AuditRule.rule_code, AuditRule.version)).all())


def stored_fingerprints(s: Session, fingerprints: Iterable[str]) -> set[str]:
    """Those of ``fingerprints`` already held by a suspicion (an earlier run found the same thing)."""
    keys = sorted(set(fingerprints))
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        found.update(
            s.scalars(select(AuditSuspicion.fingerprint).where(in_(s, AuditSuspicion.fingerprint, chunk)))
        )
    return found


def add_run(s: Session, **values: Any) -> AuditRun:
    run = AuditRun(**values)
    s.add(run)
    s.flush()
    return run


def add_suspicions(s: Session, rows: list[dict]) -> None:
    """Insert suspicions at driver speed; ``evidence`` and ``lines`` are stored as JSON text."""
    for i in range(0, len(rows), CHUNK):
        chunk = [
            {
                **r,
                "evidence": json.dumps(r["evidence"], ensure_ascii=False, sort_keys=True),
                "lines": json.dumps(r["lines"], ensure_ascii=False),
            }
            for r in rows[i : i + CHUNK]
        ]
        insert_rows(s, AuditSuspicion, chunk, SUSPICION_COLUMNS)


# --- reads --------------------------------------------------------------------------------------------------

RUN_FIELDS = (
    "id", "date_from", "date_to", "rules", "engine", "library_version", "status", "lines", "visits",
    "findings", "new_suspicions", "suppressed", "amount_fen", "seconds", "started_at", "finished_at",
    "started_by", "message",
)  # fmt: skip


def _run_dict(run: AuditRun) -> dict:
    return {f: getattr(run, f) for f in RUN_FIELDS}


def runs(s: Session, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Runs, newest first, and how many there are."""
    rows = s.scalars(select(AuditRun).order_by(AuditRun.id.desc()).limit(limit).offset(offset))
    total = s.scalar(select(func.count()).select_from(AuditRun)) or 0
    return [_run_dict(r) for r in rows], total


def run(s: Session, run_id: int) -> dict | None:
    """One run with its new suspicions per rule (count and amount)."""
    found = s.get(AuditRun, run_id)
    if found is None:
        return None
    per_rule = s.execute(
        select(
            AuditSuspicion.rule_code,
            func.min(AuditSuspicion.rule_name),
            func.count(),
            func.coalesce(func.sum(AuditSuspicion.vola_amt), 0),
        )
        .where(AuditSuspicion.run_id == run_id)
        .group_by(AuditSuspicion.rule_code)
        .order_by(AuditSuspicion.rule_code)
    ).all()
    return {
        **_run_dict(found),
        "rules_found": [
            {"rule_code": code, "rule_name": name, "suspicions": n, "amount_fen": int(amt)}
            for code, name, n, amt in per_rule
        ],
    }


@dataclass(frozen=True)
class SuspicionFilter:
    """The worklist's filters; None: any."""

    rule_code: str | None = None
    fixmedins_code: str | None = None
    status: str | None = None
    run_id: int | None = None
    mdtrt_id: str | None = None
    min_amount_fen: int | None = None
    due_before: date | None = None


HEAVY = ("evidence", "lines")  # what a worklist row leaves out (one suspicion shows them)


def _fields(row: AuditSuspicion, heavy: bool) -> dict:
    """Every column of a suspicion (the workflow adds its own), the evidence and lines only when asked."""
    return {
        c.key: getattr(row, c.key)
        for c in AuditSuspicion.__mapper__.column_attrs
        if heavy or c.key not in HEAVY
    }


def _filtered(f: SuspicionFilter) -> Select:
    q = select(AuditSuspicion)
    if f.rule_code is not None:
        q = q.where(AuditSuspicion.rule_code == f.rule_code)
    if f.fixmedins_code is not None:
        q = q.where(AuditSuspicion.fixmedins_code == f.fixmedins_code)
    if f.status is not None:
        q = q.where(AuditSuspicion.status == f.status)
    if f.run_id is not None:
        q = q.where(AuditSuspicion.run_id == f.run_id)
    if f.mdtrt_id is not None:
        q = q.where(AuditSuspicion.mdtrt_id == f.mdtrt_id)
    if f.min_amount_fen is not None:
        q = q.where(AuditSuspicion.vola_amt >= f.min_amount_fen)
    if f.due_before is not None:
        q = q.where(AuditSuspicion.due_date < f.due_before)
    return q


def suspicions(s: Session, f: SuspicionFilter, limit: int = 50, offset: int = 0) -> list[dict]:
    """The worklist page: the largest amounts first, then the oldest."""
    q = _filtered(f).order_by(AuditSuspicion.vola_amt.desc(), AuditSuspicion.id).limit(limit).offset(offset)
    rows = list(s.scalars(q))
    names = _institution_names(s, {r.fixmedins_code for r in rows if r.fixmedins_code})
    return [{**_fields(r, heavy=False), "fixmedins_name": names.get(r.fixmedins_code)} for r in rows]


def count_suspicions(s: Session, f: SuspicionFilter) -> int:
    return s.scalar(select(func.count()).select_from(_filtered(f).subquery())) or 0


def suspicion(s: Session, suspicion_id: int) -> dict | None:
    r = s.get(AuditSuspicion, suspicion_id)
    if r is None:
        return None
    names = _institution_names(s, {r.fixmedins_code} if r.fixmedins_code else set())
    return {**_fields(r, heavy=True), "fixmedins_name": names.get(r.fixmedins_code)}


def _institution_names(s: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(
        s.execute(
            select(Institution.fixmedins_code, Institution.fixmedins_name).where(
                Institution.fixmedins_code.in_(sorted(codes))
            )
        ).all()
    )
