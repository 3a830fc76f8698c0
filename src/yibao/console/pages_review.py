"""审核工作台: the requests awaiting a second person (双人复核) — a bureau-initiated 结算撤销 filed by a handler
with its reason — in a queue (waiting first, oldest first), one opened with its settlement and its audit
trail, approved (the settlement is reversed then) or rejected with a comment. :func:`review_actions` is what a
settlement's page shows about it: its requests, and for a handler the 申请撤销 button and its reason dialog.

Who may do what is decided by :mod:`yibao.settlement.review` (a reviewer never decides their own request, even
when a page would let them try); the pages only leave out the buttons that would be refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nicegui import app, ui

from yibao.console.display import yuan
from yibao.console.grid import Column, ServerGrid
from yibao.console.layout import can, frame, protected
from yibao.errors import YibaoError
from yibao.settlement import review, review_service
from yibao.settlement.review import REVIEW, WRITE, Staff, Status
from yibao.store import review_reads as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import Settlement
from yibao.store.uow import lent_to

STATUS_CHOICES = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
    "": "全部",
}
STATUS_COLOURS = {
    "pending": "orange-8",
    "approved": "positive",
    "rejected": "negative",
    "withdrawn": "grey-7",
}
ACTION_NAMES = {"request": "提交申请", "approve": "审核通过", "reject": "驳回", "withdraw": "撤回"}
COLUMNS = [
    Column("id", "编号"),
    Column("setl_id", "结算ID", "code"),
    Column("psn_name", "参保人"),
    Column("fixmedins_name", "定点机构"),
    Column("medfee_sumamt", "医疗费总额（元）", "amount"),
    Column("fund_pay_sumamt", "基金支付（元）", "amount"),
    Column("requested_by", "申请人"),
    Column("reason", "撤销原因", sortable=False),
    Column("requested_at", "申请时间", "time"),
    Column("waited", "等待时长", sortable=False),
    Column("status", "状态"),
]


def staff() -> Staff:
    """The signed-in user as the rules see them."""
    user = app.storage.user
    return Staff(user.get("username") or "console", frozenset(user.get("permissions") or ()))


def _when(t: datetime | None) -> str:
    return "" if t is None else f"{t:%Y-%m-%d %H:%M}"


def _shown(r: dict, now: datetime) -> dict:
    """A request as the queue shows it: names, yuan, minutes, the wait."""
    return {
        **r,
        "psn_name": f"{r['psn_name']}（{r['psn_no']}）",
        "fixmedins_name": r["fixmedins_name"],
        "medfee_sumamt": yuan(r["medfee_sumamt"]),
        "fund_pay_sumamt": yuan(r["fund_pay_sumamt"]),
        "requested_by": r["requested_by_name"],
        "requested_at": _when(r["requested_at"]),
        "decided_at": _when(r["decided_at"]),
        "setl_time": _when(r["setl_time"]),
        "waited": review.waited(r["requested_at"], r["decided_at"] or now),
        "status": review.name(r["status"]),
    }


REFUSED = object()  # what :func:`_run` returns when the rules refused (a use case may itself return None)


def _run(work: Callable[..., object], message: ui.label, **kwargs) -> object:
    """``work(uow, …, staff=…, now=…)`` in one unit of work: its result, or :data:`REFUSED` after showing the
    refusal under the form (nothing was saved)."""
    message.set_visibility(False)
    try:
        with unit_of_work() as s, lent_to(s) as uow:
            return work(uow, staff=staff(), now=datetime.now(), **kwargs)
    except YibaoError as exc:
        message.set_text(f"未办理：{exc.message.partition(': ')[2] or exc.message}")
        message.classes(replace="text-negative")
        message.set_visibility(True)
        return REFUSED


def _badge(status: str) -> None:
    ui.badge(review.name(status), color=STATUS_COLOURS.get(status, "grey-7")).classes("text-sm").mark(
        "review-status"
    )


# --- the queue -----------------------------------------------------------------------------------------------


@ui.page("/review")
@protected(REVIEW)
def review_queue(status: str = "pending") -> None:
    status = status if status in STATUS_CHOICES else "pending"
    with frame("审核工作台", active="审核"):
        ui.label(
            "经办人员提交的结算撤销申请，须由另一位审核人员审核：通过即撤销结算（与定点机构 2208 撤销完全相同的账务、"
            "累计与审计），驳回则结算保持不变。本人提交的申请不能由本人审核。"
        ).classes("text-grey-8")
        shown = {"status": status or None}
        ui.select(STATUS_CHOICES, value=status, label="状态", on_change=lambda e: choose(e.value)).props(
            "outlined dense"
        ).classes("w-40").mark("review-filter")

        def page_of(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
            now = datetime.now()
            with unit_of_work(write=False) as s:
                rows = reads.queue(s, status=shown["status"], offset=offset, limit=limit, order=(key, desc))
                return reads.count(s, shown["status"]), [_shown(r, now) for r in rows]

        grid = ServerGrid(
            COLUMNS,
            page_of,
            unit="项",
            row_id="id",
            on_click=lambda row: ui.navigate.to(f"/review/{row['id']}"),
            mark="review-grid",
        )

        def choose(value: str) -> None:
            shown["status"] = value or None
            grid.refresh()

        grid.refresh()


# --- one request ---------------------------------------------------------------------------------------------


@ui.page("/review/{request_id}")
@protected(REVIEW)
def review_detail(request_id: int) -> None:
    with unit_of_work(write=False) as s:
        r = reads.one(s, request_id)
        trail = reads.trail(s, request_id) if r else []
    with frame(f"撤销申请 #{request_id}", active="审核"):
        ui.button("返回审核工作台", on_click=lambda: ui.navigate.to("/review")).props("flat color=teal")
        if r is None:
            ui.label(f"申请不存在: #{request_id}").classes("text-negative")
            return
        row = _shown(r, datetime.now())
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{review.KIND_NAMES.get(r['kind'], r['kind'])} · 结算 {r['setl_id']}").classes(
                "text-lg"
            )
            _badge(r["status"])
        with ui.card().classes("w-full max-w-4xl"):
            facts = [
                ("结算ID", r["setl_id"]),
                ("参保人", row["psn_name"]),
                ("定点机构", f"{r['fixmedins_name']}（{r['fixmedins_code']}）"),
                ("结算时间", row["setl_time"]),
                ("医疗费总额（元）", row["medfee_sumamt"]),
                ("基金支付（元）", row["fund_pay_sumamt"]),
                ("申请人", f"{r['requested_by_name']}（{r['requested_by']}）"),
                ("申请时间", f"{row['requested_at']}（已等待 {row['waited']}）"),
                ("撤销原因", r["reason"]),
            ]
            if r["decided_by"]:
                facts += [
                    ("办理人", f"{r['decided_by_name']}（{r['decided_by']}）"),
                    ("办理时间", row["decided_at"]),
                    ("审核意见", r["comment"] or ""),
                ]
            if r["result_setl_id"]:
                facts.append(("撤销记录", r["result_setl_id"]))
            with ui.grid(columns="9rem 1fr").classes("gap-x-4 gap-y-1 w-full").mark("review-facts"):
                for label, value in facts:
                    ui.label(label).classes("text-grey-7")
                    ui.label(str(value)).classes("whitespace-pre-wrap")
            ui.link("查看结算详情", f"/settlement/{r['setl_id']}").classes("text-teal-8")
        if r["status"] == Status.PENDING:
            _decision(r)
        ui.label("审计记录").classes("font-bold")
        ui.table(
            columns=[
                {"name": k, "label": label, "field": k, "align": "left"}
                for k, label in (
                    ("at", "时间"),
                    ("actor", "人员"),
                    ("action", "操作"),
                    ("note", "原因 / 意见"),
                )
            ],
            rows=[
                {
                    **t,
                    "at": f"{t['at']:%Y-%m-%d %H:%M:%S}",
                    "action": ACTION_NAMES.get(t["action"], t["action"]),
                }
                for t in trail
            ],
            row_key="seq",
        ).props("dense flat").classes("w-full max-w-4xl").mark("review-trail")


def _decision(r: dict) -> None:
    """审核意见 and the two buttons; a reviewer's own request says so instead (the rules refuse it anyway)."""
    me = staff()
    with ui.card().classes("w-full max-w-4xl gap-2"):
        if me.username == r["requested_by"]:
            ui.label("这是您本人提交的申请，须由另一位审核人员审核。").classes("text-orange-9").mark(
                "review-own"
            )
            return
        note = (
            ui.textarea("审核意见", placeholder="驳回时必填，最多 200 字")
            .props(f"outlined counter maxlength={review.REASON_MAX}")
            .classes("w-full")
            .mark("review-comment")
        )
        message = ui.label("").mark("review-message")
        message.set_visibility(False)

        def decide(step, done: str) -> None:
            if _run(step, message, request_id=r["id"], comment=note.value) is REFUSED:
                return
            ui.notify(done, type="positive")
            ui.navigate.reload()

        with ui.row().classes("gap-2"):
            ui.button(
                "审核通过（撤销结算）",
                on_click=lambda: decide(review_service.approve, "已审核通过，结算已撤销"),
            ).props("color=teal").mark("review-approve")
            ui.button("驳回", on_click=lambda: decide(review_service.reject, "已驳回")).props(
                "outline color=negative"
            ).mark("review-reject")


