"""评估 (evaluation) of an accepted ``apply``: the panel appointed (the scheme's experts and social
supervisors, none with a conflict of interest), each scorer's sheet on the region's scale, and the result
(the scheme's aggregate of the totals) that passes or fails it — all within the evaluation months from
acceptance, the days spent supplementing materials not counted (:func:`evaluation_deadline`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.application import evaluation_deadline
from yibao.providers.evaluation import Scorer, aggregate, check_panel, conflict, passed, sheet_total
from yibao.providers.scheme import ProviderScheme
from yibao.providers.service.common import APPLICATION, EVALUATION, record, require_scheme
from yibao.providers.states import ApplicationAction as Do
from yibao.providers.states import application_transition
from yibao.store import providers as store
from yibao.store.tables import ProviderApplication, ProviderEvaluation, ProviderEvaluationSheet


def deadline_of(s, app: ProviderApplication, scheme: ProviderScheme) -> date | None:
    """The last day the evaluation may end (None while the clock is stopped)."""
    if app.accepted_on is None:
        raise InputError(f"appl_no: 申请 {app.appl_no} 尚未受理")
    pauses = [(p.begndate, p.enddate) for p in store.pauses(s, app.appl_no)]
    return evaluation_deadline(app.accepted_on, pauses, scheme.application.evaluation_months)


def _in_time(s, app: ProviderApplication, scheme: ProviderScheme, day: date) -> None:
    deadline = deadline_of(s, app, scheme)
    if deadline is None:
        raise InputError(f"appl_no: 申请 {app.appl_no} 正在补充材料，评估暂停")
    if day > deadline:
        raise InputError(
            f"appl_no: 评估期限已于 {deadline} 届满（受理之日起 {scheme.application.evaluation_months} 个月，"
            "补充材料时间不计入），不能评估"
        )


def scorer(d: Scorer | Mapping) -> Scorer:
    if isinstance(d, Scorer):
        return d
    try:
        return Scorer(
            scorer_id=str(d["scorer_id"]),
            name=str(d["name"]),
            role=str(d["role"]),
            field=str(d["field"]),
            affiliation=d.get("affiliation") or None,
            declared_conflict=bool(d.get("declared_conflict", False)),
        )
    except KeyError as exc:
        raise InputError(f"scorers.{exc.args[0]}: 缺少评估人员的信息") from None


def _institution_ids(app: ProviderApplication) -> tuple[str, str | None]:
    return app.fixmedins_code or "", app.org.get("uscc")


def appoint_panel(s, appl_no: str, *, scorers: list, actor: str, now: datetime | None = None,
                  regions_dir: Path | None = None) -> ProviderEvaluation:  # fmt: skip
    """组织评估: the panel for the application; refused when it does not meet the scheme (fields, numbers),
    when a member has a conflict of interest with the institution, or past the deadline."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    scheme = require_scheme(app.admdvs, regions_dir)
    panel = [scorer(x) for x in scorers]
    problems = check_panel(panel, scheme.evaluation)
    code, uscc = _institution_ids(app)
    problems += [why for x in panel if (why := conflict(x, code, uscc))]
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else "；".join(problems))
    after = application_transition(app.kind, app.status, Do.START_EVALUATION)
    _in_time(s, app, scheme, now.date())
    ev = store.evaluation_of(s, appl_no)
    if ev is None:
        ev = ProviderEvaluation(appl_no=appl_no, panel=[], appointed_on=now.date(), appointed_by=actor)
        s.add(ev)
    ev.panel = [asdict(x) for x in panel]
    ev.appointed_on, ev.appointed_by = now.date(), actor
    before = app.status
    app.status, app.updated_by, app.updated_at = after, actor, now
    s.flush()
    record(s, Action.APPOINT_PANEL, APPLICATION, appl_no, actor=actor, at=now, before={"status": before},
           after={"status": after, "panel": ev.panel})  # fmt: skip
    return ev


def record_sheet(s, appl_no: str, *, scorer_id: str, scores: Mapping, actor: str, now: datetime | None = None,
                 regions_dir: Path | None = None) -> ProviderEvaluationSheet:  # fmt: skip
    """A panel member's sheet: every indicator scored within its full marks; a member with a conflict of
    interest may not score; past the deadline nothing is scored. A second sheet of a member replaces the
    first."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    scheme = require_scheme(app.admdvs, regions_dir)
    if app.status != "evaluating":
        raise InputError(f"appl_no: 申请 {appl_no} 不在评估中")
    ev = store.evaluation_of(s, appl_no)
    member = next((scorer(x) for x in ev.panel if x["scorer_id"] == scorer_id), None) if ev else None
    if member is None:
        raise InputError(f"scorer_id: {scorer_id} 不是本次评估的评估人员")
    code, uscc = _institution_ids(app)
    why = conflict(member, code, uscc)
    if why:
        raise InputError(why)
    _in_time(s, app, scheme, now.date())
    total = sheet_total(scores, scheme.evaluation)
    sheet = next((x for x in store.sheets_of(s, ev.id) if x.scorer_id == scorer_id), None)
    before = {"total": sheet.total} if sheet else None
    if sheet is None:
        sheet = ProviderEvaluationSheet(evaluation_id=ev.id, scorer_id=scorer_id)
        s.add(sheet)
    sheet.name, sheet.role, sheet.field, sheet.affiliation = (
        member.name,
        member.role,
        member.field,
        member.affiliation,
    )
    sheet.scores = {k: str(v) for k, v in scores.items()}
    sheet.total, sheet.recorded_by, sheet.recorded_at = str(total), actor, now
    s.flush()
    record(s, Action.SCORE, EVALUATION, str(ev.id), actor=actor, at=now, before=before,
           after={"appl_no": appl_no, "scorer_id": scorer_id, "total": sheet.total})  # fmt: skip
    return sheet


def conclude_evaluation(s, appl_no: str, *, actor: str, now: datetime | None = None,
                        regions_dir: Path | None = None) -> ProviderEvaluation:  # fmt: skip
    """评估结论: every panel member's sheet in, the totals aggregated by the scheme's method; passed at the
    pass mark (inclusive), else failed. Refused past the deadline."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    scheme = require_scheme(app.admdvs, regions_dir)
    ev = store.evaluation_of(s, appl_no)
    if ev is None or app.status != "evaluating":
        raise InputError(f"appl_no: 申请 {appl_no} 不在评估中")
    sheets = store.sheets_of(s, ev.id)
    missing = [x["name"] for x in ev.panel if x["scorer_id"] not in {y.scorer_id for y in sheets}]
    if missing:
        raise InputError(f"sheets: {'、'.join(missing)} 尚未提交评分表")
    _in_time(s, app, scheme, now.date())
    result = aggregate([Decimal(x.total) for x in sheets], scheme.evaluation)
    ok = passed(result, scheme.evaluation)
    after = application_transition(app.kind, app.status, Do.PASS if ok else Do.FAIL)
    ev.result, ev.passed, ev.method = str(result), ok, scheme.evaluation.aggregate
    ev.concluded_on, ev.concluded_by = now.date(), actor
    before = app.status
    app.status, app.updated_by, app.updated_at = after, actor, now
    if not ok:
        app.decided_on = now.date()
    s.flush()
    record(s, Action.CONCLUDE, APPLICATION, appl_no, actor=actor, at=now, before={"status": before},
           after={"status": after, "result": ev.result, "pass_mark": str(scheme.evaluation.pass_mark),
                  "method": ev.method, "sheets": len(sheets)})  # fmt: skip
    return ev
