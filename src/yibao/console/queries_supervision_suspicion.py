"""One suspicion (疑点) as the console shows it (查询): who and what it is about — rule, institution, person,
visit, settlement, amount — with names beside codes; the evidence in words (observed value and limit, the
knowledge rows that applied with their codes named, the parameters, the legal basis); the fee lines involved
(catalogue code and name, 违规项 / 涉及项, amount); the appeal's files; and its workflow history from the audit
log (who did what when, and why). Which buttons a page offers is the workflow's to say
(:func:`allowed`, over :func:`yibao.supervision.suspicion_states.transition`)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.console.display import diagnosis_names, names
from yibao.console.queries_supervision import kind_title, severity, staff_names, who
from yibao.console.queries_supervision_cases import BEHAVIOUR, status_names
from yibao.console.queries_supervision_rule import Namer, field_label
from yibao.money import fen_to_decimal, fmt_count, fmt_price, fmt_yuan
from yibao.store.tables import AuditLog, AuditSuspicion, FeeLine, Institution, Person, Visit
from yibao.supervision import findings
from yibao.supervision.kinds import KINDS

ROLE_NAMES = {"1": "违规项", "2": "涉及项"}
RESPONSE_NAMES = {"accept": "认可", "appeal": "申诉"}
DECISION_NAMES = {"upheld": "维持", "dismissed": "排除 / 撤销"}
STEP_NAMES = {
    Action.CONFIRM: "初审确认",
    Action.NOTIFY: "告知机构",
    Action.ACCEPT: "机构认可",
    Action.APPEAL: "机构申诉",
    Action.EXPIRE: "逾期未答复",
    Action.UPHOLD: "维持",
    Action.DISMISS: "排除 / 撤销",
    Action.DEDUCT: "扣款",
}
SYSTEM_ACTOR = {"system": "系统自动"}
LINE_COLUMNS = [
    ("feedetl_sn", "明细流水号"),
    ("item", "项目名称"),
    ("med_list_codg", "医保目录编码"),
    ("fee_time", "费用时间"),
    ("cnt", "数量"),
    ("pric", "单价（元）"),
    ("amt", "金额（元）"),
    ("role", "性质"),
]


def suspicion_detail(s: Session, suspicion_id: int) -> dict | None:
    """Everything the suspicion page shows, in words; None: no such suspicion."""
    r = s.get(AuditSuspicion, suspicion_id)
    if r is None:
        return None
    inst = s.get(Institution, r.fixmedins_code) if r.fixmedins_code else None
    person = s.get(Person, r.psn_no) if r.psn_no else None
    visit = s.get(Visit, r.mdtrt_id) if r.mdtrt_id else None
    history = _history(s, r)
    people = staff_names(
        s, {x for x in (r.notified_by, r.responded_by, r.decided_by, r.deducted_by, r.confirmed_by) if x}
    )
    return {
        "id": r.id,
        "status": r.status,
        "status_name": status_names().get(r.status, r.status),
        "result_type": r.result_type,
        "rule_code": r.rule_code,
        "rule_name": r.rule_name,
        "fixmedins_code": r.fixmedins_code,
        "fixmedins_name": inst.fixmedins_name if inst else (r.fixmedins_code or ""),
        "psn_no": r.psn_no,
        "setl_id": r.setl_id,
        "vola_amt": r.vola_amt,
        "due_date": r.due_date,
        "notified_by": r.notified_by,
        "responded_by": r.responded_by,
        "upheld_fen": r.upheld_fen,
        "facts": _facts(s, r, inst, person, visit),
        "workflow": _workflow(r, people),
        "evidence": _evidence(s, r),
        "lines": _lines(s, r),
        "attachments": _attachments(s, r.id),
        "history": history,
    }


def _facts(s: Session, r: AuditSuspicion, inst, person, visit) -> list[tuple[str, str]]:
    n = names(s)
    out = [
        ("规则", f"{r.rule_name}（{r.rule_code}，第 {r.rule_version} 版）"),
        (
            "结果类型",
            f"{r.result_type} · {severity(r.sev_deg)} · {BEHAVIOUR.get(r.vola_bhvr_type, r.vola_bhvr_type)}",
        ),
        (
            "定点机构",
            f"{inst.fixmedins_name}（{inst.fixmedins_code}）" if inst else (r.fixmedins_code or "—"),
        ),
        ("参保人", f"{person.psn_name}（{person.psn_no}）" if person else (r.psn_no or "—")),
    ]
    if visit is not None:
        span = f"{visit.begntime:%Y-%m-%d}" + (f" 至 {visit.endtime:%Y-%m-%d}" if visit.endtime else "")
        named = diagnosis_names(s, [visit.dise_codg]).get(visit.dise_codg) if visit.dise_codg else None
        dx = f"，主诊断 {named or visit.dise_name or visit.dise_codg}" if visit.dise_codg else ""
        out.append(("就诊", f"{visit.mdtrt_id}（{n.of('med_type', visit.med_type)}，{span}{dx}）"))
    elif r.mdtrt_id:
        out.append(("就诊", r.mdtrt_id))
    out += [
        ("结算ID", r.setl_id or "—"),
        ("就诊日期", r.service_date.isoformat() if r.service_date else "—"),
        ("涉及金额（元）", fmt_yuan(r.vola_amt or 0)),
        ("违规内容", r.vola_cont),
        ("发现", f"审核任务 #{r.run_id}，{r.created_at:%Y-%m-%d %H:%M}"),
    ]
    return out


def _workflow(r: AuditSuspicion, people: dict[str, str]) -> list[tuple[str, str]]:
    """The workflow's columns in words (what the history's steps left on the suspicion)."""
    out = []
    if r.confirmed_at:
        out.append(("初审确认", f"{r.confirmed_at:%Y-%m-%d %H:%M} {who(people, r.confirmed_by)}"))
    if r.notified_at:
        out.append(("告知机构", f"{r.notified_at:%Y-%m-%d %H:%M} {who(people, r.notified_by)}"))
    if r.due_date:
        out.append(("答复期限", r.due_date.isoformat()))
    if r.response:
        by = who(people, r.responded_by)
        at = f"{r.responded_at:%Y-%m-%d %H:%M}" if r.responded_at else ""
        out.append(("机构答复", f"{RESPONSE_NAMES.get(r.response, r.response)}，{at} {by}（代录）".strip()))
        if r.response_reason:
            out.append(("答复理由", r.response_reason))
    if r.decision:
        by = SYSTEM_ACTOR.get(r.decided_by or "", who(people, r.decided_by))
        at = f"{r.decided_at:%Y-%m-%d %H:%M}" if r.decided_at else ""
        out.append(("复核结论", f"{DECISION_NAMES.get(r.decision, r.decision)}，{at} {by}"))
        if r.decision_reason:
            out.append(("复核理由", r.decision_reason))
        if r.decision == "upheld":
            out.append(("维持金额（元）", fmt_yuan(r.upheld_fen or 0)))
    if r.deduction_entry_id:
        out.append(
            (
                "扣款",
                f"{fmt_yuan(r.deducted_fen or 0)} 元，自 {r.deduction_month} 拨付中扣减（凭证 {r.deduction_entry_id}），"
                f"{who(people, r.deducted_by)}",
            )
        )
    return out


def shown_value(kind: str, value: str) -> str:
    """An observed value or limit as the rule's words write it (sex as 男/女, prices and quantities)."""
    text = str(value or "")
    if not text:
        return "—"
    shown = findings._SHOWN.get(kind)  # (the findings' own words: one place says how a kind reads)
    try:
        return shown(text) if shown else text
    except (ValueError, IndexError):
        return text


