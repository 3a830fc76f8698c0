"""Step 2 — the fund chain (settlement.md §3), vectorized: one function per step of the contract.

``settle_wave`` settles a set of visits of *different* slots at once, reading and updating their
accumulators: the basic pool (3.1), 大额 and 大病 (3.2), 惠民保 and medical assistance (3.3), then totals,
account and cash (3.4). Each step takes the wave's named inputs (``VisitArrays``) and the records of the
steps before it, and returns its own record (``arrays.py``). ``settle_visits`` orders visits by chain
(normally the person) and date and calls ``settle_wave`` once per "wave": the k-th visit of every chain.
Within a chain the visits are sequential, exactly as if settled one by one; across chains everything is
vectorized. An online settlement is a wave of one.

Why waves rather than closed-form cumulative sums over a person-year: the caps interlock (a chronic disease
cap inside the shared inpatient cap, the 大额 base taken from what the pool cap cut off, nested assistance
limits, the most favourable assistance category), and only the sequential definition is exact for all of
them. The number of waves is the largest number of visits of one person in the batch.

Every amount in the chain is non-negative (settlement sums are checked before), so rounding is the plain
half-up ``rhu_pos``. A tier no visit of the wave is eligible for is skipped: its record is zeros, which is
what computing it would give. Slots (and accounts) are distinct within a wave, so fancy-index writes to
the accumulators are exact.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from yibao.money import BP, rhu_pos
from yibao.policy.bundle import (
    DEDC_ANNUAL,
    DEDC_PER_ADMISSION,
    DEDC_PER_VISIT,
    DEDC_THRESHOLD,
    INF,
    PolicyBundle,
)
from yibao.settlement.arrays import (
    AccountPay,
    AssistancePay,
    ChainOutputs,
    CumulativePay,
    FundPay,
    PoolPay,
    VisitArrays,
)
from yibao.settlement.state import AccumState


def settle_wave(b: PolicyBundle, st: AccumState, w: VisitArrays, *, claim: bool = False) -> ChainOutputs:
    """Settle the visits of one wave (distinct slots and accounts) against ``st``, in the contract's order.

    A visit of a 先付费后报销 category (``pay_first``) is the person's whole at the institution: the chain sees
    nothing in scope and no admission, so no fund pays and no accumulator moves; its claim settles the same
    visit with ``claim`` (the funds pay, the accumulators move then). ``zero`` is shared by the records of the
    tiers the wave skips (records are never written to).
    """
    if not claim:
        later = b.arrays["pay_first"][w.ver, w.ins, w.cat]
        if later.any():
            w = replace(w, inscp=np.where(later, 0, w.inscp), new_adm=w.new_adm & ~later)
    zero = np.zeros(len(w), dtype=np.int64)
    pool = basic_pool(b, st, w)
    large = large_expense(b, st, w, pool, zero)
    critical = critical_illness(b, st, w, pool, zero)
    left = w.inscp - pool.pay - large.pay - critical.pay  # what 惠民保 works on (c of §3.3)
    supplementary = supplementary_cover(b, st, w, left, zero)
    assistance = medical_assistance(b, st, w, left - supplementary.pay, zero)
    funds = {  # by tier (tiers.FUNDS), in chain order
        "pool": pool,
        "large_expense": large,
        "critical": critical,
        "supplementary": supplementary,
        "assistance": assistance,
    }
    return ChainOutputs(funds, account_and_cash(b, st, w, funds, zero))


# --- 3.1 basic pool ------------------------------------------------------------------------------------------
def basic_pool(b: PolicyBundle, st: AccumState, w: VisitArrays) -> PoolPay:
    """基本医保统筹: the deductible, the ratio, the disease's annual cap, then the class's annual cap.

    ``w.cls`` is the visit's row: its class, or the row of its disease's group in the class (病种组)."""
    A = b.arrays
    s, ver, ins, c, p, d = w.slot, w.ver, w.ins, w.cls, w.cat, w.dis
    vi = (ver, ins, c)
    on = A["pool_on"][vi]
    kind = np.where(on, A["dedc_kind"][vi], 0)
    dc = A["dedc_row"][vi]  # a group sharing its class's deductible counts it there
    act, adm_dedc, counted = deductible(b, st, w, kind, dc)
    base = w.inscp - act
    ratio = np.where(on, A["ratio"][ver, ins, c, p, w.lvl], 0)
    u = rhu_pos(base * ratio, BP)
    has_d = (d >= 0) & on
    d0 = np.maximum(d, 0)
    drem = np.where(has_d, np.maximum(A["dis_cap"][ver, ins, c, d0] - st.dis[s, d0], 0), INF)
    a = np.minimum(u, drem)
    g = np.where(on, A["cap_group"][vi], -1)
    has_g = g >= 0
    g0 = np.maximum(g, 0)
    grem = np.where(has_g, np.maximum(A["cap_amt"][ver, ins, g0, p] - st.cap[s, g0], 0), INF)
    hifp = np.minimum(a, grem)
    st.dedc[s, dc] += np.where(kind == DEDC_ANNUAL, act, 0)
    st.adm[s, dc] += counted
    if has_g.any():
        st.cap[s[has_g], g[has_g]] += hifp[has_g]
    if has_d.any():
        st.dis[s[has_d], d[has_d]] += hifp[has_d]
    return PoolPay(
        pay=hifp,
        base=np.where(on, base, 0),
        rem=np.minimum(drem, grem),
        act_pay_dedc=act,
        ratio=ratio,
        before_cap=a,
        on=on,
        adm_dedc=adm_dedc,
        counted_adm=counted,
    )


def deductible(b: PolicyBundle, st: AccumState, w: VisitArrays, kind: np.ndarray, dc: np.ndarray) -> tuple:
    """起付线 consumed now (``act_pay_dedc``), the admission's deductible, and whether an admission is counted.

    Annual (outpatient): what is not yet consumed this year. Per admission (inpatient): by level, halved
    (``dedc_rep``) from the year's second admission; a continuation (中途结算) keeps its admission's amount
    and owes what earlier settlements of the admission did not consume. Per visit: the amount, each visit.
    Threshold (纳入门槛): a visit whose in-scope amount exceeds the amount is admitted whole; one that does not
    is the person's whole (its in-scope amount is what fell below the line).
    """
    A = b.arrays
    s, c = w.slot, w.cls
    vi = (w.ver, w.ins, c)
    annual, per_adm = kind == DEDC_ANNUAL, kind == DEDC_PER_ADMISSION
    amount = A["dedc_amt"][w.ver, w.ins, c, w.cat, w.lvl]
    per_visit = 0
    if (kind >= DEDC_PER_VISIT).any():  # (the per-visit kinds are numbered last)
        per_visit = np.where(kind == DEDC_PER_VISIT, amount, 0)
        per_visit = np.where((kind == DEDC_THRESHOLD) & (w.inscp <= amount), w.inscp, per_visit)
    new_adm = w.new_adm
    if per_adm.any():
        admissions = st.adm[s, dc]
        repeat = np.where(new_adm, admissions >= 1, admissions >= 2)
        per_amt = np.where(repeat, rhu_pos(amount * A["dedc_rep"][vi], BP), amount)
        if w.adm_dedc is not None:
            fixed = w.adm_dedc
            per_amt = np.where(~new_adm & (fixed >= 0), fixed, per_amt)
        adm_dedc = np.where(per_adm, per_amt, 0)
        due = np.where(
            annual,
            np.maximum(amount - st.dedc[s, dc], 0),
            np.where(per_adm, np.maximum(per_amt - w.adm_dedc_used, 0), per_visit),
        )
    else:
        adm_dedc = np.zeros(len(w), dtype=np.int64)
        due = np.where(annual, np.maximum(amount - st.dedc[s, dc], 0), per_visit)
    return np.minimum(w.inscp, due), adm_dedc, per_adm & new_adm


# --- 3.2 large-expense subsidy and critical illness -------------------------------------------------------
def large_expense(
    b: PolicyBundle, st: AccumState, w: VisitArrays, pool: PoolPay, zero: np.ndarray
) -> FundPay:
    """大额医疗费用补助 (职工): on the in-scope amount the pool would have paid but for its annual cap."""
    A = b.arrays
    on = A["le_on"][w.ver, w.ins, w.cls] & pool.on
    if not on.any():
        return FundPay(zero, zero, zero)
    ratio, s = pool.ratio, w.slot
    # round((a − hifp) / ratio), but never more than the base the pool computed on: the rounding of a and of
    # the division could otherwise make it exceed the base by a fen (3 fen at 0.85 → a 3 → 4), and the tier pay
    # above what is in scope; nor does the tier pay more than the pool left of the in-scope amount
    cut = rhu_pos((pool.before_cap - pool.pay) * BP, np.maximum(ratio, 1))
    overcap = np.where(on & (ratio > 0), np.minimum(cut, pool.base), 0)
    paid = st.tier["large_expense"].paid
    rem = np.where(on, np.maximum(A["le_cap"][w.ver, w.ins] - paid[s], 0), 0)
    offer = np.minimum(rhu_pos(overcap * A["le_ratio"][w.ver, w.ins], BP), w.inscp - pool.pay)
    pay = np.where(on, np.minimum(offer, rem), 0)
    paid[s] += pay
    return FundPay(pay, overcap, rem)


def _cum_segments(x, ded, upto, ratio):
    """F(x) = Σ_k round(overlap((ded, x], segment k) × ratio_k); segments (upto[k-1], upto[k]]."""
    total = np.zeros_like(x)
    lo = 0
    for k in range(upto.shape[1]):
        hi = upto[:, k]
        total += rhu_pos(np.maximum(np.minimum(x, hi) - np.maximum(ded, lo), 0) * ratio[:, k], BP)
        lo = hi
    return total


def critical_illness(
    b: PolicyBundle, st: AccumState, w: VisitArrays, pool: PoolPay, zero: np.ndarray
) -> CumulativePay:
    """大病保险 (居民): the difference of a cumulative segment function of the year's in-scope burden."""
    A = b.arrays
    ver, ins, s = w.ver, w.ins, w.slot
    masks = A["ci_tilt_mask"][ver, ins]
    tilt = np.zeros(len(w), dtype=np.int64)
    for k in range(masks.shape[1] - 1, 0, -1):  # the first tilt the person holds, in the policy's order
        tilt = np.where((w.idmask & masks[:, k]) != 0, k, tilt)
    on = A["ci_on"][ver, ins, tilt, w.cls]
    if not on.any():
        return CumulativePay(zero, zero, zero, zero, zero)
    add = np.where(on, w.inscp - pool.pay, 0)  # b = inscp − hifp (contract §3.2), even if 大额 also paid
    acc = st.tier["critical"]
    before, cap = acc.base[s], A["ci_cap"][ver, ins, tilt]
    ded, upto, ratio = A["ci_dedc"][ver, ins, tilt], A["ci_upto"][ver, ins], A["ci_ratio"][ver, ins, tilt]
    f_after = np.minimum(_cum_segments(before + add, ded, upto, ratio), cap)
    f_before = np.minimum(_cum_segments(before, ded, upto, ratio), cap)
    rem = np.where(on, np.maximum(cap - acc.paid[s], 0), 0)
    # F(after) − F(before) is what §3.2 pays; it can exceed what is left of the cap only when the year's
    # history was rewritten under it (a reversal, a tilt gained or lost), and §6 says no cap is exceeded.
    pay = np.where(on, np.minimum(f_after - f_before, rem), 0)
    acc.base[s] += add
    acc.paid[s] += pay
    return CumulativePay(pay, add, rem, on, tilt)


