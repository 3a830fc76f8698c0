"""Build the synthetic region in the store (生成示例市): population, a year of settled claims, Parquet.

Everything derives from the seed, including ids and times, so the same seed gives the same database
(:mod:`yibao.synth.digest`). Settlements go through the batch kernel and are stored with setldetail,
accumulators, account balances and balanced ledger postings, so `yibao ledger check` agrees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, text

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.funds import ledger
from yibao.money import fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import EPOCH_ORD, BatchInput, run_batch
from yibao.settlement.bulk import deltas, detail_arrays, posting_arrays
from yibao.settlement.lines import NO_CAP, LineArrays
from yibao.settlement.record import clr_type_for
from yibao.settlement.result import SETLINFO_AMOUNTS, SETLINFO_ORDER
from yibao.settlement.tiers import chain_columns
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Accumulator,
    AccumulatorYear,
    CatalogueItem,
    ChronicRegistration,
    ClinicalCode,
    Employer,
    Enrollment,
    FeeLine,
    Identity,
    Institution,
    LedgerEntry,
    LedgerPosting,
    MessageLog,
    Person,
    PersonalAccount,
    Practitioner,
    Region,
    Settlement,
    SettlementDetail,
    SupplementaryEnrollment,
    Visit,
)
from yibao.synth import claims as claims_mod
from yibao.synth import population as pop_mod
from yibao.synth.params import Params

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CHUNK = 5_000
# generated data, children first (the order to delete in)
GENERATED = (
    LedgerPosting,
    LedgerEntry,
    SettlementDetail,
    FeeLine,
    Settlement,
    MessageLog,
    Accumulator,
    AccumulatorYear,
    Visit,
    PersonalAccount,
    SupplementaryEnrollment,
    ChronicRegistration,
    Identity,
    Enrollment,
    Person,
    Employer,
)


@dataclass
class BuildReport:
    persons: int
    visits: int
    lines: int
    settlements: int
    postings: int
    seconds: float
    fund_pay: int
    parquet: Path | None


def supported_years(bundle: PolicyBundle) -> set[int]:
    """Years whose every day has a policy version in force."""
    first = bundle.policies[0].effective_from.year
    return {
        y
        for y in range(first, first + 30)
        if bundle.version_index(date(y, 1, 1)) is not None
        and bundle.version_index(date(y, 12, 31)) is not None
    }


def _noop(stage: str, done: int, total: int) -> None:
    pass


def holds_data(engine: Engine) -> bool:
    with unit_of_work(engine, write=False) as s:
        return bool(s.scalar(select(func.count()).select_from(Person)))


def clear_generated(engine: Engine) -> None:
    """Remove persons and everything that hangs off them; reference data and staff users stay."""
    with unit_of_work(engine) as s:
        for table in GENERATED:
            s.execute(delete(table))
        audit.record(
            s,
            actor="yibao demo",
            action=Action.REPLACE,
            entity="region",
            entity_id="synthetic",
            after={"cleared": [t.__tablename__ for t in GENERATED]},
        )


def load_reference(engine: Engine, rng: np.random.Generator, admdvs: str) -> claims_mod.Reference:
    with unit_of_work(engine) as s:
        inst = s.execute(
            select(
                Institution.fixmedins_code,
                Institution.dedc_hosp_lv,
                Institution.fixmedins_type,
                Institution.beds,
            )
            .where(Institution.status == "active")
            .order_by(Institution.fixmedins_code)
        ).all()
        items = s.execute(
            select(
                CatalogueItem.med_list_codg,
                CatalogueItem.med_chrgitm_type,
                CatalogueItem.pric,
                CatalogueItem.chrgitm_lv,
                CatalogueItem.selfpay_prop,
                CatalogueItem.pric_uplmt_amt,
                CatalogueItem.lmt_used_flag,
            ).order_by(CatalogueItem.med_list_codg)
        ).all()
        codes = (
            s.execute(
                select(ClinicalCode.code)
                .where(ClinicalCode.system == "icd10", ClinicalCode.grey_flag == "0")
                .order_by(ClinicalCode.code)
            )
            .scalars()
            .all()
        )
        if not inst or not items or not codes:
            raise InputError(
                "数据库中没有示例市的机构、目录或诊断编码：请先运行 yibao region load (load the region first)"
            )
        doctors = _ensure_doctors(s, rng, inst, admdvs)
    dx: dict[str, list[str]] = {}
    for c in codes:
        dx.setdefault(c[:3], []).append(c)
    pric = np.array([it.pric or 50_000_000 for it in items], dtype=np.int64)
    return claims_mod.Reference(
        inst_code=np.array([i.fixmedins_code for i in inst]),
        inst_level=np.array([i.dedc_hosp_lv for i in inst]),
        inst_pharmacy=np.array([i.fixmedins_type == "2" for i in inst]),
        item_code=np.array([it.med_list_codg for it in items]),
        item_type=np.array([it.med_chrgitm_type or "14" for it in items]),
        item_pric=pric,
        item_lv=np.array([int(it.chrgitm_lv) for it in items]),
        item_selfpay=np.array(
            [it.selfpay_prop if it.chrgitm_lv == "02" else 0 for it in items], dtype=np.int64
        ),
        item_cap=np.array(
            [it.pric_uplmt_amt if it.pric_uplmt_amt else NO_CAP for it in items], dtype=np.int64
        ),
        item_lmt=np.array([int(it.lmt_used_flag or 0) for it in items]),
        dx_codes=dx,
        doctors=doctors,
    )


def _ensure_doctors(session, rng, inst, admdvs: str) -> dict[str, list[str]]:
    """医保医师 for every hospital (created once, by beds), so every visit names its doctor."""
    have = session.execute(
        select(Practitioner.fixmedins_code, Practitioner.prac_code).where(Practitioner.prac_type == "doctor")
    ).all()
    doctors: dict[str, list[str]] = {}
    for code, prac in have:
        doctors.setdefault(code, []).append(prac)
    rows = []
    for i in inst:
        if i.fixmedins_type == "2" or i.fixmedins_code in doctors:
            continue
        k = max(3, (i.beds or 30) // 15)
        base = int(i.fixmedins_code[-5:]) * 1000
        names = [f"医师{base + j}" for j in range(k)]
        codes = [f"D{i.fixmedins_code[1:7]}{(base + j) % 1_000_000:06d}" for j in range(k)]
        doctors[i.fixmedins_code] = codes
        rows += [
            {
                "prac_code": c,
                "prac_name": n,
                "prac_type": "doctor",
                "fixmedins_code": i.fixmedins_code,
                "status": "active",
            }
            for c, n in zip(codes, names, strict=True)
        ]
    if rows:
        session.execute(insert(Practitioner), rows)
    return doctors


def _bulk(engine: Engine, table, rows: list[dict], progress: Progress, stage: str) -> None:
    for k in range(0, len(rows), CHUNK):
        with engine.begin() as conn:
            conn.execute(insert(table), rows[k : k + CHUNK])
        progress(stage, min(k + CHUNK, len(rows)), len(rows))


def _day(d64) -> date:
    return date.fromordinal(int(d64.astype("datetime64[D]").astype(np.int64)) + EPOCH_ORD)


def build(
    engine: Engine,
    bundle: PolicyBundle,
    params: Params,
    *,
    admdvs: str,
    districts: list[tuple[str, int]],
    data_dir: Path | None = None,
    progress: Progress = _noop,
) -> BuildReport:
    t0 = time.perf_counter()
    params.validate(supported_years(bundle))
    rng = np.random.default_rng(params.seed)
    ref = load_reference(engine, rng, admdvs)
    pop = pop_mod.generate(rng, params, districts, admdvs)
    progress("人口 persons", len(pop), len(pop))
    cl = claims_mod.generate(rng, params, pop, ref)
    progress("就诊 visits", len(cl), len(cl))
    batch = _batch_input(bundle, params, pop, cl, ref)
    result = run_batch(bundle, batch)
    progress("结算 settlement (kernel)", len(cl), len(cl))
    _write_people(engine, params, pop, progress)
    _write_census(engine, params, pop, districts)
    stats = _write_claims(engine, bundle, params, pop, cl, ref, batch, result, admdvs, progress)
    parquet = _write_parquet(data_dir, params, pop, cl, ref, result) if data_dir else None
    with unit_of_work(engine) as s:
        audit.record(
            s,
            actor="yibao demo",
            action=Action.GENERATE,
            entity="region",
            entity_id=admdvs,
            after={
                "persons": params.persons,
                "year": params.year,
                "seed": params.seed,
                "visits": len(cl),
                "fund_pay": fmt_fen(stats["fund_pay"]),
                "policy": bundle.hash[:12],
            },
        )
    return BuildReport(
        persons=len(pop),
        visits=len(cl),
        lines=int(cl.line_visit.size),
        settlements=len(cl),
        postings=stats["postings"],
        seconds=time.perf_counter() - t0,
        fund_pay=stats["fund_pay"],
        parquet=parquet,
    )


def _write_census(engine: Engine, p: Params, pop, districts: list[tuple[str, int]]) -> None:
    """A census matching the generated population: each district's residents are its generated persons
    (all insured) plus the uninsured, so 参保率 is near ``coverage_share`` rather than a few persons
    against the real-size census of region.yaml. Its own random stream leaves the rest of the region as is."""
    rng = np.random.default_rng([p.seed, 2020])
    codes, counts = np.unique(pop.district, return_counts=True)
    insured = dict(zip(codes.tolist(), counts.tolist(), strict=True))
    with unit_of_work(engine) as s:
        for code, _ in districts:
            share = min(max(p.coverage_share + rng.uniform(-0.015, 0.015), 0.01), 1.0)
            row = s.get(Region, code)
            if row is not None:
                row.population = int(np.ceil(insured.get(code, 0) / share))


def _batch_input(bundle: PolicyBundle, p: Params, pop, cl, ref) -> BatchInput:
    day = cl.day.astype("datetime64[D]").astype(np.int64)
    ver_of_day = np.searchsorted(bundle.starts - EPOCH_ORD, day, side="right") - 1
    ins_idx = {c: i for i, c in enumerate(bundle.insutypes)}
    ins = np.array([ins_idx[c] for c in pop.insutype])[cl.person]
    cats = {
        (i, t): bundle.category_index(i, t)
        for i, t in set(zip(pop.insutype.tolist(), pop.psn_type.tolist(), strict=True))
    }
    cat = np.array([cats[(i, t)] for i, t in zip(pop.insutype.tolist(), pop.psn_type.tolist(), strict=True)])[
        cl.person
    ]
    cls = np.array(
        [
            bundle.class_index(int(v), m)
            for v, m in zip(ver_of_day.tolist(), cl.med_type.tolist(), strict=True)
        ]
    )
    dis = np.array([-1 if not c else bundle.disease_index(c) for c in cl.opsp.tolist()])
    idmask = np.array([bundle.identity_mask([c]) if c else 0 for c in pop.identity])[cl.person]
    employee = pop.insutype == "310"
    acct_flag = np.where(employee[cl.person] & (cl.kind != claims_mod.INPAT), 1, 0)
    lines = LineArrays(
        cl.line_visit,
        cl.line_pric,
        cl.line_cnt,
        cl.line_amt,
        ref.item_lv[cl.line_item],
        ref.item_selfpay[cl.line_item],
        ref.item_cap[cl.line_item],
        ref.item_lmt[cl.line_item],
        cl.line_appr,
    )
    return BatchInput(
        person=cl.person,
        day=day,
        ver=ver_of_day,
        ins=ins,
        cls=cls,
        cat=cat,
        lvl=cl.level,
        dis=dis,
        idmask=idmask,
        sp_enrolled=pop.huiminbao[cl.person],
        acct_flag=acct_flag,
        has_account=employee,
        balance=pop.balance,
        lines=lines,
    )


def _write_people(engine: Engine, p: Params, pop, progress: Progress) -> None:
    year_start = date(p.year, 1, 1)
    brdy = [_day(b) for b in pop.brdy]
    _bulk(engine, Employer, [{**e, "status": "active"} for e in pop.employers], progress, "单位 employers")
    _bulk(
        engine,
        Person,
        [
            {
                "psn_no": pop.psn_no[i],
                "psn_cert_type": "01",
                "certno": pop.certno[i],
                "psn_name": pop.name[i],
                "gend": "1" if pop.male[i] else "2",
                "brdy": brdy[i],
                "naty": "01",
                "admdvs": pop.district[i],
                "tel": None,
                "death_date": None,
            }
            for i in range(len(pop))
        ],
        progress,
        "参保人 persons",
    )
    emp = pop.employers
    _bulk(
        engine,
        Enrollment,
        [
            {
                "psn_no": pop.psn_no[i],
                "insutype": pop.insutype[i],
                "psn_type": pop.psn_type[i],
                "psn_insu_stas": "1",
                "begndate": max(brdy[i], date(2010, 1, 1)),
                "enddate": None,
                "paus_insu_date": None,
                "insuplc_admdvs": pop.district[i][:4] + "00",
                "emp_no": emp[pop.employer[i]]["emp_no"] if pop.employer[i] >= 0 else None,
                "emp_name": emp[pop.employer[i]]["emp_name"] if pop.employer[i] >= 0 else None,
                "cvlserv_flag": "0",
                "flxempe_flag": "0",
            }
            for i in range(len(pop))
        ],
        progress,
        "参保登记 enrollments",
    )
    _bulk(
        engine,
        Identity,
        [
            {
                "psn_no": pop.psn_no[i],
                "psn_idet_type": pop.identity[i],
                "psn_type_lv": None,
                "begntime": date(p.year - 2, 1, 1),
                "endtime": None,
                "memo": None,
            }
            for i in np.flatnonzero(pop.identity != "")
        ],
        progress,
        "人员身份 identities",
    )
    _bulk(
        engine,
        ChronicRegistration,
        [
            {
                "psn_no": pop.psn_no[i],
                "opsp_dise_code": c,
                "begndate": year_start - timedelta(days=400),
                "enddate": None,
                "status": "approved",
                "fixmedins_code": None,
            }
            for i, cs in enumerate(pop.chronic)
            for c in cs
        ],
        progress,
        "慢特病备案 chronic",
    )
    _bulk(
        engine,
        SupplementaryEnrollment,
        [
            {"psn_no": pop.psn_no[i], "year": p.year, "product": "huiminbao"}
            for i in np.flatnonzero(pop.huiminbao)
        ],
        progress,
        "惠民保 huiminbao",
    )


def _chunked(
    engine: Engine,
    table,
    total: int,
    rows_for: Callable[[int, int], list[dict]],
    progress: Progress,
    stage: str,
) -> None:
    """Insert ``total`` rows built a slice at a time (so a million persons never sit in memory as dicts)."""
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        with engine.begin() as conn:
            conn.execute(insert(table), rows_for(lo, hi))
        progress(stage, hi, total)


def _write_claims(engine, bundle, p, pop, cl, ref, batch, res, admdvs, progress) -> dict:
    n = len(cl)
    o, split = res.out, res.split
    yy = p.year % 100
    day0 = cl.day.astype("datetime64[D]")
    end_day = day0 + cl.los.astype("timedelta64[D]")
    # setl_time: the end day at 09:00 plus a deterministic offset, kept as numpy until a chunk needs it
    setl_time = (
        end_day.astype("datetime64[s]")
        + np.timedelta64(9 * 3600, "s")
        + (np.arange(n) % 28_800).astype("timedelta64[s]")
    )

    def mdtrt(k: int) -> str:
        return f"{admdvs}M{yy:02d}{k:010d}"

    def setl(k: int) -> str:
        return f"{admdvs}S{yy:02d}{k:010d}"

    psn_all, inst_all = pop.psn_no[cl.person], ref.inst_code[cl.inst]
    ins_all, ptype_all = pop.insutype[cl.person], pop.psn_type[cl.person]

    def visits(lo: int, hi: int) -> list[dict]:
        return [
            {
                "mdtrt_id": mdtrt(k),
                "psn_no": psn,
                "fixmedins_code": inst,
                "insutype": ins,
                "med_type": mt,
                "begntime": b.item() + timedelta(hours=8),
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
                psn_all[lo:hi].tolist(),
                inst_all[lo:hi].tolist(),
                ins_all[lo:hi].tolist(),
                cl.med_type[lo:hi].tolist(),
                day0[lo:hi].astype("datetime64[s]"),
                setl_time[lo:hi],
                cl.los[lo:hi].tolist(),
                cl.doctor[lo:hi].tolist(),
                cl.dise[lo:hi].tolist(),
                cl.opsp[lo:hi].tolist(),
                strict=True,
            )
        ]

    _chunked(engine, Visit, n, visits, progress, "就诊 visits")

    L = int(cl.line_visit.size)
    seq = np.arange(L) - np.searchsorted(cl.line_visit, cl.line_visit, side="left") + 1
    item = cl.line_item

    def lines(lo: int, hi: int) -> list[dict]:
        it = item[lo:hi]
        cols = zip(
            cl.line_visit[lo:hi].tolist(),
            seq[lo:hi].tolist(),
            ref.item_code[it].tolist(),
            ref.item_type[it].tolist(),
            cl.line_pric[lo:hi].tolist(),
            cl.line_cnt[lo:hi].tolist(),
            cl.line_amt[lo:hi].tolist(),
            ref.item_lv[it].tolist(),
            ref.item_selfpay[it].tolist(),
            ref.item_cap[it].tolist(),
            ref.item_lmt[it].tolist(),
            cl.line_appr[lo:hi].tolist(),
            split.ful[lo:hi].tolist(),
            split.over[lo:hi].tolist(),
            split.pre[lo:hi].tolist(),
            split.inscp[lo:hi].tolist(),
            strict=True,
        )
        return [
            {
                "mdtrt_id": mdtrt(v),
                "feedetl_sn": str(sq),
                "chrg_bchno": "1",
                "med_list_codg": code,
                "medins_list_codg": None,
                "med_chrgitm_type": typ,
                "fee_ocur_time": None,
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
                "setl_id": setl(v),
                "status": "settled",
            }
            for v, sq, code, typ, pr, ct, amt, lv, sp, cap, lmt, appr, ful, over, pre, inscp in cols
        ]

    _chunked(engine, FeeLine, L, lines, progress, "费用明细 fee lines")

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
        rows = []
        for j, k in enumerate(range(lo, hi)):
            los = int(cl.los[k])
            rows.append(
                {
                    "setl_id": setl(k),
                    "mdtrt_id": mdtrt(k),
                    "psn_no": str(psn_all[k]),
                    "fixmedins_code": str(inst_all[k]),
                    "insutype": str(ins_all[k]),
                    "psn_type": str(ptype_all[k]),
                    "med_type": str(cl.med_type[k]),
                    "setl_time": setl_time[k].item(),
                    "begndate": day0[k].item(),
                    "enddate": end_day[k].item() if los else None,
                    "year": p.year,
                    "dedc_hosp_lv": int(cl.level[k]),
                    **{key: a[key][j] for key in SETLINFO_ORDER},
                    "clr_type": clr_type_for(str(cl.med_type[k])),
                    "clr_way": "1",
                    "clr_optins": admdvs,
                    "refd_setl_flag": "0",
                    "orig_setl_id": None,
                    "reversed_by": None,
                    "mid_setl_flag": "0",
                    "medins_setl_id": None,
                    "policy_version": str(version[k]),
                    "policy_hash": bundle.hash,
                    # the trace as the names it was computed from (expanded by the console on demand)
                    "trace": {
                        "batch": {
                            "version": str(version[k]),
                            "insutype": str(ins_all[k]),
                            "class": str(klass[k]),
                            "psn_type": str(ptype_all[k]),
                            "level": int(cl.level[k]),
                            "disease": str(cl.opsp[k]) or None,
                            "ci_tilt": int(a["ci_tilt"][j]),
                            "sp_on": bool(a["sp_on"][j]),
                            "sp_tilt": bool(a["sp_tilt"][j]),
                            "assistance": acat[j] or None,
                        }
                    },
                    "accum_delta": dl[k],
                }
            )
        return rows

    _chunked(engine, Settlement, n, settlements, progress, "结算 settlements")
    d = detail_arrays(bundle, batch, res)

    def details(lo: int, hi: int) -> list[dict]:
        return [
            {
                "setl_id": setl(v),
                "fund_pay_type": f,
                "inscp_scp_amt": b,
                "crt_payb_lmt_amt": None if r < 0 else r,
                "fund_payamt": x,
                "setl_proc_info": None,
            }
            for v, f, b, r, x in zip(
                d.visit[lo:hi].tolist(),
                d.fund_pay_type[lo:hi].tolist(),
                d.base[lo:hi].tolist(),
                d.remaining[lo:hi].tolist(),
                d.amount[lo:hi].tolist(),
                strict=True,
            )
        ]

    _chunked(engine, SettlementDetail, int(d.visit.size), details, progress, "基金分项 setldetail")
    postings = posting_arrays(d, res)
    first_id = _next_id(engine, LedgerEntry)

    def entries(lo: int, hi: int) -> list[dict]:
        return [
            {
                "id": first_id + k,
                "entry_type": "settlement",
                "setl_id": setl(k),
                "fixmedins_code": inst,
                "psn_no": psn,
                "posted_at": st.item(),
                "book_date": st.item().date(),
                "memo": None,
            }
            for k, inst, psn, st in zip(
                range(lo, hi),
                inst_all[lo:hi].tolist(),
                psn_all[lo:hi].tolist(),
                setl_time[lo:hi],
                strict=True,
            )
        ]

    _chunked(engine, LedgerEntry, n, entries, progress, "凭证 ledger entries")

    def legs(lo: int, hi: int) -> list[dict]:
        pv = postings.visit[lo:hi]
        return [
            {
                "entry_id": first_id + v,
                "account": acc,
                "fund_pay_type": f or None,
                "fixmedins_code": inst,
                "psn_no": psn,
                "amount": x,
            }
            for v, acc, f, inst, psn, x in zip(
                pv.tolist(),
                postings.account[lo:hi].tolist(),
                postings.fund_pay_type[lo:hi].tolist(),
                inst_all[pv].tolist(),
                psn_all[pv].tolist(),
                postings.amount[lo:hi].tolist(),
                strict=True,
            )
        ]

    _chunked(engine, LedgerPosting, int(postings.visit.size), legs, progress, "分录 postings")
    _sync_sequence(engine, LedgerEntry)  # before any entry that takes its id from the sequence
    _write_opening_balances(engine, p, pop, progress)
    _write_accumulators(engine, bundle, pop, res, progress)
    final = res.state.bal
    employees = np.flatnonzero(pop.insutype == "310")
    _chunked(
        engine,
        PersonalAccount,
        int(employees.size),
        lambda lo, hi: [
            {"psn_no": str(pop.psn_no[i]), "balance": int(final[i]), "status": "active"}
            for i in employees[lo:hi]
        ],
        progress,
        "个人账户 accounts",
    )
    return {"fund_pay": int(o.account.fund_pay_sumamt.sum()), "postings": int(postings.amount.size)}


def _write_opening_balances(engine: Engine, p: Params, pop, progress: Progress) -> None:
    """The accounts' balances on 1 January, as one opening entry: the ledger then proves every balance."""
    owners = np.flatnonzero((pop.insutype == "310") & (pop.balance > 0))
    when = datetime(p.year - 1, 12, 31)
    with engine.begin() as conn:
        entry = conn.execute(
            insert(LedgerEntry)
            .values(entry_type="opening", posted_at=when, book_date=when.date(), memo="期初余额")
            .returning(LedgerEntry.id)
        ).scalar_one()
        conn.execute(
            insert(LedgerPosting),
            [
                {
                    "entry_id": entry,
                    "account": ledger.OPENING_BALANCE,
                    "fund_pay_type": None,
                    "fixmedins_code": None,
                    "psn_no": None,
                    "amount": int(pop.balance[owners].sum()),
                }
            ],
        )
    _chunked(
        engine,
        LedgerPosting,
        int(owners.size),
        lambda lo, hi: [
            {
                "entry_id": entry,
                "account": ledger.PERSONAL_ACCOUNT,
                "fund_pay_type": "310200",
                "fixmedins_code": None,
                "psn_no": str(pop.psn_no[i]),
                "amount": -int(pop.balance[i]),
            }
            for i in owners[lo:hi]
        ],
        progress,
        "期初余额 opening balances",
    )


