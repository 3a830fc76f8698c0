"""Properties of the payment arithmetic on random inputs (hypothesis), each against an independent exact
reimplementation with :class:`~fractions.Fraction` where there is one:

* DIP points never decrease as the cost rises (the r = 0.5 jump is upward), given the level coefficient
  also multiplies outliers or is at most 1 — and a test shows the documented exception;
* both comparison conventions at exactly r = 0.5 and r = 2;
* DIP and DRG pricing equal a Fraction oracle, int64 or past it;
* a line's points valued once differ from the exact value by at most half a fen, so Σ lines is within
  n/2 fen of Σ points × PV;
* installments and budget splits sum exactly; risk sharing pays between actual and target.
"""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.money import BP, FEN
from yibao.payment.budget import split_budget
from yibao.payment.capitation import installments
from yibao.payment.clearing import entitlements, month_line, year_line
from yibao.payment.exact import product, ratio_rhu, rhu
from yibao.payment.perdiem import Segment, perdiem_payable
from yibao.payment.pricing import (
    HIGH,
    LOW,
    NORMAL,
    DipDeviation,
    DrgOutlier,
    Threshold,
    dip_points,
    drg_value,
    value_points,
)
from yibao.payment.risk import Tier, share_risk

FAST = settings(max_examples=150, deadline=None)


def rhu_frac(x: Fraction) -> int:
    """Round half up (symmetric) of an exact value: the oracle's own rounding."""
    q = (abs(x) * 2 + 1) // 2
    return int(q) if x >= 0 else -int(q)


def holds(r: Fraction, op: str, t: Fraction) -> bool:
    return {">": r > t, ">=": r >= t, "<": r < t, "<=": r <= t}[op]


scores = st.integers(1, 20_000 * BP)
coefs = st.integers(1_000, 30_000)
means = st.integers(1, 10**8)
ops_high, ops_low = st.sampled_from([">", ">="]), st.sampled_from(["<", "<="])


def dip_oracle(score4, aux4, level4, cost, mean, dev) -> tuple[int, int]:
    """Points4 and class of one case, from the doc's formulas with fractions."""
    base = Fraction(score4 * aux4, BP * BP)  # score × aux in points
    level = Fraction(level4, BP)
    if mean <= 0:
        return rhu_frac(base * level * BP), NORMAL
    r = Fraction(cost, mean)
    dev_level = level if dev.level_coef_on_deviation else 1
    if holds(r, dev.high.op, Fraction(dev.high.value)):
        return rhu_frac(base * (r - 1) * dev_level * BP), HIGH
    if holds(r, dev.low.op, Fraction(dev.low.value)):
        return rhu_frac(base * r * dev_level * BP), LOW
    return rhu_frac(base * level * BP), NORMAL


