"""智能监管 · one 疑点: what it is about (rule, institution, person, visit, settlement, amount, 违规内容), the
evidence (observed value and limit, the knowledge rows that applied, parameters, legal basis), the fee lines
involved, the appeal's files (downloadable), the workflow so far and its history from the audit log — and
the steps the user may take now: 初审确认 / 初审排除 / 告知机构 (稽核), 代机构认可 / 代机构申诉 with files (经办),
复核维持 / 复核撤销 and 扣款 (稽核). Which steps show is the workflow's table
(:mod:`yibao.supervision.suspicion_states`) applied to this user; the service
(:mod:`yibao.supervision.service.suspicions`) decides again when a step is taken, and its refusal shows under
the form."""

from __future__ import annotations

from datetime import date, datetime

from nicegui import events, ui

from yibao.console import queries_supervision_suspicion as qd
from yibao.console.layout import can, frame, protected
from yibao.console.pages_review import staff
from yibao.console.pages_supervision import MENU, READ, REFUSED, attempt, facts, table
from yibao.money import fmt_yuan
from yibao.store.db import unit_of_work

STATUS_COLOURS = {
    "open": "orange-8",
    "confirmed": "orange-9",
    "notified": "blue-8",
    "appealed": "purple-7",
    "overdue": "deep-orange-9",
    "upheld": "negative",
    "dismissed": "grey-7",
    "deducted": "brown-7",
}
# the buttons' order and colour; the words are the workflow's own verbs
BUTTONS = {
    "confirm": "color=teal",
    "notify": "color=teal",
    "accept": "color=teal",
    "appeal": "color=purple-7",
    "uphold": "color=negative",
    "dismiss": "outline color=grey-8",
    "deduct": "color=brown-7",
}


@ui.page("/supervision/suspicion/{suspicion_id}")
@protected(READ)
def suspicion(suspicion_id: int) -> None:
    with unit_of_work(write=False) as s:
        d = qd.suspicion_detail(s, suspicion_id)
    with frame(f"疑点 #{suspicion_id}", active=MENU):
        ui.button("返回疑点管理", on_click=lambda: ui.navigate.to("/supervision/suspicions")).props(
            "flat color=teal"
        )
        if d is None:
            ui.label(f"疑点不存在：#{suspicion_id}").classes("text-negative").mark("suspicion-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{d['rule_name']} · {d['fixmedins_name']}").classes("text-lg")
            ui.badge(d["status_name"], color=STATUS_COLOURS.get(d["status"], "grey-7")).classes(
                "text-sm"
            ).mark("suspicion-status")
        with ui.row().classes("w-full gap-4 xl:flex-nowrap items-start"):
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("疑点").classes("font-bold")
                facts(d["facts"], "suspicion-facts")
                with ui.row().classes("gap-4"):
                    ui.link("查看规则", f"/supervision/rule/{d['rule_code']}").classes("text-teal-8")
                    if d["setl_id"] and can("settlement.read"):
                        ui.link("查看结算详情", f"/settlement/{d['setl_id']}").classes("text-teal-8")
                    if d["psn_no"] and can("person.read"):
                        ui.link("查看参保人", f"/person/{d['psn_no']}").classes("text-teal-8")
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("依据").classes("font-bold")
                facts(d["evidence"]["facts"], "suspicion-evidence")
                if d["evidence"]["rows"]:
                    ui.label("适用的知识点").classes("text-grey-7")
                    table(d["evidence"]["columns"], d["evidence"]["rows"], "suspicion-knowledge")
        ui.label(f"涉及的费用明细（{len(d['lines'])} 条）").classes("font-bold")
        if d["lines"]:
            table(qd.LINE_COLUMNS, d["lines"], "suspicion-lines", wide=("item",))
        else:
            ui.label("此疑点按就诊或机构判断，不涉及具体明细").classes("text-grey-7")
        with ui.card().classes("w-full max-w-5xl"):
            ui.label("办理情况").classes("font-bold")
            facts(d["workflow"] or [("状态", d["status_name"])], "suspicion-workflow")
            _files(d)
        _actions(d)
        ui.label("处理记录").classes("font-bold")
        table(
            [("at", "时间"), ("actor", "人员"), ("step", "操作"), ("note", "说明")],
            d["history"],
            "suspicion-history",
            wide=("note",),
        )


