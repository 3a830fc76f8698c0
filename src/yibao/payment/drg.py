"""The CHS-DRG grouper (DRG 分组器): a pure function of one case and a loaded rule pack.

One function per step of the grouping pipeline (payment-drg-dip.md §4.2):

1. ``validate_codes`` — the codes are well formed and the principal diagnosis is one the scheme knows;
2. ``candidate_mdcs`` — the MDCs in the fixed order: A (transplant, ventilation ≥ 96 h, ECMO: a principal
   procedure on an MDCA list), P (age under 29 days, or under one year with a neonatal principal diagnosis),
   Y (HIV as principal or other diagnosis), Z (principal diagnosis on the MDCZ list and ≥ 2 trauma sites),
   then every MDC whose 主诊表 lists the principal diagnosis, M for men and N for women only;
3. ``assign_adrg`` — within an MDC, in table order: surgical ADRGs, non-OR procedure ADRGs, the QY check
   (the principal procedure is an operating-room procedure no ADRG of the MDC takes: 歧义组 ``{MDC}QY``),
   then medical ADRGs; an MDC where nothing matches hands the case to the next candidate;
4. ``complication_level`` and ``split_drg`` — MCC / CC / neither from the secondary diagnoses, each
   cancelled when the principal diagnosis is in its exclusion table, and the DRG the ADRG's splits give.

With ``trace`` the result carries each step's finding in Chinese (the MDC rule, the list that matched,
every secondary diagnosis and whether it counted).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from yibao.payment.cases import DrgCase
from yibao.payment.drg_pack import CC, INFANT_DAYS, MCC, NEONATE_DAYS, AdrgRule, DrgPack

OK, QY, UNGROUPED = "ok", "qy", "ungrouped"
UNGROUPED_DRG = "0000"
DX_CODE = re.compile(r"[A-Z]\d{2}\.[0-9A-Za-z]{1,10}(?:\+[A-Z]\d{2}(?:\.[0-9A-Za-z]{1,4})?\*)?")
PX_CODE = re.compile(r"\d{2}\.[0-9A-Za-z]{2,10}")
NO_TABLES: frozenset[str] = frozenset()
SEVERITY_WORDS = {MCC: "MCC", CC: "CC"}


class DrgGroup(NamedTuple):
    """The grouping of one case: ``status`` ok / qy / ungrouped, ``mdc`` (``MDCG``), ``adrg`` (``GZ1``),
    ``drg`` (``GZ13``, ``GQY``, ``0000``), ``reason`` (why QY or ungrouped, in Chinese) and the trace."""

    status: str
    mdc: str
    adrg: str
    drg: str
    reason: str
    trace: tuple[str, ...] = ()


class Facts:
    """What the rules ask of a case, computed once: principal and other diagnoses, principal procedure."""

    __slots__ = ("age", "age_days", "dx", "gend", "others", "pdx", "ppx", "ppx_is_or", "px", "weight_g")

    def __init__(self, case: DrgCase, pack: DrgPack):
        self.pdx = case.diagnoses[0]
        self.others = case.diagnoses[1:]
        self.dx = frozenset(case.diagnoses)
        self.ppx = case.procedures[0] if case.procedures else None
        self.px = frozenset(case.procedures)
        self.ppx_is_or = self.ppx in pack.or_procedures
        self.gend = case.gend
        self.age = case.age
        # 不足1周岁年龄 speaks for infants; an age in years with fewer than 365 days (often 0: not filled in)
        # must not make an adult a newborn
        self.age_days = (
            case.age_days if case.age == 0 or case.age_days >= INFANT_DAYS else case.age * INFANT_DAYS
        )
        self.weight_g = case.weight_g


def group_case(case: DrgCase, pack: DrgPack, trace: bool = False) -> DrgGroup:
    """Group one case; never raises for a case's content (a bad case is ``ungrouped`` with its reason)."""
    notes: list[str] | None = [] if trace else None
    refusal = validate_codes(case, pack)
    if refusal:
        return ungrouped(refusal, notes)
    facts = Facts(case, pack)
    for letter, why in candidate_mdcs(facts, pack, notes is not None):
        if notes is not None:
            notes.append(f"MDC{letter}: {why}")
        outcome = assign_adrg(facts, pack, letter, notes)
        if outcome is None:
            continue
        if outcome == QY:
            reason = f"主要手术 {facts.ppx} 是手术室手术，但不属于 MDC{letter} 的任何 ADRG（歧义组）"
            return DrgGroup(QY, f"MDC{letter}", "", f"{letter}QY", reason, tuple(notes or ()))
        assert isinstance(outcome, AdrgRule)
        drg = split_drg(facts, pack, outcome, notes)
        return DrgGroup(OK, f"MDC{letter}", outcome.code, drg, "", tuple(notes or ()))
    return ungrouped(no_mdc_reason(facts, pack), notes)


def ungrouped(reason: str, notes: list[str] | None) -> DrgGroup:
    if notes is not None:
        notes.append(f"未入组: {reason}")
    return DrgGroup(UNGROUPED, "", "", UNGROUPED_DRG, reason, tuple(notes or ()))


