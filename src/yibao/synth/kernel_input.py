"""The kernel's input for the generated year (批量结算输入): per-visit indices resolved against the policy
bundle, the fee lines, the starting balances, and which account pays each visit."""

from __future__ import annotations

import numpy as np

from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import EPOCH_ORD, BatchInput
from yibao.settlement.lines import LineArrays
from yibao.synth import claims as claims_mod
from yibao.synth.claims import Claims, Reference
from yibao.synth.history import History, Reversals
from yibao.synth.population import Population


def batch_input(
    bundle: PolicyBundle, pop: Population, past: History, cl: Claims, ref: Reference, rev: Reversals
) -> BatchInput:
    """The kernel's arrays. The account paying a visit is the person's own (职工) or, from the binding's day,
    the 共济 owner's for a bound relative's visits out of hospital; the outpatient visits to be reversed were
    first settled in cash (acct_used_flag 0)."""
    day = cl.day.astype("datetime64[D]").astype(np.int64)
    ver_of_day = np.searchsorted(bundle.starts - EPOCH_ORD, day, side="right") - 1
    ins_idx = {c: i for i, c in enumerate(bundle.insutypes)}
    ins = np.array([ins_idx[c] for c in pop.insutype])[cl.person]
    pairs = list(zip(pop.insutype.tolist(), pop.psn_type.tolist(), strict=True))
    cats = {pair: bundle.category_index(*pair) for pair in set(pairs)}
    cat = np.array([cats[pair] for pair in pairs])[cl.person]
    cls = np.array(
        [
            bundle.class_index(int(v), m)
            for v, m in zip(ver_of_day.tolist(), cl.med_type.tolist(), strict=True)
        ]
    )
    dis = np.array([-1 if not c else bundle.disease_index(c) for c in cl.opsp.tolist()])
    idmask = np.array([bundle.identity_mask([c]) if c else 0 for c in pop.identity])[cl.person]
    employee = pop.insutype == "310"
    outside = cl.kind != claims_mod.INPAT
    acct = np.where(employee[cl.person], cl.person, -1)
    acct_flag = np.where(employee[cl.person] & outside, 1, 0)
    owner_of = np.full(len(pop), -1, dtype=np.int64)
    owner_of[past.member] = past.owner
    since = np.full(len(pop), np.datetime64("9999-12-31"), dtype="datetime64[D]")
    since[past.member] = past.bind_day
    mutual = (owner_of[cl.person] >= 0) & outside & (cl.day.astype("datetime64[D]") >= since[cl.person])
    acct[mutual], acct_flag[mutual] = owner_of[cl.person[mutual]], 2
    acct_flag[rev.outpatient] = 0
    lines = LineArrays(
        cl.line_visit,
        cl.line_pric,
        cl.line_cnt,
        cl.line_amt,
        ref.item_lv[cl.line_item],
        ref.item_selfpay[cl.line_item],
        ref.item_cap[cl.line_item],
        ref.item_lmt[cl.line_item],
        cl.line_appr,
    )
    return BatchInput(
        person=cl.person,
        day=day,
        ver=ver_of_day,
        ins=ins,
        cls=cls,
        cat=cat,
        lvl=cl.level,
        dis=dis,
        idmask=idmask,
        sp_enrolled=pop.huiminbao[cl.person],
        acct_flag=acct_flag,
        has_account=employee,
        balance=pop.balance,
        lines=lines,
        acct=acct,
    )