def _next_id(engine: Engine, table) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.coalesce(func.max(table.id), 0))).scalar()) + 1


def _sync_sequence(engine: Engine, table) -> None:
    """Explicit ids bypass PostgreSQL's sequence: move it past them so online inserts do not collide."""
    if engine.dialect.name != "postgresql":
        return
    name = table.__tablename__
    with engine.begin() as c:
        c.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {name}))"
            )
        )


def _write_accumulators(engine, bundle, pop, res, progress) -> None:
    headers, values = [], []
    for slot, (person, year, ins) in enumerate(res.slot_keys.tolist()):
        named = res.state.slot_values(bundle, slot)
        if not named:
            continue
        psn, ins_code = str(pop.psn_no[person]), bundle.insutypes[ins]
        headers.append({"psn_no": psn, "year": year, "insutype": ins_code, "revision": 1})
        values += [
            {"psn_no": psn, "year": year, "insutype": ins_code, "acc_key": k, "value": v}
            for k, v in named.items()
        ]
    _bulk(engine, AccumulatorYear, headers, progress, "累计 accumulator years")
    _bulk(engine, Accumulator, values, progress, "累计 accumulators")


def _write_parquet(data_dir: Path, p: Params, pop, cl, ref, res) -> Path:
    """Claims for analytics: one row per settlement, partitioned by month (data/claims/year=…/month=…)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    target = Path(data_dir) / "claims"
    month = cl.day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    o = res.out
    table = pa.table(
        {
            "mdtrt_seq": np.arange(len(cl)),
            "psn_no": pop.psn_no[cl.person],
            "fixmedins_code": ref.inst_code[cl.inst],
            "dedc_hosp_lv": cl.level,
            "med_type": cl.med_type,
            "insutype": pop.insutype[cl.person],
            "psn_type": pop.psn_type[cl.person],
            "dise_codg": cl.dise,
            "begndate": cl.day.astype("datetime64[D]"),
            "los": cl.los,
            **{k: res.sums[k] for k in res.sums},
            **{k: v for k, v in chain_columns(o).items() if k in SETLINFO_AMOUNTS},  # (not the ratio)
            "year": np.full(len(cl), p.year),
            "month": month,
        }
    )
    ds.write_dataset(
        table,
        target,
        format="parquet",
        partitioning=["year", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
    )
    lines = pa.table(
        {
            "mdtrt_seq": cl.line_visit,
            "med_list_codg": ref.item_code[cl.line_item],
            "pric": cl.line_pric,
            "cnt": cl.line_cnt,
            "det_item_fee_sumamt": cl.line_amt,
            "fulamt_ownpay_amt": res.split.ful,
            "overlmt_amt": res.split.over,
            "preselfpay_amt": res.split.pre,
            "inscp_scp_amt": res.split.inscp,
            "year": np.full(cl.line_visit.size, p.year),
            "month": month[cl.line_visit],
        }
    )
    ds.write_dataset(
        lines,
        Path(data_dir) / "claim_lines",
        format="parquet",
        partitioning=["year", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
    )
    return target
