"""Pricing a period's cases (按病例付费 for a month or a year): route each case to its payment method, price
the DRG and DIP cases by their scheme's norms, and total them per hospital, pool and method. Pure.

The steps follow payment-drg-dip.md §3.8: the cases come grouped (:func:`grouping_of`), :func:`route` picks
the method (the hospital's scheme, per-diem for the policy's categories and long stays, FFS for short stays
and what cannot be grouped), :func:`price` values the points and the money outside points, and
:func:`hospital_lines` adds them up per hospital, pool and method — the rounding to the fen happens there,
once per line (§0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from yibao.payment import pricing
from yibao.payment.perdiem import Segment, perdiem_payable

DIP, DRG, PERDIEM, FFS, CAPITATION = "dip", "drg", "perdiem", "ffs", "capitation"
METHOD_NAMES = {
    DIP: "DIP 按病种分值",
    DRG: "DRG 按病组",
    PERDIEM: "按床日",
    FFS: "按项目",
    CAPITATION: "按人头",
}
ONE4 = 10_000  # a coefficient of 1, ×10⁴


@dataclass(frozen=True)
class Case:
    """One discharge as pricing reads it (money in fen)."""

    setl_id: str
    fixmedins_code: str
    level: int  # dedc_hosp_lv 1/2/3
    pool: str
    dscg_date: date
    los: int
    died: bool
    cost_fen: int
    personal_fen: int
    fund_fen: int
    principal: str  # principal diagnosis (医保版 ICD-10)


class Grouping(NamedTuple):
    """A case's group under its hospital's scheme: ``weight4`` is a DIP score × 10⁴ (DRG weights come from
    the norms), ``aux4`` the DIP auxiliary coefficient × 10⁴, ``basic`` a 基层病种 (level coefficient 1)."""

    kind: str
    status: str  # ok | qy | ungrouped
    group_code: str
    weight4: int = 0
    aux4: int = ONE4
    basic: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Norms:
    """A pool and scheme's norms for the year: the point value or rate used, weights (DRG RW × 10⁴ by group)
    and the group mean costs by hospital level (``A_g``; level 0 every level)."""

    scheme: str
    pool: str
    pv: Decimal
    weights: Mapping[str, int] = field(default_factory=dict)
    means: Mapping[tuple[str, int], int] = field(default_factory=dict)

    def mean(self, group: str, level: int) -> int:
        return self.means.get((group, level)) or self.means.get((group, 0)) or 0


class Priced(NamedTuple):
    """A priced case: how it is paid and the figures its statement row shows."""

    method: str
    group_code: str
    cost_class: str  # normal | high | low
    extreme: bool
    r4: int  # cost ÷ base × 10⁴, -1 without a base
    base_fen: int
    weight4: int
    coef4: int
    points4: int
    extra_fen: int  # money outside the points: DRG excess or FFS part, per-diem payable, FFS case
    note: str = ""


class Route(NamedTuple):
    method: str
    note: str = ""
    category: str = ""  # the per-diem category


def route(case: Case, scheme: str, grouping: Grouping | None, policy) -> Route:
    """How a case is paid (§4.5's exclusions, §6): the hospital's scheme unless the stay is a per-diem
    category or long, short, or cannot be grouped."""
    if scheme == FFS:
        return Route(FFS, "本院按项目付费")
    category = policy.perdiem_category(case.principal, case.los)
    if category:
        return Route(PERDIEM, f"按床日: {category}", category)
    if case.los <= policy.exclusions.short_stay_days:
        return Route(FFS, f"住院 {case.los} 天 ≤ {policy.exclusions.short_stay_days} 天, 按项目")
    if grouping is None or grouping.status != "ok":
        why = grouping.reason if grouping else "无分组结果"
        return Route(FFS, f"未入组, 按项目: {why}")
    return Route(scheme)


def level_coef4(policy, level: int, basic: bool) -> int:
    """The hospital-level coefficient × 10⁴ (1 for a 基层病种 where the policy says so)."""
    if basic and policy.basic_groups_level_one:
        return ONE4
    return int(policy.level_coef[level] * ONE4)


def price_dip(cases: Sequence[Case], groups: Sequence[Grouping], norms: Norms, policy) -> list[Priced]:
    """DIP cases of one pool: score × auxiliary × level coefficient, deviation by ``r`` (§3.4, §3.5)."""
    return _one_pool(_price_dip, cases, groups, norms, policy)


def price_drg(cases: Sequence[Case], groups: Sequence[Grouping], norms: Norms, policy) -> list[Priced]:
    """DRG cases of one pool: RW × level coefficient at the rate, outliers by the policy's strategy (§4.4, §4.5).
    A DRG without a weight in the norms is paid FFS (a group the history never saw)."""
    return _one_pool(_price_drg, cases, groups, norms, policy)


def _one_pool(
    pricer, cases: Sequence[Case], groups: Sequence[Grouping], norms: Norms, policy
) -> list[Priced]:
    """One pool's cases of one scheme priced by the array step ``pricer`` (:func:`_price_dip`, :func:`_price_drg`)."""
    if len(groups) != len(cases):
        raise ValueError("one grouping per case")
    if not cases:
        return []
    arrays = CaseArrays.of(cases)
    grouped = GroupArrays.of(groups, [norms.scheme] * len(groups))
    out = _Out(arrays, grouped.codes)
    pricer(np.arange(len(cases)), arrays, grouped, norms, policy, out)
    return out.done().priced()


def drg_coef4(policy, level: int) -> int:
    """Fixed rates are published per level (the coefficient is in the rate); a floating rate is one per
    pool, and the level coefficient goes into the points."""
    return ONE4 if policy.drg.rate_mode == "fixed" else level_coef4(policy, level, False)


def ffs_priced(case: Case, group_code: str, note: str) -> Priced:
    """Paid as charged (按项目): the fund's share the settlement recorded, the person's part as paid."""
    return Priced(
        FFS, group_code, "normal", False, -1, 0, 0, ONE4, 0, case.fund_fen + case.personal_fen, note
    )


def perdiem_priced(case: Case, category: str, policy) -> Priced:
    """Per bed-day (§6): the category's daily standard at the hospital's level, tapered by segment."""
    return _perdiem(case.level, case.los, case.cost_fen, category, policy)


def _perdiem(level: int, los: int, cost_fen: int, category: str, policy) -> Priced:
    pd = policy.perdiem
    daily = pd.categories[category].standards[str(level)]
    segments = [Segment(s.upto_day, s.factor) for s in pd.segments]
    got = perdiem_payable(los, daily, segments, pd.cap_k, cost_fen)
    note = f"{los} 天 × {daily / 100:.2f} 元" + (" (以实际费用封顶)" if got.capped else "")
    return Priced(PERDIEM, category, "normal", False, -1, daily, 0, ONE4, 0, got.payable_fen, note)


def price(
    cases: Sequence[Case],
    groupings: Sequence[Grouping | None],
    schemes: Sequence[str],
    norms: Mapping[tuple[str, str], Norms],
    policy,
) -> list[Priced]:
    """Every case of the period priced, in input order: routed, then the DRG and DIP cases of each pool in
    one vectorised batch against that pool's norms (``norms[(pool, scheme)]``). The work is
    :func:`price_arrays`'s, over the cases as arrays."""
    if len(groupings) != len(cases):
        raise ValueError("one grouping per case")
    return price_arrays(CaseArrays.of(cases), GroupArrays.of(groupings, schemes), norms, policy).priced()


class Line(NamedTuple):
    """A hospital's total of one pool and method for the period (fen; points × 10⁴)."""

    fixmedins_code: str
    pool: str
    method: str
    cases: int
    points4: int
    extra_fen: int
    cost_fen: int
    personal_fen: int
    fund_fen: int
    level: int = 0  # the hospital's level (a fixed DRG rate is by level)


def hospital_lines(cases: Sequence[Case], priced: Sequence[Priced]) -> list[Line]:
    """Σ per hospital, pool and method, in code order (points and money added exactly, rounded later)."""
    acc: dict[tuple[str, str, str], list[int]] = {}
    for c, p in zip(cases, priced, strict=True):
        row = acc.setdefault((c.fixmedins_code, c.pool, p.method), [0] * 6 + [c.level])
        row[0] += 1
        row[1] += p.points4
        row[2] += p.extra_fen
        row[3] += c.cost_fen
        row[4] += c.personal_fen
        row[5] += c.fund_fen
    return [Line(*key, *vals) for key, vals in sorted(acc.items())]


def entitlement(line: Line, pv: Decimal) -> int:
    """Points × PV rounded half up once for the line, plus the money outside the points (§0, §3.7)."""
    return (pricing.value_points(line.points4, pv) if line.points4 else 0) + line.extra_fen


# --- the same steps over a whole period as arrays (a million cases a year) --------------------------------

METHODS = (DIP, DRG, PERDIEM, FFS)
_M = {m: i for i, m in enumerate(METHODS)}
M_DIP, M_DRG, M_PERDIEM, M_FFS = range(len(METHODS))


def _vocabulary(values) -> tuple[np.ndarray, list]:
    """``values`` as indices into the list of their distinct values (in first-seen order)."""
    index: dict = {}
    return np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64), list(index)


