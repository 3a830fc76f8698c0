"""Handlers of the national transactions: national field names in and out, the service in between.

Imported for its side effect of registering handlers on :mod:`yibao.api.fsi`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao import ids
from yibao.api import exactjson
from yibao.api.fields import Node
from yibao.api.fsi import original_message, reads_ahead, tombstone, transaction
from yibao.errors import InputError, NotFound, SettlementError, quote
from yibao.money import fmt_bp, fmt_fen, fmt_scaled
from yibao.policy.registry import get_bundle
from yibao.settlement import facts
from yibao.settlement import service as svc
from yibao.settlement.lines import LineError
from yibao.settlement.record import clr_type_for
from yibao.settlement.result import SETLINFO_ORDER, Settled
from yibao.store.tables import (
    Accumulator,
    Dictionary,
    Enrollment,
    Identity,
    Person,
    PersonalAccount,
    Settlement,
    Visit,
)

FUND_NAMES = {
    "310100": "城镇职工基本医疗保险统筹基金",
    "310200": "城镇职工基本医疗保险个人账户基金",
    "330100": "大额医疗费用补助基金",
    "390100": "城乡居民基本医疗保险基金",
    "390200": "城乡居民大病医疗保险基金",
    "610100": "医疗救助基金",
    "620100": "惠民保补偿金",
}


def yuan(fen: int | None):
    """An amount for a reply: a JSON number with two decimals (None: null)."""
    return None if fen is None else exactjson.number(fmt_fen(fen))


def scaled(value: int, scale: int, places: int):
    """``value / scale`` for a reply (a count in 1e-4, a price in 1e-6): a JSON number written as the exact
    quotient, with no trailing zeros (as ``Decimal(value) / scale`` writes it)."""
    text = fmt_scaled(value, scale, places).rstrip("0")
    return exactjson.number(text[:-1] if text.endswith(".") else text)


def age_on(brdy: date, day: date) -> Decimal:
    years = day.year - brdy.year - ((day.month, day.day) < (brdy.month, brdy.day))
    return Decimal(f"{years}.0")


# --- output builders -----------------------------------------------------------------------------


def setlinfo_out(
    session: Session,
    settled: Settled,
    *,
    setl_id: str | None,
    visit: Visit,
    person: Person,
    row: Settlement | None,
    psn_type: str,
    msgid: str | None,
    clr_optins: str,
) -> dict:
    out = {"mdtrt_id": visit.mdtrt_id}
    if setl_id:
        out["setl_id"] = setl_id
    out.update(
        {
            "psn_no": person.psn_no,
            "psn_name": person.psn_name,
            "psn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "gend": person.gend,
            "naty": person.naty or "",
            "brdy": person.brdy,
            "age": age_on(person.brdy, visit.begntime.date()),
            "insutype": settled.insutype,
            "psn_type": psn_type,
            "cvlserv_flag": "0",
            "setl_time": row.setl_time if row is not None else datetime.now().replace(microsecond=0),
            "mdtrt_cert_type": "02",
            "med_type": visit.med_type,
        }
    )
    for k in SETLINFO_ORDER:
        out[k] = (
            Decimal(fmt_bp(settled.setlinfo[k])) if k == "pool_prop_selfpay" else yuan(settled.setlinfo[k])
        )
    out.update(
        {
            "medins_setl_id": msgid or "",
            "clr_optins": clr_optins,
            "clr_way": "1",
            "clr_type": row.clr_type if row is not None else clr_type_for(visit.med_type),
        }
    )
    return out


def setldetail_out(settled: Settled) -> list[dict]:
    return [
        {
            "fund_pay_type": d.fund_pay_type,
            "inscp_scp_amt": yuan(d.inscp_scp_amt),
            "crt_payb_lmt_amt": yuan(d.crt_payb_lmt_amt)
            if d.crt_payb_lmt_amt is not None
            else Decimal("0.00"),
            "fund_payamt": yuan(d.fund_payamt),
            "fund_pay_type_name": FUND_NAMES.get(d.fund_pay_type, ""),
            "setl_proc_info": "" if d.crt_payb_lmt_amt is not None else "不设限额",
        }
        for d in settled.setldetail
    ]


def settlement_reply(session: Session, ctx: svc.Context, outcome: svc.SettleOutcome) -> dict:
    visit = outcome.visit
    person = outcome.person if outcome.person is not None else session.get(Person, visit.psn_no)
    row = outcome.row
    enrollment = (
        (
            outcome.enrollment
            or facts.enrollment_on(session, visit.psn_no, visit.insutype, visit.begntime.date())
        )
        if row is None
        else None
    )
    psn_type = row.psn_type if row is not None else enrollment.psn_type
    clr = row.clr_optins if row is not None else enrollment.insuplc_admdvs
    return {
        "setlinfo": setlinfo_out(
            session,
            outcome.settled,
            setl_id=outcome.setl_id,
            visit=visit,
            person=person,
            row=row,
            psn_type=psn_type,
            msgid=ctx.msgid,
            clr_optins=clr,
        ),
        "setldetail": setldetail_out(outcome.settled),
    }


def fee_inputs(rows: list[Node]) -> list[svc.FeeInput]:
    out = []
    for r in rows:
        out.append(
            svc.FeeInput(
                feedetl_sn=r.code("feedetl_sn", 30),
                med_list_codg=r.code("med_list_codg", 50),
                pric=r.price("pric"),
                cnt=r.count("cnt"),
                det_item_fee_sumamt=r.amount("det_item_fee_sumamt"),
                hosp_appr_flag=r.int("hosp_appr_flag", required=False, choices=(0, 1, 2), default=0),
                chrg_bchno=r.code("chrg_bchno", 30, required=False),
                medins_list_codg=r.code("medins_list_codg", 150, required=False),
                fee_ocur_time=r.datetime("fee_ocur_time", required=False),
                bilg_dr_codg=r.code("bilg_dr_codg", 20, required=False),
                init_feedetl_sn=r.code("init_feedetl_sn", 30, required=False),
            )
        )
    return out


def split_result(lines: list[dict]) -> list[dict]:
    """The 2204/2301 result of the stored lines (column → value, as :func:`svc.upload_fees` returns them)."""
    return [
        {
            "feedetl_sn": r["feedetl_sn"],
            "det_item_fee_sumamt": yuan(r["det_item_fee_sumamt"]),
            "cnt": scaled(r["cnt"], 10_000, 4),
            "pric": scaled(r["pric"], 1_000_000, 6),
            "pric_uplmt_amt": scaled(r["pric_uplmt_amt"] or 0, 1_000_000, 6),
            "selfpay_prop": exactjson.number(fmt_bp(r["selfpay_prop"])),
            "fulamt_ownpay_amt": yuan(r["fulamt_ownpay_amt"]),
            "overlmt_amt": yuan(r["overlmt_amt"]),
            "preselfpay_amt": yuan(r["preselfpay_amt"]),
            "inscp_scp_amt": yuan(r["inscp_scp_amt"]),
            "chrgitm_lv": r["chrgitm_lv"],
            "med_chrgitm_type": r["med_chrgitm_type"] or "",
            "lmt_used_flag": r["lmt_used_flag"],
            "memo": "目录外项目，全自费"
            if r["chrgitm_lv"] == "03" and r["selfpay_prop"] == 0 and not r["med_chrgitm_type"]
            else "",
        }
        for r in lines
    ]


def check_med_type(session: Session, psn_no: str, insutype: str, med_type: str, day: date, path: str) -> None:
    enr = svc.read_enrollment(session, psn_no, insutype, day)
    bundle = get_bundle(enr.insuplc_admdvs)
    ver = bundle.version_index(day)
    if ver is None or bundle.class_index(ver, med_type) is None:
        raise InputError(f'{path}.med_type: 不支持的医疗类别 "{med_type}"')


# --- 9xxx / 1xxx ---------------------------------------------------------------------------------


@transaction("9001")
def sign_in(s, ctx, inp: Node, env) -> dict:
    node = inp.child("signIn", required=False) or inp.child("data", required=False) or inp
    opter_no = node.code("opter_no", 30, required=False) or ctx.opter
    now = datetime.now()
    return {
        "signinoutb": {
            "sign_time": now.replace(microsecond=0),
            "sign_no": f"{now:%Y%m%d%H%M%S}{ids.digits(8)}",
            "opter_no": opter_no,
        }
    }


@transaction("1101")
def person_info(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    cert_type = d.code("mdtrt_cert_type", 3, choices=("01", "02", "03"))
    certno = d.code("certno", 50, required=False) or d.code("mdtrt_cert_no", 50)
    person = s.scalar(select(Person).where(or_(Person.certno == certno, Person.psn_no == certno)))
    if person is None:
        raise NotFound(f"input.data.certno: 未查询到参保人 ({cert_type})")
    name = d.str("psn_name", required=False, max_len=50)
    if name and name != person.psn_name:
        raise InputError("input.data.psn_name: 姓名与证件号码不符")
    today = date.today()
    balance = s.get(PersonalAccount, person.psn_no)
    insuinfo = [
        {
            "balc": yuan(balance.balance if balance and e.insutype == "310" else 0),
            "insutype": e.insutype,
            "psn_type": e.psn_type,
            "psn_insu_stas": e.psn_insu_stas,
            "psn_insu_date": e.begndate,
            "paus_insu_date": e.paus_insu_date or "",
            "cvlserv_flag": e.cvlserv_flag,
            "insuplc_admdvs": e.insuplc_admdvs,
            "emp_name": e.emp_name or "",
        }
        for e in s.scalars(
            select(Enrollment).where(Enrollment.psn_no == person.psn_no).order_by(Enrollment.begndate.desc())
        )
    ]
    idet = [
        {
            "psn_idet_type": i.psn_idet_type,
            "psn_type_lv": i.psn_type_lv or "",
            "memo": i.memo or "",
            "begntime": i.begntime,
            "endtime": i.endtime or "",
        }
        for i in s.scalars(select(Identity).where(Identity.psn_no == person.psn_no))
    ]
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "psn_name": person.psn_name,
            "gend": person.gend,
            "naty": person.naty or "",
            "brdy": person.brdy,
            "age": age_on(person.brdy, today),
            "exp_content": "",
        },
        "insuinfo": insuinfo,
        "idetinfo": idet,
    }


@transaction("2001")
def treatment_check(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    psn_no, insutype = d.code("psn_no", 30), d.code("insutype", 6)
    day = (d.datetime("begntime", required=False) or datetime.now()).date()
    svc.person(s, psn_no)
    try:
        enr = facts.enrollment_on(s, psn_no, insutype, day)
        person = s.get(Person, psn_no)
        facts.person_facts(s, person, enr, day)
        ok, reason = True, "正常享受待遇"
    except SettlementError as exc:
        enr, ok, reason = None, False, exc.message
    fund = {"310": "310100", "390": "390100"}.get(insutype, insutype + "100")
    return {
        "trtinfo": [
            {
                "fund_pay_type": fund,
                "trt_enjymnt_flag": "1" if ok else "0",
                "trt_chk_type": "01",
                "psn_no": psn_no,
                "trt_chk_rslt": reason,
            }
        ]
    }


# --- outpatient 22xx --------------------------------------------------------------------------------


def _visit_keys(d: Node) -> dict:
    """What 2201 registers a visit for (its reads ahead need the same)."""
    return {
        "psn_no": d.code("psn_no", 30),
        "insutype": d.code("insutype", 6),
        "begntime": d.datetime("begntime"),
    }


@transaction("2201")
def register(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    visit = svc.register_visit(
        s,
        ctx,
        **_visit_keys(d),
        atddr_no=d.code("atddr_no", 20, required=False),
        dept_code=d.code("dept_code", 30, required=False),
    )
    return {
        "data": {
            "mdtrt_id": visit.mdtrt_id,
            "psn_no": visit.psn_no,
            "ipt_otp_no": d.code("ipt_otp_no", 30, required=False) or "",
        }
    }


@reads_ahead("2201")
def register_ahead(s: Session, inp: Node) -> None:
    keys = _visit_keys(inp.child("data"))
    svc.prefetch_register(s, psn_no=keys["psn_no"], insutype=keys["insutype"], day=keys["begntime"].date())


# the same change for the other kind of visit (门诊 ↔ 住院)
_COUNTERPART = {
    "2202": "2404",
    "2404": "2202",
    "2203": "2403",
    "2403": "2203",
    "2205": "2302",
    "2302": "2205",
}


def visit_of(s: Session, ctx, d: Node, infno: str, *, inpatient: bool, psn_required: bool = False):
    """The caller's visit named by ``d.mdtrt_id``: of the kind ``infno`` serves, and of ``d.psn_no`` if given
    (a wrong patient's visit is never changed)."""
    visit = svc.own_visit(s, ctx, d.code("mdtrt_id", 30))
    psn_no = d.code("psn_no", 30, required=psn_required)
    if psn_no is not None and psn_no != visit.psn_no:
        raise InputError(f"{d.path}.psn_no: 与就诊登记的人员不符")
    if visit.med_type.startswith(svc.INPATIENT_PREFIX) != inpatient:
        kind, other = "门诊" if inpatient else "住院", _COUNTERPART.get(infno)
        raise InputError(
            f"{d.path}.mdtrt_id: {kind}就诊不能办理 {infno}" + (f"，请使用 {other}" if other else "")
        )
    return visit


@transaction("2202")
def unregister(s: Session, ctx, inp: Node, env) -> dict:
    visit = visit_of(s, ctx, inp.child("data"), "2202", inpatient=False, psn_required=True)
    svc.cancel_visit(s, ctx, visit.mdtrt_id)
    return {}


@transaction("2203", "2403")
def visit_info(s: Session, ctx, inp: Node, env) -> dict:
    key = "mdtrtinfo" if env["infno"] == "2203" else "adminfo"
    m = inp.child(key)
    mdtrt_id = m.code("mdtrt_id", 30)
    inpatient = env["infno"] == "2403"
    visit = visit_of(s, ctx, m, env["infno"], inpatient=inpatient)
    med_type = m.code("med_type", 6, required=not inpatient)
    if med_type:
        check_med_type(s, visit.psn_no, visit.insutype, med_type, visit.begntime.date(), m.path)
        if inpatient and not med_type.startswith(svc.INPATIENT_PREFIX):
            raise InputError(f'{m.path}.med_type: 住院就诊的医疗类别须为住院类 (got "{med_type}")')
        if not inpatient and med_type.startswith(svc.INPATIENT_PREFIX):  # (an admission is a 2401)
            raise InputError(
                f'{m.path}.med_type: 门诊就诊的医疗类别不能为住院类 (got "{med_type}")，住院请办理 2401'
            )
    dise = m.code("dise_codg", 30, required=False)
    opsp = m.code("opsp_dise_code", 30, required=False) or (dise if med_type == "14" else None)
    diseases = inp.items("diseinfo", required=False)
    main = next(
        (x for x in diseases if x.code("maindiag_flag", 1, required=False) == "1"),
        diseases[0] if diseases else None,
    )
    svc.update_visit(
        s,
        ctx,
        mdtrt_id,
        med_type=med_type,
        opsp_dise_code=opsp,
        dise_codg=dise or (main.code("diag_code", 30, required=False) if main else None),
        dise_name=m.str("dise_name", required=False, max_len=200)
        or (main.str("diag_name", required=False, max_len=200) if main else None),
    )
    return {}


@transaction("2204", "2301")
def upload(s: Session, ctx, inp: Node, env) -> dict:
    rows = inp.items("feedetail")
    by_visit: dict[str, list[Node]] = {}
    for r in rows:
        by_visit.setdefault(r.code("mdtrt_id", 30), []).append(r)
    result = []
    for mdtrt_id, nodes in by_visit.items():
        visit = svc.visit_for_upload(s, ctx, mdtrt_id)
        inpatient = visit.med_type.startswith(svc.INPATIENT_PREFIX)
        if (env["infno"] == "2301") != inpatient:
            raise InputError(
                f"{nodes[0].path}.mdtrt_id: {'住院' if inpatient else '门诊'}就诊请使用 "
                f"{'2301' if inpatient else '2204'}"
            )
        for (
            r
        ) in nodes:  # a line carrying another person's psn_no is not this visit's (as visit changes refuse)
            psn_no = r.code("psn_no", 30, required=False)
            if psn_no is not None and psn_no != visit.psn_no:
                raise InputError(f"{r.path}.psn_no: 与就诊登记的人员不符")
        with named_lines(nodes):
            stored = svc.upload_fees(s, ctx, mdtrt_id, fee_inputs(nodes), visit=visit)
        result.extend(split_result(stored))
    return {"result": result}


@contextmanager
def named_lines(nodes: list[Node]):
    """A refusal of the n-th line (:class:`LineError`) names it by its place in the message:
    ``input.feedetail[3].med_list_codg``."""
    try:
        yield
    except LineError as exc:
        raise InputError(f"{nodes[exc.index].path}.{exc.field}: {exc.reason}") from None


@reads_ahead("2204", "2301")
def upload_ahead(s: Session, inp: Node) -> None:
    codes: dict[str, set[str]] = {}
    for r in inp.items("feedetail"):
        codes.setdefault(r.code("mdtrt_id", 30), set()).add(r.code("med_list_codg", 50))
    for mdtrt_id, of_visit in codes.items():
        svc.prefetch_upload(s, mdtrt_id=mdtrt_id, codes=of_visit)


@transaction("2205")
def cancel_outpatient_fees(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    visit = visit_of(s, ctx, d, "2205", inpatient=False)
    svc.cancel_fees(s, ctx, visit.mdtrt_id, chrg_bchno=d.code("chrg_bchno", 30, required=False) or "0000")
    return {}


@transaction("2302")
def cancel_inpatient_fees(s: Session, ctx, inp: Node, env) -> dict:
    for d in inp.items("data"):
        visit = visit_of(s, ctx, d, "2302", inpatient=True)
        svc.cancel_fees(s, ctx, visit.mdtrt_id, feedetl_sn=d.code("feedetl_sn", 30, required=False) or "0000")
    return {}


def _settle(s: Session, ctx, inp: Node, *, pre: bool, inpatient: bool) -> dict:
    d = inp.child("data")
    outcome = svc.settle(
        s,
        ctx,
        **_settle_fields(d),
        mid_setl_flag=bool(d.int("mid_setl_flag", required=False, choices=(0, 1), default=0))
        if inpatient
        else False,
        pre=pre,
    )
    return settlement_reply(s, ctx, outcome)


def _settle_fields(d: Node) -> dict:
    """A (pre-)settlement's fields, checked in this order (its reads ahead are read from the same)."""
    return {
        "mdtrt_id": d.code("mdtrt_id", 30),
        "psn_no": d.code("psn_no", 30),
        "insutype": d.code("insutype", 6, required=False),
        "acct_used_flag": d.int("acct_used_flag", required=False, choices=(0, 1, 2), default=0),
        "medfee_sumamt": d.amount("medfee_sumamt"),
        "chrg_bchno": d.code("chrg_bchno", 30, required=False),
    }


def _settle_ahead(s: Session, inp: Node, *, inpatient: bool) -> None:
    f = _settle_fields(inp.child("data"))
    svc.prefetch_settle(
        s,
        mdtrt_id=f["mdtrt_id"],
        psn_no=f["psn_no"],
        chrg_bchno=f["chrg_bchno"],
        own_account=f["acct_used_flag"] != 2,
        inpatient=inpatient,
    )


@reads_ahead("2206", "2207")
def outpatient_settle_ahead(s: Session, inp: Node) -> None:
    _settle_ahead(s, inp, inpatient=False)


@reads_ahead("2303", "2304")
def inpatient_settle_ahead(s: Session, inp: Node) -> None:
    _settle_ahead(s, inp, inpatient=True)


@transaction("2206")
def presettle_outpatient(s, ctx, inp, env) -> dict:
    return _settle(s, ctx, inp, pre=True, inpatient=False)


@transaction("2207")
def settle_outpatient(s, ctx, inp, env) -> dict:
    return _settle(s, ctx, inp, pre=False, inpatient=False)


@transaction("2303")
def presettle_inpatient(s, ctx, inp, env) -> dict:
    return _settle(s, ctx, inp, pre=True, inpatient=True)


@transaction("2304")
def settle_inpatient(s, ctx, inp, env) -> dict:
    return _settle(s, ctx, inp, pre=False, inpatient=True)


@transaction("2208", "2305")
def reverse(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    outcome = svc.reverse(
        s,
        ctx,
        setl_id=d.code("setl_id", 30),
        psn_no=d.code("psn_no", 30, required=False),
        mdtrt_id=d.code("mdtrt_id", 30, required=False),
    )
    return settlement_reply(s, ctx, outcome)


# --- pharmacy 21xx ---------------------------------------------------------------------------------


def _pharmacy_keys(d: Node) -> tuple[str, str, str, datetime]:
    """psn_no, insutype, med_type and begntime of a 2101 / 2102 (what its reads depend on)."""
    psn_no, insutype = d.code("psn_no", 30), d.code("insutype", 6)
    med_type = d.code("med_type", 6, required=False) or "41"
    begntime = d.datetime("begntime", required=False) or datetime.now().replace(microsecond=0)
    return psn_no, insutype, med_type, begntime


def _pharmacy(s: Session, ctx, inp: Node, env, pre: bool) -> dict:
    d = inp.child("data")
    psn_no, insutype, med_type, begntime = _pharmacy_keys(d)
    check_med_type(s, psn_no, insutype, med_type, begntime.date(), d.path)
    nodes = inp.items("drugdetail")
    lines = fee_inputs(nodes)
    savepoint = s.begin_nested() if pre else None
    try:
        visit = svc.register_visit(
            s,
            ctx,
            psn_no=psn_no,
            insutype=insutype,
            begntime=begntime,
            med_type=med_type,
            enrollment_checked=True,  # (check_med_type read it)
        )
        # each step's reads travel with the previous step's writes: one round trip per step, not per read
        svc.prefetch_upload(s, mdtrt_id=visit.mdtrt_id, codes={f.med_list_codg for f in lines})
        with named_lines(nodes):
            svc.upload_fees(s, ctx, visit.mdtrt_id, lines)
        acct_used_flag = d.int("acct_used_flag", required=False, choices=(0, 1, 2), default=0)
        svc.prefetch_settle(
            s,
            mdtrt_id=visit.mdtrt_id,
            psn_no=psn_no,
            chrg_bchno=None,
            own_account=acct_used_flag != 2,
            inpatient=False,
        )
        outcome = svc.settle(
            s,
            ctx,
            mdtrt_id=visit.mdtrt_id,
            psn_no=psn_no,
            insutype=insutype,
            acct_used_flag=acct_used_flag,
            medfee_sumamt=d.amount("medfee_sumamt"),
            pre=pre,
        )
        return settlement_reply(s, ctx, outcome)
    finally:
        if savepoint is not None:
            savepoint.rollback()  # 预结算: computed, nothing recorded


@reads_ahead("2101", "2102")
def pharmacy_ahead(s: Session, inp: Node) -> None:
    psn_no, insutype, _, begntime = _pharmacy_keys(inp.child("data"))
    svc.prefetch_register(s, psn_no=psn_no, insutype=insutype, day=begntime.date())


@transaction("2101")
def pharmacy_presettle(s, ctx, inp, env) -> dict:
    return _pharmacy(s, ctx, inp, env, pre=True)


@transaction("2102")
def pharmacy_settle(s, ctx, inp, env) -> dict:
    return _pharmacy(s, ctx, inp, env, pre=False)


@transaction("2103")
def pharmacy_reverse(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    outcome = svc.reverse(s, ctx, setl_id=d.code("setl_id", 30), psn_no=d.code("psn_no", 30, required=False))
    svc.cancel_visit(s, ctx, outcome.visit.mdtrt_id)
    return settlement_reply(s, ctx, outcome)


# --- inpatient 24xx --------------------------------------------------------------------------------


@transaction("2401")
def admit(s: Session, ctx, inp: Node, env) -> dict:
    m = inp.child("mdtrtinfo")
    psn_no, insutype = m.code("psn_no", 30), m.code("insutype", 6)
    med_type = m.code("med_type", 6, required=False) or "21"
    begntime = m.datetime("begntime")
    check_med_type(s, psn_no, insutype, med_type, begntime.date(), m.path)
    if not med_type.startswith(svc.INPATIENT_PREFIX):
        raise InputError(f'{m.path}.med_type: 入院的医疗类别须为住院类 (got "{med_type}")')
    visit = svc.register_visit(
        s,
        ctx,
        psn_no=psn_no,
        insutype=insutype,
        begntime=begntime,
        med_type=med_type,
        inpatient=True,
        atddr_no=m.code("atddr_no", 20, required=False),
        dept_code=m.code("adm_dept_codg", 30, required=False),
        dise_codg=m.code("dise_codg", 30, required=False),
        dise_name=m.str("dise_name", required=False, max_len=200),
    )
    return {
        "result": {
            "mdtrt_id": visit.mdtrt_id,
            "psn_no": psn_no,
            "ipt_otp_no": m.code("ipt_no", 30, required=False) or "",
        }
    }


@transaction("2402")
def discharge(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("dscginfo")
    visit = visit_of(s, ctx, d, "2402", inpatient=True)
    svc.discharge(
        s,
        ctx,
        visit.mdtrt_id,
        d.datetime("endtime"),
        d.code("dscg_way", 3, required=False),
        dise_codg=d.code("dise_codg", 30, required=False),
        dise_name=d.str("dise_name", required=False, max_len=200),
    )
    return {}


@transaction("2404")
def cancel_admission(s: Session, ctx, inp: Node, env) -> dict:
    visit = visit_of(s, ctx, inp.child("data"), "2404", inpatient=True)
    svc.cancel_visit(s, ctx, visit.mdtrt_id)
    return {}


@transaction("2405")
def cancel_discharge(s: Session, ctx, inp: Node, env) -> dict:
    visit = visit_of(s, ctx, inp.child("data"), "2405", inpatient=True)
    svc.undo_discharge(s, ctx, visit.mdtrt_id)
    return {}


# --- 2601 冲正 ---------------------------------------------------------------------------------------

REVERSIBLE = ("2102", "2207", "2304", "2401")


@transaction("2601")
def cancel_message(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    omsgid, oinfno = d.code("omsgid", 40), d.code("oinfno", 6, choices=REVERSIBLE)
    original = original_message(s, omsgid)
    if (
        original is None
    ):  # never arrived (or lost before commit): reserve the msgid so it can never apply later
        tombstone(s, omsgid, oinfno, ctx.fixmedins_code, f"原交易 {omsgid} 已冲正 (cancelled by 2601)")
        return {"result": {"omsgid": omsgid, "stas": "0", "memo": "原交易未生效，已登记冲正"}}
    if original.fixmedins_code != ctx.fixmedins_code or original.infno != oinfno:
        raise InputError(f"input.data.omsgid: 原交易 {omsgid} 不是本机构的 {oinfno} 交易")
    if original.infcode != 0:
        return {"result": {"omsgid": omsgid, "stas": "0", "memo": "原交易未成功，无需冲正"}}
    if oinfno == "2401":
        mdtrt_id = exactjson.loads(original.response)["output"]["result"]["mdtrt_id"]
        if svc.own_visit(s, ctx, mdtrt_id).status == "cancelled":  # (a 2601 resent, or a 2404 came first)
            return {"result": {"omsgid": omsgid, "stas": "1", "mdtrt_id": mdtrt_id, "memo": "已撤销"}}
        svc.cancel_visit(s, ctx, mdtrt_id)
        return {"result": {"omsgid": omsgid, "stas": "1", "mdtrt_id": mdtrt_id}}
    row = s.get(Settlement, original.setl_id) if original.setl_id else None
    if row is None:
        raise NotFound(f"input.data.omsgid: 原交易 {omsgid} 没有结算记录")
    if row.reversed_by:
        return {"result": {"omsgid": omsgid, "stas": "1", "setl_id": row.reversed_by, "memo": "已撤销"}}
    outcome = svc.reverse(s, ctx, setl_id=row.setl_id)
    if oinfno == "2102":
        svc.cancel_visit(s, ctx, outcome.visit.mdtrt_id)
    return {"result": {"omsgid": omsgid, "stas": "1", "setl_id": outcome.setl_id}}


# --- 3201 对总账, 5203 / 5206 queries -------------------------------------------------------------------


@transaction("3201")
def reconcile(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    begn, end = d.date("stmt_begndate"), d.date("stmt_enddate")
    if end < begn:
        raise InputError("input.data.stmt_enddate: 早于 stmt_begndate")
    insutype, clr_type = d.code("insutype", 6), d.code("clr_type", 6)
    optins = d.code("setl_optins", 6, required=False) or d.code("clr_optins", 6, required=False)
    q = select(
        func.count(),
        func.coalesce(func.sum(Settlement.medfee_sumamt), 0),
        func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0),
        func.coalesce(func.sum(Settlement.acct_pay), 0),
    ).where(
        Settlement.fixmedins_code == ctx.fixmedins_code,
        Settlement.insutype == insutype,
        Settlement.clr_type == clr_type,
        Settlement.setl_time >= datetime.combine(begn, datetime.min.time()),
        Settlement.setl_time < datetime.combine(end, datetime.max.time()),
    )
    if optins:
        q = q.where(Settlement.clr_optins == optins)
    count, medfee, fund, acct = s.execute(q).one()
    theirs = {
        "medfee_sumamt": d.amount("medfee_sumamt"),
        "fund_pay_sumamt": d.amount("fund_pay_sumamt"),
        "acct_pay": d.amount("acct_pay"),
        "fixmedins_setl_cnt": d.int("fixmedins_setl_cnt"),
    }
    ours = {
        "medfee_sumamt": int(medfee),
        "fund_pay_sumamt": int(fund),
        "acct_pay": int(acct),
        "fixmedins_setl_cnt": int(count),
    }
    diffs = [
        f"{k} 机构 {fmt_fen(theirs[k]) if k != 'fixmedins_setl_cnt' else theirs[k]} / 中心 "
        f"{fmt_fen(ours[k]) if k != 'fixmedins_setl_cnt' else ours[k]}"
        for k in ours
        if ours[k] != theirs[k]
    ]
    return {
        "stmtinfo": {
            "setl_optins": optins or "",
            "stmt_rslt": "1" if diffs else "0",
            "stmt_rslt_dscr": "；".join(diffs) if diffs else "对账平 (balanced)",
        }
    }


@transaction("5203")
def settlement_query(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    row, settled = svc.load_settled(s, d.code("setl_id", 30))
    if row.fixmedins_code != ctx.fixmedins_code or row.psn_no != d.code("psn_no", 30):
        raise NotFound(f"input.data.setl_id: 结算不存在 {row.setl_id}")
    visit = s.get(Visit, row.mdtrt_id)
    person = s.get(Person, row.psn_no)
    info = setlinfo_out(
        s,
        settled,
        setl_id=row.setl_id,
        visit=visit,
        person=person,
        row=row,
        psn_type=row.psn_type,
        msgid=row.medins_setl_id,
        clr_optins=row.clr_optins or "",
    )
    info.update(
        {
            "psn_pay": info["psn_part_amt"],
            "cash_payamt": info["psn_cash_pay"],
            "refd_setl_flag": row.refd_setl_flag,
            "fixmedins_code": row.fixmedins_code,
            "dedc_hosp_lv": str(row.dedc_hosp_lv or ""),
            "begndate": row.begndate,
            "enddate": row.enddate or "",
            "year": str(row.year),
            "dise_codg": visit.dise_codg or "",
            "dise_name": visit.dise_name or "",
        }
    )
    return {"setlinfo": info, "setldetail": setldetail_out(settled)}


@transaction("5206")
def accumulators(s: Session, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    psn_no = d.code("psn_no", 30)
    svc.person(s, psn_no)
    ym = d.code("cum_ym", 6, required=False)
    if ym is not None and not (len(ym) in (4, 6) and ym.isdigit()):
        raise InputError(f"input.data.cum_ym: {quote(ym)} 应为 yyyyMM (a year and month)")
    year = int(ym[:4]) if ym else date.today().year
    rows = s.execute(
        select(Accumulator.insutype, Accumulator.acc_key, Accumulator.value)
        .where(Accumulator.psn_no == psn_no, Accumulator.year == year)
        .order_by(Accumulator.insutype, Accumulator.acc_key)
    )
    names = {
        r.code: r.name for r in s.scalars(select(Dictionary).where(Dictionary.dic_type == "cum_type_code"))
    }
    out = []
    for insutype, key, value in rows:
        out.append(
            {
                "insutype": insutype,
                "year": str(year),
                "cum_type_code": key,
                "cum_type_name": names.get(key, ""),
                "cum": Decimal(value) if key.startswith("admissions:") else yuan(value),
            }
        )
    return {"cuminfo": out}
