"""定点管理 · 协议 and 定点名单: the agreements (main or supplementary, status, services, template; filtered,
paged by the database and exported in the background), one agreement — its facts, the signed PDF to download
and its SHA-256, the agreements beside it, 续签 — and the public list of designated institutions as of a day
(公布结果), shown and downloaded as CSV or Excel in the columns of :mod:`yibao.providers.document`."""

from __future__ import annotations

from datetime import date

from nicegui import ui

from yibao.console import queries_providers as qp
from yibao.console import queries_providers_agreements as qa
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
    facts,
    me,
    message_label,
    refuse,
    select,
    table,
    tabs,
)
from yibao.providers.document import PUBLIC_LIST_COLUMNS, public_list_csv, public_list_xlsx
from yibao.providers.service import agreements
from yibao.store.db import unit_of_work


@ui.page("/providers/agreements")
@protected(READ)
def agreement_list(status: str = "", text: str = "") -> None:
    with frame(f"{MENU} · 协议", active=MENU):
        tabs("/providers/agreements")
        ui.label(
            "医保服务协议：主协议按机构类别（医院 / 门诊诊所 / 零售药店）签订，开通门诊慢特病、异地就医、双通道等服务的另签补充协议。"
            "点一行查看协议文本（PDF）、状态记录或续签。"
        ).classes("text-grey-8")
        shown = {"filter": qa.AgreementFilter(status=status, text=text)}
        with ui.row().classes("items-end gap-2"):
            st = select({"": "全部", **qp.AGREEMENT_STATUS}, status, "状态", "w-32", "agr-status")
            kd = select({"": "全部", **qp.AGREEMENT_KINDS}, "main", "协议类型", "w-32", "agr-kind")
            box = ui.input("机构名称 / 编号 / 协议编号", value=text).props("outlined dense clearable")
            box.classes("w-64").mark("agr-text").on("keydown.enter", lambda: refresh())
            on = ui.input("在此日协议期内").props("type=date outlined dense clearable").mark("agr-on")
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("agr-search")
            export_button("provider_agreements", lambda: shown["filter"], "agr-export")
        message = message_label("agr-message")
        grid = paged_list(
            qa.AGREEMENT_COLUMNS,
            qa.agreement_count,
            qa.agreement_records,
            lambda: shown["filter"],
            unsorted=qa.AGREEMENT_UNSORTED,
            dates=qa.AGREEMENT_DATES,
            unit="份",
            row_id="agreement_no",
            on_click=lambda row: ui.navigate.to(f"/providers/agreement/{row['agreement_no']}"),
            mark="agr-grid",
        )

        def refresh() -> None:
            message.set_visibility(False)
            try:
                day = day_of(on.value, "日期")
            except ValueError as exc:
                refuse(message, str(exc))
                return
            shown["filter"] = qa.AgreementFilter(st.value or "", kd.value or "", box.value or "", day)
            grid.refresh()


@ui.page("/providers/agreement/{agreement_no}")
@protected(READ)
def agreement(agreement_no: str) -> None:
    with unit_of_work(write=False) as s:
        a = qa.agreement_detail(s, agreement_no)
        status = qs.institution_status(s, a["fixmedins_code"]) if a else None
    with frame(f"协议 {agreement_no[:30]}", active=MENU):
        tabs("/providers/agreements")
        if a is None or status is None:
            ui.label(f"协议不存在：{agreement_no[:40]}").classes("text-negative").mark("agr-missing")
            return
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{a['name']} · {qp.AGREEMENT_KINDS.get(a['kind'], a['kind'])}").classes("text-lg")
            ui.badge(qp.AGREEMENT_STATUS.get(a["status"], a["status"]), color="teal").classes("text-sm").mark(
                "agr-state"
            )
            ui.button(
                "机构状态", on_click=lambda: ui.navigate.to(f"/providers/institution/{a['fixmedins_code']}")
            ).props("flat color=teal")
        with ui.row().classes("w-full gap-4 xl:flex-nowrap items-start"):
            with ui.card().classes("w-full xl:w-3/5 min-w-0"):
                ui.label("协议").classes("font-bold")
                facts(a["facts"], "agr-facts")
                if a["has_document"]:
                    ui.button(
                        f"下载协议文本（PDF，{a['size'] / 1024:,.0f} KB）",
                        on_click=lambda: download(agreement_no),
                    ).props("outline color=teal icon=picture_as_pdf").mark("agr-pdf")
                else:
                    ui.label("此协议没有生成的文本（载入时的协议）").classes("text-grey-7")
            with ui.card().classes("w-full xl:w-2/5 min-w-0"):
                ui.label("同一协议的主协议与补充协议").classes("font-bold")
                if a["related"]:
                    for x in a["related"]:
                        ui.button(
                            f"{x['kind']} {x['agreement_no']}：{x['services']}（{x['status']}）",
                            on_click=lambda n=x["agreement_no"]: ui.navigate.to(f"/providers/agreement/{n}"),
                        ).props("flat dense color=teal no-caps align=left").classes("text-left")
                else:
                    ui.label("无").classes("text-grey-7")
                if can(WRITE) and a["renewable"]:
                    renew_form(a)
        ui.label("机构的协议状态记录").classes("font-bold")
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
            status["events"],
            "agr-events",
            wide=("reason",),
        )


