"""付费 · 特例单议: the hospitals' requests for cases the formulas price badly (payment-drg-dip.md §3.6) — a list
filtered by status, year and hospital, paged by the database (waiting first, oldest first) — and one request
with its case (group, 医疗费总额, length of stay), the hospital's statement and its evidence, the decision, and
its audit trail. A reviewer (payment.review) approves it with extra points or an FFS amount, or rejects it
with a note; its filer may withdraw it while it waits.

Who may do what is :mod:`yibao.payment.special_review`'s to decide (nobody decides a request they filed, nor
one of the hospital they work at, even when a page would let them try); the page only leaves out the
buttons that would be refused, and shows a refusal under the form when one comes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nicegui import ui
from sqlalchemy import select

from yibao.console.display import yuan
from yibao.console.layout import can, frame, protected
from yibao.console.lists import paged_list
from yibao.console.pages_review import staff
from yibao.errors import YibaoError
from yibao.money import fen_to_decimal
from yibao.payment import special_review as sr
from yibao.payment.service import special_review as service
from yibao.store import special_reviews as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution

ACTIVE = "特例单议"  # the menu item
STATUS_CHOICES = {**{k.value: v for k, v in sr.NAMES.items()}, "": "全部"}
STATUS_COLOURS = {"filed": "orange-8", "approved": "positive", "rejected": "negative", "withdrawn": "grey-7"}
ACTION_NAMES = {"request": "提交申请", "approve": "审议通过", "reject": "审议不通过", "withdraw": "撤回"}
COLUMNS = [
    ("id", "编号"),
    ("year", "年度"),
    ("fixmedins_name", "申请医院"),
    ("setl_id", "结算ID"),
    ("psn_name", "参保人"),
    ("reason", "申请类别"),
    ("scheme", "支付方式"),
    ("medfee_sumamt", "医疗费总额"),
    ("filed_by", "申请人"),
    ("filed_at", "申请时间"),
    ("status", "状态"),
    ("granted", "评审结果"),
]
REFUSED = object()  # what :func:`_run` returns when the rules refused


def _granted(r: dict) -> str:
    """What an approval granted, in words ("" for a request not approved)."""
    if r["status"] != sr.Status.APPROVED:
        return ""
    if r["ffs_fen"] is not None:
        return f"按项目付费 {yuan(r['ffs_fen'])} 元"
    return f"追加 {sr.points_words(r['extra_points4'])} 点"


def _listed(r: dict) -> dict:
    """A request as the list shows it (typed: the list formats money and times)."""
    return {
        "id": r["id"],
        "year": r["year"],
        "fixmedins_name": r["fixmedins_name"],
        "setl_id": r["setl_id"],
        "psn_name": r["psn_name"],
        "reason": sr.kind_name(r["reason"]),
        "scheme": sr.SCHEME_NAMES.get(r["scheme"], r["scheme"]),
        "medfee_sumamt": fen_to_decimal(r["medfee_sumamt"]),
        "filed_by": r["filed_by_name"],
        "filed_at": r["filed_at"],
        "status": sr.name(r["status"]),
        "granted": _granted(r),
    }


def _records(s, f: reads.ReviewFilter, limit: int, *, offset: int = 0, order=(None, False)) -> list[dict]:
    return [_listed(r) for r in reads.records(s, f, limit, offset=offset, order=order)]


def _hospitals() -> dict[str, str]:
    with unit_of_work(write=False) as s:
        return {
            i.fixmedins_code: f"{i.fixmedins_code} {i.fixmedins_name}"
            for i in s.scalars(
                select(Institution)
                .where(Institution.fixmedins_type == "1")
                .order_by(Institution.fixmedins_code)
            )
        }


def _when(t: datetime | None) -> str:
    return "" if t is None else f"{t:%Y-%m-%d %H:%M}"


def _badge(status: str) -> None:
    ui.badge(sr.name(status), color=STATUS_COLOURS.get(status, "grey-7")).classes("text-sm").mark(
        "special-review-status"
    )


def _run(work: Callable[..., object], message: ui.label, **kwargs) -> object:
    """``work(session, …, staff=…, now=…)`` in one unit of work: its result, or :data:`REFUSED` after showing the
    refusal under the form (nothing was saved)."""
    message.set_visibility(False)
    try:
        with unit_of_work() as s:
            return work(s, staff=staff(), now=datetime.now(), **kwargs)
    except YibaoError as exc:
        message.set_text(f"未办理：{exc.message.partition(': ')[2] or exc.message}")
        message.classes(replace="text-negative")
        message.set_visibility(True)
        return REFUSED


# --- the list --------------------------------------------------------------------------------------------------


@ui.page("/payment/reviews")
@protected(sr.READ)
def review_list(status: str = "filed", year: str = "", fixmedins_code: str = "") -> None:
    status = status if status in STATUS_CHOICES else "filed"
    hospitals = _hospitals()
    with frame("付费 · 特例单议", active=ACTIVE):
        ui.label(
            "医院对按病种付费计价明显不合理的住院病例（超长住院、重症监护、新药新技术、费用极高、急危重症抢救）提出的特例单议"
            "申请。评审人员不能审议本人提交的申请，也不能审议本人所在医院的申请；通过时给出追加点数或按项目付费金额之一，"
            "由年度清算计入。"
        ).classes("text-grey-8")
        shown = {
            "filter": reads.ReviewFilter(
                status=status or None, year=_year(year), fixmedins_code=fixmedins_code or None
            )
        }
        with ui.row().classes("items-end gap-2"):
            pick = (
                ui.select(STATUS_CHOICES, value=status, label="状态", on_change=lambda: refresh())
                .props("outlined dense")
                .classes("w-36")
                .mark("special-review-filter")
            )
            year_box = (
                ui.input("年度", value=year)
                .props("outlined dense")
                .classes("w-28")
                .mark("special-review-year")
            )
            hospital = (
                ui.select(
                    {"": "全部医院", **hospitals},
                    value=fixmedins_code if fixmedins_code in hospitals else "",
                    label="申请医院",
                )
                .props("outlined dense use-input input-debounce=0")
                .classes("w-72")
                .mark("special-review-hospital")
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("special-review-search")
        grid = paged_list(
            COLUMNS,
            reads.count_of,
            _records,
            lambda: shown["filter"],
            money=("medfee_sumamt",),
            dates=("filed_at",),
            unsorted=("granted",),
            unit="项",
            row_id="id",
            on_click=lambda row: ui.navigate.to(f"/payment/reviews/{row['id']}"),
            mark="special-review-grid",
        )

        def refresh() -> None:
            text = (year_box.value or "").strip()
            if text and _year(text) is None:
                ui.notify(f"年度：“{text[:10]}”不是年份（例如 2025）", type="negative")
                return
            shown["filter"] = reads.ReviewFilter(
                status=pick.value or None, year=_year(text), fixmedins_code=hospital.value or None
            )
            grid.refresh()


def _year(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100 else None


# --- one request ----------------------------------------------------------------------------------------------


@ui.page("/payment/reviews/{review_id}")
@protected(sr.READ)
def review_detail(review_id: int) -> None:
    with unit_of_work(write=False) as s:
        r = reads.one(s, review_id)
    with frame(f"特例单议申请 #{review_id}", active=ACTIVE):
        ui.button("返回特例单议列表", on_click=lambda: ui.navigate.to("/payment/reviews")).props(
            "flat color=teal"
        )
        if r is None:
            ui.label(f"申请不存在: #{review_id}").classes("text-negative")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{sr.kind_name(r['reason'])} · {r['fixmedins_name']} · 结算 {r['setl_id']}").classes(
                "text-lg"
            )
            _badge(r["status"])
        with ui.row().classes("w-full gap-4 xl:flex-nowrap items-start"):
            _case_card(r)
            _request_card(r)
        if r["status"] == sr.Status.FILED:
            _actions(r)
        _trail(r["trail"])


def _facts(rows: list[tuple[str, str]], mark: str) -> None:
    with ui.grid(columns="9rem 1fr").classes("gap-x-4 gap-y-1 w-full").mark(mark):
        for label, value in rows:
            ui.label(label).classes("text-grey-7")
            ui.label(value).classes("whitespace-pre-wrap")


def _case_card(r: dict) -> None:
    """The case: who, where, the group, the cost, the stay."""
    facts = r["case"]
    with ui.card().classes("w-full xl:w-1/2 min-w-0"):
        ui.label("病例").classes("font-bold")
        rows = [
            ("申请医院", f"{r['fixmedins_name']}（{r['fixmedins_code']}）"),
            ("结算年度", str(r["year"])),
            ("结算ID", r["setl_id"]),
            ("参保人", f"{r['psn_name']}（{r['psn_no']}）"),
            ("支付方式", sr.SCHEME_NAMES.get(r["scheme"], r["scheme"])),
        ]
        if facts is not None:
            c = facts.case
            group = (
                f"{c.group_code} {facts.group_name or ''}".strip()
                if c.group_code
                else "未分组（无有效结算清单）"
            )
            rows += [
                ("病组", group),
                ("医疗费总额（元）", yuan(c.cost_fen)),
                ("住院天数", f"{c.los} 天（{facts.admitted} 入院，{c.discharged} 出院）"),
            ]
        _facts(rows, "special-review-case")
        with ui.row().classes("gap-4"):
            if can("payment.read"):
                ui.link("查看分组过程", f"/payment/case/{r['setl_id']}").classes("text-teal-8")
            if can("settlement.read"):
                ui.link("查看结算详情", f"/settlement/{r['setl_id']}").classes("text-teal-8")


def _request_card(r: dict) -> None:
    """What the hospital said and sent, and the decision once made."""
    with ui.card().classes("w-full xl:w-1/2 min-w-0"):
        ui.label("申请与评审").classes("font-bold")
        evidence = "\n".join(
            e["name"] + (f"（SHA-256 {e['digest'][:12]}…）" if e.get("digest") else "") for e in r["evidence"]
        )
        rows = [
            ("申请类别", sr.kind_name(r["reason"])),
            ("医院说明", r["statement"]),
            ("证明材料", evidence or "无"),
            ("申请人", f"{r['filed_by_name']}（{r['filed_by']}）"),
            ("申请时间", _when(r["filed_at"])),
        ]
        if r["decided_by"]:
            where = r["reviewer_institution"]
            rows += [
                ("办理人", f"{r['decided_by_name']}（{r['decided_by']}）"),
                (
                    "评审人员所在机构",
                    f"{r['reviewer_institution_name'] or ''}（{where}）" if where else "医保经办机构",
                ),
                ("办理时间", _when(r["decided_at"])),
                ("意见", r["decision_note"] or ""),
            ]
        if r["status"] == sr.Status.APPROVED:
            rows.append(("评审结果", _granted(r)))
        _facts(rows, "special-review-request")


def _actions(r: dict) -> None:
    """For a reviewer: the decision form; for its filer: 撤回. A reviewer's own request says so instead."""
    me = staff()
    mine = me.username == r["filed_by"]
    if can(sr.DECIDE):
        with ui.card().classes("w-full max-w-4xl gap-2").mark("special-review-decide"):
            ui.label("评审").classes("font-bold")
            if mine:
                ui.label("这是您本人提交的申请，须由其他评审人员审议。").classes("text-orange-9").mark(
                    "special-review-own"
                )
            else:
                _decision_form(r)
    if mine and can(sr.FILE):
        message = ui.label("").mark("special-review-withdraw-message")
        message.set_visibility(False)

        def take_back() -> None:
            if _run(service.withdraw, message, review_id=r["id"]) is REFUSED:
                return
            ui.notify("已撤回申请", type="positive")
            ui.navigate.reload()

        ui.button("撤回申请", on_click=take_back).props("outline color=grey-8").mark(
            "special-review-withdraw"
        )


