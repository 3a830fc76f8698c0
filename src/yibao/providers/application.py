"""申请 (application): the checks an application must pass to be accepted (受理), and the evaluation clock.

An institution applies once it has operated for the scheme's ``min_operation_months`` (3); it is accepted at
once, or refused with every problem named (:func:`check_application`). From acceptance the agency has
``evaluation_months`` (3) to evaluate it; time spent supplementing materials is not counted (补充材料时间不计入
评估期限: :func:`evaluation_deadline`).

The facts of an application are a mapping (the store keeps them as JSON), dates as :class:`date` or
``YYYY-MM-DD`` text:

========================  ==============================================================================
``kind``                  apply (default) | change | suspend | terminate | renew
``name``                  机构名称
``uscc``                  统一社会信用代码 (GB 32100, check digits verified)
``class``                 hospital | clinic | pharmacy (:func:`yibao.providers.scheme.institution_class`)
``beds``                  核定床位数 (hospitals have beds, clinics none)
``opened_on``             正式运营（执业）之日
``licence_no``            执业许可证 / 药品经营许可证号
``licence_begndate``      licence valid from; ``licence_enddate`` to (None: no end)
``departments``           科室设置 (list; hospitals and clinics)
``staff``                 人员名单 (list; not empty)
``info_ready``            信息系统对接 (true when the HIS is connected to the 医保 platform)
``services``              the service category codes asked for
``materials``             the names of the materials filed (each of the class's required materials)
``terminated_on``         the day an earlier agreement was terminated (解除), if any: the re-application bar
``public``                公立 (a public institution may not ask to suspend or terminate)
``suspend_begndate``      suspend: first day; ``suspend_enddate`` last day
``exit_on``               terminate: the day the agreement would end
========================  ==============================================================================
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from yibao.errors import InputError
from yibao.providers.scheme_schema import CLASSES, ProviderScheme
from yibao.providers.states import ApplicationKind
from yibao.validation import ValidationError, uscc

_NEEDS_DEPARTMENTS = ("hospital", "clinic")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clipped to the month's end (01-31 + 1 month = 02-28)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def operation_months(opened_on: date, day: date) -> int:
    """Whole months of operation from ``opened_on`` to ``day``: the largest n with opened_on + n months ≤ day
    (opened 2025-01-31: 3 months on 2025-04-30). 0 before the opening."""
    if day < opened_on:
        return 0
    n = (day.year - opened_on.year) * 12 + day.month - opened_on.month
    while n > 0 and add_months(opened_on, n) > day:
        n -= 1
    return n


def check_application(facts: Mapping[str, Any], scheme: ProviderScheme, day: date) -> list[str]:
    """Every reason an application filed on ``day`` cannot be accepted, one ``field: 原因`` each; [] when it
    can. An ``apply`` is checked in full; the other kinds on what they carry."""
    kind = str(facts.get("kind") or ApplicationKind.APPLY)
    if kind not in tuple(ApplicationKind):
        return [f"kind: 未知的申请类型 {kind} (unknown kind; known: {', '.join(ApplicationKind)})"]
    out: list[str] = []
    if kind == ApplicationKind.APPLY:
        out += _identity(facts, scheme, full=True)
        out += _operation(facts, scheme, day)
        out += _licence(facts, day)
        out += _capacity(facts, scheme)
        out += _services(facts, scheme, required=True)
        out += _materials(facts, scheme)
        out += _bar(facts, scheme, day)
    elif kind in (ApplicationKind.CHANGE, ApplicationKind.RENEW):
        out += _identity(facts, scheme, full=False)
        if any(k in facts for k in ("licence_no", "licence_begndate", "licence_enddate")):
            out += _licence(facts, day)
        out += _services(facts, scheme, required=kind == ApplicationKind.RENEW)
    else:
        out += _exit(facts, scheme, day, kind)
    return out


# --- the parts of the check -----------------------------------------------------------------------------------


def _identity(facts: Mapping[str, Any], scheme: ProviderScheme, *, full: bool) -> list[str]:
    out = []
    if full and not str(facts.get("name") or "").strip():
        out.append("name: 缺少机构名称 (name missing)")
    if full or facts.get("uscc"):
        try:
            uscc(str(facts.get("uscc") or ""))
        except ValidationError as exc:
            out.append(f"uscc: 统一社会信用代码无效：{exc.message} (invalid USCC)")
    cls = facts.get("class")
    if full or cls is not None:
        if cls not in CLASSES:
            out.append(f"class: 机构类别应为 {' / '.join(CLASSES)} 之一，不是 {cls!r} (unknown class)")
        elif "beds" in facts or full:
            out += _beds(facts.get("beds"), cls, scheme)
    return out


def _beds(beds: Any, cls: str, scheme: ProviderScheme) -> list[str]:
    if beds is not None and (isinstance(beds, bool) or not isinstance(beds, int) or beds < 0):
        return [f"beds: 床位数应为不小于 0 的整数，不是 {beds!r} (whole number ≥ 0)"]
    if cls == "hospital" and not beds:
        return [
            f"beds: {scheme.classes.get(cls, cls)}须有核定床位（无床位的按门诊诊所申请） (a hospital has beds)"
        ]
    if cls != "hospital" and beds:
        return [
            f"beds: {scheme.classes.get(cls, cls)}不设床位（有床位的按医院申请） (only hospitals have beds)"
        ]
    return []


def _operation(facts: Mapping[str, Any], scheme: ProviderScheme, day: date) -> list[str]:
    opened, problem = _date(facts, "opened_on", required=True)
    if problem:
        return [problem]
    assert opened is not None
    need = scheme.application.min_operation_months
    if opened > day:
        return [f"opened_on: 开业日期 {opened} 晚于申请日期 {day} (opened after the application day)"]
    months = operation_months(opened, day)
    if months < need:
        return [
            f"opened_on: 自 {opened} 起正式运营 {months} 个月，须满 {need} 个月方可申请（{add_months(opened, need)} "
            f"起） (operated {months} months; {need} required)"
        ]
    return []


def _licence(facts: Mapping[str, Any], day: date) -> list[str]:
    out = []
    if not str(facts.get("licence_no") or "").strip():
        out.append("licence_no: 缺少执业许可证（药品经营许可证）号 (licence number missing)")
    start, p1 = _date(facts, "licence_begndate", required=True)
    end, p2 = _date(facts, "licence_enddate", required=False)
    out += [p for p in (p1, p2) if p]
    if start and end and end < start:
        out.append(f"licence_enddate: 有效期止 {end} 早于起始 {start} (ends before it starts)")
    elif start and start > day:
        out.append(f"licence_begndate: 许可证 {start} 起生效，申请日 {day} 尚未生效 (licence not yet valid)")
    elif end and end < day:
        out.append(f"licence_enddate: 许可证已于 {end} 过期 (licence expired)")
    return out


def _capacity(facts: Mapping[str, Any], scheme: ProviderScheme) -> list[str]:
    out = []
    if facts.get("class") in _NEEDS_DEPARTMENTS and not _nonempty_list(facts.get("departments")):
        out.append("departments: 缺少科室设置 (departments missing)")
    if not _nonempty_list(facts.get("staff")):
        out.append("staff: 缺少人员名单 (staff list missing)")
    if facts.get("info_ready") is not True:
        out.append("info_ready: 信息系统尚未与医保信息平台对接 (HIS not connected to the 医保 platform)")
    return out


def _services(facts: Mapping[str, Any], scheme: ProviderScheme, *, required: bool) -> list[str]:
    asked = facts.get("services")
    if asked is None and not required:
        return []
    if not _nonempty_list(asked):
        return ["services: 未选择申请的医保服务类别 (no service category asked for)"]
    out = []
    cls = facts.get("class")
    for code in asked:
        found = scheme.services.get(code)
        if found is None:
            out.append(f"services: 未知的医保服务类别 {code} (unknown service category)")
        elif cls in CLASSES and cls not in found.classes:
            out.append(
                f"services: {scheme.classes.get(cls, cls)}不能开通 {found.name}（{code}） (not for class {cls})"
            )
    if len(set(asked)) != len(asked):
        out.append("services: 服务类别重复 (a service category is listed twice)")
    return out


def _materials(facts: Mapping[str, Any], scheme: ProviderScheme) -> list[str]:
    cls = facts.get("class")
    if cls not in scheme.application.required_materials:
        return []  # (the class is already a problem)
    filed = {str(m).strip() for m in facts.get("materials") or ()}
    missing = [m for m in scheme.application.required_materials[cls] if m not in filed]
    return [f"materials: 缺少申请材料 {'、'.join(missing)} (materials missing)"] if missing else []


def _bar(facts: Mapping[str, Any], scheme: ProviderScheme, day: date) -> list[str]:
    ended, problem = _date(facts, "terminated_on", required=False)
    if problem:
        return [problem]
    if ended is None:
        return []
    years = scheme.application.reapply_bar_years
    until = add_years(ended, years)
    if day < until:
        return [
            f"terminated_on: {ended} 被解除医保协议，{years} 年内不予受理，{until} 起方可重新申请 (re-application barred)"
        ]
    return []


def _exit(facts: Mapping[str, Any], scheme: ProviderScheme, day: date, kind: str) -> list[str]:
    rules = scheme.application
    if rules.public_may_not_exit and facts.get("public") is True:
        what = "中止" if kind == ApplicationKind.SUSPEND else "解除"
        return [f"public: 公立医疗机构不得主动申请{what}医保协议 (a public institution may not ask to leave)"]
    if kind == ApplicationKind.SUSPEND:
        start, p1 = _date(facts, "suspend_begndate", required=True)
        end, p2 = _date(facts, "suspend_enddate", required=True)
        if p1 or p2:
            return [p for p in (p1, p2) if p]
        assert start and end
        days = (end - start).days + 1
        if start < day:
            return [f"suspend_begndate: 中止起始日 {start} 早于申请日 {day} (cannot start in the past)"]
        if days < 1:
            return [f"suspend_enddate: 中止止日 {end} 早于起始日 {start} (ends before it starts)"]
        if days > rules.voluntary_suspension_max_days:
            return [
                f"suspend_enddate: 主动中止 {days} 天，最长 {rules.voluntary_suspension_max_days} 天 "
                f"(voluntary suspension too long)"
            ]
        return []
    exit_on, problem = _date(facts, "exit_on", required=True)
    if problem:
        return [problem]
    assert exit_on
    earliest = add_months(day, rules.notice_months)
    if exit_on < earliest:
        return [
            f"exit_on: 须提前 {rules.notice_months} 个月申请解除，最早 {earliest} (notice of {rules.notice_months} "
            "months)"
        ]
    return []


def _date(facts: Mapping[str, Any], field: str, *, required: bool) -> tuple[date | None, str | None]:
    raw = facts.get(field)
    if raw is None or raw == "":
        return None, (f"{field}: 缺少日期 (date missing)" if required else None)
    if isinstance(raw, date):
        return raw, None
    try:
        return date.fromisoformat(str(raw)), None
    except ValueError:
        return None, f"{field}: 日期应为 YYYY-MM-DD，不是 {str(raw)[:24]!r} (not a date)"


def _nonempty_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) > 0


# --- the evaluation clock -------------------------------------------------------------------------------------


def evaluation_deadline(
    accepted_on: date, pauses: Sequence[tuple[date, date | None]], months: int
) -> date | None:
    """The last day the evaluation may end: acceptance + ``months`` calendar months, moved later by every day
    the clock stood still (a pause from the day materials were asked for to the day they arrived: ``end −
    start`` days; overlapping pauses count once). None while a pause is still open (the clock is stopped).

    Accepted 2025-01-10 with 3 months: 2025-04-10; paused 2025-02-01 → 2025-02-11: 2025-04-20."""
    if any(end is None for _, end in pauses):
        return None
    stopped = 0
    last_end: date | None = None
    for start, end in sorted(pauses):  # type: ignore[type-var]
        assert end is not None
        if start < accepted_on:
            raise InputError(
                f"pauses: 补充材料起始日 {start} 早于受理日 {accepted_on} (pause before acceptance)"
            )
        if end < start:
            raise InputError(f"pauses: 补充材料止日 {end} 早于起始日 {start} (pause ends before it starts)")
        if last_end is not None and start < last_end:
            start = last_end  # (the overlap is already counted)
        if end > start:
            stopped += (end - start).days
        last_end = max(end, last_end or end)
    return add_months(accepted_on, months) + timedelta(days=stopped)
