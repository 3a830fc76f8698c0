"""The year's contributions (年度缴费) through the enrollment services, as a clerk's year would run them:

* each month, the 核定 of :func:`yibao.enrollment.contributions.run_month` on the employers' declared wages
  (the July rise included), with the month's 退休 account credits;
* on the 15th of the next month, the 收缴 of :func:`yibao.enrollment.collection.collect` — receipts posted, the
  employee shares credited to the accounts, one more contribution month for each 职工 paid (December's on 15
  January of the next year);
* employers late with their first months declare them (:func:`~yibao.enrollment.contributions.declare_wages`)
  once they are on time, after those months were collected: they owe them (欠缴) until they pay some back
  (``collect`` of one employer and period) two months later.
"""

from __future__ import annotations

import calendar
from datetime import datetime

import numpy as np
from sqlalchemy import Engine

from yibao.enrollment.collection import collect
from yibao.enrollment.contributions import declare_wages, run_month
from yibao.policy.compiler import PolicyBundle
from yibao.synth.history import History
from yibao.synth.params import Params
from yibao.synth.population import Population

ACTOR = "yibao demo"


def month_text(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


def collection_day(year: int, month: int) -> datetime:
    """The 收缴 of a month: the 15th of the next (its due date)."""
    return datetime(year + (month == 12), month % 12 + 1, 15)


def month_end(year: int, month: int) -> datetime:
    return datetime(year, month, calendar.monthrange(year, month)[1])


def declared(p: Params, pop: Population, past: History, month: int) -> dict[str, int]:
    """The wages the employers on time declare for ``month``: every 在职 employee's but those of an employer
    still late (a person not enrolled in the month is passed over by the run)."""
    staff = np.flatnonzero(pop.psn_type == "11")
    late = {e for e, k in past.late.items() if month <= k}
    return {
        str(pop.psn_no[i]): past.wage(int(pop.wage[i]), month)
        for i in staff.tolist()
        if int(pop.employer[i]) not in late
    }


def run(engine: Engine, bundle: PolicyBundle, p: Params, pop: Population, past: History, month: int) -> None:
    """核定 of ``month`` (the 退休 credits dated its last day)."""
    run_month(engine, bundle, month_text(p.year, month), wages=declared(p, pop, past, month), actor=ACTOR)


def collect_month(engine: Engine, p: Params, month: int) -> None:
    """收缴 of everything due for ``month``, on its due date."""
    collect(engine, p.year * 100 + month, when=collection_day(p.year, month), actor=ACTOR)


def declare_late(
    engine: Engine, bundle: PolicyBundle, p: Params, pop: Population, past: History, employer: int
) -> None:
    """A late employer's declarations of its first months (补申报), due since their own due dates."""
    emp_no = pop.employers[employer]["emp_no"]
    staff = np.flatnonzero((pop.employer == employer) & (pop.psn_type == "11"))
    for month in range(1, past.late[employer] + 1):
        last = np.datetime64(month_end(p.year, month).date())
        wages = {
            str(pop.psn_no[i]): past.wage(int(pop.wage[i]), month)
            for i in staff.tolist()
            if past.begndate[i] <= last
        }
        if wages:
            declare_wages(engine, bundle, emp_no, month_text(p.year, month), wages, actor=ACTOR)


def pay_back(
    engine: Engine, p: Params, pop: Population, past: History, employer: int, when: datetime
) -> None:
    """A late employer pays its first ``repaid`` months (补缴) on ``when``; the rest stays owed."""
    emp_no = pop.employers[employer]["emp_no"]
    for month in range(1, past.repaid[employer] + 1):
        collect(engine, p.year * 100 + month, emp_no=emp_no, when=when, actor=ACTOR)
