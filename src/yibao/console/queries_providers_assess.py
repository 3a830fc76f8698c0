"""定点管理 · 年度考核: the years assessed, a year's distribution by grade (every band, highest first), its
sheets as a database-paged list (filtered by grade and institution), one institution's sheet — each
indicator's source, value and points, the notes — and the assessment as a background job."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_providers import class_name, class_of, people, problem_text, region, scheme
from yibao.store.tables import Institution, ProviderAssessment, ProviderAssessmentSheet

FIGURE_NAMES = {
    "settlement_compliance": "结算合规率",
    "upheld_suspicion_rate": "查实疑点率（每百人次）",
    "upheld_amount_share": "查实违规金额占基金支付比例",
    "payment_indicator": "DRG/DIP 付费考核",
}


def years(s: Session) -> list[int]:
    return list(
        s.scalars(
            select(ProviderAssessment.year)
            .where(ProviderAssessment.admdvs == region())
            .order_by(ProviderAssessment.year.desc())
        )
    )


def summary(s: Session, year: int) -> dict | None:
    """The year's run: when and by whom, and the count per grade named (优秀 / 合格 / 基本合格 / 不合格)."""
    run = s.scalar(
        select(ProviderAssessment).where(
            ProviderAssessment.admdvs == region(), ProviderAssessment.year == year
        )
    )
    if run is None:
        return None
    sc = scheme()
    who = people(s, [run.assessed_by])
    bands = [
        {"grade": b.grade, "name": b.name, "min": str(b.min), "count": int(run.distribution.get(b.grade, 0))}
        for b in sc.bands
    ]
    return {
        "year": year,
        "total": sum(b["count"] for b in bands),
        "bands": bands,
        "at": f"{run.assessed_at:%Y-%m-%d %H:%M}",
        "by": who.get(run.assessed_by, run.assessed_by),
    }


def chart(bands: list[dict]) -> dict:
    """The distribution as an ECharts bar chart (count per grade, a colour per band)."""
    colours = ["#2e7d32", "#0277bd", "#f9a825", "#c62828"]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 24, "bottom": 32},
        "xAxis": {"type": "category", "data": [b["name"] for b in bands]},
        "yAxis": {"type": "value", "name": "家", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "barMaxWidth": 56,
                "label": {"show": True, "position": "top"},
                "data": [
                    {"value": b["count"], "itemStyle": {"color": colours[i % len(colours)]}}
                    for i, b in enumerate(bands)
                ],
            }
        ],
    }


@dataclass(frozen=True)
class SheetFilter:
    year: int
    grade: str = ""
    text: str = ""

    def describe(self) -> str:
        parts = [f"{self.year} 年"]
        if self.grade:
            parts.append(f"等次：{grade_names().get(self.grade, self.grade)}")
        if self.text:
            parts.append(f"机构：{self.text}")
        return "筛选：" + "；".join(parts)


def grade_names() -> dict[str, str]:
    return {b.grade: b.name for b in scheme().bands}


SHEET_COLUMNS = [
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构名称"),
    ("cls", "机构类别"),
    ("total", "总分"),
    ("grade", "等次"),
    ("notes", "说明"),
]
SHEET_UNSORTED = ("cls", "notes")
_SH, _A, _I = ProviderAssessmentSheet, ProviderAssessment, Institution
SHEET_ORDER = {
    "fixmedins_code": _SH.fixmedins_code,
    "fixmedins_name": _I.fixmedins_name,
    "total": (func.length(_SH.total), _SH.total),  # (decimal text: shorter is smaller, 100.00 after 99.50)
    "grade": _SH.grade,
}


def _sheets(f: SheetFilter):
    q = (
        select(_SH, _I)
        .join(_A, _A.id == _SH.assessment_id)
        .join(_I, _I.fixmedins_code == _SH.fixmedins_code)
        .where(_A.year == f.year, _A.admdvs == region())
    )
    if f.grade:
        q = q.where(_SH.grade == f.grade)
    text = f.text.strip()
    if text:
        q = q.where(or_(_I.fixmedins_name.like(f"%{text}%"), _SH.fixmedins_code.like(f"%{text}%")))
    return q


