"""The DIP grouper (按病种分值付费 分组器): a pure function of one case and a region's loaded catalogue.

One function per step of the grouping pipeline (payment-drg-dip.md §3.2):

1. ``validate_codes`` — the codes are well formed (the same shapes as the DRG grouper);
2. ``treatment_of`` — each procedure's type from the procedure-attribute table, the qualifying procedures
   and the case's highest treatment type (相关手术 > 治疗性操作 > 诊断性操作 > 保守治疗);
3. ``core_match`` — the core and 基层 rows whose diagnosis key is a prefix of the principal diagnosis and
   whose procedure expression the case's procedures satisfy; the 保守治疗 row (no expression) when the case
   has no qualifying procedure; ties broken by the ``tie_break`` parameter, then file order;
4. ``comprehensive_match`` — no core candidate: the comprehensive row for the principal diagnosis's 类目,
   else the narrowest range holding it, × the case's highest treatment type;
5. ``apply_aux`` — the auxiliary coefficient of a core group (基层 and comprehensive groups: 1).

Hospital coefficients and deviation handling (§3.4–3.5) need the hospital and the cost, and belong to
pricing: the grouper gives the score and the auxiliary coefficient. With ``trace`` the result carries each
step's finding in Chinese.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from yibao.payment.cases import DrgCase
from yibao.payment.dip_aux import aux_coefficient, facts_of
from yibao.payment.dip_catalogue import BASIC, CORE, TREATMENTS, DipCatalogue, DipRow
from yibao.payment.dip_tables import satisfied
from yibao.payment.drg import well_formed_dx, well_formed_px

OK, UNGROUPED = "ok", "ungrouped"
POINTS = Decimal("0.0001")


class DipGroup(NamedTuple):
    """The grouping of one case: ``status`` ok / ungrouped, ``dip_code``, ``dip_type`` (core, basic,
    comprehensive), ``score`` (the group's 分值 as published), ``aux_coef`` and ``points`` (score × aux_coef,
    4 places), ``reason`` (why ungrouped, in Chinese) and the trace."""

    status: str
    dip_code: str
    dip_type: str
    score: str
    aux_coef: str
    points: str
    reason: str
    trace: tuple[str, ...] = ()


class Treatment(NamedTuple):
    procedures: frozenset[str]
    qualifying: frozenset[str]
    highest: str


def group_dip_case(case: DrgCase, cat: DipCatalogue, trace: bool = False) -> DipGroup:
    """Group one case; never raises for a case's content (a bad case is ``ungrouped`` with its reason)."""
    notes: list[str] | None = [] if trace else None
    refusal = validate_codes(case)
    if refusal:
        return ungrouped(refusal, notes)
    pdx = case.diagnoses[0]
    treatment = treatment_of(case.procedures, cat, notes)
    row = core_match(pdx, treatment, cat, notes) or comprehensive_match(pdx, treatment, cat, notes)
    if row is None:
        return ungrouped(no_group_reason(pdx, treatment, cat), notes)
    coef = apply_aux(case, row, cat, notes)
    points = (row.score * coef).quantize(POINTS, ROUND_HALF_UP)
    if notes is not None:
        notes.append(f"分值 {row.score} × 辅助系数 {coef} = {points}")
    return DipGroup(
        OK, row.dip_code, row.dip_type, str(row.score), str(coef), str(points), "", tuple(notes or ())
    )


def ungrouped(reason: str, notes: list[str] | None) -> DipGroup:
    if notes is not None:
        notes.append(f"未入组: {reason}")
    return DipGroup(UNGROUPED, "", "", "", "", "", reason, tuple(notes or ()))


# --- step 1: codes --------------------------------------------------------------------------------------------


def validate_codes(case: DrgCase) -> str | None:
    if not case.diagnoses:
        return "缺少主要诊断"
    for i, code in enumerate(case.diagnoses):
        if not well_formed_dx(code):
            return f"{'主要' if i == 0 else '其他'}诊断编码格式错误: {code[:24]}"
    for code in case.procedures:
        if not well_formed_px(code):
            return f"手术操作编码格式错误: {code[:24]}"
    return None


# --- step 2: treatment type -------------------------------------------------------------------------------


def procedure_type(code: str, types: dict[str, str]) -> str | None:
    """The treatment type of a procedure: its own row, else the longest prefix (``45.1``, ``88``) listed."""
    for end in range(len(code), 1, -1):
        found = types.get(code[:end])
        if found is not None:
            return found
    return None


