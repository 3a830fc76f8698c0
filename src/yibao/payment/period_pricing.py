"""Pricing a payment period's cases (payment-drg-dip.md §3.8): each case routed as
:func:`yibao.payment.period.route` routes it, the per-diem and FFS cases priced on the way, the DRG and DIP
cases of each pool in one vectorised batch against that pool's norms (§3.4–§3.5, §4.4–§4.5), over the
arrays of :mod:`yibao.payment.period_arrays`; :func:`price`, :func:`price_dip` and :func:`price_drg` take and
give :class:`~yibao.payment.period.Case` and :class:`~yibao.payment.period.Priced` rows. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from yibao.payment import pricing
from yibao.payment.period import (
    DIP,
    DRG,
    FFS,
    ONE4,
    Case,
    Grouping,
    Norms,
    Priced,
    drg_coef4,
    level_coef4,
    perdiem_stay,
)
from yibao.payment.period_arrays import (
    M_DIP,
    M_DRG,
    M_FFS,
    M_PERDIEM,
    METHODS,
    CaseArrays,
    GroupArrays,
    PricedArrays,
)

_M = {m: i for i, m in enumerate(METHODS)}


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
        """Paid as charged (:func:`~yibao.payment.period.ffs_priced`): the figures a blank row has, and the
        note."""
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
    """:func:`price` over arrays: each case routed as :func:`~yibao.payment.period.route` routes it, the
    per-diem cases priced one by one (a few in a hundred), the DRG and DIP cases of each pool (and level,
    under a fixed DRG rate) in one vectorised batch, as :func:`price_dip` and :func:`price_drg` price them."""
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
    """Each case's method (:func:`~yibao.payment.period.route`), the FFS and per-diem cases priced on the
    way."""
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
        p = perdiem_stay(int(cases.level[i]), int(cases.los[i]), int(cases.cost_fen[i]), name, policy)
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
