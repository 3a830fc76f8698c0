"""The injections of :mod:`yibao.synth.fraud`, one function per pattern; each returns its label rows
``(entity_type, entity_id, pattern, injected_loss_fen, decoy=False)``. The loss is the amount of every line the
injection added (fen). ``k`` is the intensity: 1 gives the ranges of :mod:`yibao.synth.fraud`'s docstring;
0.5 halves the extra volume (surge, fictitious stays, cards, ghost visits) and doubles the spacing (bursts,
ghost visits, stockpiling purchases)."""

from __future__ import annotations

import numpy as np

from yibao.synth.fraud_bills import (
    E4,
    chronic_units,
    dx_pools,
    otc_baskets,
    outpatient_lines,
    random_template,
    template_lines,
)
from yibao.synth.fraud_world import (
    DAY_S,
    DX_CODES,
    INPATIENT,
    OUT_DX,
    OUTPATIENT,
    PHARMACY,
    Catalogue,
    Ledger,
    Register,
)

SURGE_DX = ["M54.500", "I63.900", "E11.900", "M17.900", "I25.100", "K29.700", "G45.900"]
FICTITIOUS_DX = ["I63.900", "I25.100", "M54.500", "J44.100", "E11.900", "K29.700"]


def _dx(code: str) -> int:
    return int(np.flatnonzero(code == DX_CODES)[0])


def _loss(ledger: Ledger, mark: int) -> int:
    return int(sum(int(c["amt"].sum()) for c in ledger.lines[mark:]))


def _monthly_stays(ledger: Ledger, n_inst: int) -> np.ndarray:
    v = ledger.visit_table()
    return np.bincount(v["inst"][v["kind"] == INPATIENT], minlength=n_inst) / 12.0


def _groups(rng, total: int, lo: int, hi: int) -> np.ndarray:
    """Group sizes in [lo, hi] adding up to ``total``."""
    if total <= 0:
        return np.zeros(0, np.int64)
    sizes = rng.integers(lo, hi + 1, total)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), total) + 1]
    sizes[-1] -= sizes.sum() - total
    return sizes[sizes > 0]


def _month_days(reg: Register, month: int, n: int, rng) -> np.ndarray:
    first = np.datetime64(f"{reg.year}-{month + 1:02d}-01").astype(np.int64)
    length = int(
        (np.datetime64(f"{reg.year}-{month + 1:02d}", "M") + 1).astype("datetime64[D]").astype(np.int64)
        - first
    )
    return first + rng.integers(0, length, n)


def _stays(reg, ledger, cat, rng, h, persons, day, los, dx, templates, which) -> np.ndarray:
    doctors = np.flatnonzero(reg.doc_inst == h)
    doc = rng.choice(doctors, len(persons))
    ts = day * DAY_S + rng.integers(8 * 3600, 17 * 3600, len(day))
    ids = ledger.add_visits(persons, h, doc, INPATIENT, ts, los, DX_CODES[dx])
    for t, template in enumerate(templates):
        sel = which == t
        template_lines(ledger, cat, ids[sel], day[sel], los[sel], template)
    return ids


def surge(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, n: int, taken: set, k: float = 1.0
) -> list[tuple]:
    monthly = _monthly_stays(ledger, len(reg.inst_code))
    cand = np.array([h for h in reg.hospitals if monthly[h] >= 15 and h not in taken], dtype=np.int64)
    out, stays = [], []
    elderly = np.flatnonzero((reg.age >= 55) & (reg.death < 0))
    for h in rng.choice(cand, min(n, len(cand)), replace=False):
        taken.add(int(h))
        start = int(rng.integers(6, 10))
        months = range(start, min(12, start + int(rng.integers(3, 6))))
        extra = rng.poisson((rng.uniform(1.6, 2.0) - 1) * k * monthly[h], len(months))
        dx = _dx(str(rng.choice(SURGE_DX)))
        length = int(rng.integers(6, 9))
        template = random_template(cat, rng, dx, 1, labs=3)
        mark = len(ledger.lines)
        for m, count in zip(months, extra, strict=True):
            sizes = _groups(rng, int(count), 2, 6)
            day = np.repeat(_month_days(reg, m, len(sizes), rng), sizes)
            los = np.where(rng.random(len(day)) < 0.85, length, length + rng.choice([-1, 1], len(day)))
            los = np.repeat(los[np.cumsum(sizes) - 1], sizes)  # a group is discharged together
            persons = rng.choice(elderly, len(day), replace=False)
            ids = _stays(
                reg,
                ledger,
                cat,
                rng,
                h,
                persons,
                day,
                los,
                np.full(len(day), dx),
                [template],
                np.zeros(len(day)),
            )
            tweak = np.flatnonzero(rng.random(len(ids)) < 0.15)  # a few bills differ by one drug
            drug = dx_pools(cat)["drug"][dx, rng.integers(0, 8, len(tweak))]
            ledger.add_lines(ids[tweak], drug, day[tweak], np.full(len(tweak), E4), cat)
            stays.append(ids)
        out.append(("hospital", reg.inst_code[h], "hospital_surge", _loss(ledger, mark), False))
    if stays:  # induced patients are in their beds: their other visits during the stay go
        _drop_inside(ledger, np.concatenate(stays))
    return out


