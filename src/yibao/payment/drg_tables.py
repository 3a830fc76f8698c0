"""Parsing the national CHS-DRG tables (分组方案表) as published in text: one ``code name`` pair a line.

The layout is that of ``chs-drg-1.1/``: ``1_MDC.txt``, ``2_ADRG.txt``, ``3_DRG.txt`` (names), ``MDC/*.dat``
(each MDC's principal-diagnosis list, 主诊表), ``ADRG/*.dat`` (each ADRG's entry conditions), ``5_MCC.txt``
and ``6_CC.txt`` (complications with their exclusion table) and ``7_CCE.txt`` (the exclusion tables, 排除表).
The transcription carries page numbers, repeated table headers, names broken over two lines and, in the CC
lists, several entries run together on one line; each parser accepts exactly those and refuses anything
else with the file, the line and the reason. Nothing here knows a code of the scheme: it is all data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from yibao.errors import YibaoError

CODE = re.compile(r"(?:[A-Z]\d{2}|\d{2})\.[0-9A-Za-z.+*]+")
"""A diagnosis (``K80.100x001``, ``A17.000+G01*``) or procedure (``51.2300``) code as the tables write it."""

PAGE_NUMBER = re.compile(r"\d{1,5}")
CC_ENTRY = re.compile(r"(" + CODE.pattern + r") (.*?) ?(表 ?7-\d+|无)(?= (?:[A-Z]\d{2}|\d{2})\.|$)")
CC_HEADER = "疾病编码 疾病名称 排除内容"
CCE_TOKEN = re.compile(r"表 ?7-\d+(?= |$)|包含以下主要诊断：|(?<![0-9A-Za-z.])" + CODE.pattern + r"(?= |$)")


class RulePackError(YibaoError):
    """A rule pack that cannot be loaded; the message names the file, the line and the reason."""


def refuse(file: str, line: int, reason: str) -> RulePackError:
    return RulePackError(f"{file}:{line}: {reason}" if line else f"{file}: {reason}")


def lines_of(file: str, data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise refuse(file, line, "不是 UTF-8 文本 (not UTF-8)") from None
    return [ln.rstrip("\r").strip() for ln in text.split("\n")]


def table_id(text: str) -> str:
    """``表 7-12`` / ``表7-12`` → ``7-12``."""
    return text.replace("表", "").strip()


# --- names: 1_MDC.txt, 2_ADRG.txt, 3_DRG.txt ------------------------------------------------------------


def parse_names(file: str, data: bytes, pattern: str) -> dict[str, tuple[str, int]]:
    """``CODE name`` lines (MDC ``MDCA``, ADRG ``AA1``, DRG ``AA19``) in file order, each with its line;
    ``~~`` joins are undone."""
    shape = re.compile(pattern)
    names: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(lines_of(file, data), 1):
        if not line:
            continue
        code, _, name = line.partition(" ")
        if not shape.fullmatch(code) or not name.strip():
            raise refuse(
                file, n, f"应为“编码 名称”，编码形如 {pattern} (expected code and name): {line[:40]}"
            )
        if code in names:
            raise refuse(file, n, f"编码 {code} 重复 (duplicate code)")
        names[code] = (name.replace("~~", "").strip(), n)
    if not names:
        raise refuse(file, 0, "文件为空 (empty)")
    return names


# --- MDC/*.dat: principal-diagnosis lists --------------------------------------------------------------


@dataclass(frozen=True)
class MdcList:
    """One MDC's 主诊表: the codes, and for MDCZ the trauma site (创伤部位) each code belongs to."""

    codes: tuple[str, ...]
    sites: dict[str, str] = field(default_factory=dict)


def parse_mdc_list(file: str, data: bytes) -> MdcList:
    codes: list[str] = []
    sites: dict[str, str] = {}
    site = ""
    open_list = False
    for n, line in enumerate(lines_of(file, data), 1):
        if not line or line.startswith("#"):
            continue
        code = line.split(" ", 1)[0]
        if CODE.fullmatch(code):
            if not open_list:
                raise refuse(file, n, "编码前缺少“包含以下主要诊断：” (code before any list header)")
            codes.append(code)
            if site:
                if sites.get(code, site) != site:
                    raise refuse(file, n, f"{code} 属于两个创伤部位 (code in two trauma sites)")
                sites[code] = site
        elif line == "包含以下主要诊断：":
            open_list = True
        elif line.endswith("创伤") and " " not in line:
            site, open_list = line, False
        else:
            raise refuse(file, n, f"无法识别的行 (unrecognised line): {line[:40]}")
    return MdcList(tuple(codes), sites)