class CaseArrays(NamedTuple):
    """A period's cases as parallel arrays, one row per case, as :func:`price_arrays` and :func:`lines_of`
    read them: ``hospital``, ``pool`` and ``principal`` index the vocabularies ``hospitals``, ``pools`` and
    ``principals``; money in fen."""

    hospital: np.ndarray
    level: np.ndarray
    pool: np.ndarray
    los: np.ndarray
    cost_fen: np.ndarray
    personal_fen: np.ndarray
    fund_fen: np.ndarray
    principal: np.ndarray
    hospitals: Sequence[str]
    pools: Sequence[str]
    principals: Sequence[str]

    @classmethod
    def of(cls, cases: Sequence[Case]) -> CaseArrays:
        hospital, hospitals = _vocabulary(c.fixmedins_code for c in cases)
        pool, pools = _vocabulary(c.pool for c in cases)
        principal, principals = _vocabulary(c.principal for c in cases)

        def ints(name: str) -> np.ndarray:
            return np.fromiter((getattr(c, name) for c in cases), np.int64, len(cases))

        return cls(
            hospital,
            ints("level"),
            pool,
            ints("los"),
            ints("cost_fen"),
            ints("personal_fen"),
            ints("fund_fen"),
            principal,
            hospitals,
            pools,
            principals,
        )

    @property
    def size(self) -> int:
        """The number of cases (``len`` is the tuple's)."""
        return len(self.cost_fen)