def _evidence(s: Session, r: AuditSuspicion) -> dict:
    ev: dict[str, Any] = dict(r.evidence or {})
    kind = ev.get("kind") or ""
    spec = KINDS.get(kind)
    rows = [k.get("values") or {} for k in ev.get("knowledge") or []]
    fields = list(spec.fields) if spec else []
    namer = Namer(s, rows, fields, [])
    used = [f for f in fields if any(f.name in row for row in rows)]
    facts = [
        ("规则类型", kind_title(kind) if kind else "—"),
        ("观察值", shown_value(kind, ev.get("observed"))),
        ("限定值", shown_value(kind, ev.get("limit"))),
    ]
    params = ev.get("params") or {}
    if spec and params:
        shown = [
            f"{field_label(f)} {namer.value(f, params.get(f.name))}"
            for f in spec.params
            if params.get(f.name) is not None
        ]
        if shown:
            facts.append(("参数", "；".join(shown)))
    facts.append(("政策依据", ev.get("legal_basis") or "—"))
    if ev.get("period"):
        facts.append(("审核期间", " 至 ".join(ev["period"])))
    return {
        "facts": facts,
        "columns": [(f"k_{f.name}", field_label(f)) for f in used]
        + [("k_span", "有效期"), ("k_batch", "来源批次")],
        "rows": [
            {
                **{f"k_{f.name}": namer.value(f, row.get("values", {}).get(f.name)) for f in used},
                "k_span": f"{row.get('from') or '—'} 至 {row.get('to') or '长期'}",
                "k_batch": row.get("source_batch") or "—",
            }
            for row in ev.get("knowledge") or []
        ],
    }