# --- 3.3 惠民保 and medical assistance --------------------------------------------------------------------
def supplementary_cover(
    b: PolicyBundle, st: AccumState, w: VisitArrays, left: np.ndarray, zero: np.ndarray
) -> CumulativePay:
    """惠民保 (enrolled persons): cumulative like 大病, one segment, on what the insurances left (``left``)."""
    A = b.arrays
    ver, s = w.ver, w.slot
    on = A["sp_on"][ver, w.ins, w.cls] & w.sp_enrolled
    if not on.any():
        return CumulativePay(zero, zero, zero, zero, zero)
    tilt = ((w.idmask & A["sp_tilt_mask"][ver]) != 0).astype(np.int64)
    add = np.where(on, left, 0)
    acc = st.tier["supplementary"]
    before = acc.base[s]
    ded, ratio, cap = A["sp_dedc"][ver, tilt], A["sp_ratio"][ver, tilt], A["sp_cap"][ver, tilt]
    g_after = np.minimum(rhu_pos(np.maximum(before + add - ded, 0) * ratio, BP), cap)
    g_before = np.minimum(rhu_pos(np.maximum(before - ded, 0) * ratio, BP), cap)
    rem = np.where(on, np.maximum(cap - acc.paid[s], 0), 0)
    pay = np.where(on, np.minimum(g_after - g_before, rem), 0)  # as 大病: never beyond the cap left
    acc.base[s] += add
    acc.paid[s] += pay
    return CumulativePay(pay, add, rem, on, tilt)


