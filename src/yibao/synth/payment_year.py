"""A pooling region's inpatient years for case payment, synthetic (住院病例年度数据, payment-drg-dip.md §10), and
the year valued from them without a store: grouped, aggregated into history, budgeted, priced and cleared.

Deterministic for a seed, and arrays throughout (one row per stay: a million stays take about 70 MB a
year). The steps (parameters in :class:`YearParams`):

1. :func:`case_mix` — the region's combinations (诊断 + 手术): real 医保版 2.0 codes, the 3,000 (principal
   diagnosis, principal procedure) pairs :mod:`yibao.payment.dip_history` draws from the CHS-DRG 1.1 tables
   for the demo's DIP catalogue (so its 病种 hold them), in its Zipf order (exponent 1.05). A combination's
   base cost is its ADRG's (so a DRG is homogeneous, as a grouping scheme means it to be) × ±8 % of its own;
   ADRG bases are log-normal with a long right tail, surgical ones 2.6 × dearer, frequent ones cheaper;
2. :func:`hospitals` — 4 三级 / 12 二级 / 44 一级, volume shares 45 / 35 / 20 %, uneven within a level;
3. :func:`current_year` — the year's stays: hospital, pool (职工 45 %, 居民 55 %), a combination (Zipf,
   tilted by level: tertiary hospitals treat the dearer combinations more, primary ones the cheaper: CMI
   about 1.25 / 0.85 / 0.65), sex, age, 0–3 secondary diagnoses (a third of them common comorbidities), and
   the cost ``base × severity (CC, MCC, age 80+) × level multiplier (1.20 / 0.95 / 0.75) × year factor × ε``,
   ε log-normal with mean 1 (σ 0.30), or instead one of the explicit mixtures: 4 % short-stay, transfer
   and early-death stays at 0.1–0.5 ×, 2 % complications at 2 × a Pareto (α 2.5) factor; deaths 0.5 %;
   LOS tied to cost (∝ cost^0.5 around the level's median, log-normal spread; mean about 9 days) and 1 %
   long stays of 61 days or more; the personal share (职工 30–35 %, 居民 45–50 %); the discharge date;
4. :func:`past_year` — a history year k years back: volume ÷ 1.05^k, cost ÷ 1.03^k. Each past stay is coded
   like a random stay of the current year at a hospital of the same level (its combination, secondary
   diagnoses, sex, age and discharge way; :attr:`YearCases.like`), with hospital, pool, the cost draw, LOS
   and date drawn afresh: the coding has the same distribution, and a past stay groups exactly as the stay
   it copies, so the current year's grouping serves the history (a million stays group once, not four times).

The valuation follows payment-drg-dip.md §3.7–§3.8 with the pure modules the services use, one function per
step: :func:`group_year` (:mod:`yibao.payment.grouping`), :func:`history_rows` (as
:func:`yibao.payment.history.aggregate`), :func:`pool_funds` and :func:`yibao.payment.norms.build`,
:func:`yibao.payment.period.price_arrays` and :func:`~yibao.payment.period.lines_of`, :func:`clear_year`
(:mod:`yibao.payment.year_end`). The §10 sanity figures follow (:func:`rw_checks` …).
"""

from __future__ import annotations

import gc
import math
import multiprocessing as mp
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from yibao.money import FEN
from yibao.payment import norms
from yibao.payment import period as pp
from yibao.payment.budget import global_budget
from yibao.payment.cases import DrgCase
from yibao.payment.clearing import month_line
from yibao.payment.dip_build import TRIM_RULES
from yibao.payment.dip_history import COMORBID, combinations
from yibao.payment.drg import OK as DRG_OK
from yibao.payment.drg import group_case
from yibao.payment.drg_pack import CC, MCC, DrgPack
from yibao.payment.exact import as_fraction, fen, times
from yibao.payment.grouping import Groupers
from yibao.payment.history import OK, HistoryRow, year_weights
from yibao.payment.period import DIP, DRG
from yibao.payment.pointvalue import total_cost_budget
from yibao.payment.year_end import Cleared, MonthsPaid, PoolValue, clear_line, settle_value

# --- parameters ---------------------------------------------------------------------------------------------

LEVELS = (3, 2, 1)  # dedc_hosp_lv: 三级, 二级, 一级
POOLS = ("310", "390")  # 职工, 居民
CATALOGUE_SEED, CATALOGUE_GROUPS = 990100, 3_000  # dip_history's draw for the demo's DIP catalogue
ZIPF = 1.05
SURGICAL_FACTOR = 2.6  # a surgical ADRG's base over a medical one's
DISCHARGE_DIED, DISCHARGE_TRANSFER, DISCHARGE_AGAINST_ADVICE, DISCHARGE_HOME = 5, 2, 4, 1
NORMAL, LOW, HIGH = 0, 1, 2  # the cost draw: ε, the low mixture, the high mixture
LEVEL_INDEX = np.array([0, 2, 1, 0])  # dedc_hosp_lv → its place in LEVELS (and in the per-level parameters)


