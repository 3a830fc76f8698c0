"""Step 2 — the fund chain (settlement.md §3), vectorized.

``settle_wave`` settles a set of visits of *different* slots at once, reading and
updating their accumulators. ``settle_batch`` orders visits by chain (normally the
person) and date and calls it once per "wave": the k-th visit of every chain.
Within a chain the visits are sequential, exactly as if settled one by one;
across chains everything is vectorized. An online settlement is a wave of one.

Why waves rather than closed-form cumulative sums over a person-year: the caps
interlock (a chronic disease cap inside the shared inpatient cap, the 大额 base
taken from what the pool cap cut off, nested assistance limits, the most
favourable assistance category), and only the sequential definition is exact for
all of them. The number of waves is the largest number of visits of one person
in the batch; each wave is a few hundred NumPy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.policy.compiler import DEDC_ANNUAL, DEDC_PER_ADMISSION, INF, PolicyBundle
from yibao.settlement.lines import rhu_pos
from yibao.settlement.state import AccumState

BP = 10_000


@dataclass
class VisitArrays:
    """Per-visit inputs as parallel int64/bool arrays (index = visit)."""

    slot: np.ndarray  # accumulator slot (person × year × insutype)
    acct: np.ndarray  # account index paying the person's part, -1 = no account
    ver: np.ndarray  # policy version index
    ins: np.ndarray  # insutype index
    cls: np.ndarray  # benefit class index
    cat: np.ndarray  # person category index
    lvl: np.ndarray  # dedc_hosp_lv 1..3 (0 = not given)
    dis: np.ndarray  # chronic disease index, -1 = none
    idmask: np.ndarray  # identities held on the visit date (bit per bundle.identity_codes)
    sp_enrolled: np.ndarray  # bool: enrolled in 惠民保 that year
    acct_flag: np.ndarray  # acct_used_flag 0/1/2
    new_adm: np.ndarray  # bool: this settlement opens an admission (inpatient-type deductibles)
    adm_dedc_used: np.ndarray  # deductible already consumed by this admission (mid-way settlements)
    medfee: np.ndarray
    ful: np.ndarray
    over: np.ndarray
    pre: np.ndarray
    inscp: np.ndarray
    # a continuation's (中途结算) per-admission deductible as fixed when its admission opened; -1 or None:
    # derive it from the admissions counted now (right whenever nothing opened or was reversed in between)
    adm_dedc: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.slot.size)


# Kernel outputs that are setlinfo fields of the same name (the split sums and the ratio come separately).
SETLINFO_OUTPUTS = (
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "oth_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "balc",
)
OUTPUTS = (
    "act_pay_dedc",
    "hifp_pay",
    "ratio",
    "hifob_pay",
    "hifmi_pay",
    "oth_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "balc",
    "acct_mulaid_pay",
    # setldetail: the base each fund computed on and its remaining limit before (INF = unlimited)
    "pool_base",
    "pool_rem",
    "le_base",
    "le_rem",
    "ci_b",
    "ci_rem",
    "sp_c",
    "sp_rem",
    "as_m",
    "as_rem",
    "bal_before",
    # what was used, for traces and accumulator deltas
    "acat",
    "ci_tilt",
    "sp_tilt",
    "sp_on",
    "ci_on",
    "counted_adm",
    "adm_dedc",  # the per-admission deductible this admission carries (fixed when it opens)
    "acct_on",  # 1 when an account took part (its balance is shown in balc)
)


def empty_outputs(n: int) -> dict[str, np.ndarray]:
    """Zeroed output columns (rows of one block: a single allocation)."""
    return dict(zip(OUTPUTS, np.zeros((len(OUTPUTS), n), dtype=np.int64), strict=True))


def _cum_segments(x, ded, upto, ratio):
    """F(x) = Σ_k round(overlap((ded, x], segment k) × ratio_k); segments (upto[k-1], upto[k]]."""
    total = np.zeros_like(x)
    lo = 0
    for k in range(upto.shape[1]):
        hi = upto[:, k]
        total += rhu_pos(np.maximum(np.minimum(x, hi) - np.maximum(ded, lo), 0) * ratio[:, k], BP)
        lo = hi
    return total


def settle_wave(
    b: PolicyBundle, st: AccumState, v: VisitArrays, idx: np.ndarray, out: dict[str, np.ndarray]
) -> None:
    """Settle visits ``idx`` (distinct slots and accounts) against ``st``; write ``out[...][idx]``; update ``st``.

    Every amount in the chain is non-negative (settlement sums are checked before), so rounding is
    the plain half-up ``rhu_pos``. Tiers no visit of the wave is eligible for are skipped: their
    outputs stay zero, which is what computing them would give.
    """
    A = b.arrays
    o = out
    s = v.slot[idx]
    ver, ins, c, p, lv = v.ver[idx], v.ins[idx], v.cls[idx], v.cat[idx], v.lvl[idx]
    d = v.dis[idx]
    inscp, medfee = v.inscp[idx], v.medfee[idx]
    vi = (ver, ins, c)
    zero = np.zeros(idx.size, dtype=np.int64)

    # 3.1 basic pool: deductible, ratio, disease cap, class cap
    pool_on = A["pool_on"][vi]
    kind = np.where(pool_on, A["dedc_kind"][vi], 0)
    annual, per_adm = kind == DEDC_ANNUAL, kind == DEDC_PER_ADMISSION
    dedc_amt = A["dedc_amt"][ver, ins, c, p, lv]
    new_adm = v.new_adm[idx]
    if per_adm.any():
        admissions = st.adm[s, c]
        repeat = np.where(new_adm, admissions >= 1, admissions >= 2)
        per_amt = np.where(repeat, rhu_pos(dedc_amt * A["dedc_rep"][vi], BP), dedc_amt)
        if v.adm_dedc is not None:
            fixed = v.adm_dedc[idx]
            per_amt = np.where(~new_adm & (fixed >= 0), fixed, per_amt)
        o["adm_dedc"][idx] = np.where(per_adm, per_amt, 0)
        due = np.where(
            annual,
            np.maximum(dedc_amt - st.dedc[s, c], 0),
            np.where(per_adm, np.maximum(per_amt - v.adm_dedc_used[idx], 0), 0),
        )
    else:
        due = np.where(annual, np.maximum(dedc_amt - st.dedc[s, c], 0), 0)
    act = np.minimum(inscp, due)
    base = inscp - act
    ratio = np.where(pool_on, A["ratio"][ver, ins, c, p, lv], 0)
    u = rhu_pos(base * ratio, BP)
    has_d = (d >= 0) & pool_on
    d0 = np.maximum(d, 0)
    drem = np.where(has_d, np.maximum(A["dis_cap"][ver, ins, d0] - st.dis[s, d0], 0), INF)
    a = np.minimum(u, drem)
    g = np.where(pool_on, A["cap_group"][vi], -1)
    has_g = g >= 0
    g0 = np.maximum(g, 0)
    grem = np.where(has_g, np.maximum(A["cap_amt"][ver, ins, g0, p] - st.cap[s, g0], 0), INF)
    hifp = np.minimum(a, grem)
    left = inscp - hifp  # in-scope amount the later tiers work on

    # 3.2 大额 (on what the pool's annual cap cut off)
    le_on = A["le_on"][vi] & pool_on
    if le_on.any():
        overcap = np.where(le_on & (ratio > 0), rhu_pos((a - hifp) * BP, np.maximum(ratio, 1)), 0)
        le_rem = np.where(le_on, np.maximum(A["le_cap"][ver, ins] - st.le[s], 0), 0)
        hifob = np.where(le_on, np.minimum(rhu_pos(overcap * A["le_ratio"][ver, ins], BP), le_rem), 0)
        st.le[s] += hifob
        o["le_base"][idx], o["le_rem"][idx] = overcap, le_rem
        left = left - hifob
    else:
        hifob = zero

    # 3.2 大病 (difference of a cumulative segment function of the year's base)
    ci_on = A["ci_on"][vi]
    if ci_on.any():
        ci_t = ((v.idmask[idx] & A["ci_tilt_mask"][ver, ins]) != 0).astype(np.int64)
        bvec = np.where(ci_on, inscp - hifp, 0)  # b = inscp − hifp (contract §3.2), even if 大额 also paid
        ci_before = st.ci_base[s]
        ci_cap = A["ci_cap"][ver, ins, ci_t]
        ded, upto, seg_ratio = (
            A["ci_dedc"][ver, ins, ci_t],
            A["ci_upto"][ver, ins],
            A["ci_ratio"][ver, ins, ci_t],
        )
        f_after = np.minimum(_cum_segments(ci_before + bvec, ded, upto, seg_ratio), ci_cap)
        f_before = np.minimum(_cum_segments(ci_before, ded, upto, seg_ratio), ci_cap)
        ci_rem = np.where(ci_on, np.maximum(ci_cap - st.ci_paid[s], 0), 0)
        # F(after) − F(before) is what §3.2 pays; it can exceed what is left of the cap only when the year's
        # history was rewritten under it (a reversal, a tilt gained or lost), and §6 says no cap is exceeded.
        hifmi = np.where(ci_on, np.minimum(f_after - f_before, ci_rem), 0)
        st.ci_base[s] += bvec
        st.ci_paid[s] += hifmi
        o["ci_b"][idx], o["ci_rem"][idx], o["ci_tilt"][idx], o["ci_on"][idx] = bvec, ci_rem, ci_t, ci_on
        left = left - hifmi
    else:
        hifmi = zero

    # 3.3 惠民保 (cumulative, one segment, enrolled persons)
    sp_on = A["sp_on"][vi] & v.sp_enrolled[idx]
    if sp_on.any():
        sp_t = ((v.idmask[idx] & A["sp_tilt_mask"][ver]) != 0).astype(np.int64)
        cvec = np.where(sp_on, left, 0)
        sp_before = st.sp_base[s]
        sp_ded, sp_ratio, sp_cap = A["sp_dedc"][ver, sp_t], A["sp_ratio"][ver, sp_t], A["sp_cap"][ver, sp_t]
        g_after = np.minimum(rhu_pos(np.maximum(sp_before + cvec - sp_ded, 0) * sp_ratio, BP), sp_cap)
        g_before = np.minimum(rhu_pos(np.maximum(sp_before - sp_ded, 0) * sp_ratio, BP), sp_cap)
        sp_rem = np.where(sp_on, np.maximum(sp_cap - st.sp_paid[s], 0), 0)
        oth = np.where(sp_on, np.minimum(g_after - g_before, sp_rem), 0)  # as 大病: never beyond the cap left
        st.sp_base[s] += cvec
        st.sp_paid[s] += oth
        o["sp_c"][idx], o["sp_rem"][idx], o["sp_tilt"][idx], o["sp_on"][idx] = cvec, sp_rem, sp_t, sp_on
        left = left - oth
    else:
        oth = zero

    # 3.3 medical assistance: the most favourable category held on the visit date
    as_on = A["as_on"][vi]
    idm = v.idmask[idx]
    maf, acat = zero, np.full(idx.size, -1, dtype=np.int64)
    if as_on.any() and (idm != 0).any():
        m = np.where(as_on, left, 0)
        as_rem = zero
        paid_total, paid_class = st.as_total[s], st.as_class[s, c]
        for k in range(len(b.assistance_codes)):
            held = as_on & ((idm & A["as_bit"][k]) != 0) & A["as_defined"][ver, k]
            if not held.any():
                continue
            rem = np.minimum(
                np.maximum(A["as_annual"][ver, k] - paid_total, 0),
                np.maximum(A["as_class_lim"][ver, k, c] - paid_class, 0),
            )
            pay = np.minimum(rhu_pos(m * A["as_ratio"][ver, k], BP), rem)
            better = held & ((pay > maf) | (acat < 0))  # ties keep the earlier category in policy order
            maf = np.where(better, pay, maf)
            acat = np.where(better, k, acat)
            as_rem = np.where(better, rem, as_rem)
        st.as_total[s] += maf
        st.as_class[s, c] += maf
        o["as_m"][idx], o["as_rem"][idx] = np.where(acat >= 0, m, 0), as_rem

    # 3.4 totals, personal account, cash
    fund = hifp + hifob + hifmi + maf + oth
    psn_part = medfee - fund
    acct_idx = v.acct[idx]
    flag = v.acct_flag[idx]
    # own account where the insutype has one; under 共济 (flag 2) a relative's 职工 account, whatever the patient's insutype
    has_acct = (acct_idx >= 0) & (A["acct_on"][ver, ins] | (flag == 2))
    if has_acct.any():
        bal_before = np.where(has_acct, st.bal[np.maximum(acct_idx, 0)], 0)
        acct_pay = np.where(has_acct & (flag > 0), np.minimum(bal_before, psn_part), 0)
        st.bal[acct_idx[has_acct]] -= acct_pay[has_acct]
    else:
        bal_before = acct_pay = zero

    # basic-pool accumulators (slots are distinct within a wave, so fancy-index writes are exact)
    st.dedc[s, c] += np.where(annual, act, 0)
    counted = per_adm & new_adm
    st.adm[s, c] += counted
    if has_g.any():
        st.cap[s[has_g], g[has_g]] += hifp[has_g]
    if has_d.any():
        st.dis[s[has_d], d[has_d]] += hifp[has_d]

    o["act_pay_dedc"][idx] = act
    o["hifp_pay"][idx] = hifp
    o["ratio"][idx] = ratio
    o["hifob_pay"][idx] = hifob
    o["hifmi_pay"][idx] = hifmi
    o["oth_pay"][idx] = oth
    o["maf_pay"][idx] = maf
    o["fund_pay_sumamt"][idx] = fund
    o["psn_part_amt"][idx] = psn_part
    o["acct_pay"][idx] = acct_pay
    o["acct_mulaid_pay"][idx] = np.where(flag == 2, acct_pay, 0)
    o["psn_cash_pay"][idx] = psn_part - acct_pay
    o["balc"][idx] = bal_before - acct_pay
    o["pool_base"][idx] = np.where(pool_on, base, 0)
    o["pool_rem"][idx] = np.minimum(drem, grem)
    o["bal_before"][idx] = bal_before
    o["acat"][idx] = acat
    o["counted_adm"][idx] = counted
    o["acct_on"][idx] = has_acct


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
) -> dict[str, np.ndarray]:
    """Settle every visit in sequence per chain (person), vectorized across chains; updates ``st`` in place."""
    out = empty_outputs(len(v))
    by_rank, bounds = wave_order(chain, date)
    # An account shared across chains (共济 between persons settled as separate chains) could appear twice
    # in one wave; only then are waves split so that each account is debited in turn.
    shared = bool(((v.acct >= 0) & (v.acct != chain)).any())
    for t in range(len(bounds) - 1):
        idx = by_rank[bounds[t] : bounds[t + 1]]
        while idx.size:
            take = _first_per_account(v.acct[idx]) if shared else np.ones(idx.size, dtype=bool)
            settle_wave(b, st, v, idx[take], out)
            idx = idx[~take]
    return out