class GroupArrays(NamedTuple):
    """Each case's hospital scheme (``scheme``: index into ``schemes``) and grouping: ``status`` (index into
    ``statuses``; −1: no grouping), ``group`` (index into ``codes``), ``weight4``, ``aux4``, ``basic`` and
    ``reason`` (index into ``reasons``), as :class:`Grouping` has them."""

    scheme: np.ndarray
    status: np.ndarray
    group: np.ndarray
    weight4: np.ndarray
    aux4: np.ndarray
    basic: np.ndarray
    reason: np.ndarray
    schemes: Sequence[str]
    statuses: Sequence[str]
    codes: Sequence[str]
    reasons: Sequence[str]

    @classmethod
    def of(cls, groupings: Sequence[Grouping | None], schemes: Sequence[str]) -> GroupArrays:
        if len(groupings) != len(schemes):
            raise ValueError("one scheme per grouping")
        scheme, scheme_names = _vocabulary(schemes)
        blank = Grouping("", "", "")
        gs = [blank if g is None else g for g in groupings]
        status, statuses = _vocabulary(g.status for g in gs)
        status[[i for i, g in enumerate(groupings) if g is None]] = -1
        group, codes = _vocabulary(g.group_code for g in gs)
        reason, reasons = _vocabulary(g.reason for g in gs)
        n = len(gs)
        return cls(
            scheme,
            status,
            group,
            np.fromiter((g.weight4 for g in gs), np.int64, n),
            np.fromiter((g.aux4 for g in gs), np.int64, n),
            np.fromiter((g.basic for g in gs), bool, n),
            reason,
            scheme_names,
            statuses,
            codes,
            reasons,
        )


