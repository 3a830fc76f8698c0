"""Writing the settled year (已结算的一年写库): visits, fee lines with their split, settlements with setldetail,
balanced ledger postings, then accumulators and account balances (:mod:`yibao.synth.balances`), from the
batch kernel's arrays, as the online path
would have written them one by one. Under 共济 the account leg names the account's owner and the settlement's
trace keeps it, so a reversal credits the right account back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from yibao.funds import ledger
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import BatchInput, BatchResult
from yibao.settlement.bulk import deltas, detail_arrays, posting_arrays
from yibao.settlement.record import clr_type_for
from yibao.settlement.result import SETLINFO_ORDER
from yibao.store.tables import (
    FeeLine,
    LedgerEntry,
    LedgerPosting,
    Settlement,
    SettlementDetail,
    Visit,
)
from yibao.synth import balances
from yibao.synth.claims import Claims, Reference
from yibao.synth.history import History
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.store import Progress, chunked, next_id, sync_sequence


@dataclass
class Frame:
    """What every table of the settled year is written from: the visits, their ids and times, the kernel's
    inputs and results."""

    bundle: PolicyBundle
    year: int
    admdvs: str
    pop: Population
    cl: Claims
    batch: BatchInput
    res: BatchResult
    psn: np.ndarray  # per visit
    inst: np.ndarray
    ins: np.ndarray
    ptype: np.ndarray
    day0: np.ndarray  # datetime64[D]
    end_day: np.ndarray
    setl_time: np.ndarray  # datetime64[s]
    begin: np.ndarray  # datetime64[s]

    def mdtrt(self, k: int) -> str:
        return mdtrt_id(self.admdvs, self.year, k)

    def setl(self, k: int) -> str:
        return setl_id(self.admdvs, self.year, k)


def mdtrt_id(admdvs: str, year: int, k: int) -> str:
    """The generated visit ``k``'s mdtrt_id (its settlement's setl_id below)."""
    return f"{admdvs}M{year % 100:02d}{k:010d}"


def setl_id(admdvs: str, year: int, k: int) -> str:
    return f"{admdvs}S{year % 100:02d}{k:010d}"


def begin_times(cl: Claims) -> np.ndarray:
    """Each visit's begin time (datetime64[s])."""
    return cl.day.astype("datetime64[D]").astype("datetime64[s]") + cl.begin_seconds().astype(
        "timedelta64[s]"
    )


def setl_times(cl: Claims) -> np.ndarray:
    """Each settlement's time: a stay's discharge day at 09:00 plus a deterministic offset; a same-day visit
    5–45 minutes after it began."""
    k = np.arange(len(cl))
    end_day = cl.day.astype("datetime64[D]") + cl.los.astype("timedelta64[D]")
    discharge = (
        end_day.astype("datetime64[s]")
        + np.timedelta64(9 * 3600, "s")
        + (k % 28_800).astype("timedelta64[s]")
    )
    same_day = begin_times(cl) + (300 + (k * 7919) % 2_400).astype("timedelta64[s]")
    return np.where(cl.los > 0, discharge, same_day)


def write_settled(
    engine: Engine,
    bundle: PolicyBundle,
    p: Params,
    pop: Population,
    past: History,
    cl: Claims,
    ref: Reference,
    batch: BatchInput,
    res: BatchResult,
    admdvs: str,
    progress: Progress,
) -> dict:
    day0 = cl.day.astype("datetime64[D]")
    f = Frame(
        bundle,
        p.year,
        admdvs,
        pop,
        cl,
        batch,
        res,
        psn=pop.psn_no[cl.person],
        inst=ref.inst_code[cl.inst],
        ins=pop.insutype[cl.person],
        ptype=pop.psn_type[cl.person],
        day0=day0,
        end_day=day0 + cl.los.astype("timedelta64[D]"),
        setl_time=setl_times(cl),
        begin=begin_times(cl),
    )
    _write_visits(engine, f, progress)
    _write_lines(engine, f, ref, progress)
    _write_settlements(engine, f, progress)
    postings = _write_ledger(engine, f, progress)
    balances.write_opening_balances(engine, p, pop, past, progress)
    balances.write_accumulators(engine, bundle, pop, res, progress)
    balances.write_accounts(engine, pop, past, res, progress)
    return {"fund_pay": int(res.out.account.fund_pay_sumamt.sum()), "postings": postings}


def _write_visits(engine: Engine, f: Frame, progress: Progress) -> None:
    def visits(lo: int, hi: int) -> list[dict]:
        return [
            {
                "mdtrt_id": f.mdtrt(k),
                "psn_no": psn,
                "fixmedins_code": inst,
                "insutype": ins,
                "med_type": mt,
                "begntime": b.item(),
                "endtime": st.item() if los else None,
                "dept_code": None,
                "atddr_no": doc or None,
                "dise_codg": dx,
                "dise_name": None,
                "opsp_dise_code": op or None,
                "oprn_codg": None,
                "status": "settled",
                "dscg_way": "1" if los else None,
                "extra": None,
            }
            for k, psn, inst, ins, mt, b, st, los, doc, dx, op in zip(
                range(lo, hi),
                f.psn[lo:hi].tolist(),
                f.inst[lo:hi].tolist(),
                f.ins[lo:hi].tolist(),
                f.cl.med_type[lo:hi].tolist(),
                f.begin[lo:hi],
                f.setl_time[lo:hi],
                f.cl.los[lo:hi].tolist(),
                f.cl.doctor[lo:hi].tolist(),
                f.cl.dise[lo:hi].tolist(),
                f.cl.opsp[lo:hi].tolist(),
                strict=True,
            )
        ]

    chunked(engine, Visit, len(f.cl), visits, progress, "就诊 visits")