def medical_assistance(
    b: PolicyBundle, st: AccumState, w: VisitArrays, left: np.ndarray, zero: np.ndarray
) -> AssistancePay:
    """医疗救助: the most favourable category held on the visit date, on what every insurance left (托底)."""
    A = b.arrays
    ver, s, c, idm = w.ver, w.slot, w.cls, w.idmask
    on = A["as_on"][ver, w.ins, c]
    category = np.full(len(w), -1, dtype=np.int64)
    if not (on.any() and (idm != 0).any()):
        return AssistancePay(zero, zero, zero, category, zero)
    m = np.where(on, left, 0)
    acc = st.tier["assistance"]
    cp = A["class_parent"][c]  # a disease group's assistance counts under its class
    paid_total, paid_class = acc.paid[s], acc.by_class[s, cp]
    pay = rem = zero
    burden = acc.burden[s]  # the year's in-scope burden left after every fund, while under a burden cap
    capped = np.zeros(len(w), dtype=bool)  # the visit is one of a category with a burden cap (负担封顶)
    # the categories each visit qualifies for: its identity (or graded identity) held, and for a category of
    # listed diagnoses only, a diagnosis matched (bits of the condition mask); [visit, category]
    cond = idm[:, None]
    held_all = on[:, None] & ((cond & A["as_bit"][ver]) != 0) & A["as_defined"][ver]
    dx = A["as_dx"][ver]
    if dx.any():
        held_all &= (dx == 0) | ((cond & dx) != 0)
    caps = A["as_burden"][ver]
    any_cap = bool((caps < INF).any())
    for k in range(len(b.assistance_codes)):
        held = held_all[:, k]
        if not held.any():
            continue
        limit = np.minimum(
            np.maximum(A["as_annual"][ver, k] - paid_total, 0),
            np.maximum(A["as_class_lim"][ver, k, c] - paid_class, 0),
        )
        offer = rhu_pos(m * A["as_ratio"][ver, k], BP)
        if any_cap:  # 负担封顶: at least what would take the year's burden above the cap
            capped |= held & (caps[:, k] < INF)
            offer = np.maximum(offer, np.maximum(m - np.maximum(caps[:, k] - burden, 0), 0))
        offer = np.minimum(offer, limit)
        better = held & ((offer > pay) | (category < 0))  # ties keep the earlier category in policy order
        pay = np.where(better, offer, pay)
        category = np.where(better, k, category)
        rem = np.where(better, limit, rem)
    base = np.where(category >= 0, m, 0)
    added = np.where(capped, m - pay, 0)  # counted while a capped category applies, whichever one paid
    acc.paid[s] += pay
    acc.burden[s] += added
    acc.by_class[s, cp] += pay
    return AssistancePay(pay, base, rem, category, added)


