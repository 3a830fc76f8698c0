"""The rule library in the database: import from files as new versions, read back as a
:class:`~yibao.supervision.library.Library`, enable, disable or edit a rule, each change a
:class:`AuditRuleVersion` row and an audit-log row (supervision.md §2.3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound, quote
from yibao.store import audit
from yibao.store.tables import AuditKnowledge, AuditRule, AuditRuleVersion
from yibao.supervision.library import ACTIONS, SCENES, SEV_DEG, Exemption, KnowledgeRow, Library, Rule

ENTITY = "audit_rule"


def plain(value: Any) -> Any:
    """JSON-safe: dates as ISO text, decimals as text, recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _header(rule: Rule) -> dict:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "class_l1": rule.class_l1,
        "class_l2": rule.class_l2,
        "result_type": rule.result_type,
        "sev_deg": rule.sev_deg,
        "stages": ",".join(rule.stages),
        "actions": plain(rule.actions),
        "params": plain(rule.params),
        "exemptions": [
            plain({"field": x.field, "value": x.value, "reason": x.reason, "from": x.begin, "to": x.end})
            for x in rule.exemptions
        ],
        "tests": plain(list(rule.tests)),
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
        "legal_basis": rule.legal_basis,
        "message": rule.message,
        "amount": rule.amount,
        "note": rule.note,
    }


def _knowledge(rule: Rule) -> list[dict]:
    return [
        plain(
            {
                "values": r.values,
                "from": r.begin,
                "to": r.end,
                "row_key": r.row_key,
                "supersedes": r.supersedes,
                "source_batch": r.source_batch,
                "origin": r.where,
            }
        )
        for r in rule.knowledge
    ]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _sans_origin(rows: list[dict]) -> list[dict]:
    """Knowledge rows as compared between imports: where a file lay (an upload's temporary folder, a path
    given one way or another) is no change of the knowledge."""
    return [{k: v for k, v in r.items() if k != "origin"} for r in rows]


def _columns(header: dict) -> dict:
    out = dict(header)
    out["effective_from"] = date.fromisoformat(header["effective_from"])
    out["effective_to"] = date.fromisoformat(header["effective_to"]) if header["effective_to"] else None
    return out


def _version_row(row: AuditRule, change: str, reason: str, actor: str, at: datetime) -> AuditRuleVersion:
    return AuditRuleVersion(
        rule_code=row.rule_code,
        version=row.version,
        knowledge_version=row.knowledge_version,
        header={**_stored_header(row), "enabled": row.enabled},
        change=change,
        reason=reason,
        changed_at=at,
        changed_by=actor,
    )


def _stored_header(row: AuditRule) -> dict:
    return {
        "name": row.name,
        "kind": row.kind,
        "class_l1": row.class_l1,
        "class_l2": row.class_l2,
        "result_type": row.result_type,
        "sev_deg": row.sev_deg,
        "stages": row.stages,
        "actions": row.actions,
        "params": row.params,
        "exemptions": row.exemptions,
        "tests": row.tests,
        "effective_from": row.effective_from.isoformat(),
        "effective_to": row.effective_to.isoformat() if row.effective_to else None,
        "legal_basis": row.legal_basis,
        "message": row.message,
        "amount": row.amount,
        "note": row.note,
    }


def _stored_knowledge(session: Session, row: AuditRule) -> list[dict]:
    rows = session.scalars(
        select(AuditKnowledge)
        .where(AuditKnowledge.rule_code == row.rule_code, AuditKnowledge.version == row.knowledge_version)
        .order_by(AuditKnowledge.seq)
    )
    return [
        {
            "values": k.values,
            "from": k.begndate.isoformat() if k.begndate else None,
            "to": k.enddate.isoformat() if k.enddate else None,
            "row_key": k.row_key,
            "supersedes": k.supersedes,
            "source_batch": k.source_batch,
            "origin": k.origin,
        }
        for k in rows
    ]


def _add_knowledge(session: Session, code: str, version: int, rows: list[dict]) -> None:
    session.add_all(
        AuditKnowledge(
            rule_code=code,
            version=version,
            seq=i,
            values=r["values"],
            begndate=date.fromisoformat(r["from"]) if r["from"] else None,
            enddate=date.fromisoformat(r["to"]) if r["to"] else None,
            row_key=r["row_key"],
            supersedes=r["supersedes"],
            source_batch=r["source_batch"],
            origin=(r["origin"] or "")[:200],
        )
        for i, r in enumerate(rows)
    )


