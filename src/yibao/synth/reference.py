"""What the generator draws from, read from the store (参考数据): institutions, catalogue, diagnosis codes, and
the 医保医师 of every hospital (created once, by beds, so that every visit names its doctor)."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import Engine, insert, select

from yibao.errors import InputError
from yibao.payment.packs import load_drg_pack, registered_schemes
from yibao.payment.settlement_list import drg_scheme_on
from yibao.settlement.lines import NO_CAP
from yibao.store.db import unit_of_work
from yibao.store.tables import CatalogueItem, ClinicalCode, Institution, Practitioner
from yibao.synth import coding
from yibao.synth.claims import Reference


def load_reference(engine: Engine, rng: np.random.Generator, admdvs: str, year: int) -> Reference:
    """The reference data, and the coding pools of the DRG scheme in effect at the year's end (the scheme
    that groups the year's lists; none: admissions keep a plain diagnosis)."""
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
        named = s.execute(
            select(ClinicalCode.system, ClinicalCode.code, ClinicalCode.name)
            .where(ClinicalCode.grey_flag == "0")
            .order_by(ClinicalCode.system, ClinicalCode.code)
        ).all()
        codes = [c for system, c, _ in named if system == "icd10"]
        if not inst or not items or not codes:
            raise InputError(
                "数据库中没有示例市的机构、目录或诊断编码：请先运行 yibao region load (load the region first)"
            )
        doctors = _ensure_doctors(s, rng, inst, admdvs)
    dx: dict[str, list[str]] = {}
    for c in codes:
        dx.setdefault(c[:3], []).append(c)
    pric = np.array([it.pric or 50_000_000 for it in items], dtype=np.int64)
    return Reference(
        inst_code=np.array([i.fixmedins_code for i in inst]),
        inst_level=np.array([i.dedc_hosp_lv for i in inst]),
        inst_pharmacy=np.array([i.fixmedins_type == "2" for i in inst]),
        inst_wards=np.array([bool(i.beds) for i in inst]),
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
        code_names={(system, c): name for system, c, name in named},
        coder=_coder(year, codes, [c for system, c, _ in named if system == "icd9cm3"]),
    )


def _coder(year: int, dx: list[str], px: list[str]) -> coding.Coder | None:
    scheme = drg_scheme_on(registered_schemes(), date(year, 12, 31))
    if scheme is None:
        return None
    coder = coding.prepare(load_drg_pack(scheme.name), dx, px)
    return coder if coder.mix else None  # (a region whose code table names none of the mix's codes)


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
