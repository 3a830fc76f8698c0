"""Deriving the auxiliary subtype coefficients (辅助目录) of a catalogue build (payment-drg-dip.md §3.1).

The region lists the subtypes it wants in ``dip_aux_template.csv`` (``dimension,subtype,condition``, the
conditions of ``dip_aux``; within a dimension the first subtype that holds takes the case, so list the most
severe first or make the conditions exclusive). For every core group (not 基层: 同病同价) each of its cases
counted in the means falls in at most one subtype per dimension; a subtype with at least ``aux_min_cases``
cases gets the coefficient

    subtype mean cost ÷ core-group mean cost,

both weighted 1 : 2 : 7 over the years as the scores are, rounded half up to 4 places. A subtype no dearer
than its group (coefficient ≤ 1) adds nothing and is left out. The published method's further tests (the
group's CV ≥ 0.7, the split lowering CV by 20 %) are not applied: see docs/dip.md.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from yibao.payment.dip_aux import AuxRule, CciTable, facts_of, holds, parse_condition
from yibao.payment.dip_build import BuiltCatalogue, HistoryCase, fmt, rounded, weighted_mean, yearly_means
from yibao.payment.dip_catalogue import CORE
from yibao.payment.drg_tables import refuse

TEMPLATE_COLUMNS = ("dimension", "subtype", "condition")
AUX_COLUMNS = ("dip_code", "dimension", "subtype", "condition", "coefficient", "cases")


def parse_template(file: str, rows: list[tuple[int, dict[str, str]]], has_cci: bool) -> list[AuxRule]:
    """The subtypes to derive, in file order; refused with file, line and reason."""
    template: list[AuxRule] = []
    seen: dict[tuple[str, str], int] = {}
    for n, row in rows:
        key = (row["dimension"], row["subtype"])
        if not all(key):
            raise refuse(file, n, "dimension 和 subtype 不能为空")
        if key in seen:
            raise refuse(file, n, f"与第 {seen[key]} 行重复 (duplicate subtype)")
        seen[key] = n
        try:
            terms = parse_condition(row["condition"])
        except ValueError as exc:
            raise refuse(file, n, str(exc)) from None
        if not has_cci and any(t.kind == "cci" for t in terms):
            raise refuse(file, n, "条件用到 cci，但目录没有 dip_cci.csv (cci needs dip_cci.csv)")
        template.append(AuxRule("*", *key, row["condition"], terms, Decimal(1), n))
    return template


def derive_aux(built: BuiltCatalogue, template: list[AuxRule], cci: CciTable | None) -> list[list[str]]:
    """The ``dip_aux.csv`` rows (``AUX_COLUMNS``, header first) the history gives for the template."""
    s = built.settings
    weights, minimum = s["history_weights"], int(s["aux_min_cases"])
    out = [list(AUX_COLUMNS)]
    for row in built.rows:
        if row.dip_type != CORE:
            continue
        members: dict[int, dict[int, list[HistoryCase]]] = defaultdict(lambda: defaultdict(list))
        for year, cases in row.kept.items():
            for hc in cases:
                facts, _ = facts_of(hc.case, cci)
                taken: set[str] = set()
                for i, rule in enumerate(template):
                    if rule.dimension not in taken and all(holds(t, facts) for t in rule.terms):
                        taken.add(rule.dimension)
                        members[i][year].append(hc)
        group_mean = weighted_mean(yearly_means(row.kept), built.years, weights)
        for i, rule in enumerate(template):
            kept = members.get(i, {})
            count = sum(len(c) for c in kept.values())
            if count < minimum:
                continue
            coefficient = rounded(weighted_mean(yearly_means(kept), built.years, weights) / group_mean, 4)
            if coefficient > 1:
                out.append(
                    [
                        row.dip_code,
                        rule.dimension,
                        rule.subtype,
                        rule.condition,
                        fmt(coefficient, 4),
                        str(count),
                    ]
                )
    return out
