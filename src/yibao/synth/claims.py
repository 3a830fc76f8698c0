"""A year of visits and fee lines (就诊与费用明细), as arrays, from the population and the reference data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from yibao.money import CNT
from yibao.payment.settlement_list import age_on
from yibao.settlement.lines import NO_CAP, product_fen
from yibao.synth import coding
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.stays import (
    LEVEL_COST,
    STAY_BASE,
    approvals,
    cost_deviation,
    items_of,
    prices,
    severity_cost,
    stay_lengths,
    stay_lines,
)

# Visit kinds: outpatient, chronic, inpatient, pharmacy.
OUT, CHRONIC, INPAT, PHARM = 0, 1, 2, 3
LEVEL_P = {OUT: [0.5, 0.35, 0.15], CHRONIC: [0.5, 0.3, 0.2], INPAT: [0.15, 0.45, 0.40]}
# Diagnosis groups: ICD prefix, weight, cost factor, surgical
OUT_DX = [
    ("J06", 30, 0.8, 0),
    ("J20", 10, 1.0, 0),
    ("K29", 10, 1.0, 0),
    ("I10", 12, 0.9, 0),
    ("E11", 6, 1.1, 0),
    ("M54", 6, 1.0, 0),
    ("L30", 4, 0.7, 0),
    ("H10", 3, 0.6, 0),
    ("K52", 5, 0.9, 0),
    ("N39", 4, 1.0, 0),
    ("R51", 5, 0.8, 0),
    ("J02", 5, 0.7, 0),
]
INPAT_DX = [
    ("J18", 14, 1.0, 0),
    ("I63", 9, 1.6, 0),
    ("I25", 8, 1.4, 1),
    ("K35", 6, 0.9, 1),
    ("K80", 6, 1.1, 1),
    ("S72", 5, 1.8, 1),
    ("O80", 7, 0.7, 0),
    ("C34", 4, 2.2, 1),
    ("C16", 3, 2.0, 1),
    ("J44", 7, 1.2, 0),
    ("N18", 3, 1.5, 0),
    ("E11", 5, 0.9, 0),
    ("I50", 5, 1.3, 0),
    ("K56", 3, 1.0, 1),
    ("M17", 3, 1.9, 1),
]
CODING_STREAM = 3  # the admissions' coding draws from their own stream (build.py: 1 history, 2 reversals)
COST_STREAM = 4  # and their costs and fee lines from theirs, so the other visits' draws stay as they were
TIME_STREAM = 5  # the visits' times of day from theirs
WARD_STREAM = 8  # admissions drawn to a clinic moved to a hospital with wards of the level from theirs
# when visits begin (seconds after midnight): clinics 08:00–17:30, stores 08:30–21:00, admissions 08:00–18:00
CLINIC_HOURS, STORE_HOURS, WARD_HOURS = (28_800, 63_000), (30_600, 75_600), (28_800, 64_800)
CHRONIC_COST = {"M03900": 0.5, "M01600": 0.8, "M00500": 12.0, "M07801": 9.0, "M06900": 2.0}

# heavier ADRGs go more often to 三级 hospitals: the level's share × (cost factor / TILT_FROM)^tilt, so CMI by
# level is about 1.25 / 0.93 / 0.70 (§10.2) and the mean cost about 15 k / 9.5 k / 6 k yuan (三 / 二 / 一级)
LEVEL_TILT = np.array([0, -2.5, -0.5, 1.3])
TILT_FROM = 1.2


@dataclass
class Reference:
    """What the generator draws from, loaded from the store: institutions, catalogue, codes, doctors."""

    inst_code: np.ndarray  # str
    inst_level: np.ndarray  # dedc_hosp_lv
    inst_pharmacy: np.ndarray  # bool
    inst_wards: np.ndarray  # bool: has beds (a 门诊部 or 诊所 admits nobody)
    item_code: np.ndarray  # med_list_codg
    item_type: np.ndarray  # med_chrgitm_type
    item_pric: np.ndarray  # micro-yuan
    item_lv: np.ndarray  # 1/2/3
    item_selfpay: np.ndarray  # bp
    item_cap: np.ndarray  # micro-yuan or NO_CAP
    item_lmt: np.ndarray  # 0/1
    dx_codes: dict[str, list[str]]  # ICD prefix → codes present in the store
    doctors: dict[str, list[str]]  # institution → practitioner codes
    code_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (icd10 | icd9cm3, code) → name
    coder: coding.Coder | None = None  # the DRG tables' pools admissions are coded from


VISIT_FIELDS = (
    "person",
    "kind",
    "med_type",
    "day",
    "los",
    "inst",
    "level",
    "dise",
    "opsp",
    "doctor",
    "coded",
)
LINE_FIELDS = ("line_visit", "line_item", "line_pric", "line_cnt", "line_amt", "line_appr")


@dataclass
class Claims:
    person: np.ndarray
    kind: np.ndarray
    med_type: np.ndarray  # str
    day: np.ndarray  # datetime64[D] begndate
    los: np.ndarray  # days (inpatient), 0 otherwise
    inst: np.ndarray  # index into reference institutions
    level: np.ndarray
    dise: np.ndarray  # str: ICD code (or chronic disease code for 14)
    opsp: np.ndarray  # chronic disease code or ""
    doctor: np.ndarray  # str
    coded: np.ndarray  # object: the admission's coding (:class:`~yibao.synth.coding.CodedStay`), else None
    line_visit: np.ndarray
    line_item: np.ndarray  # index into the catalogue
    line_pric: np.ndarray
    line_cnt: np.ndarray
    line_amt: np.ndarray
    line_appr: np.ndarray
    tod: np.ndarray | None = None  # each visit's begin time, seconds after midnight (None: 08:00)

    def __len__(self) -> int:
        return int(self.person.size)

    def subset(self, keep: np.ndarray) -> Claims:
        """The visits ``keep`` selects (a mask) with their fee lines, the lines' visit numbers following."""
        renumber = np.cumsum(keep) - 1
        lines = keep[self.line_visit]
        per_visit = {f: getattr(self, f)[keep] for f in VISIT_FIELDS}
        per_line = {f: getattr(self, f)[lines] for f in LINE_FIELDS if f != "line_visit"}
        tod = None if self.tod is None else self.tod[keep]
        return Claims(**per_visit, line_visit=renumber[self.line_visit[lines]], **per_line, tod=tod)

    def begin_seconds(self) -> np.ndarray:
        """Each visit's begin time as seconds after its day's midnight."""
        return np.full(len(self), 8 * 3600, dtype=np.int64) if self.tod is None else self.tod


