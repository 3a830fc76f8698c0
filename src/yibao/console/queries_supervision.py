"""Read models of 智能监管 · 规则库 (查询): the rule library as the console lists it — every rule with its class,
kind, severity, stages, inline actions, status, version and knowledge count, filtered, ordered and paged by the
database — and the words for the library's codes (severity, stages, scenes, actions) and for staff, which every
supervision page uses. One rule in words is ``queries_supervision_rule``; runs and suspicions are
``queries_supervision_cases``, warnings ``queries_supervision_warnings``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.store.tables import AuditKnowledge, AuditRule, StaffUser
from yibao.supervision.kinds import KINDS
from yibao.supervision.library import SEV_DEG

STAGE_NAMES = {"pre": "事前", "mid": "事中", "post": "事后"}
SCENE_NAMES = {"upload": "上传明细时", "settle": "结算时"}  # 2204/2301 · 2206/2207/2303/2304
ACTION_NAMES = {"warn": "提醒", "block": "拦截"}
STATUS = {"enabled": "启用", "disabled": "停用"}


def kind_title(kind: str) -> str:
    return KINDS[kind].title if kind in KINDS else kind


def severity(code: str | None) -> str:
    return SEV_DEG.get(str(code or ""), str(code or ""))


def stages_words(stages: str | None) -> str:
    return "、".join(STAGE_NAMES.get(s, s) for s in (stages or "").split(",") if s)


def scene_action(stages: str | None, actions: dict | None, scene: str) -> str:
    """What a rule does at an inline scene: 拦截 / 提醒, or — when it is no 事中 rule (not checked inline)."""
    if "mid" not in (stages or "").split(","):
        return "—"
    return ACTION_NAMES.get((actions or {}).get(scene, "warn"), "提醒")


def actions_words(stages: str | None, actions: dict | None) -> str:
    return "；".join(f"{SCENE_NAMES[s]}{scene_action(stages, actions, s)}" for s in SCENE_NAMES)


# --- the list ---------------------------------------------------------------------------------------------------


@dataclass
class RuleFilter:
    """规则库: by class (一级 / 二级), kind, status (enabled / disabled), and text in the code or name."""

    class_l1: str = ""
    class_l2: str = ""
    kind: str = ""
    status: str = ""
    text: str = ""

    def where(self) -> list:
        c = []
        if self.class_l1:
            c.append(AuditRule.class_l1 == self.class_l1)
        if self.class_l2:
            c.append(AuditRule.class_l2 == self.class_l2)
        if self.kind:
            c.append(AuditRule.kind == self.kind)
        if self.status in STATUS:
            c.append(AuditRule.enabled.is_(self.status == "enabled"))
        t = (self.text or "").strip()
        if t:
            c.append(or_(AuditRule.rule_code.like(f"%{t}%"), AuditRule.name.like(f"%{t}%")))
        return c

    def describe(self) -> str:
        out = [x for x in (self.class_l1, self.class_l2) if x]
        if self.kind:
            out.append(f"规则类型 {kind_title(self.kind)}")
        if self.status in STATUS:
            out.append(STATUS[self.status])
        if (self.text or "").strip():
            out.append(f"查询 “{self.text.strip()}”")
        return "，".join(out) or "全部规则"


RULE_COLUMNS = [
    ("rule_code", "规则编码"),
    ("name", "规则名称"),
    ("class_l1", "一级类别"),
    ("class_l2", "二级类别"),
    ("kind", "规则类型"),
    ("sev_deg", "严重程度"),
    ("result_type", "结果类型"),
    ("stages", "审核阶段"),
    ("upload", "上传明细时"),
    ("settle", "结算时"),
    ("status", "状态"),
    ("version", "版本"),
    ("knowledge", "知识点数"),
    ("effective_from", "生效日期"),
    ("effective_to", "失效日期"),
]
RULE_UNSORTED = ("upload", "settle")
RULE_NUMBERS = ("version", "knowledge")


def _knowledge_count():
    k = AuditKnowledge
    return (
        select(func.count())
        .where(k.rule_code == AuditRule.rule_code, k.version == AuditRule.knowledge_version)
        .correlate(AuditRule)
        .scalar_subquery()
    )


def rule_count(s: Session, f: RuleFilter) -> int:
    return s.scalar(select(func.count()).select_from(AuditRule).where(*f.where())) or 0


def rule_records(
    s: Session, f: RuleFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """The rules, typed (dates as dates, counts as ints), in words; ordered by the database (by code unless
    asked; 规则类型 by its title)."""
    knowledge = _knowledge_count()
    titles = case({k: v.title for k, v in KINDS.items()}, value=AuditRule.kind, else_=AuditRule.kind)
    columns = {
        "rule_code": AuditRule.rule_code,
        "name": AuditRule.name,
        "class_l1": (AuditRule.class_l1, AuditRule.class_l2),
        "class_l2": AuditRule.class_l2,
        "kind": titles,
        "sev_deg": AuditRule.sev_deg,
        "result_type": AuditRule.result_type,
        "stages": AuditRule.stages,
        "status": AuditRule.enabled,
        "version": AuditRule.version,
        "knowledge": knowledge,
        "effective_from": AuditRule.effective_from,
        "effective_to": AuditRule.effective_to,
    }
    q = select(AuditRule, knowledge).where(*f.where())
    q = paged(q, columns, order, "rule_code", AuditRule.rule_code, offset=offset, limit=limit)
    for r, n in s.execute(q):
        yield {
            "rule_code": r.rule_code,
            "name": r.name,
            "class_l1": r.class_l1,
            "class_l2": r.class_l2,
            "kind": kind_title(r.kind),
            "sev_deg": severity(r.sev_deg),
            "result_type": r.result_type,
            "stages": stages_words(r.stages),
            "upload": scene_action(r.stages, r.actions, "upload"),
            "settle": scene_action(r.stages, r.actions, "settle"),
            "status": STATUS["enabled" if r.enabled else "disabled"],
            "version": r.version,
            "knowledge": int(n or 0),
            "effective_from": r.effective_from,
            "effective_to": r.effective_to,
        }


def filter_choices(s: Session) -> dict[str, dict[str, str]]:
    """The filter's options from the stored library: classes (一级, 二级) and the kinds in use."""
    pairs = s.execute(select(AuditRule.class_l1, AuditRule.class_l2, AuditRule.kind).distinct()).all()
    return {
        "class_l1": {c: c for c in sorted({a for a, _, _ in pairs if a})},
        "class_l2": {c: c for c in sorted({b for _, b, _ in pairs if b})},
        "kind": dict(sorted(((k, kind_title(k)) for _, _, k in pairs), key=lambda kv: kv[1])),
    }


def rule_options(s: Session, *, post_only: bool = False) -> dict[str, str]:
    """The rules as a select offers them (``code 名称``); ``post_only``: the enabled ones a 事后 run takes."""
    q = select(AuditRule.rule_code, AuditRule.name).order_by(AuditRule.rule_code)
    if post_only:
        q = q.where(AuditRule.enabled.is_(True), AuditRule.stages.like("%post%"))
    return {c: f"{c} {n}" for c, n in s.execute(q)}


def staff_names(s: Session, usernames: set[str]) -> dict[str, str]:
    rows = s.execute(
        select(StaffUser.username, StaffUser.display_name).where(
            StaffUser.username.in_(sorted(usernames) or [""])
        )
    )
    return dict(rows.all())


def who(people: dict[str, str], username: str | None) -> str:
    """A staff member as pages name them: 张三（zhangsan）; a system actor as itself."""
    if not username:
        return ""
    name = people.get(username)
    return f"{name}（{username}）" if name and name != username else username