def _decision_form(r: dict) -> None:
    with ui.row().classes("items-end gap-3"):
        grant = (
            ui.radio({"points": "追加点数", "ffs": "按项目付费"}, value="points")
            .props("inline")
            .mark("special-review-grant")
        )
        points = (
            ui.input("追加点数", placeholder="大于 0，最多四位小数")
            .props("outlined dense")
            .classes("w-44")
            .mark("special-review-points")
        )
        ffs = (
            ui.input("按项目付费金额（元）", placeholder="大于 0，两位小数")
            .props("outlined dense")
            .classes("w-48")
            .mark("special-review-ffs")
        )
        ffs.bind_visibility_from(grant, "value", value="ffs")
        points.bind_visibility_from(grant, "value", value="points")
        where = (
            ui.select({"": "医保经办机构", **_hospitals()}, value="", label="评审人员所在机构")
            .props("outlined dense use-input input-debounce=0")
            .classes("w-72")
            .mark("special-review-institution")
        )
    note = (
        ui.textarea("评审意见", placeholder=f"不通过时必填，最多 {sr.NOTE_MAX} 字")
        .props(f"outlined counter maxlength={sr.NOTE_MAX}")
        .classes("w-full")
        .mark("special-review-note")
    )
    message = ui.label("").mark("special-review-message")
    message.set_visibility(False)

    def decide(decision: str, done: str) -> None:
        approving = decision == "approve"
        given = {
            "extra_points": points.value if approving and grant.value == "points" else None,
            "ffs_amount": ffs.value if approving and grant.value == "ffs" else None,
        }
        outcome = _run(
            service.decide,
            message,
            review_id=r["id"],
            decision=decision,
            note=note.value,
            reviewer_institution=where.value or None,
            **given,
        )
        if outcome is REFUSED:
            return
        ui.notify(done, type="positive")
        ui.navigate.reload()

    with ui.row().classes("gap-2"):
        ui.button("审议通过", on_click=lambda: decide("approve", "已审议通过")).props("color=teal").mark(
            "special-review-approve"
        )
        ui.button("不通过", on_click=lambda: decide("reject", "已审议不通过")).props(
            "outline color=negative"
        ).mark("special-review-reject")


def _trail(trail: list[dict]) -> None:
    ui.label("审计记录").classes("font-bold")
    ui.table(
        columns=[
            {"name": k, "label": label, "field": k, "align": "left"}
            | ({"style": "white-space: normal; min-width: 20rem"} if k == "note" else {})
            for k, label in (("at", "时间"), ("actor", "人员"), ("action", "操作"), ("note", "说明 / 意见"))
        ],
        rows=[
            {
                "seq": t["seq"],
                "at": f"{t['at']:%Y-%m-%d %H:%M:%S}",
                "actor": t["actor"],
                "action": ACTION_NAMES.get(t["action"], t["action"]),
                "note": t["note"] or "",
            }
            for t in trail
        ],
        row_key="seq",
    ).props("dense flat").classes("w-full max-w-4xl").mark("special-review-trail")
