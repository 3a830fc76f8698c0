"""Agreement templates (医保服务协议文本): the region's "3+1+N" texts as data, checked and filled.

A region keeps its texts in ``regions/<admdvs>/providers/agreements/``: an ``index.yaml`` naming every
template (code, name, kind ``main`` | ``supplementary``, the institution classes that may sign it, version,
effective_from, file, basis) and one Markdown file per template, written with ``{placeholder}`` fields.
3 institution classes (hospital 医院 / clinic 门诊诊所 / pharmacy 零售药店), 1 main agreement for each,
N supplementary agreements (门诊慢特病, 异地就医, 互联网医院, 双通道, 长护 …) for the service categories that
need one — the Chengdu account (成都市医保协议管理, seeds/002).

Placeholders are a closed vocabulary (:data:`PLACEHOLDERS`): a template naming one yibao does not know is
refused when the folder is loaded, and :func:`fill` refuses a fact it does not know or a placeholder left
without a value, by name. Pure: no store, no configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yibao.errors import InputError, PolicyError
from yibao.yamlio import load_yaml_keyed

INDEX = "index.yaml"
KINDS = ("main", "supplementary")
CLASSES = ("hospital", "clinic", "pharmacy")  # the scheme's institution classes (医院, 门诊诊所, 零售药店)

# Every field a template may name, with what the signing service puts there.
PLACEHOLDERS: Mapping[str, str] = {
    "admdvs_name": "统筹地区名称 (示例市)",
    "agency_name": "甲方：医疗保障经办机构名称",
    "fixmedins_name": "乙方：定点医药机构名称",
    "fixmedins_code": "定点医药机构代码",
    "uscc": "统一社会信用代码",
    "licence_no": "医疗机构执业许可证登记号或药品经营许可证号",
    "legal_rep": "法定代表人（主要负责人）",
    "address": "机构地址",
    "agreement_no": "协议编号",
    "main_agreement_no": "补充协议所属主协议的编号",
    "begndate": "协议期限起 (YYYY-MM-DD)",
    "enddate": "协议期限止 (YYYY-MM-DD)",
    "services": "开通的医保服务类别 (see services_text)",
    "sign_date": "签订日期 (YYYY-MM-DD)",
}
# Fields without which a text is no agreement: a template that lacks one is refused at load.
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "main": (
        "agreement_no",
        "agency_name",
        "fixmedins_name",
        "fixmedins_code",
        "begndate",
        "enddate",
        "services",
    ),
    "supplementary": (
        "agreement_no",
        "main_agreement_no",
        "agency_name",
        "fixmedins_name",
        "fixmedins_code",
        "begndate",
        "enddate",
    ),
}
_ENTRY_KEYS = ("code", "name", "kind", "classes", "version", "effective_from", "file", "basis")
_FIELD = re.compile(r"\{([^{}\n]*)\}")
_CODE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class AgreementTemplate:
    """One version of one agreement text."""

    code: str  # main_hospital, supp_chronic …
    name: str  # 定点医疗机构医疗保障服务协议（医院类）
    kind: str  # main | supplementary
    classes: tuple[str, ...]  # institution classes that may sign it
    version: str
    effective_from: date
    text: str  # Markdown with {placeholders}; the first line is the "# " title
    file: str  # where the text was read from (for messages)
    basis: str | None = None  # the legal texts it rests on

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The placeholders the text names, in order of first appearance."""
        return placeholders_in(self.text)


@dataclass(frozen=True)
class AgreementTemplates:
    """Every template of a region, every version; ordered by code, then effective_from."""

    templates: tuple[AgreementTemplate, ...]

    def get(self, code: str, version: str) -> AgreementTemplate:
        """The template an agreement was signed on (its template code and version)."""
        for t in self.templates:
            if t.code == code and t.version == version:
                return t
        known = ", ".join(t.version for t in self.templates if t.code == code) or "none"
        raise InputError(
            f"template: 协议文本 {code} 没有版本 {version} (no such template version; versions: {known})"
        )

    def on(self, code: str, day: date) -> AgreementTemplate:
        """The version of template ``code`` in force on ``day`` (the latest effective_from not after it)."""
        versions = [t for t in self.templates if t.code == code]
        if not versions:
            codes = ", ".join(sorted({t.code for t in self.templates}))
            raise InputError(f"template: 没有协议文本 {code} (unknown template; known: {codes})")
        in_force = [t for t in versions if t.effective_from <= day]
        if not in_force:
            raise InputError(
                f"template: 协议文本 {code} 在 {day} 尚未生效 (not in force before {versions[0].effective_from})"
            )
        return max(in_force, key=lambda t: t.effective_from)

    def main_for(self, institution_class: str, day: date) -> AgreementTemplate:
        """The main agreement (主协议) an institution of ``institution_class`` signs on ``day``."""
        codes = sorted(
            {t.code for t in self.templates if t.kind == "main" and institution_class in t.classes}
        )
        if not codes:
            raise InputError(f"class: 类别 {institution_class} 没有主协议文本 (no main agreement template)")
        found = [t for t in (self._on_or_none(c, day) for c in codes) if t is not None]
        if not found:
            raise InputError(
                f"class: 类别 {institution_class} 的主协议在 {day} 尚未生效 (no main agreement in force)"
            )
        return max(found, key=lambda t: (t.effective_from, t.code))

    def supplementary_for(self, institution_class: str, day: date) -> tuple[AgreementTemplate, ...]:
        """The supplementary agreements (补充协议) in force on ``day`` that ``institution_class`` may sign."""
        codes = sorted({t.code for t in self.templates if t.kind == "supplementary"})
        found = (self._on_or_none(c, day) for c in codes)
        return tuple(t for t in found if t is not None and institution_class in t.classes)

    def _on_or_none(self, code: str, day: date) -> AgreementTemplate | None:
        try:
            return self.on(code, day)
        except InputError:
            return None


