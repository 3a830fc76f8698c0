"""定点管理 · 评估: the applications waiting for or under evaluation (with their clock), and one evaluation —
the panel appointed (experts of the scheme's fields and social supervisors; a member who works for the
institution or declares an interest is refused: 回避), each member's sheet on the region's scale entered by
indicator (or pasted as a row from a spreadsheet), and the conclusion (the scheme's aggregate against the
pass mark). Each step is :mod:`yibao.providers.service.evaluations`; a refusal shows under its form."""

from __future__ import annotations

from nicegui import ui

from yibao.console import queries_providers as qp
from yibao.console import queries_providers_application as qd
from yibao.console import queries_providers_evaluation as qe
from yibao.console.layout import can, frame, protected
from yibao.console.lists import paged_list
from yibao.console.pages_providers import (
    MENU,
    READ,
    REFUSED,
    WRITE,
    attempt,
    clock_colours,
    me,
    message_label,
    refuse,
    table,
    tabs,
)
from yibao.providers.service import evaluations
from yibao.store.db import unit_of_work


@ui.page("/providers/evaluation")
@protected(READ)
def evaluation_list() -> None:
    with unit_of_work(write=False) as s:
        counts = qe.evaluation_counts(s)
    with frame(f"{MENU} · 评估", active=MENU):
        tabs("/providers/evaluation")
        ui.label(
            f"待组织评估 {counts.get('accepted', 0)} 件，评估中 {counts.get('evaluating', 0)} 件，"
            f"补充材料中 {counts.get('supplementing', 0)} 件（计时暂停）。点一行组织评估、录入评分表或作出评估结论。"
        ).classes("text-grey-8").mark("eval-counts")
        f = qp.ApplicationFilter(status="", stage="evaluation")
        grid = paged_list(
            qp.APPLICATION_COLUMNS,
            qp.application_count,
            qp.application_records,
            lambda: f,
            unsorted=qp.APPLICATION_UNSORTED,
            dates=qp.APPLICATION_DATES,
            unit="件",
            row_id="appl_no",
            on_click=lambda row: ui.navigate.to(f"/providers/evaluation/{row['appl_no']}"),
            mark="eval-grid",
        )
        clock_colours(grid)


@ui.page("/providers/evaluation/{appl_no}")
@protected(READ)
def evaluation(appl_no: str) -> None:
    with unit_of_work(write=False) as s:
        e = qe.evaluation_detail(s, appl_no)
        a = qd.application_detail(s, appl_no)
    with frame(f"评估 {appl_no[:30]}", active=MENU):
        tabs("/providers/evaluation")
        if e is None or a is None:
            ui.label(f"申请不存在：{appl_no[:40]}").classes("text-negative").mark("eval-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{e['name']}（{appl_no}）").classes("text-lg")
            ui.badge(qp.STATUS_CHOICES.get(e["status"], e["status"]), color="teal").classes("text-sm").mark(
                "eval-state"
            )
            c = a["clock"]
            if c["tone"] != "none":
                colour = {"over": "negative", "near": "orange-9", "paused": "grey-7"}.get(
                    c["tone"], "positive"
                )
                ui.badge(f"评估计时：{c['text']}", color=colour).classes("text-sm").mark("eval-clock")
            ui.button("打开申请", on_click=lambda: ui.navigate.to(f"/providers/application/{appl_no}")).props(
                "flat color=teal"
            )
        ui.label(
            f"评分规则：专家至少 {e['min_experts']} 人（{'、'.join(e['expert_fields'])} 各至少 1 人），社会监督代表至少 "
            f"{e['min_supervisors']} 人（{'、'.join(e['supervisor_kinds'])}）；每人按评估量表逐项评分，结果为各评分表合计的"
            f"{e['method']}，{e['pass_mark']} 分（含）以上为通过。与被评估机构有利益关系的人员须回避。"
        ).classes("text-grey-8")
        if e["result"] is not None:
            verdict = "通过" if e["passed"] else "未通过"
            ui.label(f"评估结论：{e['result']} 分，{verdict}（{e['concluded_on']}）").classes(
                "text-lg font-bold " + ("text-positive" if e["passed"] else "text-negative")
            ).mark("eval-result")
            if e["passed"] and e["status"] == "passed" and can(WRITE):
                ui.button(
                    "办理签约", on_click=lambda: ui.navigate.to(f"/providers/application/{appl_no}")
                ).props("color=teal").mark("eval-to-sign")
        if e["panel"]:
            ui.label("评估人员与评分表").classes("font-bold")
            table(
                [
                    ("name", "姓名"),
                    ("role", "身份"),
                    ("field", "领域 / 类别"),
                    ("affiliation", "任职单位"),
                    ("conflict", "利益关系"),
                    ("total", "评分合计"),
                    ("recorded", "录入"),
                ],
                e["panel"],
                "eval-panel",
            )
        if not can(WRITE):
            return
        if e["status"] == "accepted":
            panel_form(e)
        elif e["status"] == "evaluating":
            sheet_form(e)
            conclude(e)


