"""DIP auxiliary subdivisions (辅助目录, payment-drg-dip.md §3.1): severity subtypes of a core 病种 as data.

``dip_aux.csv`` lists, per core group (``dip_code``, or ``*`` for every core group), subtypes in dimensions
(``cci`` Charlson-type comorbidity, ``severity``, ``age``, ``tumour`` …), each with a condition and a
coefficient (subtype mean cost ÷ core-group mean cost). A condition is terms joined by ``&``:

* ``cci>=2`` — the case's comorbidity score (``dip_cci.csv``: diagnosis prefix or range → weight, counted
  once per ``family`` at its highest weight, over the secondary diagnoses);
* ``age<1``, ``age>=80``, ``age_days<29`` — age in whole years or in days (comparisons ``<``, ``<=``,
  ``>``, ``>=``, ``=``);
* ``death`` — discharged dead (离院方式 5);
* ``dx:C77-C80``, ``dx:Z51.1`` — a secondary diagnosis in the range or with the prefix;
* ``px:92.2`` — a procedure with the prefix (radiotherapy …).

Within a dimension the first row that holds wins (a group's own rows before the ``*`` rows, then file
order: list the most severe subtype first); across dimensions the coefficients combine by the parameter
``aux_combine`` (``max`` by default, or ``product``). Nothing here depends on the order of the diagnoses.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from yibao.payment.cases import DrgCase, normalise_code
from yibao.payment.drg_tables import refuse

ALL_GROUPS = "*"
INFANT_DAYS = 365
COEFFICIENT = Decimal("0.0001")
"""A product of coefficients is rounded half up to 4 places, as published coefficients are."""
COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
NUMERIC = re.compile(r"(cci|age_days|age)(>=|<=|>|<|=)(\d{1,6})")
DX_PREFIX = re.compile(r"[A-Z]\d{2}(?:\.[0-9A-Za-z]{1,10})?")
DX_RANGE = re.compile(r"([A-Z]\d{2})-([A-Z]\d{2})")
PX_PREFIX = re.compile(r"\d{2}(?:\.[0-9A-Za-z]{1,10})?")


class Term(NamedTuple):
    """One term of a condition: ``kind`` cci / age / age_days / death / dx / px, its comparison and value."""

    kind: str
    op: str
    value: int | str


@dataclass(frozen=True, slots=True)
class AuxRule:
    dip_code: str
    dimension: str
    subtype: str
    condition: str
    terms: tuple[Term, ...]
    coefficient: Decimal
    line: int


@dataclass(frozen=True)
class CciTable:
    """Diagnosis prefix (3-character categories of a range expanded) → (weight, family)."""

    weights: dict[str, tuple[int, str]]
    lengths: tuple[int, ...]


class AuxFacts(NamedTuple):
    """What the auxiliary conditions read from a case."""

    cci: int
    age: int
    age_days: int
    dscg_way: str
    others: frozenset[str]
    procedures: frozenset[str]


def categories(low: str, high: str) -> list[str]:
    """``C00``–``C03`` → ``C00, C01, C02, C03`` (across letters too: ``S00-T98``)."""

    def ordinal(c: str) -> int:
        return (ord(c[0]) - 65) * 100 + int(c[1:])

    return [f"{chr(65 + i // 100)}{i % 100:02d}" for i in range(ordinal(low), ordinal(high) + 1)]


def parse_cci(file: str, rows: list[tuple[int, dict[str, str]]]) -> CciTable:
    weights: dict[str, tuple[int, str]] = {}
    for n, row in rows:
        text = normalise_code(row["prefix"])
        m = DX_RANGE.fullmatch(text)
        if m and m.group(1) <= m.group(2):
            prefixes = categories(m.group(1), m.group(2))
        elif DX_PREFIX.fullmatch(text):
            prefixes = [text]
        else:
            raise refuse(file, n, f"应为诊断前缀或区间，如 I21、I25.2、C00-C26: {row['prefix'][:24]!r}")
        if not row["weight"].isdigit() or not row["family"]:
            raise refuse(file, n, "权重应为非负整数，family 不能为空 (weight, family)")
        for prefix in prefixes:
            if prefix in weights:
                raise refuse(file, n, f"前缀 {prefix} 重复 (duplicate prefix)")
            weights[prefix] = (int(row["weight"]), row["family"])
    return CciTable(weights, tuple(sorted({len(p) for p in weights}, reverse=True)))


def cci_score(table: CciTable, others: frozenset[str]) -> tuple[int, dict[str, int]]:
    """The comorbidity score of the secondary diagnoses: per family its highest weight, summed."""
    families: dict[str, int] = {}
    for code in others:
        for length in table.lengths:
            hit = table.weights.get(code[:length])
            if hit is not None:
                weight, family = hit
                families[family] = max(families.get(family, 0), weight)
                break
    return sum(families.values()), families


def parse_condition(text: str) -> tuple[Term, ...]:
    """The terms of a condition; raises ``ValueError`` with the reason."""
    terms = []
    for part in text.replace(" ", "").split("&"):
        if m := NUMERIC.fullmatch(part):
            terms.append(Term(m.group(1), m.group(2), int(m.group(3))))
        elif part == "death":
            terms.append(Term("death", "=", "5"))
        elif part.startswith(("dx:", "px:")):
            kind, value = part[:2], normalise_code(part[3:])
            ok = (
                (DX_PREFIX.fullmatch(value) or DX_RANGE.fullmatch(value))
                if kind == "dx"
                else PX_PREFIX.fullmatch(value)
            )
            if not ok:
                raise ValueError(f"{kind}: 后应为编码前缀或区间: {part[:24]}")
            terms.append(Term(kind, "in", value))
        else:
            raise ValueError(
                f"无法识别的条件 (unknown term): {part[:24]!r}; 可用 cci、age、age_days、death、dx:、px:"
            )
    return tuple(terms)


def parse_aux(
    file: str, rows: list[tuple[int, dict[str, str]]], codes: dict[str, int], has_cci: bool
) -> dict[str, tuple[AuxRule, ...]]:
    """``dip_code`` → its subtype rules in file order; every code must be in the catalogue (or ``*``)."""
    found: dict[str, list[AuxRule]] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for n, row in rows:
        code = row["dip_code"]
        if code != ALL_GROUPS and code not in codes:
            raise refuse(file, n, f"dip_code {code[:24]} 不在病种目录中 (unknown group)")
        if not row["dimension"] or not row["subtype"]:
            raise refuse(file, n, "dimension 和 subtype 不能为空")
        key = (code, row["dimension"], row["subtype"])
        if key in seen:
            raise refuse(file, n, f"与第 {seen[key]} 行重复 (duplicate subtype)")
        seen[key] = n
        try:
            terms = parse_condition(row["condition"])
            coefficient = Decimal(row["coefficient"])
        except (ValueError, InvalidOperation) as exc:
            reason = (
                "系数不是数字 (coefficient is not a number)"
                if isinstance(exc, InvalidOperation)
                else str(exc)
            )
            raise refuse(file, n, reason) from None
        if not coefficient.is_finite() or coefficient <= 0:
            raise refuse(file, n, f"系数应大于 0: {row['coefficient'][:20]}")
        if not has_cci and any(t.kind == "cci" for t in terms):
            raise refuse(file, n, "条件用到 cci，但目录没有 dip_cci.csv (cci needs dip_cci.csv)")
        found.setdefault(code, []).append(
            AuxRule(code, row["dimension"], row["subtype"], row["condition"], terms, coefficient, n)
        )
    return {k: tuple(v) for k, v in found.items()}


def facts_of(case: DrgCase, cci: CciTable | None) -> tuple[AuxFacts, dict[str, int]]:
    """What the conditions read from a case, and the comorbidity families that made its CCI. Age in days
    counts only for infants (an adult whose 不足1周岁年龄 is 0 is ``age × 365`` days old), as in the DRG
    grouper."""
    others = frozenset(case.diagnoses[1:])
    score, families = cci_score(cci, others) if cci is not None else (0, {})
    days = case.age_days if case.age == 0 or case.age_days >= INFANT_DAYS else case.age * INFANT_DAYS
    return AuxFacts(score, case.age, days, case.dscg_way, others, frozenset(case.procedures)), families


def holds(term: Term, f: AuxFacts) -> bool:
    if term.kind == "death":
        return f.dscg_way == "5"
    if term.kind in ("dx", "px"):
        codes = f.others if term.kind == "dx" else f.procedures
        value = str(term.value)
        if m := DX_RANGE.fullmatch(value):
            return any(m.group(1) <= c[:3] <= m.group(2) for c in codes)
        return any(c.startswith(value) for c in codes)
    number = {"cci": f.cci, "age": f.age, "age_days": f.age_days}[term.kind]
    return COMPARE[term.op](number, int(term.value))


def aux_coefficient(
    rules: tuple[AuxRule, ...], f: AuxFacts, combine: str
) -> tuple[Decimal, tuple[AuxRule, ...]]:
    """The coefficient and the subtype rows that gave it (one per dimension at most); 1 with none."""
    chosen: dict[str, AuxRule] = {}
    for rule in rules:
        if rule.dimension not in chosen and all(holds(t, f) for t in rule.terms):
            chosen[rule.dimension] = rule
    if not chosen:
        return Decimal(1), ()
    hits = tuple(chosen.values())
    if combine == "product":
        value = Decimal(1)
        for rule in hits:
            value *= rule.coefficient
        return value.quantize(COEFFICIENT, ROUND_HALF_UP), hits
    best = max(hits, key=lambda r: r.coefficient)
    return best.coefficient, (best,)
