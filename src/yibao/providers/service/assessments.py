"""年度考核 (annual assessment) of a region's designated institutions: every institution with an agreement in
force during the year is scored on the scheme's assessment indicators (:func:`yibao.providers.assessment.assess`)
from the figures yibao computes (:mod:`yibao.store.provider_figures`: settlement compliance, upheld
suspicions, the upheld amount's share of the fund paid, the DRG/DIP statement) and those staff enter (现场检查,
投诉举报, 好差评 …, by indicator code); the grade brings the scheme's consequences (quality deposit returned,
renewal, inspections per year).

A figure that is missing earns 0 points and the sheet notes why; one that does not apply is a 合理缺项 and is
valued at its target, noted too — the DRG/DIP indicator for a clinic or pharmacy (no inpatient cases to pay
by group). A figure staff enter for a computed indicator replaces the computed one (noted). A second
assessment of the year replaces the first; :func:`set_manual` re-scores one sheet. Each writes its audit row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound
from yibao.providers.assessment import assess
from yibao.providers.scheme import HOSPITAL, ProviderScheme, institution_class
from yibao.providers.service.common import record, require_scheme
from yibao.store import provider_figures as figures_store
from yibao.store.tables import Institution, ProviderAssessment, ProviderAssessmentSheet

ASSESSMENT = "provider_assessment"  # the audit rows' entities
SHEET = "provider_assessment_sheet"
NOT_APPLICABLE = {"payment_indicator": HOSPITAL}  # figure → the only class it applies to
MISSING = {
    "settlement_compliance": "{year} 年无结算 (no settlement in the year)",
    "upheld_suspicion_rate": "{year} 年无结算 (no settlement in the year)",
    "upheld_amount_share": "{year} 年无结算，或有查实金额而基金未支付 (no settlement, or no fund paid)",
    "payment_indicator": "{year} 年无 DRG/DIP 付费病例 (no DRG/DIP case in the year's payment runs)",
}

Manual = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Scored:
    """One institution's sheet before it is stored: values by indicator code (None: missing), the manual
    figures, the points, the notes, the total and the grade."""

    values: dict[str, Decimal | None]
    manual: dict[str, Decimal]
    points: dict[str, Decimal]
    notes: list[str]
    total: Decimal
    grade: str


@dataclass(frozen=True)
class Outcome:
    """What a grade brings (the scheme's ``assessment.consequences``)."""

    grade: str
    name: str
    deposit_return: Decimal
    renew: bool
    inspections_per_year: int

    def describe(self) -> str:
        share = (self.deposit_return * 100).normalize()
        return (
            f"质量保证金返还 {share:f}%，{'续签协议' if self.renew else '不予续签'}，"
            f"每年现场检查 {self.inspections_per_year} 次"
        )


def consequences(scheme: ProviderScheme, grade: str) -> Outcome:
    """The policy's consequence of ``grade``: the share of the quality deposit returned, renewal, and the
    on-site inspections per year."""
    band = next((b for b in scheme.bands if b.grade == grade), None)
    found = scheme.consequences.get(grade)
    if band is None or found is None:
        raise InputError(f"grade: 未知的考核等次 {grade} (unknown grade)")
    return Outcome(grade, band.name, found.deposit_return, found.renew, found.inspections_per_year)


# --- the figures staff enter -----------------------------------------------------------------------------------


def figure_value(raw: Any, where: str) -> Decimal:
    """A figure entered by staff: an exact number ≥ 0 (text or Decimal, never a float)."""
    if isinstance(raw, bool | float):
        raise InputError(f"{where}: 应为数字文本或 Decimal，不是 {raw!r} (an exact number)")
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise InputError(f"{where}: 不是数字 {str(raw)[:20]!r} (not a number)") from None
    if not value.is_finite() or value < 0:
        raise InputError(f"{where}: 应为不小于 0 的数 (a number ≥ 0, got {value})")
    return value


def check_manual(manual: Manual | None, scheme: ProviderScheme, codes: set[str], year: int) -> dict:
    """The entered figures checked: each institution assessed in the year, each key an indicator code."""
    known = {i.code for i in scheme.assessment_indicators}
    out: dict[str, dict[str, Decimal]] = {}
    for code, given in (manual or {}).items():
        if code not in codes:
            raise InputError(f"manual.{code}: {code} 在 {year} 年没有医保服务协议，不参加考核")
        row = {}
        for key, raw in given.items():
            if key not in known:
                raise InputError(
                    f"manual.{code}.{key}: 未知的考核指标 {key} (unknown indicator; known: {', '.join(sorted(known))})"
                )
            if raw is not None and str(raw).strip() != "":
                row[key] = figure_value(raw, f"manual.{code}.{key}")
        out[code] = row
    return out


# --- scoring ---------------------------------------------------------------------------------------------------


def score(
    scheme: ProviderScheme,
    year: int,
    cls: str,
    computed: Mapping[str, Decimal | None],
    manual: Mapping[str, Decimal],
) -> Scored:
    """One institution's sheet: each indicator's value (entered, computed, 合理缺项 or missing), then
    :func:`assess`."""
    values: dict[str, Decimal | None] = {}
    notes: list[str] = []
    for ind in scheme.assessment_indicators:
        label = f"{ind.code} {ind.name}"
        figure = ind.figure
        if ind.code in manual:
            values[ind.code] = manual[ind.code]
            if figure:
                notes.append(f"{label}: 采用录入值 {manual[ind.code]}（计算值 {computed.get(figure)}）")
        elif figure is None:
            values[ind.code] = None
            notes.append(f"{label}: 未录入，得 0 分 (not entered)")
        elif figure in NOT_APPLICABLE and cls != NOT_APPLICABLE[figure]:
            values[ind.code] = ind.target
            notes.append(f"{label}: 合理缺项，按满分计 (not applicable to a {cls})")
        else:
            values[ind.code] = computed.get(figure)
            if values[ind.code] is None:
                why = MISSING.get(figure, "无数据 (no data)").format(year=year)
                notes.append(f"{label}: {why}，得 0 分")
    points, total, band = assess(values, scheme)
    return Scored(values, dict(manual), points, notes, total, band.grade)


def _strings(d: Mapping[str, Decimal | None]) -> dict[str, str | None]:
    return {k: (None if v is None else str(v)) for k, v in d.items()}


def _fill(sheet: ProviderAssessmentSheet, x: Scored) -> None:
    sheet.values, sheet.manual, sheet.points = _strings(x.values), _strings(x.manual), _strings(x.points)
    sheet.notes, sheet.total, sheet.grade = list(x.notes), str(x.total), x.grade


def distribution(scheme: ProviderScheme, grades) -> dict[str, int]:
    """Count per grade, every band listed (highest first)."""
    out = {b.grade: 0 for b in scheme.bands}
    for g in grades:
        out[g] += 1
    return out


# --- the use cases -------------------------------------------------------------------------------------------


def assess_year(
    s,
    admdvs: str,
    year: int,
    *,
    actor: str,
    manual: Manual | None = None,
    regions_dir: Path | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ProviderAssessment:
    """年度考核 of ``year`` for the region ``admdvs`` (a city takes its districts): every institution with an
    agreement in force during the year gets its sheet; an earlier assessment of the year is replaced.
    ``progress(done, total)`` is told of the sheets as they are scored."""
    now = now or datetime.now()
    scheme = require_scheme(admdvs, regions_dir)
    if not 1900 < year < 3000:
        raise InputError(f"year: 考核年度应为四位年份，不是 {year}")
    insts = figures_store.in_force(s, admdvs, year)
    if not insts:
        raise InputError(f"year: 医保区划 {admdvs} 在 {year} 年没有签订医保服务协议的定点医药机构")
    entered = check_manual(manual, scheme, {i.fixmedins_code for i in insts}, year)
    computed = figures_store.figures(s, year, [i.fixmedins_code for i in insts])
    earlier = figures_store.assessment_of(s, admdvs, year)
    before = None
    if earlier is not None:
        before = {"id": earlier.id, "distribution": earlier.distribution, "assessed_at": earlier.assessed_at}
        s.execute(delete(ProviderAssessmentSheet).where(ProviderAssessmentSheet.assessment_id == earlier.id))
        s.delete(earlier)
        s.flush()
    run = ProviderAssessment(admdvs=admdvs, year=year, distribution={}, assessed_by=actor, assessed_at=now)
    s.add(run)
    s.flush()
    grades = []
    for inst in insts:
        x = score(scheme, year, institution_class(inst.fixmedins_type, inst.beds), computed[inst.fixmedins_code],
                  entered.get(inst.fixmedins_code, {}))  # fmt: skip
        sheet = ProviderAssessmentSheet(assessment_id=run.id, fixmedins_code=inst.fixmedins_code)
        _fill(sheet, x)
        s.add(sheet)
        grades.append(x.grade)
        if progress is not None and (len(grades) % 50 == 0 or len(grades) == len(insts)):
            progress(len(grades), len(insts))
    run.distribution = distribution(scheme, grades)
    s.flush()
    record(s, Action.ASSESS, ASSESSMENT, f"{admdvs}-{year}", actor=actor, at=now, before=before,
           after={"id": run.id, "institutions": len(insts), "distribution": run.distribution,
                  "manual": sorted(entered)})  # fmt: skip
    return run


def set_manual(
    s,
    year: int,
    fixmedins_code: str,
    figures: Mapping[str, Any],
    *,
    actor: str,
    regions_dir: Path | None = None,
    now: datetime | None = None,
) -> ProviderAssessmentSheet:
    """Staff's figures for one institution of the year's assessment (by indicator code; an empty value
    removes an entry): its sheet re-scored with the figures computed now, the distribution updated."""
    now = now or datetime.now()
    sheet = figures_store.sheet_of(s, year, fixmedins_code)
    if sheet is None:
        raise NotFound(f"fixmedins_code: {fixmedins_code} 没有 {year} 年的考核表 (assess the year first)")
    run = s.get(ProviderAssessment, sheet.assessment_id, with_for_update=True, populate_existing=True)
    scheme = require_scheme(run.admdvs, regions_dir)
    known = {i.code for i in scheme.assessment_indicators}
    manual = {k: Decimal(v) for k, v in (sheet.manual or {}).items() if v is not None}
    for key, raw in figures.items():
        if key not in known:
            raise InputError(
                f"{key}: 未知的考核指标 {key} (unknown indicator; known: {', '.join(sorted(known))})"
            )
        if raw is None or str(raw).strip() == "":
            manual.pop(key, None)
        else:
            manual[key] = figure_value(raw, key)
    inst = s.get(Institution, fixmedins_code)
    computed = figures_store.figures(s, year, [fixmedins_code])[fixmedins_code]
    before = {"manual": sheet.manual, "total": sheet.total, "grade": sheet.grade}
    x = score(scheme, year, institution_class(inst.fixmedins_type, inst.beds), computed, manual)
    _fill(sheet, x)
    s.flush()
    run.distribution = distribution(scheme, figures_store.grades_of(s, run.id))
    s.flush()
    record(s, Action.RESCORE, SHEET, f"{run.admdvs}-{year}-{fixmedins_code}", actor=actor, at=now,
           before=before, after={"manual": sheet.manual, "total": sheet.total, "grade": sheet.grade,
                                 "distribution": run.distribution})  # fmt: skip
    return sheet


def sheets(s, admdvs: str, year: int) -> tuple[ProviderAssessment, list[ProviderAssessmentSheet]]:
    """The year's assessment and its sheets by institution code, or NotFound."""
    run = figures_store.assessment_of(s, admdvs, year)
    if run is None:
        raise NotFound(f"year: 医保区划 {admdvs} 尚无 {year} 年的年度考核")
    return run, figures_store.sheets_of(s, run.id)
