"""The synthetic region's year valued without a store (payment-drg-dip.md §3.7–§3.8), with the pure modules
the services use, one function per step after the history (:mod:`yibao.synth.payment_history`):
:func:`pool_funds` and :func:`dip_scores` for :func:`yibao.payment.norms.build`, :func:`case_arrays` for
:func:`yibao.payment.period_pricing.price_arrays` and :func:`~yibao.payment.period_arrays.lines_of`, then
:func:`clear_year` (:mod:`yibao.payment.year_end`): the twelve months' pre-settlement, PV_settle per pool and
scheme, every line cleared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np

from yibao.payment import norms
from yibao.payment.budget import global_budget
from yibao.payment.clearing import month_line
from yibao.payment.exact import as_fraction, fen, times
from yibao.payment.grouping import Groupers
from yibao.payment.period import DIP, DRG, ONE4, Line, entitlement
from yibao.payment.period_arrays import CaseArrays, GroupArrays, PricedArrays, lines_of
from yibao.payment.year_end import Cleared, MonthsPaid, PoolValue, clear_line, settle_value
from yibao.synth.payment_history import grouped
from yibao.synth.payment_mix import POOLS
from yibao.synth.payment_region import Region, YearCases


def hospital_levels(region: Region) -> dict[str, int]:
    return {c: int(lv) for c, lv in zip(region.hospitals.code, region.hospitals.level, strict=True)}


def pool_funds(view, region: Region, last: YearCases, groups: GroupArrays) -> dict[str, norms.PoolFund]:
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


def paid_by_points(cases: YearCases, groups: GroupArrays, region: Region, view) -> np.ndarray:
    """The stays a DRG or DIP line pays (as :func:`yibao.payment.period.route` routes them): grouped at a DRG
    or DIP hospital, longer than the short stays, of no per-diem category."""
    point_scheme = np.array([s in (DRG, DIP) for s in groups.schemes])[groups.scheme]
    out = point_scheme & grouped(groups) & (cases.los > view.exclusions.short_stay_days)
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
    scores = {r.dip_code: int(r.score * ONE4) for r in cat.rows}
    return norms.DipScores(scores, {r.dip_code for r in cat.rows if r.dip_type == "basic"})


def case_arrays(cases: YearCases, region: Region) -> CaseArrays:
    """The stays as :func:`yibao.payment.period_pricing.price_arrays` reads them."""
    return CaseArrays(
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


def months_paid(ca: CaseArrays, priced: PricedArrays, month: np.ndarray, norms_map, view) -> dict:
    """What the twelve month runs paid each line (§3.7 step 2): each month's lines valued at the budget PV or
    rate, ``payout_ratio`` of the fund's part paid and the rest withheld — {(hospital, pool, method):
    MonthsPaid}."""
    acc: dict[tuple[str, str, str], list[int]] = {}
    for m in range(1, 13):
        sel = np.flatnonzero(month == m)
        for ln in lines_of(rows_of(ca, sel), rows_of(priced, sel)):
            got = month_line(entitlement(ln, view.line_pv(ln, norms_map)), ln.personal_fen, view.payout_ratio)
            row = acc.setdefault((ln.fixmedins_code, ln.pool, ln.method), [0, 0, 0])
            row[0], row[1], row[2] = row[0] + got.owed, row[1] + got.paid, row[2] + got.deposit
    return {k: MonthsPaid(*v) for k, v in acc.items()}


@dataclass(frozen=True)
class ClearedYear:
    """The year cleared (§3.7 steps 3–4): the settlement PV of each point-method pool and scheme, and each
    hospital line with its entitlement and clearing."""

    values: dict[tuple[str, str], PoolValue]
    lines: list[Line]
    entitlements: list[int]
    cleared: list[Cleared]


def clear_year(
    ca: CaseArrays,
    priced: PricedArrays,
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
    lines = lines_of(ca, priced)
    values = {}
    for b in budgets:
        if b.scheme == DRG and view.drg_rate_mode == "fixed":
            continue
        mine = [ln for ln in lines if ln.pool == b.pool and ln.method == b.scheme]
        pv = view.point_value
        places = view.drg.rate_places if b.scheme == DRG else pv.places
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
        ent = entitlement(ln, value.pv_settle if value else view.line_pv(ln, {}))
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
