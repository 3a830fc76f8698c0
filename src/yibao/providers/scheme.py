"""A region's provider scheme (定点管理方案): the data agreement management runs on.

``regions/<admdvs>/providers/`` holds it, all of it data (Chengdu's numbers for the demo region):

* ``scheme.yaml`` — the institution classes (医院 / 门诊诊所 / 零售药店), the service categories an agreement
  grants and the ``med_type`` codes each opens at settlement, the application and exit terms, the evaluation
  panel and pass mark, the assessment's grade bands and their consequences, and the measures ladder;
* ``evaluation_scale.csv`` — the evaluation scale (评估量表), full marks summing to 100;
* ``assessment_indicators.csv`` — the annual assessment's indicators, points summing to 100;
* ``red_lines.csv`` — the termination grounds (红线), the national mandatory ones marked.

:func:`load_scheme` reads and checks all four, reporting every problem as ``file: key: reason``. The shapes
are in :mod:`yibao.providers.scheme_schema`, the readers in :mod:`yibao.providers.scheme_files`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.errors import InputError, PolicyError
from yibao.providers import scheme_files as f
from yibao.providers.scheme_schema import (
    AGGREGATES,
    CLASSES,
    DIRECTIONS,
    EFFECTS,
    FIGURES,
    ApplicationRules,
    AssessIndicator,
    Band,
    Consequence,
    EvaluationRules,
    Indicator,
    Measure,
    ProviderScheme,
    RedLine,
    ServiceCategory,
)

__all__ = [
    "AGGREGATES",
    "CLASSES",
    "DIRECTIONS",
    "EFFECTS",
    "FIGURES",
    "ApplicationRules",
    "AssessIndicator",
    "Band",
    "Consequence",
    "EvaluationRules",
    "Indicator",
    "Measure",
    "ProviderScheme",
    "RedLine",
    "ServiceCategory",
    "institution_class",
    "load_scheme",
]

HOSPITAL, CLINIC, PHARMACY = CLASSES


def institution_class(fixmedins_type: str, beds: int | None) -> str:
    """The class of an institution (3+1+N's "3"): a medical institution (``fixmedins_type`` 1) with beds is a
    hospital (医院, including township health centres with wards), one without is a clinic (门诊诊所: 门诊部,
    诊所, 卫生室); a retail pharmacy (2) is a pharmacy (零售药店)."""
    kind = str(fixmedins_type).strip()
    if kind == "2":
        return PHARMACY
    if kind != "1":
        raise InputError(
            f"fixmedins_type: 定点医药机构类别应为 1（医疗机构）或 2（零售药店），不是 {kind!r} (1 or 2)"
        )
    if beds is not None and (isinstance(beds, bool) or not isinstance(beds, int) or beds < 0):
        raise InputError(f"beds: 床位数应为不小于 0 的整数，不是 {beds!r} (a whole number ≥ 0)")
    return HOSPITAL if beds else CLINIC


def load_scheme(folder: Path) -> ProviderScheme:
    """The scheme of ``folder`` (``regions/<admdvs>/providers``), or one :class:`PolicyError` listing every
    problem of its four files, one line each."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PolicyError(f"{folder}: 定点管理方案目录不存在 (provider scheme folder not found)")
    problems: list[str] = []
    p = f.Problems(folder / f.SCHEME_FILE, problems)
    data = f.read_yaml(folder / f.SCHEME_FILE, p)
    indicators = f.scale(folder, problems)
    assessed = f.assessment_indicators(folder, problems)
    red_lines = f.red_lines(folder, problems)
    if data is None:  # (the reason is already a problem: not found, bad YAML, not a mapping)
        f.fail_if(problems)
        raise AssertionError("unreachable")
    start = _effective_from(p, data)
    names = _classes(p, data)
    services = _services(p, data)
    application = _application(p, data)
    evaluation = _evaluation(p, data, indicators)
    bands = _bands(p, data)
    consequences = _consequences(p, data, bands)
    measures = _measures(p, data)
    for cls in names:
        if services and not any(cls in s.classes for s in services.values()):
            p.add("services", f"没有 {cls} 类机构可开通的服务类别 (no service category for class {cls})")
    f.fail_if(problems)
    assert start and application and evaluation and bands  # (each missing one was a problem)
    return ProviderScheme(
        effective_from=start,
        classes=names,
        services=services,
        application=application,
        evaluation=evaluation,
        assessment_indicators=assessed,
        bands=bands,
        consequences=consequences,
        measures=measures,
        red_lines=red_lines,
    )


# --- the sections of scheme.yaml ----------------------------------------------------------------------------------


def _effective_from(p: f.Problems, data: dict) -> date | None:
    def parse(raw: Any) -> date:
        if not isinstance(raw, date):
            raise ValueError(f"应为日期 YYYY-MM-DD (should be a date, got {raw!r})")
        return raw

    return f.get(p, data, (), "effective_from", parse)


def _classes(p: f.Problems, data: dict) -> dict[str, str]:
    raw = f.mapping(p, data.get("classes"), ("classes",), CLASSES)
    if raw is None:
        return {}
    out = {}
    for name in CLASSES:
        got = f.get(p, raw, ("classes",), name, f.text)
        if got is not None:
            out[name] = got
    return out


SERVICE_KEYS = ("code", "name", "classes", "med_types", "supplementary")


def _services(p: f.Problems, data: dict) -> dict[str, ServiceCategory]:
    raw = data.get("services")
    if not isinstance(raw, list) or not raw:
        p.add("services", "应为非空列表 (should be a non-empty list of service categories)")
        return {}
    out: dict[str, ServiceCategory] = {}
    for i, item in enumerate(raw):
        key = ("services", i)
        entry = f.mapping(p, item, key, SERVICE_KEYS)
        if entry is None:
            continue
        code = f.get(p, entry, key, "code", f.text)
        name = f.get(p, entry, key, "name", f.text)
        cls = f.get(p, entry, key, "classes", f.texts)
        med = f.get(p, entry, key, "med_types", _med_types)
        supp = entry.get("supplementary")
        if supp is not None and not (isinstance(supp, str) and supp.strip()):
            p.add((*key, "supplementary"), f"应为补充协议代码或 null (agreement code or null, got {supp!r})")
            supp = None
        for c in cls or ():
            if c not in CLASSES:
                p.add((*key, "classes"), f"未知的机构类别 {c} (unknown class; known: {', '.join(CLASSES)})")
        if code is not None and code in out:
            p.add((*key, "code"), f"服务类别代码 {code} 重复 (service code repeated)")
        elif None not in (code, name, cls, med):
            out[code] = ServiceCategory(code, name, cls, med, supp.strip() if supp else None)  # type: ignore[arg-type]
    return out


def _med_types(raw: Any) -> tuple[str, ...]:
    values = f.texts(raw)
    for v, written in zip(values, raw, strict=True):
        if not isinstance(written, str):
            raise ValueError(f'医疗类别须加引号 (write med_types as text: "{v}")')
        if not (v.isascii() and v.isdigit() and 2 <= len(v) <= 6):
            raise ValueError(f"医疗类别应为 2–6 位数字 (med_type should be 2–6 digits, got {v!r})")
    return values


APPLICATION_KEYS = (
    "min_operation_months",
    "evaluation_months",
    "required_materials",
    "first_term_months",
    "renewal_term_months",
    "notice_months",
    "voluntary_suspension_max_days",
    "reapply_bar_years",
    "public_may_not_exit",
    "suspension_months",
)


def _application(p: f.Problems, data: dict) -> ApplicationRules | None:
    key = ("application",)
    raw = f.mapping(p, data.get("application"), key, APPLICATION_KEYS)
    if raw is None:
        return None
    ints = {
        n: f.get(p, raw, key, n, f.whole(0 if n in ("min_operation_months", "notice_months") else 1))
        for n in APPLICATION_KEYS
        if n.endswith(("_months", "_days", "_years")) and n != "suspension_months"
    }
    materials = _materials(p, raw, key)
    public = f.get(p, raw, key, "public_may_not_exit", f.flag)
    months = f.get(p, raw, key, "suspension_months", _suspension_months)
    if None in ints.values() or materials is None or public is None or months is None:
        return None
    return ApplicationRules(
        required_materials=materials, public_may_not_exit=public, suspension_months=months, **ints
    )  # type: ignore[arg-type]


def _materials(p: f.Problems, raw: dict, key: tuple[Any, ...]) -> dict[str, tuple[str, ...]] | None:
    table = f.mapping(p, raw.get("required_materials"), (*key, "required_materials"), CLASSES)
    if table is None:
        return None
    out = {}
    for name in CLASSES:
        got = f.get(p, table, (*key, "required_materials"), name, f.texts)
        if got is None:
            return None
        out[name] = got
    return out


def _suspension_months(raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"应为非空的月数列表 (should be a non-empty list of months, got {raw!r})")
    values = tuple(f.whole(1)(v) for v in raw)
    if list(values) != sorted(set(values)):
        raise ValueError(f"应从小到大且不重复 (months should rise without repeats: {list(values)})")
    return values


EVALUATION_KEYS = ("pass_mark", "aggregate", "trim", "panel")
PANEL_KEYS = ("min_experts", "expert_fields", "min_supervisors", "supervisor_kinds")


def _evaluation(
    p: f.Problems, data: dict, indicators: tuple[Indicator, ...] | None
) -> EvaluationRules | None:
    key = ("evaluation",)
    raw = f.mapping(p, data.get("evaluation"), key, EVALUATION_KEYS)
    if raw is None:
        return None
    mark = f.get(p, raw, key, "pass_mark", f.number(Decimal(0), f.HUNDRED))
    how = f.get(p, raw, key, "aggregate", f.choice(AGGREGATES))
    trim = f.get(p, raw, key, "trim", f.whole(0)) if "trim" in raw or how == "trimmed_mean" else 0
    panel = f.mapping(p, raw.get("panel"), (*key, "panel"), PANEL_KEYS)
    if panel is None:
        return None
    pk = (*key, "panel")
    experts = f.get(p, panel, pk, "min_experts", f.whole(1))
    fields = f.get(p, panel, pk, "expert_fields", f.texts)
    supervisors = f.get(p, panel, pk, "min_supervisors", f.whole(0))
    kinds = (
        f.get(p, panel, pk, "supervisor_kinds", f.texts) if supervisors or "supervisor_kinds" in panel else ()
    )
    if experts is not None and fields is not None and experts < len(fields):
        p.add((*pk, "min_experts"), f"少于专家领域数 {len(fields)} (fewer experts than fields to cover)")
        experts = None
    if None in (mark, how, trim, experts, fields, supervisors, kinds) or indicators is None:
        return None
    return EvaluationRules(indicators, mark, how, trim, experts, fields, supervisors, kinds)  # type: ignore[arg-type]


ASSESSMENT_KEYS = ("bands", "consequences")
BAND_KEYS = ("grade", "name", "min")
CONSEQUENCE_KEYS = ("deposit_return", "renew", "inspections_per_year")


def _bands(p: f.Problems, data: dict) -> tuple[Band, ...] | None:
    key = ("assessment",)
    raw = f.mapping(p, data.get("assessment"), key, ASSESSMENT_KEYS)
    if raw is None:
        return None
    items = raw.get("bands")
    if not isinstance(items, list) or not items:
        p.add((*key, "bands"), "应为非空列表，从高到低 (a non-empty list, highest band first)")
        return None
    out: list[Band] = []
    for i, item in enumerate(items):
        bk = (*key, "bands", i)
        entry = f.mapping(p, item, bk, BAND_KEYS)
        if entry is None:
            return None
        grade, name = f.get(p, entry, bk, "grade", f.text), f.get(p, entry, bk, "name", f.text)
        low = f.get(p, entry, bk, "min", f.number(Decimal(0), f.HUNDRED))
        if None in (grade, name, low):
            return None
        if any(b.grade == grade for b in out):
            p.add((*bk, "grade"), f"等次 {grade} 重复 (grade repeated)")
            return None
        if out and low >= out[-1].min:  # type: ignore[operator]
            p.add((*bk, "min"), f"{low} 须低于上一档的 {out[-1].min} (bands must fall, highest first)")
            return None
        out.append(Band(grade, name, low))  # type: ignore[arg-type]
    if out[-1].min != 0:
        p.add((*key, "bands"), f"最低一档须从 0 起 (the last band must start at 0, not {out[-1].min})")
        return None
    return tuple(out)


def _consequences(p: f.Problems, data: dict, grades: tuple[Band, ...] | None) -> dict[str, Consequence]:
    key = ("assessment", "consequences")
    raw = data.get("assessment")
    if grades is None or not isinstance(raw, dict):  # (the bands' problem is already reported)
        return {}
    table = f.mapping(p, raw.get("consequences"), key, tuple(g.grade for g in grades))
    if table is None:
        return {}
    out = {}
    for band in grades:
        ck = (*key, band.grade)
        written = table.get(band.grade, table.get(_int_key(band.grade)))
        if written is None:
            p.add(ck, "缺少此项 (missing: every grade needs its consequences)")
            continue
        entry = f.mapping(p, written, ck, CONSEQUENCE_KEYS)
        if entry is None:
            continue
        share = f.get(p, entry, ck, "deposit_return", f.number(Decimal(0), Decimal(1)))
        renew = f.get(p, entry, ck, "renew", f.flag)
        visits = f.get(p, entry, ck, "inspections_per_year", f.whole(0))
        if None not in (share, renew, visits):
            out[band.grade] = Consequence(share, renew, visits)  # type: ignore[arg-type]
    return out


def _int_key(grade: str) -> int | str:
    return int(grade) if grade.isdigit() else grade  # ``1:`` unquoted in the YAML is the same grade as "1"


MEASURE_KEYS = ("code", "step", "name", "effect")


def _measures(p: f.Problems, data: dict) -> tuple[Measure, ...]:
    raw = data.get("measures")
    if not isinstance(raw, list) or not raw:
        p.add("measures", "应为非空列表，从轻到重 (a non-empty list, mildest first)")
        return ()
    out: list[Measure] = []
    for i, item in enumerate(raw):
        key = ("measures", i)
        entry = f.mapping(p, item, key, MEASURE_KEYS)
        if entry is None:
            continue
        code, name = f.get(p, entry, key, "code", f.text), f.get(p, entry, key, "name", f.text)
        step = f.get(p, entry, key, "step", f.whole(1))
        effect = f.get(p, entry, key, "effect", f.choice(EFFECTS))
        if None in (code, name, step, effect):
            continue
        if any(m.code == code for m in out):
            p.add((*key, "code"), f"措施代码 {code} 重复 (measure code repeated)")
        elif out and step <= out[-1].step:  # type: ignore[operator]
            p.add((*key, "step"), f"{step} 须大于上一项的 {out[-1].step} (steps must rise, mildest first)")
        else:
            out.append(Measure(code, step, name, effect))  # type: ignore[arg-type]
    for needed in ("suspend", "terminate"):
        if out and not any(m.effect == needed for m in out):
            p.add("measures", f"缺少 effect: {needed} 的措施 (the ladder needs a {needed} step)")
    return tuple(out)
