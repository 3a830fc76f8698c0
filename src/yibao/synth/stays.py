"""An admission's cost, length of stay and fee lines (住院费用与明细), and the catalogue's prices by hospital
level: the arithmetic :mod:`yibao.synth.claims` draws a year's stays with (payment-drg-dip.md §10.4–5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from yibao.money import CNT, FEN, MICRO
from yibao.payment.cases import DrgCase
from yibao.payment.drg import Facts, complication_level
from yibao.payment.drg_pack import CC, MCC
from yibao.settlement.lines import product_fen
from yibao.synth import coding

if TYPE_CHECKING:
    from yibao.synth.claims import Reference

SERVICE_FACTOR = np.array([0, 0.8, 1.0, 1.25])  # service prices by dedc_hosp_lv
SERVICE_TYPES = ("01", "02", "03", "04", "05", "06", "07", "12", "13")  # priced by the hospital's level
PRICE_STEP = MICRO // FEN  # service prices are whole fen, at least one

# An admission's cost (住院费用, payment-drg-dip.md §10.4–5): its fee lines add up to
#     STAY_BASE × ADRG cost factor (coding.MIX) × SEVERITY_COST × LEVEL_COST × ε,
# ε a lognormal core of mean 1 mixed with short stays (transfers, early deaths) at 0.1–0.5× and complication
# stays on a Pareto tail from 2×, so the pooled within-group CV is about 0.6 with about 4 % of stays above
# twice their group's mean and 7–8 % below half, which no single lognormal gives (§10.4). The level's share
# of the low tail is large: a 一级 stay costs 0.75 / 1.02 of its group's mean before ε.
STAY_BASE = 7_300 * FEN  # 20,000 persons: about 10.9 k yuan a stay (§10: 10–11 k)
LEVEL_COST = np.array([0, 0.75, 0.95, 1.20])  # the same group's cost by dedc_hosp_lv (一级, 二级, 三级)
SEVERITY_COST = {MCC: 1.5, CC: 1.2}  # 伴严重并发症或合并症, 伴并发症或合并症 (what the DRGs split on)
CORE_SIGMA = 0.30
SHORT_SHARE, SHORT_RANGE = 0.03, (0.1, 0.5)
COMPLICATION_SHARE, PARETO_ALPHA, PARETO_FROM, DEVIATION_MAX = 0.04, 2.5, 2.0, 12.0
# length of stay: the ADRG's mean × LOS_SCALE × ε^elasticity × a lognormal of its own (mean 1), whole days;
# mean about 8.9 days, the logs of cost and stay correlated about 0.65 within a group
LOS_ELASTICITY, LOS_SIGMA, LOS_SCALE, LOS_MAX = 0.8, 0.35, 1.15, 90
# the fee lines of a stay: the most a day's bed, nursing and ward round may take of the stay's cost per day;
# the most an operation may take of the cost; the budgets of labs, exams and treatments; materials' share of
# what is left (medical, surgical stays); drugs take the rest, so the lines land on the cost
DAY_SHARES = (0.15, 0.06, 0.05)
SURGERY_SHARE, LAB_SHARE, EXAM_SHARE, TREAT_SHARE = 0.30, 0.14, 0.14, 0.10
MATERIAL_SHARES = (0.20, 0.60)
CONSUMABLE = 100 * MICRO  # materials below this price go by the piece (syringes, infusion sets) …
PIECES_MAX = 50  # … at most this many of each


def items_of(ref: Reference, types: tuple[str, ...]) -> np.ndarray:
    idx = np.flatnonzero(np.isin(ref.item_type, types))
    return idx if idx.size else np.arange(ref.item_code.size)


def approvals(rng, ref: Reference, item: np.ndarray) -> np.ndarray:
    """hosp_appr_flag: a restricted item (限定支付) approved (1) for about 70 % of its lines, else 0."""
    restricted = ref.item_lmt[item] == 1
    return np.where(restricted, np.where(rng.random(item.size) < 0.7, 1, 0), 0).astype(np.int64)


def prices(ref: Reference, item: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The lines' prices (micro-yuan): the catalogue's, service items' by the hospital's level (whole fen)."""
    pric = ref.item_pric[item]
    service = np.isin(ref.item_type[item], SERVICE_TYPES)
    scaled = (pric * SERVICE_FACTOR[level]).astype(np.int64) // PRICE_STEP * PRICE_STEP
    return np.maximum(np.where(service, scaled, pric), PRICE_STEP)