@dataclass(frozen=True)
class YearParams:
    """The generator's parameters (§10), plain numbers (floats: they draw, they are never money); the level
    tuples are 三级, 二级, 一级."""

    cases: int = 1_000_000  # stays in the current year
    year: int = 2025
    history_years: int = 3
    seed: int = 20250
    hospitals: tuple[int, int, int] = (4, 12, 44)  # 三级, 二级, 一级
    volume_share: tuple[float, float, float] = (0.45, 0.35, 0.20)
    level_mult: tuple[float, float, float] = (1.20, 0.95, 0.75)
    mix_tilt: tuple[float, float, float] = (0.2, -0.1, -0.35)  # P(combination | level) ∝ zipf × base^tilt
    pool_share: tuple[float, float] = (0.45, 0.55)
    personal_share: tuple[tuple[float, float], tuple[float, float]] = ((0.30, 0.35), (0.45, 0.50))
    volume_growth: float = 0.05
    inflation: float = 0.03
    base_cost: float = 7_900.0  # yuan: a medical ADRG of median frequency
    frequency_slope: float = 0.5  # frequent ADRGs cheaper: base ∝ (frequency ÷ median)^−slope
    adrg_sigma: tuple[float, float] = (0.45, 0.8)  # ADRG bases: log-spread below and above the median
    combination_sigma: float = 0.08  # a combination's own factor within its ADRG
    sigma: float = 0.30  # ε: lognormal, mean 1
    low_share: float = 0.04
    low_range: tuple[float, float] = (0.1, 0.5)
    high_share: float = 0.02
    pareto_alpha: float = 2.5
    cc_mult: float = 1.12
    mcc_mult: float = 1.30
    old_mult: float = 1.10  # age 80 or more
    died: tuple[float, float, float] = (0.0015, 0.06, 0.05)  # death rate: normal, low, high stays
    los_median: tuple[float, float, float] = (7.8, 6.5, 5.6)  # days, a stay of the level's median cost
    los_cost_elasticity: float = 0.5  # LOS ∝ cost^0.5 within a level
    los_sigma: float = 0.30
    long_stay_share: float = 0.01  # stays of 61 days or more (→ per bed-day)
    long_stay_mean_extra: float = 30.0  # days beyond 60, exponential

    def expected_factor(self) -> float:
        """E[ε or mixture factor]: what a stay costs on average over its expected cost."""
        lo, hi = self.low_range
        pareto_mean = 2 * self.pareto_alpha / (self.pareto_alpha - 1)
        normal = 1 - self.low_share - self.high_share
        return normal + self.low_share * (lo + hi) / 2 + self.high_share * pareto_mean


# --- step 1: the region's combinations ---------------------------------------------------------------------


@dataclass(frozen=True)
class CaseMix:
    """The region's combinations and the codes a stay is written with. Per combination ``c``: ``dx[c]``,
    ``px[c]`` (its principal procedure, or ``""``), ``letter[c]`` (the MDC it was drawn from), ``adrg[c]`` (the
    ADRG a plain stay of it groups to, or a key of its own), ``base[c]`` (yuan) and ``zipf[c]``; the
    secondary diagnoses a stay may carry (``secondary``, their severity ``secondary_level``: 1 MCC, 3 CC,
    5 neither) and the extra procedures a surgical stay may have (``extra_px``)."""

    dx: list[str]
    px: list[str]
    letter: list[str]
    adrg: list[str]
    base: np.ndarray
    zipf: np.ndarray
    secondary: list[str]
    secondary_level: np.ndarray
    extra_px: list[str]
    comorbid_from: int  # secondary[comorbid_from:] are the common comorbidities

    @property
    def surgical(self) -> np.ndarray:
        return np.array([bool(p) for p in self.px])


def case_mix(pack: DrgPack, p: YearParams) -> CaseMix:
    """The combinations of the demo's DIP catalogue with a base cost by ADRG (frequent ADRGs cheaper)."""
    combos = combinations(pack, random.Random(CATALOGUE_SEED), CATALOGUE_GROUPS)
    dx = [d for d, _, _ in combos]
    px = [x[0] if x else "" for _, x, _ in combos]
    letter = [m for _, _, m in combos]
    adrg = [adrg_of(pack, d, x, m) for d, x, m in combos]
    zipf = np.array([1 / rank**ZIPF for rank in range(1, len(combos) + 1)])
    rng = np.random.default_rng([p.seed, 1])
    keys = sorted(set(adrg))
    freq = {k: 0.0 for k in keys}
    for k, w in zip(adrg, zipf, strict=True):
        freq[k] += w
    median = float(np.median(list(freq.values())))
    z = rng.normal(0, 1, len(keys))
    spread = np.exp(np.where(z < 0, p.adrg_sigma[0], p.adrg_sigma[1]) * z)  # split normal: a long right tail
    level = {
        k: f * (freq[k] / median) ** -p.frequency_slope for k, f in zip(keys, spread.tolist(), strict=True)
    }
    own = np.exp(rng.normal(0, p.combination_sigma, len(combos)))
    base = np.array(
        [p.base_cost * (SURGICAL_FACTOR if x else 1) * level[a] for x, a in zip(px, adrg, strict=True)]
    )
    known = sorted(pack.known_dx)
    others = known[::97]
    comorbid = [c for prefix in COMORBID for c in [k for k in known if k.startswith(prefix)][:3]]
    secondary = others + comorbid
    sev = np.array([pack.complications.get(c, (5, None))[0] for c in secondary], dtype=np.int8)
    return CaseMix(
        dx, px, letter, adrg, base * own, zipf, secondary, sev, sorted(pack.or_procedures)[::41], len(others)
    )


def adrg_of(pack: DrgPack, dx: str, px: tuple[str, ...], letter: str) -> str:
    """The ADRG a plain stay of the combination groups to (an adult without complications), else its own key."""
    gend = 1 if letter == "M" else 2 if letter in ("N", "O") else 1
    g = group_case(DrgCase("plain", gend, 30, 30 * 365, (dx,), px), pack)
    return g.adrg if g.status == DRG_OK else f"{dx}|{'+'.join(px)}"


# --- step 2: hospitals ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hospitals:
    """The region's hospitals: ``code`` (fixmedins_code), ``level`` (dedc_hosp_lv) and ``share`` (of the
    year's stays)."""

    code: list[str]
    level: np.ndarray
    share: np.ndarray


def hospitals(p: YearParams) -> Hospitals:
    """``p.hospitals`` per level, the level's volume share split unevenly (lognormal weights, σ 0.5)."""
    rng = np.random.default_rng([p.seed, 2])
    codes, levels, shares = [], [], []
    for level, n, share in zip(LEVELS, p.hospitals, p.volume_share, strict=True):
        w = np.exp(rng.normal(0, 0.5, n))
        codes += [f"H99019{level}{i:05d}" for i in range(1, n + 1)]
        levels += [level] * n
        shares += list(share * w / w.sum())
    return Hospitals(codes, np.array(levels, dtype=np.int8), np.array(shares))


# --- steps 3 and 4: a year's stays ------------------------------------------------------------------------------


