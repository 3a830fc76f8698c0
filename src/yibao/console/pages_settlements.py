"""结算: a filterable, sortable, paged list (exported to Excel as filtered) and a settlement's full record."""

from __future__ import annotations

from datetime import date

from nicegui import ui
from sqlalchemy import select

from yibao.console import display
from yibao.console import queries as q
from yibao.console.grid import Column, ServerGrid
from yibao.console.jobs import export_job, watch
from yibao.console.layout import frame, protected
from yibao.console.pages_review import review_actions
from yibao.money import AmountError, parse_amount
from yibao.settlement.result import SETLINFO_ORDER
from yibao.settlement.settle import load_settled
from yibao.settlement.trace import expand
from yibao.store.db import unit_of_work
from yibao.store.tables import Institution, Person, Visit

AMOUNT_KEYS = set(q.SETTLEMENT_AMOUNTS)
GRID_KINDS = {"setl_id": "code", "setl_time": "time", **dict.fromkeys(q.SETTLEMENT_AMOUNTS, "amount")}
SETLINFO_LABELS = {
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额",
    "overlmt_selfpay": "超限价自费",
    "preselfpay_amt": "先行自付",
    "inscp_scp_amt": "符合政策范围金额",
    "act_pay_dedc": "实际支付起付线",
    "hifp_pay": "统筹基金支出",
    "pool_prop_selfpay": "统筹支付比例",
    "cvlserv_pay": "公务员补助",
    "hifes_pay": "企业补充",
    "hifmi_pay": "大病保险",
    "hifob_pay": "大额补助",
    "hifdm_pay": "伤残人员",
    "maf_pay": "医疗救助",
    "oth_pay": "其他支出(惠民保)",
    "fund_pay_sumamt": "基金支付总额",
    "psn_part_amt": "个人负担总额",
    "acct_pay": "个人账户支出",
    "acct_mulaid_pay": "账户共济",
    "psn_cash_pay": "个人现金支出",
    "hosp_part_amt": "医院负担",
    "balc": "账户余额",
}


def _amount(text: str | None, what: str) -> int | None:
    if not text:
        return None
    try:
        return parse_amount(text.strip().replace(",", ""))  # (1,000 as a clerk writes it)
    except AmountError:
        raise ValueError(f"{what}：“{text.strip()[:20]}”不是金额（例如 1,000 或 1000.50）") from None


def _date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}：“{text[:20]}”不是日期（例如 2025-03-31）") from None


