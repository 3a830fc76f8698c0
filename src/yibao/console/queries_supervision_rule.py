"""One rule of 智能监管 · 规则库 in words (查询): its header, its parameters with the kind's Chinese docs, its
exemptions, its knowledge rows with their codes named (catalogue items, ICD codes, dictionary values,
institutions, persons — :class:`Namer`, which the suspicion page uses for its evidence too), its test set and
its versions (who, when, what changed, why)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.console.display import Names, diagnosis_names, item_names, names, percent
from yibao.console.queries_supervision import (
    ACTION_NAMES,
    SCENE_NAMES,
    STATUS,
    actions_words,
    kind_title,
    severity,
    staff_names,
    stages_words,
    who,
)
from yibao.money import fmt_count, fmt_price
from yibao.store.tables import AuditKnowledge, AuditRule, AuditRuleVersion, ClinicalCode, Institution, Person
from yibao.supervision.kinds import KINDS, Field
from yibao.supervision.library import EXEMPT_FIELDS

CHANGE_NAMES = {"import": "导入", "enable": "启用", "disable": "停用", "edit": "修改"}
EXPECT_NAMES = {"hit": "应命中", "miss": "不应命中", "exempt": "应豁免"}
LEVEL_NAMES = {"line": "费用明细", "visit": "就诊", "institution": "定点机构"}
AMOUNT_NAMES = {"lines": "违规明细金额", "excess": "超出限定部分的金额", "none": "不计金额"}
# what a page calls a knowledge column whatever its doc says (a code column shows the item's name beside it)
FIELD_NAMES = {"code": "药品 / 项目 / 耗材", "bundle": "打包项目"}
# fields whose kind gives no Chinese label (no doc, or only a list of values): the label a page shows
FIELD_LABELS = {
    "dise_prefix": "诊断编码（前缀）",
    "oprn_prefix": "手术操作编码（前缀）",
    "mode": "年龄限定方式",
    "scope": "判断范围",
    "same_institution": "限同一定点机构",
    "period": "统计周期",
    "max_drugs": "同日最多药品种数",
    "min_visits": "参与比较的最少就诊人次",
    "max_los": "最长住院天数",
}
GRADES = {"1": "一级", "2": "二级", "3": "三级"}  # a knowledge row's institution level
VALUE_WORDS = {"yes": "是", "no": "否", "month": "每月", "year": "每年", "day": "每日", "visit": "每次就诊"}
HEADER_LABELS = {
    "name": "规则名称",
    "kind": "规则类型",
    "class_l1": "一级类别",
    "class_l2": "二级类别",
    "result_type": "结果类型",
    "sev_deg": "严重程度",
    "stages": "审核阶段",
    "actions": "拦截 / 提醒",
    "params": "参数",
    "exemptions": "豁免",
    "tests": "测试集",
    "effective_from": "生效日期",
    "effective_to": "失效日期",
    "legal_basis": "政策依据",
    "message": "违规内容模板",
    "amount": "违规金额算法",
    "note": "说明",
    "enabled": "状态",
}
_CATALOGUE_CODES = {"code", "with_code", "bundle"}
_ASCII_NOTE = re.compile(r"\s*\([\x20-\x7e]*\)")  # "(med_list_codg)": a doc's internal name, not shown
_INTERNAL = re.compile(r"\s*\([a-z]+(?:_[a-z]+)+\)")  # "(dedc_hosp_lv)" in a rule's note


# --- one rule in words ------------------------------------------------------------------------------------------


def field_label(f: Field) -> str:
    """A knowledge column's or parameter's Chinese label, from its doc: the words before a list of values,
    without the internal name in brackets (``医保目录编码 (med_list_codg)``)."""
    if f.name in FIELD_NAMES:
        return FIELD_NAMES[f.name]
    doc = _ASCII_NOTE.sub("", f.doc or "").strip()
    # a bracket listing values ("(前缀: 2 = 各类住院)") goes; another stays, in full-width brackets
    doc = re.sub(r"\s*\(([^)]*)\)", lambda m: "" if ":" in m.group(1) else f"（{m.group(1)}）", doc)
    if ":" in doc:
        doc = doc.split(":")[0].strip()
    elif value_words(f):
        doc = ""  # (the doc is only the list of values)
    return doc if doc and not doc.isascii() else FIELD_LABELS.get(f.name, f.name)


def value_words(f: Field) -> dict[str, str]:
    """``限定性别: 1 男 / 2 女`` → {"1": "男", "2": "女"}: the words a field's doc gives its values."""
    doc = f.doc or ""
    if "(" in doc and doc.find("(") < doc.find(":"):
        return {}  # (a colon inside a bracket is an example, not the list of values)
    doc = doc.split(":", 1)[1] if ":" in doc else doc
    out = {}
    for part in doc.split(" / "):
        token, _, words = part.strip().partition(" ")
        if token and words and token.isascii() and not words.isascii():
            out[token] = words.strip()
    return out