def _pick_dx(rng, groups, n, dx_codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    avail = [g for g in groups if dx_codes.get(g[0])]
    if not avail:
        raise ValueError("no diagnosis codes loaded: load the region first (yibao region load)")
    w = np.array([g[1] for g in avail], dtype=np.float64)
    g = rng.choice(len(avail), n, p=w / w.sum())
    codes = np.array([dx_codes[a[0]][0] for a in avail])
    factor = np.array([a[2] for a in avail])
    surgical = np.array([a[3] for a in avail], dtype=bool)
    # a code of the group, spreading over the variants present
    out = codes[g].astype(object)
    for k, a in enumerate(avail):
        variants = dx_codes[a[0]]
        idx = np.flatnonzero(g == k)
        if len(variants) > 1 and idx.size:
            out[idx] = np.array(variants, dtype=object)[rng.integers(0, len(variants), idx.size)]
    return out.astype(str), factor[g], surgical[g]


def generate(rng: np.random.Generator, p: Params, pop: Population, ref: Reference) -> Claims:
    n = len(pop)
    age = pop.age
    # outpatient visits, more with age; admissions rising with age; normalised to the parameters
    out_w = np.where(age < 15, 0.9, np.where(age < 45, 0.7, np.where(age < 60, 1.1, 1.7)))
    out_n = rng.poisson(p.outpatient_per_year * out_w / out_w.mean())
    adm_w = np.select([age < 15, age < 45, age < 60, age < 75], [0.6, 0.7, 1.0, 1.8], 2.6).astype(np.float64)
    adm_n = rng.poisson(p.admission_rate * adm_w / adm_w.mean())
    employee = pop.insutype == "310"
    ph_n = np.where(employee, rng.poisson(p.pharmacy_per_year, n), 0)
    chronic_person = np.array([i for i, c in enumerate(pop.chronic) for _ in c], dtype=np.int64)
    chronic_code = np.array([d for c in pop.chronic for d in c], dtype="U6")

    person = np.concatenate(
        [
            np.repeat(np.arange(n), out_n),
            np.repeat(chronic_person, 12),
            np.repeat(np.arange(n), adm_n),
            np.repeat(np.arange(n), ph_n),
        ]
    )
    kind = np.concatenate(
        [
            np.full(out_n.sum(), OUT),
            np.full(chronic_person.size * 12, CHRONIC),
            np.full(adm_n.sum(), INPAT),
            np.full(ph_n.sum(), PHARM),
        ]
    )
    v = person.size
    start = np.datetime64(f"{p.year}-01-01")
    day = start + rng.integers(0, 365, v).astype("timedelta64[D]")
    month_day = np.tile(np.arange(12), chronic_person.size)  # chronic visits: one a month
    is_chr = kind == CHRONIC
    day[is_chr] = np.array([np.datetime64(f"{p.year}-{m + 1:02d}-01") for m in range(12)])[
        month_day
    ] + rng.integers(0, 28, month_day.size).astype("timedelta64[D]")
    stay_z = rng.standard_normal(v)  # each stay's own deviation of its length from its cost's
    ip = np.flatnonzero(kind == INPAT)
    plan = _plan_admissions(p, pop, ref, person[ip], day[ip], stay_z[ip])
    los = np.zeros(v, dtype=np.int64)
    los[ip] = plan.los
    day = np.where(
        kind == INPAT, np.minimum(day, np.datetime64(f"{p.year}-12-31") - los.astype("timedelta64[D]")), day
    )

    # institutions by level (pharmacies for purchases; admissions by their ADRG's cost)
    level = np.zeros(v, dtype=np.int64)
    for k, probs in LEVEL_P.items():
        m = kind == k
        if k == INPAT:  # (as many draws as a choice by the shares takes)
            level[m] = _admission_levels(rng.random(m.sum()), plan.mix_cost)
        else:
            level[m] = rng.choice([1, 2, 3], m.sum(), p=probs)
    inst = np.zeros(v, dtype=np.int64)
    hospitals = ~ref.inst_pharmacy
    for lv in (1, 2, 3):
        pool = np.flatnonzero(hospitals & (ref.inst_level == lv))
        if pool.size == 0:
            pool = np.flatnonzero(hospitals)
        m = (kind != PHARM) & (level == lv)
        inst[m] = pool[rng.integers(0, pool.size, m.sum())]
    _to_wards(np.random.default_rng([p.seed, WARD_STREAM]), ref, inst, level, kind == INPAT)
    pharmacies = np.flatnonzero(ref.inst_pharmacy)
    m = kind == PHARM
    inst[m] = pharmacies[rng.integers(0, pharmacies.size, m.sum())] if pharmacies.size else 0
    level[m] = ref.inst_level[inst[m]]

    med_type = np.select([kind == CHRONIC, kind == INPAT, kind == PHARM], ["14", "21", "41"], "11").astype(
        "U2"
    )
    med_type[(kind == OUT) & (rng.random(v) < 0.06)] = "13"
    dise = np.full(v, "", dtype=object)
    factor = np.ones(v)
    surgical = np.zeros(v, dtype=bool)
    for k, groups in ((OUT, OUT_DX), (INPAT, INPAT_DX)):
        if k == INPAT and ref.coder is not None:
            continue
        idx = np.flatnonzero(kind == k)
        codes, f, s = _pick_dx(rng, groups, idx.size, ref.dx_codes)
        dise[idx], factor[idx], surgical[idx] = codes, f, s
    severity = np.ones(ip.size)
    coded = np.full(v, None, dtype=object)
    if ref.coder is not None:  # the codes, with the admission's exact age on its (final) first day
        male, age, age_days = _ages_on(pop, person[ip], day[ip])
        coded[ip] = coding.stays(plan.code_rng, ref.coder, plan.choice, male, age, age_days)
        dise[ip] = [c.diagnoses[0] for c in coded[ip]]
        factor[ip] = [c.cost for c in coded[ip]]
        surgical[ip] = [c.surgical for c in coded[ip]]
        severity = severity_cost(ref.coder, coded[ip])
    opsp = np.full(v, "", dtype="U6")
    opsp[is_chr] = np.repeat(chronic_code, 12)
    dise[is_chr] = opsp[is_chr]
    factor[is_chr] = np.array([CHRONIC_COST.get(c, 1.0) for c in opsp[is_chr]])
    med_type[(kind == INPAT) & np.char.startswith(dise.astype(str), "S")] = "22"  # 外伤住院
    doctor = np.array([_doctor(ref, ref.inst_code[i], rng) for i in inst], dtype=object)

    cost = STAY_BASE * factor[ip] * severity * LEVEL_COST[level[ip]] * plan.deviation
    visit_lines = _lines(rng, kind, level, factor, ref)
    admission_lines = stay_lines(plan.cost_rng, ip, level[ip], los[ip], cost, surgical[ip], ref)
    line_visit, item, cnt, appr = (
        np.concatenate(parts) for parts in zip(visit_lines, admission_lines, strict=True)
    )
    order = np.argsort(line_visit, kind="stable")
    line_visit, item, cnt, appr = line_visit[order], item[order], cnt[order], appr[order]
    pric = prices(ref, item, level[line_visit])
    amt = product_fen(pric, cnt)
    return Claims(
        person=person,
        kind=kind,
        med_type=med_type,
        day=day,
        los=los,
        inst=inst,
        level=level,
        dise=dise.astype(str),
        opsp=opsp,
        doctor=doctor.astype(str),
        coded=coded,
        line_visit=line_visit,
        line_item=item,
        line_pric=pric,
        line_cnt=cnt,
        line_amt=amt,
        line_appr=appr,
        tod=_times_of_day(np.random.default_rng([p.seed, TIME_STREAM]), kind),
    )


def _to_wards(rng: np.random.Generator, ref: Reference, inst: np.ndarray, level: np.ndarray, stay) -> None:
    """Admissions drawn to an institution without beds go to one with wards of the same level (in place)."""
    for lv in (1, 2, 3):
        wards = np.flatnonzero(~ref.inst_pharmacy & ref.inst_wards & (ref.inst_level == lv))
        moved = np.flatnonzero(stay & (level == lv) & ~ref.inst_wards[inst])
        if wards.size and moved.size:
            inst[moved] = wards[rng.integers(0, wards.size, moved.size)]


def _times_of_day(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Each visit's begin time within its institution's opening hours, to the second."""
    hours = [STORE_HOURS, WARD_HOURS, CLINIC_HOURS]
    lo, hi = (
        np.select([kind == PHARM, kind == INPAT], [h[i] for h in hours[:2]], hours[2][i]) for i in (0, 1)
    )
    return (lo + rng.random(kind.size) * (hi - lo)).astype(np.int64)


@dataclass
class _Admissions:
    """The year's admissions before their hospitals: ε of the cost, the ADRG's cost factor, the stay; the coding
    stream (after the ADRG drawn, for the codes) and the cost stream (for the fee lines)."""

    deviation: np.ndarray
    mix_cost: np.ndarray
    los: np.ndarray
    choice: np.ndarray | None
    code_rng: np.random.Generator
    cost_rng: np.random.Generator


def _plan_admissions(p: Params, pop: Population, ref: Reference, person, day, stay_z) -> _Admissions:
    """Each admission's ε (its cost stream), ADRG of the mix by age and sex (its coding stream) and its stay
    from the ADRG's mean and ε; without the DRG tables, a mean of 7 days and cost factor 1."""
    cost_rng = np.random.default_rng([p.seed, COST_STREAM])
    code_rng = np.random.default_rng([p.seed, CODING_STREAM])
    deviation = cost_deviation(cost_rng, person.size)
    mean_los, mix_cost, choice = np.full(person.size, 7.0), np.ones(person.size), None
    if ref.coder is not None:
        male, age, age_days = _ages_on(pop, person, day)
        choice = coding.choose(code_rng, ref.coder, male, age, age_days)
        entries = (*ref.coder.mix, *ref.coder.newborn)
        mean_los = np.array([m.los for m in entries])[choice]
        mix_cost = np.array([m.cost for m in entries])[choice]
    los = stay_lengths(mean_los, deviation, stay_z)
    return _Admissions(deviation, mix_cost, los, choice, code_rng, cost_rng)


def _ages_on(pop: Population, person: np.ndarray, day: np.ndarray):
    """Sex, age (周岁) and age in days of each person on each day (before birth: 0 days, the visit is dropped
    later as outside the insured days)."""
    ages = [
        age_on(b.item(), max(d, b).item())
        for b, d in zip(pop.brdy[person], day.astype("datetime64[D]"), strict=True)
    ]
    age = np.array([a for a, _ in ages], dtype=np.int64)
    days = np.array([d for _, d in ages], dtype=np.int64)
    return pop.male[person], age, days


def _doctor(ref: Reference, code: str, rng) -> str:
    docs = ref.doctors.get(code)
    return docs[int(rng.integers(0, len(docs)))] if docs else ""


def _lines(rng, kind, level, factor, ref: Reference):
    """Fee lines of the visits out of hospital: consultation, drugs, labs and exams; dialysis sessions; pharmacy
    purchases. The lines' visits, items, counts (CountE4) and approval flags."""
    exam, lab = items_of(ref, ("03",)), items_of(ref, ("04",))
    drugs, consult = items_of(ref, ("09", "11", "10")), items_of(ref, ("02", "12"))
    treat = items_of(ref, ("05",))
    visits, items, counts = [], [], []

    def add(
        mask_idx: np.ndarray,
        pool: np.ndarray,
        per_visit: np.ndarray,
        cnt: np.ndarray | int,
        alpha: float = 0.0,
    ) -> None:
        """``per_visit`` items from ``pool`` for each visit; weights ∝ price^-alpha favour common cheap items."""
        reps = np.repeat(mask_idx, per_visit)
        if reps.size == 0:
            return
        visits.append(reps)
        w = ref.item_pric[pool].astype(np.float64) ** -alpha
        items.append(rng.choice(pool, reps.size, p=w / w.sum()))
        c = np.repeat(cnt, per_visit) if isinstance(cnt, np.ndarray) else np.full(reps.size, cnt)
        counts.append(c.astype(np.int64) * CNT)

    lvl_f = np.array([0, 0.8, 1.0, 1.3])[level]
    clinic = np.flatnonzero(kind <= 1)
    add(clinic, consult, np.ones(clinic.size, dtype=np.int64), 1)
    ordinary = clinic[factor[clinic] < 5]
    special = clinic[factor[clinic] >= 5]  # cancer and dialysis: expensive drugs are the point
    add(
        ordinary,
        drugs,
        np.clip(rng.poisson(2.0 * np.sqrt(factor[ordinary])), 1, 6),
        np.clip(rng.poisson(1.5 * factor[ordinary] * lvl_f[ordinary]) + 1, 1, 30),
        alpha=0.8,
    )
    add(
        special,
        drugs,
        np.clip(rng.poisson(2.5, special.size), 1, 6),
        np.clip(rng.poisson(2.0, special.size) + 1, 1, 10),
        alpha=0.0,
    )
    p_lab = np.array([0, 0.2, 0.3, 0.45])[level[clinic]]
    p_exam = np.array([0, 0.05, 0.12, 0.25])[level[clinic]]
    add(clinic, lab, (rng.random(clinic.size) < p_lab).astype(np.int64), 1, alpha=1.0)
    add(clinic, exam, (rng.random(clinic.size) < p_exam).astype(np.int64), 1, alpha=1.0)
    dial = np.flatnonzero((kind == 1) & (factor >= 9.0))
    add(dial, treat, np.ones(dial.size, dtype=np.int64), 12)  # 血液透析 about 12 sessions a month
    ph = np.flatnonzero(kind == 3)
    add(
        ph,
        drugs,
        np.clip(rng.poisson(1.5, ph.size), 1, 5),
        np.clip(rng.poisson(1.0, ph.size) + 1, 1, 6),
        alpha=1.0,
    )
    line_item = np.concatenate(items)
    return np.concatenate(visits), line_item, np.concatenate(counts), approvals(rng, ref, line_item)


def _admission_levels(u: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """dedc_hosp_lv of each admission from uniform ``u``: the inpatient shares tilted by the ADRG's cost factor."""
    w = np.array(LEVEL_P[INPAT]) * (cost[:, None] / TILT_FROM) ** LEVEL_TILT[1:]
    cdf = np.cumsum(w, axis=1)
    return 1 + (cdf[:, :-1] <= u[:, None] * cdf[:, -1:]).sum(axis=1)


def caps_of(ref: Reference) -> np.ndarray:
    return np.where(ref.item_cap > 0, ref.item_cap, NO_CAP)
