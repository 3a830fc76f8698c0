"""The rule library (规则库 + 知识库) as data: rules, their knowledge rows (知识点) and exemptions, validated
and flattened into the ``k_<kind>`` tables the engines join (supervision.md §2.3, §3.5).

A rule holds its published code verbatim (``GZ…`` / ``ZB…``, or a local-family code) and is never read by
slicing it. Dates are inclusive; a knowledge row superseding another (``supersedes``: the other row's
``row_key``) ends it the day before it starts, so a claim is judged by the rows in force on its service day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from yibao.errors import InputError, quote
from yibao.money import parse_count, parse_price, parse_ratio
from yibao.supervision.frame import day_number
from yibao.supervision.kinds import KINDS, Field, Kind

RESULT_TYPES = {"违规": "1", "可疑": "2"}  # result type → the default sev_deg (可疑 may be 2 or 3)
SEV_DEG = {"1": "明确违规", "2": "高度可疑", "3": "轻度可疑"}
STAGES = ("pre", "mid", "post")  # 事前 3101 / 事中 3102 and inline / 事后 batch
SCENES = ("upload", "settle")  # inline checks: 2204/2301 fee upload, 2206/2207/2303/2304 settlement
ACTIONS = ("warn", "block")
EXEMPT_FIELDS = {  # what an exemption matches, on the visit
    "fixmedins_code": "定点机构",
    "psn_no": "人员",
    "med_type": "医疗类别 (前缀)",
    "dept_code": "科室 (前缀)",
    "dise_codg": "主诊断 (前缀)",
    "diagnosis": "任一诊断 (前缀)",
}
OPEN_END = date(9999, 12, 31)
RULE_CODE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
HEADER_KEYS = {
    "rule_code", "name", "kind", "class_l1", "class_l2", "result_type", "sev_deg", "stages", "actions", "params",
    "effective_from", "effective_to", "legal_basis", "message", "amount", "enabled", "knowledge", "exemptions",
    "tests", "vola_bhvr_type", "scenarios", "note",
}  # fmt: skip
ROW_META = ("from", "to", "source_batch", "row_key", "supersedes", "published_at")


class LibraryError(InputError):
    """A rule file that does not validate: every problem, one per line, each naming file, rule and key."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class KnowledgeRow:
    """知识点: one row of a rule's knowledge table, typed per its kind; ``where`` says file and row."""

    values: dict[str, Any]
    begin: date | None = None
    end: date | None = None
    row_key: str | None = None
    supersedes: str | None = None
    source_batch: str | None = None
    where: str = ""


@dataclass(frozen=True)
class Exemption:
    field: str
    value: str
    reason: str
    begin: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Rule:
    rule_code: str
    name: str
    kind: str
    class_l1: str
    class_l2: str
    result_type: str  # 违规 | 可疑
    sev_deg: str  # 1 明确违规 / 2 高度可疑 / 3 轻度可疑
    stages: tuple[str, ...]
    actions: dict[str, str]  # inline scene → warn | block
    params: dict[str, Any]
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""
    message: str | None = None
    amount: str | None = None
    enabled: bool = True
    knowledge: tuple[KnowledgeRow, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    tests: tuple[dict, ...] = ()
    source: str = ""
    note: str = ""

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]

    @property
    def vola_bhvr_type(self) -> str:
        """1 就诊类 (the visit) / 2 项目类 (its lines)."""
        return "2" if self.spec.level == "line" else "1"

    def action(self, scene: str) -> str:
        return self.actions.get(scene, "warn")

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day <= (self.effective_to or OPEN_END)


@dataclass
class Library:
    """The rules of a region, keyed by code; ``tables`` and ``exemption_rows`` feed the engines."""

    rules: dict[str, Rule] = field(default_factory=dict)
    version: str = ""

    def active(self, stage: str | None = None, codes: set[str] | None = None) -> list[Rule]:
        return [
            r
            for r in self.rules.values()
            if r.enabled and (stage is None or stage in r.stages) and (codes is None or r.rule_code in codes)
        ]

    def select(self, rules: list[Rule]) -> Library:
        return Library({r.rule_code: r for r in rules}, self.version)

    def tables(self) -> dict[str, tuple[list[str], list[tuple]]]:
        """``k_<kind>`` per kind with active rules: column names and rows. ``k_id`` numbers the rows in order
        of rule code and row, so it is the same in every engine."""
        out: dict[str, tuple[list[str], list[tuple]]] = {}
        k_id = 0
        for rule in sorted(self.rules.values(), key=lambda r: r.rule_code):
            if not rule.enabled:
                continue
            spec = rule.spec
            names = ["rule_code", "k_id", "from_day", "to_day", *(f.name for f in spec.fields)]
            rows = out.setdefault(spec.name, (names, []))[1]
            for row in _dated_rows(rule):
                k_id += 1
                begin = max(rule.effective_from, row.begin or rule.effective_from)
                end = min(rule.effective_to or OPEN_END, row.end or OPEN_END)
                if begin > end:
                    continue
                values = [row.values.get(f.name, rule.params.get(f.name)) for f in spec.fields]
                rows.append((rule.rule_code, k_id, day_number(begin), day_number(end), *values))
        return out

    def exemption_rows(self) -> list[tuple]:
        """``x_exempt``: rule_code, field, value, reason, from_day, to_day."""
        rows = []
        for rule in self.rules.values():
            for x in rule.exemptions:
                rows.append(
                    (
                        rule.rule_code,
                        x.field,
                        x.value,
                        x.reason,
                        day_number(x.begin or date(1900, 1, 1)),
                        day_number(x.end or OPEN_END),
                    )
                )
        return rows

    def cross_codes(self) -> set[str]:
        """The codes whose lines in the person's other visits a rule counts (cross-visit kinds)."""
        return {
            row.values["code"]
            for rule in self.active()
            if rule.spec.cross_visit
            for row in rule.knowledge
            if row.values.get("code")
        }

    def lookback_days(self) -> int:
        """How many days before a visit online checks must read of the person's history."""
        days = 31  # a calendar month: visit_frequency, and the stays a visit may fall into
        for rule in self.active():
            p = rule.spec.lookback_param
            if p == "period" and rule.params.get("period") == "year":
                days = max(days, 366)
            elif p in ("cycle_days", "window_days"):
                values = [rule.params.get(p)] + [r.values.get(p) for r in rule.knowledge]
                days = max(days, *(int(v) + 1 for v in values if v is not None))
            elif p == "stay":
                days = max(days, 366)  # a stay open for up to a year
        return days