class Namer:
    """Names for the codes a rule's knowledge rows and exemptions hold: catalogue items, ICD codes, dictionary
    values, institutions and persons — read once for all the rows shown."""

    def __init__(self, s: Session, rows: list[dict], fields: list[Field], exemptions: list[dict]):
        self.n: Names = names(s)
        codes = {
            str(r.get(f.name)) for r in rows for f in fields if f.name in _CATALOGUE_CODES and r.get(f.name)
        }
        self.items = item_names(s, codes)
        dx = {str(r["dise_prefix"]) for r in rows if r.get("dise_prefix")}
        dx |= {x["value"] for x in exemptions if x.get("field") in ("dise_codg", "diagnosis")}
        self.dx = diagnosis_names(s, dx)
        self.dx_like = _first_under(s, "icd10", dx - set(self.dx))
        ops = {str(r["oprn_prefix"]) for r in rows if r.get("oprn_prefix")}
        self.ops = dict(
            s.execute(
                select(ClinicalCode.code, ClinicalCode.name).where(
                    ClinicalCode.system == "icd9cm3", ClinicalCode.code.in_(sorted(ops) or [""])
                )
            ).all()
        )
        self.ops_like = _first_under(s, "icd9cm3", ops - set(self.ops))
        wanted = {x["value"] for x in exemptions}
        self.insts = dict(
            s.execute(
                select(Institution.fixmedins_code, Institution.fixmedins_name).where(
                    Institution.fixmedins_code.in_(sorted(wanted) or [""])
                )
            ).all()
        )
        self.persons = dict(
            s.execute(
                select(Person.psn_no, Person.psn_name).where(Person.psn_no.in_(sorted(wanted) or [""]))
            ).all()
        )

    def value(self, f: Field, v: Any) -> str:
        """A stored value in words: codes with their names, quantities and ratios as people write them."""
        if v is None or v == "":
            return "—"
        text = str(v)
        if f.name in _CATALOGUE_CODES:
            return _named(self.items.get(text), text)
        if f.name == "dise_prefix":
            return _named(self.dx.get(text), text, prefix=True, like=self.dx_like.get(text))
        if f.name == "oprn_prefix":
            return _named(self.ops.get(text), text, prefix=True, like=self.ops_like.get(text))
        if f.name in ("insutype", "med_type"):
            known = self.n.values.get(f.name, {})
            like = next((known[c] for c in sorted(known) if c.startswith(text)), None)
            return _named(known.get(text), text, prefix=f.type == "prefix", like=like)
        if f.name == "chrgitm_type":
            return _named(self.n.values.get("med_chrgitm_type", {}).get(text), text)
        words = value_words(f)
        if text in words:
            return words[text]
        if text in VALUE_WORDS:
            return VALUE_WORDS[text]
        if f.type == "count":
            return fmt_count(int(v))
        if f.type == "price" and text.lstrip("-").isdigit():  # (micro-yuan)
            return f"{fmt_price(int(v)).rstrip('0').rstrip('.')} 元"
        if f.name == "inst_grade" and text in GRADES:
            return GRADES[text]
        if f.type == "ratio":
            return percent(int(v), basis_points=True)
        if f.type == "fraction":
            return percent(Decimal(text))
        if f.type == "prefix":
            return f"{text} 开头"
        return text

    def exempted(self, field: str, value: str) -> str:
        if field == "fixmedins_code":
            return _named(self.insts.get(value), value)
        if field == "psn_no":
            return _named(self.persons.get(value), value)
        if field in ("dise_codg", "diagnosis"):
            return _named(self.dx.get(value), value, prefix=True, like=self.dx_like.get(value))
        if field == "med_type":
            known = self.n.values.get("med_type", {})
            like = next((known[c] for c in sorted(known) if c.startswith(value)), None)
            return _named(known.get(value), value, prefix=True, like=like)
        return f"{value} 开头" if field == "dept_code" else value


