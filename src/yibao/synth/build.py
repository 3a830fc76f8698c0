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

from yibao.errors import InputError
from yibao.money import fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import EPOCH_ORD, BatchInput, run_batch
from yibao.settlement.bulk import deltas, detail_arrays, posting_arrays
from yibao.settlement.lines import NO_CAP, LineArrays
from yibao.settlement.record import clr_type_for
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
            action="replace",
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
    stats = _write_claims(engine, bundle, params, pop, cl, ref, batch, result, admdvs, progress)
    parquet = _write_parquet(data_dir, params, pop, cl, ref, result) if data_dir else None
    with unit_of_work(engine) as s:
        audit.record(
            s,
            actor="yibao demo",
            action="generate",
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


def _write_claims(engine, bundle, p, pop, cl, ref, batch, res, admdvs, progress) -> dict:
    n = len(cl)
    o, sums, split = res.out, res.sums, res.split
    yy = p.year % 100
    mdtrt = [f"{admdvs}M{yy:02d}{k:010d}" for k in range(n)]
    setl = [f"{admdvs}S{yy:02d}{k:010d}" for k in range(n)]
    psn = pop.psn_no[cl.person].tolist()
    inst = ref.inst_code[cl.inst].tolist()
    begin = [_day(d) for d in cl.day]
    end = [b + timedelta(days=int(los)) for b, los in zip(begin, cl.los.tolist(), strict=True)]
    setl_time = [
        datetime.combine(e, datetime.min.time()) + timedelta(hours=9, seconds=k % 28_800)
        for k, e in enumerate(end)
    ]
    ins_codes = pop.insutype[cl.person].tolist()
    psn_types = pop.psn_type[cl.person].tolist()
    _bulk(
        engine,
        Visit,
        [
            {
                "mdtrt_id": mdtrt[k],
                "psn_no": psn[k],
                "fixmedins_code": inst[k],
                "insutype": ins_codes[k],
                "med_type": cl.med_type[k],
                "begntime": datetime.combine(begin[k], datetime.min.time()) + timedelta(hours=8),
                "endtime": setl_time[k] if cl.los[k] else None,
                "dept_code": None,
                "atddr_no": cl.doctor[k] or None,
                "dise_codg": cl.dise[k],
                "dise_name": None,
                "opsp_dise_code": cl.opsp[k] or None,
                "oprn_codg": None,
                "status": "settled",
                "dscg_way": "1" if cl.los[k] else None,
                "extra": None,
            }
            for k in range(n)
        ],
        progress,
        "就诊 visits",
    )
    lv = cl.line_visit.tolist()
    items = ref.item_code[cl.line_item].tolist()
    item_lv = ref.item_lv[cl.line_item].tolist()
    sp = ref.item_selfpay[cl.line_item].tolist()
    cap = ref.item_cap[cl.line_item].tolist()
    lmt = ref.item_lmt[cl.line_item].tolist()
    types = ref.item_type[cl.line_item].tolist()
    cols = [
        x.tolist()
        for x in (
            cl.line_pric,
            cl.line_cnt,
            cl.line_amt,
            cl.line_appr,
            split.ful,
            split.over,
            split.pre,
            split.inscp,
        )
    ]
    seq = np.arange(lv.__len__()) - np.searchsorted(cl.line_visit, cl.line_visit, side="left")
    seq = seq.tolist()
    _bulk(
        engine,
        FeeLine,
        [
            {
                "mdtrt_id": mdtrt[v],
                "feedetl_sn": str(seq[j] + 1),
                "chrg_bchno": "1",
                "med_list_codg": items[j],
                "medins_list_codg": None,
                "med_chrgitm_type": types[j],
                "fee_ocur_time": None,
                "pric": cols[0][j],
                "cnt": cols[1][j],
                "det_item_fee_sumamt": cols[2][j],
                "chrgitm_lv": f"{item_lv[j]:02d}",
                "selfpay_prop": sp[j],
                "pric_uplmt_amt": None if cap[j] < 0 else cap[j],
                "lmt_used_flag": str(lmt[j]),
                "hosp_appr_flag": str(cols[3][j]),
                "fulamt_ownpay_amt": cols[4][j],
                "overlmt_amt": cols[5][j],
                "preselfpay_amt": cols[6][j],
                "inscp_scp_amt": cols[7][j],
                "bilg_dr_codg": None,
                "setl_id": setl[v],
                "status": "settled",
            }
            for j, v in enumerate(lv)
        ],
        progress,
        "费用明细 fee lines",
    )
    dl = deltas(bundle, batch, res)
    amount_cols = {k: v.tolist() for k, v in sums.items()}
    for k in (
        "act_pay_dedc",
        "hifp_pay",
        "hifob_pay",
        "hifmi_pay",
        "oth_pay",
        "maf_pay",
        "fund_pay_sumamt",
        "psn_part_amt",
        "acct_pay",
        "acct_mulaid_pay",
        "psn_cash_pay",
        "balc",
        "ratio",
        "ci_tilt",
        "sp_tilt",
        "sp_on",
        "acat",
    ):
        amount_cols[k] = o[k].tolist()
    version = [bundle.versions[v] for v in batch.ver.tolist()]
    klass = [bundle.classes[c] for c in batch.cls.tolist()]
    rows = []
    for k in range(n):
        a = amount_cols
        rows.append(
            {
                "setl_id": setl[k],
                "mdtrt_id": mdtrt[k],
                "psn_no": psn[k],
                "fixmedins_code": inst[k],
                "insutype": ins_codes[k],
                "psn_type": psn_types[k],
                "med_type": cl.med_type[k],
                "setl_time": setl_time[k],
                "begndate": begin[k],
                "enddate": end[k] if cl.los[k] else None,
                "year": p.year,
                "dedc_hosp_lv": int(cl.level[k]),
                "medfee_sumamt": a["medfee_sumamt"][k],
                "fulamt_ownpay_amt": a["fulamt_ownpay_amt"][k],
                "overlmt_selfpay": a["overlmt_selfpay"][k],
                "preselfpay_amt": a["preselfpay_amt"][k],
                "inscp_scp_amt": a["inscp_scp_amt"][k],
                "act_pay_dedc": a["act_pay_dedc"][k],
                "hifp_pay": a["hifp_pay"][k],
                "pool_prop_selfpay": a["ratio"][k],
                "cvlserv_pay": 0,
                "hifes_pay": 0,
                "hifmi_pay": a["hifmi_pay"][k],
                "hifob_pay": a["hifob_pay"][k],
                "hifdm_pay": 0,
                "maf_pay": a["maf_pay"][k],
                "oth_pay": a["oth_pay"][k],
                "fund_pay_sumamt": a["fund_pay_sumamt"][k],
                "psn_part_amt": a["psn_part_amt"][k],
                "acct_pay": a["acct_pay"][k],
                "acct_mulaid_pay": a["acct_mulaid_pay"][k],
                "psn_cash_pay": a["psn_cash_pay"][k],
                "hosp_part_amt": 0,
                "balc": a["balc"][k],
                "clr_type": clr_type_for(cl.med_type[k]),
                "clr_way": "1",
                "clr_optins": admdvs,
                "refd_setl_flag": "0",
                "orig_setl_id": None,
                "reversed_by": None,
                "mid_setl_flag": "0",
                "medins_setl_id": None,
                "policy_version": version[k],
                "policy_hash": bundle.hash,
                # the trace as the names it was computed from (expanded by the console on demand)
                "trace": {
                    "batch": {
                        "version": version[k],
                        "insutype": ins_codes[k],
                        "class": klass[k],
                        "psn_type": psn_types[k],
                        "level": int(cl.level[k]),
                        "disease": cl.opsp[k] or None,
                        "ci_tilt": bool(a["ci_tilt"][k]),
                        "sp_on": bool(a["sp_on"][k]),
                        "sp_tilt": bool(a["sp_tilt"][k]),
                        "assistance": bundle.assistance_codes[a["acat"][k]] if a["acat"][k] >= 0 else None,
                    }
                },
                "accum_delta": dl[k],
            }
        )
    _bulk(engine, Settlement, rows, progress, "结算 settlements")
    del rows
    d = detail_arrays(bundle, batch, res)
    dv = d.visit.tolist()
    _bulk(
        engine,
        SettlementDetail,
        [
            {
                "setl_id": setl[v],
                "fund_pay_type": f,
                "inscp_scp_amt": b,
                "crt_payb_lmt_amt": None if r < 0 else r,
                "fund_payamt": x,
                "setl_proc_info": None,
            }
            for v, f, b, r, x in zip(
                dv,
                d.fund_pay_type.tolist(),
                d.base.tolist(),
                d.remaining.tolist(),
                d.amount.tolist(),
                strict=True,
            )
        ],
        progress,
        "基金分项 setldetail",
    )
    postings = posting_arrays(d, res)
    first_id = _next_id(engine, LedgerEntry)
    _bulk(
        engine,
        LedgerEntry,
        [
            {
                "id": first_id + k,
                "entry_type": "settlement",
                "setl_id": setl[k],
                "fixmedins_code": inst[k],
                "psn_no": psn[k],
                "posted_at": setl_time[k],
                "book_date": setl_time[k].date(),
                "memo": None,
            }
            for k in range(n)
        ],
        progress,
        "凭证 ledger entries",
    )
    pv = postings.visit.tolist()
    owner = [psn[v] for v in pv]
    _bulk(
        engine,
        LedgerPosting,
        [
            {
                "entry_id": first_id + v,
                "account": a,
                "fund_pay_type": f or None,
                "fixmedins_code": inst[v],
                "psn_no": owner[j],
                "amount": x,
            }
            for j, (v, a, f, x) in enumerate(
                zip(
                    pv,
                    postings.account.tolist(),
                    postings.fund_pay_type.tolist(),
                    postings.amount.tolist(),
                    strict=True,
                )
            )
        ],
        progress,
        "分录 postings",
    )
    _sync_sequence(engine, LedgerEntry)
    _write_accumulators(engine, bundle, pop, res, progress)
    final = res.state.bal
    _bulk(
        engine,
        PersonalAccount,
        [
            {"psn_no": pop.psn_no[i], "balance": int(final[i]), "status": "active"}
            for i in np.flatnonzero(pop.insutype == "310")
        ],
        progress,
        "个人账户 accounts",
    )
    return {"fund_pay": int(o["fund_pay_sumamt"].sum()), "postings": int(postings.amount.size)}


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
            **{
                k: o[k]
                for k in (
                    "act_pay_dedc",
                    "hifp_pay",
                    "hifob_pay",
                    "hifmi_pay",
                    "oth_pay",
                    "maf_pay",
                    "fund_pay_sumamt",
                    "psn_part_amt",
                    "acct_pay",
                    "psn_cash_pay",
                )
            },
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