@dataclass
class YearCases:
    """One year's inpatient stays as arrays (one row per stay; money in fen).

    Coding: ``combo`` (index into the case mix), ``secondary`` (n × 3 indices into its secondary diagnoses,
    −1 none), ``extra_px`` (index into its extra procedures, −1 none), ``gend``, ``age``, ``dscg_way``
    (离院方式: 1 home, 2 transfer, 4 against advice, 5 death). Money and stay: ``hospital`` (index into the
    hospitals), ``level``, ``pool`` (index into :data:`POOLS`), ``cost_fen``, ``personal_fen``, ``fund_fen``
    (= cost − personal), ``los``, ``dscg_date``. Truth: ``kind`` (:data:`NORMAL`, :data:`LOW`, :data:`HIGH`),
    ``expected_fen`` (base × severity × level multiplier × year factor, before ε or the mixture), ``like``
    (a past year: the current-year stay whose coding this one repeats; the current year: −1)."""

    year: int
    combo: np.ndarray
    secondary: np.ndarray
    extra_px: np.ndarray
    gend: np.ndarray
    age: np.ndarray
    dscg_way: np.ndarray
    hospital: np.ndarray
    level: np.ndarray
    pool: np.ndarray
    cost_fen: np.ndarray
    personal_fen: np.ndarray
    fund_fen: np.ndarray
    los: np.ndarray
    dscg_date: np.ndarray
    kind: np.ndarray
    expected_fen: np.ndarray
    like: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.combo)

    def drg_cases(self, idx: np.ndarray, mix: CaseMix) -> list[DrgCase]:
        """The stays ``idx`` as the groupers read them (医保结算清单 fields), in order."""
        combo = self.combo[idx]
        diagnoses = np.array(mix.dx, dtype=object)[combo]
        codes = np.array([*mix.secondary, None], dtype=object)  # −1 → None
        sec = [codes[self.secondary[idx, k]].tolist() for k in range(3)]
        count = (self.secondary[idx] >= 0).sum(axis=1).tolist()
        diag = [
            (d,) if k == 0 else (d, a) if k == 1 else (d, a, b) if k == 2 else (d, a, b, c)
            for d, a, b, c, k in zip(diagnoses.tolist(), *sec, count, strict=True)
        ]
        plain = [(x,) if x else () for x in mix.px]
        extra = [*mix.extra_px, None]
        procedures = [
            plain[c] if e < 0 else (*plain[c], extra[e])
            for c, e in zip(combo.tolist(), self.extra_px[idx].tolist(), strict=True)
        ]
        ways = [str(w) for w in range(10)]
        return [
            DrgCase(f"Z{self.year}{i:08d}", gend, age, age * 365, dx, px, None, los, ways[way])
            for i, dx, px, gend, age, los, way in zip(
                idx.tolist(),
                diag,
                procedures,
                self.gend[idx].tolist(),
                self.age[idx].tolist(),
                self.los[idx].tolist(),
                self.dscg_way[idx].tolist(),
                strict=True,
            )
        ]


def current_year(mix: CaseMix, hosp: Hospitals, p: YearParams) -> YearCases:
    """The current year's ``p.cases`` stays: coding and money drawn."""
    rng = np.random.default_rng([p.seed, 3])
    n = p.cases
    hospital = rng.choice(len(hosp.code), n, p=hosp.share / hosp.share.sum()).astype(np.int16)
    level = hosp.level[hospital]
    combo = np.empty(n, dtype=np.int16)
    for lv, tilt in zip(LEVELS, p.mix_tilt, strict=True):
        at = np.flatnonzero(level == lv)
        w = mix.zipf * mix.base**tilt
        combo[at] = rng.choice(len(w), len(at), p=w / w.sum())
    letter = np.array(mix.letter)[combo]
    gend = np.where(letter == "M", 1, np.where(np.isin(letter, ("N", "O")), 2, rng.integers(1, 3, n)))
    age = np.clip(np.rint(rng.normal(58, 17, n)), 15, 99)
    child = rng.random(n) < 0.08
    age[child] = rng.integers(1, 15, child.sum())
    pregnant = letter == "O"
    age[pregnant] = rng.integers(18, 46, pregnant.sum())
    secondary = secondaries(rng, mix, n)
    surgical = mix.surgical[combo]
    extra = np.where(surgical & (rng.random(n) < 0.04), rng.integers(0, len(mix.extra_px), n), -1)
    kind = draw_kind(rng, p, n)
    coding = {
        "combo": combo,
        "secondary": secondary,
        "extra_px": extra.astype(np.int16),
        "gend": gend.astype(np.int8),
        "age": age.astype(np.int8),
        "dscg_way": discharge_way(rng, p, kind),
        "kind": kind,
    }
    return with_money(rng, mix, p, p.year, coding, hospital, level, like=np.full(n, -1, dtype=np.int32))


def past_year(current: YearCases, mix: CaseMix, hosp: Hospitals, p: YearParams, back: int) -> YearCases:
    """Year ``p.year − back``: ``n ÷ (1 + growth)^back`` stays, each coded like a random current stay of the
    same level (:attr:`YearCases.like`), its hospital (within the level), pool and money drawn afresh."""
    rng = np.random.default_rng([p.seed, 4, back])
    n = round(len(current) / (1 + p.volume_growth) ** back)
    hospital = rng.choice(len(hosp.code), n, p=hosp.share / hosp.share.sum()).astype(np.int16)
    level = hosp.level[hospital]
    like = np.empty(n, dtype=np.int32)
    for lv in LEVELS:
        at = np.flatnonzero(level == lv)
        same_level = np.flatnonzero(current.level == lv)
        like[at] = same_level[rng.integers(0, len(same_level), len(at))]
    coding = {
        k: getattr(current, k)[like] for k in ("combo", "secondary", "extra_px", "gend", "age", "dscg_way")
    }
    coding["kind"] = draw_kind(rng, p, n)  # the cost draw afresh: only the coding is copied
    return with_money(rng, mix, p, p.year - back, coding, hospital, level, like=like)