@ui.page("/settlements")
@protected("settlement.read")
def settlements(date_from: str = "", date_to: str = "", med_type: str = "", insutype: str = "") -> None:
    """The list; the query's filter values come from a drill-down (首页 → a month, 住院人次)."""
    with unit_of_work(write=False) as s:
        insts = {
            i.fixmedins_code: f"{i.fixmedins_code} {i.fixmedins_name}"
            for i in s.scalars(select(Institution).order_by(Institution.fixmedins_code))
        }
    with frame("结算", active="结算"):
        with ui.row().classes("items-end gap-2"):
            d_from = ui.input("结算日期从", value=date_from).props("type=date outlined dense").mark("f-from")
            d_to = ui.input("到", value=date_to).props("type=date outlined dense").mark("f-to")
            inst = (
                ui.select({"": "全部机构", **insts}, value="", label="定点机构", with_input=True)
                .props("outlined dense")
                .classes("w-72")
                .mark("f-inst")
            )
            med = (
                ui.select(
                    {"": "全部", **q.MED_TYPE_CHOICES},
                    value=med_type if med_type in q.MED_TYPE_CHOICES else "",
                    label="医疗类别",
                )
                .props("outlined dense")
                .classes("w-36")
                .mark("f-med")
            )
            ins = (
                ui.select(
                    {"": "全部", **q.INSUTYPES},
                    value=insutype if insutype in q.INSUTYPES else "",
                    label="险种",
                )
                .props("outlined dense")
                .classes("w-44")
                .mark("f-ins")
            )
            lo = ui.input("金额 ≥").props("outlined dense").classes("w-28").mark("f-min")
            hi = ui.input("金额 ≤").props("outlined dense").classes("w-28").mark("f-max")
            ui.button("查询", on_click=lambda: refresh()).props("color=teal").mark("f-search")
            ui.button("导出 Excel", on_click=lambda: export()).props("outline color=teal").mark("f-export")
        jobs_area = ui.column().classes("w-full")
        grid = ServerGrid(
            [
                Column(
                    k,
                    f"{label}（元）" if k in AMOUNT_KEYS else label,
                    GRID_KINDS.get(k, "text"),
                    k in q.SETTLEMENT_ORDER,
                )
                for k, label in q.SETTLEMENT_COLUMNS
            ],
            lambda offset, limit, key, desc: page_of(offset, limit, key, desc),
            row_id="setl_id",
            on_click=lambda row: ui.navigate.to(f"/settlement/{row['setl_id']}"),
            mark="settlement-grid",
        )
        shown = {"filter": q.SettlementFilter()}

        def current() -> q.SettlementFilter:
            f = q.SettlementFilter(
                date_from=_date(d_from.value, "结算日期从"),
                date_to=_date(d_to.value, "到"),
                fixmedins_code=inst.value or None,
                med_type=med.value or None,
                insutype=ins.value or None,
                min_amount=_amount(lo.value, "金额 ≥"),
                max_amount=_amount(hi.value, "金额 ≤"),
            )
            if f.date_from and f.date_to and f.date_from > f.date_to:
                raise ValueError(f"结算日期：起始日 {f.date_from} 晚于截止日 {f.date_to}，请调换或修改")
            if f.min_amount is not None and f.max_amount is not None and f.min_amount > f.max_amount:
                raise ValueError("金额：“金额 ≥”大于“金额 ≤”，没有符合的结算，请修改")
            return f

        def checked() -> q.SettlementFilter | None:
            """The filter as typed, or None after telling the user what is wrong with it."""
            try:
                return current()
            except ValueError as exc:
                ui.notify(str(exc), type="negative")
                return None

        def page_of(offset: int, limit: int, key: str | None, desc: bool) -> tuple[int, list[dict]]:
            f = shown["filter"]
            with unit_of_work(write=False) as s:
                rows = q.settlement_records(s, f, limit, offset=offset, order=(key, desc))
                return q.settlement_count(s, f), [q.shown(r) for r in rows]

        def refresh() -> None:
            if (f := checked()) is None:
                return
            shown["filter"] = f
            grid.refresh()

        def export() -> None:
            """The whole filtered list, in the background: the page keeps answering, a bar shows progress."""
            if (f := checked()) is None:
                return
            note = "筛选: " + ("；".join(f.describe(insts)) or "全部")
            job = export_job("settlements", f, note)
            with jobs_area:
                watch(job)

        refresh()