# --- placeholders ---------------------------------------------------------------------------------------


def placeholders_in(text: str) -> tuple[str, ...]:
    """The ``{name}`` fields of ``text``, in order of first appearance, each once."""
    return tuple(dict.fromkeys(m.group(1) for m in _FIELD.finditer(text)))


def text_problems(text: str, source: str) -> list[str]:
    """Each problem of a template text, one line "source:line: reason": a field not in :data:`PLACEHOLDERS`,
    a brace that opens or closes no field."""
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        for m in _FIELD.finditer(line):
            if m.group(1) not in PLACEHOLDERS:
                problems.append(
                    f"{source}:{number}: {{{m.group(1)}}}: 未知占位符 (unknown placeholder; known: {', '.join(PLACEHOLDERS)})"
                )
        if "{" in (rest := _FIELD.sub("", line)) or "}" in rest:
            problems.append(
                f"{source}:{number}: 花括号不成对 (a brace that is not part of a {{placeholder}})"
            )
    return problems


def fill(template: AgreementTemplate | str, facts: Mapping[str, str]) -> str:
    """The text with every ``{placeholder}`` replaced by its fact. Refuses, naming them, a fact yibao does not
    know (a misspelt key), a fact that is not text or is empty, and a placeholder of the text left without a
    value. Facts the text does not use are allowed (one set of facts serves a main agreement and its
    supplements). Replacement is one pass: a value's own braces are kept as written."""
    text = template.text if isinstance(template, AgreementTemplate) else template
    source = template.file if isinstance(template, AgreementTemplate) else "template"
    if problems := text_problems(text, source):
        raise PolicyError("\n".join(problems))
    unknown = sorted(k for k in facts if k not in PLACEHOLDERS)
    if unknown:
        raise InputError(
            f"facts: 未知占位符 {', '.join('{' + k + '}' for k in unknown)} "
            f"(unknown placeholders; known: {', '.join(PLACEHOLDERS)})"
        )
    for key, value in facts.items():
        if not isinstance(value, str):
            raise InputError(f"facts.{key}: 应为文本 (must be a string, not {type(value).__name__})")
        if not value.strip():
            raise InputError(f"facts.{key}: 值为空 (empty value)")
    missing = [name for name in placeholders_in(text) if name not in facts]
    if missing:
        raise InputError(
            f"facts: 缺少占位符 {', '.join('{' + k + '}' for k in missing)} 的值 "
            f"(missing values for placeholders: {', '.join(missing)})"
        )
    return _FIELD.sub(lambda m: facts[m.group(1)], text)


def split_title(text: str) -> tuple[str, str]:
    """A filled text's title (its first line, ``# …``) and the rest; ("", text) without a title line."""
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest.lstrip("\n")
    return "", text


def services_text(services: Iterable[tuple[str, str]]) -> str:
    """The ``{services}`` value from (code, name) pairs: "住院（S01）、门诊统筹（S03）"."""
    parts = [f"{name}（{code}）" for code, name in services]
    if not parts:
        raise InputError("services: 没有开通的服务类别 (no service category granted)")
    return "、".join(parts)


# --- loading ---------------------------------------------------------------------------------------------


def load_templates(folder: Path) -> AgreementTemplates:
    """Every template of an agreements folder, checked; or a PolicyError with one "file: key: reason" line
    per problem found in the index and the texts."""
    folder = Path(folder)
    index = folder / INDEX
    try:
        data, duplicates = load_yaml_keyed(index)
    except InputError as exc:
        raise PolicyError(exc.message) from None
    problems = [
        f"{index}: {'.'.join(d.key)}: 重复的键 (key written twice, lines {d.first} and {d.line})"
        for d in duplicates
    ]
    entries = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"{index}: templates: 应为协议文本列表 (must be a non-empty list of templates)")
    if isinstance(data, dict) and (extra := sorted(str(k) for k in data if k != "templates")):
        problems.append(f"{index}: {extra[0]}: 未知的键 (unknown key; only templates)")
    found: list[AgreementTemplate] = []
    for i, entry in enumerate(entries):
        template = _entry(folder, index, i, entry, problems)
        if template is not None:
            found.append(template)
    problems.extend(_structure(index, found, complete=not problems))
    if problems:
        raise PolicyError("\n".join(dict.fromkeys(problems)))
    return AgreementTemplates(tuple(sorted(found, key=lambda t: (t.code, t.effective_from))))