def _write_lines(engine: Engine, f: Frame, ref: Reference, progress: Progress) -> None:
    L = int(f.cl.line_visit.size)
    seq = np.arange(L) - np.searchsorted(f.cl.line_visit, f.cl.line_visit, side="left") + 1
    item = f.cl.line_item
    # 费用发生时间: 10:00 on a day of the visit; a stay's lines in turn over its days (the discharge day not
    # counted), so the audit rules that read dates (疗程, 计费日期, 挂床) see a stay's course
    los = f.cl.los[f.cl.line_visit]
    offset = np.where(los > 0, (seq - 1) % np.maximum(los, 1), 0)
    stay_time = (f.day0[f.cl.line_visit] + offset.astype("timedelta64[D]")).astype(
        "datetime64[s]"
    ) + np.timedelta64(10 * 3600, "s")
    # a same-day visit's lines 20 seconds apart from a minute after it began
    fee_time = np.where(
        los > 0, stay_time, f.begin[f.cl.line_visit] + (40 + 20 * seq).astype("timedelta64[s]")
    )

    def lines(lo: int, hi: int) -> list[dict]:
        it = item[lo:hi]
        cols = zip(
            f.cl.line_visit[lo:hi].tolist(),
            seq[lo:hi].tolist(),
            ref.item_code[it].tolist(),
            ref.item_type[it].tolist(),
            f.cl.line_pric[lo:hi].tolist(),
            f.cl.line_cnt[lo:hi].tolist(),
            f.cl.line_amt[lo:hi].tolist(),
            ref.item_lv[it].tolist(),
            ref.item_selfpay[it].tolist(),
            ref.item_cap[it].tolist(),
            ref.item_lmt[it].tolist(),
            f.cl.line_appr[lo:hi].tolist(),
            fee_time[lo:hi].tolist(),
            f.res.split.ful[lo:hi].tolist(),
            f.res.split.over[lo:hi].tolist(),
            f.res.split.pre[lo:hi].tolist(),
            f.res.split.inscp[lo:hi].tolist(),
            strict=True,
        )
        return [
            {
                "mdtrt_id": f.mdtrt(v),
                "feedetl_sn": str(sq),
                "chrg_bchno": "1",
                "med_list_codg": code,
                "medins_list_codg": None,
                "med_chrgitm_type": typ,
                "fee_ocur_time": when,
                "pric": pr,
                "cnt": ct,
                "det_item_fee_sumamt": amt,
                "chrgitm_lv": f"{lv:02d}",
                "selfpay_prop": sp,
                "pric_uplmt_amt": None if cap < 0 else cap,
                "lmt_used_flag": str(lmt),
                "hosp_appr_flag": str(appr),
                "fulamt_ownpay_amt": ful,
                "overlmt_amt": over,
                "preselfpay_amt": pre,
                "inscp_scp_amt": inscp,
                "bilg_dr_codg": None,
                "setl_id": f.setl(v),
                "status": "settled",
            }
            for v, sq, code, typ, pr, ct, amt, lv, sp, cap, lmt, appr, when, ful, over, pre, inscp in cols
        ]

    chunked(engine, FeeLine, L, lines, progress, "费用明细 fee lines")


