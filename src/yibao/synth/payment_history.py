"""The synthetic region's years grouped and aggregated into history without a store (payment-drg-dip.md
§3.3, §3.8), with the pure modules the services use: :func:`group_year` (every stay of the current year by
its hospital's scheme, :mod:`yibao.payment.grouping`, in forked workers), :func:`past_groups` (a past year
takes the groups of the stays it copies) and :func:`history_rows` (as :func:`yibao.payment.history.aggregate`,
over arrays)."""

from __future__ import annotations

import gc
import math
import multiprocessing as mp
from collections.abc import Sequence
from datetime import date

import numpy as np

from yibao.payment.dip_build import TRIM_RULES
from yibao.payment.grouping import Groupers
from yibao.payment.history import OK, HistoryRow
from yibao.payment.period import DIP, DRG, ONE4
from yibao.payment.period_arrays import GroupArrays
from yibao.synth.payment_mix import POOLS
from yibao.synth.payment_region import DISCHARGE_DIED, Region, YearCases

_JOB: dict = {}  # what a forked grouping worker reads (set before the pool forks, so it is shared, not copied)


def hospital_schemes(region: Region, view) -> tuple[np.ndarray, list[str]]:
    """Each hospital's scheme (the policy's ``scheme_of``), as indices into the sorted scheme names."""
    found = [
        view.scheme_of(c, int(lv))
        for c, lv in zip(region.hospitals.code, region.hospitals.level, strict=True)
    ]
    names = sorted(set(found))
    return np.array([names.index(s) for s in found], dtype=np.int64), names


def group_year(cases: YearCases, region: Region, view, groupers: Groupers, workers: int = 1) -> GroupArrays:
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


def merged_groups(n: int, scheme, names: list[str], chunks, parts) -> GroupArrays:
    """The chunks' results as one :class:`~yibao.payment.period_arrays.GroupArrays` (stays not grouped:
    none)."""
    vocab: tuple[dict, dict, dict] = ({}, {}, {})
    status = np.full(n, -1, np.int64)
    code, reason = np.zeros(n, np.int64), np.zeros(n, np.int64)
    weight4, aux4 = np.zeros(n, np.int64), np.full(n, ONE4, np.int64)
    basic = np.zeros(n, bool)
    for idx, (local, st, cd, rs, w, a, b) in zip(chunks, parts, strict=True):
        maps = [
            np.array([v.setdefault(x, len(v)) for x in lv], np.int64)
            for v, lv in zip(vocab, local, strict=True)
        ]
        status[idx], code[idx], reason[idx] = maps[0][st], maps[1][cd], maps[2][rs]
        weight4[idx], aux4[idx], basic[idx] = w, a, b
    return GroupArrays(scheme, status, code, weight4, aux4, basic, reason, names, *(list(v) for v in vocab))


def past_groups(past: YearCases, current_groups: GroupArrays, region: Region, view) -> GroupArrays:
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
    years: Sequence[YearCases], groups: Sequence[GroupArrays], region: Region, trim: str
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


def summed_rows(cases: YearCases, g: GroupArrays, region: Region, kept: np.ndarray) -> list[HistoryRow]:
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


def grouped(g: GroupArrays) -> np.ndarray:
    """Which stays were grouped (status ``ok``; a stay not grouped, status −1, is not)."""
    return np.array([s == OK for s in g.statuses] + [False])[g.status]
