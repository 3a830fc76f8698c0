"""Whole-batch records: setldetail rows, accumulator deltas and ledger postings as arrays.

These are the vectorized twins of :func:`result.build_detail`, :func:`result.build_delta` and
:func:`yibao.funds.ledger.settlement_postings`; tests hold them equal row for row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.funds import ledger
from yibao.policy.compiler import DEDC_ANNUAL, INF, PolicyBundle
from yibao.settlement.batch import BatchInput, BatchResult


@dataclass
class DetailArrays:
    visit: np.ndarray
    fund_pay_type: np.ndarray  # str
    base: np.ndarray
    remaining: np.ndarray  # -1 = unlimited
    amount: np.ndarray


def _codes(names: tuple, ver: np.ndarray, ins: np.ndarray | None) -> np.ndarray:
    table = (
        np.array([[c or "" for c in row] for row in names], dtype="U10")
        if ins is not None
        else np.array([c or "" for c in names], dtype="U10")
    )
    return table[ver, ins] if ins is not None else table[ver]


def detail_arrays(bundle: PolicyBundle, b: BatchInput, r: BatchResult) -> DetailArrays:
    o = r.out
    n = bundle.names
    tiers = [
        (_codes(n["pool_fpt"], b.ver, b.ins), o["pool_base"], o["pool_rem"], o["hifp_pay"]),
        (_codes(n["le_fpt"], b.ver, b.ins), o["le_base"], o["le_rem"], o["hifob_pay"]),
        (_codes(n["ci_fpt"], b.ver, b.ins), o["ci_b"], o["ci_rem"], o["hifmi_pay"]),
        (_codes(n["sp_fpt"], b.ver, None), o["sp_c"], o["sp_rem"], o["oth_pay"]),
        (_codes(n["as_fpt"], b.ver, None), o["as_m"], o["as_rem"], o["maf_pay"]),
        (_codes(n["acct_fpt"], b.ver, b.ins), o["psn_part_amt"], o["bal_before"], o["acct_pay"]),
    ]
    parts = []
    for order, (fpt, base, rem, pay) in enumerate(tiers):
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
    A, o = bundle.arrays, r.out
    vi = (b.ver, b.ins, b.cls)
    pool = A["pool_on"][vi]
    annual = pool & (A["dedc_kind"][vi] == DEDC_ANNUAL)
    group = np.where(pool, A["cap_group"][vi], -1)
    classes, groups, diseases = bundle.classes, bundle.groups, bundle.diseases
    cols = {
        k: o[k].tolist()
        for k in (
            "act_pay_dedc",
            "counted_adm",
            "hifp_pay",
            "hifob_pay",
            "ci_b",
            "hifmi_pay",
            "sp_c",
            "oth_pay",
            "maf_pay",
        )
    }
    out = []
    for i, (c, a, g, d) in enumerate(
        zip(b.cls.tolist(), annual.tolist(), group.tolist(), b.dis.tolist(), strict=True)
    ):
        cname = classes[c]
        hifp = cols["hifp_pay"][i]
        entry = {}
        if a and cols["act_pay_dedc"][i]:
            entry[f"dedc:{cname}"] = cols["act_pay_dedc"][i]
        if cols["counted_adm"][i]:
            entry[f"admissions:{cname}"] = 1
        if hifp:
            if g >= 0:
                entry[f"cap:{groups[g]}"] = hifp
            if d >= 0:
                entry[f"disease:{diseases[d]}"] = hifp
        for key, col in (
            ("large_expense:paid", "hifob_pay"),
            ("critical:base", "ci_b"),
            ("critical:paid", "hifmi_pay"),
            ("supplementary:base", "sp_c"),
            ("supplementary:paid", "oth_pay"),
            ("assistance:paid", "maf_pay"),
        ):
            if cols[col][i]:
                entry[key] = cols[col][i]
        if cols["maf_pay"][i]:
            entry[f"assistance:{cname}"] = cols["maf_pay"][i]
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
    acct = r.out["acct_pay"]
    cash = r.out["psn_cash_pay"]
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
