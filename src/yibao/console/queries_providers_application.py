"""定点管理 · one application in words: its facts (the institution's data as filed), the materials filed
against those its class must file, a refusal's or supplement request's reasons in Chinese, the clock stops,
the evaluation in brief, the agreements it led to, and its history from the audit log by name."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.console.queries_providers import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUS,
    KIND_CHOICES,
    STATUS_CHOICES,
    STEP_NAMES,
    class_name,
    clock,
    names_of,
    people,
    problem_text,
    scheme,
    services_text,
)
from yibao.store import providers as store
from yibao.store.tables import AuditLog, ProviderAgreement, ProviderApplication

# --- one application ---------------------------------------------------------------------------------------------


def _yes(value) -> str:
    return "是" if value else "否"


def _staff_lines(staff) -> str:
    lines = []
    for x in staff or ():
        if isinstance(x, dict):
            lines.append(" ".join(str(x.get(k) or "") for k in ("name", "qualification")).strip())
        else:
            lines.append(str(x))
    return "\n".join(lines) or "—"


def application_detail(s: Session, appl_no: str, today: date | None = None) -> dict | None:
    """An application in words: its facts, the materials filed against those required, what is missing,
    the clock, the evaluation in brief, the agreements it led to and its history."""
    app = s.get(ProviderApplication, appl_no)
    if app is None:
        return None
    sc = scheme()
    today = today or date.today()
    org = dict(app.org or {})
    cls = org.get("class")
    pauses = store.pauses(s, appl_no)
    c = clock(
        app.status,
        app.kind,
        app.accepted_on,
        [(p.begndate, p.enddate) for p in pauses],
        sc.application.evaluation_months,
        today,
    )
    n = names_of(s)
    facts = [
        ("申请编号", app.appl_no),
        ("申请类型", KIND_CHOICES.get(app.kind, app.kind)),
        ("状态", STATUS_CHOICES.get(app.status, app.status)),
        ("机构名称", org.get("name") or "—"),
        ("机构编号", app.fixmedins_code or "（签约后赋码）"),
        ("统一社会信用代码", org.get("uscc") or "—"),
        ("机构类别", class_name(sc, cls) or "—"),
        ("医院等级", n.of("hosp_lv", org.get("hosp_lv")) or "—"),
        ("床位", str(org.get("beds") if org.get("beds") is not None else "—")),
        ("开业日期", str(org.get("opened_on") or app.opened_on or "—")),
        ("许可证号", org.get("licence_no") or "—"),
        ("许可证有效期", f"{org.get('licence_begndate') or '—'} 至 {org.get('licence_enddate') or '长期'}"),
        ("法定代表人", org.get("legal_rep") or "—"),
        ("地址", org.get("address") or "—"),
        ("科室设置", "、".join(map(str, org.get("departments") or ())) or "—"),
        ("人员名单", _staff_lines(org.get("staff"))),
        ("信息系统已对接", _yes(org.get("info_ready"))),
        ("申请的服务类别", services_text(sc, app.services) or "—"),
        ("医保区划", app.admdvs),
        ("提交日期", str(app.submitted_on)),
        ("受理日期", str(app.accepted_on or "—")),
        ("办结日期", str(app.decided_on or "—")),
    ]
    if app.kind != "apply" and app.details:
        facts.append(("申请内容", _details_text(app.details)))
    required = list(sc.application.required_materials.get(cls or "", ()))
    filed = set(org.get("materials") or ())
    ev = store.evaluation_of(s, appl_no)
    agreements = [
        {
            "agreement_no": a.agreement_no,
            "kind": AGREEMENT_KINDS.get(a.kind, a.kind),
            "begndate": a.begndate,
            "enddate": a.enddate,
            "status": AGREEMENT_STATUS.get(a.status, a.status),
        }
        for a in s.scalars(
            select(ProviderAgreement)
            .where(ProviderAgreement.appl_no == appl_no)
            .order_by(ProviderAgreement.agreement_no)
        )
    ]
    return {
        "appl_no": app.appl_no,
        "kind": app.kind,
        "status": app.status,
        "name": org.get("name") or "",
        "class": cls,
        "services": list(app.services or ()),
        "facts": facts,
        "materials": [{"material": m, "filed": "已提交" if m in filed else "缺"} for m in required],
        "problems": [problem_text(p) for p in app.problems or ()],
        "pauses": [
            {"begndate": p.begndate, "enddate": p.enddate, "asked": "；".join(p.asked or ())} for p in pauses
        ],
        "clock": c,
        "evaluation": None
        if ev is None
        else {"result": ev.result, "passed": ev.passed, "panel": len(ev.panel)},
        "agreements": agreements,
        "history": history(s, "provider_application", appl_no),
    }


def _details_text(details: dict) -> str:
    labels = {
        "suspend_begndate": "中止起",
        "suspend_enddate": "中止止",
        "exit_on": "解除日期",
        "reason": "原因",
    }
    parts = []
    for k, v in details.items():
        if k == "changes" and isinstance(v, dict):
            parts += [f"变更 {ck}：{cv}" for ck, cv in v.items()]
        else:
            parts.append(f"{labels.get(k, k)}：{v}")
    return "；".join(parts)


def history(s: Session, entity: str, entity_id: str) -> list[dict]:
    rows = list(
        s.scalars(
            select(AuditLog)
            .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.seq)
        )
    )
    who = people(s, [r.actor for r in rows])
    out = []
    for r in rows:
        after = r.after or {}
        note = ""
        if after.get("problems"):
            note = "；".join(problem_text(p) for p in after["problems"])
        elif after.get("asked"):
            note = "；".join(after["asked"])
        elif "result" in after:
            note = f"评估得分 {after['result']}（合格分 {after.get('pass_mark', '')}）"
        elif "total" in after:
            note = f"{after.get('scorer_id', '')} 合计 {after['total']} 分"
        out.append(
            {
                "at": f"{r.at:%Y-%m-%d %H:%M}",
                "by": who.get(r.actor, r.actor),
                "step": STEP_NAMES.get(r.action, r.action),
                "status": STATUS_CHOICES.get(after.get("status", ""), ""),
                "note": note,
            }
        )
    return out