@st.composite
def dip_rows(draw):
    """One case: an ordinary score or one large enough (with a 100-billion-yuan cost) to push the outlier
    products far past int64 — r stays below 1,000 so the points themselves fit."""
    big = draw(st.booleans())
    score4 = draw(st.integers(1, 10**10) if big else scores)
    cost = draw(st.integers(0, 10**13 if big else 10**10))
    mean = draw(st.integers(-1, 0) | st.integers(max(1, cost // 1_000), 10**12))
    return score4, draw(coefs), draw(coefs), cost, mean


@FAST
@given(rows=st.lists(dip_rows(), min_size=1, max_size=8), high=ops_high, low=ops_low, flag=st.booleans())
def test_dip_points_equal_the_fraction_oracle(rows, high, low, flag):
    dev = DipDeviation(Threshold(D(2), high), Threshold(D("0.5"), low), D(5), flag)
    p = dip_points(*(np.array(col, dtype=np.int64) for col in zip(*rows, strict=True)), dev)
    for i, (s, a, lv, c, m) in enumerate(rows):
        assert (int(p.points4[i]), int(p.cost_class[i])) == dip_oracle(s, a, lv, c, m, dev)


@FAST
@given(
    score4=scores,
    aux4=coefs,
    level4=coefs,
    mean=means,
    costs=st.lists(st.integers(0, 10**9), min_size=2, max_size=40),
    high=ops_high,
    low=ops_low,
    flag=st.booleans(),
)
def test_dip_points_never_decrease_as_cost_rises(score4, aux4, level4, mean, costs, high, low, flag):
    if not flag:  # outliers then skip the level: monotone only for low bound ≤ level ≤ high bound − 1
        level4 = min(max(level4, BP // 2), BP)
    dev = DipDeviation(Threshold(D(2), high), Threshold(D("0.5"), low), D(5), flag)
    costs = sorted([*costs, mean // 2, mean // 2 + 1, 2 * mean, 2 * mean + 1])
    pts = dip_points(score4, aux4, level4, costs, mean, dev).points4
    assert (np.diff(pts) >= 0).all()


def test_points_can_fall_when_only_normal_cases_get_the_level_coefficient():
    # flag off, level 1.05: 32,000 (r = 2) → 1,502 × 1.05 = 1,577.1; 32,001 → 1,502 × 1.0000625 = 1,502.0939
    dev = DipDeviation(Threshold(D(2), ">"), Threshold(D("0.5"), "<"), D(5), False)
    pts = dip_points(1502 * BP, BP, 10_500, [3_200_000, 3_200_100], 1_600_000, dev).points4
    assert pts.tolist() == [15_771_000, 15_020_939]
    # flag off, level 0.4 (below the 0.5 bound): 7,999 → 1,502 × 0.4999375 = 750.9061; 8,000 → × 0.4 = 600.8
    pts = dip_points(1502 * BP, BP, 4_000, [799_900, 800_000], 1_600_000, dev).points4
    assert pts.tolist() == [7_509_061, 6_008_000]


@FAST
@given(score4=scores, aux4=coefs, level4=coefs, half_mean=st.integers(1, 10**8), flag=st.booleans())
def test_both_conventions_at_exactly_half_and_twice_the_mean(score4, aux4, level4, half_mean, flag):
    mean = 2 * half_mean
    lv = level4 if flag else BP
    full = rhu_frac(Fraction(score4 * aux4 * level4, BP * BP))
    half = rhu_frac(Fraction(score4 * aux4 * lv, BP * BP) / 2)
    at_two = rhu_frac(Fraction(score4 * aux4 * lv, BP * BP))  # × (2 − 1)
    for low_op, high_op in [("<", ">"), ("<=", ">=")]:
        dev = DipDeviation(Threshold(D(2), high_op), Threshold(D("0.5"), low_op), D(5), flag)
        p = dip_points(score4, aux4, level4, [half_mean, 2 * mean], mean, dev)
        strict = low_op == "<"
        assert p.cost_class.tolist() == ([NORMAL, NORMAL] if strict else [LOW, HIGH])
        assert p.points4.tolist() == ([full, full] if strict else [half, at_two])
        assert p.r4.tolist() == [5_000, 20_000]


@FAST
@given(
    rw4=st.integers(1, 600_000),
    level4=coefs,
    cost=st.integers(0, 10**10),
    mean=st.integers(-1, 10**9),
    rate=st.decimals(D("1000"), D("30000"), places=2) | st.decimals(D("1000"), D("30000"), places=16),
    k=st.decimals(D("0"), D("1"), places=2),
    base=st.sampled_from(["standard", "group_mean"]),
    method=st.sampled_from(["ffs", "prorata"]),
    high=ops_high,
    low=ops_low,
)
def test_drg_value_equals_the_fraction_oracle(rw4, level4, cost, mean, rate, k, base, method, high, low):
    outlier = DrgOutlier(base, Threshold(D(2), high), Threshold(D("0.35"), low), k, method)
    p = drg_value([rw4], level4, [cost], [mean], rate, outlier)
    weight = Fraction(rw4 * level4, BP * BP)
    standard = rhu_frac(Fraction(rate) * FEN * weight)
    b = standard if base == "standard" else mean
    points, extra, payment, cls = rhu_frac(weight * BP), 0, standard, NORMAL
    if b > 0 and holds(Fraction(cost, b), high, Fraction(2)):
        cls, extra = HIGH, rhu_frac(Fraction(k) * (cost - 2 * b))
        payment += extra
    elif b > 0 and holds(Fraction(cost, b), low, Fraction(35, 100)):
        cls = LOW
        if method == "ffs":
            points, extra, payment = 0, cost, cost
        else:
            div = mean if mean > 0 else b
            points = rhu_frac(weight * cost / div * BP)
            payment = rhu_frac(Fraction(rate) * FEN * weight * cost / div)
    got = (p.standard_fen[0], p.points4[0], p.extra_fen[0], p.payment_fen[0], p.cost_class[0])
    assert tuple(map(int, got)) == (standard, points, extra, payment, cls)


@FAST
@given(st.integers(-(10**15), 10**15), st.decimals(D("0"), D("100000"), places=4))
def test_value_points_is_the_exact_product_rounded_half_up(points4, pv):
    exact = Fraction(points4, BP) * Fraction(pv) * FEN
    got = value_points(points4, pv)
    assert got == rhu_frac(exact) and abs(got - exact) <= Fraction(1, 2)


@FAST
@given(st.lists(st.integers(0, 10**13), min_size=1, max_size=50), st.decimals(D("0.0001"), D("50"), places=4))
def test_lines_sum_to_the_total_within_half_a_fen_each(points4_by_line, pv):
    lines = entitlements(points4_by_line, pv)
    exact = Fraction(sum(points4_by_line), BP) * Fraction(pv) * FEN
    assert abs(sum(lines) - exact) <= Fraction(len(lines), 2)


@FAST
@given(st.integers(-(10**14), 10**14), st.integers(1, 36))
def test_installments_sum_exactly(budget, months):
    parts = installments(budget, months)
    assert len(parts) == months and sum(parts) == budget and len(set(parts[:-1])) <= 1


@FAST
@given(
    st.integers(-(10**14), 10**14),
    st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.integers(0, 10**12), min_size=1, max_size=8
    ),
)
def test_split_budget_sums_exactly_and_is_fair(whole, shares):
    if sum(shares.values()) == 0:
        return
    parts = split_budget(whole, shares)
    assert sum(parts.values()) == whole
    total = sum(shares.values())
    assert all(abs(parts[k] - Fraction(whole * w, total)) < 1 for k, w in shares.items())
    assert parts == split_budget(whole, dict(reversed(list(shares.items()))))  # order does not matter


tiers = st.lists(
    st.tuples(st.integers(1, 50), st.decimals(D("0"), D("1"), places=2)), min_size=1, max_size=3
).map(lambda ts: [Tier(D(sum(t[0] for t in ts[: i + 1])) / 100, t[1]) for i, t in enumerate(ts)])


@FAST
@given(st.integers(0, 10**11), st.integers(0, 10**11), tiers, tiers)
def test_share_risk_pays_between_actual_and_target(target, actual, surplus, overspend):
    r = share_risk(target, actual, surplus, overspend)
    assert min(target, actual) <= r.paid_fen <= max(target, actual)
    assert sum(row.amount_fen for row in r.rows) == abs(actual - target)
    if actual <= target:
        assert r.paid_fen == actual + r.kept_fen and r.shared_fen == r.borne_fen == 0
    else:
        assert r.shared_fen + r.borne_fen == actual - target and r.paid_fen == target + r.shared_fen


@FAST
@given(
    st.integers(-(10**12), 10**12),
    st.integers(0, 10**12),
    st.decimals(D("0"), D("1"), places=4),
    st.decimals(D("0"), D("1"), places=4),
)
def test_month_and_year_lines_balance(entitlement, personal, payout, forfeit):
    m = month_line(entitlement, personal, payout)
    assert m.paid + m.deposit == m.owed == entitlement - personal and (m.owed <= 0 or m.deposit >= 0)
    y = year_line(entitlement, personal, m.paid, m.deposit, forfeit)
    assert y.clearing_fen == m.deposit - y.forfeit_fen and 0 <= y.forfeit_fen <= max(m.deposit, 0)


@FAST
@given(st.integers(0, 400), st.integers(0, 10**6), st.integers(0, 10**9), st.booleans())
def test_perdiem_rows_cover_the_stay_and_the_cap_only_lowers(days, daily, cost, cap):
    segments = [Segment(60, D("1.0")), Segment(90, D("0.9")), Segment(None, D("0.8"))]
    p = perdiem_payable(days, daily, segments, D(1) if cap else None, cost)
    assert sum(r.days for r in p.rows) == days and p.payable_fen <= p.uncapped_fen
    assert p.uncapped_fen == sum(r.amount_fen for r in p.rows) and p.capped == (
        p.payable_fen < p.uncapped_fen
    )


@FAST
@given(st.lists(st.tuples(st.integers(-(10**9), 10**9), st.integers(1, 10**9)), min_size=1, max_size=10))
def test_int64_and_python_integer_paths_agree(rows):
    num = np.array([n for n, _ in rows], dtype=np.int64)
    den = np.array([d for _, d in rows], dtype=np.int64)
    fast = rhu(product(num, 7), den)
    slow = rhu(product(num.astype(object), 7), den.astype(object))
    assert fast.tolist() == slow.tolist() == [rhu_frac(Fraction(7 * n, d)) for n, d in rows]


big_ints = st.integers(-(2**40), 2**40) | st.integers(-(2**62), 2**62)


@FAST
@given(
    st.lists(
        st.tuples(big_ints, big_ints, st.integers(1, 2**40), st.integers(1, 2**30)), min_size=1, max_size=12
    )
)
def test_ratio_rhu_agrees_with_fractions_on_every_path(rows):
    # rows mix products that fit int64, products where only the last factor overflows (the long division) and
    # absurd ones (Python integers); the answer is the same exact half-up quotient
    a, b, c, d = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
    expected = [rhu_frac(Fraction(x * y, z * w)) for x, y, z, w in rows]
    if all(abs(e) < 2**62 for e in expected):
        assert ratio_rhu([a, b], [c, d]).tolist() == expected
    small = [row for row in rows if abs(row[0]) < 2**30]  # s fits, s·x may not: the int64 long division
    if small:
        a, b, c, d = (np.array(col, dtype=np.int64) for col in zip(*small, strict=True))
        expected = [rhu_frac(Fraction(x * y, z * w)) for x, y, z, w in small]
        if all(abs(e) < 2**62 for e in expected):
            assert ratio_rhu([a, b], [c, d]).tolist() == expected
