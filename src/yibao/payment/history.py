"""Inpatient history for case payment (历史数据): the yearly aggregates weights, group means and the budget
point value come from, and the norms computed from them. Pure: no store, no files.

One function per step (payment-drg-dip.md §3.3, §3.5, §3.7, §4.3, §4.4, §10):

1. :func:`records_of` — a case grouped by each scheme in effect: one :class:`CaseRecord` per kind (drg, dip);
2. :func:`aggregate` — per group and year the costs are trimmed (``dip.yaml``'s ``trim`` rule: ``sd3``,
   ``p2.5-97.5`` or ``none``, :func:`yibao.payment.dip_build.trim`), then the kept cases summed per
   year × pool × hospital × kind × group into :class:`HistoryRow`\\ s. Only grouped cases (status ``ok``)
   count; DRG 歧义 / 未入组 and DIP 未入组 cases are left out and counted;
3. :func:`synthetic_history` — the demo's past years, derived from its one settled year (synthetic);
4. the norms of a budget year Y from the rows of Y−3 … Y−1 and the year weights (:func:`year_weights`,
   1 : 2 : 7 oldest → newest): :func:`drg_weights` (RW), :func:`level_means` (A_g by hospital level),
   :func:`history_points` and :func:`history_cost` (PV_budget = Σ w·cost ÷ Σ w·points), :func:`forecast_weight4`
   (Σ RW × forecast cases) and :func:`cost_share_by_scheme` (splitting a pool's budget over schemes).

Money is integer fen, weights and points are integers of 1e-4 (``rw4``, ``weight4``, ``points4``); every
intermediate value is an exact :class:`~fractions.Fraction`, rounded half up only where a figure is returned
to be stored.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor
from operator import attrgetter
from typing import NamedTuple

from yibao.payment import dip_build
from yibao.payment.cases import DrgCase
from yibao.payment.exact import Ratio, as_fraction
from yibao.payment.exact import fen as half_up  # round half up to a whole unit (fen, 1e-4 RW, a case)

DRG, DIP = "drg", "dip"
KINDS = (DRG, DIP)
OK = "ok"
POOLS = ("310", "390")
"""The pooled funds case payment is budgeted for (统筹基金池): 310 职工, 390 居民."""
SCALE4 = 10_000  # weights, coefficients and points are integers of 1e-4
NOISE = Fraction(5, 100)  # synthetic history: ±5 % per group
MIN_KEPT = 5  # synthetic history: a group with at least this many current cases keeps a case every year

Grouper = Callable[[DrgCase], tuple[str, str]]
"""Groups one case: (status, group code) — ``ok`` and the DRG or DIP code, or why not (``qy``, ``ungrouped``)."""


class CaseRecord(NamedTuple):
    """One case as the history counts it, grouped by one scheme (``kind`` drg or dip)."""

    year: int
    pool: str  # insutype: 310 职工, 390 居民
    fixmedins_code: str
    level: int  # dedc_hosp_lv 1/2/3
    kind: str
    group_code: str
    cost_fen: int  # 医疗费总额
    los: int
    died: bool
    status: str = OK


class HistoryRow(NamedTuple):
    """The kept cases of one year × pool × hospital × kind × group (a ``payment_history`` row)."""

    year: int
    pool: str
    fixmedins_code: str
    level: int
    kind: str
    group_code: str
    cases: int
    cost_fen: int
    los_days: int
    deaths: int


@dataclass
class Aggregated:
    """What :func:`aggregate` made: the rows, the cases left out because they were not grouped, by
    (year, kind, status), and the cases trimmed away as outliers, by (year, kind)."""

    rows: list[HistoryRow]
    left_out: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    trimmed: Counter[tuple[int, str]] = field(default_factory=Counter)


class SummaryLine(NamedTuple):
    year: int
    pool: str
    kind: str
    cases: int
    cost_fen: int
    groups: int
    hospitals: int


# --- steps 1 and 2: cases → rows -------------------------------------------------------------------------


def records_of(
    case: DrgCase,
    groupers: Mapping[str, Grouper],
    *,
    year: int,
    pool: str,
    fixmedins_code: str,
    level: int,
    cost_fen: int,
) -> list[CaseRecord]:
    """The case grouped by each scheme of ``groupers`` (kind → grouper), one record per kind."""
    out = []
    for kind, grouper in groupers.items():
        status, code = grouper(case)
        out.append(
            CaseRecord(
                year,
                pool,
                fixmedins_code,
                level,
                kind,
                code,
                cost_fen,
                case.los or 0,
                case.dscg_way == "5",  # 离院方式 5 死亡
                status,
            )
        )
    return out


def aggregate(cases: Iterable[CaseRecord], trim: str) -> Aggregated:
    """The yearly aggregates of grouped cases: outliers trimmed per group and year over the whole region (every
    pool and hospital, as the catalogue build trims), then the kept cases summed per year × pool × hospital ×
    kind × group. ``trim``: ``sd3``, ``p2.5-97.5`` or ``none``."""
    if trim not in dip_build.TRIM_RULES:
        raise ValueError(f"trim 应为 none、sd3 或 p2.5-97.5: {trim}")
    done = Aggregated([])
    groups: dict[tuple[int, str, str], list[CaseRecord]] = defaultdict(list)
    for c in cases:
        if c.status != OK:
            done.left_out[(c.year, c.kind, c.status)] += 1
        else:
            groups[(c.year, c.kind, c.group_code)].append(c)
    sums: dict[tuple[int, str, str, str, str], list[int]] = {}
    for (year, kind, _), members in groups.items():
        kept = dip_build.trim(members, trim, attrgetter("cost_fen"))
        if len(kept) < len(members):
            done.trimmed[(year, kind)] += len(members) - len(kept)
        for c in kept:
            key = (c.year, c.pool, c.fixmedins_code, c.kind, c.group_code)
            row = sums.setdefault(key, [c.level, 0, 0, 0, 0])
            row[1] += 1
            row[2] += c.cost_fen
            row[3] += c.los
            row[4] += c.died
    done.rows = [
        HistoryRow(year, pool, h, level, kind, group, n, cost, los, deaths)
        for (year, pool, h, kind, group), (level, n, cost, los, deaths) in sorted(sums.items())
    ]
    return done


# --- step 3: the demo's past years ------------------------------------------------------------------------


def uniform(seed: int, *parts: object, steps: int = 1_000_000) -> Fraction:
    """A deterministic draw in [0, 1) (``steps`` steps) for ``parts``: the same seed and parts give the same
    draw on every machine and Python version (SHA-256, not the process's random state)."""
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big") % steps, steps)


def noise(seed: int, *parts: object) -> Fraction:
    """A deterministic factor in [0.95, 1.05] (steps of 0.0001) for ``parts``."""
    step = uniform(seed, *parts, steps=1001) * 1001  # 0 … 1000
    return 1 + NOISE * (step - 500) / 500


def synthetic_history(
    current: list[HistoryRow],
    year: int,
    years: int = 3,
    volume_growth: Ratio = Decimal("0.05"),
    inflation: Ratio = Decimal("0.03"),
    seed: int = 990100,
) -> list[HistoryRow]:
    """The ``years`` years before ``year``, derived from ``year``'s rows (SYNTHETIC: the demo has one settled
    year; payment-drg-dip.md §10 gives 3–8 %/yr volume growth and 2–4 %/yr inflation).

    Year ``year − k`` of a row with n cases and cost C has ``min(n, ⌊n × v / (1 + g)^k + u⌋)`` cases and
    ``round(cases × C/n × c_k / (1 + i)^k)`` fen, its LOS days and deaths in proportion to its cases, where v
    is a volume factor of the group (fixed over the years) and c_k a cost factor of the group and year, both in
    [0.95, 1.05] (:func:`noise`), and u a draw in [0, 1) of the row (:func:`uniform`), fixed over the years:
    rounding that is right on average, so that a hospital's single case of a group is sometimes gone a year
    earlier, and never comes back (the volume only falls going back). The largest row of a group with at least
    five current cases keeps at least one case, so the group has cases every year. Rows left with no case are
    dropped."""
    g, i = as_fraction(volume_growth), as_fraction(inflation)
    if years < 1 or g < 0 or i <= -1:
        raise ValueError("years ≥ 1, volume growth ≥ 0 and inflation > −1")
    if any(r.year != year for r in current):
        raise ValueError(f"current rows must all be of {year}")
    by_group: dict[tuple[str, str], list[HistoryRow]] = defaultdict(list)
    for r in current:
        if r.cases > 0:
            by_group[(r.kind, r.group_code)].append(r)
    out: list[HistoryRow] = []
    for (kind, group), rows in sorted(by_group.items()):
        v = noise(seed, kind, group, "volume")
        keep = max(rows, key=lambda r: (r.cases, r[:6])) if sum(r.cases for r in rows) >= MIN_KEPT else None
        dither = {r: uniform(seed, kind, group, r.pool, r.fixmedins_code, "rounding") for r in rows}
        for k in range(1, years + 1):
            counts = {r: min(r.cases, floor(r.cases * v / (1 + g) ** k + dither[r])) for r in rows}
            if keep is not None:
                counts[keep] = max(counts[keep], 1)
            cost = noise(seed, kind, group, year - k) / (1 + i) ** k
            out.extend(deflated(r, n, year - k, cost) for r, n in counts.items() if n)
    return sorted(out)


def deflated(r: HistoryRow, n: int, year: int, cost_factor: Fraction) -> HistoryRow:
    """``r`` in ``year`` with ``n`` cases, its mean cost × ``cost_factor``."""
    share = Fraction(n, r.cases)
    return r._replace(
        year=year,
        cases=n,
        cost_fen=half_up(r.cost_fen * share * cost_factor),
        los_days=half_up(r.los_days * share),
        deaths=half_up(r.deaths * share),
    )


# --- step 4: the norms of a budget year ---------------------------------------------------------------------


def year_weights(budget_year: int, weights: Sequence[Ratio]) -> dict[int, Fraction]:
    """The history years of ``budget_year`` and their weights, oldest first: ``[0.1, 0.2, 0.7]`` for 2026 →
    {2023: 1/10, 2024: 1/5, 2025: 7/10}. The weights must be positive and sum to 1."""
    ws = [as_fraction(w) for w in weights]
    if not ws or any(w <= 0 for w in ws) or sum(ws) != 1:
        raise ValueError("history_weights 应为正数且和为 1 (weights must be positive and sum to 1)")
    first = budget_year - len(ws)
    return {first + n: w for n, w in enumerate(ws)}


def _selected(
    rows: Iterable[HistoryRow], kind: str, years: Collection[int] | None, pools: Collection[str] | None
) -> list[HistoryRow]:
    return [
        r
        for r in rows
        if r.kind == kind
        and r.cases > 0
        and (years is None or r.year in years)
        and (pools is None or r.pool in pools)
    ]


def _weighted_mean(sums: Mapping[int, list[int]], weights: Mapping[int, Fraction]) -> Fraction:
    """Σ w_y · (cost_y ÷ cases_y) over the years present, the weights renormalised over them (a year
    without cases drops out: :func:`yibao.payment.dip_build.weighted_mean`)."""
    years = tuple(sorted(weights))
    means = {y: Fraction(cost, n) for y, (n, cost) in sums.items() if n}
    return dip_build.weighted_mean(means, years, [weights[y] for y in years])


def drg_weights(
    rows: Iterable[HistoryRow],
    weights: Mapping[int, Ratio],
    places: int = 4,
    *,
    pools: Collection[str] | None = None,
) -> dict[str, int]:
    """Each DRG's relative weight RW_g = m_g ÷ M (§3.3, §4.3) as an integer of 10^-``places`` (rw4 by
    default), rounded half up from the exact ratio: m_g = Σ_y w_y × the group's mean cost in year y and
    M = Σ_y w_y × the mean cost of every DRG case in y, over the DRG rows of the years of ``weights`` (year →
    weight) and of ``pools`` (None: every pool). A group missing in a year has its weights renormalised over
    the years it has (a group new last year weighs on last year's mean alone)."""
    ws = {y: as_fraction(w) for y, w in weights.items()}
    by_group: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    everyone: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in _selected(rows, DRG, ws, pools):
        for sums in (by_group[r.group_code][r.year], everyone[r.year]):
            sums[0] += r.cases
            sums[1] += r.cost_fen
    big_m = _weighted_mean(everyone, ws) if everyone else Fraction(0)
    if big_m <= 0:
        return {}
    return {g: half_up(_weighted_mean(sums, ws) / big_m * 10**places) for g, sums in sorted(by_group.items())}


def level_means(
    rows: Iterable[HistoryRow], year: int, kind: str, *, pools: Collection[str] | None = None
) -> dict[tuple[str, int], int]:
    """The mean cost of each group in ``year`` at hospitals of each level (§3.5's A_g), and at every level
    (level 0), in fen rounded half up: {(group, level): mean_fen}."""
    sums: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in _selected(rows, kind, (year,), pools):
        for key in ((r.group_code, r.level), (r.group_code, 0)):
            sums[key][0] += r.cases
            sums[key][1] += r.cost_fen
    return {key: half_up(Fraction(cost, n)) for key, (n, cost) in sorted(sums.items())}


def history_points(
    rows: Iterable[HistoryRow],
    kind: str,
    weight4_of_group: Mapping[str, int],
    level_coef4: Mapping[int, int],
    *,
    basic: Collection[str] = (),
    pools: Collection[str] | None = None,
) -> dict[int, int]:
    """Each year's points (points4) as the norms price them (§3.7 step 1): Σ cases × weight × level
    coefficient — DRG: RW × level coefficient; DIP: score × level coefficient (基层病种 in ``basic``: 1; the
    auxiliary coefficients and deviation cases are not in the history). A group without a weight is skipped:
    pass the same groups to :func:`history_cost`."""
    exact: dict[int, Fraction] = defaultdict(Fraction)
    for r in _selected(rows, kind, None, pools):
        weight4 = weight4_of_group.get(r.group_code)
        if weight4 is None:
            continue
        if r.group_code in basic:
            coef4 = SCALE4
        elif r.level in level_coef4:
            coef4 = level_coef4[r.level]
        else:
            raise ValueError(f"没有 {r.level} 级医院的系数 (no level coefficient for level {r.level})")
        exact[r.year] += Fraction(r.cases * weight4 * coef4, SCALE4)
    return {y: half_up(p) for y, p in sorted(exact.items())}


def history_cost(
    rows: Iterable[HistoryRow],
    kind: str,
    *,
    groups: Collection[str] | None = None,
    pools: Collection[str] | None = None,
) -> dict[int, int]:
    """Each year's total cost in fen of the ``kind`` rows (of ``groups``; None: every group)."""
    out: dict[int, int] = defaultdict(int)
    for r in _selected(rows, kind, None, pools):
        if groups is None or r.group_code in groups:
            out[r.year] += r.cost_fen
    return dict(sorted(out.items()))


def forecast_weight4(
    rows: Iterable[HistoryRow],
    year_last: int,
    rw4: Mapping[str, int],
    growth: Ratio,
    *,
    pools: Collection[str] | None = None,
) -> int:
    """The forecast total weight (weight4) of the budget year (§4.4): Σ_g RW_g × cases_g of ``year_last`` ×
    (1 + growth), over the DRG rows; a group without a weight counts nothing."""
    total = sum(rw4.get(r.group_code, 0) * r.cases for r in _selected(rows, DRG, (year_last,), pools))
    return half_up(total * (1 + as_fraction(growth)))


def cost_share_by_scheme(
    rows: Iterable[HistoryRow],
    scheme_of: Callable[[str], str | None],
    weights: Mapping[int, Ratio] | None = None,
) -> dict[str, int]:
    """The weighted history cost (fen) of the hospitals under each scheme (``scheme_of``: hospital → drg, dip
    or None for neither), the shares a pool's budget is split by: Σ_y w_y × cost of year y (``weights`` None:
    every year 1). Each case counts once: a hospital's rows of its own scheme's kind, or its DRG rows in a
    year with no rows of that kind (before the region paid by DIP)."""
    rows = list(rows)
    kinds_of_year = {(r.year, r.kind) for r in rows}
    ws = None if weights is None else {y: as_fraction(w) for y, w in weights.items()}
    out: dict[str, Fraction] = defaultdict(Fraction)
    for r in rows:
        scheme = scheme_of(r.fixmedins_code)
        if scheme is None or (ws is not None and r.year not in ws):
            continue
        counted = scheme if (r.year, scheme) in kinds_of_year else DRG
        if r.kind == counted:
            out[scheme] += r.cost_fen * (1 if ws is None else ws[r.year])
    return {s: half_up(v) for s, v in sorted(out.items())}


# --- the summary the commands print -------------------------------------------------------------------------


def summary(rows: Iterable[HistoryRow]) -> list[SummaryLine]:
    """Per year × pool × kind: cases, cost, groups and hospitals."""
    sums: dict[tuple[int, str, str], list] = defaultdict(lambda: [0, 0, set(), set()])
    for r in rows:
        s = sums[(r.year, r.pool, r.kind)]
        s[0] += r.cases
        s[1] += r.cost_fen
        s[2].add(r.group_code)
        s[3].add(r.fixmedins_code)
    return [
        SummaryLine(y, p, k, n, cost, len(groups), len(hospitals))
        for (y, p, k), (n, cost, groups, hospitals) in sorted(sums.items())
    ]