# --- step 1: codes ------------------------------------------------------------------------------------------


def validate_codes(case: DrgCase, pack: DrgPack) -> str | None:
    """The reason a case cannot be grouped before any rule is tried, or None."""
    if not case.diagnoses:
        return "缺少主要诊断"
    for i, code in enumerate(case.diagnoses):
        if not well_formed_dx(code):
            return f"{'主要' if i == 0 else '其他'}诊断编码格式错误: {code[:24]}"
    for code in case.procedures:
        if not well_formed_px(code):
            return f"手术操作编码格式错误: {code[:24]}"
    if case.diagnoses[0] not in pack.known_dx:
        return f"主要诊断编码未知（不在本方案的任何表中）: {case.diagnoses[0]}"
    return None


@lru_cache(maxsize=1 << 17)
def well_formed_dx(code: str) -> bool:
    return DX_CODE.fullmatch(code) is not None


@lru_cache(maxsize=1 << 16)
def well_formed_px(code: str) -> bool:
    return PX_CODE.fullmatch(code) is not None


# --- step 2: MDC ----------------------------------------------------------------------------------------------


def candidate_mdcs(f: Facts, pack: DrgPack, explain: bool = True) -> list[tuple[str, str]]:
    """The MDCs to try, in the scheme's fixed order, each with the rule that admitted the case (written
    out only with ``explain``)."""
    found: list[tuple[str, str]] = []
    for letter in pack.pre_mdc:
        why = PRE_MDC_RULES[letter](f, pack)
        if why:
            found.append((letter, why))
    for letter in pack.dx_mdcs.get(f.pdx, ()):
        sex = pack.mdc_sex.get(letter)
        if sex is None or sex == f.gend:
            found.append((letter, f"主要诊断 {f.pdx} 在 MDC{letter} 主诊表" if explain else ""))
    return found


def enters_a(f: Facts, pack: DrgPack) -> str:
    if f.ppx is not None and not pack.a_procedures.isdisjoint(f.px):
        return "有 MDCA（先期分组）手术操作"
    return ""


def enters_p(f: Facts, pack: DrgPack) -> str:
    if f.age_days < NEONATE_DAYS:
        return f"出生年龄 {f.age_days} 天 < {NEONATE_DAYS} 天"
    if f.age == 0 and f.pdx in pack.mdc_lists["P"]:
        return f"不足1周岁，主要诊断 {f.pdx} 在 MDCP 主诊表"
    return ""


def enters_y(f: Facts, pack: DrgPack) -> str:
    hiv = pack.mdc_lists["Y"]
    if hiv.isdisjoint(f.dx):
        return ""
    return f"HIV 诊断 {', '.join(sorted(f.dx & hiv))}"


def enters_z(f: Facts, pack: DrgPack) -> str:
    sites = pack.trauma_sites
    if f.pdx not in sites:
        return ""
    hit = {sites[c] for c in f.dx if c in sites}
    return f"多发严重创伤: {'、'.join(sorted(hit))}" if len(hit) >= 2 else ""


PRE_MDC_RULES = {"A": enters_a, "P": enters_p, "Y": enters_y, "Z": enters_z}


def no_mdc_reason(f: Facts, pack: DrgPack) -> str:
    listed = [letter for letter, codes in pack.mdc_lists.items() if f.pdx in codes]
    sexed = [m for m in listed if m in pack.mdc_sex and pack.mdc_sex[m] != f.gend]
    if listed and len(sexed) == len(listed):
        return f"性别与主要诊断不符: {f.pdx} 属 MDC{sexed[0]}（{pack.mdc_names['MDC' + sexed[0]]}）"
    if not listed:
        return f"主要诊断 {f.pdx} 不在任何 MDC 主诊表中"
    if all(m in pack.pre_mdc for m in listed):
        return f"主要诊断 {f.pdx} 只见于 MDC{listed[0]} 主诊表，病例不满足其入组条件（年龄、HIV 或多发创伤）"
    return f"主要诊断 {f.pdx} 所在 MDC 的 ADRG 条件均不满足"


# --- step 3: ADRG --------------------------------------------------------------------------------------------


def assign_adrg(f: Facts, pack: DrgPack, letter: str, notes: list[str] | None) -> AdrgRule | str | None:
    """The ADRG the case falls in within MDC ``letter``, ``QY``, or None (the next MDC is tried).

    QY belongs to an MDC the principal diagnosis put the case in; a pre-MDC entered otherwise (MDCA by
    its procedure, MDCP by age alone, MDCY by an HIV secondary diagnosis) hands the case on instead."""
    if f.ppx is not None:
        for rule in pack.procedure_rules[letter]:
            if matches(rule, f):
                if notes is not None:
                    notes.append(f"ADRG {rule.code}: {explain(rule, f)}")
                return rule
        if f.ppx_is_or and (letter not in pack.pre_mdc or f.pdx in pack.mdc_lists[letter]):
            if notes is not None:
                notes.append(f"歧义: 主要手术 {f.ppx} 不属于 MDC{letter} 的任何手术 ADRG")
            return QY
    for rule in pack.medical_rules[letter]:
        if matches(rule, f):
            if notes is not None:
                notes.append(f"ADRG {rule.code}: {explain(rule, f)}")
            return rule
    if notes is not None:
        notes.append(f"MDC{letter} 无匹配的 ADRG，继续下一 MDC")
    return None


