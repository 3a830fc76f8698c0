"""A CHS-DRG rule pack compiled for grouping (分组规则包): immutable look-up structures built once at load.

The parsed tables (``drg_tables``) become sets and dicts keyed by code, so that grouping one case is a
handful of look-ups. Two things are read from the scheme's names, as the scheme states them there and
nowhere else: the ADRG age and birth-weight conditions of MDCP (``出生年龄＜29天``, ``29天≤出生年龄＜1周岁``,
``出生体重1500-1999g``; an ADRG named for a newborn — 新生儿, 早产儿, 足月儿, 极度发育不全 — without an
age range applies under 29 days), and the DRG split each last digit stands for, which must agree with the
DRG's name (1 伴严重并发症或合并症, 3 伴并发症或合并症, 5 不伴并发症或合并症, 9 not split).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from yibao.payment.drg_tables import (
    AdrgConditions,
    parse_adrg_conditions,
    parse_complications,
    parse_exclusions,
    parse_mdc_list,
    parse_names,
    refuse,
)

SURGICAL, PROCEDURE, MEDICAL = "surgical", "procedure", "medical"
"""ADRG kinds by the second letter: A–J 外科手术, K–Q 非手术室操作, R–Z 内科."""

MCC, CC = 1, 3
"""Severity of a complication: the DRG suffix it asks for."""

NEONATE_WORDS = ("新生儿", "早产儿", "足月儿", "极度发育不全")
NEONATE_DAYS = 29
INFANT_DAYS = 365


@dataclass(frozen=True, slots=True)
class AdrgRule:
    """One ADRG's entry conditions, as sets; ``age_days`` and ``weight_g`` are ``[low, high)`` bounds read
    from its name (None: no condition); ``splits`` the DRG suffixes it has (``"135"``, ``"15"``, ``"9"`` …)."""

    code: str
    kind: str
    principal_dx: frozenset[str] | None = None
    principal_px: frozenset[str] | None = None
    any_dx: frozenset[str] | None = None
    all_px: tuple[frozenset[str], ...] = ()
    px_tables: dict[int, frozenset[str]] = field(default_factory=dict)
    alternatives: tuple[tuple[int, ...], ...] = ()
    any_or: bool = False
    no_or: bool = False
    age_days: tuple[int, int] | None = None
    weight_g: tuple[int, int] | None = None
    splits: str = "9"


@dataclass(frozen=True, slots=True)
class DrgPack:
    """A loaded CHS-DRG scheme: names, MDC lists, ADRG rules in table order, complications and exclusions."""

    scheme: str
    pack_hash: str
    mdc_names: dict[str, str]
    adrg_names: dict[str, str]
    drg_names: dict[str, str]
    pre_mdc: tuple[str, ...]
    mdc_sex: dict[str, int]
    dx_mdcs: dict[str, tuple[str, ...]]
    """Principal diagnosis → the ordinary MDCs (after the pre-MDCs) whose 主诊表 lists it, in trial order."""
    mdc_lists: dict[str, frozenset[str]]
    trauma_sites: dict[str, str]
    rules: dict[str, tuple[AdrgRule, ...]]
    """MDC letter → its ADRG rules in table order (surgical, then non-OR procedure, then medical)."""
    procedure_rules: dict[str, tuple[AdrgRule, ...]]
    """MDC letter → its surgical and non-OR procedure ADRGs: the ones a case without a procedure skips."""
    medical_rules: dict[str, tuple[AdrgRule, ...]]
    or_procedures: frozenset[str]
    complications: dict[str, tuple[int, str | None]]
    """Diagnosis → (MCC or CC, exclusion-table id or None)."""
    exclusions: dict[str, frozenset[str]]
    """Principal diagnosis → the exclusion tables that list it."""
    exclusion_tables: frozenset[str]
    known_dx: frozenset[str]
    a_procedures: frozenset[str]
    """Every procedure any MDCA rule names: a case without one cannot enter MDCA."""


def adrg_kind(code: str) -> str:
    letter = code[1]
    return SURGICAL if "A" <= letter <= "J" else PROCEDURE if "K" <= letter <= "Q" else MEDICAL


def age_from_name(name: str) -> tuple[int, int] | None:
    text = name.replace(" ", "").replace("＜", "<").replace("＞", ">")
    if re.search(r"29天≤出生年龄<1周岁", text):
        return (NEONATE_DAYS, INFANT_DAYS)
    if re.search(r"出生年龄<29天", text) or any(w in text for w in NEONATE_WORDS):
        return (0, NEONATE_DAYS)
    return None


def weight_from_name(name: str) -> tuple[int, int] | None:
    text = name.replace(" ", "").replace("＜", "<").replace("＞", ">")
    if m := re.search(r"出生体重<(\d+)g", text):
        return (0, int(m.group(1)))
    if m := re.search(r"出生体重(\d+)-(\d+)g", text):
        return (int(m.group(1)), int(m.group(2)) + 1)
    if m := re.search(r"出生体重>(\d+)g", text):
        return (int(m.group(1)) + 1, 10**9)
    return None


def split_of_name(name: str) -> str:
    """The suffix a DRG's name states: 1, 3, 5, or 9 when it states no CC/MCC split."""
    if "不伴并发症或合并症" in name or "不伴严重并发症或合并症" in name:
        return "5"
    if "伴严重并发症" in name:
        return "1"
    if "伴并发症或合并症" in name:
        return "3"
    return "9"


