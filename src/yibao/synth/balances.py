"""Balances and accumulators of the settled year (账户与累计写库): the opening entry of 1 January, each account
as the year's settlements left it, and the accumulators the kernel ended with."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Engine, insert

from yibao.funds import ledger
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import BatchResult
from yibao.store.tables import Accumulator, AccumulatorYear, LedgerEntry, LedgerPosting, PersonalAccount
from yibao.synth.history import History
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.store import Progress, bulk, chunked


def on_first_day(pop: Population, past: History) -> np.ndarray:
    """The 职工 whose account exists on 1 January (a 转入 brings theirs later)."""
    here = pop.insutype == "310"
    here[past.transfer_in] = False
    return here


def write_opening_balances(
    engine: Engine, p: Params, pop: Population, past: History, progress: Progress
) -> None:
    """The accounts' balances on 1 January, as one opening entry: the ledger then proves every balance."""
    owners = np.flatnonzero(on_first_day(pop, past) & (pop.balance > 0))
    when = datetime(p.year - 1, 12, 31)
    with engine.begin() as conn:
        entry = conn.execute(
            insert(LedgerEntry)
            .values(entry_type="opening", posted_at=when, book_date=when.date(), memo="期初余额")
            .returning(LedgerEntry.id)
        ).scalar_one()
        conn.execute(
            insert(LedgerPosting),
            [
                {
                    "entry_id": entry,
                    "account": ledger.OPENING_BALANCE,
                    "fund_pay_type": None,
                    "fixmedins_code": None,
                    "psn_no": None,
                    "amount": int(pop.balance[owners].sum()),
                }
            ],
        )
    chunked(
        engine,
        LedgerPosting,
        int(owners.size),
        lambda lo, hi: [
            {
                "entry_id": entry,
                "account": ledger.PERSONAL_ACCOUNT,
                "fund_pay_type": "310200",
                "fixmedins_code": None,
                "psn_no": str(pop.psn_no[i]),
                "amount": -int(pop.balance[i]),
            }
            for i in owners[lo:hi]
        ],
        progress,
        "期初余额 opening balances",
    )


def write_accounts(
    engine: Engine, pop: Population, past: History, res: BatchResult, progress: Progress
) -> None:
    """Each account as the year's settlements left it: the balance of 1 January less what it paid (its owner's
    visits and, under 共济, the relative's). The year's credits are added as they are collected."""
    final = res.state.bal
    owners = np.flatnonzero(on_first_day(pop, past))
    chunked(
        engine,
        PersonalAccount,
        int(owners.size),
        lambda lo, hi: [
            {"psn_no": str(pop.psn_no[i]), "balance": int(final[i]), "status": "active"}
            for i in owners[lo:hi]
        ],
        progress,
        "个人账户 accounts",
    )


def write_accumulators(
    engine: Engine, bundle: PolicyBundle, pop: Population, res: BatchResult, progress
) -> None:
    headers, values = [], []
    for slot, (person, year, ins) in enumerate(res.slot_keys.tolist()):
        named = res.state.slot_values(bundle, slot)
        if not named:
            continue
        psn, ins_code = str(pop.psn_no[person]), bundle.insutypes[ins]
        headers.append({"psn_no": psn, "year": year, "insutype": ins_code, "revision": 1})
        values += [
            {"psn_no": psn, "year": year, "insutype": ins_code, "acc_key": k, "value": v}
            for k, v in named.items()
        ]
    bulk(engine, AccumulatorYear, headers, progress, "累计 accumulator years")
    bulk(engine, Accumulator, values, progress, "累计 accumulators")
