"""Writing the people (参保人写库): employers, persons, their enrollments with the history planned for them,
identities, 慢特病 registrations, 惠民保, and a census that matches them. A 转入's 职工 enrollment is not written
here: the transfer makes it (:mod:`yibao.synth.events`)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import Engine

from yibao.store.db import unit_of_work
from yibao.store.tables import (
    ChronicRegistration,
    Employer,
    Enrollment,
    Identity,
    Person,
    Region,
    SupplementaryEnrollment,
)
from yibao.synth.history import History
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.store import Progress, bulk, day


def insuplc(district: str) -> str:
    return district[:4] + "00"


def write_people(engine: Engine, p: Params, pop: Population, past: History, progress: Progress) -> None:
    brdy = [day(b) for b in pop.brdy]
    bulk(engine, Employer, [{**e, "status": "active"} for e in pop.employers], progress, "单位 employers")
    persons = [_person(pop, i, brdy[i]) for i in range(len(pop))]
    bulk(engine, Person, persons, progress, "参保人 persons")
    _write_enrollments(engine, pop, past, progress)
    _write_facts(engine, p, pop, progress)


def _person(pop: Population, i: int, brdy: date) -> dict:
    return {
        "psn_no": str(pop.psn_no[i]),
        "psn_cert_type": "01",
        "certno": str(pop.certno[i]),
        "psn_name": pop.name[i],
        "gend": "1" if pop.male[i] else "2",
        "brdy": brdy,
        "naty": "01",
        "admdvs": pop.district[i],
        "tel": None,
        "death_date": None,
    }


def _enrollment(psn_no: str, insutype: str, psn_type: str, begndate: date, district: str, **more) -> dict:
    return {
        "psn_no": psn_no,
        "insutype": insutype,
        "psn_type": psn_type,
        "psn_insu_stas": "1",
        "begndate": begndate,
        "enddate": None,
        "paus_insu_date": None,
        "insuplc_admdvs": insuplc(district),
        "emp_no": None,
        "emp_name": None,
        "cvlserv_flag": "0",
        "flxempe_flag": "0",
        "contrib_months": 0,
        **more,
    }


def _write_enrollments(engine: Engine, pop: Population, past: History, progress: Progress) -> None:
    """Each person's basic enrollment (but a 转入's) and the 居民 enrollments 职工 kept."""
    emp = pop.employers
    arriving = set(past.transfer_in.tolist())
    rows = []
    for i in range(len(pop)):
        if i in arriving:
            continue
        e = int(pop.employer[i])
        rows.append(
            _enrollment(
                str(pop.psn_no[i]),
                str(pop.insutype[i]),
                str(pop.psn_type[i]),
                day(past.begndate[i]),
                str(pop.district[i]),
                emp_no=emp[e]["emp_no"] if e >= 0 else None,
                emp_name=emp[e]["emp_name"] if e >= 0 else None,
                contrib_months=int(past.contrib_months[i]) if pop.insutype[i] == "310" else 0,
            )
        )
    rows += [
        _enrollment(str(pop.psn_no[i]), "390", "15", day(b), str(pop.district[i]))
        for i, b in zip(past.overlap.tolist(), past.overlap_begndate, strict=True)
    ]
    bulk(engine, Enrollment, rows, progress, "参保登记 enrollments")


def _write_facts(engine: Engine, p: Params, pop: Population, progress: Progress) -> None:
    """人员身份, 慢特病备案 and 惠民保: what settlement reads about a person besides the enrollment."""
    year_start = date(p.year, 1, 1)
    bulk(
        engine,
        Identity,
        [
            {
                "psn_no": pop.psn_no[i],
                "psn_idet_type": pop.identity[i],
                "psn_type_lv": None,
                "begntime": max(date(p.year - 2, 1, 1), day(pop.brdy[i])),
                "endtime": None,
                "memo": None,
            }
            for i in np.flatnonzero(pop.identity != "")
        ],
        progress,
        "人员身份 identities",
    )
    bulk(
        engine,
        ChronicRegistration,
        [
            {
                "psn_no": pop.psn_no[i],
                "opsp_dise_code": c,
                "begndate": max(year_start - timedelta(days=400), day(pop.brdy[i])),
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
    bulk(
        engine,
        SupplementaryEnrollment,
        [
            {"psn_no": pop.psn_no[i], "year": p.year, "product": "huiminbao"}
            for i in np.flatnonzero(pop.huiminbao)
        ],
        progress,
        "惠民保 huiminbao",
    )


def write_census(engine: Engine, p: Params, pop: Population, districts: list[tuple[str, int]]) -> None:
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
