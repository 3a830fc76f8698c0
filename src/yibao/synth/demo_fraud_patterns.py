"""The injections and decoys of :mod:`yibao.synth.demo_fraud`, one function each, over the demo's claims
(days are counted from 1 January; times of day in seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from yibao.money import MICRO
from yibao.synth.claims import INPAT, OUT, PHARM, Claims, Reference
from yibao.synth.params import Params
from yibao.synth.population import Population

HOUR = 3600
SURGE_DX = ("M54", "I63", "E11", "M17", "I25", "K29")
FICTITIOUS_DX = ("I63", "I25", "M54", "J44", "E11", "K29")
FLU_DX = ("J11", "J10", "J18", "J06")
CHEMO_DX = ("Z51", "C34", "C16", "C18")
BED, EXAM, LAB, TREAT, NURSING, DRUG, CONSULT = "01", "03", "04", "05", "07", "09", "02"


@dataclass
class World:
    """What the injections choose from: the honest year's units and their volumes."""

    p: Params
    pop: Population
    ref: Reference
    cl: Claims
    days: int
    hospitals: np.ndarray
    stores: np.ndarray
    monthly: np.ndarray  # [institution, month] honest admissions
    stays: dict[int, list[tuple[int, int]]]  # person → honest stays (first day, last day)
    seen: dict[int, list[int]]  # person → days of honest outpatient and store visits
    taken: set[int]  # institutions already injected or decoys
    chronic_drugs: np.ndarray | None = None  # the long-term medicines bought monthly at stores
    decoy_persons: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, p: Params, pop: Population, ref: Reference, cl: Claims) -> World:
        day = (cl.day.astype("datetime64[D]") - np.datetime64(f"{p.year}-01-01")).astype(np.int64)
        month = cl.day.astype("datetime64[M]").astype(np.int64) % 12
        monthly = np.zeros((ref.inst_code.size, 12), dtype=np.int64)
        ip = cl.kind == INPAT
        np.add.at(monthly, (cl.inst[ip], month[ip]), 1)
        stays: dict[int, list[tuple[int, int]]] = {}
        for person, d, los in zip(cl.person[ip].tolist(), day[ip].tolist(), cl.los[ip].tolist(), strict=True):
            stays.setdefault(person, []).append((d, d + los))
        seen: dict[int, list[int]] = {}
        other = (cl.kind == OUT) | (cl.kind == PHARM)
        for person, d in zip(cl.person[other].tolist(), day[other].tolist(), strict=True):
            seen.setdefault(person, []).append(d)
        days = int((np.datetime64(f"{p.year + 1}-01-01") - np.datetime64(f"{p.year}-01-01")).astype(int))
        return cls(
            p, pop, ref, cl, days, np.flatnonzero(~ref.inst_pharmacy), np.flatnonzero(ref.inst_pharmacy),
            monthly, stays, seen, set(),
        )  # fmt: skip

    def items(self, kind: str, most: int | None = None) -> np.ndarray:
        """Catalogue items of a charge type without a payment limit, at most ``most`` yuan a unit."""
        ref = self.ref
        pool = np.flatnonzero((ref.item_type == kind) & (ref.item_lmt == 0))
        if most is not None:
            cheap = pool[ref.item_pric[pool] <= most * MICRO]
            pool = cheap if cheap.size else pool[np.argsort(ref.item_pric[pool])[:5]]
        pool = pool if pool.size else np.flatnonzero(ref.item_type == kind)
        if self.chronic_drugs is not None:  # kept to their regular buyers (and the stockpilers)
            pool = np.setdiff1d(pool, self.chronic_drugs) if pool.size > self.chronic_drugs.size else pool
        return pool

    def dx(self, prefixes: tuple[str, ...], rng) -> str:
        for prefix in prefixes:
            codes = self.ref.dx_codes.get(prefix)
            if codes:
                return str(codes[int(rng.integers(0, len(codes)))])
        inpatient = self.cl.dise[self.cl.kind == INPAT]
        return str(inpatient[int(rng.integers(0, inpatient.size))])

    def doctor(self, inst: int, rng) -> str:
        docs = self.ref.doctors.get(str(self.ref.inst_code[inst])) or [""]
        return str(docs[int(rng.integers(0, len(docs)))])

    def district(self, inst: int) -> str:
        return str(self.ref.inst_code[inst])[1:7]

    def in_hospital(self, person: int, day: int) -> bool:
        return any(a <= day <= b for a, b in self.stays.get(person, ()))


