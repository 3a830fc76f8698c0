"""智能监管 · 审核任务, 疑点管理 and 事前事中提醒: the 事后 runs with a form that starts one for a period (and
chosen rules) as a background job with its progress; the suspicion worklist (by rule, institution, status,
amount, due date; ordered and paged by the database, the whole filtered list exported in the background); and
the 3101/3102 warnings with the institutions' 3103 answers. Reads are ``queries_supervision_cases``; one
suspicion is ``pages_supervision_suspicion``."""

from __future__ import annotations

import json
from datetime import date

from nicegui import ui

from yibao import ids
from yibao.console import queries_supervision as qs
from yibao.console import queries_supervision_cases as qc
from yibao.console import queries_supervision_warnings as qw
from yibao.console.layout import can, current_user, frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.console.pages_supervision import MENU, READ, WRITE, tabs
from yibao.jobs.runner import DONE, Job, runner
from yibao.money import AmountError, fmt_yuan, parse_amount
from yibao.store.db import unit_of_work

# --- 审核任务 -------------------------------------------------------------------------------------------------------


@ui.page("/supervision/runs")
@protected(READ)
def runs() -> None:
    with frame(f"{MENU} · 审核任务", active=MENU):
        tabs("/supervision/runs")
        ui.label(
            "事后审核：以规则库中启用的事后规则审核一个期间内全部已结算的费用明细，发现的问题写为疑点（同一问题再次审核不重复生成）。"
            "点一行查看该任务新增的疑点。"
        ).classes("text-grey-8")
        if can(WRITE):
            _run_form(lambda: grid.refresh(first_page=True))
        else:
            ui.label("发起审核任务需要“办理监管”权限（岗位：稽核）。").classes("text-grey-7")
        grid = paged_list(
            qc.RUN_COLUMNS,
            qc.run_count,
            qc.run_records,
            qc.RunFilter,
            money=qc.RUN_MONEY,
            dates=("started_at",),
            unsorted=("rules",),
            unit="次",
            row_id="id",
            on_click=lambda row: ui.navigate.to(f"/supervision/suspicions?run={row['id']}"),
            mark="run-grid",
            height=420,
        )
        _align(grid, qc.RUN_NUMBERS)


def _align(grid, keys) -> None:
    """Counts right-aligned, as numbers are."""
    for definition in grid.grid.options["columnDefs"]:
        if definition["field"] in keys:
            definition["type"] = "rightAligned"
    grid.grid.update()


def _post_rules() -> dict[str, str]:
    with unit_of_work(write=False) as s:
        return qs.rule_options(s, post_only=True)


def _run_form(refreshed) -> None:
    year = date.today().year - 1
    with ui.card().classes("w-full max-w-5xl gap-2").mark("run-form"):
        ui.label("发起事后审核").classes("font-bold")
        with ui.row().classes("items-end gap-3"):
            d_from = (
                ui.input("结算期间从", value=f"{year}-01-01")
                .props("type=date outlined dense")
                .mark("run-from")
            )
            d_to = ui.input("到", value=f"{year}-12-31").props("type=date outlined dense").mark("run-to")
            engine = (
                ui.select(qc.ENGINES, value="duckdb", label="引擎")
                .props("outlined dense")
                .classes("w-44")
                .mark("run-engine")
            )
            chosen = (
                ui.select(
                    _post_rules(),
                    multiple=True,
                    value=[],
                    label="规则（不选为全部启用的事后规则）",
                    with_input=True,
                )
                .props("outlined dense use-chips")
                .classes("min-w-[24rem]")
                .mark("run-rules")
            )
            button = ui.button("开始审核", on_click=lambda: start()).props("color=teal").mark("run-start")
        message = ui.label("").classes("text-negative").mark("run-message")
        message.set_visibility(False)
        area = ui.column().classes("w-full")

    def start() -> None:
        message.set_visibility(False)
        try:
            begin, end = date.fromisoformat(d_from.value or ""), date.fromisoformat(d_to.value or "")
        except ValueError:
            message.set_text("未办理：请填写期间的起止日期（例如 2025-01-01 至 2025-12-31）")
            message.set_visibility(True)
            return
        if begin > end:
            message.set_text(f"未办理：起始日 {begin} 晚于截止日 {end}，请调换或修改")
            message.set_visibility(True)
            return
        user = current_user()["username"] or ""
        path = runner().directory / f"{ids.digits(12)}-audit-run.json"
        title = f"事后审核 {begin} 至 {end}"
        job = runner().submit(
            "audit_run",
            title,
            user,
            qc.run_job,
            date_from=begin.isoformat(),
            date_to=end.isoformat(),
            rules=list(chosen.value or []),
            engine=engine.value,
            actor=user,
            path=str(path),
        )
        button.disable()
        with area:
            _watch(job, lambda: (button.enable(), refreshed()))


