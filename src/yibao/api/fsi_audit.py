"""Handlers of the national audit transactions (明细审核, 31xx) and the inline checks' hooks: 3101 事前分析 and
3102 事中分析 run the rule library's online rules on the HIS's encounters and answer ``result[]`` in the
national shape; 3103 records the institution's answer to one warning. National field names in, the
supervision service in between, national field names out (supervision.md §4, nhsa-interface.md §3.6).

The inline checks (a region's ``supervision: inline:`` switch) ride on 2204/2301 and 2206/2207/2303/2304:
:func:`inline_checks` gives the handler its hook, or None when the region has them off (the call's path is
then unchanged). Their warnings come back under ``output.audit_warnings[]`` in the shape of 3101's
``result[]``, a key national clients ignore.
"""

from __future__ import annotations

from collections.abc import Callable

from yibao.api.fields import CODE, Node
from yibao.api.fsi import transaction
from yibao.config import get_settings
from yibao.errors import InputError, quote
from yibao.money import div_round_half_up, fmt_fen
from yibao.settlement.lines import AMOUNT_LIMIT, PRODUCT_SCALE
from yibao.store.uow import UnitOfWork
from yibao.supervision.service import inline
from yibao.supervision.service import warnings as svc
from yibao.supervision.service.warnings import TRIG_SCENES, Encounter, Issued, Order, Patient

VOLA_CONT_LIMIT = 500  # vola_cont C500
FLAG = ("0", "1")


# --- 3101 / 3102 -----------------------------------------------------------------------------------------


