"""What the facade answers (应答): national field names and exact amounts out of settlements and fee lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from yibao.api import exactjson
from yibao.money import fmt_bp, fmt_fen, fmt_scaled
from yibao.settlement.record import clr_type_for
from yibao.settlement.result import SETLINFO_ORDER, Settled
from yibao.settlement.service import Context
from yibao.settlement.settle import SettleOutcome

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
    settled: Settled,
    *,
    setl_id: str | None,
    visit,
    person,
    row,
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


def settlement_reply(ctx: Context, outcome: SettleOutcome) -> dict:
    """The 2206/2207/2303/2304/2101/2102/2208/2305/2103 output: setlinfo and setldetail."""
    visit, person, row = outcome.visit, outcome.person, outcome.row
    enrollment = outcome.enrollment if row is None else None
    psn_type = row.psn_type if row is not None else enrollment.psn_type
    clr = row.clr_optins if row is not None else enrollment.insuplc_admdvs
    return {
        "setlinfo": setlinfo_out(
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
