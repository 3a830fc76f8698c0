"""Whole-batch records: setldetail rows, accumulator deltas and ledger postings as arrays.

These are the vectorized twins of :func:`result.build_detail`, :func:`result.build_delta` and
:func:`yibao.funds.ledger.settlement_postings`; tests hold them equal row for row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.funds import ledger
from yibao.policy.bundle import DEDC_ANNUAL, INF, PolicyBundle
from yibao.settlement.batch import BatchInput, BatchResult
from yibao.settlement.tiers import ACCOUNT_FPT, FUNDS, INCREMENT


@dataclass
class DetailArrays:
    visit: np.ndarray
    fund_pay_type: np.ndarray  # str
    base: np.ndarray
    remaining: np.ndarray  # -1 = unlimited
    amount: np.ndarray


def detail_arrays(bundle: PolicyBundle, b: BatchInput, r: BatchResult) -> DetailArrays:
    """setldetail rows of every visit: the funds that paid in chain order (``tiers.FUNDS``), then the account."""
    rows = []
    for f in FUNDS:
        rec = r.out.funds[f.tier]
        rows.append((bundle.fund_pay_types(f.fund_pay_type, b.ver, b.ins), rec.base, rec.rem, rec.pay))
    acct = r.out.account
    rows.append(
        (bundle.fund_pay_types(ACCOUNT_FPT, b.ver, b.ins), acct.psn_part_amt, acct.bal_before, acct.acct_pay)
    )
    parts = []
    for order, (fpt, base, rem, pay) in enumerate(rows):
        m = pay != 0
        idx = np.flatnonzero(m)
        parts.append(
            (idx, np.full(idx.size, order), fpt[m], base[m], np.where(rem[m] >= INF // 2, -1, rem[m]), pay[m])
        )
    visit = np.concatenate([p[0] for p in parts])
    tier = np.concatenate([p[1] for p in parts])
    order = np.lexsort((tier, visit))  # per visit, in the order of the fund chain
    return DetailArrays(
        visit[order],
        np.concatenate([p[2] for p in parts])[order],
        np.concatenate([p[3] for p in parts])[order],
        np.concatenate([p[4] for p in parts])[order],
        np.concatenate([p[5] for p in parts])[order],
    )


def deltas(bundle: PolicyBundle, b: BatchInput, r: BatchResult) -> list[dict[str, int]]:
    """Named accumulator increments per visit (a reversal subtracts exactly these)."""
    A, pool = bundle.arrays, r.out.funds["pool"]
    vi = (b.ver, b.ins, b.cls)
    on = A["pool_on"][vi]
    annual = (on & (A["dedc_kind"][vi] == DEDC_ANNUAL)).tolist()
    group = np.where(on, A["cap_group"][vi], -1).tolist()
    dedc_row, parent = A["dedc_row"][vi].tolist(), A["class_parent"][b.cls].tolist()
    classes, groups, diseases = bundle.classes, bundle.groups, bundle.diseases
    act, counted, hifp = pool.act_pay_dedc.tolist(), pool.counted_adm.tolist(), pool.pay.tolist()
    # the later tiers' increments: per-slot totals ("<tier>:paid" …), then per class ("<tier>:<class>")
    tiers = [
        (f"{f.tier}:{what}", getattr(r.out.funds[f.tier], INCREMENT[what]).tolist())
        for f in FUNDS
        for what in f.accumulates
    ]
    by_class = [(f.tier, r.out.funds[f.tier].pay.tolist()) for f in FUNDS if f.by_class]
    out = []
    for i, d in enumerate(b.dis.tolist()):
        cname = classes[parent[i]]  # a disease group's row counts under its class, its deductible as it says
        entry = {}
        if annual[i] and act[i]:
            entry[f"dedc:{classes[dedc_row[i]]}"] = act[i]
        if counted[i]:
            entry[f"admissions:{classes[dedc_row[i]]}"] = 1
        if hifp[i]:
            if group[i] >= 0:
                entry[f"cap:{groups[group[i]]}"] = hifp[i]
            if d >= 0:
                entry[f"disease:{diseases[d]}"] = hifp[i]
        for key, col in tiers:
            if col[i]:
                entry[key] = col[i]
        for tier, col in by_class:
            if col[i]:
                entry[f"{tier}:{cname}"] = col[i]
        out.append(entry)
    return out


@dataclass
class PostingArrays:
    visit: np.ndarray
    account: np.ndarray  # str
    fund_pay_type: np.ndarray  # str ("" = none)
    amount: np.ndarray


def posting_arrays(d: DetailArrays, r: BatchResult, account_fpt: str = "310200") -> PostingArrays:
    """The legs of every settlement, as :func:`ledger.settlement_postings` would post them one by one."""
    fund = d.fund_pay_type != account_fpt
    fv, ff, fa = d.visit[fund], d.fund_pay_type[fund], d.amount[fund]
    acct = r.out.account.acct_pay
    cash = r.out.account.psn_cash_pay
    av = np.flatnonzero(acct != 0)
    cv = np.flatnonzero(cash != 0)
    parts = [
        (fv, 0, ledger.FUND_EXPENSE, ff, fa),
        (fv, 1, ledger.INSTITUTION_PAYABLE, ff, -fa),
        (av, 2, ledger.PERSONAL_ACCOUNT, account_fpt, acct[av]),
        (av, 3, ledger.INSTITUTION_PAYABLE, account_fpt, -acct[av]),
        (cv, 4, ledger.PATIENT_CASH, "", cash[cv]),
        (cv, 5, ledger.INSTITUTION_CASH, "", -cash[cv]),
    ]
    visit = np.concatenate([p[0] for p in parts])
    leg = np.concatenate([np.full(p[0].size, p[1]) for p in parts])
    fund_seq = np.concatenate(
        [np.arange(fv.size), np.arange(fv.size)] + [np.zeros(p[0].size, dtype=np.int64) for p in parts[2:]]
    )
    group = np.minimum(leg // 2, 2)  # funds (in chain order), then the account pair, then the cash pair
    order = np.lexsort((leg, fund_seq, group, visit))
    account = np.concatenate([np.full(p[0].size, p[2], dtype="U24") for p in parts])[order]
    fpt = np.concatenate([np.broadcast_to(np.asarray(p[3], dtype="U10"), p[0].shape) for p in parts])[order]
    amount = np.concatenate([p[4] for p in parts])[order]
    return PostingArrays(visit[order], account, fpt, amount)