def _drop_inside(ledger: Ledger, stay_ids: np.ndarray) -> None:
    v = ledger.visit_table()
    pos = np.searchsorted(v["visit"], stay_ids)
    day = v["ts"] // DAY_S
    persons = v["person"][pos]
    sel = np.flatnonzero(np.isin(v["person"], persons) & (v["kind"] != INPATIENT))
    by = {int(p): [] for p in persons}
    for p, d, n in zip(persons, day[pos], v["los"][pos], strict=True):
        by[int(p)].append((d, d + n))
    drop = [v["visit"][i] for i in sel if any(a < day[i] < b for a, b in by[int(v["person"][i])])]
    ledger.drop_visits(np.array(drop, dtype=np.int64))


def fictitious(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, n: int, taken: set, k: float = 1.0
) -> list[tuple]:
    monthly = _monthly_stays(ledger, len(reg.inst_code))
    cand = np.array([h for h in reg.hospitals if monthly[h] >= 5 and h not in taken], dtype=np.int64)
    out = []
    adults = np.flatnonzero(reg.age >= 18)
    elderly = np.flatnonzero(reg.age >= 60)
    dead = np.flatnonzero(reg.death >= 0)
    for h in rng.choice(cand, min(n, len(cand)), replace=False):
        taken.add(int(h))
        total = max(15, round(rng.uniform(0.15, 0.35) * k * monthly[h] * 12))
        sizes = _groups(rng, total, 1, 4)
        day = np.repeat(reg.day0 + rng.integers(0, 350, len(sizes)), sizes)
        length = int(rng.integers(6, 11))
        los = np.where(rng.random(len(sizes)) < 0.7, length, length + rng.integers(-2, 3, len(sizes)))
        los = np.repeat(np.maximum(los, 3), sizes)
        persons = np.where(
            rng.random(len(day)) < 0.6, rng.choice(elderly, len(day)), rng.choice(adults, len(day))
        )
        ghost = np.flatnonzero(rng.random(len(day)) < 0.04)  # the card of someone who has died
        for i in ghost:
            before = dead[reg.death[dead] < day[i]]
            if len(before):
                persons[i] = rng.choice(before)
        dx = np.repeat(np.array([_dx(c) for c in rng.choice(FICTITIOUS_DX, len(sizes))]), sizes)
        templates = [
            random_template(cat, rng, d, care_period=3, labs=int(x))
            for d, x in zip(dx[:1].repeat(2), (0, 1), strict=True)
        ]
        which = (rng.random(len(day)) >= 0.7).astype(int)
        mark = len(ledger.lines)
        _stays(reg, ledger, cat, rng, h, persons, day, los, dx, templates, which)
        out.append(("hospital", reg.inst_code[h], "fictitious_stay", _loss(ledger, mark), False))
    return out