def _watch(job: Job, finished) -> None:
    """The run's card: its step and a bar, polled twice a second; what it found when it is done."""
    with ui.card().classes("w-full max-w-xl") as card:
        label = ui.label(f"{job.title}：{job.state}").mark("run-job-status")
        bar = (
            ui.linear_progress(value=0, show_value=False)
            .props("color=teal instant-feedback")
            .mark("run-job-progress")
        )

    def poll() -> None:
        steps = f"，第 {job.done} / {job.total} 步" if job.total else ""
        label.set_text(f"{job.title}：{job.state}{steps}")
        bar.set_value(job.fraction)
        if not job.finished:
            return
        timer.deactivate()
        if job.state == DONE:
            report = json.loads(job.path.read_text(encoding="utf-8"))
            skipped = (
                f"；{len(report['skipped'])} 条规则需用 DuckDB 运行，已跳过" if report["skipped"] else ""
            )
            text = (
                f"{job.title}：已完成（任务 #{report['run']}），新增疑点 {report['new_suspicions']:,} 个，"
                f"已有 {report['existing']:,} 个，豁免 {report['suppressed']:,} 个，涉及金额 {report['amount']} 元{skipped}"
            )
            label.set_text(text)
            ui.notify(text, type="positive", multi_line=True)
            ui.timer(30, card.delete, once=True)
        else:
            label.set_text(f"{job.title}：失败 — {job.message}")
            ui.notify(job.message, type="negative", multi_line=True)
        finished()

    timer = ui.timer(0.5, poll)


# --- 疑点管理 -------------------------------------------------------------------------------------------------------


def _amount(text: str | None) -> int | None:
    t = (text or "").strip().replace(",", "").replace("，", "")
    if not t:
        return None
    try:
        return int(parse_amount(t))
    except AmountError:
        raise ValueError(f"金额：“{t[:20]}”不是金额（例如 1,000 或 1000.50）") from None


def _day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}：“{text[:20]}”不是日期（例如 2025-03-31）") from None


@ui.page("/supervision/suspicions")
@protected(READ)
def suspicions(rule: str = "", fixmedins_code: str = "", status: str = "", run: str = "") -> None:
    statuses = qc.status_names()
    with unit_of_work(write=False) as s:
        choices = qc.suspicion_choices(s)
    run_id = int(run) if run.isdigit() else None
    first = qc.SuspicionQuery(
        rule_code=rule if rule in choices["rule"] else "",
        fixmedins_code=fixmedins_code if fixmedins_code in choices["institution"] else "",
        status=status if status in statuses else "",
        run_id=run_id,
    )
    with frame(f"{MENU} · 疑点管理", active=MENU):
        tabs("/supervision/suspicions")
        ui.label(
            "事后审核发现的疑点：初审确认或排除，告知机构后由机构在答复期限内认可或申诉（附材料），复核维持或撤销，维持的金额从机构下期拨付中扣款。"
            "“逾期未答复”包括已过答复期限而尚未答复的疑点。点一行办理。"
        ).classes("text-grey-8")
        shown = {"filter": first}
        with ui.row().classes("items-end gap-2"):
            rule_box = (
                ui.select(
                    {"": "全部规则", **choices["rule"]}, value=first.rule_code, label="规则", with_input=True
                )
                .props("outlined dense")
                .classes("w-72")
                .mark("s-rule")
            )
            inst_box = (
                ui.select(
                    {"": "全部机构", **choices["institution"]},
                    value=first.fixmedins_code,
                    label="定点机构",
                    with_input=True,
                )
                .props("outlined dense")
                .classes("w-64")
                .mark("s-inst")
            )
            status_box = (
                ui.select({"": "全部", **statuses}, value=first.status, label="状态")
                .props("outlined dense")
                .classes("w-36")
                .mark("s-status")
            )
            low = ui.input("金额 ≥（元）").props("outlined dense").classes("w-32").mark("s-min")
            due = ui.input("答复期限不晚于").props("type=date outlined dense").classes("w-44").mark("s-due")
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("s-search")
            export_button(
                "supervision_suspicions", lambda: shown["filter"], lambda: note(shown["filter"]), "s-export"
            )
        total = ui.label("").classes("text-grey-8").mark("s-total")
        if run_id is not None:
            ui.label(f"审核任务 #{run_id} 发现的疑点").classes("text-teal-9").mark("s-run")
        grid = paged_list(
            qc.SUSPICION_COLUMNS,
            qc.suspicion_count,
            qc.suspicion_records,
            lambda: shown["filter"],
            money=qc.SUSPICION_MONEY,
            dates=("service_date", "due_date", "created_at"),
            unit="个",
            row_id="id",
            on_click=lambda row: ui.navigate.to(f"/supervision/suspicion/{row['id']}"),
            mark="suspicion-grid",
        )

        def note(f: qc.SuspicionQuery) -> str:
            with unit_of_work(write=False) as s:
                return "筛选：" + f.describe(s)

        def totals() -> None:
            with unit_of_work(write=False) as s:
                n, fen = qc.suspicion_count(s, shown["filter"]), qc.suspicion_total(s, shown["filter"])
            total.set_text(f"共 {n:,} 个疑点，涉及金额 {fmt_yuan(fen)} 元")

        def refresh() -> None:
            try:
                f = qc.SuspicionQuery(
                    rule_code=rule_box.value or "",
                    fixmedins_code=inst_box.value or "",
                    status=status_box.value or "",
                    min_fen=_amount(low.value),
                    due_to=_day(due.value, "答复期限"),
                    run_id=shown["filter"].run_id,
                )
            except ValueError as exc:
                ui.notify(str(exc), type="negative")
                return
            shown["filter"] = f
            grid.refresh()
            totals()

        totals()


