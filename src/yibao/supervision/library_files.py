"""Reading the rule library from files: YAML rule headers with their parameters, exemptions and test set,
knowledge rows inline or in a CSV / XLSX beside them. Every problem is collected and reported together, each
naming the file, the rule and the key or row (``rules/drug.yaml: GZ…: knowledge.csv row 7: gend: …``)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from yibao.errors import quote
from yibao.supervision.kinds import KINDS
from yibao.supervision.library import (
    ACTIONS,
    EXEMPT_FIELDS,
    HEADER_KEYS,
    RESULT_TYPES,
    RULE_CODE,
    SCENES,
    SEV_DEG,
    STAGES,
    Exemption,
    KnowledgeRow,
    Library,
    LibraryError,
    Rule,
    _day,
    parse_row,
    typed,
)
from yibao.yamlio import load_yaml

MAX_PROBLEMS = 50


def load_library(*paths: str | Path, version: str = "") -> Library:
    """Every ``*.yaml`` of the given files and directories (sorted), as one library; a rule code defined twice
    is a problem."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    problems: list[str] = []
    rules: dict[str, Rule] = {}
    for f in files:
        for rule in read_rule_file(f, problems):
            if rule.rule_code in rules:
                problems.append(
                    f"{f}: {rule.rule_code}: 规则编码重复 (已见于 {rules[rule.rule_code].source})"
                )
            else:
                rules[rule.rule_code] = rule
    if problems:
        raise LibraryError(
            problems[:MAX_PROBLEMS]
            + ([f"… 另有 {len(problems) - MAX_PROBLEMS} 处"] if len(problems) > MAX_PROBLEMS else [])
        )
    return Library(rules, version)


def read_rule_file(path: Path, problems: list[str]) -> list[Rule]:
    if not path.exists():
        problems.append(f"{path}: 文件不存在")
        return []
    data = load_yaml(path)
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(f"{path}: rules: 须为规则列表")
        return []
    out = []
    for i, item in enumerate(items):
        rule = parse_rule(item, f"{path}: rules[{i}]", path.parent, problems)
        if rule is not None:
            out.append(rule)
    return out


def parse_rule(item: Any, where: str, base: Path | None, problems: list[str]) -> Rule | None:
    """One rule header (YAML mapping) with its knowledge and exemptions."""
    if not isinstance(item, dict):
        problems.append(f"{where}: 须为映射")
        return None
    code = str(item.get("rule_code") or "").strip()
    if not RULE_CODE.match(code):
        problems.append(f"{where}: rule_code: 须为 2–40 位字母、数字、- 或 _，实为 {quote(code)}")
        return None
    where = f"{where.split(':')[0]}: {code}"
    before = len(problems)
    for key in sorted(set(item) - HEADER_KEYS):
        problems.append(f"{where}: 未知键 {quote(key)}")

    def need(key: str, choices=None) -> str:
        value = str(item.get(key) or "").strip()
        if not value:
            problems.append(f"{where}: {key}: 必填")
        elif choices is not None and value not in choices:
            problems.append(f"{where}: {key}: 须为 {' / '.join(choices)} 之一，实为 {quote(value)}")
        return value

    kind = need("kind", tuple(KINDS))
    result_type = need("result_type", tuple(RESULT_TYPES))
    sev = str(item.get("sev_deg") or RESULT_TYPES.get(result_type, "")).strip()
    if sev not in SEV_DEG:
        problems.append(f"{where}: sev_deg: 须为 1 明确违规 / 2 高度可疑 / 3 轻度可疑，实为 {quote(sev)}")
    elif result_type == "可疑" and sev == "1":
        problems.append(f"{where}: sev_deg: 可疑类规则不能为 1 明确违规")
    stages = tuple(item.get("stages") or STAGES)
    for s in stages:
        if s not in STAGES:
            problems.append(f"{where}: stages: 须为 {' / '.join(STAGES)}，实为 {quote(s)}")
    actions = item.get("actions") or {}
    if not isinstance(actions, dict):
        problems.append(f"{where}: actions: 须为映射 (场景 → warn / block)")
        actions = {}
    for scene, action in actions.items():
        if scene not in SCENES or action not in ACTIONS:
            problems.append(f"{where}: actions.{scene}: 场景须为 {' / '.join(SCENES)}，动作须为 warn / block")
        elif action == "block" and result_type == "可疑":
            problems.append(f"{where}: actions.{scene}: 可疑类规则只能提醒 (warn)，不能拦截")
    if kind in KINDS and not KINDS[kind].online and set(stages) & {"pre", "mid"}:
        problems.append(f"{where}: stages: 规则类型 {kind} 需要整个期间的数据，只能用于 post (事后)")
    params = {}
    raw_params = item.get("params") or {}
    if kind in KINDS:
        spec = KINDS[kind]
        for key in sorted(set(raw_params) - {f.name for f in spec.params}):
            problems.append(f"{where}: params.{key}: 规则类型 {kind} 没有此参数")
        for f in spec.params:
            try:
                params[f.name] = typed(f, raw_params.get(f.name))
            except ValueError as e:
                problems.append(f"{where}: params.{f.name}: {e}")
    try:
        begin = _day(item.get("effective_from"), "effective_from")
        end = _day(item.get("effective_to"), "effective_to")
        if begin is None:
            raise ValueError("effective_from: 必填")
        if end and end < begin:
            raise ValueError(f"effective_to {end} 早于 effective_from {begin}")
    except ValueError as e:
        problems.append(f"{where}: {e}")
        begin, end = date.min, None
    amount = item.get("amount")
    if amount is not None and amount not in ("lines", "excess", "none"):
        problems.append(f"{where}: amount: 须为 lines / excess / none")
    knowledge = _knowledge(item.get("knowledge"), kind, where, base, problems) if kind in KINDS else ()
    if kind in KINDS and KINDS[kind].columns and not knowledge and len(problems) == before:
        problems.append(f"{where}: knowledge: 规则类型 {kind} 须有知识库行")
    exemptions = _exemptions(item.get("exemptions") or [], where, problems)
    tests = item.get("tests") or []
    if not isinstance(tests, list):
        problems.append(f"{where}: tests: 须为列表")
        tests = []
    if len(problems) > before:
        return None
    return Rule(
        rule_code=code,
        name=need("name"),
        kind=kind,
        class_l1=str(item.get("class_l1") or ""),
        class_l2=str(item.get("class_l2") or ""),
        result_type=result_type,
        sev_deg=sev,
        stages=stages,
        actions=dict(actions),
        params=params,
        effective_from=begin,
        effective_to=end,
        legal_basis=str(item.get("legal_basis") or ""),
        message=item.get("message"),
        amount=amount,
        enabled=bool(item.get("enabled", True)),
        knowledge=tuple(knowledge),
        exemptions=tuple(exemptions),
        tests=tuple(tests),
        source=where.split(":")[0],
        note=str(item.get("note") or ""),
    )


