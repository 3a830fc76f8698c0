"""评估 (evaluation): the panel, its members' conflicts of interest, each scorer's sheet, and the result.

A panel is experts of the scheme's fields (Chengdu: 医保管理, 信息技术, 医疗质控), at least one of each, plus
social supervisors (人大代表, 政协委员, 参保人). A scorer who works for the institution, or declares an
interest, is excluded (回避). Each scorer fills one sheet: every indicator of the scale scored between 0 and
its full marks. The result is the scheme's aggregate of the sheets' totals (Chengdu: the mean after
dropping the highest and the lowest), to two decimals, half up; it passes at the pass mark (inclusive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from yibao.errors import InputError
from yibao.providers.scheme_schema import ROLES, EvaluationRules

CENT = Decimal("0.01")
EXPERT, SUPERVISOR = ROLES


@dataclass(frozen=True)
class Scorer:
    """A member of the panel: an expert (``field``: 医保管理 …) or a social supervisor (``field``: the kind,
    人大代表 …); ``affiliation`` the fixmedins_code or 统一社会信用代码 of the organisation they work for."""

    scorer_id: str
    name: str
    role: str  # expert | supervisor
    field: str
    affiliation: str | None
    declared_conflict: bool


def conflict(scorer: Scorer, fixmedins_code: str, uscc: str | None) -> str | None:
    """Why ``scorer`` may not score the institution (回避), or None."""
    if scorer.declared_conflict:
        return f"scorer: {scorer.name} 申报与被评估机构存在利益关系，须回避 (declared conflict of interest)"
    mine = _norm(scorer.affiliation)
    if mine and mine in {_norm(fixmedins_code), _norm(uscc)}:
        return f"scorer: {scorer.name} 任职于被评估机构（{scorer.affiliation}），须回避 (works for the institution)"
    return None


def _norm(code: str | None) -> str:
    return (code or "").strip().upper()


def check_panel(scorers: Sequence[Scorer], rules: EvaluationRules) -> list[str]:
    """Every reason the panel cannot evaluate, one ``field: 原因`` each; [] when it can."""
    out: list[str] = []
    ids = [s.scorer_id for s in scorers]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"scorers: 评估人员 {dup} 重复 (scorer listed twice)")
    experts = [s for s in scorers if s.role == EXPERT]
    supervisors = [s for s in scorers if s.role == SUPERVISOR]
    for s in scorers:
        if s.role not in ROLES:
            out.append(f"scorers: {s.name} 的身份应为 expert 或 supervisor，不是 {s.role!r} (unknown role)")
    for s in experts:
        if s.field not in rules.expert_fields:
            out.append(
                f"scorers: 专家 {s.name} 的领域 {s.field} 不在 {'、'.join(rules.expert_fields)} 之中 (unknown field)"
            )
    for s in supervisors:
        if s.field not in rules.supervisor_kinds:
            out.append(
                f"scorers: 社会监督代表 {s.name} 的类别 {s.field} 不在 {'、'.join(rules.supervisor_kinds)} 之中 "
                "(unknown kind)"
            )
    if len(experts) < rules.min_experts:
        out.append(f"scorers: 专家 {len(experts)} 人，至少 {rules.min_experts} 人 (too few experts)")
    missing = [f for f in rules.expert_fields if not any(s.field == f for s in experts)]
    if missing:
        out.append(f"scorers: 缺少 {'、'.join(missing)} 领域的专家 (a field has no expert)")
    if len(supervisors) < rules.min_supervisors:
        out.append(
            f"scorers: 社会监督代表 {len(supervisors)} 人，至少 {rules.min_supervisors} 人 (too few supervisors)"
        )
    return out


def sheet_total(scores: Mapping[str, Any], rules: EvaluationRules) -> Decimal:
    """One scorer's total: every indicator of the scale scored (Decimal, whole number or text, at most two
    decimals), each between 0 and its full marks, nothing else. A problem is an :class:`InputError` naming
    the indicator."""
    known = {i.code for i in rules.indicators}
    unknown = sorted(set(scores) - known)
    if unknown:
        raise InputError(f"scores.{unknown[0]}: 评估量表中没有此指标 (not an indicator of the scale)")
    missing = [i.code for i in rules.indicators if i.code not in scores]
    if missing:
        raise InputError(f"scores.{missing[0]}: 未评分（未评分的指标：{'、'.join(missing)}） (not scored)")
    total = Decimal(0)
    for ind in rules.indicators:
        value = _score(scores[ind.code], ind.code)
        if value < 0:
            raise InputError(f"scores.{ind.code}: 评分 {value} 不能为负 (negative)")
        if value > ind.max_points:
            raise InputError(
                f"scores.{ind.code}: 评分 {value} 超过该项满分 {ind.max_points}（{ind.name}） (above full marks)"
            )
        total += value
    return total


def _score(raw: Any, code: str) -> Decimal:
    if isinstance(raw, bool | float) or not isinstance(raw, Decimal | int | str):
        raise InputError(f"scores.{code}: 评分应为数字（文本或 Decimal），不是 {raw!r} (not an exact number)")
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise InputError(f"scores.{code}: 评分 {str(raw)[:24]!r} 不是数字 (not a number)") from None
    if not value.is_finite():
        raise InputError(f"scores.{code}: 评分 {raw} 不是有限数 (not a finite number)")
    if -value.as_tuple().exponent > 2:  # type: ignore[operator]
        raise InputError(f"scores.{code}: 评分 {raw} 最多两位小数 (at most two decimals)")
    return value


def aggregate(totals: Sequence[Decimal], rules: EvaluationRules) -> Decimal:
    """The result of the sheets' totals by the scheme's method, to two decimals (half up):

    * ``trimmed_mean``: the mean after dropping ``trim`` highest and ``trim`` lowest totals — only when there
      are at least ``2 × trim + 1`` sheets; with fewer, the plain mean;
    * ``mean``; ``median`` (the mean of the middle two for an even count)."""
    if not totals:
        raise InputError("sheets: 没有评分表，无法汇总 (no sheets to aggregate)")
    ordered = sorted(Decimal(t) for t in totals)
    if rules.aggregate == "median":
        mid = len(ordered) // 2
        value = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    else:
        kept = ordered
        if rules.aggregate == "trimmed_mean" and rules.trim and len(ordered) >= 2 * rules.trim + 1:
            kept = ordered[rules.trim : len(ordered) - rules.trim]
        value = sum(kept, Decimal(0)) / len(kept)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def passed(result: Decimal, rules: EvaluationRules) -> bool:
    """Whether an evaluation result reaches the pass mark (60 分（含）以上)."""
    return result >= rules.pass_mark
