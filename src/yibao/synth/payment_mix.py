"""The synthetic payment region's parameters and what stays fixed across its years (payment-drg-dip.md §10):
the case mix — the combinations (诊断 + 手术) with their base costs (:func:`case_mix`, step 1) — and the
hospitals (:func:`hospitals`, step 2). The years' stays are drawn from them by
:mod:`yibao.synth.payment_region`."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from yibao.payment.cases import DrgCase
from yibao.payment.dip_history import COMORBID, combinations
from yibao.payment.drg import OK as DRG_OK
from yibao.payment.drg import group_case
from yibao.payment.drg_pack import DrgPack

# --- parameters ---------------------------------------------------------------------------------------------

LEVELS = (3, 2, 1)  # dedc_hosp_lv: 三级, 二级, 一级
POOLS = ("310", "390")  # 职工, 居民
CATALOGUE_SEED, CATALOGUE_GROUPS = 990100, 3_000  # dip_history's draw for the demo's DIP catalogue
ZIPF = 1.05
SURGICAL_FACTOR = 2.6  # a surgical ADRG's base over a medical one's


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
