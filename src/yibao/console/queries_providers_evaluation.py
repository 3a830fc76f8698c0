"""定点管理 · 评估: an evaluation's scale by group, its panel with each member's sheet, the result and the
scheme's rules (pass mark, aggregate, the fields and kinds of the panel); a row of pasted scores read."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.console.queries_providers import CLOCKED, METHODS, ROLE_NAMES, people, scheme
from yibao.store import providers as store
from yibao.store.tables import ProviderApplication, ProviderEvaluation

# --- 评估 (an evaluation) ------------------------------------------------------------------------------------------


def evaluation_detail(s: Session, appl_no: str) -> dict | None:
    """The evaluation of an application: the scale by group, the panel (role, field, affiliation), each
    member's sheet (total, who recorded it), the result and pass mark."""
    app = s.get(ProviderApplication, appl_no)
    if app is None:
        return None
    sc = scheme()
    rules = sc.evaluation
    ev = store.evaluation_of(s, appl_no)
    sheets = {x.scorer_id: x for x in store.sheets_of(s, ev.id)} if ev else {}
    who = people(s, [x.recorded_by for x in sheets.values()])
    panel = []
    for m in ev.panel if ev else ():
        sheet = sheets.get(m["scorer_id"])
        panel.append(
            {
                "scorer_id": m["scorer_id"],
                "name": m["name"],
                "role": ROLE_NAMES.get(m["role"], m["role"]),
                "field": m["field"],
                "affiliation": m.get("affiliation") or "—",
                "conflict": "已申报" if m.get("declared_conflict") else "无",
                "total": sheet.total if sheet else "未录入",
                "recorded": f"{who.get(sheet.recorded_by, sheet.recorded_by)} {sheet.recorded_at:%Y-%m-%d %H:%M}"
                if sheet
                else "",
                "scores": dict(sheet.scores) if sheet else {},
            }
        )
    groups: dict[str, list] = {}
    for ind in rules.indicators:
        groups.setdefault(ind.group, []).append({"code": ind.code, "name": ind.name, "max": ind.max_points})
    return {
        "appl_no": appl_no,
        "status": app.status,
        "name": (app.org or {}).get("name") or "",
        "uscc": (app.org or {}).get("uscc") or "",
        "groups": groups,
        "panel": panel,
        "appointed": bool(ev),
        "result": ev.result if ev else None,
        "passed": ev.passed if ev else None,
        "concluded_on": ev.concluded_on if ev else None,
        "pass_mark": rules.pass_mark,
        "method": METHODS.get(rules.aggregate, rules.aggregate),
        "trim": rules.trim,
        "expert_fields": list(rules.expert_fields),
        "supervisor_kinds": list(rules.supervisor_kinds),
        "min_experts": rules.min_experts,
        "min_supervisors": rules.min_supervisors,
    }


def parse_scores(text: str, codes: list[str]) -> list[str]:
    """A row of scores pasted from a spreadsheet (tabs, spaces, commas or 、 between them), in the scale's
    order; fewer or more than the scale's indicators is an error in words."""
    cells = [c for c in text.replace("，", " ").replace(",", " ").replace("、", " ").split() if c]
    if len(cells) != len(codes):
        raise ValueError(f"粘贴了 {len(cells)} 个分数，评估量表有 {len(codes)} 项指标")
    for c in cells:
        try:
            Decimal(c)
        except ArithmeticError:
            raise ValueError(f"“{c[:12]}”不是分数") from None
    return cells


def evaluation_counts(s: Session) -> dict[str, int]:
    """How many applications wait for a panel, are being evaluated or are supplementing (the 评估 tab's head)."""
    rows = s.execute(
        select(ProviderApplication.status, func.count())
        .where(ProviderApplication.kind == "apply", ProviderApplication.status.in_(CLOCKED))
        .group_by(ProviderApplication.status)
    ).all()
    return {k: int(v) for k, v in rows}


def panel_of(s: Session, appl_no: str) -> list[dict]:
    ev = s.scalar(select(ProviderEvaluation).where(ProviderEvaluation.appl_no == appl_no))
    return list(ev.panel) if ev else []