# --- 3.4 totals, account, cash -----------------------------------------------------------------------------
def account_and_cash(
    b: PolicyBundle, st: AccumState, w: VisitArrays, funds: dict[str, FundPay], zero: np.ndarray
) -> AccountPay:
    """fund_pay_sumamt (the funds, not the account), the person's part, the personal account, cash."""
    pays = [f.pay for f in funds.values()]
    fund = sum(pays[1:], pays[0])
    psn_part = w.medfee - fund
    acct, flag = w.acct, w.acct_flag
    # own account where the insutype has one; under 共济 (flag 2) a relative's 职工 account, whatever the patient's insutype
    has_acct = (acct >= 0) & (b.arrays["acct_on"][w.ver, w.ins, w.cat] | (flag == 2))
    if has_acct.any():
        bal_before = np.where(has_acct, st.bal[np.maximum(acct, 0)], 0)
        acct_pay = np.where(has_acct & (flag > 0), np.minimum(bal_before, psn_part), 0)
        st.bal[acct[has_acct]] -= acct_pay[has_acct]
    else:
        bal_before = acct_pay = zero
    return AccountPay(
        fund_pay_sumamt=fund,
        psn_part_amt=psn_part,
        acct_pay=acct_pay,
        acct_mulaid_pay=np.where(flag == 2, acct_pay, 0),
        psn_cash_pay=psn_part - acct_pay,
        balc=bal_before - acct_pay,
        bal_before=bal_before,
        acct_on=has_acct,
    )