# --- ADRG/*.dat: entry conditions -------------------------------------------------------------------------


@dataclass(frozen=True)
class AdrgConditions:
    """An ADRG's entry conditions as the table states them (before any reading of the name).

    ``principal_dx``: 包含以下主要诊断 / 主要诊断; ``principal_px``: 包含以下主要手术或操作; ``any_dx``:
    主要诊断或其他诊断中包含 / 包含以下诊断; ``all_px``: 同时包含以下手术 … 和 … (one procedure from each);
    ``px_tables`` with ``alternatives``: 手术表 n and the formula lines naming them; ``any_or``: 全部手术
    (any operating-room procedure); ``no_or``: 且无手术.
    """

    principal_dx: tuple[str, ...] = ()
    principal_px: tuple[str, ...] = ()
    any_dx: tuple[str, ...] = ()
    all_px: tuple[tuple[str, ...], ...] = ()
    px_tables: dict[int, tuple[str, ...]] = field(default_factory=dict)
    alternatives: tuple[tuple[int, ...], ...] = ()
    any_or: bool = False
    no_or: bool = False
    in_mdc_list: bool = False


SECTION_HEADERS = {
    "包含以下主要诊断：": "principal_dx",
    "主要诊断：": "principal_dx",
    "包含以下主要手术或操作：": "principal_px",
    "主要诊断或其他诊断中包含以下诊断：": "any_dx",
    "包含以下诊断：": "any_dx",
    "同时包含以下手术：": "all_px",
}
TABLE_HEADER = re.compile(r"手术(?:表)? ?(\d)：")
FORMULA = re.compile(r"或?包含以下主要诊断((?:\+手术表 ?\d)+)")


def parse_adrg_conditions(file: str, data: bytes) -> AdrgConditions:
    lists: dict[str, list[str]] = {}
    all_px: list[list[str]] = []
    tables: dict[int, list[str]] = {}
    alternatives: list[tuple[int, ...]] = []
    flags = {"any_or": False, "no_or": False, "in_mdc_list": False}
    current: list[str] | None = None
    for n, line in enumerate(lines_of(file, data), 1):
        if not line or line.startswith("#"):
            continue
        code = line.split(" ", 1)[0]
        if CODE.fullmatch(code):
            if current is None:
                raise refuse(file, n, "编码前缺少条件标题 (code before any condition header)")
            current.append(code)
        elif line in SECTION_HEADERS:
            kind = SECTION_HEADERS[line]
            if kind == "all_px":
                all_px.append([])
                current = all_px[-1]
            else:
                current = lists.setdefault(kind, [])
        elif line == "和":
            if not all_px:
                raise refuse(file, n, "“和”之前没有“同时包含以下手术：” (“和” without a first list)")
            all_px.append([])
            current = all_px[-1]
        elif m := TABLE_HEADER.fullmatch(line):
            current = tables.setdefault(int(m.group(1)), [])
        elif m := FORMULA.fullmatch(line.replace(" +", "+")):
            alternatives.append(tuple(int(t) for t in re.findall(r"\d", m.group(1))))
        elif line in ("全部手术", "包含全部手术"):
            flags["any_or"], current = True, None
        elif line == "符合 MDCZ 主诊表，且无手术":
            flags["no_or"] = flags["in_mdc_list"] = True
            current = None
        else:
            raise refuse(file, n, f"无法识别的条件行 (unrecognised condition line): {line[:40]}")
    for kind, codes in [
        *lists.items(),
        *(("同时包含", c) for c in all_px),
        *(("手术表", c) for c in tables.values()),
    ]:
        if not codes:
            raise refuse(file, 0, f"条件 {kind} 没有编码 (a condition lists no codes)")
    for alt in alternatives:
        if missing := [t for t in alt if t not in tables]:
            raise refuse(file, 0, f"公式引用了不存在的手术表 {missing} (formula names a missing table)")
    if tables and not alternatives:
        raise refuse(file, 0, "有手术表却没有组合公式 (procedure tables without a formula)")
    if len(all_px) == 1:
        raise refuse(file, 0, "“同时包含以下手术”只有一个表 (needs two lists joined by 和)")
    conditions = AdrgConditions(
        principal_dx=tuple(lists.get("principal_dx", ())),
        principal_px=tuple(lists.get("principal_px", ())),
        any_dx=tuple(lists.get("any_dx", ())),
        all_px=tuple(tuple(c) for c in all_px),
        px_tables={k: tuple(v) for k, v in tables.items()},
        alternatives=tuple(alternatives),
        **flags,
    )
    if conditions == AdrgConditions():
        raise refuse(file, 0, "没有任何入组条件 (no entry condition)")
    return conditions