# --- on a settlement's page ----------------------------------------------------------------------------------


def review_actions(setl_id: str) -> None:
    """A settlement's reversal requests, for its detail page: the latest one's status, reason and decision;
    for a handler (settlement.write) the 申请撤销 button with its reason dialog while the settlement stands and
    nothing waits, or 撤回申请 on their own waiting request; for a reviewer, a link to the one waiting."""
    with unit_of_work(write=False) as s:
        row = s.get(Settlement, setl_id)
        requests = reads.of_settlement(s, setl_id) if row is not None else []
    if row is None:
        return
    me = staff()
    latest = requests[0] if requests else None
    with ui.card().classes("w-full gap-2").mark("review-actions"):
        ui.label("撤销申请（双人复核）").classes("font-bold")
        message = ui.label("").mark("review-actions-message")
        message.set_visibility(False)
        if latest is not None:
            with ui.row().classes("items-center gap-2"):
                ui.label(f"#{latest['id']} {review.KIND_NAMES.get(latest['kind'], latest['kind'])}")
                _badge(latest["status"])
                ui.label(
                    f"申请人 {latest['requested_by_name']} · {_when(latest['requested_at'])} · 原因：{latest['reason']}"
                ).classes("text-grey-8")
            if latest["decided_by"]:
                ui.label(
                    f"{latest['decided_by_name']} 于 {_when(latest['decided_at'])} {review.name(latest['status'])}"
                    + (f"：{latest['comment']}" if latest["comment"] else "")
                ).classes("text-grey-8")
        waiting = latest is not None and latest["status"] == Status.PENDING
        if waiting and can(REVIEW) and latest["requested_by"] != me.username:
            ui.link("去审核", f"/review/{latest['id']}").classes("text-teal-8").mark("review-open")
        if not can(WRITE):
            return
        if waiting and latest["requested_by"] == me.username:

            def withdraw() -> None:
                if _run(review_service.withdraw, message, request_id=latest["id"]) is REFUSED:
                    return
                ui.notify("已撤回撤销申请", type="positive")
                ui.navigate.reload()

            ui.button("撤回申请", on_click=withdraw).props("outline color=grey-8").mark("review-withdraw")
        standing = row.refd_setl_flag != "1" and row.reversed_by is None
        if standing and not waiting:
            _file_dialog(setl_id, message)