def drg_splits(drg_names: dict[str, tuple[str, int]], adrgs: dict[str, tuple[str, int]]) -> dict[str, str]:
    splits: dict[str, str] = {}
    for drg, (name, line) in drg_names.items():
        adrg, digit = drg[:3], drg[3]
        if adrg not in adrgs:
            raise refuse("3_DRG.txt", line, f"{drg} 的 ADRG {adrg} 不在 2_ADRG.txt 中 (unknown ADRG)")
        if split_of_name(name) != digit:
            raise refuse("3_DRG.txt", line, f"{drg} 末位 {digit} 与名称不符 (suffix disagrees with name)")
        splits[adrg] = "".join(sorted(splits.get(adrg, "") + digit))
    for adrg, (_, line) in adrgs.items():
        s = splits.get(adrg)
        if s is None:
            raise refuse("2_ADRG.txt", line, f"{adrg} 没有 DRG (no DRG in 3_DRG.txt)")
        if s not in ("9", "135", "15", "35", "13"):
            raise refuse("3_DRG.txt", 0, f"{adrg} 的细分组 {s} 不是可用的组合 (unusable split set)")
    return splits


def compile_rule(code: str, name: str, c: AdrgConditions, splits: str) -> AdrgRule:
    def s(codes: tuple[str, ...]) -> frozenset[str] | None:
        return frozenset(codes) if codes else None

    return AdrgRule(
        code=code,
        kind=adrg_kind(code),
        principal_dx=s(c.principal_dx),
        principal_px=s(c.principal_px),
        any_dx=s(c.any_dx),
        all_px=tuple(frozenset(x) for x in c.all_px),
        px_tables={k: frozenset(v) for k, v in c.px_tables.items()},
        alternatives=c.alternatives,
        any_or=c.any_or,
        no_or=c.no_or,
        age_days=age_from_name(name) if code[0] == "P" else None,
        weight_g=weight_from_name(name),
        splits=splits,
    )


def rule_procedures(rule: AdrgRule) -> set[str]:
    found = set(rule.principal_px or ())
    for group in (*rule.all_px, *rule.px_tables.values()):
        found |= group
    return found


def read_rules(
    files: dict[str, bytes],
    mdcs: dict[str, tuple[str, int]],
    adrgs: dict[str, tuple[str, int]],
    splits: dict[str, str],
) -> dict[str, list[AdrgRule]]:
    """Each MDC's ADRG rules in table order, from ``ADRG/*.dat``; every ADRG has exactly one file."""
    by_code = {path.split("/")[1][:3]: path for path in files if path.startswith("ADRG/")}
    rules: dict[str, list[AdrgRule]] = {m[3]: [] for m in mdcs}
    for code, (name, line) in adrgs.items():
        if f"MDC{code[0]}" not in mdcs:
            raise refuse("2_ADRG.txt", line, f"{code} 的 MDC{code[0]} 不在 1_MDC.txt 中 (unknown MDC)")
        if code not in by_code:
            raise refuse("2_ADRG.txt", line, f"{code} 没有条件文件 ADRG/{code}_*.dat (no condition file)")
        conditions = parse_adrg_conditions(by_code[code], files[by_code[code]])
        rules[code[0]].append(compile_rule(code, name, conditions, splits[code]))
    if extra := sorted(set(by_code) - set(adrgs)):
        raise refuse(
            by_code[extra[0]], 0, f"{extra[0]} 不在 2_ADRG.txt 中 (condition file of an unknown ADRG)"
        )
    for letter, rows in rules.items():
        kinds = [r.kind for r in rows]
        if kinds != sorted(kinds, key=(SURGICAL, PROCEDURE, MEDICAL).index):
            raise refuse("2_ADRG.txt", 0, f"MDC{letter} 的 ADRG 次序不是 手术→操作→内科 (ADRG order)")
    return rules


def read_mdc_lists(
    files: dict[str, bytes], mdcs: dict[str, tuple[str, int]]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each MDC's principal diagnoses (its 主诊表 as published, nothing added), and the MDCZ trauma site of
    each code.

    The published lists miss some principal diagnoses that the MDC's own ADRGs name (MDCW lacks most of the
    burns WB1/WR1 list): such a principal diagnosis enters no MDC, as in the reference groupers — a case
    reaches an ADRG only through its MDC's list."""
    by_mdc = {path.split("/")[1][:4]: path for path in files if path.startswith("MDC/")}
    codes: dict[str, list[str]] = {}
    sites: dict[str, str] = {}
    for mdc, (_, line) in mdcs.items():
        if mdc not in by_mdc:
            raise refuse("1_MDC.txt", line, f"{mdc} 没有主诊表 MDC/{mdc}_*.dat (no principal-diagnosis list)")
        listed = parse_mdc_list(by_mdc[mdc], files[by_mdc[mdc]])
        codes[mdc[3]] = list(listed.codes)
        if mdc == "MDCZ":
            sites = dict(listed.sites)
    return codes, sites


