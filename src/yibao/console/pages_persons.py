"""参保人: search by name, ID number or psn_no; a person's enrollments (with the lifecycle actions: 暂停,
恢复, 终止, 在职→退休, 转出), entitlements (identities, chronic registrations, 惠民保: ``pages_entitlements``),
accumulators, personal-account statement, 共济."""

from __future__ import annotations

from datetime import date

from nicegui import ui

from yibao import validation as v
from yibao.console import queries as q
from yibao.console import queries_enrollment as qe
from yibao.console.layout import can, frame, protected
from yibao.console.pages_entitlements import entitlement_section
from yibao.errors import YibaoError
from yibao.store.db import unit_of_work

COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("certno", "证件号码"),
    ("gend", "性别"),
    ("brdy", "出生日期"),
    ("insutype", "险种"),
    ("psn_type", "人员类别"),
]


def _table(rows: list[dict], columns: list[tuple[str, str]], **kw):
    return ui.table(
        columns=[{"name": k, "label": v, "field": k, "align": "left", "sortable": True} for k, v in columns],
        rows=rows,
        **kw,
    ).classes("w-full")


@ui.page("/persons")
@protected("person.read")
def persons(q_text: str = "") -> None:
    with frame("参保人", active="参保人"):
        results = ui.column().classes("w-full")

        def search() -> None:
            results.clear()
            with unit_of_work(write=False) as s:
                rows = q.search_persons(s, box.value or "")
            with results:
                if not rows:
                    ui.label("没有找到参保人").classes("text-grey-7")
                    return
                ui.label(f"找到 {len(rows)} 人（证件号码已脱敏）").classes("text-grey-7")
                table = _table(rows, COLUMNS, row_key="psn_no", pagination=20).mark("person-results")
                table.on("rowClick", lambda e: ui.navigate.to(f"/person/{e.args[1]['psn_no']}"))

        with ui.row().classes("items-center"):
            box = (
                ui.input("姓名 / 证件号码 / 人员编号", value=q_text)
                .props("outlined clearable")
                .classes("w-96")
                .mark("person-search")
                .on("keydown.enter", search)
            )
            ui.button("查询", on_click=search).props("color=teal").mark("person-search-button")
        if q_text:
            search()


@ui.page("/person/{psn_no}")
@protected("person.read")
def person(psn_no: str) -> None:
    with unit_of_work(write=False) as s:
        d = q.person_detail(s, psn_no)
        _, settled = q.settlements(s, q.SettlementFilter(psn_no=psn_no), limit=500)
    with frame("参保人详情", active="参保人"):
        if d is None:
            ui.label(f"人员不存在: {psn_no}").classes("text-negative")
            return
        p = d["person"]
        ui.label(
            f"{p['psn_name']}（{p['psn_no']}） {p['gend']} {p['brdy']} 证件 {p['certno']} 区划 {p['admdvs']}"
        ).classes("text-lg").mark("person-header")
        with ui.row().classes("items-center"):
            ui.label("参保登记").classes("font-bold")
            if can("enrollment.write"):
                ui.button(
                    "办理参保登记", on_click=lambda: ui.navigate.to(f"/enrollment?psn_no={psn_no}")
                ).props("outline dense color=teal").mark("person-enroll")
        # one refreshable per page (a module-level one would re-render every client's page)
        sections: dict[str, ui.refreshable] = {}

        def changed() -> None:
            for part in sections.values():
                part.refresh()

        sections["enrollments"] = ui.refreshable(lambda: enrollment_section(psn_no, changed))
        sections["enrollments"]()
        sections["entitlements"] = ui.refreshable(lambda: entitlement_section(psn_no, changed))
        sections["entitlements"]()
        ui.label("年度累计").classes("font-bold")
        for year, values in d["accumulators"].items():
            _table(
                [{"key": k, "value": v} for k, v in values.items()],
                [("key", f"{year} 年累计项"), ("value", "金额/次数")],
            )
        sections["account"] = ui.refreshable(lambda: account_section(psn_no))
        sections["account"]()
        ui.label(f"结算记录（{len(settled)}）").classes("font-bold")
        table = _table(settled, q.SETTLEMENT_COLUMNS, row_key="setl_id", pagination=15).mark(
            "person-settlements"
        )
        table.on("rowClick", lambda e: ui.navigate.to(f"/settlement/{e.args[1]['setl_id']}"))


ENROLLMENT_COLUMNS = [
    ("id", "登记号"),
    ("insutype_name", "险种"),
    ("psn_type_name", "人员类别"),
    ("status_name", "参保状态"),
    ("begndate_s", "参保日期"),
    ("enddate_s", "终止日期"),
    ("emp_name_s", "单位"),
    ("wait_until_s", "等待期至"),
    ("contrib_months", "缴费月数"),
]
ACTIONS = {
    "suspend": "暂停",
    "resume": "恢复",
    "terminate": "终止",
    "retire": "在职 → 退休",
    "transfer_out": "转出（转移接续）",
}


