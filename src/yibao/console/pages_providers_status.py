"""定点管理 · 机构状态: the institutions with what their designation says on a day (正常 / 中止 / 无有效协议), and
one institution — its agreements, designation intervals (what settlement reads), status history, measures and
registered practitioners — with the forms of 履约 and 退出: 协议处理 on the scheme's ladder (约谈, 限期整改 with
its deadline …, 中止医保协议 for 1/2/4/6 months, 解除医保协议 on a red line chosen from the region's list),
中止 / 恢复 / 解除 by application or by the agency, and 医保医师备案; 整改验收, 注销备案 and the 退出清算
statement of one that left (:mod:`.pages_providers_followup`). Each is a use case of
:mod:`yibao.providers.service`; a refusal shows under its form."""

from __future__ import annotations

from nicegui import ui

from yibao.console import pages_providers_followup as followup
from yibao.console import queries_providers as qp
from yibao.console import queries_providers_status as qs
from yibao.console.layout import can, frame, protected
from yibao.console.lists import paged_list
from yibao.console.pages_providers import (
    MENU,
    READ,
    REFUSED,
    WRITE,
    attempt,
    day_of,
    export_button,
    me,
    message_label,
    refuse,
    select,
    table,
    tabs,
)
from yibao.providers.service import staff, status
from yibao.store.db import unit_of_work


@ui.page("/providers/institutions")
@protected(READ)
def institutions(text: str = "", on_day: str = "") -> None:
    with frame(f"{MENU} · 机构状态", active=MENU):
        tabs("/providers/institutions")
        ui.label(
            "定点医药机构在所选日期的协议状态（结算按就诊当日的状态判断）。点一行查看协议、状态记录，办理协议处理、中止、恢复、解除与医保医师备案。"
        ).classes("text-grey-8")
        shown = {"filter": qs.InstitutionFilter(text=text, on_day=on_day)}
        with ui.row().classes("items-end gap-2"):
            box = ui.input("机构名称 / 编号", value=text).props("outlined dense clearable").classes("w-64")
            box.mark("inst-text").on("keydown.enter", lambda: refresh())
            st = select({"": "全部", **qs.ON_DAY}, on_day, "当日状态", "w-36", "inst-on-day")
            when = ui.input("日期").props("type=date outlined dense clearable").mark("inst-day")
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("inst-search")
            export_button("provider_institutions", lambda: shown["filter"], "inst-export")
        message = message_label("inst-message")
        grid = paged_list(
            qs.INSTITUTION_COLUMNS,
            qs.institution_count,
            qs.institution_records,
            lambda: shown["filter"],
            unsorted=qs.INSTITUTION_UNSORTED,
            dates=qs.INSTITUTION_DATES,
            unit="家",
            row_id="fixmedins_code",
            on_click=lambda row: ui.navigate.to(f"/providers/institution/{row['fixmedins_code']}"),
            mark="inst-grid",
        )

        def refresh() -> None:
            message.set_visibility(False)
            try:
                day = day_of(when.value, "日期")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            shown["filter"] = qs.InstitutionFilter(box.value or "", st.value or "", day)
            grid.refresh()


