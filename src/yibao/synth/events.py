"""The year played in date order (年度事件) through the domain services, after the settled year is written:
the months' contributions and collections (:mod:`yibao.synth.contributions`), 转入 and 转出
(:mod:`yibao.enrollment.transfers`), 共济 bindings (:mod:`yibao.enrollment.bindings`), and settlements
reversed and settled again through the settlement service (:func:`yibao.settlement.settle.reverse`,
:func:`~yibao.settlement.settle.settle`) — each with its ledger entries, accumulators, balances and audit rows.

The order matters where a service reads a balance: the bulk-written accounts hold the balance of 1 January less
the year's account payments, so a 转出 (all its visits before it) or a reversal (its person's last visit) reads
the balance of its day once the collections dated before it are done. Platform ids are drawn from a generator
seeded by the demo's seed, so the same seed gives the same ids."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, select, update

from yibao import ids
from yibao.enrollment.bindings import bind_family
from yibao.enrollment.transfers import transfer_in, transfer_out
from yibao.policy.compiler import PolicyBundle
from yibao.settlement import settle
from yibao.settlement.service import Context
from yibao.store.db import unit_of_work
from yibao.store.tables import Enrollment, PersonalAccount
from yibao.store.uow import lent_to
from yibao.synth import contributions as money
from yibao.synth.contributions import ACTOR
from yibao.synth.history import History, Reversals
from yibao.synth.params import Params
from yibao.synth.people import insuplc
from yibao.synth.population import Population
from yibao.synth.store import Progress, day

# on the same instant: arrivals first, then the collection, the declarations and pay-backs it makes due,
# then the rest; a month's 核定 runs on its last day, after that day's other events
TRANSFER_IN, COLLECT, DECLARE, PAY_BACK, OTHER, RUN = range(6)
REVERSAL_AFTER, RESETTLE_AFTER = timedelta(minutes=20), timedelta(minutes=30)


@dataclass
class Year:
    """What the events need besides the history: the settled visits' ids and times, and what each 转入's
    account paid in the year (taken from it once it exists)."""

    engine: Engine
    bundle: PolicyBundle
    params: Params
    pop: Population
    past: History
    paid: dict[int, int]  # 转入 person → account payments (fen)
    mdtrt_id: Callable[[int], str]
    setl_id: Callable[[int], str]


@contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """Platform ids (setl_id of a reversal …) drawn from the seed, the process's generator restored after."""
    state = ids._rng.getstate()  # the module keeps one generator; the demo borrows it for its ids
    ids._rng.seed(random.Random(seed).random())
    try:
        yield
    finally:
        ids._rng.setstate(state)


def play_year(y: Year, rev: Reversals, visit: dict[int, tuple], progress: Progress) -> None:
    """Every dated event in order. ``visit``: each reversed visit's (person, fixmedins_code, setl_time,
    admission)."""
    events = _schedule(y, rev, visit)
    events.sort(key=lambda event: (event[0], event[1]))
    with seeded_ids(y.params.seed):
        for k, (_, _, act) in enumerate(events):
            act()
            progress("年度事件 events of the year", k + 1, len(events))


def _schedule(y: Year, rev: Reversals, visit: dict[int, tuple]) -> list[tuple[datetime, int, Callable]]:
    p, past, engine, bundle = y.params, y.past, y.engine, y.bundle
    out: list[tuple[datetime, int, Callable]] = []
    for month in range(1, 13):
        out.append(
            (
                money.month_end(p.year, month),
                RUN,
                lambda m=month: money.run(engine, bundle, p, y.pop, past, m),
            )
        )
        out.append(
            (money.collection_day(p.year, month), COLLECT, lambda m=month: money.collect_month(engine, p, m))
        )
    for emp, k in past.late.items():
        when = money.collection_day(p.year, k)
        out.append((when, DECLARE, lambda x=emp: money.declare_late(engine, bundle, p, y.pop, past, x)))
        back = money.collection_day(p.year, k + 2)
        out.append((back, PAY_BACK, lambda x=emp, w=back: money.pay_back(engine, p, y.pop, past, x, w)))
    for j, i in enumerate(past.transfer_in.tolist()):
        out.append((_midnight(past.begndate[i]), TRANSFER_IN, lambda i=i, j=j: _arrive(y, i, j)))
    for j, i in enumerate(past.transfer_out.tolist()):
        out.append((_midnight(past.transfer_out_day[j]), OTHER, lambda i=i, j=j: _leave(y, i, j)))
    for j in range(past.owner.size):
        out.append((_midnight(past.bind_day[j]), OTHER, lambda j=j: _bind(y, j)))
    for k in rev.visits.tolist():
        _, _, setl_time, _ = visit[k]
        out.append((setl_time + REVERSAL_AFTER, OTHER, lambda k=k: _reverse_and_settle(y, k, visit[k])))
    return out


