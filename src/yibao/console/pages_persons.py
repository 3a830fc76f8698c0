"""参保人: search by name, ID number or psn_no; a person's enrollments (with the lifecycle actions: 暂停,
恢复, 终止, 在职→退休, 转出), entitlements (identities, chronic registrations, 惠民保: ``pages_entitlements``),
accumulators, personal-account statement, 共济."""

from __future__ import annotations

from datetime import date

from nicegui import ui

from yibao import validation as v
from yibao.console import display
from yibao.console import queries as q
from yibao.console import queries_enrollment as qe
from yibao.console.layout import can, frame, protected
from yibao.console.lists import export_button, paged_list
from yibao.console.pages_entitlements import entitlement_section
from yibao.errors import YibaoError
from yibao.store.db import unit_of_work


def _table(rows: list[dict], columns: list[tuple[str, str]], **kw):
    return ui.table(
        columns=[{"name": k, "label": v, "field": k, "align": "left", "sortable": True} for k, v in columns],
        rows=rows,
        **kw,
    ).classes("w-full")


@ui.page("/persons")
@protected("person.read")
def persons(q_text: str = "") -> None:
    """The search box on top; below it every person found, paged and sorted by the database."""
    with frame("参保人", active="参保人"):
        shown = {"filter": q.PersonFilter(q_text)}

        def current() -> q.PersonFilter:
            return q.PersonFilter(box.value or "")

        with ui.row().classes("items-center gap-2"):
            box = (
                ui.input("姓名 / 证件号码 / 人员编号", value=q_text)
                .props("outlined dense clearable")
                .classes("w-96")
                .mark("person-search")
                .on("keydown.enter", lambda: refresh())
            )
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("person-search-button")
            ui.label("证件号码已脱敏；不输入查询条件列出全部参保人").classes("text-grey-7")
            export_button(
                "persons",
                current,
                lambda: "筛选: " + ("；".join(current().describe()) or "全部"),
                "person-export",
            )
        grid = paged_list(
            q.PERSON_COLUMNS,
            q.person_count,
            q.person_records,
            lambda: shown["filter"],
            dates={"brdy"},
            unsorted={"certno"},
            unit="人",
            row_id="psn_no",
            on_click=lambda row: ui.navigate.to(f"/person/{row['psn_no']}"),
            mark="person-grid",
        )

        def refresh() -> None:
            shown["filter"] = current()
            grid.refresh()


@ui.page("/person/{psn_no}")
@protected("person.read")
def person(psn_no: str) -> None:
    with unit_of_work(write=False) as s:
        d = q.person_detail(s, psn_no)
        _, settled = q.settlements(s, q.SettlementFilter(psn_no=psn_no), limit=500)
        words = display.names(s)
    with frame("参保人详情", active="参保人"):
        if d is None:
            ui.label(f"人员不存在: {psn_no}").classes("text-negative")
            return
        p = d["person"]
        ui.label(
            f"{p['psn_name']}（{p['psn_no']}）　{p['gend']}　出生 {p['brdy']}　证件 {p['certno']}　"
            f"{words.of('admdvs', p['admdvs'])}"
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
                [
                    {
                        "key": f"{ins}:{key}",
                        "name": display.accumulator_label(ins, key, words),
                        "value": display.accumulator_value(key, value),
                    }
                    for ins, key, value in values
                ],
                [("name", f"{year} 年累计项"), ("value", "金额（元）/ 次数")],
                row_key="key",
            ).mark("accumulators")
        sections["account"] = ui.refreshable(lambda: account_section(psn_no))
        sections["account"]()
        ui.label(f"结算记录（{len(settled)}）").classes("font-bold")
        columns = [
            (k, f"{label}（元）" if k in q.SETTLEMENT_AMOUNTS else label)
            for k, label in q.SETTLEMENT_COLUMNS
            if k != "psn_no"
        ]
        table = _table(settled, columns, row_key="setl_id", pagination=15).mark("person-settlements")
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
# the label of each field of the action form, as a refusal names it (``date: …`` goes under 生效日期)
ACTION_FIELDS = ("date", "reason", "to_admdvs", "psn_type")