def panel_form(e: dict) -> None:
    """组织评估: the members, three experts (one per field) and a supervisor to start with."""
    fields = {"expert": e["expert_fields"], "supervisor": e["supervisor_kinds"]}
    rows: list[dict] = []
    with ui.card().classes("w-full max-w-5xl gap-2").mark("panel-form"):
        ui.label("组织评估：确定评估人员").classes("font-bold")
        holder = ui.column().classes("w-full gap-1")
        message = message_label("panel-message")
        with ui.row().classes("gap-2"):
            ui.button("添加一人", on_click=lambda: add("supervisor", e["supervisor_kinds"][0])).props(
                "outline color=teal"
            ).mark("panel-add")
            ui.button("确定评估人员", on_click=lambda: appoint()).props("color=teal").mark("panel-appoint")

    def add(role: str, field: str) -> None:
        with holder, ui.row().classes("items-end gap-2 w-full"):
            n = len(rows) + 1
            name = ui.input(f"第 {n} 人 姓名").props("outlined dense").classes("w-32").mark("panel-name")
            kind = ui.select(qp.ROLE_NAMES, value=role, label="身份").props("outlined dense").classes("w-36")
            kind.mark("panel-role")
            what = ui.select(list(fields[role]), value=field, label="领域 / 类别").props("outlined dense")
            what.classes("w-32").mark("panel-field")
            where = ui.input("任职单位（机构编号或信用代码）").props("outlined dense").classes("w-64")
            where.mark("panel-affiliation")
            declared = ui.checkbox("申报有利益关系").mark("panel-conflict")
            kind.on_value_change(
                lambda ev, w=what: w.set_options(list(fields[ev.value]), value=fields[ev.value][0])
            )
            rows.append(
                {"name": name, "role": kind, "field": what, "affiliation": where, "conflict": declared}
            )

    for f in e["expert_fields"]:
        add("expert", f)
    add("supervisor", e["supervisor_kinds"][0])

    def appoint() -> None:
        scorers, seen = [], {"expert": 0, "supervisor": 0}
        for r in rows:
            if not (r["name"].value or "").strip():
                continue
            seen[r["role"].value] += 1
            scorers.append(
                {
                    "scorer_id": f"{'E' if r['role'].value == 'expert' else 'S'}{seen[r['role'].value]}",
                    "name": r["name"].value.strip(),
                    "role": r["role"].value,
                    "field": r["field"].value,
                    "affiliation": (r["affiliation"].value or "").strip() or None,
                    "declared_conflict": bool(r["conflict"].value),
                }
            )
        if not scorers:
            refuse(message, "请填写评估人员的姓名")
            return
        out = attempt(evaluations.appoint_panel, message, e["appl_no"], scorers=scorers, actor=me())
        if out is not REFUSED:
            ui.notify("已确定评估人员，开始评估", type="positive")
            ui.navigate.reload()