def _lines(s: Session, r: AuditSuspicion) -> list[dict]:
    """The lines involved, with the catalogue's names and the stored line's time, quantity and price."""
    lines = list(r.lines or [])
    ids = [int(x["line_id"]) for x in lines if x.get("line_id") is not None]
    stored = {f.id: f for f in s.scalars(select(FeeLine).where(FeeLine.id.in_(ids or [-1])))}
    from yibao.console.display import item_names

    items = item_names(s, [x.get("med_list_codg") for x in lines])
    out = []
    for x in lines:
        f = stored.get(int(x["line_id"])) if x.get("line_id") is not None else None
        code = x.get("med_list_codg") or ""
        out.append(
            {
                "feedetl_sn": x.get("feedetl_sn") or "",
                "item": items.get(code, code),
                "med_list_codg": code,
                "fee_time": f"{f.fee_ocur_time:%Y-%m-%d %H:%M}" if f is not None and f.fee_ocur_time else "—",
                "cnt": _trimmed(fmt_count(f.cnt), 0) if f is not None else "—",
                "pric": _trimmed(fmt_price(f.pric), 2) if f is not None else "—",
                "amt": f"{fen_to_decimal(int(x.get('amt') or 0)):,.2f}",
                "role": ROLE_NAMES.get(str(x.get("role")), str(x.get("role"))),
            }
        )
    return out


def _trimmed(text: str, places: int) -> str:
    """``12.500000`` → ``12.50``, ``1.0000`` → ``1``: no trailing zeros beyond ``places`` decimals."""
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(places, "0")
    return f"{whole}.{frac}" if frac else whole


def _attachments(s: Session, suspicion_id: int) -> list[dict]:
    from yibao.store.suspicion_workflow import attachments_of

    return [
        {
            "id": a["id"],
            "filename": a["filename"],
            "size": f"{a['size'] / 1024:,.1f} KB",
            "sha256": a["sha256"][:12] + "…",
            "uploaded": f"{a['uploaded_at']:%Y-%m-%d %H:%M} {a['uploaded_by']}",
        }
        for a in attachments_of(s, suspicion_id)
    ]


