"""申请 (Chengdu's online services): apply 申请定点, change 基本信息变更, suspend 申请中止, terminate 申请解除,
renew 续签, and the progress query; 受理 or 不予受理 naming what is missing
(:func:`yibao.providers.application.check_application`), 补充材料 (the evaluation clock stops until the
materials come), withdrawal, and the agency's review of the kinds without a panel (approve: the change,
suspension, termination or renewal takes effect; reject).

A change of other basic information takes effect at once; one of the legal representative, the address or
the level re-opens the review and waits for approval (a level change sets the institution's hosp_lv and
dedc_hosp_lv when approved)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.providers.application import add_years, check_application, evaluation_deadline
from yibao.providers.scheme import institution_class
from yibao.providers.service import agreements, status
from yibao.providers.service.common import (
    APPLICATION,
    INSTITUTION,
    a_date,
    is_public,
    record,
    require_scheme,
    text,
)
from yibao.providers.states import ApplicationAction as Do
from yibao.providers.states import ApplicationKind, ApplicationStatus, application_transition
from yibao.store import providers as store
from yibao.store.tables import Institution, ProviderApplication, ProviderAttachment, ProviderClockPause

CHANGEABLE = ("fixmedins_name", "address", "legal_rep", "hosp_lv", "dedc_hosp_lv", "beds", "contact", "phone")
REVIEWED = ("legal_rep", "address", "hosp_lv", "dedc_hosp_lv")  # 法定代表人、地址、等级: reviewed again
CLOSED = ("refused", "failed", "signed", "withdrawn")


def _kind(kind: str) -> ApplicationKind:
    try:
        return ApplicationKind(kind)
    except ValueError:
        raise InputError(
            f"kind: 未知的申请类型 {kind}（apply / change / suspend / terminate / renew）"
        ) from None


def submit(
    s,
    *,
    kind: str,
    actor: str,
    org: dict | None = None,
    services: list[str] | None = None,
    details: dict | None = None,
    fixmedins_code: str | None = None,
    admdvs: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
    regions_dir: Path | None = None,
) -> ProviderApplication:
    """File an application. ``apply``: a new institution's ``org`` data (name, uscc, class, beds, opened_on,
    licence, departments, staff, info_ready, materials …) in the region ``admdvs``, the ``services`` asked
    for; the other kinds name the designated institution (``fixmedins_code``) and carry ``details``:
    ``changes`` (change), ``suspend_begndate``/``suspend_enddate`` (suspend), ``exit_on`` (terminate)."""
    now = now or datetime.now()
    today = today or now.date()
    k = _kind(kind)
    details = dict(details or {})
    org = dict(org or {})
    if k == ApplicationKind.APPLY:
        if not admdvs:
            raise InputError("admdvs: 请填写医保区划")
        require_scheme(admdvs, regions_dir)
        opened = org.get("opened_on")
    else:
        if not fixmedins_code:
            raise InputError("fixmedins_code: 请填写定点医药机构编号")
        inst = store.locked_institution(s, fixmedins_code)
        admdvs = inst.admdvs
        org = _org_of(inst) | org
        opened = None
        if k == ApplicationKind.CHANGE:
            _check_changes(details)
        pending = store.pending_applications(s, fixmedins_code, k.value, CLOSED)
        if pending:
            raise InputError(f"kind: 已有办理中的同类申请 {pending[0].appl_no}")
    prefix = f"SQ{admdvs}{today:%Y%m%d}"
    app = ProviderApplication(
        appl_no=store.next_number(s, ProviderApplication.appl_no, prefix, 4),
        kind=k.value,
        admdvs=admdvs,
        fixmedins_code=fixmedins_code,
        org=_jsonable(org),
        services=list(services or org.get("services") or []),
        details=_jsonable(details),
        status=ApplicationStatus.SUBMITTED,
        opened_on=a_date(opened, "org.opened_on") if opened else None,
        submitted_on=today,
        problems=[],
        note="",
        submitted_by=actor,
        updated_by=actor,
        updated_at=now,
    )
    s.add(app)
    s.flush()
    record(s, Action.APPLY, APPLICATION, app.appl_no, actor=actor, at=now,
           after={"kind": app.kind, "fixmedins_code": fixmedins_code, "admdvs": admdvs, "services": app.services,
                  "details": app.details})  # fmt: skip
    if k == ApplicationKind.CHANGE and not set(details["changes"]) & set(REVIEWED):
        accept(s, app.appl_no, actor=actor, now=now, regions_dir=regions_dir)
        approve(s, app.appl_no, actor=actor, now=now, regions_dir=regions_dir)
    return app


def _org_of(inst: Institution) -> dict:
    return {
        "name": inst.fixmedins_name,
        "uscc": inst.uscc,
        "class": institution_class(inst.fixmedins_type, inst.beds),
        "beds": inst.beds,
        "hosp_lv": inst.hosp_lv,
        "dedc_hosp_lv": inst.dedc_hosp_lv,
        "address": inst.address,
    }


def _check_changes(details: dict) -> None:
    changes = details.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise InputError("changes: 请填写变更的项目")
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise InputError(f"changes.{unknown[0]}: 不能变更此项（可变更：{'、'.join(CHANGEABLE)}）")
    if "dedc_hosp_lv" in changes and changes["dedc_hosp_lv"] not in (1, 2, 3):
        raise InputError("changes.dedc_hosp_lv: 起付线等级应为 1、2 或 3")


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in d.items()}


def facts(s, app: ProviderApplication) -> dict:
    """What :func:`check_application` reads. An ``apply``: the org data, services, materials filed (the
    attachments' too), the last termination by sanction of the institution or its 统一社会信用代码 (the
    re-application bar); the other kinds: what they carry, and whether the institution is public."""
    if app.kind != "apply":
        out = dict(app.details) | dict((app.details or {}).get("changes") or {}) | {"kind": app.kind}
        out.pop("changes", None)
        if app.services:
            out["services"], out["class"] = list(app.services), app.org.get("class")
        out["public"] = is_public(app.org.get("uscc"), app.org)
        return out
    out = dict(app.org) | {"kind": app.kind, "services": list(app.services)}
    filed = set(app.org.get("materials") or ()) | {a.material for a in store.attachments_of(s, app.appl_no)}
    out["materials"] = sorted(filed)
    if app.opened_on:
        out["opened_on"] = app.opened_on
    codes = {app.fixmedins_code} if app.fixmedins_code else set()
    if app.org.get("uscc"):
        codes |= store.codes_with_uscc(s, app.org["uscc"])
    barred = store.sanction_terminations(s, codes, add_years(app.submitted_on, -10))
    if barred:
        out["terminated_on"] = max(e.begndate for e in barred)
    out["public"] = is_public(app.org.get("uscc"), app.org)
    return out


def _step(s, app: ProviderApplication, action: Do, audit_action: Action, actor: str, now: datetime, **after):
    before = {"status": app.status}
    app.status = application_transition(app.kind, app.status, action)
    app.updated_by, app.updated_at = actor, now
    record(s, audit_action, APPLICATION, app.appl_no, actor=actor, at=now, before=before,
           after={"status": app.status, **after})  # fmt: skip


def accept(s, appl_no: str, *, actor: str, now: datetime | None = None,
           regions_dir: Path | None = None) -> ProviderApplication:  # fmt: skip
    """受理 or 不予受理: accepted when :func:`check_application` finds nothing; else refused, the problems
    stored and returned on the application (``problems``)."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    scheme = require_scheme(app.admdvs, regions_dir)
    problems = check_application(facts(s, app), scheme, app.submitted_on)
    if problems:
        app.problems = problems
        _step(s, app, Do.REFUSE, Action.REJECT, actor, now, problems=problems)
        app.decided_on = now.date()
    else:
        app.problems = []
        _step(s, app, Do.ACCEPT, Action.ACCEPT, actor, now)
        app.accepted_on = now.date()
    return app