def _midnight(d) -> datetime:
    return datetime.combine(day(d), time.min)


def _arrive(y: Year, i: int, j: int) -> None:
    """转入 on the first of a month with the months and balance built elsewhere; the account then pays for the
    visits that follow (their ledger legs are written with the year's settlements)."""
    pop, past = y.pop, y.past
    psn_no = str(pop.psn_no[i])
    with unit_of_work(y.engine) as s:
        transfer_in(
            s,
            y.bundle,
            psn_no=psn_no,
            psn_type="11",
            begndate=day(past.begndate[i]),
            insuplc_admdvs=insuplc(str(pop.district[i])),
            from_admdvs=past.transfer_in_from[j],
            contrib_months=int(past.contrib_months[i]),
            balance=int(pop.balance[i]),
            actor=ACTOR,
            emp_no=pop.employers[int(pop.employer[i])]["emp_no"],
        )
        if y.paid.get(i):  # what the account paid after arriving: its legs are the year's settlements'
            s.flush()
            s.execute(
                update(PersonalAccount)
                .where(PersonalAccount.psn_no == psn_no)
                .values(balance=PersonalAccount.balance - y.paid[i])
            )


def _leave(y: Year, i: int, j: int) -> None:
    """转出 of a 退休 after their last visit here: the enrollment ends, the balance leaves with them."""
    with unit_of_work(y.engine) as s:
        enrollment = s.scalar(
            select(Enrollment.id).where(
                Enrollment.psn_no == str(y.pop.psn_no[i]), Enrollment.insutype == "310"
            )
        )
        transfer_out(s, enrollment, day(y.past.transfer_out_day[j]), y.past.transfer_out_to[j], actor=ACTOR)


def _bind(y: Year, j: int) -> None:
    past = y.past
    with unit_of_work(y.engine) as s:
        bind_family(
            s,
            owner_psn_no=str(y.pop.psn_no[past.owner[j]]),
            member_psn_no=str(y.pop.psn_no[past.member[j]]),
            relation=past.relation[j],
            begndate=day(past.bind_day[j]),
            actor=ACTOR,
        )


def _reverse_and_settle(y: Year, k: int, visit: tuple) -> None:
    """结算撤销 (2208/2305) at the institution, then the visit settled again: an outpatient 职工 visit now pays
    from the account (it was paid in cash), an admission as before."""
    person, fixmedins_code, setl_time, admission = visit
    psn_no = str(y.pop.psn_no[person])
    with unit_of_work(y.engine) as s, lent_to(s) as uow:
        ctx = Context(fixmedins_code=fixmedins_code, opter=ACTOR, now=setl_time + REVERSAL_AFTER)
        settle.reverse(uow, ctx, setl_id=y.setl_id(k), psn_no=psn_no)
    with unit_of_work(y.engine) as s, lent_to(s) as uow:
        ctx = Context(fixmedins_code=fixmedins_code, opter=ACTOR, now=setl_time + RESETTLE_AFTER)
        settle.settle(
            uow,
            ctx,
            mdtrt_id=y.mdtrt_id(k),
            psn_no=psn_no,
            insutype=str(y.pop.insutype[person]),
            acct_used_flag=0 if admission else 1,
            inpatient_hint=admission,
        )