def _entry(folder: Path, index: Path, i: int, entry: Any, problems: list[str]) -> AgreementTemplate | None:
    where = f"{index}: templates.{i}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: 应为映射 (must be a mapping of {', '.join(_ENTRY_KEYS)})")
        return None
    before = len(problems)
    for key in sorted(str(k) for k in entry if k not in _ENTRY_KEYS):
        problems.append(f"{where}.{key}: 未知的键 (unknown key; known: {', '.join(_ENTRY_KEYS)})")
    code = _text(entry, "code", where, problems)
    if code is not None and not _CODE.fullmatch(code):
        problems.append(f"{where}.code: {code} 应为小写字母、数字和下划线 (lower-case letters, digits, _)")
    name = _text(entry, "name", where, problems)
    version = _text(entry, "version", where, problems)
    kind = entry.get("kind")
    if kind not in KINDS:
        problems.append(
            f"{where}.kind: 应为 main 或 supplementary (must be main or supplementary, not {kind!r})"
        )
    classes = entry.get("classes")
    if not isinstance(classes, list) or not classes or any(c not in CLASSES for c in classes):
        problems.append(
            f"{where}.classes: 应为 {', '.join(CLASSES)} 中的一个或多个 (a list of institution classes)"
        )
    elif len(set(classes)) != len(classes):
        problems.append(f"{where}.classes: 类别重复 (a class listed twice)")
    effective_from = entry.get("effective_from")
    if not isinstance(effective_from, date):
        problems.append(
            f"{where}.effective_from: 应为日期 YYYY-MM-DD (must be a date, not {effective_from!r})"
        )
    basis = entry.get("basis")
    if basis is not None and not (isinstance(basis, str) and basis.strip()):
        problems.append(f"{where}.basis: 应为文本 (must be text)")
    file_name = entry.get("file", f"{code}.md" if code else None)
    text = _read_text(folder, file_name, f"{where}.file", problems)
    if text is not None and isinstance(file_name, str) and kind in KINDS:
        problems.extend(_text_checks(text, str(folder / file_name), kind))
    if len(problems) > before:
        return None
    assert code and name and version and text is not None and isinstance(effective_from, date)
    return AgreementTemplate(
        code, name, kind, tuple(classes), version, effective_from, text, str(folder / file_name), basis
    )


def _text(entry: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(
            f'{where}.{key}: 应为非空文本 (must be non-empty text; quote numbers such as "2021.1")'
        )
        return None
    return value.strip()


def _read_text(folder: Path, file_name: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(file_name, str) or not file_name.strip():
        problems.append(f"{where}: 应为文件名 (must be a file name)")
        return None
    path = folder / file_name
    if path.resolve().parent != folder.resolve():
        problems.append(f"{where}: {file_name} 应在协议文本目录内 (must be a file of the agreements folder)")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{where}: {path} 文件不存在 (file not found)")
        return None
    except UnicodeDecodeError:
        problems.append(f"{where}: {path} 不是 UTF-8 文本 (not UTF-8)")
        return None
    return text.replace("\r\n", "\n").strip("\n") + "\n"


def _text_checks(text: str, source: str, kind: str) -> list[str]:
    problems = text_problems(text, source)
    if not text.startswith("# ") or not text.partition("\n")[0][2:].strip():
        problems.append(f"{source}:1: 第一行应为标题 “# 协议名称” (the first line must be the '# ' title)")
    named = set(placeholders_in(text))
    for required in REQUIRED[kind]:
        if required not in named:
            problems.append(
                f"{source}: {{{required}}}: {kind} 协议文本缺少必备占位符 (required placeholder missing)"
            )
    return problems


def _structure(index: Path, found: list[AgreementTemplate], complete: bool) -> list[str]:
    """3+1+N: every class has a main agreement; a (code, version) is written once; a code keeps its kind; two
    main agreements of one class do not start on the same day (which would be in force is then unclear).
    Class coverage is checked only when every entry was read (``complete``): a broken entry is reported once."""
    problems = []
    seen: dict[tuple[str, str], int] = {}
    kinds: dict[str, str] = {}
    mains: dict[tuple[str, date], str] = {}
    for t in found:
        if (t.code, t.version) in seen:
            problems.append(f"{index}: templates: {t.code} {t.version} 重复 (template version written twice)")
        seen[(t.code, t.version)] = 1
        if kinds.setdefault(t.code, t.kind) != t.kind:
            problems.append(
                f"{index}: templates: {t.code} 的各版本 kind 不一致 (versions of one code differ in kind)"
            )
        if t.kind == "main":
            for c in t.classes:
                other = mains.setdefault((c, t.effective_from), t.code)
                if other != t.code:
                    problems.append(
                        f"{index}: templates: {other} 与 {t.code} 都是 {c} 自 {t.effective_from} 起的主协议 "
                        "(two main agreements for one class from one day)"
                    )
    for c in CLASSES if complete else ():
        if not any(t.kind == "main" and c in t.classes for t in found):
            problems.append(f"{index}: templates: 类别 {c} 没有主协议 (no main agreement for class {c})")
    return problems