def enrollment_section(psn_no: str, changed) -> None:
    """The person's enrollments and, for a handler, the lifecycle actions on one of them."""
    with unit_of_work(write=False) as s:
        rows = qe.enrollments(s, psn_no)
    _table(rows, ENROLLMENT_COLUMNS, row_key="id").mark("person-enrollments")
    live = [e for e in rows if e["psn_insu_stas"] in ("1", "2")]
    if not can("enrollment.write") or not live:
        return
    with ui.card().classes("w-full").mark("enrollment-actions"):
        ui.label("参保变更").classes("font-bold")
        with ui.row().classes("items-start gap-2"):
            which = (
                ui.select({e["id"]: e["label"] for e in live}, value=live[-1]["id"], label="参保登记")
                .props("outlined dense")
                .classes("w-96")
                .mark("act-enrollment")
            )
            action = (
                ui.select(ACTIONS, value="suspend", label="操作")
                .props("outlined dense")
                .classes("w-44")
                .mark("act-action")
            )
            day = (
                ui.input("生效日期", value=date.today().isoformat())
                .props("type=date outlined dense stack-label")
                .classes("w-44")
                .mark("act-date")
            )
            end_reason = (
                ui.select(qe.END_REASONS, value="death", label="终止原因")
                .props("outlined dense")
                .classes("w-36")
                .mark("act-end-reason")
            )
            note = ui.input("原因").props("outlined dense").classes("w-48").mark("act-reason")
            to_admdvs = (
                ui.input("转入地医保区划（6位）").props("outlined dense").classes("w-48").mark("act-to")
            )
            ui.button("执行", on_click=lambda: run()).props("color=teal").mark("act-run")
        result = ui.label("").mark("act-result")

        def shown() -> None:
            a = action.value
            end_reason.set_visibility(a == "terminate")
            note.set_visibility(a in ("suspend", "resume"))
            to_admdvs.set_visibility(a == "transfer_out")

        action.on_value_change(lambda _: shown())
        shown()
        fields = {"date": day, "reason": end_reason, "to_admdvs": to_admdvs, "psn_type": action}

        def fail(message: str) -> None:
            field, _, reason = message.partition(": ")
            el = fields.get(field)
            if el is not None and el.visible and reason:
                el.error = reason
            result.set_text(f"未执行：{message}")
            result.classes(replace="text-negative")

        def run() -> None:
            from yibao.console.pages_enrollment import actor
            from yibao.enrollment import service, transfers
            from yibao.policy.registry import get_bundle

            for el in fields.values():
                el.error = None
            try:
                when = date.fromisoformat(day.value or "")
            except ValueError:
                return fail(f"date: 不是日期 {day.value!r}")
            a, enr_id = action.value, int(which.value)
            warnings: list[str] = []
            try:
                if a == "transfer_out":
                    try:
                        to = v.admdvs(to_admdvs.value or "")
                    except v.ValidationError as exc:
                        return fail(f"to_admdvs: {exc.message}")
                with unit_of_work() as s:
                    if a == "retire":
                        enr = next(e for e in live if e["id"] == enr_id)
                        bundle = get_bundle(enr["insuplc_admdvs"])
                        warnings = service.change_category(
                            s, bundle, enr_id, "12", when, actor=actor()
                        ).warnings
                    elif a == "transfer_out":
                        cert = transfers.transfer_out(s, enr_id, when, to, actor=actor())
                        warnings = [
                            f"转出缴费月数 {cert['contrib_months']}，个人账户余额 {cert['balance']} 元随转"
                        ]
                    else:
                        reason = end_reason.value if a == "terminate" else (note.value or None)
                        service.change_status(s, enr_id, a, when, actor=actor(), reason=reason)
            except YibaoError as exc:
                return fail(exc.message)
            ui.notify(f"已{ACTIONS[a]}：参保登记 #{enr_id}", type="positive")
            if warnings:
                ui.notify("；".join(warnings), type="warning", multi_line=True, timeout=10_000)
            changed()  # last: it replaces the elements this handler belongs to


def account_section(psn_no: str) -> None:
    """个人账户 (balance and statement, newest first) and 共济 bindings."""
    with unit_of_work(write=False) as s:
        acct = qe.account(s, psn_no)
        bindings = qe.family(s, psn_no)
    with ui.row().classes("w-full gap-4 no-wrap"):
        with ui.column().classes("w-2/3"):
            if acct is None:
                ui.label("个人账户：无（居民医保与灵活就业没有个人账户）").classes("font-bold")
            else:
                ui.label(f"个人账户 余额 {acct['balance']} 元").classes("font-bold").mark("account-balance")
                _table(acct["statement"], qe.STATEMENT_COLUMNS, row_key="n", pagination=10).mark(
                    "account-statement"
                )
        with ui.column().classes("w-1/3"):
            ui.label("家庭共济").classes("font-bold")
            _table(
                bindings,
                [
                    ("role", "方向"),
                    ("other", "对方"),
                    ("relation", "关系"),
                    ("begndate", "开始"),
                    ("enddate", "结束"),
                ],
                row_key="id",
            ).mark("family-bindings")