def _knowledge(
    spec: Any, kind: str, where: str, base: Path | None, problems: list[str]
) -> list[KnowledgeRow]:
    if spec is None:
        return []
    if isinstance(spec, str):
        path = (base / spec) if base else Path(spec)
        rows = read_table(path, problems)
        origin = f"{where}: {path.name}"
        start = 2  # the header is row 1
    elif isinstance(spec, list):
        rows, origin, start = spec, f"{where}: knowledge", 0
    else:
        problems.append(f"{where}: knowledge: 须为行列表或 CSV / XLSX 文件名")
        return []
    code = where.rsplit(": ", 1)[-1]
    out = []
    for i, raw in enumerate(rows):
        if not isinstance(raw, dict):
            problems.append(f"{origin}[{i}]: 须为映射")
            continue
        if raw.get("rule_code") not in (None, "", code):  # a shared file: the rows of other rules
            continue
        label = f"{origin} row {i + start}" if start else f"{origin}[{i}]"
        row = parse_row(KINDS[kind], raw, label, problems)
        if row is not None:
            out.append(row)
    return out


def read_table(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """A CSV (UTF-8, header row) or the first sheet of an XLSX, as dicts of text."""
    if not path.exists():
        problems.append(f"{path}: 文件不存在")
        return []
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h).strip() if h is not None else "" for h in values[0]]
        return [
            {h: (_cell(v)) for h, v in zip(header, row, strict=False) if h}
            for row in values[1:]
            if any(v not in (None, "") for v in row)
        ]
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [{k.strip(): v for k, v in r.items() if k} for r in csv.DictReader(fh)]
    except UnicodeDecodeError:
        problems.append(f"{path}: 须为 UTF-8 编码的 CSV")
        return []


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    return value if value is None else str(value)


def _exemptions(items: Any, where: str, problems: list[str]) -> list[Exemption]:
    out = []
    if not isinstance(items, list):
        problems.append(f"{where}: exemptions: 须为列表")
        return out
    for i, x in enumerate(items):
        at = f"{where}: exemptions[{i}]"
        if not isinstance(x, dict) or x.get("field") not in EXEMPT_FIELDS:
            problems.append(f"{at}: field: 须为 {' / '.join(EXEMPT_FIELDS)} 之一")
            continue
        value, reason = str(x.get("value") or "").strip(), str(x.get("reason") or "").strip()
        if not value or not reason:
            problems.append(f"{at}: value 与 reason 均为必填")
            continue
        try:
            out.append(
                Exemption(x["field"], value, reason, _day(x.get("from"), "from"), _day(x.get("to"), "to"))
            )
        except ValueError as e:
            problems.append(f"{at}: {e}")
    return out