def _history(s: Session, r: AuditSuspicion) -> list[dict]:
    """The suspicion's steps from the audit log (the first: found by its run), oldest first."""
    rows = list(
        s.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "audit_suspicion", AuditLog.entity_id == str(r.id))
            .order_by(AuditLog.seq)
        )
    )
    people = staff_names(s, {x.actor for x in rows})
    out = [
        {
            "seq": 0,
            "at": f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            "actor": "系统（事后审核）",
            "step": "发现疑点",
            "note": f"审核任务 #{r.run_id}",
        }
    ]
    for x in rows:
        after, before = x.after or {}, x.before or {}
        out.append(
            {
                "seq": x.seq,
                "at": f"{x.at:%Y-%m-%d %H:%M:%S}",
                "actor": SYSTEM_ACTOR.get(x.actor, who(people, x.actor)),
                "step": _step(x.action, before),
                "note": _note(after),
            }
        )
    return out


def _step(action: str, before: dict) -> str:
    if action == Action.DISMISS:
        return "初审排除" if before.get("status") in ("open", "confirmed") else "复核撤销"
    if action == Action.UPHOLD and before.get("status") == "accepted":
        return "认可即维持"
    return STEP_NAMES.get(action, action)


_DAYS = re.compile(r"答复期限 (\d+) 天")


def _note(after: dict) -> str:
    """What a step's audit row says beyond the status, in words (a notice: its due date and the days given,
    not where the region's setting came from)."""
    out = []
    for key in ("response_reason", "decision_reason"):
        if after.get(key):
            out.append(str(after[key]))
    note = str(after.get("note") or "")
    if after.get("due_date"):
        days = _DAYS.search(note)
        out.append(f"答复期限 {after['due_date']}" + (f"（{days.group(1)} 天）" if days else ""))
        note = "" if days else note
    if after.get("upheld_fen"):
        out.append(f"维持 {fmt_yuan(int(after['upheld_fen']))} 元")
    if after.get("attachments"):
        out.append("附件：" + "、".join(a.get("filename", "") for a in after["attachments"]))
    if note:
        out.append(note)
    return "；".join(out)


# --- what the user may do ----------------------------------------------------------------------------------------


def allowed(detail: dict, staff, today: date) -> dict[str, str]:
    """The steps ``staff`` may take on the suspicion now (action value → the button's words), as the workflow's
    table decides: a notice past its due date is decided as an overdue one; a step refused to this person
    (the four-eyes rule) is left out, and :func:`barred` says why."""
    from yibao.supervision import suspicion_states as st

    status = detail["status"]
    if st.is_lapsed(status, detail["due_date"], today):
        status = st.Status.OVERDUE.value
    facts = st.Facts(status, detail["result_type"], detail["notified_by"], detail["responded_by"])
    out = {}
    for action in (
        Action.CONFIRM,
        Action.NOTIFY,
        Action.ACCEPT,
        Action.APPEAL,
        Action.UPHOLD,
        Action.DISMISS,
        Action.DEDUCT,
    ):
        step = st.edge(action, status)
        if step is None or step.permission == st.AUTO:
            continue
        try:
            st.transition(action, facts, staff=staff)
        except (st.SuspicionRefused, st.NotPermitted):
            continue
        out[action.value] = step.verb
    return out


def barred(detail: dict, staff) -> str:
    """Why a member of staff who could otherwise act may not (the four-eyes rule), or nothing."""
    from yibao.supervision import suspicion_states as st

    status = detail["status"]
    if (
        status == st.Status.NOTIFIED.value
        and staff.username == detail["notified_by"]
        and staff.may(st.RESPOND)
    ):
        return "您是告知该疑点的审核人员，机构的答复须由其他经办人员代录。"
    second = status in (st.Status.APPEALED.value, st.Status.OVERDUE.value) and staff.may(st.REVIEW)
    if second and staff.username in (detail["notified_by"], detail["responded_by"]):
        return "您已告知或代录过该疑点，复核须由其他审核人员办理（四眼原则）。"
    return ""