@transaction("3101", "3102")
def analyse(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    """3101 明细审核事前分析 (the rules of stage ``pre``) / 3102 事中分析 (``mid``), or only ``rule_ids``."""
    infno = env["infno"]
    d = inp.child("data")
    trig_scen = d.code("trig_scen", 2, required=False, choices=tuple(TRIG_SCENES))
    rule_ids = _rule_ids(d)
    if trig_scen is None and not rule_ids:
        raise InputError(f"{d.path}.trig_scen: 缺少 (missing: trig_scen 或 rule_ids 须给出其一)")
    task_id = d.code("task_id", 50, required=False) or ctx.msgid
    patients = [_patient(p, ctx) for p in d.items("patient_dtos")]
    codes = svc.check_rule_ids(uow, rule_ids) if rule_ids else None
    issued = svc.analyse(
        uow,
        ctx,
        patients,
        stage=None if codes is not None else ("pre" if infno == "3101" else "mid"),
        codes=codes,
        scene=TRIG_SCENES[trig_scen][1] if trig_scen else "upload",
        infno=infno,
        warn_type="1" if infno == "3101" else "2",
    )
    return {"result": [result_row(i, task_id) for i in issued]}


def result_row(i: Issued, task_id: str | None) -> dict:
    """One finding in the national ``result[]`` shape."""
    f = i.finding
    return {
        "jr_id": i.jr_id,
        "rule_id": i.rule.rule_code,
        "rule_name": i.rule.name,
        "vola_cont": f.vola_cont[:VOLA_CONT_LIMIT],
        "patn_id": f.psn_no or "",
        "mdtrt_id": f.mdtrt_id or "",
        "judge_result_detail_dtos": i.details,
        "vola_amt": fmt_fen(f.vola_amt),
        "vola_amt_stas": i.amount_status,
        "sev_deg": i.rule.sev_deg,
        "vola_evid": i.evidence,
        "vola_bhvr_type": i.rule.vola_bhvr_type,
        "task_id": task_id or "",
    }


def _rule_ids(d: Node) -> list[tuple[str, str]]:
    """``rule_ids``: an array of rule codes or one comma-separated string, as (path, code)."""
    raw = d.value.get("rule_ids")
    path = f"{d.path}.rule_ids"
    if raw is None or raw == "" or raw == []:
        return []
    if isinstance(raw, str):
        items = [(path, x.strip()) for x in raw.split(",") if x.strip()]
    elif isinstance(raw, list):
        items = []
        for n, x in enumerate(raw):
            if not isinstance(x, str):
                raise InputError(f"{path}[{n}]: 应为规则编码字符串 (expected a string)")
            items.append((f"{path}[{n}]", x.strip()))
    else:
        raise InputError(
            f"{path}: 应为数组或以逗号分隔的字符串 (expected a list or a comma-separated string)"
        )
    for where, code in items:
        if not code or len(code) > 40 or not CODE.fullmatch(code):
            raise InputError(f"{where}: {quote(code)} 不是规则编码 (visible ASCII, at most 40)")
    return items


def _patient(p: Node, ctx) -> Patient:
    psn_no = p.code("patn_id", 30)
    p.str("patn_name", required=False, max_len=50)
    p.code("gend", 1, required=False)
    p.date("brdy", required=False)
    p.code("poolarea", 6, required=False)
    current = p.code("curr_mdtrt_id", 30, required=False)
    encounters, seen = [], set()
    for e in p.items("fsi_encounter_dtos"):
        enc = _encounter(e, ctx)
        if enc.mdtrt_id in seen:
            raise InputError(f"{e.path}.mdtrt_id: 就诊 {enc.mdtrt_id} 重复 (twice in one patient)")
        seen.add(enc.mdtrt_id)
        encounters.append(enc)
    return Patient(psn_no, p.path, tuple(encounters), current)


def _encounter(e: Node, ctx) -> Encounter:
    """An encounter of the caller's institution (``medins_id``), with its diagnoses, operations and orders."""
    mdtrt_id = e.code("mdtrt_id", 30)
    medins_id = e.code("medins_id", 12)
    if medins_id != ctx.fixmedins_code:
        raise InputError(
            f"{e.path}.medins_id: {quote(medins_id)} 不是本机构 {ctx.fixmedins_code} (only the caller's encounters)"
        )
    begntime = e.datetime("adm_date")
    endtime = e.datetime("dscg_date", required=False)
    if endtime is not None and endtime < begntime:
        raise InputError(f"{e.path}.dscg_date: 出院日期 {endtime} 早于入院日期 {begntime}")
    diagnoses = [_diagnosis(x) for x in e.items("fsi_diagnose_dtos", required=False)]
    principal = e.code("dscg_main_dise_codg", 30, required=False) or next(
        (c for c, main, kind in sorted(diagnoses, key=lambda x: x[2] != "2") if main == "1"),
        diagnoses[0][0] if diagnoses else None,
    )
    orders, seen = [], set()
    for o in e.items("fsi_order_dtos", required=False):
        order = _order(o)
        if order.rx_id in seen:
            raise InputError(f"{o.path}.rx_id: {order.rx_id} 重复 (twice in one encounter)")
        seen.add(order.rx_id)
        orders.append(order)
    return Encounter(
        mdtrt_id=mdtrt_id,
        path=e.path,
        med_type=e.code("med_type", 6),
        begntime=begntime,
        endtime=endtime,
        insutype=e.code("insutype", 6, required=False),
        dept_code=e.code("dscg_dept_codg", 30, required=False) or e.code("adm_dept_codg", 30, required=False),
        atddr_no=e.code("dr_codg", 30, required=False),
        dise_codg=principal,
        diagnoses=tuple(dict.fromkeys([principal, *(c for c, _, _ in diagnoses)])) if principal else (),
        operations=tuple(_operation(x) for x in e.items("fsi_operation_dtos", required=False)),
        orders=tuple(orders),
    )


def _diagnosis(x: Node) -> tuple[str, str, str]:
    """(dise_codg, main flag, inout_dise_type): ``maindise_flag`` (national; ``maindiag_flag`` accepted)."""
    code = x.code("dise_codg", 30)
    x.code("dise_id", 50, required=False)
    x.str("dise_name", required=False, max_len=200)
    x.code("dias_srt_no", 10, required=False)
    x.datetime("dise_date", required=False)
    kind = x.code("inout_dise_type", 1, required=False, choices=("1", "2")) or ""
    main = x.code("maindise_flag", 1, required=False, choices=FLAG)
    if main is None:
        main = x.code("maindiag_flag", 1, required=False, choices=FLAG)
    return code, main or "0", kind


def _operation(x: Node) -> tuple[str, int]:
    code = x.code("oprn_code", 30)
    x.code("setl_list_oprn_id", 50, required=False)
    x.str("oprn_name", required=False, max_len=200)
    x.datetime("oprn_date", required=False)
    main = x.code("main_oprn_flag", 1, required=False, choices=FLAG)
    return code, 1 if main == "1" else 0


# an order's fields the rules do not read, checked when present (national types and lengths)
_ORDER_CODES = {
    "rxno": 50,
    "grpno": 50,
    "drord_bhvr": 3,
    "hilist_lv": 3,
    "drord_dr_profttl": 3,
    "hosplist_code": 150,
}
_ORDER_FLAGS = ("long_drord_flag", "curr_drord_flag")
_ORDER_TEXTS = {
    **dict.fromkeys(
        ("hilist_name", "hilist_dosform", "hilist_memo", "hosplist_name", "hosplist_dosform"), 200
    ),
    **dict.fromkeys(("spec", "drord_dept_name", "drord_dr_name"), 200),
    "spec_unt": 50,
}
_ORDER_PRICES = ("hilist_pric", "lv1_hosp_item_pric", "lv2_hosp_item_pric", "lv3_hosp_item_pric")
_ORDER_AMOUNTS = ("ownpay_amt", "selfpay_amt")


def _order_extras(o: Node) -> None:
    given = o.value
    for key, n in _ORDER_CODES.items():
        if key in given:
            o.code(key, n, required=False)
    for key in _ORDER_FLAGS:
        if key in given:
            o.code(key, 1, required=False, choices=FLAG)
    for key, n in _ORDER_TEXTS.items():
        if key in given:
            o.str(key, required=False, max_len=n)
    for key in _ORDER_PRICES:
        if key in given:
            o.price(key, required=False)
    for key in _ORDER_AMOUNTS:
        if key in given:
            o.amount(key, required=False)


def _order(o: Node) -> Order:
    """A prescription / order line: the facade's own checks of a fee line's numbers (pric ≥ 0, cnt ≠ 0,
    sumamt = round(pric × cnt, 2) within 0.01)."""
    rx_id = o.code("rx_id", 50)
    _order_extras(o)
    begin = o.datetime("drord_begn_date", required=False)
    stop = o.datetime("drord_stop_date", required=False)
    if begin is not None and stop is not None and stop < begin:
        raise InputError(f"{o.path}.drord_stop_date: 停止日期 {stop} 早于开始日期 {begin}")
    cnt, pric = o.count("cnt"), o.price("pric")
    if cnt == 0:
        raise InputError(f"{o.path}.cnt: 数量不能为 0 (a count of 0 orders nothing)")
    if pric < 0:
        raise InputError(f"{o.path}.pric: 单价不能为负")
    expected = div_round_half_up(pric * cnt, PRODUCT_SCALE)  # (product_fen for one line, in Python integers)
    if abs(expected) > AMOUNT_LIMIT:
        raise InputError(f"{o.path}.cnt: 金额超过单行上限 {fmt_fen(AMOUNT_LIMIT)}")
    sumamt = o.amount("sumamt", required=False)
    if sumamt is not None and abs(sumamt - expected) > 1:
        raise InputError(
            f"{o.path}.sumamt: {fmt_fen(sumamt)} ≠ pric × cnt = {fmt_fen(expected)} (相差超过 0.01)"
        )
    return Order(
        rx_id=rx_id,
        med_list_codg=o.code("hilist_code", 50),
        cnt=cnt,
        pric=pric,
        amt=sumamt if sumamt is not None else expected,
        list_type=o.code("hilist_type", 3, required=False),
        chrg_type=o.code("chrg_type", 3, required=False),
        fee_ocur_time=begin,
        dept_code=o.code("drord_dept_codg", 30, required=False),
        dr_code=o.code("drord_dr_codg", 30, required=False),
    )


# --- 3103 ------------------------------------------------------------------------------------------------


@transaction("3103")
def feedback(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    """3103 事前事中服务反馈: ``data`` with ``warn_rslt_id`` (the jr_id), ``dspo_way`` 1 继续执行 / 2 返回修改,
    ``dspo_way_rea`` (required to continue) and ``warn_type`` 1 事前 / 2 事中; or ``data.warns[]`` of the
    first three with ``data.warn_type`` (the provincial editions' shape)."""
    d = inp.child("data")
    listed = "warns" in d.value
    rows = d.items("warns") if listed else [d]
    warn_type = d.code("warn_type", 1, required=not listed, choices=tuple(svc.WARN_TYPES))
    answers = []
    for w in rows:
        own = w.code("warn_type", 1, required=False, choices=tuple(svc.WARN_TYPES)) if listed else None
        if (own or warn_type) is None:
            raise InputError(f"{w.path}.warn_type: 缺少 (missing)")
        answers.append(
            {
                "jr_id": w.code("warn_rslt_id", 40),
                "dspo_way": w.code("dspo_way", 1, choices=tuple(svc.DSPO_WAYS)),
                "dspo_way_rea": w.str("dspo_way_rea", required=False, max_len=500),
                "warn_type": own or warn_type,
                "path": w.path,
            }
        )
    for a in answers:
        svc.feedback(uow, ctx, **a)
    return {}


# --- inline checks ---------------------------------------------------------------------------------------


class InlineChecks:
    """One call's inline checks: hooks for the upload and the settlement services, and the warnings they gave
    (added to the reply by :meth:`reply`)."""

    def __init__(self, uow: UnitOfWork, ctx, infno: str):
        self.uow, self.ctx, self.infno = uow, ctx, infno
        self.warnings: list[Issued] = []

    def upload(self, visit, nodes: list[Node]) -> Callable[[list[dict]], None]:
        """The check of a visit's fee lines (``nodes`` in the message, as the upload stores them), before they
        are written: a blocking finding refuses the upload, naming the rule and the line."""

        def check(rows: list[dict]) -> None:
            got = inline.check_upload(self.uow, self.ctx, self.infno, visit, rows)
            if got.blocked is not None:
                f = got.blocked.finding
                mine = [x for x in f.lines if x.line_id < 0]
                line = next((x for x in mine if x.role == "1"), mine[0] if mine else None)
                where = nodes[-line.line_id - 1].path if line else f"{nodes[0].path}.mdtrt_id"
                raise InputError(f"{where}: 违反规则 {got.blocked.rule.rule_code} {f.vola_cont}")
            self.warnings.extend(got.issued)

        return check

    def settle(self, d: Node) -> Callable:
        """The check of the visit's stored lines at a (pre-)settlement: a blocking finding refuses it, naming
        the rule and the line (by its feedetl_sn)."""

        def check(visit, lines: list) -> None:
            got = inline.check_settle(self.uow, self.ctx, self.infno, visit, {r.id for r in lines})
            if got.blocked is not None:
                f = got.blocked.finding
                line = next((x for x in f.lines if x.role == "1"), f.lines[0] if f.lines else None)
                at = f" (费用明细 feedetl_sn={line.feedetl_sn})" if line else ""
                raise InputError(f"{d.path}: 违反规则 {got.blocked.rule.rule_code} {f.vola_cont}{at}")
            self.warnings.extend(got.issued)

        return check

    def reply(self, output: dict) -> dict:
        if not self.warnings:
            return output
        return {**output, "audit_warnings": [result_row(i, self.ctx.msgid) for i in self.warnings]}


def inline_checks(uow: UnitOfWork, ctx, infno: str) -> InlineChecks | None:
    """The call's inline checks, or None when the caller's region has them off for ``infno``'s scene."""
    on = inline.scene_on(ctx.admdvs, infno, get_settings().regions_dir)
    return InlineChecks(uow, ctx, infno) if on else None