@ui.page("/settlement/{setl_id}")
@protected("settlement.read")
def settlement(setl_id: str) -> None:
    from yibao.policy.registry import get_bundle

    with unit_of_work(write=False) as s:
        try:
            row, settled = load_settled(s, setl_id)
        except Exception:
            row = None
        if row is not None:
            words = display.names(s)
            person = s.get(Person, row.psn_no)
            inst = s.get(Institution, row.fixmedins_code)
            visit = s.get(Visit, row.mdtrt_id)
            diagnosis = display.diagnosis_names(s, [visit.dise_codg or ""]).get(visit.dise_codg or "", "")
            chronic = bool(visit.dise_codg) and display.is_chronic_code(s, visit.dise_codg)
            lines = q.settlement_lines(s, row.orig_setl_id or row.setl_id, row.mdtrt_id)
            try:
                trace = display.trace_rows(expand(get_bundle(row.clr_optins or "990100"), row.trace), words)
            except Exception:
                trace = []
    with frame("结算详情", active="结算"):
        if row is None:
            ui.label(f"结算不存在：{setl_id}").classes("text-negative")
            return
        if row.refd_setl_flag == "1":
            ui.label(f"这是一笔撤销记录，撤销的是 {row.orig_setl_id}").classes("text-negative text-lg").mark(
                "reversal-mark"
            )
        elif row.reversed_by:
            ui.label(f"已撤销（撤销记录 {row.reversed_by}）").classes("text-negative text-lg").mark(
                "reversal-mark"
            )
        ui.label(
            f"{row.setl_id} · {words.of('med_type', row.med_type)} · {words.of('insutype', row.insutype)} · "
            f"{inst.fixmedins_name} · {person.psn_name}（{person.psn_no}，{q.mask_certno(person.certno)}） · "
            f"{row.setl_time:%Y-%m-%d %H:%M}"
        ).classes("text-lg").mark("settlement-header")
        what = "门诊慢特病病种" if chronic else "诊断"
        ui.label(
            f"{what} {visit.dise_codg or '无'} {diagnosis}　政策版本 {row.policy_version}（{row.policy_hash[:12]}）"
        ).classes("text-grey-7").mark("settlement-diagnosis")
        # two columns on a wide screen, one under the other at 1024 px (nothing cut off at the right)
        with ui.row().classes("w-full gap-4 xl:flex-nowrap"):
            with ui.card().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("结算信息").classes("font-bold")
                info = [
                    {"k": SETLINFO_LABELS.get(k, k), "f": k, "v": display.yuan(settled.setlinfo[k])}
                    for k in SETLINFO_ORDER
                    if k != "pool_prop_selfpay"
                ]
                ui.table(
                    columns=[
                        {"name": "k", "label": "项目", "field": "k", "align": "left"},
                        {"name": "v", "label": "金额（元）", "field": "v"},
                    ],
                    rows=info,
                    row_key="f",
                ).props("dense flat").classes("w-full").mark("setlinfo")
                ratio = settled.setlinfo["pool_prop_selfpay"]
                ui.label(f"统筹支付比例：{display.percent(ratio, basis_points=True)}").mark("pool-ratio")
            with ui.column().classes("w-full xl:w-1/2 min-w-0"):
                ui.label("基金分项").classes("font-bold")
                ui.table(
                    columns=[
                        {"name": "name", "label": "基金", "field": "name", "align": "left"},
                        {"name": "inscp", "label": "符合范围（元）", "field": "inscp"},
                        {"name": "limit", "label": "本次支付限额（元）", "field": "limit"},
                        {"name": "paid", "label": "基金支付（元）", "field": "paid"},
                    ],
                    rows=[
                        {
                            "code": d["fund_pay_type"],
                            "name": words.of("fund_pay_type", d["fund_pay_type"]),
                            "inscp": _money_text(d["inscp_scp_amt"]),
                            "limit": _money_text(d["crt_payb_lmt_amt"]) or "不封顶",
                            "paid": _money_text(d["fund_payamt"]),
                        }
                        for d in settled.setldetail_json()
                    ],
                    row_key="code",
                ).props("dense flat").classes("w-full").mark("setldetail")
                ui.label("读取的政策参数").classes("font-bold")
                ui.table(
                    columns=[
                        {"name": "param", "label": "参数", "field": "param", "align": "left"},
                        {"name": "value", "label": "取值", "field": "value", "align": "right"},
                    ],
                    rows=trace,
                    row_key="path",
                ).props("dense flat").classes("w-full").mark("trace")
        review_actions(
            row.setl_id
        )  # 申请撤销 (a handler) and the request's state, reviewed by a second person
        ui.label(f"费用明细与分割（{len(lines)} 行）").classes("font-bold")
        cols = [
            ("feedetl_sn", "流水号"),
            ("med_list_name", "项目名称"),
            ("med_list_codg", "目录编码"),
            ("chrgitm_lv", "等级"),
            ("det_item_fee_sumamt", "金额（元）"),
            ("fulamt_ownpay_amt", "全自费（元）"),
            ("overlmt_amt", "超限价（元）"),
            ("preselfpay_amt", "先行自付（元）"),
            ("inscp_scp_amt", "符合范围（元）"),
        ]
        ui.table(
            columns=[{"name": k, "label": v, "field": k, "align": "left"} for k, v in cols],
            rows=lines,
            row_key="feedetl_sn",
            pagination=20,
        ).props("dense").classes("w-full").mark("fee-lines")


def _money_text(text: str | None) -> str:
    """A reply's two-decimal amount (``"1234.50"``) as the console writes money (``1,234.50``)."""
    return display.yuan(parse_amount(text)) if text else ""