def refuse(s, appl_no: str, *, reason: str, actor: str, now: datetime | None = None) -> ProviderApplication:
    """不予受理 for a reason staff give (the checks found nothing)."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    app.problems = [text(reason, "reason", "不予受理原因")]
    _step(s, app, Do.REFUSE, Action.REJECT, actor, now, problems=app.problems)
    app.decided_on = now.date()
    return app


def request_supplement(s, appl_no: str, *, asked: list[str], actor: str,
                       now: datetime | None = None) -> ProviderClockPause:  # fmt: skip
    """通知补充材料: what is missing, one line each; the evaluation clock stops today."""
    now = now or datetime.now()
    asked = [text(a, "asked", "需补充的材料") for a in asked or []]
    if not asked:
        raise InputError("asked: 请写明需补充的材料")
    app = store.locked_application(s, appl_no)
    _step(s, app, Do.REQUEST_SUPPLEMENT, Action.ASK_SUPPLEMENT, actor, now, asked=asked)
    app.problems = asked
    pause = ProviderClockPause(appl_no=appl_no, begndate=now.date(), asked=asked, requested_by=actor)
    s.add(pause)
    s.flush()
    return pause


def supplement(
    s, appl_no: str, *, actor: str, org: dict | None = None, now: datetime | None = None
) -> ProviderApplication:
    """材料补齐: the application's data updated with ``org``; the clock runs again from today (an application
    that was under evaluation returns to accepted, its panel kept)."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    _step(s, app, Do.SUPPLEMENT, Action.SUPPLEMENT, actor, now, changed=sorted(org or {}))
    if org:
        app.org = _jsonable(dict(app.org) | org)
    for p in store.pauses(s, appl_no):
        if p.enddate is None:
            p.enddate, p.answered_by = now.date(), actor
    app.problems = []
    return app