def _file_dialog(setl_id: str, message: ui.label) -> None:
    """The 申请撤销 button and its dialog: the reason (required, at most 200 characters), then submit."""
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] gap-3"):
        ui.label(f"申请撤销结算 {setl_id}").classes("text-lg font-bold")
        ui.label("提交后由另一位审核人员审核，审核通过时撤销结算。").classes("text-grey-8")
        reason = (
            ui.textarea("撤销原因", placeholder="必填：说明结算错在哪里、依据是什么（最多 200 字）")
            .props(f"outlined counter maxlength={review.REASON_MAX}")
            .classes("w-full")
            .mark("review-reason")
        )
        refusal = ui.label("").classes("text-negative").mark("review-reason-message")
        refusal.set_visibility(False)

        def submit() -> None:
            new = _run(review_service.file_reversal, refusal, setl_id=setl_id, reason=reason.value)
            if new is REFUSED:
                return
            dialog.close()
            ui.notify(f"已提交撤销申请 #{new}，等待审核", type="positive")
            ui.navigate.reload()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("取消", on_click=dialog.close).props("flat").mark("review-cancel")
            ui.button("提交申请", on_click=submit).props("color=teal").mark("review-submit")
    ui.button("申请撤销", on_click=dialog.open).props("outline color=negative").mark("review-file")


@ui.page("/review/file/{setl_id}")
@protected("settlement.read")
def review_file(setl_id: str) -> None:
    """A settlement's reversal requests on a page of their own (a link can point here; the settlement's page
    shows the same :func:`review_actions`)."""
    with unit_of_work(write=False) as s:
        row = s.get(Settlement, setl_id)
    with frame("结算撤销申请", active="结算"):
        if row is None:
            ui.label(f"结算不存在: {setl_id}").classes("text-negative")
            return
        ui.label(
            f"结算 {setl_id} · 医疗费总额 {yuan(row.medfee_sumamt)} 元 · 基金支付 {yuan(row.fund_pay_sumamt)} 元"
        ).classes("text-lg")
        ui.link("查看结算详情", f"/settlement/{setl_id}").classes("text-teal-8")
        review_actions(setl_id)