def skimming(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, n: int, busy: set, primary, k: float = 1.0
) -> list[tuple]:
    cand = np.array([s for s in reg.pharmacies if s not in busy], dtype=np.int64)
    v = ledger.visit_table()
    inp = np.flatnonzero(v["kind"] == INPATIENT)
    out = []
    for s in rng.choice(cand, min(n, len(cand)), replace=False):
        customers = np.flatnonzero((primary == s) & (reg.death < 0))
        bursts = [
            (int(rng.integers(27, 31)), max(5, round(rng.integers(20, 61) * k)), 11)
            for _ in range(int(rng.integers(1, 4)))
        ]
        if rng.random() < 1 / 3:
            bursts.append((int(rng.integers(27, 30)), max(5, round(rng.integers(15, 31) * k)), 5))
        mark = len(ledger.lines)
        for dom, cards, month in bursts:
            day = int(np.datetime64(f"{reg.year}-{month + 1:02d}-01").astype(np.int64)) + dom
            pool = customers if len(customers) >= cards else np.flatnonzero(reg.death < 0)
            persons = rng.choice(pool, cards, replace=False)
            dead = np.flatnonzero((reg.death >= 0) & (reg.death < day))
            n_dead = min(int(rng.integers(0, 3)), len(dead))
            persons[:n_dead] = rng.choice(dead, n_dead, replace=False)
            in_bed = inp[(v["ts"][inp] // DAY_S < day) & (v["ts"][inp] // DAY_S + v["los"][inp] > day)]
            j = min(int(rng.integers(0, 3)), len(in_bed))
            persons[n_dead : n_dead + j] = v["person"][rng.choice(in_bed, j, replace=False)]
            start = day * DAY_S + int(rng.integers(9 * 3600, 19 * 3600))
            ts = start + np.sort(rng.integers(0, int(rng.integers(900, 1801) / k), cards))
            ids = ledger.add_visits(persons, s, -1, PHARMACY, ts, 0, "")
            same = rng.random(cards) < rng.uniform(0.85, 1.0)
            basket = rng.choice(cat.groups["chronic"], int(rng.integers(1, 3)), replace=False)
            units = rng.integers(2, 5, len(basket))
            for drug, u in zip(basket, units, strict=True):
                ledger.add_lines(
                    ids[same],
                    np.full(same.sum(), drug),
                    np.full(same.sum(), day),
                    np.full(same.sum(), u * E4),
                    cat,
                )
            otc_baskets(ledger, cat, rng, ids[~same], np.full((~same).sum(), day))
        out.append(("pharmacy", reg.inst_code[s], "pharmacy_skimming", _loss(ledger, mark), False))
    return out


def doctors_overcapacity(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, n: int, busy: set, k: float = 1.0
) -> list[tuple]:
    cand = np.array([d for d in range(len(reg.doc_code)) if d not in busy], dtype=np.int64)
    alive = np.flatnonzero(reg.death < 0)
    weekdays = np.flatnonzero((np.arange(365) + reg.day0 + 3) % 7 < 5)
    out = []
    for d in rng.choice(cand, min(n, len(cand)), replace=False):
        days = reg.day0 + rng.choice(weekdays, max(5, round(rng.integers(30, 81) * k)), replace=False)
        extra = np.maximum(5, np.round(rng.integers(25, 61, len(days)) * k)).astype(int)
        day = np.repeat(days, extra)
        gaps = (rng.integers(60, 181, len(day)) / k).astype(np.int64)
        first = np.cumsum(extra) - extra
        offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], extra)
        ts = day * DAY_S + np.repeat(rng.integers(8 * 3600, 14 * 3600, len(days)), extra) + offset
        mark = len(ledger.lines)
        ids = ledger.add_visits(
            rng.choice(alive, len(day)),
            reg.doc_inst[d],
            d,
            OUTPATIENT,
            ts,
            0,
            OUT_DX[rng.integers(0, len(OUT_DX), len(day))],
        )
        outpatient_lines(ledger, cat, rng, ids, day)
        out.append(("doctor", reg.doc_code[d], "doctor_overcapacity", _loss(ledger, mark), False))
    return out


def stockpiling(
    reg: Register, ledger: Ledger, cat: Catalogue, rng, n: int, heavy: set, k: float = 1.0
) -> list[tuple]:
    cand = np.array(
        [p for p in np.flatnonzero((reg.age >= 40) & (reg.age <= 80) & (reg.death < 0)) if p not in heavy]
    )
    persons = rng.choice(cand, min(n, len(cand)), replace=False)
    n_drugs = rng.integers(1, 3, len(persons))
    who = np.repeat(np.arange(len(persons)), n_drugs)
    drug = rng.choice(cat.groups["chronic"], len(who))
    gap = np.round(rng.integers(6, 13, len(who)) / k).astype(int)
    count = (365 - 30) // gap
    buy = np.repeat(np.arange(len(who)), count)
    nth = np.arange(len(buy)) - np.repeat(np.cumsum(count) - count, count)
    day = reg.day0 + rng.integers(0, 30, len(who))[buy] + nth * gap[buy] + rng.integers(-1, 2, len(buy))
    stores = np.stack([rng.choice(reg.pharmacies, 6, replace=False) for _ in persons])
    n_stores = rng.integers(3, 7, len(persons))
    store = stores[who[buy], rng.integers(0, 1 << 30, len(buy)) % n_stores[who[buy]]]
    ts = day * DAY_S + rng.integers(8 * 3600, 21 * 3600, len(buy))
    ids = ledger.add_visits(persons[who[buy]], store, -1, PHARMACY, ts, 0, "")
    units = chronic_units(drug[buy]) * rng.integers(1, 3, len(buy))
    ledger.add_lines(ids, drug[buy], day, units * E4, cat)
    per_person = np.bincount(who[buy], weights=ledger.lines[-1]["amt"], minlength=len(persons))
    return [
        ("person", reg.psn_no[p], "person_stockpiling", int(x), False)
        for p, x in zip(persons, per_person, strict=True)
    ]
