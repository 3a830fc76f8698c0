"""Fee lines of the screening region (费用明细): honest bills vary (random drugs, quantities and treatment days
drawn from each diagnosis's pools); template bills repeat one item vector (chemotherapy regimens, and the
injected surges and fictitious stays)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from yibao.synth.fraud_world import DX_CODES, Catalogue, Ledger

E4 = 10_000
POOLS = {"drug": 8, "lab": 6, "exam": 4, "treat": 5}


@cache
def _pool_seeds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20250101)  # the same pools in every region: they are medicine, not chance
    return {name: rng.random((len(DX_CODES), size)) for name, size in POOLS.items()}


def dx_pools(cat: Catalogue) -> dict[str, np.ndarray]:
    """Per diagnosis, the items its stays draw from (rows: diagnosis, columns: pool slot)."""
    return {
        name: cat.groups[name][(u * len(cat.groups[name])).astype(int)] for name, u in _pool_seeds().items()
    }


def zipf(n: int, s: float = 1.0) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def chronic_units(drug: np.ndarray) -> np.ndarray:
    """Boxes a month's supply of each chronic drug takes (1–3, fixed per drug)."""
    return 1 + np.asarray(drug) % 3


def outpatient_lines(ledger: Ledger, cat: Catalogue, rng, ids: np.ndarray, day: np.ndarray) -> None:
    """A consultation fee and 0–4 drugs (popular ones more often), 1–3 units each."""
    ledger.add_lines(ids, np.full(len(ids), cat.groups["consult"][0]), day, np.full(len(ids), E4), cat)
    k = rng.poisson(1.3, len(ids))
    who = np.repeat(np.arange(len(ids)), k)
    drug = cat.groups["drug"][rng.choice(len(cat.groups["drug"]), len(who), p=zipf(len(cat.groups["drug"])))]
    ledger.add_lines(ids[who], drug, day[who], rng.integers(1, 4, len(who)) * E4, cat)


def otc_baskets(ledger: Ledger, cat: Catalogue, rng, ids: np.ndarray, day: np.ndarray) -> None:
    """A store basket: 1–3 drugs (a popular few dominate), one unit mostly."""
    u = rng.random(len(ids))
    k = 1 + (u < 0.4) + (u < 0.1)
    who = np.repeat(np.arange(len(ids)), k)
    otc = cat.groups["otc"]
    drug = otc[rng.choice(len(otc), len(who), p=zipf(len(otc)))]
    cnt = np.where(rng.random(len(who)) < 0.7, 1, 2) * E4
    ledger.add_lines(ids[who], drug, day[who], cnt, cat)


def stay_lines(ledger: Ledger, cat: Catalogue, rng, ids, day, los, dx, grade) -> None:
    """Honest stay bills: every day a bed, nursing and 1+ drugs (some days a treatment); admission-day
    examinations and laboratory tests, more tests on day 2 for half the stays, consumables for some."""
    pools = dx_pools(cat)
    n = len(ids)
    stay = np.repeat(np.arange(n), los)
    off = np.arange(len(stay)) - np.repeat(np.cumsum(los) - los, los)
    fday = day[stay] + off
    ones = np.full(len(stay), E4)
    ledger.add_lines(ids[stay], cat.groups["bed"][np.clip(grade[stay] - 1, 0, 2)], fday, ones, cat)
    nursed = rng.random(len(stay)) < 0.9  # honest days without nursing or drugs exist too (F2 is relative)
    ledger.add_lines(
        ids[stay[nursed]],
        cat.groups["nurse"][rng.integers(0, 3, nursed.sum())],
        fday[nursed],
        ones[nursed],
        cat,
    )
    k = rng.poisson(1.3, len(stay))
    d = np.repeat(np.arange(len(stay)), k)
    drug = pools["drug"][dx[stay[d]], rng.integers(0, POOLS["drug"], len(d))]
    ledger.add_lines(ids[stay[d]], drug, fday[d], rng.integers(1, 5, len(d)) * E4, cat)
    t = np.flatnonzero(rng.random(len(stay)) < 0.4)
    treat = pools["treat"][dx[stay[t]], rng.integers(0, POOLS["treat"], len(t))]
    ledger.add_lines(ids[stay[t]], treat, fday[t], rng.integers(1, 3, len(t)) * E4, cat)
    for name, lo, hi, when in (("exam", 1, 3, 0), ("lab", 2, 5, 0), ("lab", 0, 3, 2)):
        k = rng.integers(lo, hi, n) * ((when == 0) | (los > when)) * (rng.random(n) >= 0.05)
        s = np.repeat(np.arange(n), k)
        item = pools[name][dx[s], rng.integers(0, POOLS[name], len(s))]
        ledger.add_lines(ids[s], item, day[s] + when, np.full(len(s), E4), cat)
    m = np.flatnonzero(rng.random(n) < 0.3)
    ledger.add_lines(
        ids[m], cat.groups["material"][rng.integers(0, 20, len(m))], day[m], np.full(len(m), E4), cat
    )


Template = Sequence[
    tuple[int, int, int]
]  # (item, units, period): on days with offset % period == 0; period 0: day 0 only


def template_lines(ledger: Ledger, cat: Catalogue, ids, day, los, template: Template) -> None:
    """Bills that repeat one vector: every stay of the template has the same items and quantities on the
    same days of its stay."""
    stay = np.repeat(np.arange(len(ids)), los)
    off = np.arange(len(stay)) - np.repeat(np.cumsum(los) - los, los)
    for item, units, period in template:
        on = off == 0 if period == 0 else off % period == 0
        s = stay[on]
        ledger.add_lines(ids[s], np.full(len(s), item), day[s] + off[on], np.full(len(s), units * E4), cat)


def random_template(
    cat: Catalogue, rng, dx: int, care_period: int = 1, labs: int = 2
) -> list[tuple[int, int, int]]:
    """One template: bed daily, nursing and two drugs every ``care_period`` days, one treatment every other day,
    admission-day examination and ``labs`` laboratory tests, all from the diagnosis's pools."""
    pools = dx_pools(cat)
    t = [(int(cat.groups["bed"][0]), 1, 1), (int(cat.groups["nurse"][1]), 1, care_period)]
    t += [
        (int(d), int(rng.integers(1, 4)), care_period)
        for d in rng.choice(pools["drug"][dx], 2, replace=False)
    ]
    t += [(int(rng.choice(pools["treat"][dx])), 1, 2), (int(rng.choice(pools["exam"][dx])), 1, 0)]
    t += [(int(x), 1, 0) for x in rng.choice(pools["lab"][dx], labs, replace=False)]
    return t