def _files(d: dict) -> None:
    if not d["attachments"]:
        return
    ui.label("申诉材料").classes("text-grey-7")
    for a in d["attachments"]:
        with ui.row().classes("items-center gap-3"):
            ui.button(a["filename"], on_click=lambda a=a: _download(d["id"], a["id"])).props(
                "flat dense no-caps color=teal icon=attach_file"
            ).mark("suspicion-file")
            ui.label(f"{a['size']} · SHA-256 {a['sha256']} · {a['uploaded']}").classes("text-grey-7 text-sm")


def _download(suspicion_id: int, attachment_id: int) -> None:
    from yibao.store.suspicion_workflow import attachment

    with unit_of_work(write=False) as s:
        row = attachment(s, suspicion_id, attachment_id)
        data, name, kind = bytes(row.data), row.filename, row.content_type
    ui.download.content(data, name, kind)


def _actions(d: dict) -> None:
    """The steps this user may take now, in one form: a reason, and what a step needs beside it."""
    me = staff()
    steps = qd.allowed(d, me, date.today())
    why_not = qd.barred(d, me)
    if not steps:
        if why_not:
            ui.label(why_not).classes("text-orange-9").mark("suspicion-barred")
        return
    from yibao.supervision.service import suspicions as service

    files: list[tuple[str, bytes]] = []
    with ui.card().classes("w-full max-w-5xl gap-2").mark("suspicion-actions"):
        ui.label("办理").classes("font-bold")
        if "accept" in steps or "appeal" in steps:
            ui.label(
                f"代 {d['fixmedins_name']} 录入其答复（答复期限 {d['due_date'] or '未设'}）：认可即按疑点金额维持；申诉须写明理由，"
                "可附 PDF、图片、OFD、Word、Excel 材料。"
            ).classes("text-grey-8")
        if why_not:
            ui.label(why_not).classes("text-orange-9").mark("suspicion-barred")
        reason = (
            ui.textarea("理由 / 意见", placeholder="排除、申诉、复核时必填，最多 2000 字")
            .props("outlined counter maxlength=2000 autogrow")
            .classes("w-full")
            .mark("suspicion-reason")
        )
        with ui.row().classes("items-end gap-3"):
            amount = None
            if "uphold" in steps:
                amount = (
                    ui.input("维持金额（元）", placeholder=f"不填为全额 {fmt_yuan(d['vola_amt'])}")
                    .props("outlined dense")
                    .classes("w-56")
                    .mark("suspicion-amount")
                )
            month = None
            if "deduct" in steps:
                month = (
                    ui.input("扣款月份", placeholder="YYYY-MM，不填为下一拨付月")
                    .props("outlined dense")
                    .classes("w-56")
                    .mark("suspicion-month")
                )
        if "appeal" in steps:

            async def received(e: events.UploadEventArguments) -> None:
                files.append((e.file.name, await e.file.read()))

            ui.upload(label="申诉材料（可多个）", multiple=True, auto_upload=True, on_upload=received).props(
                "flat bordered color=teal accept=.pdf,.jpg,.jpeg,.png,.ofd,.docx,.xlsx"
            ).classes("w-full max-w-xl").mark("suspicion-upload")
        message = ui.label("").mark("suspicion-message")
        message.set_visibility(False)

        def take(action: str) -> None:
            now = datetime.now()
            common = {"suspicion_id": d["id"], "staff": me, "now": now}
            if action == "confirm":
                out = attempt(service.confirm, message, reason=reason.value, **common)
            elif action == "notify":
                from yibao.config import get_settings

                out = attempt(service.notify, message, regions_dir=get_settings().regions_dir, **common)
            elif action == "accept":
                out = attempt(
                    service.accept, message, fixmedins_code=d["fixmedins_code"], reason=reason.value, **common
                )
            elif action == "appeal":
                out = attempt(
                    service.appeal,
                    message,
                    fixmedins_code=d["fixmedins_code"],
                    reason=reason.value,
                    files=list(files),
                    **common,
                )
            elif action == "deduct":
                out = attempt(service.deduct, message, month=(month.value or "").strip() or None, **common)
            else:
                given = (
                    (amount.value or "").strip().replace(",", "")
                    if amount is not None and action == "uphold"
                    else None
                )
                out = attempt(
                    service.decide,
                    message,
                    decision=action,
                    reason=reason.value,
                    amount=given or None,
                    **common,
                )
            if out is REFUSED:
                return
            ui.notify(f"已办理：{steps[action]}", type="positive")
            ui.navigate.reload()

        with ui.row().classes("gap-2"):
            for action, props in BUTTONS.items():
                if action in steps:
                    ui.button(steps[action], on_click=lambda a=action: take(a)).props(props).mark(
                        f"suspicion-{action}"
                    )