# --- 5_MCC.txt / 6_CC.txt: complications and their exclusion table ------------------------------------


def parse_complications(file: str, data: bytes) -> dict[str, str | None]:
    """Code → exclusion-table id (``7-12``), or None where the table says 无 (never excluded)."""
    found: dict[str, str | None] = {}
    pending, start = "", 0
    for n, raw in enumerate(lines_of(file, data), 1):
        line = raw
        if not line or PAGE_NUMBER.fullmatch(line) or line == CC_HEADER:
            continue
        if m := re.match(r"\d{1,5} " + CC_HEADER + " ", line):  # a page number and header run into entries
            line = line[m.end() :]
        if not pending:
            start = n
        elif CODE.match(line) and not CODE.fullmatch(pending):
            raise refuse(
                file, start, f"无法识别的条目，缺少排除表 (entry without its exclusion table): {pending[:40]}"
            )
        # a broken name joins without a space; a code alone on its line, or a next entry, with one
        glue = "" if pending and not CODE.match(line) and not CODE.fullmatch(pending) else " "
        pending = f"{pending}{glue}{line}".strip()
        if not re.search(r"(表 ?7-\d+|无)$", pending):
            if len(pending) > 400:
                raise refuse(file, start, "条目没有以排除表结束 (entry without its exclusion table)")
            continue
        end = 0
        for m in CC_ENTRY.finditer(pending):
            if m.start() != end + (1 if end else 0) or not m.group(2):
                break
            code, table = m.group(1), m.group(3)
            value = None if table == "无" else table_id(table)
            if found.get(code, value) != value:
                raise refuse(file, start, f"{code} 有两个不同的排除表 (two exclusion tables)")
            found[code] = value
            end = m.end()
        if end != len(pending):
            raise refuse(file, start, f"无法识别的条目 (unrecognised entry): {pending[end : end + 40]}")
        pending = ""
    if pending:
        raise refuse(file, start, "文件在条目中间结束 (file ends inside an entry)")
    if not found:
        raise refuse(file, 0, "没有任何条目 (no entries)")
    return found


# --- 7_CCE.txt: exclusion tables ---------------------------------------------------------------------------


def parse_exclusions(file: str, data: bytes) -> dict[str, tuple[str, ...]]:
    """Exclusion-table id → the principal diagnoses for which a CC/MCC pointing at it does not count.

    Lines are read as tokens (a table header ``表 7-n``, the list header, codes), since the transcription
    runs whole pages into one line (``1750 表 7-103 包含以下主要诊断： J30.000 血管运动性鼻炎 J30.100 …``);
    text between tokens is a name, possibly the rest of one broken over two lines.
    """
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    listing = False
    for n, line in enumerate(lines_of(file, data), 1):
        if not line or PAGE_NUMBER.fullmatch(line):
            continue
        tokens = list(CCE_TOKEN.finditer(line))
        if not tokens and not listing:
            raise refuse(file, n, f"无法识别的行 (unrecognised line): {line[:40]}")
        for m in tokens:
            token = m.group(0)
            if token.startswith("表"):
                tid = table_id(token)
                if tid in tables:
                    raise refuse(file, n, f"排除表 {token} 重复 (duplicate table)")
                current, listing = tables.setdefault(tid, []), False
            elif token == "包含以下主要诊断：":
                if current is None:
                    raise refuse(file, n, "列表前缺少“表 7-n” (list before its table header)")
                listing = True
            elif not listing or current is None:
                raise refuse(file, n, "编码前缺少“包含以下主要诊断：” (code before the list header)")
            else:
                current.append(token)
    if not tables:
        raise refuse(file, 0, "没有任何排除表 (no tables)")
    for tid, codes in tables.items():
        if not codes:
            raise refuse(file, 0, f"排除表 7-{tid} 为空 (empty table)")
    return {tid: tuple(codes) for tid, codes in tables.items()}