# --- waves -------------------------------------------------------------------------------------------------
def wave_order(chain: np.ndarray, date: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Visit order by (chain, date, input order) and the wave boundaries (k-th visit of every chain)."""
    n = chain.size
    order = np.lexsort((np.arange(n), date, chain))
    ch = chain[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ch[1:] != ch[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - start
    by_rank = order[np.argsort(rank, kind="stable")]
    counts = np.bincount(rank) if n else np.zeros(0, dtype=np.int64)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return by_rank, bounds


def _first_per_account(acct: np.ndarray) -> np.ndarray:
    keyed = acct >= 0
    take = ~keyed
    _, first = np.unique(acct[keyed], return_index=True)
    take[np.flatnonzero(keyed)[first]] = True
    return take


def settle_visits(
    b: PolicyBundle, st: AccumState, v: VisitArrays, chain: np.ndarray, date: np.ndarray
) -> ChainOutputs:
    """Settle every visit in sequence per chain (person), vectorized across chains; updates ``st`` in place."""
    out = None
    by_rank, bounds = wave_order(chain, date)
    # An account shared across chains (共济 between persons settled as separate chains) could appear twice
    # in one wave; only then are waves split so that each account is debited in turn.
    shared = bool(((v.acct >= 0) & (v.acct != chain)).any())
    for t in range(len(bounds) - 1):
        idx = by_rank[bounds[t] : bounds[t + 1]]
        while idx.size:
            take = _first_per_account(v.acct[idx]) if shared else np.ones(idx.size, dtype=bool)
            these = idx[take]
            wave = settle_wave(b, st, v.take(these))
            if out is None:
                out = ChainOutputs.zeros_like(wave, len(v))
            out.put(these, wave)
            idx = idx[~take]
    if out is None:  # no visits: the outputs' structure from a wave of none
        out = settle_wave(b, st, v.take(np.zeros(0, dtype=np.int64)))
    return out