def _shown_rows(rows: list[dict], today: date) -> list[dict]:
    """The person's enrollments as a clerk reads them today: a change dated ahead shows as scheduled
    (正常（暂停已预约，2027-03-01 生效）), with the actions that apply to each (:func:`rules.actions_for`)."""
    from types import SimpleNamespace

    from yibao.enrollment import rules

    out = []
    for e in rows:
        row = SimpleNamespace(**e)
        pending = rules.scheduled_change(row, today) or e["begndate"] > today
        status = rules.status_text(row, today) if pending else e["status_name"]
        actions = {a: ACTIONS[a] for a in rules.actions_for(row, today)}
        if "resume" in actions and e["paus_insu_date"] and e["paus_insu_date"] > today:
            actions["resume"] = "撤销预约的暂停"
        label = (
            e["label"].replace(f" {e['psn_insu_stas_name']} 自", f" {status} 自", 1)
            if pending
            else e["label"]
        )
        out.append({**e, "status_name": status, "label": label, "actions": actions})
    return out


def enrollment_section(psn_no: str, changed) -> None:
    """The person's enrollments and, for a handler, the lifecycle actions that apply to one of them (恢复
    only when suspended, 在职 → 退休 only on a 职工 在职 enrollment …); the service refuses the others too.
    A change dated after today is scheduled and shows so in the table."""
    today = date.today()
    with unit_of_work(write=False) as s:
        rows = _shown_rows(qe.enrollments(s, psn_no), today)
    _table(rows, ENROLLMENT_COLUMNS, row_key="id").mark("person-enrollments")
    live = {e["id"]: e for e in rows if e["actions"]}
    if not can("enrollment.write") or not live:
        return
    with ui.card().classes("w-full").mark("enrollment-actions"):
        ui.label("参保变更").classes("font-bold")
        last = list(live)[-1]
        with ui.row().classes("items-start gap-2"):
            which = (
                ui.select({i: e["label"] for i, e in live.items()}, value=last, label="参保登记")
                .props("outlined dense")
                .classes("w-96")
                .mark("act-enrollment")
            )
            action = (
                ui.select(live[last]["actions"], value=next(iter(live[last]["actions"])), label="操作")
                .props("outlined dense")
                .classes("w-44")
                .mark("act-action")
            )
            day = (
                ui.input("生效日期", value=today.isoformat())
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

        def chosen() -> None:  # another enrollment: only its own actions
            options = live[which.value]["actions"]
            action.set_options(
                options, value=action.value if action.value in options else next(iter(options))
            )
            shown()

        which.on_value_change(lambda _: chosen())
        action.on_value_change(lambda _: shown())
        shown()
        fields = dict(zip(ACTION_FIELDS, (day, end_reason, to_admdvs, action), strict=True))

        def fail(message: str) -> None:
            field, _, reason = message.partition(": ")
            el = fields.get(field)
            if el is not None and el.visible and reason:
                el.error = reason
            result.set_text(f"未执行：{reason if field.isascii() and reason else message}")
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
                return fail("date: 生效日期应为日期（YYYY-MM-DD）")
            a, enr_id = action.value, int(which.value)
            warnings: list[str] = []
            try:
                if a == "transfer_out":
                    try:
                        to = v.admdvs(to_admdvs.value or "")
                    except v.ValidationError as exc:
                        return fail(f"to_admdvs: 转入地{exc.message}")
                with unit_of_work() as s:
                    if a == "retire":
                        bundle = get_bundle(live[enr_id]["insuplc_admdvs"])
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
            done = live[enr_id]["actions"][a]
            if when > date.today() and a != "resume":
                ui.notify(f"已预约{done}：参保登记 #{enr_id}，{when} 生效", type="positive")
            else:
                ui.notify(f"已{done}：参保登记 #{enr_id}", type="positive")
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
