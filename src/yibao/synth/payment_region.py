"""A pooling region's inpatient years for case payment, synthetic (住院病例年度数据, payment-drg-dip.md §10):
:func:`generate` draws the region and its years, one step a function.

Deterministic for a seed, and arrays throughout (one row per stay: a million stays take about 70 MB a
year). The steps (parameters in :class:`~yibao.synth.payment_mix.YearParams`):

1. :func:`~yibao.synth.payment_mix.case_mix` — the region's combinations (诊断 + 手术): real 医保版 2.0
   codes, the 3,000 (principal diagnosis, principal procedure) pairs :mod:`yibao.payment.dip_history` draws
   from the CHS-DRG 1.1 tables for the demo's DIP catalogue (so its 病种 hold them), in its Zipf order
   (exponent 1.05). A combination's base cost is its ADRG's (so a DRG is homogeneous, as a grouping scheme
   means it to be) × ±8 % of its own; ADRG bases are log-normal with a long right tail, surgical ones 2.6 ×
   dearer, frequent ones cheaper;
2. :func:`~yibao.synth.payment_mix.hospitals` — 4 三级 / 12 二级 / 44 一级, volume shares 45 / 35 / 20 %,
   uneven within a level;
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

The years are grouped and aggregated into history by :mod:`yibao.synth.payment_history`, budgeted, priced
and cleared by :mod:`yibao.synth.payment_valuation`; :mod:`yibao.synth.payment_figures` computes the §10
sanity figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from yibao.money import FEN
from yibao.payment.cases import DrgCase
from yibao.payment.drg_pack import CC, MCC, DrgPack
from yibao.synth.payment_mix import LEVELS, CaseMix, Hospitals, YearParams, case_mix, hospitals

DISCHARGE_DIED, DISCHARGE_TRANSFER, DISCHARGE_AGAINST_ADVICE, DISCHARGE_HOME = 5, 2, 4, 1
NORMAL, LOW, HIGH = 0, 1, 2  # the cost draw: ε, the low mixture, the high mixture
LEVEL_INDEX = np.array([0, 2, 1, 0])  # dedc_hosp_lv → its place in LEVELS (and in the per-level parameters)


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