class PricedArrays(NamedTuple):
    """Every case priced, as arrays: ``method`` (index into :data:`METHODS`), ``group`` (index into
    ``codes``: the group, per-diem category or ``""`` its statement row shows), the figures of
    :class:`Priced` (``cost_class`` as :mod:`yibao.payment.pricing` numbers it) and ``note`` (object)."""

    method: np.ndarray
    group: np.ndarray
    cost_class: np.ndarray
    extreme: np.ndarray
    r4: np.ndarray
    base_fen: np.ndarray
    weight4: np.ndarray
    coef4: np.ndarray
    points4: np.ndarray
    extra_fen: np.ndarray
    note: np.ndarray
    codes: Sequence[str]

    def priced(self) -> list[Priced]:
        """The cases as :class:`Priced` rows, in order."""
        classes = [pricing.CLASS_NAMES[k] for k in range(len(pricing.CLASS_NAMES))]
        return [
            Priced(METHODS[m], self.codes[g], classes[k], x, r, b, w, c, p, e, t)
            for m, g, k, x, r, b, w, c, p, e, t in zip(
                self.method.tolist(),
                self.group.tolist(),
                self.cost_class.tolist(),
                self.extreme.tolist(),
                self.r4.tolist(),
                self.base_fen.tolist(),
                self.weight4.tolist(),
                self.coef4.tolist(),
                self.points4.tolist(),
                self.extra_fen.tolist(),
                self.note.tolist(),
                strict=True,
            )
        ]


class _Out:
    """The priced arrays being filled: every case FFS at its charges until a step says otherwise. Its codes
    start as the groupings' (so a grouping's index is its code here too); per-diem categories are added."""

    def __init__(self, cases: CaseArrays, codes: Sequence[str]):
        n = cases.size
        self.codes = list(codes)
        self.code_index = {c: i for i, c in enumerate(self.codes)}
        self.method = np.full(n, M_FFS, dtype=np.int8)
        self.group = np.zeros(n, dtype=np.int64)
        self.cost_class = np.full(n, pricing.NORMAL, dtype=np.int8)
        self.extreme = np.zeros(n, dtype=bool)
        self.r4 = np.full(n, pricing.UNDEFINED_R4, dtype=np.int64)
        self.base_fen = np.zeros(n, dtype=np.int64)
        self.weight4 = np.zeros(n, dtype=np.int64)
        self.coef4 = np.full(n, ONE4, dtype=np.int64)
        self.points4 = np.zeros(n, dtype=np.int64)
        self.extra_fen = cases.fund_fen + cases.personal_fen
        self.note = np.full(n, "", dtype=object)

    def code(self, text: str) -> int:
        if text not in self.code_index:
            self.code_index[text] = len(self.codes)
            self.codes.append(text)
        return self.code_index[text]

    def ffs(self, idx: np.ndarray, group: np.ndarray, notes) -> None:
        """Paid as charged (:func:`ffs_priced`): the figures a blank row has, and the note."""
        self.method[idx] = M_FFS
        self.group[idx] = group
        self.note[idx] = notes

    def done(self) -> PricedArrays:
        return PricedArrays(
            self.method,
            self.group,
            self.cost_class,
            self.extreme,
            self.r4,
            self.base_fen,
            self.weight4,
            self.coef4,
            self.points4,
            self.extra_fen,
            self.note,
            self.codes,
        )


def price_arrays(
    cases: CaseArrays, groups: GroupArrays, norms: Mapping[tuple[str, str], Norms], policy
) -> PricedArrays:
    """:func:`price` over arrays: each case routed as :func:`route` routes it, the per-diem cases priced one
    by one (a few in a hundred), the DRG and DIP cases of each pool (and level, under a fixed DRG rate) in
    one vectorised batch, as :func:`price_dip` and :func:`price_drg` price them."""
    if len(groups.scheme) != cases.size:
        raise ValueError("one grouping per case")
    out = _Out(cases, groups.codes)
    method = _routes(cases, groups, out, policy)
    for p, pool in enumerate(cases.pools):
        for m in (M_DIP, M_DRG):
            idx = np.flatnonzero((method == m) & (cases.pool == p))
            if not len(idx):
                continue
            if (pool, METHODS[m]) not in norms:
                why = f"{pool} 基金池无 {METHODS[m].upper()} 预算, 按项目"
                out.ffs(idx, groups.group[idx], why)
            elif m == M_DIP:
                _price_dip(idx, cases, groups, norms[(pool, DIP)], policy, out)
            elif policy.drg.rate_mode == "fixed":  # a fixed rate is by level: one batch per level
                for level in np.unique(cases.level[idx]).tolist():
                    _price_drg(idx[cases.level[idx] == level], cases, groups, norms[(pool, DRG)], policy, out)
            else:
                _price_drg(idx, cases, groups, norms[(pool, DRG)], policy, out)
    return out.done()