def secondaries(rng: np.random.Generator, mix: CaseMix, n: int) -> np.ndarray:
    """0–3 secondary diagnoses a stay (counts 0, 0, 1, 1, 2, 3 equally likely, a repeat drawn dropped), a third
    of them common comorbidities, as in :mod:`yibao.payment.dip_history`; −1 after the last."""
    count = rng.choice(np.array([0, 0, 1, 1, 2, 3]), n)
    comorbid = rng.random((n, 3)) < 0.35
    ordinary = rng.integers(0, mix.comorbid_from, (n, 3))
    common = rng.integers(mix.comorbid_from, len(mix.secondary), (n, 3))
    out = np.where(comorbid, common, ordinary)
    out[np.arange(3)[None, :] >= count[:, None]] = -1
    out[:, 1] = np.where(out[:, 1] == out[:, 0], -1, out[:, 1])  # a diagnosis once: the repeat dropped
    out[:, 2] = np.where((out[:, 2] == out[:, 0]) | (out[:, 2] == out[:, 1]), -1, out[:, 2])
    first = np.argsort(out < 0, axis=1, kind="stable")  # the diagnoses first, in order; −1 after them
    return np.take_along_axis(out, first, axis=1).astype(np.int16)


def draw_kind(rng: np.random.Generator, p: YearParams, n: int) -> np.ndarray:
    u = rng.random(n)
    return np.where(u < p.low_share, LOW, np.where(u < p.low_share + p.high_share, HIGH, NORMAL)).astype(
        np.int8
    )


def discharge_way(rng: np.random.Generator, p: YearParams, kind: np.ndarray) -> np.ndarray:
    """Deaths at each kind's rate; a low stay that is not a death is a transfer (30 %), left against advice
    (20 %) or went home."""
    died = rng.random(len(kind)) < np.array(p.died)[kind]
    u = rng.random(len(kind))
    way = np.where(
        kind == LOW,
        np.where(u < 0.3, DISCHARGE_TRANSFER, np.where(u < 0.5, DISCHARGE_AGAINST_ADVICE, DISCHARGE_HOME)),
        DISCHARGE_HOME,
    )
    return np.where(died, DISCHARGE_DIED, way).astype(np.int8)


def severity(mix: CaseMix, p: YearParams, secondary: np.ndarray, age: np.ndarray) -> np.ndarray:
    """× MCC or CC (the most severe secondary diagnosis, exclusions aside) × age 80 or more."""
    levels = np.where(secondary >= 0, mix.secondary_level[np.maximum(secondary, 0)], 5).min(axis=1)
    out = np.where(levels == MCC, p.mcc_mult, np.where(levels == CC, p.cc_mult, 1.0))
    return out * np.where(age >= 80, p.old_mult, 1.0)


def with_money(
    rng, mix: CaseMix, p: YearParams, year: int, coding: dict, hospital, level, *, like
) -> YearCases:
    """The stays' money and stay: cost, LOS, personal share, discharge date."""
    n = len(hospital)
    lv = LEVEL_INDEX[level]
    year_factor = (1 + p.inflation) ** (year - p.year)
    expected = (
        mix.base[coding["combo"]]
        * severity(mix, p, coding["secondary"], coding["age"])
        * np.array(p.level_mult)[lv]
        * year_factor
    )
    kind = coding["kind"]
    factor = rng.lognormal(-(p.sigma**2) / 2, p.sigma, n)
    lo, hi = p.low_range
    factor = np.where(kind == LOW, rng.uniform(lo, hi, n), factor)
    factor = np.where(kind == HIGH, 2 * (1 + rng.pareto(p.pareto_alpha, n)), factor)
    cost_fen = np.maximum(FEN, np.rint(expected * factor * FEN)).astype(np.int64)  # at least 1 yuan
    los = stay_length(rng, p, cost_fen, lv)
    pool = (rng.random(n) >= p.pool_share[0]).astype(np.int8)
    low_share = np.array([s[0] for s in p.personal_share])[pool]
    high_share = np.array([s[1] for s in p.personal_share])[pool]
    personal = np.rint(cost_fen * rng.uniform(low_share, high_share)).astype(np.int64)
    start = np.datetime64(date(year, 1, 1), "D")
    days = (np.datetime64(date(year + 1, 1, 1), "D") - start).astype(int)
    return YearCases(
        year=year,
        **coding,
        hospital=hospital,
        level=level,
        pool=pool,
        cost_fen=cost_fen,
        personal_fen=personal,
        fund_fen=cost_fen - personal,
        los=los,
        dscg_date=start + rng.integers(0, days, n),
        expected_fen=expected * FEN,
        like=like,
    )


