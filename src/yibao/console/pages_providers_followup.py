"""定点管理 · 机构状态, what follows a decision: 整改验收 of a 限期整改 measure, 注销 of a 医保医师备案, and the
退出清算 statement of an institution that has left (its visits begun before the exit date and not yet settled,
what the fund still owes it, registrations still standing). Shown by :mod:`.pages_providers_status`."""

from __future__ import annotations

from nicegui import ui

from yibao.console.pages_providers import REFUSED, attempt, me, message_label, select, table
from yibao.providers.service import exits, staff


def exit_card(st: dict) -> None:
    """The 退出清算 statement (:func:`yibao.providers.service.exits.statement`)."""
    done = st["settled"]
    with ui.card().classes("w-full gap-1").mark("inst-exit"):
        with ui.row().classes("items-center gap-3"):
            ui.label(f"退出清算 · 自 {st['exit_date']} 退出").classes("font-bold")
            ui.badge("已清结" if done else "未清结", color="positive" if done else "orange-9").mark(
                "exit-settled"
            )
        if st["reason"]:
            ui.label(f"退出原因：{st['reason']}")
        visits = st["unfinished_visits"]
        ui.label(f"退出日前开始、尚未结算的就诊 {len(visits)} 笔（仍可由机构结算）").mark("exit-visits")
        if visits:
            table(
                [("mdtrt_id", "就诊ID"), ("psn_no", "人员编号"), ("med_type", "医疗类别"), ("begntime", "开始"),
                 ("status_name", "状态")],
                visits[:200],
                "exit-visit-table",
            )  # fmt: skip
        since = st["settled_since_exit"]
        ui.label(f"退出日起的结算 {since['count']} 笔，基金支付 {since['fund_pay_sumamt']} 元")
        if st["balances"]:
            table(
                [("account_name", "科目"), ("fund_pay_type", "基金"), ("owed", "基金尚欠（元）")],
                st["balances"],
                "exit-balances",
            )
        ui.label(f"基金尚欠合计 {st['owed_total']} 元（{exits.OWED_NOTE}）").mark("exit-owed")
        ui.label(f"未注销的医保医师备案 {st['registrations_standing']} 人")


def close_measure_form(measures: list[dict]) -> None:
    """整改验收: one of the open measures done, with what was checked."""
    open_ = {
        str(m["id"]): f"{m['decided_on']} {m['name']}（期限 {m['deadline']}）" for m in measures if m["open"]
    }
    if not open_:
        return
    with ui.card().classes("w-full max-w-5xl gap-2").mark("close-form"):
        ui.label("整改验收").classes("font-bold")
        with ui.row().classes("items-end gap-2 w-full"):
            chosen = select(open_, "", "措施", "w-80", "close-measure")
            note = ui.input("验收意见（必填）").props("outlined dense").classes("w-96").mark("close-note")
        message = message_label("close-message")

        def go() -> None:
            out = attempt(staff.close_measure, message, int(chosen.value), note=note.value or "", actor=me())
            if out is not REFUSED:
                ui.notify("已验收", type="positive")
                ui.navigate.reload()

        ui.button("验收通过", on_click=go).props("color=teal").mark("close-go")


def end_registration_form(practitioners: list[dict]) -> None:
    """注销备案: a practitioner standing under the agreement leaves it."""
    standing = {str(p["id"]): f"{p['prac_code']} {p['name']}" for p in practitioners if p["standing"]}
    if not standing:
        return
    with ui.card().classes("w-full max-w-5xl gap-2").mark("end-form"):
        ui.label("注销备案").classes("font-bold")
        with ui.row().classes("items-end gap-2 w-full"):
            chosen = select(standing, "", "医保医师", "w-64", "end-prac")
            reason = ui.input("注销原因（必填）").props("outlined dense").classes("w-96").mark("end-reason")
        message = message_label("end-message")

        def go() -> None:
            out = attempt(
                staff.end_registration, message, int(chosen.value), reason=reason.value or "", actor=me()
            )
            if out is not REFUSED:
                ui.notify("已注销", type="positive")
                ui.navigate.reload()

        ui.button("注销", on_click=go).props("color=teal").mark("end-go")
