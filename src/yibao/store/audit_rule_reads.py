"""Reads of the stored rule library (规则库) for the CLI, REST and console: the rules with their knowledge-row
counts, filtered; one rule with its header, knowledge rows (a page of them) and version history. Plain
values; nothing here writes (changes go through :mod:`yibao.store.audit_rules`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.store.tables import AuditKnowledge, AuditRule, AuditRuleVersion

RULE_FIELDS = (
    "rule_code", "name", "kind", "class_l1", "class_l2", "result_type", "sev_deg", "stages", "actions",
    "params", "exemptions", "effective_from", "effective_to", "legal_basis", "message", "amount", "note",
    "enabled", "version", "knowledge_version", "source", "updated_at", "updated_by",
)  # fmt: skip
LIST_FIELDS = tuple(f for f in RULE_FIELDS if f not in ("exemptions", "legal_basis", "message", "note"))


@dataclass(frozen=True)
class RuleFilter:
    kind: str | None = None
    rule_class: str | None = None  # class_l1 or class_l2
    enabled: bool | None = None
    stage: str | None = None  # pre | mid | post


def _counts(s: Session, codes: list[str] | None = None) -> dict[str, int]:
    """Knowledge rows of each rule's current knowledge version."""
    q = (
        select(AuditKnowledge.rule_code, func.count())
        .join(
            AuditRule,
            and_(
                AuditRule.rule_code == AuditKnowledge.rule_code,
                AuditRule.knowledge_version == AuditKnowledge.version,
            ),
        )
        .group_by(AuditKnowledge.rule_code)
    )
    if codes is not None:
        q = q.where(AuditKnowledge.rule_code.in_(codes))
    return dict(s.execute(q).all())


def rules(s: Session, f: RuleFilter = RuleFilter()) -> list[dict]:
    """The rules in code order, each with ``knowledge_rows``."""
    q = select(AuditRule).order_by(AuditRule.rule_code)
    if f.kind is not None:
        q = q.where(AuditRule.kind == f.kind)
    if f.rule_class is not None:
        q = q.where(or_(AuditRule.class_l1 == f.rule_class, AuditRule.class_l2 == f.rule_class))
    if f.enabled is not None:
        q = q.where(AuditRule.enabled == f.enabled)
    rows = [r for r in s.scalars(q) if f.stage is None or f.stage in r.stages.split(",")]
    counts = _counts(s)
    return [
        {**{k: getattr(r, k) for k in LIST_FIELDS}, "knowledge_rows": counts.get(r.rule_code, 0)}
        for r in rows
    ]


def rule(s: Session, code: str, rows: int = 50, offset: int = 0) -> dict | None:
    """One rule: its header, ``rows`` of its current knowledge rows from ``offset``, their count, and every
    version (oldest first)."""
    r = s.get(AuditRule, code)
    if r is None:
        return None
    knowledge = s.scalars(
        select(AuditKnowledge)
        .where(AuditKnowledge.rule_code == code, AuditKnowledge.version == r.knowledge_version)
        .order_by(AuditKnowledge.seq)
        .limit(rows)
        .offset(offset)
    )
    versions = s.scalars(
        select(AuditRuleVersion).where(AuditRuleVersion.rule_code == code).order_by(AuditRuleVersion.version)
    )
    return {
        **{k: getattr(r, k) for k in RULE_FIELDS},
        "tests": len(r.tests or []),
        "knowledge_rows": _counts(s, [code]).get(code, 0),
        "knowledge": [
            {
                "seq": k.seq,
                "values": k.values,
                "from": k.begndate,
                "to": k.enddate,
                "row_key": k.row_key,
                "supersedes": k.supersedes,
                "source_batch": k.source_batch,
                "origin": k.origin,
            }
            for k in knowledge
        ],
        "versions": [
            {
                "version": v.version,
                "knowledge_version": v.knowledge_version,
                "change": v.change,
                "reason": v.reason,
                "changed_at": v.changed_at,
                "changed_by": v.changed_by,
            }
            for v in versions
        ],
    }
