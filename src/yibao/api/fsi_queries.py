"""Handlers of the national transactions that ask rather than settle: 9001 签到, 1101 人员信息, 2001 待遇检查,
2601 冲正, 3201 对总账, 5203 结算信息, 5206 人员累计. Registered on :mod:`yibao.api.fsi` when imported."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select

from yibao import ids
from yibao.api import exactjson
from yibao.api.fields import Node
from yibao.api.fsi import original_message, tombstone, transaction
from yibao.api.fsi_replies import age_on, setldetail_out, setlinfo_out, yuan
from yibao.errors import InputError, NotFound, SettlementError, quote
from yibao.money import fmt_fen
from yibao.settlement import facts, settle
from yibao.settlement import queries as q
from yibao.settlement import service as svc
from yibao.settlement.states import SettlementStatus, VisitStatus, settlement_status
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
from yibao.store.uow import UnitOfWork

# --- 9xxx / 1xxx ---------------------------------------------------------------------------------


@transaction("9001")
def sign_in(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
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
def person_info(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    s = uow.session
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
def treatment_check(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    s = uow.session
    d = inp.child("data")
    psn_no, insutype = d.code("psn_no", 30), d.code("insutype", 6)
    day = (d.datetime("begntime", required=False) or datetime.now()).date()
    if s.get(Person, psn_no) is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
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


# --- 2601 冲正 ---------------------------------------------------------------------------------------

REVERSIBLE = ("2102", "2207", "2304", "2401")


@transaction("2601")
def cancel_message(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    omsgid, oinfno = d.code("omsgid", 40), d.code("oinfno", 6, choices=REVERSIBLE)
    original = original_message(uow, omsgid)
    if (
        original is None
    ):  # never arrived (or lost before commit): reserve the msgid so it can never apply later
        tombstone(uow, omsgid, oinfno, ctx.fixmedins_code, f"原交易 {omsgid} 已冲正 (cancelled by 2601)")
        return {"result": {"omsgid": omsgid, "stas": "0", "memo": "原交易未生效，已登记冲正"}}
    if original.fixmedins_code != ctx.fixmedins_code or original.infno != oinfno:
        raise InputError(f"input.data.omsgid: 原交易 {omsgid} 不是本机构的 {oinfno} 交易")
    if original.infcode != 0:
        return {"result": {"omsgid": omsgid, "stas": "0", "memo": "原交易未成功，无需冲正"}}
    if oinfno == "2401":
        mdtrt_id = exactjson.loads(original.response)["output"]["result"]["mdtrt_id"]
        if (
            svc.own_visit(uow, ctx, mdtrt_id).status == VisitStatus.CANCELLED
        ):  # (a 2601 resent, or a 2404 came first)
            return {"result": {"omsgid": omsgid, "stas": "1", "mdtrt_id": mdtrt_id, "memo": "已撤销"}}
        svc.cancel_visit(uow, ctx, mdtrt_id)
        return {"result": {"omsgid": omsgid, "stas": "1", "mdtrt_id": mdtrt_id}}
    row = uow.first(q.SETTLEMENT(setl_id=original.setl_id)) if original.setl_id else None
    if row is None:
        raise NotFound(f"input.data.omsgid: 原交易 {omsgid} 没有结算记录")
    if settlement_status(row.refd_setl_flag, row.reversed_by) is SettlementStatus.REVERSED:  # (a 2601 resent)
        return {"result": {"omsgid": omsgid, "stas": "1", "setl_id": row.reversed_by, "memo": "已撤销"}}
    outcome = settle.reverse(uow, ctx, setl_id=row.setl_id)
    if oinfno == "2102":
        svc.cancel_visit(uow, ctx, outcome.visit.mdtrt_id)
    return {"result": {"omsgid": omsgid, "stas": "1", "setl_id": outcome.setl_id}}


# --- 3201 对总账, 5203 / 5206 queries -------------------------------------------------------------------


@transaction("3201")
def reconcile(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    d = inp.child("data")
    begn, end = d.date("stmt_begndate"), d.date("stmt_enddate")
    if end < begn:
        raise InputError("input.data.stmt_enddate: 早于 stmt_begndate")
    insutype, clr_type = d.code("insutype", 6), d.code("clr_type", 6)
    optins = d.code("setl_optins", 6, required=False) or d.code("clr_optins", 6, required=False)
    stmt = select(
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
        stmt = stmt.where(Settlement.clr_optins == optins)
    count, medfee, fund, acct = uow.session.execute(stmt).one()
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
def settlement_query(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    s = uow.session
    d = inp.child("data")
    row, settled = settle.load_settled(s, d.code("setl_id", 30))
    if row.fixmedins_code != ctx.fixmedins_code or row.psn_no != d.code("psn_no", 30):
        raise NotFound(f"input.data.setl_id: 结算不存在 {row.setl_id}")
    visit = s.get(Visit, row.mdtrt_id)
    person = s.get(Person, row.psn_no)
    info = setlinfo_out(
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
def accumulators(uow: UnitOfWork, ctx, inp: Node, env) -> dict:
    s = uow.session
    d = inp.child("data")
    psn_no = d.code("psn_no", 30)
    if s.get(Person, psn_no) is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
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