def stay_length(rng, p: YearParams, cost_fen: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """LOS tied to cost: the level's median × (cost ÷ the level's median cost)^elasticity × a lognormal spread;
    ``long_stay_share`` of the stays last 61 days or more instead."""
    n = len(cost_fen)
    median_cost = np.array([np.median(cost_fen[lv == i]) if (lv == i).any() else 1.0 for i in range(3)])
    ratio = cost_fen / median_cost[lv]
    spread = rng.lognormal(0, p.los_sigma, n)
    los = np.array(p.los_median)[lv] * ratio**p.los_cost_elasticity * spread
    long = rng.random(n) < p.long_stay_share
    los[long] = 61 + rng.exponential(p.long_stay_mean_extra, long.sum())
    return np.clip(np.rint(los), 1, 365).astype(np.int16)


@dataclass(frozen=True)
class Region:
    """A generated region: its case mix, hospitals, the current year and the history years (oldest first)."""

    params: YearParams
    mix: CaseMix
    hospitals: Hospitals
    current: YearCases
    history: list[YearCases]


def generate(pack: DrgPack, p: YearParams) -> Region:
    """The region of ``p``: case mix, hospitals, current year and ``p.history_years`` years before it."""
    mix = case_mix(pack, p)
    hosp = hospitals(p)
    current = current_year(mix, hosp, p)
    past = [past_year(current, mix, hosp, p, back) for back in range(p.history_years, 0, -1)]
    return Region(p, mix, hosp, current, past)


# --- the year valued without a store ----------------------------------------------------------------------------

_JOB: dict = {}  # what a forked grouping worker reads (set before the pool forks, so it is shared, not copied)


def hospital_schemes(region: Region, view) -> tuple[np.ndarray, list[str]]:
    """Each hospital's scheme (the policy's ``scheme_of``), as indices into the sorted scheme names."""
    found = [
        view.scheme_of(c, int(lv))
        for c, lv in zip(region.hospitals.code, region.hospitals.level, strict=True)
    ]
    names = sorted(set(found))
    return np.array([names.index(s) for s in found], dtype=np.int64), names


def group_year(
    cases: YearCases, region: Region, view, groupers: Groupers, workers: int = 1
) -> pp.GroupArrays:
    """Every stay grouped by its hospital's scheme (DRG or DIP; FFS hospitals' stays are not grouped) with the
    pack or catalogue in effect on its discharge date (:meth:`~yibao.payment.grouping.Groupers.group`), in
    ``workers`` forked processes: the packs are loaded first, so the workers share them. A past year takes the
    groups of the stays it copies instead (:func:`past_groups`)."""
    scheme_of_hospital, names = hospital_schemes(region, view)
    scheme = scheme_of_hospital[cases.hospital]
    kinds = [i for i, s in enumerate(names) if s in (DRG, DIP)]
    todo = np.flatnonzero(np.isin(scheme, kinds))
    for day in (date(cases.year, 1, 1), date(cases.year, 12, 31)):  # load once, before any fork
        for kind in (names[k] for k in kinds):
            if kind == DRG:
                groupers.drg_pack(day)
            else:
                groupers.dip_catalogue(day)
    _JOB.update(cases=cases, mix=region.mix, scheme=scheme, names=names, groupers=groupers)
    chunks = [c for c in np.array_split(todo, max(1, workers) * 8) if len(c)]
    try:
        if workers > 1 and len(todo) > 10_000:
            gc.freeze()  # the workers' collector leaves the shared heap alone (no copy-on-write of the packs)
            with mp.get_context("fork").Pool(workers) as pool:
                parts = pool.map(_group_chunk, chunks)
        else:
            parts = [_group_chunk(c) for c in chunks]
    finally:
        gc.unfreeze()
        _JOB.clear()
    return merged_groups(len(cases), scheme, names, chunks, parts)


def _group_chunk(idx: np.ndarray) -> tuple:
    """Group the stays ``idx`` of the job: statuses, codes and reasons as local vocabularies and indices."""
    cases, mix, scheme, names, groupers = (_JOB[k] for k in ("cases", "mix", "scheme", "names", "groupers"))
    days = cases.dscg_date[idx].astype(object).tolist()
    kinds = [names[k] for k in scheme[idx].tolist()]
    vocab: tuple[dict, dict, dict] = ({}, {}, {})
    collecting = gc.isenabled()
    gc.disable()  # a chunk's cases and groups hold no cycles: reference counting frees them
    try:
        found = [
            groupers.group(case, kind, day)
            for case, kind, day in zip(cases.drg_cases(idx, mix), kinds, days, strict=True)
        ]
    finally:
        if collecting:
            gc.enable()
    status, code, reason = (
        np.fromiter((v.setdefault(getattr(g, f), len(v)) for g in found), np.int32, len(found))
        for v, f in zip(vocab, ("status", "group_code", "reason"), strict=True)
    )
    weight4 = np.fromiter((g.weight4 for g in found), np.int64, len(found))
    aux4 = np.fromiter((g.aux4 for g in found), np.int64, len(found))
    basic = np.fromiter((g.basic for g in found), bool, len(found))
    return [list(v) for v in vocab], status, code, reason, weight4, aux4, basic


def merged_groups(n: int, scheme, names: list[str], chunks, parts) -> pp.GroupArrays:
    """The chunks' results as one :class:`~yibao.payment.period.GroupArrays` (stays not grouped: none)."""
    vocab: tuple[dict, dict, dict] = ({}, {}, {})
    status = np.full(n, -1, np.int64)
    code, reason = np.zeros(n, np.int64), np.zeros(n, np.int64)
    weight4, aux4 = np.zeros(n, np.int64), np.full(n, pp.ONE4, np.int64)
    basic = np.zeros(n, bool)
    for idx, (local, st, cd, rs, w, a, b) in zip(chunks, parts, strict=True):
        maps = [
            np.array([v.setdefault(x, len(v)) for x in lv], np.int64)
            for v, lv in zip(vocab, local, strict=True)
        ]
        status[idx], code[idx], reason[idx] = maps[0][st], maps[1][cd], maps[2][rs]
        weight4[idx], aux4[idx], basic[idx] = w, a, b
    return pp.GroupArrays(
        scheme, status, code, weight4, aux4, basic, reason, names, *(list(v) for v in vocab)
    )


def past_groups(past: YearCases, current_groups: pp.GroupArrays, region: Region, view) -> pp.GroupArrays:
    """A past year's groups: those of the current-year stays it copies (:attr:`YearCases.like`), the coding
    being the same; its own hospitals' schemes, which must be the copied stays' (the same level)."""
    scheme_of_hospital, names = hospital_schemes(region, view)
    if list(names) != list(current_groups.schemes):
        raise ValueError("the schemes differ between the years")
    scheme = scheme_of_hospital[past.hospital]
    like = past.like
    if (scheme != current_groups.scheme[like]).any():
        raise ValueError("a past stay's hospital is paid by another scheme than the stay it copies")
    g = current_groups
    return g._replace(
        scheme=scheme,
        status=g.status[like],
        group=g.group[like],
        weight4=g.weight4[like],
        aux4=g.aux4[like],
        basic=g.basic[like],
        reason=g.reason[like],
    )


def history_rows(
    years: Sequence[YearCases], groups: Sequence[pp.GroupArrays], region: Region, trim: str
) -> list[HistoryRow]:
    """:func:`yibao.payment.history.aggregate` over arrays: each year's grouped stays (status ``ok``), trimmed
    per year × kind × group over the whole region (``trim``: none, sd3, p2.5-97.5, exactly as
    :func:`yibao.payment.dip_build.trim`), then summed per year × pool × hospital × kind × group."""
    if trim not in TRIM_RULES:
        raise ValueError(f"trim 应为 none、sd3 或 p2.5-97.5: {trim}")
    out: list[HistoryRow] = []
    for cases, g in sorted(zip(years, groups, strict=True), key=lambda yg: yg[0].year):
        ok = np.array([s == OK for s in g.statuses] + [False])[g.status]  # status −1 (none) → the False
        idx = np.flatnonzero(ok)
        n_codes = max(len(g.codes), 1)
        kept = idx[kept_mask(g.scheme[idx] * n_codes + g.group[idx], cases.cost_fen[idx], trim)]
        out += summed_rows(cases, g, region, kept)
    return out


def kept_mask(key: np.ndarray, cost: np.ndarray, trim: str) -> np.ndarray:
    """Which stays a group's mean keeps (``key`` the group of each): sd3 — (x − mean)² ≤ 9 · variance, the
    population variance, decided exactly as |n·x − S| ≤ ⌊√(9·(n·Q − S²))⌋ on integers; p2.5-97.5 — from the
    ⌈0.025 n⌉-th to the ⌈0.975 n⌉-th smallest cost; groups of fewer than 3 stays keep every stay."""
    if trim == "none" or not len(key):
        return np.ones(len(key), dtype=bool)
    order = np.lexsort((cost, key))
    k, x = key[order], cost[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    n = np.diff(np.r_[starts, len(k)])
    group_of = np.repeat(np.arange(len(starts)), n)
    if trim == "p2.5-97.5":
        low = x[starts + np.maximum(-(-n * 25 // 1000), 1) - 1]
        high = x[starts + -(-n * 975 // 1000) - 1]
        keep = (x >= low[group_of]) & (x <= high[group_of])
    else:
        hi, lo = x >> 20, x & ((1 << 20) - 1)  # x² = hi²·2⁴⁰ + 2·hi·lo·2²⁰ + lo², each sum exact in int64
        s, a, b, c = (np.add.reduceat(v, starts).tolist() for v in (x, hi * hi, 2 * hi * lo, lo * lo))
        bound = []
        for m, s_, a_, b_, c_ in zip(n.tolist(), s, a, b, c, strict=True):
            q = (a_ << 40) + (b_ << 20) + c_
            bound.append(min(math.isqrt(9 * (m * q - s_ * s_)), 2**62))
        deviation = np.abs(n[group_of] * x - np.array(s, dtype=np.int64)[group_of])
        keep = deviation <= np.array(bound, dtype=np.int64)[group_of]
    keep |= n[group_of] < 3
    out = np.empty(len(key), dtype=bool)
    out[order] = keep
    return out


def summed_rows(cases: YearCases, g: pp.GroupArrays, region: Region, kept: np.ndarray) -> list[HistoryRow]:
    """The kept stays summed per pool × hospital × kind × group, in that order (codes sorted as text)."""
    if not len(kept):
        return []
    hospital_rank, hospitals = ranks(region.hospitals.code)
    group_rank, codes = ranks(g.codes)
    kind_rank, kinds = ranks(g.schemes)
    n_codes, n_kinds, n_hosp = len(codes), len(kinds), len(hospitals)
    key = cases.pool[kept].astype(np.int64) * n_hosp + hospital_rank[cases.hospital[kept]]
    key = (key * n_kinds + kind_rank[g.scheme[kept]]) * n_codes + group_rank[g.group[kept]]
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    rows = kept[order]

    def total(values: np.ndarray) -> list[int]:
        return np.add.reduceat(values[rows].astype(np.int64), starts).tolist()

    count = np.diff(np.r_[starts, len(k)]).tolist()
    cost, los, deaths = total(cases.cost_fen), total(cases.los), total(cases.dscg_way == DISCHARGE_DIED)
    level = dict(zip(region.hospitals.code, region.hospitals.level.tolist(), strict=True))
    out = []
    for j, key_j in enumerate(k[starts].tolist()):
        rest, group = divmod(key_j, n_codes)
        rest, kind = divmod(rest, n_kinds)
        pool, h = divmod(rest, n_hosp)
        code = hospitals[h]
        out.append(
            HistoryRow(
                cases.year,
                POOLS[pool],
                code,
                level[code],
                kinds[kind],
                codes[group],
                count[j],
                cost[j],
                los[j],
                deaths[j],
            )
        )
    return out


def ranks(names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each name's place in the sorted names, and the sorted names."""
    ordered = sorted(range(len(names)), key=lambda i: names[i])
    rank = np.empty(len(names), dtype=np.int64)
    rank[ordered] = np.arange(len(names))
    return rank, [names[i] for i in ordered]


def hospital_levels(region: Region) -> dict[str, int]:
    return {c: int(lv) for c, lv in zip(region.hospitals.code, region.hospitals.level, strict=True)}


def pool_funds(view, region: Region, last: YearCases, groups: pp.GroupArrays) -> dict[str, norms.PoolFund]:
    """The fund budget a region that forecasts its spending well sets (§5): the fund's share of what last
    year's stays paid by DRG or DIP cost (:func:`paid_by_points`), grown by the volume and the cost growth;
    last year's revenue twice that, the policy's growth and reserve, the other outlays what is left
    (SYNTHETIC: the demo policy's figures are sized for the 20,000-person demo)."""
    p = region.params
    growth = Fraction(str(1 + p.volume_growth)) * Fraction(str(1 + p.inflation))
    paid = paid_by_points(last, groups, region, view)
    out = {}
    for i, pool in enumerate(POOLS):
        if pool not in view.policy.pools:
            continue
        b = view.policy.budget[pool]
        cost = int(last.cost_fen[paid & (last.pool == i)].sum())
        target = fen(cost * growth * as_fraction(view.fund_share(pool)))
        revenue = 2 * target
        after = times(times(revenue, 1 + as_fraction(b.growth)), 1 - as_fraction(b.risk_reserve))
        out[pool] = norms.PoolFund(
            revenue, "synthetic forecast", global_budget(revenue, b.growth, b.risk_reserve, after - target)
        )
    return out


def paid_by_points(cases: YearCases, groups: pp.GroupArrays, region: Region, view) -> np.ndarray:
    """The stays a DRG or DIP line pays (as :func:`yibao.payment.period.route` routes them): grouped at a DRG
    or DIP hospital, longer than the short stays, of no per-diem category."""
    point_scheme = np.array([s in (DRG, DIP) for s in groups.schemes])[groups.scheme]
    out = point_scheme & _grouped(groups) & (cases.los > view.exclusions.short_stay_days)
    key = cases.combo.astype(np.int64) * 1000 + cases.los  # LOS ≤ 365
    keys, inverse = np.unique(key[out], return_inverse=True)
    perdiem = np.array(
        [view.perdiem_category(region.mix.dx[k // 1000], k % 1000) is not None for k in keys.tolist()],
        dtype=bool,
    )
    out[np.flatnonzero(out)[perdiem[inverse.ravel()]]] = False
    return out


def dip_scores(groupers: Groupers, year: int) -> norms.DipScores:
    """The DIP catalogue in effect in ``year`` as the budget reads it (its scores × 10⁴, its 基层病种)."""
    cat = groupers.dip_catalogue(date(year, 1, 1))
    scores = {r.dip_code: int(r.score * pp.ONE4) for r in cat.rows}
    return norms.DipScores(scores, {r.dip_code for r in cat.rows if r.dip_type == "basic"})


def case_arrays(cases: YearCases, region: Region) -> pp.CaseArrays:
    """The stays as :func:`yibao.payment.period.price_arrays` reads them."""
    return pp.CaseArrays(
        cases.hospital.astype(np.int64),
        cases.level.astype(np.int64),
        cases.pool.astype(np.int64),
        cases.los.astype(np.int64),
        cases.cost_fen,
        cases.personal_fen,
        cases.fund_fen,
        cases.combo.astype(np.int64),
        region.hospitals.code,
        POOLS,
        region.mix.dx,
    )


def rows_of(arrays, idx: np.ndarray):
    """The rows ``idx`` of a NamedTuple of parallel arrays (its vocabularies kept)."""
    n = len(arrays[0])
    return arrays._replace(
        **{k: v[idx] for k, v in arrays._asdict().items() if isinstance(v, np.ndarray) and len(v) == n}
    )


def months_paid(ca: pp.CaseArrays, priced: pp.PricedArrays, month: np.ndarray, norms_map, view) -> dict:
    """What the twelve month runs paid each line (§3.7 step 2): each month's lines valued at the budget PV or
    rate, ``payout_ratio`` of the fund's part paid and the rest withheld — {(hospital, pool, method):
    MonthsPaid}."""
    acc: dict[tuple[str, str, str], list[int]] = {}
    for m in range(1, 13):
        sel = np.flatnonzero(month == m)
        for ln in pp.lines_of(rows_of(ca, sel), rows_of(priced, sel)):
            got = month_line(
                pp.entitlement(ln, view.line_pv(ln, norms_map)), ln.personal_fen, view.payout_ratio
            )
            row = acc.setdefault((ln.fixmedins_code, ln.pool, ln.method), [0, 0, 0])
            row[0], row[1], row[2] = row[0] + got.owed, row[1] + got.paid, row[2] + got.deposit
    return {k: MonthsPaid(*v) for k, v in acc.items()}


@dataclass(frozen=True)
class ClearedYear:
    """The year cleared (§3.7 steps 3–4): the settlement PV of each point-method pool and scheme, and each
    hospital line with its entitlement and clearing."""

    values: dict[tuple[str, str], PoolValue]
    lines: list[pp.Line]
    entitlements: list[int]
    cleared: list[Cleared]


def clear_year(
    ca: pp.CaseArrays,
    priced: pp.PricedArrays,
    month: np.ndarray,
    budgets: Sequence[norms.SchemeBudget],
    view,
    scores: Mapping[str, Decimal] | None = None,
) -> ClearedYear:
    """Lines, PV_settle per pool and scheme (DIP and a floating DRG rate), and each line cleared against what
    its months paid (:func:`yibao.payment.year_end.clear_line`), as :mod:`yibao.payment.service.clearing`
    clears a stored year (deviation against the prior year's means; no special reviews)."""
    if view.deviation_base != "prior_year":
        raise ValueError("the generated year is cleared against the prior year's means only")
    norms_map = {(b.pool, b.scheme): b.norms for b in budgets}
    lines = pp.lines_of(ca, priced)
    values = {}
    for b in budgets:
        if b.scheme == pp.DRG and view.drg_rate_mode == "fixed":
            continue
        mine = [ln for ln in lines if ln.pool == b.pool and ln.method == b.scheme]
        pv = view.point_value
        places = view.drg.rate_places if b.scheme == pp.DRG else pv.places
        values[(b.pool, b.scheme)] = settle_value(
            b.pool,
            b.scheme,
            mine,
            b.fund_budget_fen,
            view.fund_share(b.pool),
            b.pv_budget,
            places,
            pv.floor,
            pv.ceiling,
        )
    paid = months_paid(ca, priced, month, norms_map, view)
    ents, cleared = [], []
    for ln in lines:
        value = values.get((ln.pool, ln.method))
        ent = pp.entitlement(ln, value.pv_settle if value else view.line_pv(ln, {}))
        ents.append(ent)
        cleared.append(
            clear_line(
                ln.method,
                ent,
                ln,
                paid.get((ln.fixmedins_code, ln.pool, ln.method), MonthsPaid()),
                ratio_cap=view.payment_ratio_cap,
                risk=view.risk_tiers(ln.method),
                forfeit_ratio=view.forfeit_of((scores or {}).get(ln.fixmedins_code)),
            )
        )
    return ClearedYear(values, lines, ents, cleared)


def months_of(cases: YearCases) -> np.ndarray:
    """Each stay's discharge month, 1–12."""
    return (cases.dscg_date.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int64)


# --- the sanity figures of §10 ------------------------------------------------------------------------------------


class RwCheck(NamedTuple):
    """A DRG's relative weight as the norms computed it from the trimmed history (``rw``) and as the
    generator's expected costs make it (``truth``: the same 1 : 2 : 7 weighting of yearly means), with its
    history cases and within-group CV (of the realised costs)."""

    group: str
    cases: int
    rw: float
    truth: float
    cv: float


def rw_checks(
    past: Sequence[YearCases], groups: Sequence[pp.GroupArrays], weights: Mapping[str, int], view
) -> list[RwCheck]:
    """Recomputed RW against the generator's truth, per DRG of the history (§10's first check)."""
    year_w = {y: float(w) for y, w in year_weights(past[-1].year + 1, view.policy.history_weights).items()}
    per_group: dict[str, dict[int, tuple[float, float, float, float]]] = {}
    everyone: dict[int, float] = {}
    for cases, g in zip(past, groups, strict=True):
        sel = np.flatnonzero(_grouped(g) & (np.array(g.schemes)[g.scheme] == DRG))
        everyone[cases.year] = float(cases.expected_fen[sel].mean())
        code, expected, cost = g.group[sel], cases.expected_fen[sel], cases.cost_fen[sel].astype(float)
        n = np.bincount(code, minlength=len(g.codes))
        sums = [np.bincount(code, weights=v, minlength=len(g.codes)) for v in (expected, cost, cost * cost)]
        for k in np.flatnonzero(n).tolist():
            per_group.setdefault(g.codes[k], {})[cases.year] = (n[k], sums[0][k], sums[1][k], sums[2][k])
    big_m = sum(year_w[y] * m for y, m in everyone.items()) / sum(year_w[y] for y in everyone)
    out = []
    for code, years in sorted(per_group.items()):
        if code not in weights:
            continue
        ws = sum(year_w[y] for y in years)
        truth = sum(year_w[y] * e / n for y, (n, e, _, _) in years.items()) / ws / big_m
        n_all = sum(n for n, _, _, _ in years.values())
        s1, s2 = sum(v[2] for v in years.values()), sum(v[3] for v in years.values())
        mean = s1 / n_all
        cv = math.sqrt(max(s2 / n_all - mean * mean, 0)) / mean
        out.append(RwCheck(code, int(n_all), weights[code] / pp.ONE4, truth, cv))
    return out


def _grouped(g: pp.GroupArrays) -> np.ndarray:
    return np.array([s == OK for s in g.statuses] + [False])[g.status]


def group_cvs(cases: YearCases, g: pp.GroupArrays, min_cases: int = 10) -> np.ndarray:
    """The within-group CV of the realised cost of each group (kind × code) with ``min_cases`` or more."""
    sel = np.flatnonzero(_grouped(g))
    key = g.scheme[sel] * max(len(g.codes), 1) + g.group[sel]
    _, inverse, n = np.unique(key, return_inverse=True, return_counts=True)
    x = cases.cost_fen[sel].astype(float)
    s1, s2 = np.bincount(inverse, weights=x), np.bincount(inverse, weights=x * x)
    mean = s1 / n
    cv = np.sqrt(np.maximum(s2 / n - mean**2, 0)) / mean
    return cv[n >= min_cases]


def outlier_shares(
    ca: pp.CaseArrays, priced: pp.PricedArrays, budgets: Sequence[norms.SchemeBudget]
) -> tuple[float, float]:
    """Of the DRG and DIP cases with a prior-year mean: the share costing more than 2 × the same-level group
    mean (A_g), and less than 0.5 ×."""
    high = low = n = 0
    for b in budgets:
        m = pp.M_DRG if b.scheme == DRG else pp.M_DIP
        sel = np.flatnonzero((priced.method == m) & (ca.pool == list(ca.pools).index(b.pool)))
        mean = np.array(
            [
                b.norms.mean(priced.codes[gi], lv)
                for gi, lv in zip(priced.group[sel].tolist(), ca.level[sel].tolist(), strict=True)
            ]
        )
        known = mean > 0
        cost = ca.cost_fen[sel][known]
        high += int((cost > 2 * mean[known]).sum())
        low += int((2 * cost < mean[known]).sum())
        n += int(known.sum())
    return high / n, low / n


def payment_ratios(cy: ClearedYear) -> dict[str, float]:
    """Each hospital's payment ratio (支付率): its DRG and DIP entitlements ÷ their FFS-valued charges."""
    ent: dict[str, int] = {}
    cost: dict[str, int] = {}
    for ln, e in zip(cy.lines, cy.entitlements, strict=True):
        if ln.method in (DRG, DIP):
            ent[ln.fixmedins_code] = ent.get(ln.fixmedins_code, 0) + e
            cost[ln.fixmedins_code] = cost.get(ln.fixmedins_code, 0) + ln.cost_fen
    return {h: ent[h] / cost[h] for h in sorted(ent) if cost[h]}


class Residual(NamedTuple):
    """The budget identity of one pool and scheme: what the points leave of the total-cost budget after the
    money outside them (``residual``, fen, exact) and the rounding it may come to (``allowed``)."""

    pool: str
    scheme: str
    residual: Fraction
    allowed: Fraction


def budget_residuals(cy: ClearedYear, budgets: Sequence[norms.SchemeBudget], view) -> list[Residual]:
    """Σ line entitlements (points part) against total-cost budget − money outside points, for every pool and
    scheme whose settlement PV the bounds left alone: the residual is rounding only — half a fen per line and
    the PV's half unit per point (§0, §3.7)."""
    out = []
    for b in budgets:
        v = cy.values.get((b.pool, b.scheme))
        if v is None or v.bound is not None:
            continue
        mine = [
            (ln, e)
            for ln, e in zip(cy.lines, cy.entitlements, strict=True)
            if (ln.pool, ln.method) == (b.pool, b.scheme)
        ]
        pointed = sum(e - ln.extra_fen for ln, e in mine)
        tcb = total_cost_budget(b.fund_budget_fen, view.fund_share(b.pool))
        places = view.drg.rate_places if b.scheme == DRG else view.point_value.places
        half_unit_fen = Fraction(FEN, 2 * 10**places)  # fen per point: half the PV's last place
        allowed = Fraction(len(mine), 2) + Fraction(v.total_points4, pp.ONE4) * half_unit_fen
        out.append(Residual(b.pool, b.scheme, tcb - v.extra_fen - pointed, allowed))
    return out