def _count(rate: float, n: int) -> int:
    return max(1, round(rate * n))


def _pick(rng, pool: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(pool, min(n, pool.size), replace=False) if pool.size else pool


def _elderly_of(w: World, district: str) -> np.ndarray:
    pool = np.flatnonzero((w.pop.age >= 60) & (w.pop.district == district))
    return pool if pool.size >= 30 else np.flatnonzero(w.pop.age >= 60)


def _stay_bill(w: World, rng, los: int, every: int = 1, lab: bool = True) -> list[tuple[int, float]]:
    """One stay's bill: bed each day, nursing and two drugs every ``every`` days, a test or two."""
    per = -(-los // every)
    bill = [(rng.choice(w.items(BED)), los), (rng.choice(w.items(NURSING)), per)]
    bill += [(d, per * int(rng.integers(1, 3))) for d in _pick(rng, w.items(DRUG), 2)]
    if lab:
        bill += [(t, 1) for t in _pick(rng, w.items(LAB), 2)] + [(rng.choice(w.items(EXAM)), 1)]
    return bill


def hospital_surge(rng, w: World, extra, n: int) -> None:
    big = [h for h in w.hospitals[np.argsort(-w.monthly[w.hospitals].sum(1))] if h not in w.taken]
    for h in [h for h in big if w.monthly[h].mean() >= 20][:n] or big[:n]:
        w.taken.add(h)
        tag = extra.label("hospital", str(w.ref.inst_code[h]), "hospital_surge")
        dx, template = w.dx(SURGE_DX, rng), _stay_bill(w, rng, 7)
        people, doctor = _elderly_of(w, w.district(h)), w.doctor(h, rng)
        first = int(rng.integers(6, 10))
        for month in range(first, min(12, first + int(rng.integers(3, 6)))):
            total = round(max(w.monthly[h, month], 20) * rng.uniform(0.6, 1.0))
            start = int(
                (np.datetime64(f"{w.p.year}-{month + 1:02d}-01") - np.datetime64(f"{w.p.year}-01-01")).astype(
                    int
                )
            )
            while total > 0:
                size = min(total, int(rng.integers(2, 7)))
                day = start + int(rng.integers(0, 21))
                los = 7 if rng.random() < 0.85 else int(rng.integers(6, 10))
                bill = template if los == 7 else [(i, c * los // 7 or 1) for i, c in template]
                for person in _pick(rng, people, size):
                    extra.visit(tag, person, INPAT, "21", day, los, h, dx, doctor, 9 * HOUR, bill)
                total -= size


def fictitious_stay(rng, w: World, extra, n: int) -> None:
    # a mid-sized hospital: in a large one the added stays would be a small share of the year
    mean = w.monthly.mean(1)
    pool = [h for h in w.hospitals if h not in w.taken and 4 <= mean[h] <= 15] or [
        h for h in w.hospitals if h not in w.taken
    ]
    for h in _pick(rng, np.asarray(pool), n):
        w.taken.add(int(h))
        tag = extra.label("hospital", str(w.ref.inst_code[h]), "fictitious_stay")
        people = [i for i in _elderly_of(w, w.district(h)) if w.seen.get(int(i))]
        template, doctor = None, w.doctor(h, rng)
        total = round(w.monthly[h].sum() * rng.uniform(0.15, 0.35))
        while total > 0 and people:
            group = _pick(rng, np.asarray(people), min(total, int(rng.integers(1, 5))))
            anchor = w.seen[int(group[0])][int(rng.integers(0, len(w.seen[int(group[0])])))]
            los = int(rng.integers(8, 16))
            day = int(np.clip(anchor - rng.integers(1, 6), 0, w.days - los - 1))
            template = template or _stay_bill(w, rng, 12, every=3, lab=False)
            bill = [(i, max(1, c * los // 12)) for i, c in template]
            for person in group:
                extra.visit(
                    tag, person, INPAT, "21", day, los, h, w.dx(FICTITIOUS_DX, rng), doctor, 10 * HOUR, bill
                )
            total -= group.size


def pharmacy_skimming(rng, w: World, extra, n: int) -> None:
    employees = np.flatnonzero(w.pop.insutype == "310")
    inpatients = np.asarray(list(w.stays), dtype=np.int64)
    for s in _pick(rng, np.asarray([s for s in w.stores if s not in w.taken]), n):
        w.taken.add(int(s))
        tag = extra.label("pharmacy", str(w.ref.inst_code[s]), "pharmacy_skimming")
        basket = [(d, int(rng.integers(1, 4))) for d in _pick(rng, w.items(DRUG, 60), 3)]
        for day in rng.choice(np.arange(w.days - 4, w.days), int(rng.integers(1, 4)), replace=False):
            cards = int(rng.integers(20, 61))
            minutes = int(rng.integers(15, 31))
            stayers = [i for i in inpatients if w.in_hospital(int(i), int(day))]
            who = np.concatenate(
                [_pick(rng, np.asarray(stayers, np.int64), cards // 5), _pick(rng, employees, cards)]
            )
            start = int(rng.integers(9 * HOUR, 19 * HOUR))
            offsets = np.sort(rng.integers(0, minutes * 60, cards))
            for person, offset in zip(who[:cards].tolist(), offsets.tolist(), strict=False):
                own = rng.random() < 0.1  # a few baskets vary
                bill = (
                    [(d, int(rng.integers(1, 4))) for d in _pick(rng, w.items(DRUG, 60), 2)]
                    if own
                    else basket
                )
                extra.visit(tag, person, PHARM, "41", day, 0, s, "", "", start + offset, bill)


def doctor_overcapacity(rng, w: World, extra, n: int) -> None:
    out = w.cl.kind == OUT
    docs, seen = np.unique(w.cl.doctor[out], return_counts=True)
    inst_of = dict(zip(w.cl.doctor[out].tolist(), w.cl.inst[out].tolist(), strict=False))
    busy = docs[(seen >= 50) & (docs != "")]
    dx_pool = w.cl.dise[out]
    for doc in _pick(rng, busy, n):
        tag = extra.label("doctor", str(doc), "doctor_overcapacity")
        h = inst_of[str(doc)]
        for day in rng.choice(w.days, int(rng.integers(30, 81)), replace=False):
            start = int(rng.integers(8 * HOUR, 14 * HOUR))
            k = int(rng.integers(25, 61))
            at = start + np.cumsum(rng.integers(60, 181, k))
            for person, t in zip(rng.integers(0, len(w.pop), k).tolist(), at.tolist(), strict=True):
                bill = [
                    (rng.choice(w.items(CONSULT)), 1),
                    (rng.choice(w.items(DRUG)), int(rng.integers(1, 3))),
                ]
                dx = str(dx_pool[int(rng.integers(0, dx_pool.size))])
                extra.visit(tag, person, OUT, "11", day, 0, h, dx, str(doc), t, bill)


def person_stockpiling(rng, w: World, extra, n: int) -> None:
    pool = np.flatnonzero((w.pop.insutype == "310") & np.array([bool(c) for c in w.pop.chronic]))
    pool = pool[~np.isin(pool, list(w.decoy_persons))]
    for person in _pick(rng, pool, max(n, 5)):
        tag = extra.label("person", str(w.pop.psn_no[person]), "person_stockpiling")
        drugs = _pick(rng, _chronic_drugs(w, rng), int(rng.integers(1, 3)))
        stores = _pick(rng, w.stores, int(rng.integers(3, 7)))
        day = int(rng.integers(0, 12))
        while day < w.days:
            bill = [(d, 30) for d in drugs]
            store = int(stores[int(rng.integers(0, stores.size))])
            extra.visit(
                tag, person, PHARM, "41", day, 0, store, "", "", int(rng.integers(9 * HOUR, 20 * HOUR)), bill
            )
            day += int(rng.integers(6, 13))


def _chronic_drugs(w: World, rng) -> np.ndarray:
    """Four cheap medicines the honest year's store purchases hardly use, so their buyers are mostly regular."""
    if w.chronic_drugs is None:
        pool = w.items(DRUG, 8)  # (before any is chosen: from every cheap medicine)
        store = (w.cl.kind == PHARM)[w.cl.line_visit]
        used = np.bincount(w.cl.line_item[store], minlength=w.ref.item_code.size)[pool]
        w.chronic_drugs = _pick(rng, pool[np.argsort(used, kind="stable")[: max(4, pool.size // 8)]], 4)
    return w.chronic_drugs


def regular_buyers(rng, w: World, extra) -> None:
    """Honest background: half the 职工 with a chronic disease buy a month of their medicine at their store
    every 28–32 days (what a month's supply of a long-term medicine looks like)."""
    pool = np.flatnonzero((w.pop.insutype == "310") & np.array([bool(c) for c in w.pop.chronic]))
    drugs = _chronic_drugs(w, rng)
    for person in _pick(rng, pool, max(20, pool.size // 2)):
        drug, store = (
            drugs[int(rng.integers(0, drugs.size))],
            int(w.stores[int(rng.integers(0, w.stores.size))]),
        )
        for day in range(int(rng.integers(0, 28)), w.days, 30):
            day = min(w.days - 1, day + int(rng.integers(-2, 3)))
            extra.visit(-1, person, PHARM, "41", max(day, 0), 0, store, "", "", int(rng.integers(9 * HOUR, 20 * HOUR)),
                        [(drug, 30)])  # fmt: skip


def decoys(rng, w: World, extra) -> None:
    """Honest units that look unusual on one signal: influenza seasons, a busy store, chemotherapy cycles."""
    regular_buyers(rng, w, extra)
    largest = w.hospitals[np.argsort(-w.monthly[w.hospitals].sum(1))][:2]
    for h in largest:
        w.taken.add(int(h))
        extra.label("hospital", str(w.ref.inst_code[h]), "hospital_surge", decoy=True)
    for h in w.hospitals:  # the season at every hospital, varied stays and bills
        for month_start, span in ((0, 31), (w.days - 31, 31)):
            k = round(w.monthly[h].mean() * rng.uniform(0.3, 0.5))
            for person in _pick(rng, np.arange(len(w.pop)), k):
                los = int(rng.integers(3, 11))
                day = min(month_start + int(rng.integers(0, span)), w.days - los - 1)
                extra.visit(-1, person, INPAT, "21", day, los, h, w.dx(FLU_DX, rng), w.doctor(h, rng),
                            int(rng.integers(8 * HOUR, 18 * HOUR)), _stay_bill(w, rng, los))  # fmt: skip
    store = int(_pick(rng, np.asarray([s for s in w.stores if s not in w.taken]), 1)[0])
    w.taken.add(store)
    extra.label("pharmacy", str(w.ref.inst_code[store]), "pharmacy_skimming", decoy=True)
    employees = np.flatnonzero(w.pop.insutype == "310")
    for day in range(w.days):  # a queue every day, longer in late December; each its own person and basket
        for person in _pick(rng, employees, int(rng.integers(6, 12)) + (20 if day >= w.days - 10 else 0)):
            bill = [
                (d, int(rng.integers(1, 4))) for d in _pick(rng, w.items(DRUG, 60), int(rng.integers(1, 4)))
            ]
            extra.visit(
                -1, person, PHARM, "41", day, 0, store, "", "", int(rng.integers(8 * HOUR, 21 * HOUR)), bill
            )
    hospital = int(largest[0])
    for person in _pick(rng, np.flatnonzero((w.pop.age >= 35) & (w.pop.age <= 80)), 10):
        w.decoy_persons.add(int(person))
        extra.label("person", str(w.pop.psn_no[person]), "person_stockpiling", decoy=True)
        template, dx = _stay_bill(w, rng, 2), w.dx(CHEMO_DX, rng)
        for day in range(int(rng.integers(0, 21)), w.days - 3, 21):
            doctor = w.doctor(hospital, rng)
            extra.visit(-1, person, INPAT, "21", day, 2, hospital, dx, doctor, 9 * HOUR, template)


def inject_all(rng, w: World, extra, rates) -> None:
    hospital_surge(rng, w, extra, _count(rates.hospital_surge, w.hospitals.size))
    fictitious_stay(rng, w, extra, _count(rates.fictitious_stay, w.hospitals.size))
    pharmacy_skimming(rng, w, extra, _count(rates.pharmacy_skimming, w.stores.size))
    doctor_overcapacity(
        rng, w, extra, _count(rates.doctor_overcapacity, sum(map(len, w.ref.doctors.values())))
    )
    person_stockpiling(rng, w, extra, _count(rates.person_stockpiling, len(w.pop)))