def _named(name: str | None, code: str, *, prefix: bool = False, like: str | None = None) -> str:
    """``乙类药（B1）``; a prefix without a code of its own as ``C53 开头（子宫颈恶性肿瘤 等）``."""
    if name:
        return f"{name}（{code}）"
    if not prefix:
        return code
    return f"{code} 开头（{like} 等）" if like else f"{code} 开头"


def _first_under(s: Session, system: str, prefixes: set[str], most: int = 500) -> dict[str, str]:
    """For each prefix (that is no code itself), the name of the first code it covers: what it is about."""
    out = {}
    for p in sorted(prefixes)[:most]:
        found = s.execute(
            select(ClinicalCode.name)
            .where(ClinicalCode.system == system, ClinicalCode.code.like(f"{p}%"))
            .order_by(func.length(ClinicalCode.code), ClinicalCode.code)
            .limit(1)
        ).scalar()
        if found:
            out[p] = found
    return out


def rule_detail(s: Session, code: str) -> dict | None:
    """One rule in words, or None: header facts, parameters, exemptions, knowledge rows, test set, versions."""
    r = s.get(AuditRule, code)
    if r is None:
        return None
    spec = KINDS.get(r.kind)
    knowledge = list(
        s.scalars(
            select(AuditKnowledge)
            .where(AuditKnowledge.rule_code == code, AuditKnowledge.version == r.knowledge_version)
            .order_by(AuditKnowledge.seq)
        )
    )
    fields = list(spec.fields) if spec else []
    shown_fields = [
        f for f in fields if f in (spec.columns if spec else ()) or any(f.name in k.values for k in knowledge)
    ]
    namer = Namer(s, [k.values for k in knowledge], fields, list(r.exemptions or []))
    versions = list(
        s.scalars(
            select(AuditRuleVersion)
            .where(AuditRuleVersion.rule_code == code)
            .order_by(AuditRuleVersion.version)
        )
    )
    people = staff_names(s, {v.changed_by for v in versions} | {r.updated_by})
    return {
        "rule_code": r.rule_code,
        "name": r.name,
        "enabled": r.enabled,
        "result_type": r.result_type,
        "sev_deg": r.sev_deg,
        "stages": r.stages,
        "actions": dict(r.actions or {}),
        "effective_from": r.effective_from,
        "effective_to": r.effective_to,
        "version": r.version,
        "facts": _facts(r, people),
        "params": [
            {
                "label": field_label(f),
                "value": namer.value(f, (r.params or {}).get(f.name)),
                "doc": "" if _doc(f) == field_label(f) else _doc(f),
            }
            for f in (spec.params if spec else ())
        ],
        "exemptions": [
            {
                "field": EXEMPT_FIELDS.get(x.get("field"), x.get("field"))
                .replace(" (", "（")
                .replace(")", "）"),
                "value": namer.exempted(x.get("field"), str(x.get("value"))),
                "reason": x.get("reason") or "",
                "from": x.get("from") or "",
                "to": x.get("to") or "",
            }
            for x in r.exemptions or []
        ],
        "knowledge_columns": [(f"k_{f.name}", field_label(f)) for f in shown_fields]
        + [("k_from", "起始日期"), ("k_to", "终止日期"), ("k_batch", "来源批次")],
        "knowledge": [
            {
                **{f"k_{f.name}": namer.value(f, k.values.get(f.name)) for f in shown_fields},
                "k_from": k.begndate.isoformat() if k.begndate else "—",
                "k_to": k.enddate.isoformat() if k.enddate else "—",
                "k_batch": k.source_batch or "—",
                "k_seq": k.seq,
            }
            for k in knowledge
        ],
        "tests": [_test_case(i, t) for i, t in enumerate(r.tests or [])],
        "versions": [
            _version(v, prev, people) for v, prev in zip(versions, [None, *versions[:-1]], strict=True)
        ],
    }


def _doc(f: Field) -> str:
    """The kind's doc of a field in Chinese: its internal name left out, a list of values in words only."""
    words = value_words(f)
    if words:
        return f"{field_label(f)}：{' / '.join(words.values())}"
    return re.sub(r"\s*\(([^)]*)\)", lambda m: f"（{m.group(1)}）", _ASCII_NOTE.sub("", f.doc or "")).strip()