@dataclass(frozen=True)
class ImportResult:
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def import_library(session: Session, library: Library, actor: str, reason: str = "") -> ImportResult:
    """Store every rule of ``library``: a new rule at version 1, a changed header as the next version, changed
    knowledge rows as the next knowledge version (the old rows stay, for history). ``enabled`` of a rule
    already stored is kept: a file re-imported does not undo a reviewer's switch."""
    now = datetime.now()
    added, changed, unchanged = [], [], []
    existing = {r.rule_code: r for r in session.scalars(select(AuditRule))}
    for rule in sorted(library.rules.values(), key=lambda r: r.rule_code):
        header, knowledge = _header(rule), _knowledge(rule)
        row = existing.get(rule.rule_code)
        if row is None:
            row = AuditRule(
                rule_code=rule.rule_code, **_columns(header), enabled=rule.enabled, version=1,
                knowledge_version=1, source=rule.source[:200], updated_at=now, updated_by=actor,
            )  # fmt: skip
            session.add(row)
            session.flush()
            _add_knowledge(session, rule.rule_code, 1, knowledge)
            session.add(_version_row(row, "import", reason, actor, now))
            audit.record(session, actor=actor, action=Action.IMPORT, entity=ENTITY, entity_id=rule.rule_code,
                         after={"version": 1, "knowledge_rows": len(knowledge)})  # fmt: skip
            added.append(rule.rule_code)
            continue
        header_changed = _digest(_stored_header(row)) != _digest(header)
        was = _sans_origin(_stored_knowledge(session, row))
        knowledge_changed = _digest(was) != _digest(_sans_origin(knowledge))
        if not header_changed and not knowledge_changed:
            unchanged.append(rule.rule_code)
            continue
        before = {"version": row.version, "knowledge_version": row.knowledge_version}
        if header_changed:
            for key, value in _columns(header).items():
                setattr(row, key, value)
        if knowledge_changed:
            row.knowledge_version += 1
            _add_knowledge(session, rule.rule_code, row.knowledge_version, knowledge)
        row.version += 1
        row.source, row.updated_at, row.updated_by = rule.source[:200], now, actor
        session.add(_version_row(row, "import", reason, actor, now))
        audit.record(session, actor=actor, action=Action.IMPORT_UPDATE, entity=ENTITY, entity_id=rule.rule_code,
                     before=before, after={"version": row.version, "knowledge_version": row.knowledge_version,
                                           "knowledge_rows": len(knowledge)})  # fmt: skip
        changed.append(rule.rule_code)
    session.flush()
    return ImportResult(added, changed, unchanged)


def _rule(row: AuditRule, knowledge: list[AuditKnowledge]) -> Rule:
    return Rule(
        rule_code=row.rule_code,
        name=row.name,
        kind=row.kind,
        class_l1=row.class_l1,
        class_l2=row.class_l2,
        result_type=row.result_type,
        sev_deg=row.sev_deg,
        stages=tuple(s for s in row.stages.split(",") if s),
        actions=dict(row.actions or {}),
        params=dict(row.params or {}),
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        legal_basis=row.legal_basis,
        message=row.message,
        amount=row.amount,
        enabled=row.enabled,
        knowledge=tuple(
            KnowledgeRow(k.values, k.begndate, k.enddate, k.row_key, k.supersedes, k.source_batch, k.origin)
            for k in knowledge
        ),
        exemptions=tuple(
            Exemption(
                x["field"],
                x["value"],
                x["reason"],
                date.fromisoformat(x["from"]) if x.get("from") else None,
                date.fromisoformat(x["to"]) if x.get("to") else None,
            )
            for x in row.exemptions or []
        ),
        tests=tuple(row.tests or []),
        source=row.source,
        note=row.note,
    )


def fingerprint(session: Session) -> str:
    """Changes whenever a rule is imported, switched or edited: the library's version."""
    n, total, latest = session.execute(
        select(func.count(), func.coalesce(func.sum(AuditRule.version), 0), func.max(AuditRule.updated_at))
    ).one()
    return f"{n}.{total}.{latest.isoformat() if latest else '-'}"