# --- 事前事中提醒 ---------------------------------------------------------------------------------------------------


@ui.page("/supervision/warnings")
@protected(READ)
def warnings() -> None:
    with unit_of_work(write=False) as s:
        choices = qw.warning_choices(s)
    with frame(f"{MENU} · 事前事中提醒", active=MENU):
        tabs("/supervision/warnings")
        ui.label(
            "医院在开医嘱（3101 事前）、上传费用与结算（3102 事中及实时审核）时收到的规则提醒与拦截，以及医院的 3103 反馈："
            "继续（须说明理由）或修改。"
        ).classes("text-grey-8")
        shown = {"filter": qw.WarningFilter()}
        with ui.row().classes("items-end gap-2"):
            d_from = ui.input("日期从").props("type=date outlined dense").mark("w-from")
            d_to = ui.input("到").props("type=date outlined dense").mark("w-to")
            inst = (
                ui.select(
                    {"": "全部机构", **choices["institution"]}, value="", label="定点机构", with_input=True
                )
                .props("outlined dense")
                .classes("w-64")
                .mark("w-inst")
            )
            rule = (
                ui.select({"": "全部规则", **choices["rule"]}, value="", label="规则", with_input=True)
                .props("outlined dense")
                .classes("w-72")
                .mark("w-rule")
            )
            action = (
                ui.select({"": "全部", **qs.ACTION_NAMES}, value="", label="处理方式")
                .props("outlined dense")
                .classes("w-28")
                .mark("w-action")
            )
            stage = (
                ui.select({"": "全部", **qw.WARN_TYPES}, value="", label="阶段")
                .props("outlined dense")
                .classes("w-28")
                .mark("w-stage")
            )
            answer = (
                ui.select({"": "全部", **qw.ANSWERS}, value="", label="机构反馈")
                .props("outlined dense")
                .classes("w-28")
                .mark("w-answer")
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("w-search")
            export_button(
                "supervision_warnings",
                lambda: shown["filter"],
                lambda: "筛选：" + shown["filter"].describe(),
                "w-export",
            )
        grid = paged_list(
            qw.WARNING_COLUMNS,
            qw.warning_count,
            qw.warning_records,
            lambda: shown["filter"],
            money=qw.WARNING_MONEY,
            dates=("created_at", "dspo_at"),
            unsorted=("vola_cont", "dspo_way_rea"),
            unit="条",
            mark="warning-grid",
        )

        def refresh() -> None:
            try:
                f = qw.WarningFilter(
                    date_from=_day(d_from.value, "日期从"),
                    date_to=_day(d_to.value, "到"),
                    fixmedins_code=inst.value or "",
                    rule_code=rule.value or "",
                    action=action.value or "",
                    warn_type=stage.value or "",
                    answer=answer.value or "",
                )
            except ValueError as exc:
                ui.notify(str(exc), type="negative")
                return
            if f.date_from and f.date_to and f.date_from > f.date_to:
                ui.notify(f"日期：起始日 {f.date_from} 晚于截止日 {f.date_to}，请调换或修改", type="negative")
                return
            shown["filter"] = f
            grid.refresh()