def cost_deviation(rng: np.random.Generator, n: int) -> np.ndarray:
    """ε of each admission: lognormal (mean 1, σ :data:`CORE_SIGMA`); a share of short stays (转院, early
    deaths) uniform in :data:`SHORT_RANGE`; a share of complication stays 2× and more, Pareto (α 2.5)."""
    u = rng.random((n, 3))
    core = np.exp(CORE_SIGMA * rng.standard_normal(n) - CORE_SIGMA**2 / 2)
    short = SHORT_RANGE[0] + (SHORT_RANGE[1] - SHORT_RANGE[0]) * u[:, 1]
    tail = np.minimum(PARETO_FROM * (1 - u[:, 2]) ** (-1 / PARETO_ALPHA), DEVIATION_MAX)
    kind = np.searchsorted([SHORT_SHARE, SHORT_SHARE + COMPLICATION_SHARE], u[:, 0], side="right")
    return np.choose(kind, [short, tail, core])


def stay_lengths(mean_los: np.ndarray, deviation: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Length of stay (whole days, 1–:data:`LOS_MAX`), tied to the cost: the ADRG's mean × ε^elasticity ×
    a lognormal of its own (``z`` standard normal)."""
    own = np.exp(LOS_SIGMA * z - LOS_SIGMA**2 / 2)
    return np.clip(np.rint(mean_los * LOS_SCALE * deviation**LOS_ELASTICITY * own), 1, LOS_MAX).astype(
        np.int64
    )


def severity_cost(coder: coding.Coder, stays) -> np.ndarray:
    """:data:`SEVERITY_COST` of each coded stay, by its MCC or CC as the grouper counts them."""
    level = [
        complication_level(Facts(DrgCase("", 1, 50, 0, st.diagnoses, st.procedures), coder.pack), coder.pack)
        for st in stays  # (sex and age do not count for MCC and CC)
    ]
    return np.array([SEVERITY_COST.get(x, 1.0) for x in level])


def _capped(rng, ref: Reference, pool: np.ndarray, cap: np.ndarray, level: np.ndarray, alpha: float):
    """An item of ``pool`` for each entry of ``cap``: weights ∝ price^-alpha among the items whose price at the
    entry's hospital level is at most ``cap`` (micro-yuan; the cheapest when none is)."""
    order = pool[np.argsort(ref.item_pric[pool], kind="stable")]
    base = ref.item_pric[order]
    if np.isin(ref.item_type[order], SERVICE_TYPES).all():
        cap = cap / SERVICE_FACTOR[level]
    weight = np.cumsum(base.astype(np.float64) ** -alpha)
    k = np.maximum(np.searchsorted(base, cap, side="right"), 1)
    pick = np.searchsorted(weight, rng.random(cap.size) * weight[k - 1], side="right")
    return order[np.minimum(pick, k - 1)]


def _running(group: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Each line's amount added to those before it in its group (lines grouped, in order)."""
    if group.size == 0:
        return amount
    total = np.cumsum(amount)
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    before = (total - amount)[first]
    return total - np.repeat(before, np.diff(np.r_[first, group.size]))


def stay_lines(rng, ip, level, los, cost, surgical, ref: Reference):
    """Fee lines of the admissions ``ip`` (with their levels, stays, costs in fen and surgical flags) that add
    up to their costs: bed, nursing and ward rounds every day (whole days); an operation; labs (repeated over
    the stay) and exams, more for a costlier stay, within their shares; materials (implants whole, consumables
    by the piece); drugs for the rest, their quantities scaled (fractional) so the stay lands on its cost."""
    each = np.arange(ip.size)
    lines = []
    per_day = cost / los * (MICRO / FEN)
    for types, share, alpha in zip(
        (("01",), ("07",), ("02", "12")), DAY_SHARES, (0.5, 0.5, 1.0), strict=True
    ):
        item = _capped(rng, ref, items_of(ref, types), per_day * share, level, alpha)
        lines.append((each, item, los * CNT))
    op = np.flatnonzero(surgical)
    item = _capped(rng, ref, items_of(ref, ("06",)), cost[op] * SURGERY_SHARE * (MICRO / FEN), level[op], 0.0)
    lines.append((op, item, np.full(op.size, CNT)))
    for types, share, alpha, typical, repeat, most in (
        (("04",), LAB_SHARE, 0.0, 60, 1 + rng.poisson((los - 1) / 4), 20),  # tests repeated over the stay
        (("03",), EXAM_SHARE, 0.0, 250, np.ones(ip.size, dtype=np.int64), 8),
        (("05",), TREAT_SHARE, 0.3, 40, 1 + rng.binomial(los - 1, 0.6), 6),  # infusions, oxygen, dressings
    ):
        lines.append(_services(rng, ref, types, cost * share, alpha, typical, repeat, most, level))
    left = np.maximum(cost - _spent(ref, level, lines), 0.05 * cost)
    lines.append(
        _materials(
            rng, ref, left * np.where(surgical, MATERIAL_SHARES[1], MATERIAL_SHARES[0]), surgical, level
        )
    )
    lines.append(_drugs(rng, ref, np.maximum(cost - _spent(ref, level, lines), 0.02 * cost), level))
    stay, item, cnt = (np.concatenate(parts) for parts in zip(*lines, strict=True))
    return ip[stay], item, cnt, approvals(rng, ref, item)


def _services(rng, ref: Reference, types, budget, alpha: float, typical: float, repeat, most: int, level):
    """Service lines of ``types`` within ``budget`` (fen) per stay: about as many as the budget buys at a
    ``typical`` price (yuan), at most ``most``, each done ``repeat`` times (whole), picked with weights ∝
    price^-alpha among those the budget affords; the lines past the budget are left out."""
    n = np.clip(rng.poisson(budget / (typical * FEN * repeat)), 1, most)
    stay = np.repeat(np.arange(budget.size), n)
    pool = items_of(ref, types)
    pool = pool[ref.item_lv[pool] < 3] if (ref.item_lv[pool] < 3).any() else pool  # no self-paid extras
    times = np.repeat(repeat, n)
    item = _capped(rng, ref, pool, budget[stay] / times * (MICRO / FEN), level[stay], alpha)
    cnt = times * CNT
    keep = _running(stay, product_fen(prices(ref, item, level[stay]), cnt)) <= budget[stay]
    return stay[keep], item[keep], cnt[keep]


def _spent(ref: Reference, level: np.ndarray, lines) -> np.ndarray:
    """What the stays' lines so far amount to (fen)."""
    return sum(np.bincount(st, product_fen(prices(ref, it, level[st]), c), level.size) for st, it, c in lines)


def _materials(rng, ref: Reference, budget: np.ndarray, surgical: np.ndarray, level: np.ndarray):
    """Materials within ``budget`` (fen) per stay: implants and devices once, consumables by the piece."""
    n = np.where(
        surgical, np.clip(rng.poisson(6, budget.size), 2, 15), np.clip(rng.poisson(3, budget.size), 1, 8)
    )
    stay = np.repeat(np.arange(budget.size), n)
    item = _capped(rng, ref, items_of(ref, ("08",)), (budget / n * (MICRO / FEN))[stay], level[stay], -1.0)
    pric = ref.item_pric[item]
    piece = pric < CONSUMABLE
    fixed = np.bincount(stay, np.where(piece, 0, pric), budget.size) * (FEN / MICRO)
    per_piece = np.bincount(stay, np.where(piece, pric, 0), budget.size) * (FEN / MICRO)
    times = np.clip(np.rint((budget - fixed) / np.maximum(per_piece, 1)), 1, PIECES_MAX)
    return stay, item, np.where(piece, times[stay], 1).astype(np.int64) * CNT


def _drugs(rng, ref: Reference, budget: np.ndarray, level: np.ndarray):
    """Drug lines spending ``budget`` (fen) per stay: more lines for a larger budget, each drug priced within
    its share, the quantities scaled to the budget (CountE4, fractional)."""
    n = np.clip(rng.poisson(2 + budget / (400 * FEN)), 2, 60)
    stay = np.repeat(np.arange(budget.size), n)
    item = _capped(
        rng, ref, items_of(ref, ("09", "11", "10")), (budget / n * (MICRO / FEN))[stay], level[stay], 0.25
    )
    first = rng.poisson(5, stay.size) + 1
    planned = np.bincount(stay, ref.item_pric[item] * first, budget.size) * (FEN / MICRO)
    cnt = np.rint(first * (budget / planned)[stay] * CNT).astype(np.int64)
    return stay, item, np.maximum(cnt, 1)
