"""Decoys (干扰样本) of the screening region: honest units that look unusual on one signal, so that an evaluation
can check none reaches the investigators' list (supervision.md §12): chemotherapy cycles (fixed LOS, template
bills), busy stores with queues, busy doctors, and heavy but regular patients. The influenza-heavy hospitals
are a case mix (:func:`yibao.synth.fraud_base.hospital_mix`)."""

from __future__ import annotations

import numpy as np

from yibao.synth.fraud_base import chronic, clinic_seconds, outpatient, year_days
from yibao.synth.fraud_bills import otc_baskets, outpatient_lines, template_lines
from yibao.synth.fraud_world import (
    CHEMO_DX,
    DAY_S,
    DX_CODES,
    INPATIENT,
    PHARMACY,
    Catalogue,
    Ledger,
    Register,
)

E4 = 10_000


def chemotherapy(reg: Register, ledger: Ledger, cat: Catalogue, rng, hospitals: np.ndarray) -> None:
    """30–60 patients per hospital on 21-day cycles, two-day stays, one of three regimens' identical bills."""
    for h in hospitals:
        n = int(rng.integers(30, 61))
        cohort = rng.choice(
            np.flatnonzero((reg.age >= 35) & (reg.age <= 80) & (reg.death < 0)), n, replace=False
        )
        regimens = [_regimen(cat, rng) for _ in range(3)]
        cycles = 365 // 21
        who = np.repeat(np.arange(n), cycles)
        day = reg.day0 + rng.integers(0, 21, n)[who] + 21 * np.tile(np.arange(cycles), n)
        keep = day < reg.day0 + 363
        who, day = who[keep], day[keep]
        doctor = np.flatnonzero(reg.doc_inst == h)[0]
        regimen = rng.integers(0, 3, n)[who]
        ts = day * DAY_S + 9 * 3600 + rng.integers(0, 3600, len(day))
        ids = ledger.add_visits(cohort[who], h, doctor, INPATIENT, ts, 2, DX_CODES[CHEMO_DX])
        for r in range(3):
            sel = regimen == r
            template_lines(ledger, cat, ids[sel], day[sel], np.full(sel.sum(), 2), regimens[r])


def _regimen(cat: Catalogue, rng) -> list[tuple[int, int, int]]:
    drugs = rng.choice(cat.groups["drug"][-40:], 3, replace=False)
    labs = rng.choice(cat.groups["lab"], 2, replace=False)
    t = [(int(cat.groups["bed"][2]), 1, 1), (int(cat.groups["nurse"][2]), 1, 1)]
    t += [(int(d), int(rng.integers(1, 4)), 0) for d in drugs] + [(int(x), 1, 0) for x in labs]
    return [*t, (int(rng.choice(cat.groups["drug"])), 1, 1)]


def store_queues(reg: Register, ledger: Ledger, cat: Catalogue, rng, stores: np.ndarray) -> None:
    """Busy honest stores: 6–12 queues a year, each 12–25 different customers in 10–20 minutes with their own
    baskets; one queue falls in the last two weeks of December."""
    alive = np.flatnonzero(reg.death < 0)
    for s in stores:
        k = int(rng.integers(6, 13))
        day = reg.day0 + rng.choice(365, k, p=year_days(reg, 1.0, 0.05))
        day[0] = reg.day0 + 365 - int(rng.integers(1, 15))
        size = rng.integers(12, 26, k)
        start = rng.integers(8 * 3600, 20 * 3600, k)
        q = np.repeat(np.arange(k), size)
        ts = day[q] * DAY_S + start[q] + (rng.random(len(q)) * rng.integers(600, 1201, k)[q]).astype(np.int64)
        ids = ledger.add_visits(rng.choice(alive, len(q), replace=False), s, -1, PHARMACY, ts, 0, "")
        otc_baskets(ledger, cat, rng, ids, day[q])


def busy_doctors(reg: Register, ledger: Ledger, cat: Catalogue, rng, doctors: np.ndarray, primary) -> None:
    """Busy honest doctors see 1.5–2.5 times their own load, spread over normal clinic hours."""
    counts = np.bincount(ledger.visit_table()["doctor"] + 1, minlength=len(reg.doc_code) + 1)[1:]
    extra = (counts[doctors] * rng.uniform(0.5, 1.5, len(doctors))).astype(int)
    who = np.repeat(doctors, extra)
    persons = rng.choice(np.flatnonzero(reg.death < 0), len(who))
    outpatient(reg, ledger, cat, rng, primary, persons=persons, doctors=who)


def heavy_patients(reg: Register, ledger: Ledger, cat: Catalogue, rng, persons: np.ndarray, stores) -> None:
    """Multi-morbid elderly: every month a visit at each of three hospitals (sometimes two on one day) and two
    chronic drugs refilled monthly at two stores: many visits and institutions, but a normal supply."""
    hosp = reg.hospitals
    three = np.stack([rng.choice(hosp, 3, replace=False) for _ in persons])
    who = np.repeat(np.arange(len(persons)), 36)
    month = np.tile(np.repeat(np.arange(12), 3), len(persons))
    which = np.tile(np.arange(3), 12 * len(persons))
    first = (np.datetime64(f"{reg.year}-01", "M") + month).astype("datetime64[D]").astype(np.int64)
    day = first + rng.integers(0, 28, len(who))
    same = rng.random(len(who)) < 0.3
    day = np.where(same & (which == 1), np.roll(day, 1), day)
    doc = np.array([np.flatnonzero(reg.doc_inst == h)[0] for h in three[who, which]])
    ids = ledger.add_visits(
        persons[who], reg.doc_inst[doc], doc, 0, day * DAY_S + clinic_seconds(rng, len(who)), 0, "I10.x00"
    )
    outpatient_lines(ledger, cat, rng, ids, day)
    drugs = np.stack([rng.choice(cat.groups["chronic"], 2, replace=False) for _ in persons])
    chronic(reg, ledger, cat, rng, persons, stores[:, 0], drug=drugs[:, 0])
    chronic(reg, ledger, cat, rng, persons, stores[:, 1], drug=drugs[:, 1])