def _facts(r: AuditRule, people: dict[str, str]) -> list[tuple[str, str]]:
    spec = KINDS.get(r.kind)
    level = LEVEL_NAMES.get(spec.level, spec.level) if spec else ""
    return [
        ("规则编码", r.rule_code),
        ("规则名称", r.name),
        ("类别", " › ".join(x for x in (r.class_l1, r.class_l2) if x) or "—"),
        ("规则类型", kind_title(r.kind) + (f"（按{level}判断）" if level else "")),
        ("结果类型", r.result_type),
        ("严重程度", severity(r.sev_deg)),
        ("审核阶段", stages_words(r.stages)),
        ("拦截 / 提醒", actions_words(r.stages, r.actions)),
        ("违规金额", AMOUNT_NAMES.get(r.amount or (spec.amount if spec else ""), "—")),
        ("状态", STATUS["enabled" if r.enabled else "disabled"]),
        ("生效期间", f"{r.effective_from} 至 {r.effective_to or '长期'}"),
        ("政策依据", r.legal_basis or "—"),
        ("违规内容模板", template_words(r.message or (spec.message if spec else ""), spec) or "—"),
        ("说明", _INTERNAL.sub("", r.note or "") or "—"),
        (
            "版本",
            f"第 {r.version} 版（知识点第 {r.knowledge_version} 版），{r.updated_at:%Y-%m-%d %H:%M} {who(people, r.updated_by)}",
        ),
    ]


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PLACEHOLDER_WORDS = {"code": "项目编码", "observed": "实际值", "lim": "限定值", "name": "规则名称"}


def template_words(template: str, spec) -> str:
    """A 违规内容 template with its placeholders in words: ``{code} 限{lim}性`` → ``「项目编码」 限「限定值」性``."""
    labels = {f.name: field_label(f) for f in (spec.fields if spec else ())}

    def word(m: re.Match) -> str:
        key = m.group(1)
        return f"「{_PLACEHOLDER_WORDS.get(key) or labels.get(key) or key}」"

    return _PLACEHOLDER.sub(word, template or "")


def _test_case(i: int, t: dict) -> dict:
    visits = t.get("visits") or []
    lines = sum(len(v.get("lines") or []) for v in visits if isinstance(v, dict))
    return {
        "seq": i + 1,
        "name": str(t.get("name") or f"第 {i + 1} 例"),
        "expect": EXPECT_NAMES.get(t.get("expect"), str(t.get("expect"))),
        "visits": len(visits),
        "lines": lines,
    }


def _version(v: AuditRuleVersion, prev: AuditRuleVersion | None, people: dict[str, str]) -> dict:
    return {
        "version": v.version,
        "at": v.changed_at,
        "by": who(people, v.changed_by),
        "change": CHANGE_NAMES.get(v.change, v.change),
        "what": changes(
            prev.header if prev else None,
            v.header,
            prev.knowledge_version if prev else None,
            v.knowledge_version,
        ),
        "reason": v.reason or "—",
    }


def changes(before: dict | None, after: dict, k_before: int | None, k_after: int) -> str:
    """What a version changed, in words (``严重程度：明确违规 → 高度可疑``); the first version: 首次导入."""
    if before is None:
        return f"首次导入（知识点第 {k_after} 版）"
    out = []
    for key, label in HEADER_LABELS.items():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in ("sev_deg", "enabled", "kind", "actions", "stages", "effective_to", "effective_from"):
            out.append(f"{label}：{_header_words(key, old, after)} → {_header_words(key, new, after)}")
        else:
            out.append(f"{label}已更新")
    if k_before is not None and k_before != k_after:
        out.append(f"知识点：第 {k_before} 版 → 第 {k_after} 版")
    return "；".join(out) or "无变化"


def _header_words(key: str, value: Any, header: dict) -> str:
    if key == "sev_deg":
        return severity(value)
    if key == "enabled":
        return STATUS["enabled" if value else "disabled"]
    if key == "kind":
        return kind_title(value)
    if key == "stages":
        return stages_words(value)
    if key == "actions":
        return (
            "、".join(
                f"{SCENE_NAMES.get(k, k)}{ACTION_NAMES.get(a, a)}" for k, a in sorted((value or {}).items())
            )
            or "均为提醒"
        )
    return str(value) if value else "长期" if key == "effective_to" else "—"
