"""Handlers of the national transactions that register, change and settle visits: 22xx 门诊, 24xx / 23xx 住院,
21xx 药店; national field names in, the settlement services in between, national field names out.

Imported for its side effect of registering handlers on :mod:`yibao.api.fsi` (with :mod:`yibao.api.fsi_queries`,
:mod:`yibao.api.fsi_lists` and :mod:`yibao.api.fsi_audit`).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from datetime import date, datetime

from yibao.api import (
    fsi_audit,  # registers the audit transactions (31xx); the inline checks' hooks
    fsi_lists,  # noqa: F401 - registers the settlement-list transactions
    fsi_queries,  # noqa: F401 - registers the query transactions
)
from yibao.api.fields import Node
from yibao.api.fsi import reads_ahead, transaction
from yibao.api.fsi_replies import settlement_reply, split_result
from yibao.errors import InputError
from yibao.policy.registry import get_bundle
from yibao.settlement import service as svc
from yibao.settlement import settle
from yibao.settlement.lines import LineError
from yibao.store.uow import UnitOfWork


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


def check_med_type(uow: UnitOfWork, psn_no: str, insutype: str, med_type: str, day: date, path: str) -> None:
    enr_of_day(svc.read_enrollment(uow, psn_no, insutype, day), med_type, day, path)


def enr_of_day(enr, med_type: str, day: date, path: str) -> None:
    """A medical type the policy of the enrollment's insured place has a benefit class for, on the day."""
    bundle = get_bundle(enr.insuplc_admdvs)
    ver = bundle.version_index(day)
    if ver is None or bundle.class_index(ver, med_type) is None:
        raise InputError(f'{path}.med_type: 不支持的医疗类别 "{med_type}"')


# --- outpatient 22xx --------------------------------------------------------------------------------


def _visit_keys(d: Node) -> dict:
    """What 2201 registers a visit for (its reads ahead need the same)."""
    return {
        "psn_no": d.code("psn_no", 30),
        "insutype": d.code("insutype", 6),
        "begntime": d.datetime("begntime"),
    }