def candidate_order(mdc_codes: dict[str, list[str]], meta: dict) -> dict[str, tuple[str, ...]]:
    """Principal diagnosis → the ordinary MDCs (after the pre-MDCs) that list it, in the scheme's order."""
    order, pre = list(meta["mdc_order"]), list(meta["pre_mdc"])
    if sorted(pre + order) != sorted(mdc_codes):
        raise refuse("schemes.yaml", 0, "pre_mdc 与 mdc_order 必须恰好列出每个 MDC 一次 (each MDC once)")
    dx_mdcs: dict[str, tuple[str, ...]] = {}
    for letter in order:
        for code in mdc_codes[letter]:
            if letter not in dx_mdcs.get(code, ()):
                dx_mdcs[code] = (*dx_mdcs.get(code, ()), letter)
    return dx_mdcs


def read_complications(
    files: dict[str, bytes],
) -> tuple[dict[str, tuple[int, str | None]], dict[str, tuple[str, ...]]]:
    """Code → (MCC or CC, exclusion table), and the exclusion tables; every table a CC names must exist."""
    mcc = parse_complications("5_MCC.txt", files["5_MCC.txt"])
    cc = parse_complications("6_CC.txt", files["6_CC.txt"])
    tables = parse_exclusions("7_CCE.txt", files["7_CCE.txt"])
    for file, found in (("5_MCC.txt", mcc), ("6_CC.txt", cc)):
        if missing := sorted({t for t in found.values() if t is not None} - set(tables)):
            raise refuse(
                file, 0, f"引用了 7_CCE.txt 中没有的排除表 表 {missing[0]} (unknown exclusion table)"
            )
    complications = {code: (CC, t) for code, t in cc.items()}
    complications.update({code: (MCC, t) for code, t in mcc.items()})  # a code on both lists is an MCC
    return complications, tables


def compile_pack(files: dict[str, bytes], scheme: str, meta: dict, pack_hash: str) -> DrgPack:
    """Parse every table of the pack (``files``: path in the layout → content) and build the look-ups."""
    for required in ("1_MDC.txt", "2_ADRG.txt", "3_DRG.txt", "5_MCC.txt", "6_CC.txt", "7_CCE.txt"):
        if required not in files:
            raise refuse(required, 0, "规则包缺少此文件 (missing from the pack)")
    mdcs = parse_names("1_MDC.txt", files["1_MDC.txt"], r"MDC[A-Z]")
    adrgs = parse_names("2_ADRG.txt", files["2_ADRG.txt"], r"[A-Z]{2}\d")
    drgs = parse_names("3_DRG.txt", files["3_DRG.txt"], r"[A-Z]{2}\d[1359]")
    rules = read_rules(files, mdcs, adrgs, drg_splits(drgs, adrgs))
    mdc_codes, trauma_sites = read_mdc_lists(files, mdcs)
    complications, tables = read_complications(files)
    exclusions: dict[str, set[str]] = {}
    for tid, codes in tables.items():
        for code in codes:
            exclusions.setdefault(code, set()).add(tid)
    all_rules = [r for rows in rules.values() for r in rows]
    known = set(complications) | set(exclusions)
    for codes in mdc_codes.values():
        known |= set(codes)
    for r in all_rules:
        known |= (r.principal_dx or set()) | (r.any_dx or set())
    return DrgPack(
        scheme=scheme,
        pack_hash=pack_hash,
        mdc_names={k: v for k, (v, _) in mdcs.items()},
        adrg_names={k: v for k, (v, _) in adrgs.items()},
        drg_names={k: v for k, (v, _) in drgs.items()},
        pre_mdc=tuple(meta["pre_mdc"]),
        mdc_sex={k: int(v) for k, v in meta.get("mdc_sex", {}).items()},
        dx_mdcs=candidate_order(mdc_codes, meta),
        mdc_lists={k: frozenset(v) for k, v in mdc_codes.items()},
        trauma_sites=trauma_sites,
        rules={k: tuple(v) for k, v in rules.items()},
        procedure_rules={k: tuple(r for r in v if r.kind != MEDICAL) for k, v in rules.items()},
        medical_rules={k: tuple(r for r in v if r.kind == MEDICAL) for k, v in rules.items()},
        or_procedures=frozenset(set().union(*(rule_procedures(r) for r in all_rules if r.kind == SURGICAL))),
        complications=complications,
        exclusions={k: frozenset(v) for k, v in exclusions.items()},
        exclusion_tables=frozenset(tables),
        known_dx=frozenset(known),
        a_procedures=frozenset(set().union(*(rule_procedures(r) for r in rules.get("A", ())))),
    )