def _routes(cases: CaseArrays, groups: GroupArrays, out: _Out, policy) -> np.ndarray:
    """Each case's method (:func:`route`), the FFS and per-diem cases priced on the way."""
    n = cases.size
    if unknown := [s for s in groups.schemes if s not in (DIP, DRG, FFS)]:
        raise ValueError(f"unknown payment scheme {unknown[0]!r}")
    scheme_m = np.array([_M[s] for s in groups.schemes], dtype=np.int8)
    method = scheme_m[groups.scheme] if n else np.zeros(0, dtype=np.int8)
    todo = method != M_FFS
    blank = out.code("")
    own = np.where(groups.status >= 0, groups.group, blank)  # g.group_code if g else ""
    hosp_ffs = np.flatnonzero(~todo)
    out.ffs(hosp_ffs, own[hosp_ffs], "本院按项目付费")
    category, names = _perdiem_categories(cases, np.flatnonzero(todo), policy)
    for i in np.flatnonzero(category >= 0).tolist():
        name = names[int(category[i])]
        p = _perdiem(int(cases.level[i]), int(cases.los[i]), int(cases.cost_fen[i]), name, policy)
        out.method[i], out.group[i], out.base_fen[i] = M_PERDIEM, out.code(name), p.base_fen
        out.extra_fen[i], out.note[i] = p.extra_fen, p.note
    method[category >= 0] = M_PERDIEM
    todo &= category < 0
    short_days = policy.exclusions.short_stay_days
    short = np.flatnonzero(todo & (cases.los <= short_days))
    out.ffs(short, own[short], [f"住院 {d} 天 ≤ {short_days} 天, 按项目" for d in cases.los[short].tolist()])
    todo[short] = False
    ok = np.array([s == "ok" for s in groups.statuses], dtype=bool)
    grouped = (groups.status >= 0) & ok[np.maximum(groups.status, 0)] if len(ok) else np.zeros(n, bool)
    ungrouped = np.flatnonzero(todo & ~grouped)
    why = [
        f"未入组, 按项目: {groups.reasons[r] if s >= 0 else '无分组结果'}"
        for r, s in zip(groups.reason[ungrouped].tolist(), groups.status[ungrouped].tolist(), strict=True)
    ]
    out.ffs(ungrouped, own[ungrouped], why)
    todo[ungrouped] = False
    method[~todo & (method != M_PERDIEM)] = M_FFS
    return method


def _perdiem_categories(cases: CaseArrays, idx: np.ndarray, policy) -> tuple[np.ndarray, list[str]]:
    """The per-diem category of each case of ``idx`` (index into the names returned; −1: none, and for every
    other case), asked of the policy once per distinct (principal diagnosis, LOS)."""
    out = np.full(cases.size, -1, dtype=np.int64)
    names: list[str] = []
    if not len(idx):
        return out, names
    los = cases.los[idx]
    low, span = int(los.min()), int(los.max() - los.min()) + 1
    pairs = cases.principal[idx].astype(np.int64) * span + (los.astype(np.int64) - low)
    keys, inverse = np.unique(pairs, return_inverse=True)
    found = np.empty(len(keys), dtype=np.int64)
    for k, pair in enumerate(keys.tolist()):
        principal, days = divmod(pair, span)
        name = policy.perdiem_category(cases.principals[principal], days + low)
        if name and name not in names:
            names.append(name)
        found[k] = names.index(name) if name else -1
    out[idx] = found[inverse.ravel()]
    return out, names


def _by_pair(a: np.ndarray, b: np.ndarray, value) -> np.ndarray:
    """``value(a_i, b_i)`` for each row, computed once per distinct pair (ints in, int64 out)."""
    if not len(a):
        return np.zeros(0, dtype=np.int64)
    span = int(b.max()) + 1
    keys, inverse = np.unique(a.astype(np.int64) * span + b.astype(np.int64), return_inverse=True)
    got = np.array([value(*divmod(k, span)) for k in keys.tolist()], dtype=np.int64)
    return got[inverse.ravel()]