def download(agreement_no: str) -> None:
    with unit_of_work(write=False) as s:
        found = qa.agreement_document(s, agreement_no)
    if found is None:
        ui.notify("此协议没有文本", type="warning")
        return
    ui.download.content(found[0], found[1], "application/pdf")


def renew_form(a: dict) -> None:
    ui.label("续签").classes("font-bold")
    ui.label("续签的协议自本协议期满次日起，期限按方案；年度考核为不合格的不予续签。").classes("text-grey-8")
    message = message_label("renew-message")

    def renew() -> None:
        out = attempt(agreements.renew, message, a["fixmedins_code"], actor=me())
        if out is not REFUSED:
            ui.notify(f"已续签：{out.agreement_no}", type="positive")
            ui.navigate.to(f"/providers/agreement/{out.agreement_no}")

    ui.button("续签", on_click=renew).props("color=teal").mark("renew")


# --- 定点名单 (the public list) ---------------------------------------------------------------------------------------


@ui.page("/providers/public")
@protected(READ)
def public_list(on: str = "", cls: str = "") -> None:
    sc = qp.scheme()
    try:
        day = day_of(on, "日期") or date.today()
    except ValueError:
        day = date.today()
    with unit_of_work(write=False) as s:
        rows = qs.public_rows(s, day, cls if cls in sc.classes else "")
    with frame(f"{MENU} · 定点名单", active=MENU):
        tabs("/providers/public")
        ui.label(
            "向社会公布的定点医药机构名单：所选日期协议期内的机构及其开通的服务（中止的机构注明“中止”；解除或到期的机构自退出之日起不再列出）。"
        ).classes("text-grey-8")
        with ui.row().classes("items-end gap-2"):
            when = (
                ui.input("日期", value=day.isoformat()).props("type=date outlined dense").mark("public-day")
            )
            kind = select({"": "全部", **dict(sc.classes)}, cls, "机构类别", "w-36", "public-class")
            ui.button(
                "查询",
                on_click=lambda: ui.navigate.to(
                    f"/providers/public?on={when.value or ''}&cls={kind.value or ''}"
                ),
            ).props("color=teal").mark("public-search")
            ui.button(
                "下载 CSV",
                on_click=lambda: ui.download.content(
                    public_list_csv(rows), f"定点医药机构名单-{day}.csv", "text/csv"
                ),
            ).props("outline color=teal").mark("public-csv")
            ui.button(
                "下载 Excel",
                on_click=lambda: ui.download.content(
                    public_list_xlsx(rows),
                    f"定点医药机构名单-{day}.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ).props("outline color=teal").mark("public-xlsx")
        ui.label(f"{day} 定点医药机构共 {len(rows):,} 家").classes("font-bold").mark("public-count")
        from yibao.console.pages_payment_runs import memory_grid

        keys = [(f"c{i}", label) for i, label in enumerate(PUBLIC_LIST_COLUMNS)]
        memory_grid(
            keys,
            lambda: [{f"c{i}": r[label] for i, label in enumerate(PUBLIC_LIST_COLUMNS)} for r in rows],
            mark="public-grid",
            unit="家",
        )