@ui.page("/providers/institution/{code}")
@protected(READ)
def institution(code: str) -> None:
    with unit_of_work(write=False) as s:
        x = qs.institution_status(s, code)
    with frame(f"机构状态 {code[:20]}", active=MENU):
        tabs("/providers/institutions")
        if x is None:
            ui.label(f"定点医药机构不存在：{code[:40]}").classes("text-negative").mark("inst-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{x['name']}（{code}）· {x['cls']}").classes("text-lg")
            colour = {"active": "positive", "suspended": "orange-9"}.get(x["today_key"], "grey-7")
            reason = f"：{x['today_reason']}" if x["today_reason"] else ""
            ui.badge(f"今日 {x['today']}{reason}", color=colour).classes("text-sm").mark("inst-today")
        if x["exit"] is not None:
            followup.exit_card(x["exit"])
        ui.label("医保服务协议").classes("font-bold")
        table(
            [
                ("agreement_no", "协议编号"),
                ("kind", "类型"),
                ("begndate", "起"),
                ("enddate", "止"),
                ("status", "状态"),
                ("services", "开通的服务类别"),
            ],
            x["agreements"],
            "inst-agreements",
            wide=("services",),
        )
        ui.label("定点区间（结算按此判断）").classes("font-bold")
        table(
            [("begndate", "起"), ("enddate", "止"), ("status", "状态"), ("note", "医疗类别 / 中止原因")],
            x["intervals"],
            "inst-intervals",
            wide=("note",),
        )
        if can(qp.SANCTION):
            with ui.row().classes("w-full gap-4 items-start xl:flex-nowrap"):
                measure_form(code)
                status_form(code)
        ui.label("状态记录").classes("font-bold")
        table(
            [
                ("at", "时间"),
                ("change", "状态变化"),
                ("by", "方式"),
                ("period", "期间"),
                ("reason", "原因"),
                ("red_line", "解除情形"),
                ("actor", "人员"),
            ],
            x["events"],
            "inst-events",
            wide=("reason",),
        )
        ui.label("协议处理").classes("font-bold")
        table(
            [
                ("decided_on", "处理日"),
                ("name", "措施"),
                ("reason", "原因"),
                ("deadline", "整改期限"),
                ("status", "状态"),
                ("actor", "人员"),
            ],
            x["measures"],
            "inst-measures",
            wide=("reason",),
        )
        if can(qp.SANCTION):
            followup.close_measure_form(x["measures"])
        ui.label(f"医保医师备案（{len(x['practitioners'])} 人）").classes("font-bold")
        table(
            [
                ("prac_code", "医保医师代码"),
                ("name", "姓名"),
                ("type", "类别"),
                ("qualification", "资质"),
                ("agreement_no", "协议"),
                ("registered_on", "备案日"),
                ("status", "状态"),
            ],
            x["practitioners"],
            "inst-practitioners",
        )
        if can(WRITE):
            practitioner_form(code)
            followup.end_registration_form(x["practitioners"])


def measure_form(code: str) -> None:
    """协议处理: a step of the scheme's ladder; 中止 with its months, 解除 with its red line."""
    sc = qp.scheme()
    ladder = {m.code: f"{m.step}. {m.name}" for m in sc.measures}
    effects = {m.code: m.effect for m in sc.measures}
    months = {m: f"{m} 个月" for m in sc.application.suspension_months}
    red_lines = {"": "（不涉及）", **{r.code: f"{r.code} {r.name}" for r in sc.red_lines}}
    with ui.card().classes("w-full xl:w-1/2 min-w-0 gap-2").mark("measure-form"):
        ui.label("协议处理（违约处理）").classes("font-bold")
        chosen = (
            ui.select(ladder, value=next(iter(ladder)), label="措施").props("outlined dense").classes("w-72")
        )
        chosen.mark("measure-code")
        with ui.row().classes("items-end gap-2 w-full"):
            day = ui.input("处理日").props("type=date outlined dense clearable").mark("measure-day")
            deadline = (
                ui.input("整改期限").props("type=date outlined dense clearable").mark("measure-deadline")
            )
            length = ui.select(months, value=next(iter(months)), label="中止期限").props("outlined dense")
            length.classes("w-28").mark("measure-months")
        red = ui.select(red_lines, value="", label="解除情形（红线）", with_input=True).props(
            "outlined dense"
        )
        red.classes("w-full").mark("measure-red-line")
        reason = ui.input("原因（必填）").props("outlined dense").classes("w-full").mark("measure-reason")
        message = message_label("measure-message")

        def shown() -> None:
            effect = effects.get(chosen.value)
            deadline.set_visibility(effect == "deadline")
            length.set_visibility(effect == "suspend")
            red.set_visibility(effect in ("suspend", "terminate"))

        chosen.on_value_change(lambda _: shown())
        shown()

        def go() -> None:
            try:
                on, due = day_of(day.value, "处理日"), day_of(deadline.value, "整改期限")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            effect = effects.get(chosen.value)
            out = attempt(
                staff.record_measure,
                message,
                code,
                code=chosen.value,
                reason=reason.value or "",
                actor=me(),
                day=on,
                deadline=due if effect == "deadline" else None,
                months=int(length.value) if effect == "suspend" else None,
                red_line=(red.value or None) if effect in ("suspend", "terminate") else None,
            )
            if out is not REFUSED:
                ui.notify(f"已记录：{out.name}", type="positive")
                ui.navigate.reload()

        ui.button("办理", on_click=go).props("color=teal").mark("measure-go")