def _dated_rows(rule: Rule) -> list[KnowledgeRow]:
    """The rule's rows with superseded ones ended the day before their successor starts; a kind without
    knowledge columns has one row carrying the parameters."""
    if not rule.spec.columns:
        return [KnowledgeRow({})]
    by_key = {r.row_key: r for r in rule.knowledge if r.row_key}
    ends: dict[str, date] = {}
    for r in rule.knowledge:
        if r.supersedes and r.begin:
            prev = ends.get(r.supersedes)
            day = date.fromordinal(r.begin.toordinal() - 1)
            ends[r.supersedes] = min(prev, day) if prev else day
    rows = []
    for r in rule.knowledge:
        end = ends.get(r.row_key) if r.row_key in by_key else None
        rows.append(replace(r, end=min(end, r.end or OPEN_END)) if end else r)
    return rows


# --- parsing ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError("须为文本")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("须为文本")
    return value.strip()


def typed(f: Field, value: Any) -> Any:
    """A knowledge or parameter value checked and converted to its stored form; ValueError names the reason."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if f.required and f.default is None:
            raise ValueError("必填")
        return typed(f, f.default) if f.default is not None else None
    if f.type in ("code", "prefix"):
        if not isinstance(value, str):  # YAML reads 001102… as an octal number and 2 as an int
            raise ValueError(f"编码须为文本 (YAML 中请加引号)，实为数值 {quote(str(value))}")
        text = _text(value)
        if not text or any(c.isspace() for c in text) or len(text) > 50:
            raise ValueError(f"须为不含空白的编码 (至多 50 个字符)，实为 {quote(text)}")
        return text
    if f.type == "choice":
        text = _text(value)
        if text not in f.choices:
            raise ValueError(f"须为 {' / '.join(f.choices)} 之一，实为 {quote(text)}")
        return text
    if f.type == "int":
        text = _text(value)
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValueError(f"须为非负整数，实为 {quote(text)}")
        return int(text)
    if f.type == "count":
        return int(parse_count(_text(value)))
    if f.type == "price":
        return int(parse_price(_text(value)))
    if f.type in ("ratio", "fraction"):
        text = _text(value)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"须为 0 到 1 之间的小数，实为 {quote(text)}") from None
        if not text.isascii() or not (0 <= number <= 1):
            raise ValueError(f"须为 0 到 1 之间的小数，实为 {quote(text)}")
        return int(parse_ratio(text)) if f.type == "ratio" else str(number)
    raise AssertionError(f.type)


def _day(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{what} 须为日期 YYYY-MM-DD，实为 {quote(value)}") from None


def parse_row(spec: Kind, raw: dict[str, Any], where: str, problems: list[str]) -> KnowledgeRow | None:
    """One knowledge row (CSV, XLSX or inline YAML); its problems are appended, naming ``where`` and column."""
    values = {}
    ok = True
    unknown = set(raw) - {f.name for f in spec.fields} - set(ROW_META) - {"rule_code", "name", "note"}
    for key in sorted(unknown):
        problems.append(f"{where}: 未知列 {quote(key)} (规则类型 {spec.name} 的列: "
                        f"{', '.join(f.name for f in spec.fields)})")  # fmt: skip
        ok = False
    for f in spec.columns:
        try:
            values[f.name] = typed(f, raw.get(f.name))
        except ValueError as e:
            problems.append(f"{where}: {f.name}: {e}")
            ok = False
    for f in spec.params:  # a row may set its own parameter value (e.g. a code's own limit)
        if raw.get(f.name) not in (None, ""):
            try:
                values[f.name] = typed(f, raw[f.name])
            except ValueError as e:
                problems.append(f"{where}: {f.name}: {e}")
                ok = False
    try:
        begin, end = _day(raw.get("from"), "from"), _day(raw.get("to"), "to")
        if begin and end and end < begin:
            raise ValueError(f"to {end} 早于 from {begin}")
    except ValueError as e:
        problems.append(f"{where}: {e}")
        return None
    if not ok:
        return None
    meta = {
        k: (str(raw[k]).strip() if raw.get(k) not in (None, "") else None)
        for k in ("row_key", "supersedes", "source_batch")
    }
    return KnowledgeRow(values, begin, end, where=where, **meta)
