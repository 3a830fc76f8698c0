"""定点管理 · 申请受理: the applications worklist (status in words, kind, institution, submitted between two
days; the evaluation clock with the days left, amber near the deadline and red past it; exported to Excel in
the background), the counter's form for a new application (the institution's data and the materials
checklist of its class), and one application — 受理 (the checks run: accepted, or refused naming what is
missing), 不予受理 with a reason, 通知补充材料 (the clock stops), 材料补齐, 撤回, the agency's review of the
kinds without a panel, and 签约 once the evaluation passed. Every step is a use case of
:mod:`yibao.providers.service`; a refusal shows in one line under its form and nothing is saved.

The other tabs: ``pages_providers_evaluation`` (评估), ``pages_providers_agreements`` (协议, 定点名单),
``pages_providers_status`` (机构状态) and ``pages_providers_assess`` (年度考核)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from nicegui import ui

from yibao.console import queries_providers as qp
from yibao.console import queries_providers_application as qd
from yibao.console.layout import can, current_user, frame, protected
from yibao.console.lists import paged_list
from yibao.errors import YibaoError
from yibao.providers.service import agreements, applications
from yibao.store.db import unit_of_work

READ, WRITE = qp.READ, qp.WRITE
MENU = "定点管理"
TABS = [
    ("申请受理", "/providers"),
    ("评估", "/providers/evaluation"),
    ("协议", "/providers/agreements"),
    ("机构状态", "/providers/institutions"),
    ("年度考核", "/providers/assessment"),
    ("定点名单", "/providers/public"),
]
REFUSED = object()
CLOCK_CSS = """
.clock-over { color: #c10015; font-weight: 700; }
.clock-near { color: #e65100; font-weight: 700; }
.clock-paused { color: #607d8b; }
"""


def tabs(current: str) -> None:
    with ui.row().classes("gap-2").mark("provider-tabs"):
        for label, path in TABS:
            ui.button(label, on_click=lambda p=path: ui.navigate.to(p)).props(
                "color=teal" if path == current else "outline color=teal"
            )


def facts(rows: list[tuple[str, str]], mark: str) -> None:
    with ui.grid(columns="9rem 1fr").classes("gap-x-4 gap-y-1 w-full").mark(mark):
        for label, value in rows:
            ui.label(label).classes("text-grey-7")
            ui.label(value).classes("whitespace-pre-wrap break-all")


def table(columns: list[tuple[str, str]], rows: list[dict], mark: str, *, wide=()) -> None:
    """A short table with Chinese headers; ``wide`` columns wrap."""
    ui.table(
        columns=[
            {"name": k, "label": label, "field": k, "align": "left", "headerStyle": "white-space: nowrap"}
            | {"style": "white-space: normal; min-width: 10rem" if k in wide else "white-space: nowrap"}
            for k, label in columns
        ],
        rows=[
            {k: ("" if r.get(k) is None else str(r.get(k))) for k, _ in columns} | {"_i": i}
            for i, r in enumerate(rows)
        ],
        row_key="_i",
    ).props('dense flat wrap-cells no-data-label="无"').classes("w-full").mark(mark)


def message_label(mark: str) -> ui.label:
    out = ui.label("").classes("text-negative").mark(mark)
    out.set_visibility(False)
    return out


def refuse(message: ui.label, text: str) -> None:
    message.set_text(f"未办理：{text}")
    message.set_visibility(True)


def attempt(work: Callable[..., object], message: ui.label, *args, **kwargs) -> object:
    """``work(session, …)`` in one unit of work: its result, or :data:`REFUSED` after showing the refusal in
    one line under the form (Chinese only; nothing was saved)."""
    message.set_visibility(False)
    try:
        with unit_of_work() as s:
            return work(s, *args, **kwargs)
    except YibaoError as exc:
        refuse(message, "；".join(qp.problem_text(p) for p in exc.message.split("；")))
        return REFUSED


def me() -> str:
    return current_user()["username"] or "console"


def day_of(text: str | None, what: str) -> date | None:
    """A date field: None when empty; ValueError in words when it is not a date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what}“{text[:20]}”不是日期（例如 2025-03-31）") from None


def clock_colours(grid, field: str = "clock") -> None:
    """Colour the clock column: red past the deadline, amber near it, grey while stopped."""
    ui.add_css(CLOCK_CSS)
    for d in grid.grid.options["columnDefs"]:
        if d["field"] == field:
            d["cellClassRules"] = {
                "clock-over": "data && data.tone === 'over'",
                "clock-near": "data && data.tone === 'near'",
                "clock-paused": "data && data.tone === 'paused'",
            }
    grid.grid.update()


# --- 申请受理 (the worklist) -------------------------------------------------------------------------------------


@ui.page("/providers")
@protected(READ)
def worklist(status: str = "open", kind: str = "", text: str = "") -> None:
    with frame(f"{MENU} · 申请受理", active=MENU):
        tabs("/providers")
        ui.label(
            "定点申请、基本信息变更、申请中止与解除、续签的办理情况。受理之日起 3 个月内完成评估（补充材料时间不计入）："
            "“评估计时”距期限 30 天内显示为橙色，超期为红色。点一行打开申请。"
        ).classes("text-grey-8")
        shown = {"filter": qp.ApplicationFilter(status=status, kind=kind, text=text)}
        with ui.row().classes("items-end gap-2"):
            st = select({"": "全部", **qp.STATUS_CHOICES}, status, "状态", "w-36", "appl-status")
            kd = select({"": "全部", **qp.KIND_CHOICES}, kind, "申请类型", "w-40", "appl-kind")
            box = ui.input("机构名称 / 编号 / 信用代码", value=text).props("outlined dense clearable")
            box.classes("w-64").mark("appl-text").on("keydown.enter", lambda: refresh())
            d1 = ui.input("提交日期从").props("type=date outlined dense clearable").mark("appl-from")
            d2 = ui.input("到").props("type=date outlined dense clearable").mark("appl-to")
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("appl-search")
            export_button("provider_applications", lambda: shown["filter"], "appl-export")
            if can(WRITE):
                ui.button("录入新申请", on_click=lambda: ui.navigate.to("/providers/new")).props(
                    "outline color=teal"
                ).mark("appl-new")
        message = message_label("appl-message")
        grid = paged_list(
            qp.APPLICATION_COLUMNS,
            qp.application_count,
            qp.application_records,
            lambda: shown["filter"],
            unsorted=qp.APPLICATION_UNSORTED,
            dates=qp.APPLICATION_DATES,
            unit="件",
            row_id="appl_no",
            on_click=lambda row: ui.navigate.to(f"/providers/application/{row['appl_no']}"),
            mark="appl-grid",
        )
        clock_colours(grid)

        def refresh() -> None:
            message.set_visibility(False)
            try:
                begin, end = day_of(d1.value, "提交日期从"), day_of(d2.value, "提交日期到")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            if begin and end and begin > end:
                refuse(message, f"起始日 {begin} 晚于截止日 {end}")
                return
            shown["filter"] = qp.ApplicationFilter(
                status=st.value or "", kind=kd.value or "", text=box.value or "", date_from=begin, date_to=end
            )
            grid.refresh()


def select(options: dict, value: str, label: str, width: str, mark: str) -> ui.select:
    return (
        ui.select(options, value=value if value in options else next(iter(options)), label=label)
        .props("outlined dense")
        .classes(width)
        .mark(mark)
    )


def export_button(name: str, current: Callable, mark: str) -> None:
    """导出 Excel: the whole list as filtered, a background job (progress here, the file downloaded)."""
    from yibao import ids
    from yibao.console.jobs import watch
    from yibao.console.queries_providers_status import export_work, exports
    from yibao.jobs.runner import runner

    def start() -> None:
        spec = exports()[name]
        path = runner().directory / f"{ids.digits(12)}-{spec.filename}"
        f = current()
        job = runner().submit(
            "export",
            f"导出{spec.title}",
            me(),
            export_work,
            name=name,
            flt=f,
            path=str(path),
            note=f.describe(),
        )
        with area:
            watch(job)

    ui.button("导出 Excel", on_click=start).props("outline color=teal").mark(mark)
    area = ui.column().classes("w-full")


# --- one application ----------------------------------------------------------------------------------------------


@ui.page("/providers/application/{appl_no}")
@protected(READ)
def application(appl_no: str) -> None:
    with unit_of_work(write=False) as s:
        a = qd.application_detail(s, appl_no)
    with frame(f"申请 {appl_no[:30]}", active=MENU):
        tabs("/providers")
        if a is None:
            ui.label(f"申请不存在：{appl_no[:40]}").classes("text-negative").mark("appl-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{a['name']} · {qp.KIND_CHOICES.get(a['kind'], a['kind'])}").classes("text-lg")
            ui.badge(qp.STATUS_CHOICES.get(a["status"], a["status"]), color="teal").classes("text-sm").mark(
                "appl-state"
            )
            c = a["clock"]
            if c["tone"] != "none":
                colour = {"over": "negative", "near": "orange-9", "paused": "grey-7"}.get(
                    c["tone"], "positive"
                )
                when = f"（期限 {c['deadline']}）" if c["deadline"] else ""
                ui.badge(f"评估计时：{c['text']}{when}", color=colour).classes("text-sm").mark("appl-clock")
        with ui.row().classes("w-full gap-4 xl:flex-nowrap items-start"):
            with ui.card().classes("w-full xl:w-3/5 min-w-0"):
                ui.label("申请信息").classes("font-bold")
                facts(a["facts"], "appl-facts")
            with ui.card().classes("w-full xl:w-2/5 min-w-0"):
                ui.label("申请材料").classes("font-bold")
                table([("material", "材料"), ("filed", "提交情况")], a["materials"], "appl-materials")
                if a["problems"]:
                    ui.label("不予受理的原因 / 需补充的材料").classes("font-bold text-negative")
                    for p in a["problems"]:
                        ui.label(f"· {p}").classes("text-negative").mark("appl-problem")
                if a["pauses"]:
                    ui.label("补充材料（评估计时暂停）").classes("font-bold")
                    table(
                        [("begndate", "通知日"), ("enddate", "补齐日"), ("asked", "需补充")],
                        a["pauses"],
                        "appl-pauses",
                        wide=("asked",),
                    )
                if a["evaluation"]:
                    ev = a["evaluation"]
                    result = (
                        f"评估得分 {ev['result']}" if ev["result"] else f"评估中（评估人员 {ev['panel']} 人）"
                    )
                    ui.label(result).mark("appl-evaluation")
                for x in a["agreements"]:
                    ui.button(
                        f"{x['kind']} {x['agreement_no']}（{x['status']}）",
                        on_click=lambda n=x["agreement_no"]: ui.navigate.to(f"/providers/agreement/{n}"),
                    ).props("flat dense color=teal no-caps")
        if can(WRITE):
            actions(a)
        ui.label("办理记录").classes("font-bold")
        table(
            [("at", "时间"), ("by", "人员"), ("step", "办理"), ("status", "办理后状态"), ("note", "说明")],
            a["history"],
            "appl-history",
            wide=("note",),
        )


def actions(a: dict) -> None:
    """The steps the application's status allows now, each through its use case."""
    no, status, kind = a["appl_no"], a["status"], a["kind"]
    if status in ("refused", "failed", "signed", "withdrawn"):
        return
    with ui.card().classes("w-full max-w-4xl gap-2").mark("appl-actions"):
        ui.label("办理").classes("font-bold")
        reason = (
            ui.input("原因 / 需补充的材料（每项一行可用分号分隔）").props("outlined dense").classes("w-full")
        )
        reason.mark("appl-reason")
        message = message_label("appl-action-message")

        def done(text: str) -> Callable[[object], None]:
            def after(out: object) -> None:
                if out is not REFUSED:
                    ui.notify(text, type="positive")
                    ui.navigate.reload()

            return after

        def accept() -> None:
            out = attempt(applications.accept, message, no, actor=me())
            if out is not REFUSED and out.status == "refused":
                ui.notify("材料不齐或不符合条件：不予受理，原因已记录", type="warning")
                ui.navigate.reload()
            else:
                done("已受理")(out)

        def asked() -> list[str]:
            return [x.strip() for x in (reason.value or "").replace("；", ";").split(";") if x.strip()]

        with ui.row().classes("gap-2"):
            if status == "submitted":
                ui.button("受理", on_click=accept).props("color=teal").mark("appl-accept")
                ui.button(
                    "不予受理",
                    on_click=lambda: done("已不予受理")(
                        attempt(applications.refuse, message, no, reason=reason.value or "", actor=me())
                    ),
                ).props("outline color=negative").mark("appl-refuse")
            if status in ("accepted", "evaluating"):
                ui.button(
                    "通知补充材料",
                    on_click=lambda: done("已通知补充材料，评估计时暂停")(
                        attempt(applications.request_supplement, message, no, asked=asked(), actor=me())
                    ),
                ).props("outline color=teal").mark("appl-ask")
            if status == "supplementing":
                ui.button(
                    "材料已补齐",
                    on_click=lambda: done("材料已补齐，评估计时继续")(
                        attempt(applications.supplement, message, no, actor=me())
                    ),
                ).props("color=teal").mark("appl-supplied")
            if kind == "apply" and status in ("accepted", "evaluating"):
                ui.button("评估", on_click=lambda: ui.navigate.to(f"/providers/evaluation/{no}")).props(
                    "color=teal"
                ).mark("appl-evaluate")
            if kind != "apply" and status == "accepted":
                ui.button(
                    "审核同意",
                    on_click=lambda: done("已同意并办结")(
                        attempt(applications.approve, message, no, actor=me())
                    ),
                ).props("color=teal").mark("appl-approve")
                ui.button(
                    "审核不同意",
                    on_click=lambda: done("已不同意")(
                        attempt(applications.reject, message, no, reason=reason.value or "", actor=me())
                    ),
                ).props("outline color=negative").mark("appl-reject")
            ui.button(
                "撤回",
                on_click=lambda: done("已撤回")(attempt(applications.withdraw, message, no, actor=me())),
            ).props("flat color=grey-8").mark("appl-withdraw")
        if kind == "apply" and status == "passed":
            sign_form(a, message)


def sign_form(a: dict, message: ui.label) -> None:
    """签约: the categories granted (those asked for, fewer if chosen), the first day; the main agreement and
    the supplementary ones its categories need are generated with their documents."""
    sc = qp.scheme()
    asked = {c: sc.services[c].name for c in a["services"] if c in sc.services}
    ui.label("协商签约").classes("font-bold")
    with ui.row().classes("items-end gap-3"):
        granted = ui.select(asked, multiple=True, value=list(asked), label="开通的服务类别")
        granted.props("outlined dense use-chips").classes("min-w-[24rem]").mark("sign-services")
        begin = ui.input("协议起始日", value=date.today().isoformat()).props("type=date outlined dense")
        begin.mark("sign-begin")

    def sign() -> None:
        try:
            day = day_of(begin.value, "协议起始日")
        except ValueError as exc:
            refuse(message, str(exc))
            return
        out = attempt(
            agreements.sign,
            message,
            a["appl_no"],
            actor=me(),
            granted=list(granted.value or []) or None,
            begndate=day,
        )
        if out is not REFUSED:
            ui.notify(f"已签约：{out.agreement_no}", type="positive")
            ui.navigate.to(f"/providers/agreement/{out.agreement_no}")

    ui.button("签约", on_click=sign).props("color=teal").mark("sign")