def _write_settlements(engine: Engine, f: Frame, progress: Progress) -> None:
    o, bundle, batch, res = f.res.out, f.bundle, f.batch, f.res
    dl = deltas(bundle, batch, res)
    version = np.array(bundle.versions)[batch.ver]
    klass = np.array(bundle.classes)[batch.cls]
    acodes = np.array([*bundle.assistance_codes, ""])
    columns = res.columns  # the setlinfo fields by national name (a fund no tier pays is 0)
    critical, supplementary = o.funds["critical"], o.funds["supplementary"]

    def settlements(lo: int, hi: int) -> list[dict]:
        sl = slice(lo, hi)
        a = {k: columns[k][sl].tolist() if k in columns else [0] * (hi - lo) for k in SETLINFO_ORDER}
        a["ci_tilt"], a["sp_tilt"] = critical.tilt[sl].tolist(), supplementary.tilt[sl].tolist()
        a["sp_on"] = supplementary.on[sl].tolist()
        acat = acodes[o.funds["assistance"].category[sl]].tolist()
        flags = batch.acct_flag[sl].tolist()
        owners = f.pop.psn_no[np.maximum(batch.acct[sl], 0)].tolist()  # 共济: whose account paid
        rows = []
        for j, k in enumerate(range(lo, hi)):
            los = int(f.cl.los[k])
            rows.append(
                {
                    "setl_id": f.setl(k),
                    "mdtrt_id": f.mdtrt(k),
                    "psn_no": str(f.psn[k]),
                    "fixmedins_code": str(f.inst[k]),
                    "insutype": str(f.ins[k]),
                    "psn_type": str(f.ptype[k]),
                    "med_type": str(f.cl.med_type[k]),
                    "setl_time": f.setl_time[k].item(),
                    "begndate": f.day0[k].item(),
                    "enddate": f.end_day[k].item() if los else None,
                    "year": f.year,
                    "dedc_hosp_lv": int(f.cl.level[k]),
                    **{key: a[key][j] for key in SETLINFO_ORDER},
                    "clr_type": clr_type_for(str(f.cl.med_type[k])),
                    "clr_way": "1",
                    "clr_optins": f.admdvs,
                    "refd_setl_flag": "0",
                    "orig_setl_id": None,
                    "reversed_by": None,
                    "mid_setl_flag": "0",
                    "medins_setl_id": None,
                    "policy_version": str(version[k]),
                    "policy_hash": bundle.hash,
                    # the trace as the names it was computed from (expanded by the console on demand)
                    "trace": {
                        **({"account_owner": owners[j]} if flags[j] == 2 else {}),
                        "batch": {
                            "version": str(version[k]),
                            "insutype": str(f.ins[k]),
                            "class": str(klass[k]),
                            "psn_type": str(f.ptype[k]),
                            "level": int(f.cl.level[k]),
                            "disease": str(f.cl.opsp[k]) or None,
                            "ci_tilt": int(a["ci_tilt"][j]),
                            "sp_on": bool(a["sp_on"][j]),
                            "sp_tilt": bool(a["sp_tilt"][j]),
                            "assistance": acat[j] or None,
                        },
                    },
                    "accum_delta": dl[k],
                }
            )
        return rows

    chunked(engine, Settlement, len(f.cl), settlements, progress, "结算 settlements")
    _write_details(engine, f, progress)


def _write_details(engine: Engine, f: Frame, progress: Progress) -> None:
    d = detail_arrays(f.bundle, f.batch, f.res)

    def details(lo: int, hi: int) -> list[dict]:
        return [
            {
                "setl_id": f.setl(v),
                "fund_pay_type": fpt,
                "inscp_scp_amt": b,
                "crt_payb_lmt_amt": None if r < 0 else r,
                "fund_payamt": x,
                "setl_proc_info": None,
            }
            for v, fpt, b, r, x in zip(
                d.visit[lo:hi].tolist(),
                d.fund_pay_type[lo:hi].tolist(),
                d.base[lo:hi].tolist(),
                d.remaining[lo:hi].tolist(),
                d.amount[lo:hi].tolist(),
                strict=True,
            )
        ]

    chunked(engine, SettlementDetail, int(d.visit.size), details, progress, "基金分项 setldetail")


def _write_ledger(engine: Engine, f: Frame, progress: Progress) -> int:
    d = detail_arrays(f.bundle, f.batch, f.res)
    postings = posting_arrays(d, f.res)
    first_id = next_id(engine, LedgerEntry)

    def entries(lo: int, hi: int) -> list[dict]:
        return [
            {
                "id": first_id + k,
                "entry_type": "settlement",
                "setl_id": f.setl(k),
                "fixmedins_code": inst,
                "psn_no": psn,
                "posted_at": st.item(),
                "book_date": st.item().date(),
                "memo": None,
            }
            for k, inst, psn, st in zip(
                range(lo, hi),
                f.inst[lo:hi].tolist(),
                f.psn[lo:hi].tolist(),
                f.setl_time[lo:hi],
                strict=True,
            )
        ]

    chunked(engine, LedgerEntry, len(f.cl), entries, progress, "凭证 ledger entries")

    # a leg names the visit's person, but the account leg its owner (a relative's under 共济)
    acct_leg = postings.account == ledger.PERSONAL_ACCOUNT
    leg_psn = f.psn[postings.visit]
    leg_psn[acct_leg] = f.pop.psn_no[f.batch.acct[postings.visit[acct_leg]]]

    def legs(lo: int, hi: int) -> list[dict]:
        pv = postings.visit[lo:hi]
        return [
            {
                "entry_id": first_id + v,
                "account": acc,
                "fund_pay_type": fpt or None,
                "fixmedins_code": inst,
                "psn_no": psn,
                "amount": x,
            }
            for v, acc, fpt, inst, psn, x in zip(
                pv.tolist(),
                postings.account[lo:hi].tolist(),
                postings.fund_pay_type[lo:hi].tolist(),
                f.inst[pv].tolist(),
                leg_psn[lo:hi].tolist(),
                postings.amount[lo:hi].tolist(),
                strict=True,
            )
        ]

    chunked(engine, LedgerPosting, int(postings.visit.size), legs, progress, "分录 postings")
    sync_sequence(engine, LedgerEntry)  # before any entry that takes its id from the sequence
    return int(postings.amount.size)