@transaction("2201")
def register(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    visit = svc.register_visit(
        uow,
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
def register_ahead(inp: Node, code: str) -> dict:
    keys = _visit_keys(inp.child("data"))
    return svc.register_reads(
        code=code, psn_no=keys["psn_no"], insutype=keys["insutype"], day=keys["begntime"].date()
    )


# the same change for the other kind of visit (门诊 ↔ 住院)
_COUNTERPART = {
    "2202": "2404",
    "2404": "2202",
    "2203": "2403",
    "2403": "2203",
    "2205": "2302",
    "2302": "2205",
}


def visit_of(uow: UnitOfWork, ctx, d: Node, infno: str, *, inpatient: bool, psn_required: bool = False):
    """The caller's visit named by ``d.mdtrt_id``: of the kind ``infno`` serves, and of ``d.psn_no`` if given
    (a wrong patient's visit is never changed)."""
    visit = svc.own_visit(uow, ctx, d.code("mdtrt_id", 30))
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
def unregister(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    visit = visit_of(uow, ctx, inp.child("data"), "2202", inpatient=False, psn_required=True)
    svc.cancel_visit(uow, ctx, visit.mdtrt_id)
    return {}


@transaction("2203", "2403")
def visit_info(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    key = "mdtrtinfo" if env["infno"] == "2203" else "adminfo"
    m = inp.child(key)
    inpatient = env["infno"] == "2403"
    visit = visit_of(uow, ctx, m, env["infno"], inpatient=inpatient)
    med_type = m.code("med_type", 6, required=not inpatient)
    if med_type:
        check_med_type(uow, visit.psn_no, visit.insutype, med_type, visit.begntime.date(), m.path)
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
        uow,
        ctx,
        visit,
        med_type=med_type,
        opsp_dise_code=opsp,
        dise_codg=dise or (main.code("diag_code", 30, required=False) if main else None),
        dise_name=m.str("dise_name", required=False, max_len=200)
        or (main.str("diag_name", required=False, max_len=200) if main else None),
    )
    return {}


@transaction("2204", "2301")
def upload(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    rows = inp.items("feedetail")
    inline = fsi_audit.inline_checks(uow, ctx, env["infno"])  # None: the region checks no upload inline
    by_visit: dict[str, list[Node]] = {}
    for r in rows:
        by_visit.setdefault(r.code("mdtrt_id", 30), []).append(r)
    result = []
    for mdtrt_id, nodes in by_visit.items():
        codes = {r.code("med_list_codg", 50) for r in nodes}
        visit, catalogue = svc.visit_for_upload(uow, ctx, mdtrt_id, codes)
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
            check = inline.upload(visit, nodes) if inline else None
            stored = svc.upload_fees(uow, ctx, visit, catalogue, fee_inputs(nodes), check=check)
        result.extend(split_result(stored))
    return inline.reply({"result": result}) if inline else {"result": result}


@contextmanager
def named_lines(nodes: list[Node]):
    """A refusal of the n-th line (:class:`LineError`) names it by its place in the message:
    ``input.feedetail[3].med_list_codg``."""
    try:
        yield
    except LineError as exc:
        raise InputError(f"{nodes[exc.index].path}.{exc.field}: {exc.reason}") from None


@reads_ahead("2204", "2301")
def upload_ahead(inp: Node, code: str) -> dict:
    codes: dict[str, set[str]] = {}
    for r in inp.items("feedetail"):
        codes.setdefault(r.code("mdtrt_id", 30), set()).add(r.code("med_list_codg", 50))
    reads = {}
    for mdtrt_id, of_visit in codes.items():
        reads.update(
            {f"{mdtrt_id} {k}": v for k, v in svc.upload_reads(mdtrt_id=mdtrt_id, codes=of_visit).items()}
        )
    return reads


@transaction("2205")
def cancel_outpatient_fees(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    visit = visit_of(uow, ctx, d, "2205", inpatient=False)
    svc.cancel_fees(uow, ctx, visit.mdtrt_id, chrg_bchno=d.code("chrg_bchno", 30, required=False) or "0000")
    return {}


@transaction("2302")
def cancel_inpatient_fees(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    for d in inp.items("data"):
        visit = visit_of(uow, ctx, d, "2302", inpatient=True)
        svc.cancel_fees(
            uow, ctx, visit.mdtrt_id, feedetl_sn=d.code("feedetl_sn", 30, required=False) or "0000"
        )
    return {}


def _settle(uow: UnitOfWork, ctx, inp: Node, env, *, pre: bool, inpatient: bool) -> dict:
    d = inp.child("data")
    inline = fsi_audit.inline_checks(uow, ctx, env["infno"])  # None: the region checks no settlement inline
    outcome = settle.settle(
        uow,
        ctx,
        **_settle_fields(d),
        mid_setl_flag=bool(d.int("mid_setl_flag", required=False, choices=(0, 1), default=0))
        if inpatient
        else False,
        pre=pre,
        inpatient_hint=inpatient,
        check=inline.settle(d) if inline else None,
    )
    return inline.reply(settlement_reply(ctx, outcome)) if inline else settlement_reply(ctx, outcome)


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


def _settle_ahead(inp: Node, code: str, *, inpatient: bool) -> dict:
    f = _settle_fields(inp.child("data"))
    return settle.settle_reads(
        code=code,
        mdtrt_id=f["mdtrt_id"],
        psn_no=f["psn_no"],
        chrg_bchno=f["chrg_bchno"],
        own_account=f["acct_used_flag"] != 2,
        inpatient=inpatient,
    )


@reads_ahead("2206", "2207")
def outpatient_settle_ahead(inp: Node, code: str) -> dict:
    return _settle_ahead(inp, code, inpatient=False)


@reads_ahead("2303", "2304")
def inpatient_settle_ahead(inp: Node, code: str) -> dict:
    return _settle_ahead(inp, code, inpatient=True)


@transaction("2206")
def presettle_outpatient(uow, ctx, inp, env) -> dict:
    return _settle(uow, ctx, inp, env, pre=True, inpatient=False)


@transaction("2207")
def settle_outpatient(uow, ctx, inp, env) -> dict:
    return _settle(uow, ctx, inp, env, pre=False, inpatient=False)


@transaction("2303")
def presettle_inpatient(uow, ctx, inp, env) -> dict:
    return _settle(uow, ctx, inp, env, pre=True, inpatient=True)


@transaction("2304")
def settle_inpatient(uow, ctx, inp, env) -> dict:
    return _settle(uow, ctx, inp, env, pre=False, inpatient=True)


@transaction("2208", "2305")
def reverse(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    outcome = settle.reverse(
        uow,
        ctx,
        setl_id=d.code("setl_id", 30),
        psn_no=d.code("psn_no", 30, required=False),
        mdtrt_id=d.code("mdtrt_id", 30, required=False),
    )
    return settlement_reply(ctx, outcome)


# --- pharmacy 21xx ---------------------------------------------------------------------------------


def _pharmacy_keys(d: Node) -> tuple[str, str, str, datetime]:
    """psn_no, insutype, med_type and begntime of a 2101 / 2102 (what its reads depend on)."""
    psn_no, insutype = d.code("psn_no", 30), d.code("insutype", 6)
    med_type = d.code("med_type", 6, required=False) or "41"
    begntime = d.datetime("begntime", required=False) or datetime.now().replace(microsecond=0)
    return psn_no, insutype, med_type, begntime


def _pharmacy(uow: UnitOfWork, ctx, inp: Node, env, pre: bool) -> dict:
    d = inp.child("data")
    psn_no, insutype, med_type, begntime = _pharmacy_keys(d)
    day = begntime.date()
    enr_of_day(
        svc.registration_checks(uow, ctx, psn_no=psn_no, insutype=insutype, day=day, med_type=med_type),
        med_type,
        day,
        d.path,
    )
    nodes = inp.items("drugdetail")
    lines = fee_inputs(nodes)
    with uow.savepoint() if pre else nullcontext():  # 预结算: computed, nothing recorded
        visit = svc.register_visit(
            uow, ctx, psn_no=psn_no, insutype=insutype, begntime=begntime, med_type=med_type, checked=True
        )
        # each step's reads travel with the previous step's writes: one round trip per step, not per read
        stored, catalogue = svc.visit_for_upload(uow, ctx, visit.mdtrt_id, {f.med_list_codg for f in lines})
        with named_lines(nodes):
            svc.upload_fees(uow, ctx, stored, catalogue, lines)
        outcome = settle.settle(
            uow,
            ctx,
            mdtrt_id=visit.mdtrt_id,
            psn_no=psn_no,
            insutype=insutype,
            acct_used_flag=d.int("acct_used_flag", required=False, choices=(0, 1, 2), default=0),
            medfee_sumamt=d.amount("medfee_sumamt"),
            pre=pre,
        )
        return settlement_reply(ctx, outcome)


@reads_ahead("2101", "2102")
def pharmacy_ahead(inp: Node, code: str) -> dict:
    psn_no, insutype, _, begntime = _pharmacy_keys(inp.child("data"))
    return svc.register_reads(code=code, psn_no=psn_no, insutype=insutype, day=begntime.date())


@transaction("2101")
def pharmacy_presettle(uow, ctx, inp, env) -> dict:
    return _pharmacy(uow, ctx, inp, env, pre=True)


@transaction("2102")
def pharmacy_settle(uow, ctx, inp, env) -> dict:
    return _pharmacy(uow, ctx, inp, env, pre=False)


@transaction("2103")
def pharmacy_reverse(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    outcome = settle.reverse(
        uow, ctx, setl_id=d.code("setl_id", 30), psn_no=d.code("psn_no", 30, required=False)
    )
    svc.cancel_visit(uow, ctx, outcome.visit.mdtrt_id)
    return settlement_reply(ctx, outcome)


# --- inpatient 24xx --------------------------------------------------------------------------------


@transaction("2401")
def admit(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    m = inp.child("mdtrtinfo")
    psn_no, insutype = m.code("psn_no", 30), m.code("insutype", 6)
    med_type = m.code("med_type", 6, required=False) or "21"
    begntime = m.datetime("begntime")
    check_med_type(uow, psn_no, insutype, med_type, begntime.date(), m.path)
    if not med_type.startswith(svc.INPATIENT_PREFIX):
        raise InputError(f'{m.path}.med_type: 入院的医疗类别须为住院类 (got "{med_type}")')
    visit = svc.register_visit(
        uow,
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
def discharge(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("dscginfo")
    visit = visit_of(uow, ctx, d, "2402", inpatient=True)
    svc.discharge(
        uow,
        ctx,
        visit,
        d.datetime("endtime"),
        d.code("dscg_way", 3, required=False),
        dise_codg=d.code("dise_codg", 30, required=False),
        dise_name=d.str("dise_name", required=False, max_len=200),
    )
    return {}


@transaction("2404")
def cancel_admission(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    visit = visit_of(uow, ctx, inp.child("data"), "2404", inpatient=True)
    svc.cancel_visit(uow, ctx, visit.mdtrt_id)
    return {}


@transaction("2405")
def cancel_discharge(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    visit = visit_of(uow, ctx, inp.child("data"), "2405", inpatient=True)
    svc.undo_discharge(uow, ctx, visit)
    return {}