def _price_dip(idx, cases: CaseArrays, groups: GroupArrays, norms: Norms, policy, out: _Out) -> None:
    """:func:`price_dip` for the cases ``idx`` of one pool."""
    level = cases.level[idx]
    score4, aux4 = groups.weight4[idx], groups.aux4[idx]
    lvl4 = _by_pair(level, groups.basic[idx].astype(np.int64), lambda lv, b: level_coef4(policy, lv, bool(b)))
    mean = _by_pair(groups.group[idx], level, lambda g, lv: norms.mean(groups.codes[g], lv))
    p = pricing.dip_points(score4, aux4, lvl4, cases.cost_fen[idx], mean, policy.dip_deviation)
    out.method[idx], out.group[idx] = M_DIP, groups.group[idx]
    out.cost_class[idx], out.extreme[idx], out.r4[idx] = p.cost_class, p.extreme, p.r4
    out.base_fen[idx], out.weight4[idx], out.coef4[idx] = mean, score4, aux4 * lvl4 // ONE4
    out.points4[idx], out.extra_fen[idx], out.note[idx] = p.points4, 0, ""


def _price_drg(idx, cases: CaseArrays, groups: GroupArrays, norms: Norms, policy, out: _Out) -> None:
    """:func:`price_drg` for the cases ``idx`` of one pool (and one level under a fixed rate); a DRG without
    a weight in the norms is paid FFS."""
    codes = groups.codes
    has_weight = np.array([c in norms.weights for c in codes], dtype=bool)[groups.group[idx]]
    bare = idx[~has_weight]
    out.ffs(bare, groups.group[bare], [f"{codes[g]} 无权重, 按项目" for g in groups.group[bare].tolist()])
    idx = idx[has_weight]
    if not len(idx):
        return
    level = cases.level[idx]
    weight_of = np.array([norms.weights.get(c, 0) for c in codes], dtype=np.int64)
    rw4 = weight_of[groups.group[idx]]
    lvl4 = _by_pair(level, np.zeros(len(idx), np.int64), lambda lv, _: drg_coef4(policy, lv))
    mean = _by_pair(groups.group[idx], level, lambda g, lv: norms.mean(codes[g], lv))
    first = int(idx[0])
    fixed = policy.drg.rate_mode == "fixed"
    rate = (
        policy.fixed_rate(cases.pools[int(cases.pool[first])], int(cases.level[first])) if fixed else norms.pv
    )
    p = pricing.drg_value(rw4, lvl4, cases.cost_fen[idx], mean, rate, policy.drg_outlier)
    base = p.standard_fen if policy.drg.outlier.base == "standard" else mean
    out.method[idx], out.group[idx] = M_DRG, groups.group[idx]
    out.cost_class[idx], out.extreme[idx], out.r4[idx] = p.cost_class, False, p.r4
    out.base_fen[idx], out.weight4[idx], out.coef4[idx] = base, rw4, lvl4
    out.points4[idx], out.extra_fen[idx], out.note[idx] = p.points4, p.extra_fen, ""


def lines_of(cases: CaseArrays, priced: PricedArrays) -> list[Line]:
    """:func:`hospital_lines` over arrays: Σ per hospital, pool and method, in code order (exact int64 sums;
    a line's level is its first case's)."""
    n = cases.size
    if not n:
        return []
    n_pools, n_methods = len(cases.pools), len(METHODS)
    key = (
        cases.hospital.astype(np.int64) * n_pools + cases.pool.astype(np.int64)
    ) * n_methods + priced.method
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])

    def total(values: np.ndarray) -> list[int]:
        return np.add.reduceat(values[order].astype(np.int64), starts).tolist()

    counts = np.diff(np.r_[starts, n]).tolist()
    sums = [
        total(v)
        for v in (priced.points4, priced.extra_fen, cases.cost_fen, cases.personal_fen, cases.fund_fen)
    ]
    levels = cases.level[order][starts].tolist()
    lines = []
    for j, k in enumerate(sorted_key[starts].tolist()):
        rest, m = divmod(k, n_methods)
        h, p = divmod(rest, n_pools)
        lines.append(
            Line(cases.hospitals[h], cases.pools[p], METHODS[m], counts[j], *(s[j] for s in sums), levels[j])
        )
    return sorted(lines, key=lambda ln: (ln.fixmedins_code, ln.pool, ln.method))