def add_attachment(s, appl_no: str, *, material: str, filename: str, content_type: str, data: bytes,
                   actor: str, now: datetime | None = None) -> ProviderAttachment:  # fmt: skip
    """A file of the application (申请材料), for the material it stands for."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    if app.status in CLOSED:
        raise InputError(f"appl_no: 申请 {appl_no} 已办结，不能再上传材料")
    row = ProviderAttachment(
        appl_no=appl_no, material=text(material, "material", "材料名称", max_len=60),
        filename=text(filename, "filename", "文件名", max_len=200), content_type=content_type or "application/octet-stream",
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_by=actor, uploaded_at=now,
    )  # fmt: skip
    s.add(row)
    s.flush()
    record(s, Action.UPDATE, APPLICATION, appl_no, actor=actor, at=now,
           after={"attachment": row.id, "material": row.material, "sha256": row.sha256})  # fmt: skip
    return row


def withdraw(s, appl_no: str, *, actor: str, now: datetime | None = None) -> ProviderApplication:
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    _step(s, app, Do.WITHDRAW, Action.WITHDRAW, actor, now)
    app.decided_on = now.date()
    return app


def approve(s, appl_no: str, *, actor: str, now: datetime | None = None, regions_dir: Path | None = None,
            services: list[str] | None = None) -> ProviderApplication:  # fmt: skip
    """审核同意 of a change, suspension, termination or renewal: it takes effect and the application is
    closed (办结)."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    _step(s, app, Do.APPROVE, Action.APPROVE, actor, now)
    d, code = app.details or {}, app.fixmedins_code
    if app.kind == ApplicationKind.CHANGE:
        _apply_change(s, app, actor, now)
    elif app.kind == ApplicationKind.SUSPEND:
        status.suspend(s, code, begndate=a_date(d.get("suspend_begndate"), "suspend_begndate"),
                       enddate=a_date(d.get("suspend_enddate"), "suspend_enddate"), by="application",
                       reason=d.get("reason") or "机构申请中止", actor=actor, today=now.date(), regions_dir=regions_dir)  # fmt: skip
    elif app.kind == ApplicationKind.TERMINATE:
        status.terminate(s, code, day=a_date(d.get("exit_on"), "exit_on"), by="application",
                         reason=d.get("reason") or "机构申请解除", actor=actor,
                         today=app.submitted_on, regions_dir=regions_dir)  # fmt: skip
    elif app.kind == ApplicationKind.RENEW:
        agreements.renew(s, code, actor=actor, services=services or list(app.services) or None,
                         appl_no=appl_no, now=now, regions_dir=regions_dir)  # fmt: skip
    _step(s, app, Do.SIGN, Action.SIGN, actor, now)
    app.decided_on = now.date()
    return app


def reject(s, appl_no: str, *, reason: str, actor: str, now: datetime | None = None) -> ProviderApplication:
    """审核不同意 of a change, suspension, termination or renewal."""
    now = now or datetime.now()
    app = store.locked_application(s, appl_no)
    app.problems = [text(reason, "reason", "不同意的原因")]
    _step(s, app, Do.REJECT, Action.REJECT, actor, now, problems=app.problems)
    app.decided_on = now.date()
    return app


def _apply_change(s, app: ProviderApplication, actor: str, now: datetime) -> None:
    """The changes written to the register (the legal representative is kept on the application)."""
    inst = store.locked_institution(s, app.fixmedins_code)
    changes = dict((app.details or {}).get("changes") or {})
    columns = {
        k: v
        for k, v in changes.items()
        if k in ("fixmedins_name", "address", "hosp_lv", "dedc_hosp_lv", "beds")
    }
    before = {k: getattr(inst, k) for k in columns}
    for k, v in columns.items():
        setattr(inst, k, v)
    s.flush()
    record(s, Action.CHANGE, INSTITUTION, inst.fixmedins_code, actor=actor, at=now, before=before,
           after=changes | {"appl_no": app.appl_no})  # fmt: skip


def progress(s, appl_no: str, *, today: date | None = None, regions_dir: Path | None = None) -> dict:
    """进度查询: where the application stands, what is missing, the evaluation deadline (None while the
    clock is stopped) and, once signed, the agreement."""
    today = today or date.today()
    app = store.application(s, appl_no)
    pauses = store.pauses(s, appl_no)
    deadline = None
    if app.accepted_on and app.kind == "apply":
        months = require_scheme(app.admdvs, regions_dir).application.evaluation_months
        deadline = evaluation_deadline(app.accepted_on, [(p.begndate, p.enddate) for p in pauses], months)
    ev = store.evaluation_of(s, appl_no)
    signed = [a.agreement_no for a in store.agreements_of(s, app.fixmedins_code) if a.appl_no == appl_no] if app.fixmedins_code else []  # fmt: skip
    return {
        "appl_no": app.appl_no,
        "kind": app.kind,
        "status": app.status,
        "name": app.org.get("name"),
        "fixmedins_code": app.fixmedins_code,
        "submitted_on": app.submitted_on,
        "accepted_on": app.accepted_on,
        "decided_on": app.decided_on,
        "problems": list(app.problems or []),
        "pauses": [(p.begndate, p.enddate) for p in pauses],
        "deadline": deadline,
        "overdue": deadline is not None and today > deadline and app.status in ("accepted", "evaluating"),
        "evaluation": ev.result if ev else None,
        "agreements": signed,
    }