def sheet_count(s: Session, f: SheetFilter) -> int:
    return s.scalar(select(func.count()).select_from(_sheets(f).subquery())) or 0


def sheet_records(
    s: Session, f: SheetFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> list[dict]:
    sc, names = scheme(), grade_names()
    q = paged(_sheets(f), SHEET_ORDER, order, "total", _SH.fixmedins_code, offset=offset, limit=limit)
    return [
        {
            "fixmedins_code": sh.fixmedins_code,
            "fixmedins_name": inst.fixmedins_name,
            "cls": class_name(sc, class_of(inst.fixmedins_type, inst.beds)),
            "total": Decimal(sh.total),
            "grade": names.get(sh.grade, sh.grade),
            "notes": f"{len(sh.notes or ())} 条" if sh.notes else "",
        }
        for sh, inst in s.execute(q)
    ]


def _shown(value: str | None, figure: str | None) -> str:
    if value is None:
        return "缺"
    d = Decimal(value)
    if figure in ("settlement_compliance", "upheld_amount_share"):
        return f"{(d * 100).quantize(Decimal('0.01'))}%"
    return f"{d.normalize():f}" if d == d.to_integral() else str(d)


def sheet_detail(s: Session, year: int, code: str) -> dict | None:
    """One institution's sheet: per indicator its source (计算 / 录入), value, points of its full points; the
    total, the grade and what it brings; the notes in Chinese."""
    from yibao.providers.service.assessments import consequences

    row = s.execute(_sheets(SheetFilter(year)).where(_SH.fixmedins_code == code)).first()
    if row is None:
        return None
    sh, inst = row
    sc = scheme()
    manual = {k for k, v in (sh.manual or {}).items() if v is not None}
    lines = []
    for ind in sc.assessment_indicators:
        figure = ind.figure
        source = (
            "录入"
            if ind.code in manual
            else (FIGURE_NAMES.get(figure, figure) if figure else "录入（未录入）")
        )
        lines.append(
            {
                "code": ind.code,
                "name": ind.name,
                "source": source if ind.code not in manual or not figure else "录入（替代计算值）",
                "value": _shown((sh.values or {}).get(ind.code), figure),
                "points": f"{Decimal((sh.points or {}).get(ind.code) or 0).quantize(Decimal('0.01'))} / {ind.points}",
                "manual": ind.code in manual,
                "entered": (sh.manual or {}).get(ind.code) or "",
                "is_manual": figure is None,
            }
        )
    outcome = consequences(sc, sh.grade)
    return {
        "year": year,
        "code": code,
        "name": inst.fixmedins_name,
        "cls": class_name(sc, class_of(inst.fixmedins_type, inst.beds)),
        "total": sh.total,
        "grade": outcome.name,
        "outcome": outcome.describe(),
        "lines": lines,
        "notes": [problem_text(n) for n in sh.notes or ()],
    }


def entered(s: Session, year: int, codes: set[str]) -> dict[str, dict[str, str]]:
    """The figures staff entered on the year's earlier sheets (kept when the year is assessed again)."""
    q = select(_SH.fixmedins_code, _SH.manual).join(_A, _A.id == _SH.assessment_id)
    rows = s.execute(q.where(_A.year == year, _A.admdvs == region()))
    return {c: {k: v for k, v in (m or {}).items() if v is not None} for c, m in rows if c in codes and m}


def assess_work(progress: Callable, *, year: int, actor: str, path: str) -> tuple[Path, str]:
    """(A job's work, in its own process) 年度考核 of ``year`` for the console's region: the sheets scored as
    they go; the distribution written to ``path``. A refusal is the job's one-line failure."""
    from yibao.providers.service.assessments import assess_year
    from yibao.store import provider_figures
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        kept = entered(s, year, {i.fixmedins_code for i in provider_figures.in_force(s, region(), year)})
        run = assess_year(s, region(), year, actor=actor, manual=kept, progress=progress)
        report = {"year": year, "distribution": dict(run.distribution)}
    Path(path).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return Path(path), Path(path).name
