"""The honest year of the screening region (诚信基线): outpatient visits, stays with a region-wide influenza
winter, pharmacy purchases with a year-end spend-down, and the decoys supervision.md §12 asks for — hospitals
inside the flu surge, chemotherapy cycles with template bills, busy honest stores with queues, busy honest
doctors and heavy but regular patients. Vectorised: a region of 100,000 persons builds in seconds.
"""

from __future__ import annotations

import numpy as np

from yibao.synth.fraud_bills import chronic_units, otc_baskets, outpatient_lines, stay_lines
from yibao.synth.fraud_world import (
    CHEMO_DX,
    DAY_S,
    DEPT_P,
    DEPTS,
    DX_CODES,
    DX_FREQ,
    DX_LOS,
    FLU_DX,
    INPATIENT,
    OUT_DX,
    OUTPATIENT,
    PHARMACY,
    WINTER,
    Catalogue,
    Ledger,
    Register,
)

E4 = 10_000


def make_register(
    rng: np.random.Generator, year: int, persons: int, hospitals: int, pharmacies: int
) -> Register:
    grade = rng.choice([1, 2, 3], hospitals, p=[0.6, 0.3, 0.1])
    hw = np.array([0, 1.5, 4.0, 10.0])[grade] * rng.lognormal(0, 0.5, hospitals)
    pw = rng.lognormal(0, 0.6, pharmacies)
    code = np.array(
        [f"H9901{i:07d}" for i in range(1, hospitals + 1)]
        + [f"P9901{i:07d}" for i in range(1, pharmacies + 1)]
    )
    # outpatient doctors: about 20 visits a working day each (4 visits a person-year)
    daily = persons * 4.0 * hw / hw.sum() / 250
    n_docs = np.maximum(1, np.round(daily / 20)).astype(int)
    doc_inst = np.repeat(np.arange(hospitals), n_docs)
    n_doc = len(doc_inst)
    age = np.minimum(rng.gamma(3.0, 14.0, persons), 99).astype(int)
    day0 = np.datetime64(f"{year}-01-01").astype(np.int64)
    brdy = day0 - age * 365 - rng.integers(0, 365, persons)
    p_death = np.where(age >= 80, 0.05, np.where(age >= 60, 0.012, 0.002))
    death = np.where(rng.random(persons) < p_death, day0 + rng.integers(0, 365, persons), -1)
    return Register(
        year=year,
        inst_code=code,
        inst_type=np.array(["1"] * hospitals + ["2"] * pharmacies),
        inst_grade=np.concatenate([grade, np.zeros(pharmacies, int)]),
        inst_weight=np.concatenate([hw, pw]),
        doc_code=np.array([f"D{i:07d}" for i in range(1, n_doc + 1)]),
        doc_inst=doc_inst,
        doc_dept=DEPTS[rng.choice(len(DEPTS), n_doc, p=DEPT_P)],
        doc_weight=rng.lognormal(0, 0.3, n_doc),
        psn_no=np.array([f"P{i:09d}" for i in range(1, persons + 1)]),
        gend=rng.choice(np.array(["1", "2"]), persons),
        brdy=brdy,
        death=death,
        age=age,
    )


def year_days(reg: Register, weekend: float, season: float, year_end: float = 1.0) -> np.ndarray:
    """Relative weights of the year's days: weekend factor, winter season, the last 15 days of December."""
    days = np.arange(365) + reg.day0
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    w = np.where(weekday >= 5, weekend, 1.0) * (1 + season * np.cos(2 * np.pi * (np.arange(365) - 15) / 365))
    w[-15:] *= year_end
    return w / w.sum()


