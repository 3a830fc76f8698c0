"""智能监管 · 规则库: the whole rule library on the database-paged grid (filtered by class, kind, status and
text, exported to Excel in the background) and one rule in words — its header, parameters with the kind's
Chinese docs, exemptions, knowledge rows (codes named), test set (run on both engines at a click) and versions
(who, when, what, why). A user with 办理监管 (``supervision.write``) enables, disables or changes a rule's
severity, inline actions or end date, each with a reason; the store refuses what it must (a 可疑 rule that
would block), and the refusal shows under the form. The other tabs are ``pages_supervision_cases``
(审核任务, 疑点管理, 事前事中提醒) and ``pages_supervision_suspicion`` (one 疑点)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from nicegui import ui

from yibao.console import queries_supervision as qs
from yibao.console import queries_supervision_rule as qr
from yibao.console.layout import can, current_user, frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.errors import YibaoError
from yibao.store import audit_rules
from yibao.store.db import unit_of_work
from yibao.supervision.library import SEV_DEG

READ, WRITE = "supervision.read", "supervision.write"
MENU = "智能监管"
TABS = [
    ("规则库", "/supervision"),
    ("审核任务", "/supervision/runs"),
    ("疑点管理", "/supervision/suspicions"),
    ("事前事中提醒", "/supervision/warnings"),
    ("筛查线索", "/supervision/screening"),
]
REFUSED = object()


def tabs(current: str) -> None:
    """The 智能监管 pages, the one open (``current``) filled."""
    with ui.row().classes("gap-2").mark("supervision-tabs"):
        for label, path in TABS:
            ui.button(label, on_click=lambda p=path: ui.navigate.to(p)).props(
                "color=teal" if path == current else "outline color=teal"
            )


def facts(rows: list[tuple[str, str]], mark: str) -> None:
    with ui.grid(columns="9rem 1fr").classes("gap-x-4 gap-y-1 w-full").mark(mark):
        for label, value in rows:
            ui.label(label).classes("text-grey-7")
            ui.label(value).classes("whitespace-pre-wrap break-all")


def table(columns: list[tuple[str, str]], rows: list[dict], mark: str, *, key: str = "_i", wide=()) -> None:
    """A short table (a rule's parameters, a suspicion's lines) with Chinese headers; ``wide`` columns wrap."""
    ui.table(
        columns=[
            {"name": k, "label": label, "field": k, "align": "left", "headerStyle": "white-space: nowrap"}
            | {"style": "white-space: normal; min-width: 16rem" if k in wide else "white-space: nowrap"}
            for k, label in columns
        ],
        rows=[{**r, "_i": i} for i, r in enumerate(rows)],
        row_key=key,
    ).props("dense flat wrap-cells").classes("w-full").mark(mark)


def attempt(work: Callable[..., object], message: ui.label, **kwargs) -> object:
    """``work(session, …)`` in one unit of work: its result, or :data:`REFUSED` after showing the refusal under
    the form in Chinese (its field's internal name left out; nothing was saved)."""
    message.set_visibility(False)
    try:
        with unit_of_work() as s:
            return work(s, **kwargs)
    except YibaoError as exc:
        message.set_text(f"未办理：{refusal_text(exc.message)}")
        message.classes(replace="text-negative")
        message.set_visibility(True)
        return REFUSED


def refusal_text(message: str) -> str:
    """A store or workflow refusal as a clerk reads it: ``reason: 须说明原因`` → ``须说明原因``."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.replace("_", "").replace("-", "").isascii() else message


# --- 规则库 -------------------------------------------------------------------------------------------------------


@ui.page("/supervision")
@protected(READ)
def rules(class_l1: str = "", kind: str = "", status: str = "", text: str = "") -> None:
    with unit_of_work(write=False) as s:
        choices = qs.filter_choices(s)
    with frame(f"{MENU} · 规则库", active=MENU):
        tabs("/supervision")
        ui.label(
            "智能审核的规则库：每条规则的类别、规则类型、严重程度、审核阶段（事前 3101 / 事中 3102 与上传、结算时的实时审核 / 事后批量）、"
            "上传明细与结算时拦截还是提醒，以及知识点。点一行查看规则详情、知识点、测试集与版本记录。"
        ).classes("text-grey-8")
        shown = {"filter": qs.RuleFilter(class_l1=class_l1, kind=kind, status=status, text=text)}
        with ui.row().classes("items-end gap-2"):
            c1 = _select({"": "全部", **choices["class_l1"]}, class_l1, "一级类别", "w-40", "rule-class1")
            c2 = _select({"": "全部", **choices["class_l2"]}, "", "二级类别", "w-48", "rule-class2")
            k = _select({"": "全部", **choices["kind"]}, kind, "规则类型", "w-48", "rule-kind")
            st = _select({"": "全部", **qs.STATUS}, status, "状态", "w-28", "rule-status")
            box = (
                ui.input("规则编码 / 名称", value=text)
                .props("outlined dense clearable")
                .classes("w-56")
                .mark("rule-text")
            )
            box.on("keydown.enter", lambda: refresh())
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("rule-search")
            export_button(
                "supervision_rules",
                lambda: shown["filter"],
                lambda: shown["filter"].describe(),
                "rule-export",
            )
        grid = paged_list(
            qs.RULE_COLUMNS,
            qs.rule_count,
            qs.rule_records,
            lambda: shown["filter"],
            unsorted=qs.RULE_UNSORTED,
            dates=("effective_from", "effective_to"),
            unit="条",
            row_id="rule_code",
            on_click=lambda row: ui.navigate.to(f"/supervision/rule/{row['rule_code']}"),
            mark="rule-grid",
        )
        for definition in grid.grid.options["columnDefs"]:  # (counts sort and align as numbers)
            if definition["field"] in qs.RULE_NUMBERS:
                definition["type"] = "rightAligned"
        grid.grid.update()

        def refresh() -> None:
            shown["filter"] = qs.RuleFilter(
                class_l1=c1.value or "",
                class_l2=c2.value or "",
                kind=k.value or "",
                status=st.value or "",
                text=box.value or "",
            )
            grid.refresh()


def _select(options: dict, value: str, label: str, width: str, mark: str) -> ui.select:
    return (
        ui.select(options, value=value if value in options else "", label=label)
        .props("outlined dense")
        .classes(width)
        .mark(mark)
    )


# --- one rule -------------------------------------------------------------------------------------------------------


@ui.page("/supervision/rule/{code}")
@protected(READ)
def rule(code: str) -> None:
    with unit_of_work(write=False) as s:
        r = qr.rule_detail(s, code)
    with frame(f"规则 {code}", active=MENU):
        ui.button("返回规则库", on_click=lambda: ui.navigate.to("/supervision")).props("flat color=teal")
        if r is None:
            ui.label(f"规则不存在：{code[:40]}").classes("text-negative").mark("rule-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{r['name']}（{r['rule_code']}）").classes("text-lg")
            ui.badge(
                qs.STATUS["enabled" if r["enabled"] else "disabled"],
                color="positive" if r["enabled"] else "grey-7",
            ).classes("text-sm").mark("rule-state")
        with ui.row().classes("w-full gap-4 xl:flex-nowrap items-start"):
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("规则").classes("font-bold")
                facts(r["facts"], "rule-facts")
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("参数").classes("font-bold")
                if r["params"]:
                    table(
                        [("label", "参数"), ("value", "取值"), ("doc", "说明")],
                        r["params"],
                        "rule-params",
                        wide=("doc",),
                    )
                else:
                    ui.label("此规则类型没有参数").classes("text-grey-7")
                ui.label("豁免").classes("font-bold")
                if r["exemptions"]:
                    table(
                        [
                            ("field", "豁免对象"),
                            ("value", "取值"),
                            ("reason", "原因"),
                            ("from", "起"),
                            ("to", "止"),
                        ],
                        r["exemptions"],
                        "rule-exemptions",
                        wide=("reason",),
                    )
                else:
                    ui.label("无豁免").classes("text-grey-7")
        if can(WRITE):
            _actions(r)
        _knowledge(r)
        _tests(r)
        ui.label("版本记录").classes("font-bold")
        table(
            [
                ("version", "版本"),
                ("at", "时间"),
                ("by", "人员"),
                ("change", "操作"),
                ("what", "变更内容"),
                ("reason", "原因"),
            ],
            [{**v, "at": f"{v['at']:%Y-%m-%d %H:%M:%S}"} for v in reversed(r["versions"])],
            "rule-versions",
            wide=("what", "reason"),
        )


def _knowledge(r: dict) -> None:
    ui.label(f"知识点（{len(r['knowledge']):,} 条）").classes("font-bold")
    if not r["knowledge"]:
        ui.label("此规则类型不用知识点，按上面的参数判断").classes("text-grey-7")
        return
    from yibao.console.pages_payment_runs import memory_grid

    height = None if len(r["knowledge"]) <= 10 else 420  # (a few rows: as tall as they are)
    memory_grid(
        r["knowledge_columns"], lambda: r["knowledge"], mark="rule-knowledge", unit="条", height=height
    )


def _tests(r: dict) -> None:
    ui.label(f"测试集（{len(r['tests'])} 例）").classes("font-bold")
    if not r["tests"]:
        ui.label("无测试用例").classes("text-grey-7")
        return
    cases = {"rows": r["tests"]}
    holder = ui.column().classes("w-full")

    def draw() -> None:
        holder.clear()
        with holder:
            columns = [
                ("seq", "序号"),
                ("name", "用例"),
                ("expect", "预期"),
                ("visits", "就诊数"),
                ("lines", "明细数"),
            ]
            if "result" in cases["rows"][0]:
                columns.append(("result", "运行结果"))
            table(columns, cases["rows"], "rule-tests", wide=("name", "result"))

    def run_tests() -> None:
        from yibao.supervision.testing import run_case

        with unit_of_work(write=False) as s:
            library = audit_rules.load_library(s)
        rule = library.rules[r["rule_code"]]
        results = [run_case(rule, case, library) for case in rule.tests]
        cases["rows"] = [
            {**row, "result": "通过" if res.ok else f"未通过：{res.detail}"}
            for row, res in zip(r["tests"], results, strict=True)
        ]
        passed = sum(res.ok for res in results)
        ui.notify(
            f"测试集：{passed} / {len(results)} 例通过",
            type="positive" if passed == len(results) else "negative",
        )
        draw()

    ui.button("运行测试集", on_click=run_tests).props("outline color=teal").mark("rule-run-tests")
    draw()


def _actions(r: dict) -> None:
    """启用 / 停用 and 修改, each with its reason; a refusal shows under the form, nothing is saved."""
    me = current_user()["username"] or "console"
    with ui.card().classes("w-full max-w-4xl gap-2").mark("rule-actions"):
        ui.label("启用 / 停用 / 修改").classes("font-bold")
        ui.label(
            "停用的规则不再参与事前、事中与事后审核；修改严重程度、上传明细与结算时的拦截或提醒、失效日期。"
            "规则逻辑、知识点与参数须导入新版本的规则文件。每项操作须说明原因，生成新版本并写入审计日志。"
        ).classes("text-grey-7")
        # a 可疑 rule is never 明确违规 and never blocks: its form does not offer what the store would refuse
        suspect = r["result_type"] == "可疑"
        severities = {k: v for k, v in SEV_DEG.items() if not (suspect and k == "1")}
        actions = {k: v for k, v in qs.ACTION_NAMES.items() if not (suspect and k == "block")}
        with ui.row().classes("items-end gap-3 w-full"):
            sev = (
                ui.select(severities, value=r["sev_deg"], label="严重程度")
                .props("outlined dense")
                .classes("w-36")
                .mark("rule-sev")
            )
            scenes = {
                scene: ui.select(actions, value=r["actions"].get(scene, "warn"), label=label)
                .props("outlined dense")
                .classes("w-32")
                .mark(f"rule-action-{scene}")
                for scene, label in qs.SCENE_NAMES.items()
            }
            end = (
                ui.input("失效日期", value=r["effective_to"].isoformat() if r["effective_to"] else "")
                .props("type=date outlined dense clearable")
                .classes("w-44")
                .mark("rule-end")
            )
        reason = (
            ui.input("原因（必填）")
            .props("outlined dense counter maxlength=200")
            .classes("w-full")
            .mark("rule-reason")
        )
        message = ui.label("").mark("rule-message")
        message.set_visibility(False)

        def switch(enabled: bool) -> None:
            out = attempt(
                audit_rules.set_enabled,
                message,
                code=r["rule_code"],
                enabled=enabled,
                actor=me,
                reason=reason.value or "",
            )
            if out is not REFUSED:
                ui.notify("已启用" if enabled else "已停用", type="positive")
                ui.navigate.reload()

        def edit() -> None:
            changes: dict = {}
            if sev.value != r["sev_deg"]:
                changes["sev_deg"] = sev.value
            actions = {scene: box.value for scene, box in scenes.items()}
            if actions != {scene: r["actions"].get(scene, "warn") for scene in scenes}:
                changes["actions"] = actions
            before = r["effective_to"].isoformat() if r["effective_to"] else ""
            if (end.value or "") != before:
                changes["effective_to"] = _day(end.value, message)
                if changes["effective_to"] is REFUSED:
                    return
            if not changes:
                message.set_text("未办理：没有修改任何内容")
                message.classes(replace="text-negative")
                message.set_visibility(True)
                return
            out = attempt(
                audit_rules.edit_rule,
                message,
                code=r["rule_code"],
                changes=changes,
                actor=me,
                reason=reason.value or "",
            )
            if out is not REFUSED:
                ui.notify("已修改", type="positive")
                ui.navigate.reload()

        with ui.row().classes("gap-2"):
            if r["enabled"]:
                ui.button("停用", on_click=lambda: switch(False)).props("outline color=negative").mark(
                    "rule-disable"
                )
            else:
                ui.button("启用", on_click=lambda: switch(True)).props("color=teal").mark("rule-enable")
            ui.button("修改", on_click=edit).props("color=teal").mark("rule-edit")


def _day(text: str | None, message: ui.label) -> object:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        message.set_text(f"未办理：失效日期“{text[:20]}”不是日期（例如 2026-12-31）")
        message.classes(replace="text-negative")
        message.set_visibility(True)
        return REFUSED