def sheet_form(e: dict) -> None:
    """A member's sheet: every indicator of the scale, grouped; a row pasted from a spreadsheet fills them."""
    members = {m["scorer_id"]: f"{m['name']}（{m['role']} · {m['field']}）" for m in e["panel"]}
    saved = {m["scorer_id"]: m["scores"] for m in e["panel"]}
    codes = [i["code"] for group in e["groups"].values() for i in group]
    inputs: dict[str, ui.input] = {}
    with ui.card().classes("w-full max-w-6xl gap-2").mark("sheet-form"):
        ui.label("录入评分表").classes("font-bold")
        with ui.row().classes("items-end gap-3 w-full"):
            who = ui.select(members, value=next(iter(members)), label="评估人员").props("outlined dense")
            who.classes("w-72").mark("sheet-scorer")
            paste = (
                ui.input("粘贴一行分数（按量表顺序，可从表格复制）").props("outlined dense").classes("grow")
            )
            paste.mark("sheet-paste")
            ui.button("填入", on_click=lambda: fill()).props("outline color=teal").mark("sheet-fill")
        for group, indicators in e["groups"].items():
            total = sum(i["max"] for i in indicators)
            ui.label(f"{group}（{len(indicators)} 项，满分 {total}）").classes("font-bold text-teal-9")
            with ui.grid(columns="repeat(auto-fill, minmax(15rem, 1fr))").classes("w-full gap-2"):
                for i in indicators:
                    with ui.column().classes("gap-0"):
                        ui.label(f"{i['code']} {i['name']}").classes("text-xs text-grey-8 leading-tight")
                        inputs[i["code"]] = (
                            ui.input(f"得分（满分 {i['max']}）")
                            .props("outlined dense")
                            .classes("w-full")
                            .mark(f"score-{i['code']}")
                        )
        message = message_label("sheet-message")
        ui.button("保存评分表", on_click=lambda: save()).props("color=teal").mark("sheet-save")

    def load() -> None:
        for code, box in inputs.items():
            box.set_value(saved.get(who.value, {}).get(code, ""))

    def fill() -> None:
        message.set_visibility(False)
        try:
            cells = qe.parse_scores(paste.value or "", codes)
        except ValueError as exc:
            refuse(message, str(exc))
            return
        for code, value in zip(codes, cells, strict=True):
            inputs[code].set_value(value)

    def save() -> None:
        scores = {code: (box.value or "").strip() for code, box in inputs.items()}
        empty = [c for c, v in scores.items() if not v]
        if empty:
            refuse(
                message, f"还有 {len(empty)} 项未评分：{'、'.join(empty[:8])}{'…' if len(empty) > 8 else ''}"
            )
            return
        out = attempt(
            evaluations.record_sheet, message, e["appl_no"], scorer_id=who.value, scores=scores, actor=me()
        )
        if out is not REFUSED:
            ui.notify(f"已保存 {members[who.value]} 的评分表：合计 {out.total} 分", type="positive")
            ui.navigate.reload()

    who.on_value_change(lambda _: load())
    load()


def conclude(e: dict) -> None:
    with ui.card().classes("w-full max-w-4xl gap-2").mark("conclude-form"):
        missing = [m["name"] for m in e["panel"] if m["total"] == "未录入"]
        ui.label("评估结论").classes("font-bold")
        ui.label(
            f"尚未录入：{'、'.join(missing)}" if missing else "全部评分表已录入，可以作出评估结论。"
        ).classes("text-grey-8")
        message = message_label("conclude-message")

        def go() -> None:
            out = attempt(evaluations.conclude_evaluation, message, e["appl_no"], actor=me())
            if out is not REFUSED:
                ui.notify(f"评估结论：{out.result} 分，{'通过' if out.passed else '未通过'}", type="positive")
                ui.navigate.reload()

        ui.button("作出评估结论", on_click=go).props("color=teal").mark("conclude")