def pick_doctor(reg: Register, inst: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A doctor of each visit's hospital, in proportion to the doctors' weights."""
    cum = np.cumsum(reg.doc_weight)
    start = np.searchsorted(reg.doc_inst, inst, "left")
    stop = np.searchsorted(reg.doc_inst, inst, "right")
    lo = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    u = lo + rng.random(len(inst)) * (cum[stop - 1] - lo)
    return np.minimum(np.searchsorted(cum, u, "right"), stop - 1)


def clinic_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clinic hours 08:00–11:30 and 14:00–17:30, to the second."""
    m = rng.integers(0, 420 * 60, n)
    return np.where(m < 210 * 60, 8 * 3600 + m, 14 * 3600 + m - 210 * 60)


def outpatient(
    reg, ledger: Ledger, cat: Catalogue, rng, primary, n=None, persons=None, doctors=None
) -> np.ndarray:
    """Outpatient visits (门诊): persons weighted by age, 70 % at their usual hospital, weekday clinic hours."""
    if persons is None:
        rate = np.where(reg.age >= 60, 6.0, np.where(reg.age < 7, 5.0, 3.0)) * rng.gamma(
            2.0, 0.5, len(reg.age)
        )
        persons = rng.choice(len(rate), rng.poisson(rate.sum()), p=rate / rate.sum())
    hosp = reg.hospitals
    inst = np.where(
        rng.random(len(persons)) < 0.7,
        primary[persons],
        rng.choice(hosp, len(persons), p=reg.inst_weight[hosp] / reg.inst_weight[hosp].sum()),
    )
    doc = pick_doctor(reg, inst, rng) if doctors is None else doctors
    inst = reg.doc_inst[doc]
    day = reg.day0 + rng.choice(365, len(persons), p=year_days(reg, 0.3, 0.15))
    ts = day * DAY_S + clinic_seconds(rng, len(persons))
    dx = OUT_DX[rng.integers(0, len(OUT_DX), len(persons))]
    ids = ledger.add_visits(persons, inst, doc, OUTPATIENT, ts, 0, dx)
    outpatient_lines(ledger, cat, rng, ids, day)
    return ids


def hospital_mix(reg: Register, rng: np.random.Generator, flu_heavy: np.ndarray) -> np.ndarray:
    """Each hospital's joint probability of (diagnosis, month): its own case mix (gamma noise around the
    region's) times the region's winter for J11/J18/J44; flu-heavy hospitals see six times the respiratory share."""
    n_h = len(reg.hospitals)
    mix = DX_FREQ[None, :] * rng.gamma(4.0, 0.25, (n_h, len(DX_FREQ)))
    mix[:, CHEMO_DX] = 0.0
    mix[np.ix_(flu_heavy, FLU_DX)] *= 6.0
    season = np.ones((len(DX_FREQ), 12))
    season[FLU_DX] = WINTER
    joint = mix[:, :, None] * season[None, :, :]
    return joint / joint.sum(axis=(1, 2), keepdims=True)


def inpatient(reg: Register, ledger: Ledger, cat: Catalogue, rng, primary, mix) -> np.ndarray:
    """Stays (住院): persons by age, half at their usual hospital, half drawn to the larger ones; (diagnosis,
    month) from the hospital's mix; LOS lognormal around the diagnosis mean (CV 0.45)."""
    rate = np.where(reg.age >= 65, 0.4, np.where(reg.age >= 45, 0.2, 0.08))
    persons = rng.choice(len(rate), rng.poisson(rate.sum()), p=rate / rate.sum())
    hosp = reg.hospitals
    big = reg.inst_weight[hosp] ** 1.3
    inst = np.where(
        rng.random(len(persons)) < 0.5, primary[persons], rng.choice(hosp, len(persons), p=big / big.sum())
    )
    cell = np.empty(len(persons), np.int64)
    for h in np.unique(inst):
        sel = np.flatnonzero(inst == h)
        cell[sel] = rng.choice(mix.shape[1] * 12, len(sel), p=mix[h].ravel())
    dx, month = np.divmod(cell, 12)
    first = np.datetime64(f"{reg.year}-01", "M") + month
    start = first.astype("datetime64[D]").astype(np.int64)
    length = (first + 1).astype("datetime64[D]").astype(np.int64) - start
    day = start + (rng.random(len(cell)) * length).astype(np.int64)
    sigma = np.sqrt(np.log(1 + 0.45**2))
    los = np.maximum(1, np.round(rng.lognormal(np.log(DX_LOS[dx]) - sigma**2 / 2, sigma))).astype(np.int64)
    return stays(reg, ledger, cat, rng, persons, inst, day, los, dx)


def stays(reg, ledger, cat, rng, persons, inst, day, los, dx) -> np.ndarray:
    """Add stays with honest, varied bills."""
    doc = pick_doctor(reg, inst, rng)
    ts = day * DAY_S + rng.integers(8 * 3600, 20 * 3600, len(day))
    ids = ledger.add_visits(persons, inst, doc, INPATIENT, ts, los, DX_CODES[dx])
    stay_lines(ledger, cat, rng, ids, day, los, dx, reg.inst_grade[inst])
    return ids


def pharmacy(reg: Register, ledger: Ledger, cat: Catalogue, rng, primary, secondary) -> np.ndarray:
    """Store purchases (药店购药): 75 % at the usual store, open 08:00–21:00, more in the last 15 days of December
    (personal accounts spent down: the honest year-end rush every store sees)."""
    rate = np.where(reg.age >= 60, 4.5, 2.5) * rng.gamma(2.0, 0.5, len(reg.age))
    persons = rng.choice(len(rate), rng.poisson(rate.sum()), p=rate / rate.sum())
    u = rng.random(len(persons))
    ph = reg.pharmacies
    inst = np.where(
        u < 0.75,
        primary[persons],
        np.where(
            u < 0.9,
            secondary[persons],
            rng.choice(ph, len(persons), p=reg.inst_weight[ph] / reg.inst_weight[ph].sum()),
        ),
    )
    day = reg.day0 + rng.choice(365, len(persons), p=year_days(reg, 0.9, 0.05, year_end=1.5))
    ts = day * DAY_S + rng.integers(8 * 3600, 21 * 3600, len(persons))
    ids = ledger.add_visits(persons, inst, -1, PHARMACY, ts, 0, "")
    otc_baskets(ledger, cat, rng, ids, day)
    return ids


def chronic(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, persons, store, months: int = 1, drug=None
) -> np.ndarray:
    """Regular refills (慢病取药): every ~30 × ``months`` days each person buys ``months`` months of one chronic
    drug, a few days early or late."""
    if drug is None:
        drug = cat.groups["chronic"][rng.integers(0, len(cat.groups["chronic"]), len(persons))]
    gap = 30 * months
    n = np.full(len(persons), 365 // gap)
    who = np.repeat(np.arange(len(persons)), n)
    k = np.arange(len(who)) - np.repeat(np.cumsum(n) - n, n)
    day = reg.day0 + rng.integers(0, 28, len(persons))[who] + k * gap + rng.integers(-3, 4, len(who))
    keep = day < reg.day0 + 365
    who, day = who[keep], day[keep]
    ts = day * DAY_S + rng.integers(8 * 3600, 21 * 3600, len(who))
    ids = ledger.add_visits(persons[who], store[who], -1, PHARMACY, ts, 0, "")
    units = chronic_units(drug[who]) * months
    ledger.add_lines(ids, drug[who], day, (units * E4).astype(np.int64), cat)
    return ids


def clinic_queue(ledger: Ledger, rng, service_min: float = 2.0, service_mean: float = 3.0) -> None:
    """A doctor sees one patient at a time: each outpatient visit is settled when the doctor is free, after a
    consultation of ``service_min`` + Exp(``service_mean``) minutes (so an honest doctor's hour holds about
    12 visits at most, busy or not)."""
    ledger.compact()
    v = ledger.visits[0]
    sel = np.flatnonzero((v["kind"] == OUTPATIENT) & (v["doctor"] >= 0))
    day = v["ts"][sel] // DAY_S
    order = sel[np.lexsort((v["ts"][sel], day, v["doctor"][sel]))]
    group = v["doctor"][order] * 100_000 + v["ts"][order] // DAY_S
    start = np.r_[True, group[1:] != group[:-1]]
    service = ((service_min + rng.exponential(service_mean, len(order))) * 60).astype(np.int64)
    service[start] = 0
    cum = np.cumsum(service)
    cum -= np.repeat(cum[start], np.diff(np.r_[np.flatnonzero(start), len(order)]))
    # t_i = max(arrival_i, t_{i−1} + service_i) = cum_i + max_{j ≤ i, same group}(arrival_j − cum_j)
    lift = v["ts"][order] - cum + np.cumsum(start) * (1 << 40)
    settled = np.maximum.accumulate(lift) - np.cumsum(start) * (1 << 40) + cum
    v["ts"][order] = settled