ACTIONS = {"suspend": "中止", "resume": "恢复", "terminate": "解除"}
BY = {"staff": "经办机构办理", "application": "机构申请"}


def status_form(code: str) -> None:
    """中止 / 恢复 / 解除 by the institution's application or by the agency (a sanction goes through 协议处理)."""
    with ui.card().classes("w-full xl:w-1/2 min-w-0 gap-2").mark("status-form"):
        ui.label("中止 / 恢复 / 解除").classes("font-bold")
        with ui.row().classes("items-end gap-2 w-full"):
            what = ui.select(ACTIONS, value="suspend", label="办理").props("outlined dense").classes("w-28")
            what.mark("status-action")
            by = ui.select(BY, value="staff", label="方式").props("outlined dense").classes("w-36")
            by.mark("status-by")
        with ui.row().classes("items-end gap-2 w-full"):
            begin = ui.input("起始日 / 生效日").props("type=date outlined dense").mark("status-begin")
            end = ui.input("中止止日").props("type=date outlined dense clearable").mark("status-end")
        ui.label(
            "中止止日不填：中止至恢复之日。机构申请的中止与解除按方案的期限与提前告知办理；违约中止、解除请用“协议处理”。"
        ).classes("text-grey-7 text-sm")
        reason = ui.input("原因（必填）").props("outlined dense").classes("w-full").mark("status-reason")
        message = message_label("status-message")

        def shown() -> None:
            end.set_visibility(what.value == "suspend")
            by.set_visibility(what.value != "resume")

        what.on_value_change(lambda _: shown())
        shown()

        def go() -> None:
            try:
                first, last = day_of(begin.value, "起始日"), day_of(end.value, "中止止日")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            if first is None:
                refuse(message, "请填写起始日 / 生效日")
                return
            why = reason.value or ""
            if what.value == "suspend":
                out = attempt(
                    status.suspend,
                    message,
                    code,
                    begndate=first,
                    enddate=last,
                    by=by.value,
                    reason=why,
                    actor=me(),
                )
            elif what.value == "resume":
                out = attempt(status.resume, message, code, day=first, reason=why, actor=me())
            else:
                out = attempt(status.terminate, message, code, day=first, by=by.value, reason=why, actor=me())
            if out is not REFUSED:
                ui.notify(f"已{ACTIONS[what.value]}", type="positive")
                ui.navigate.reload()

        ui.button("办理", on_click=go).props("color=teal").mark("status-go")


def practitioner_form(code: str) -> None:
    with ui.card().classes("w-full max-w-5xl gap-2").mark("practitioner-form"):
        ui.label("医保医师备案").classes("font-bold")
        with ui.row().classes("items-end gap-2 w-full"):
            prac = ui.input("医保医师代码").props("outlined dense").classes("w-48").mark("prac-code")
            name = ui.input("姓名").props("outlined dense").classes("w-32").mark("prac-name")
            kind = (
                ui.select(qs.PRAC_TYPES, value="doctor", label="类别").props("outlined dense").classes("w-24")
            )
            kind.mark("prac-type")
            qual = (
                ui.input("资质（执业证书等）")
                .props("outlined dense")
                .classes("w-64")
                .mark("prac-qualification")
            )
        message = message_label("prac-message")

        def go() -> None:
            out = attempt(
                staff.register_practitioner,
                message,
                code,
                prac_code=prac.value or "",
                prac_name=name.value or "",
                prac_type=kind.value,
                qualification=qual.value or "",
                actor=me(),
            )
            if out is not REFUSED:
                ui.notify("已备案", type="positive")
                ui.navigate.reload()

        ui.button("备案", on_click=go).props("color=teal").mark("prac-go")