def load_library(session: Session) -> Library:
    """The stored library, every rule with its current knowledge rows."""
    rows = list(session.scalars(select(AuditRule).order_by(AuditRule.rule_code)))
    knowledge: dict[str, list[AuditKnowledge]] = {r.rule_code: [] for r in rows}
    current = {r.rule_code: r.knowledge_version for r in rows}
    for k in session.scalars(select(AuditKnowledge).order_by(AuditKnowledge.rule_code, AuditKnowledge.seq)):
        if current.get(k.rule_code) == k.version:
            knowledge[k.rule_code].append(k)
    return Library({r.rule_code: _rule(r, knowledge[r.rule_code]) for r in rows}, fingerprint(session))


def _stored(session: Session, code: str) -> AuditRule:
    row = session.get(AuditRule, code, with_for_update=True)
    if row is None:
        raise NotFound(f"rule_code: 规则不存在 {quote(code)}")
    return row


def set_enabled(session: Session, code: str, enabled: bool, actor: str, reason: str) -> AuditRule:
    """启用 / 停用 a rule (a reason is required): a new version and an audit row."""
    if not reason.strip():
        raise InputError("reason: 启用或停用规则须说明原因")
    row = _stored(session, code)
    if row.enabled == enabled:
        return row
    row.enabled, row.version = enabled, row.version + 1
    row.updated_at, row.updated_by = datetime.now(), actor
    session.add(_version_row(row, "enable" if enabled else "disable", reason, actor, row.updated_at))
    audit.record(session, actor=actor, action=Action.ENABLE if enabled else Action.DISABLE, entity=ENTITY,
                 entity_id=code, before={"enabled": not enabled}, after={"enabled": enabled, "reason": reason})  # fmt: skip
    return row


EDITABLE = ("sev_deg", "actions", "effective_to")


def edit_rule(session: Session, code: str, changes: dict[str, Any], actor: str, reason: str) -> AuditRule:
    """Change what a reviewer may change without a new file: the severity, the inline actions, the end date.
    Everything else (logic, knowledge, parameters) comes in by import, with its test set."""
    if not reason.strip():
        raise InputError("reason: 修改规则须说明原因")
    row = _stored(session, code)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InputError(f"{sorted(unknown)[0]}: 只能修改 {' / '.join(EDITABLE)}，其余请导入新版本规则文件")
    before = {k: plain(getattr(row, k)) for k in changes}
    if "sev_deg" in changes:
        if str(changes["sev_deg"]) not in SEV_DEG:
            raise InputError("sev_deg: 须为 1 / 2 / 3")
        if row.result_type == "可疑" and str(changes["sev_deg"]) == "1":
            raise InputError("sev_deg: 可疑类规则不能为 1 明确违规")
        row.sev_deg = str(changes["sev_deg"])
    if "actions" in changes:
        actions = changes["actions"] or {}
        if not isinstance(actions, dict) or any(
            s not in SCENES or a not in ACTIONS for s, a in actions.items()
        ):
            raise InputError("actions: 场景须为 upload / settle，动作须为 warn / block")
        if row.result_type == "可疑" and "block" in actions.values():
            raise InputError("actions: 可疑类规则只能提醒 (warn)，不能拦截")
        row.actions = dict(actions)
    if "effective_to" in changes:
        value = changes["effective_to"]
        try:
            end = date.fromisoformat(str(value)) if value else None
        except ValueError:
            raise InputError(f"effective_to: 须为日期 YYYY-MM-DD，实为 {quote(value)}") from None
        if end and end < row.effective_from:
            raise InputError(f"effective_to: {end} 早于生效日期 {row.effective_from}")
        row.effective_to = end
    row.version += 1
    row.updated_at, row.updated_by = datetime.now(), actor
    session.add(_version_row(row, "edit", reason, actor, row.updated_at))
    after = {k: plain(getattr(row, k)) for k in changes}
    audit.record(session, actor=actor, action=Action.CHANGE, entity=ENTITY, entity_id=code, before=before,
                 after={**after, "reason": reason})  # fmt: skip
    return row


def versions(session: Session, code: str) -> list[AuditRuleVersion]:
    return list(
        session.scalars(
            select(AuditRuleVersion)
            .where(AuditRuleVersion.rule_code == code)
            .order_by(AuditRuleVersion.version)
        )
    )