def treatment_of(procedures: tuple[str, ...], cat: DipCatalogue, notes: list[str] | None) -> Treatment:
    qualifying = set()
    rank = 0
    for code in procedures:
        kind = procedure_type(code, cat.procedure_types)
        if kind is None:
            if notes is not None:
                notes.append(f"手术操作 {code}: 不在手术操作属性表中，不计治疗方式")
            continue
        if kind in cat.params.qualifying_types:
            qualifying.add(code)
            rank = max(rank, TREATMENTS.index(kind))
        if notes is not None:
            notes.append(f"手术操作 {code}: {kind}")
    return Treatment(frozenset(procedures), frozenset(qualifying), TREATMENTS[rank])


# --- step 3: core match -----------------------------------------------------------------------------------


def core_match(pdx: str, t: Treatment, cat: DipCatalogue, notes: list[str] | None) -> DipRow | None:
    """The core or 基层 row the case falls in, or None."""
    candidates: list[tuple[DipRow, int]] = []
    for length in cat.key_lengths:
        for row in cat.by_key.get(pdx[:length], ()):
            if not row.expression:
                used, fits = 0, not t.qualifying
            else:
                used = satisfied(row.expression, t.procedures)
                fits = used > 0
            if notes is not None:
                what = row.procedures or "保守治疗"
                notes.append(f"核心病种 {row.dip_code}（{row.key} + {what}）: {'满足' if fits else '不满足'}")
            if fits:
                candidates.append((row, used))
    if not candidates:
        return None
    best = min(candidates, key=lambda c: tie_key(c[0], c[1], cat.params.tie_break))
    if notes is not None and len(candidates) > 1:
        notes.append(f"{len(candidates)} 个候选，按 {' > '.join(cat.params.tie_break)} 取 {best[0].dip_code}")
    return best[0]


def tie_key(row: DipRow, used: int, order: tuple[str, ...]) -> tuple:
    """Smaller is better: most procedures matched, highest score, lowest score or file order, as the
    parameter lists them; file order last, so the choice never depends on anything else."""
    parts: dict[str, object] = {
        "procedures_matched": -used,
        "score": -row.score,
        "score_low": row.score,
        "row": row.line,
    }
    return (*(parts[name] for name in order), row.line)


# --- step 4: comprehensive fallback -------------------------------------------------------------------------


def comprehensive_keys(pdx: str, cat: DipCatalogue) -> list[str]:
    """The comprehensive keys that hold the principal diagnosis, most specific first."""
    category = pdx[:3]
    return [category] + [key for low, high, key in cat.ranges if low <= category <= high]


def comprehensive_match(pdx: str, t: Treatment, cat: DipCatalogue, notes: list[str] | None) -> DipRow | None:
    for key in comprehensive_keys(pdx, cat):
        row = cat.comprehensive.get((key, t.highest))
        if row is not None:
            if notes is not None:
                notes.append(f"无核心病种，综合病种 {row.dip_code}: {key} × {t.highest}")
            return row
    return None


def no_group_reason(pdx: str, t: Treatment, cat: DipCatalogue) -> str:
    known = [
        key for key in comprehensive_keys(pdx, cat) if any((key, k) in cat.comprehensive for k in TREATMENTS)
    ]
    if known:
        return f"主要诊断 {pdx} 无匹配的核心病种，综合病种 {known[0]} 没有治疗方式“{t.highest}”"
    return f"主要诊断 {pdx} 不在本地区病种目录中（无核心病种，也无综合病种）"


# --- step 5: auxiliary coefficient --------------------------------------------------------------------------


def apply_aux(case: DrgCase, row: DipRow, cat: DipCatalogue, notes: list[str] | None) -> Decimal:
    if row.dip_type != CORE:
        if notes is not None and row.dip_type == BASIC:
            notes.append("基层病种: 同病同价，不用辅助系数")
        return Decimal(1)
    rules = cat.aux.get(row.dip_code, ()) + cat.aux.get("*", ())
    if not rules:
        return Decimal(1)
    facts, families = facts_of(case, cat.cci)
    coef, hits = aux_coefficient(rules, facts, cat.params.aux_combine)
    cci = facts.cci
    if notes is not None:
        if cat.cci is not None:
            notes.append(
                f"CCI {cci}"
                + (f"（{'、'.join(f'{k} {v}' for k, v in sorted(families.items()))}）" if families else "")
            )
        for rule in hits:
            notes.append(
                f"辅助分型 {rule.dimension}/{rule.subtype}（{rule.condition}）: 系数 {rule.coefficient}"
            )
        if not hits:
            notes.append("无辅助分型: 系数 1")
    return coef