def matches(rule: AdrgRule, f: Facts) -> bool:
    """Whether the case meets every condition of the ADRG (its lists, and the age/weight of its name)."""
    if rule.principal_dx is not None and f.pdx not in rule.principal_dx:
        return False
    if rule.principal_px is not None and f.ppx not in rule.principal_px:
        return False
    if rule.age_days is not None and not rule.age_days[0] <= f.age_days < rule.age_days[1]:
        return False
    if rule.weight_g is not None and (
        f.weight_g is None or not rule.weight_g[0] <= f.weight_g < rule.weight_g[1]
    ):
        return False
    if rule.any_dx is not None and rule.any_dx.isdisjoint(f.dx):
        return False
    for group in rule.all_px:
        if group.isdisjoint(f.px):
            return False
    if rule.alternatives and not any(
        all(not rule.px_tables[t].isdisjoint(f.px) for t in alt) for alt in rule.alternatives
    ):
        return False
    if rule.any_or and not f.ppx_is_or:
        return False
    return not (rule.no_or and f.ppx_is_or)


def explain(rule: AdrgRule, f: Facts) -> str:
    """The conditions that admitted the case, in the scheme's words (trace only)."""
    parts = []
    if rule.principal_dx is not None:
        parts.append(f"主要诊断 {f.pdx} 在主要诊断表")
    if rule.principal_px is not None:
        parts.append(f"主要手术 {f.ppx} 在主要手术或操作表")
    if rule.any_dx is not None:
        parts.append(f"诊断 {', '.join(sorted(f.dx & rule.any_dx))} 在诊断表")
    for i, group in enumerate(rule.all_px, 1):
        parts.append(f"同时包含表{i}: {', '.join(sorted(f.px & group))}")
    for alt in rule.alternatives:
        if all(not rule.px_tables[t].isdisjoint(f.px) for t in alt):
            parts.append("手术表 " + "+".join(str(t) for t in alt))
            break
    if rule.any_or:
        parts.append(f"主要手术 {f.ppx} 为手术室手术（全部手术）")
    if rule.no_or:
        parts.append("无手术室手术")
    if rule.age_days is not None:
        parts.append(f"年龄 {f.age_days} 天在 [{rule.age_days[0]}, {rule.age_days[1]}) 天")
    if rule.weight_g is not None:
        parts.append(f"体重 {f.weight_g} 克在 [{rule.weight_g[0]}, {rule.weight_g[1]}) 克")
    return "；".join(parts)


# --- step 4: DRG split ---------------------------------------------------------------------------------


def complication_level(f: Facts, pack: DrgPack, notes: list[str] | None = None) -> int:
    """1 with an MCC, 3 with a CC, 5 with neither: the secondary diagnoses that count after exclusion."""
    tables = pack.exclusions.get(f.pdx, NO_TABLES)
    complications = pack.complications
    level = 5
    for code in f.others:
        hit = complications.get(code)
        if hit is None:
            if notes is not None:
                notes.append(f"其他诊断 {code}: 非 CC/MCC")
            continue
        severity, table = hit
        if table is not None and table in tables:
            if notes is not None:
                notes.append(
                    f"其他诊断 {code}: {SEVERITY_WORDS[severity]}，被排除表 表 {table} 取消（主要诊断 {f.pdx} 在表中）"
                )
            continue
        if notes is not None:
            where = f"排除表 表 {table}" if table else "无排除表"
            notes.append(f"其他诊断 {code}: {SEVERITY_WORDS[severity]} 计入（{where}）")
        if severity < level:
            level = severity
            if level == MCC and notes is None:
                break
    return level


def split_drg(f: Facts, pack: DrgPack, rule: AdrgRule, notes: list[str] | None = None) -> str:
    """The DRG within the ADRG: its splits (``135``, ``15``, ``35``, ``9``) and the case's complication level.

    The suffixes are tried from the most severe: 1 (伴严重并发症或合并症) takes an MCC, 3 (伴并发症或合并症) a
    CC or an MCC, 5 the rest. So an ADRG split 1/5 keeps a case with only a CC in 5 (its CC cases were merged
    with those without, as the 3/5 splits merged the MCC cases into 3), and one split 3/5 puts an MCC in 3."""
    splits = rule.splits
    if splits == "9":
        if notes is not None:
            complication_level(f, pack, notes)  # listed for the trace; a 9 ADRG is not split by them
            notes.append(f"DRG {rule.code}9: 不细分")
        return rule.code + "9"
    level = complication_level(f, pack, notes)
    if level == MCC and "1" in splits:
        digit = "1"
    elif level <= CC and "3" in splits:
        digit = "3"
    else:
        digit = "5" if "5" in splits else splits[-1]
    if notes is not None:
        notes.append(
            f"DRG {rule.code}{digit}: {('MCC', '', 'CC', '', '无 CC/MCC')[level - 1]}，本 ADRG 细分 {splits}"
        )
    return rule.code + digit
