"""Building a region's DIP catalogue from three years of history (病种目录库构建, payment-drg-dip.md §3.1, §3.3).

The steps, one function each:

1. ``combination_of`` — each historical case's 病种 combination: the principal diagnosis's 亚目 (``K80.1``)
   + its qualifying procedures (sorted, joined by ``+``; none: 保守治疗), and its highest treatment type;
2. ``split_core`` — combinations with at least ``core_threshold`` cases over the years are core; the rest
   pool by 类目 × treatment type, a pool with fewer than ``comprehensive_min`` cases into its ICD-10
   chapter range × treatment type;
3. ``trim`` — per group and year, cases outside mean ± 3 SD are left out of the means (``trim: sd3``;
   ``p2.5-97.5`` keeps those between the 2.5th and 97.5th percentiles; ``none`` keeps all);
4. ``weighted_mean`` — per group, the yearly means weighted 1 : 2 : 7 (``history_weights``, oldest first;
   a year without cases drops out and the others' weights are rescaled), and the same for all cases (M);
5. ``score_of`` — RW = m / M, kept to ``rw_places``, and the score = RW × ``score_scale`` rounded half up to
   ``score_places`` (from the exact ratio: the §3.3 example gives RW 1.5019 and score 1,502).

Money is integer fen and every mean an exact fraction: nothing is a float.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from operator import attrgetter
from typing import NamedTuple, TypeVar

from yibao.money import Fen, div_round_half_up
from yibao.payment.cases import DrgCase
from yibao.payment.dip import procedure_type
from yibao.payment.dip_catalogue import BASIC, COMPREHENSIVE, CORE, TREATMENTS, DipParams

CHAPTERS = [
    "A00-B99",
    "C00-D48",
    "D50-D89",
    "E00-E90",
    "F00-F99",
    "G00-G99",
    "H00-H59",
    "H60-H95",
    "I00-I99",
    "J00-J99",
    "K00-K93",
    "L00-L99",
    "M00-M99",
    "N00-N99",
    "O00-O99",
    "P00-P96",
    "Q00-Q99",
    "R00-R99",
    "S00-T98",
    "U00-U99",
    "V01-Y98",
    "Z00-Z99",
]
"""ICD-10 chapters: the coarsest comprehensive pools."""
DEFAULTS = {
    "history_weights": ["0.1", "0.2", "0.7"],
    "core_threshold": 15,
    "comprehensive_min": 15,
    "score_scale": 1000,
    "score_places": 0,
    "rw_places": 4,
    "trim": "sd3",
    "basic": [],
    "aux_min_cases": 15,
}
TRIM_RULES = ("none", "sd3", "p2.5-97.5")
COLUMNS = ("dip_code", "dip_type", "diagnosis_key", "procedures", "treatment", "score", "rw", "cases", "name")


class HistoryCase(NamedTuple):
    """A case of the history: the grouping fields, its year and its total cost (医疗费总额) in fen; ``line``
    its line in the file read and ``extra`` the values of the further columns the reader was asked for."""

    case: DrgCase
    year: int
    cost: Fen
    line: int = 0
    extra: tuple[str, ...] = ()


class Combination(NamedTuple):
    key: str
    procedures: str
    treatment: str


@dataclass
class BuiltRow:
    dip_code: str
    dip_type: str
    key: str
    procedures: str
    treatment: str
    rw: Fraction
    cases: int
    kept: dict[int, list[HistoryCase]] = field(repr=False, default_factory=dict)
    """Year → the cases its means count (after trimming)."""


@dataclass
class BuiltCatalogue:
    rows: list[BuiltRow]
    all_mean: Fraction
    years: tuple[int, ...]
    cases: int
    core_cases: int
    settings: dict


def build_settings(params: DipParams) -> dict:
    settings = {**DEFAULTS, **params.build}
    weights = [Fraction(str(w)) for w in settings["history_weights"]]
    if any(w <= 0 for w in weights) or sum(weights) != 1:
        raise ValueError("history_weights 应为正数且和为 1 (weights must be positive and sum to 1)")
    if settings["trim"] not in TRIM_RULES:
        raise ValueError("trim 应为 none、sd3 或 p2.5-97.5")
    return {**settings, "history_weights": weights}


# --- step 1 ---------------------------------------------------------------------------------------------------


def subcategory(code: str) -> str:
    """The 亚目 of a 医保版 diagnosis: ``K80.100x001`` → ``K80.1``, ``I10.x00`` → ``I10.x``."""
    return code[:5]


def combination_of(case: DrgCase, types: dict[str, str], params: DipParams) -> Combination:
    qualifying, rank = set(), 0
    for code in case.procedures:
        kind = procedure_type(code, types)
        if kind is not None and kind in params.qualifying_types:
            qualifying.add(code)
            rank = max(rank, TREATMENTS.index(kind))
    return Combination(subcategory(case.diagnoses[0]), "+".join(sorted(qualifying)), TREATMENTS[rank])


# --- step 2 ---------------------------------------------------------------------------------------------------


def chapter_of(category: str) -> str:
    return next((c for c in CHAPTERS if c[:3] <= category <= c[4:]), "U00-U99")


def split_core(
    combos: list[tuple[Combination, HistoryCase]], core_threshold: int, comprehensive_min: int
) -> dict[tuple[str, str, str, str], list[HistoryCase]]:
    """Group identity (type, key, procedures, treatment) → its cases."""
    counts = Counter(c for c, _ in combos)
    groups: dict[tuple[str, str, str, str], list[HistoryCase]] = defaultdict(list)
    pooled: dict[tuple[str, str], list[HistoryCase]] = defaultdict(list)
    for combo, hc in combos:
        if counts[combo] >= core_threshold:
            groups[(CORE, combo.key, combo.procedures, "")].append(hc)
        else:
            pooled[(combo.key[:3], combo.treatment)].append(hc)
    for (category, treatment), cases in sorted(pooled.items()):
        key = category if len(cases) >= comprehensive_min else chapter_of(category)
        groups[(COMPREHENSIVE, key, "", treatment)].extend(cases)
    return groups


# --- steps 3–5 ------------------------------------------------------------------------------------------------


T = TypeVar("T")


def trim(cases: list[T], rule: str, cost: Callable[[T], int] = attrgetter("cost")) -> list[T]:
    """The cases kept for the mean: with ``sd3``, those whose cost is within mean ± 3 SD (population SD,
    exact: (x − mean)² ≤ 9 · variance); with ``p2.5-97.5``, those from the 2.5th to the 97.5th percentile
    (nearest rank: the ⌈0.025 n⌉-th and ⌈0.975 n⌉-th smallest costs). ``cost`` reads a case's cost in fen."""
    if rule not in TRIM_RULES:
        raise ValueError(f"trim 应为 none、sd3 或 p2.5-97.5: {rule}")
    if rule == "none" or len(cases) < 3:
        return cases
    n = len(cases)
    costs = [cost(c) for c in cases]
    if rule == "p2.5-97.5":
        ordered = sorted(costs)
        low, high = ordered[max(-(-n * 25 // 1000), 1) - 1], ordered[-(-n * 975 // 1000) - 1]
        return [c for c, x in zip(cases, costs, strict=True) if low <= x <= high]
    mean = Fraction(sum(costs), n)
    variance = sum((x - mean) ** 2 for x in costs) / n
    return [c for c, x in zip(cases, costs, strict=True) if (x - mean) ** 2 <= 9 * variance]


def yearly_means(kept: dict[int, list[HistoryCase]]) -> dict[int, Fraction]:
    return {y: Fraction(sum(c.cost for c in cases), len(cases)) for y, cases in kept.items() if cases}


def weighted_mean(
    yearly_means: dict[int, Fraction], years: tuple[int, ...], weights: list[Fraction]
) -> Fraction:
    """Σ w_y · mean_y over the years present, the weights rescaled to sum to 1 when a year is missing."""
    present = [(w, yearly_means[y]) for y, w in zip(years, weights, strict=True) if y in yearly_means]
    total = sum(w for w, _ in present)
    return sum((w * m for w, m in present), Fraction(0)) / total


def rounded(value: Fraction, places: int) -> Fraction:
    """Half up to ``places`` decimals (values here are positive)."""
    scale = 10**places
    return Fraction(div_round_half_up(value.numerator * scale, value.denominator), scale)


def score_of(group_mean: Fraction, all_mean: Fraction, scale: int, places: int) -> Fraction:
    """The published score: RW × scale from the exact RW, rounded half up to ``places``."""
    return rounded(group_mean / all_mean * scale, places)


def fmt(value: Fraction, places: int) -> str:
    scaled = value * 10**places
    assert scaled.denominator == 1
    text = str(scaled.numerator).rjust(places + 1, "0")
    return f"{text[:-places]}.{text[-places:]}" if places else text


def build_catalogue(
    history: Iterable[HistoryCase], types: dict[str, str], params: DipParams
) -> BuiltCatalogue:
    """The catalogue the history gives (every case must pass ``validate_codes``; the reader refuses the rest)."""
    s = build_settings(params)
    combos = [(combination_of(hc.case, types, params), hc) for hc in history]
    years = tuple(sorted({hc.year for _, hc in combos}))
    if len(years) != len(s["history_weights"]):
        raise ValueError(f"历史数据应恰好有 {len(s['history_weights'])} 个年度，实有 {len(years)}: {years}")
    groups = split_core(combos, s["core_threshold"], s["comprehensive_min"])
    kept_all: dict[int, list[HistoryCase]] = defaultdict(list)
    rows: list[BuiltRow] = []
    for (kind, key, procedures, treatment), cases in groups.items():
        by_year: dict[int, list[HistoryCase]] = defaultdict(list)
        for hc in cases:
            by_year[hc.year].append(hc)
        kept = {y: trim(c, s["trim"]) for y, c in sorted(by_year.items())}
        for y, c in kept.items():
            kept_all[y].extend(c)
        rows.append(BuiltRow("", kind, key, procedures, treatment, Fraction(0), len(cases), kept))
    all_mean = weighted_mean(yearly_means(kept_all), years, s["history_weights"])
    basic = {str(b) for b in s["basic"]}
    for row in rows:
        row.rw = weighted_mean(yearly_means(row.kept), years, s["history_weights"]) / all_mean
        if row.dip_type == CORE and (
            (row.key in basic and not row.procedures) or f"{row.key}:{row.procedures}" in basic
        ):
            row.dip_type = BASIC
    number_rows(rows)
    core_cases = sum(r.cases for r in rows if r.dip_type != COMPREHENSIVE)
    return BuiltCatalogue(rows, all_mean, years, len(combos), core_cases, s)


def number_rows(rows: list[BuiltRow]) -> None:
    """Stable codes: ``K80.1-00`` (保守治疗), ``K80.1-01`` … in procedure order; ``K80-Z4`` for a
    comprehensive pool (Z1 保守治疗 … Z4 相关手术), ``K00-K93-Z4`` for a chapter pool."""
    rows.sort(key=lambda r: (r.dip_type == COMPREHENSIVE, r.key, r.procedures, r.treatment))
    seen: Counter[str] = Counter()
    for row in rows:
        if row.dip_type == COMPREHENSIVE:
            row.dip_code = f"{row.key}-Z{TREATMENTS.index(row.treatment) + 1}"
        else:
            n = 0 if not row.procedures else seen[row.key] + 1
            seen[row.key] = max(seen[row.key], n)
            row.dip_code = f"{row.key}-{n:02d}"


def catalogue_rows(built: BuiltCatalogue) -> list[list[str]]:
    """The catalogue file's rows (``COLUMNS``), ready for ``csv.writer``."""
    s = built.settings
    out = [list(COLUMNS)]
    for row in built.rows:
        score = rounded(row.rw * s["score_scale"], s["score_places"])
        rw = rounded(row.rw, s["rw_places"])
        what = row.procedures or "保守治疗" if row.dip_type != COMPREHENSIVE else f"{row.treatment}（综合）"
        out.append(
            [
                row.dip_code,
                row.dip_type,
                row.key,
                row.procedures,
                row.treatment,
                fmt(score, s["score_places"]),
                fmt(rw, s["rw_places"]),
                str(row.cases),
                f"{row.key} {what}",
            ]
        )
    return out
