"""居民 contributions (城乡居民缴费核定) for a year: the individual share, 资助参保 by the medical-assistance
fund for the person's identities, and the government subsidy; collected like any other period."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, delete, select

from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.enrollment.collection import collect
from yibao.enrollment.contributions import RunReport, insert_contributions
from yibao.enrollment.periods import Progress, in_force, no_progress
from yibao.enrollment.service import contribution_policy
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.bulk import analyze
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Enrollment, Identity


def run_residents(
    engine: Engine,
    bundle: PolicyBundle,
    year: int,
    *,
    pay: bool = False,
    actor: str = "cli",
    progress: Progress = no_progress,
) -> RunReport:
    """居民 contributions for ``year``: individual share, 资助参保 by identity (the largest share of the
    identities valid on 1 January, or on the enrollment's start if later), government subsidy."""
    policy = contribution_policy(bundle, date(year, 1, 1))
    period = year * 100
    first, last = date(year, 1, 1), date(year, 12, 31)
    report = RunReport(period)
    with unit_of_work(engine) as s:
        starts: dict[str, date] = {}
        for p, b in s.execute(
            select(Enrollment.psn_no, Enrollment.begndate).where(
                in_force(first, last, Enrollment.insutype == "390")
            )
        ):
            starts[p] = min(starts.get(p, b), b)
        paid = set(
            s.scalars(
                select(Contribution.psn_no).where(
                    Contribution.period == period,
                    Contribution.kind == "resident",
                    Contribution.status == "paid",
                )
            )
        )
        ids: dict[str, list[tuple[str, date, date | None]]] = {}
        for p, t, b, e in s.execute(
            select(Identity.psn_no, Identity.psn_idet_type, Identity.begntime, Identity.endtime).where(
                Identity.psn_idet_type.in_(list(policy.resident.assistance_shares))
            )
        ):
            ids.setdefault(p, []).append((t, b, e))
        records = []
        for p, start in starts.items():
            if p in paid:
                continue
            day = max(first, start)
            valid = [t for t, b, e in ids.get(p, ()) if b <= day and (e is None or e >= day)]
            individual, assisted, subsidy = rules.resident_contribution(policy, valid)
            records.append(
                {
                    "psn_no": p,
                    "emp_no": None,
                    "insutype": "390",
                    "kind": "resident",
                    "period": period,
                    "wage": None,
                    "base": 0,
                    "employer_amt": 0,
                    "employee_amt": 0,
                    "individual_amt": individual,
                    "assistance_amt": assisted,
                    "subsidy_amt": subsidy,
                    "due_amt": individual,
                    "paid_amt": 0,
                    "status": "due",
                    "due_date": date(year - 1, 12, 31),
                    "paid_at": None,
                }
            )
        s.execute(
            delete(Contribution).where(
                Contribution.period == period, Contribution.kind == "resident", Contribution.status == "due"
            )
        )
        insert_contributions(s, records, "居民缴费 residents", progress)
        report.residents = len(records)
        report.due = sum(x["due_amt"] for x in records)
        report.assisted = sum(1 for x in records if x["assistance_amt"])
        report.assistance = sum(x["assistance_amt"] for x in records)
        report.subsidy = sum(x["subsidy_amt"] for x in records)
        audit.record(
            s,
            actor=actor,
            action=Action.RESIDENT_RUN,
            entity="contribution",
            entity_id=str(period),
            after={
                "residents": report.residents,
                "due": report.due,
                "assisted": report.assisted,
                "assistance": report.assistance,
                "subsidy": report.subsidy,
            },
        )
    analyze(engine, Contribution)
    if pay:
        report.paid = collect(engine, period, when=datetime(year - 1, 12, 31), actor=actor, progress=progress)
    return report
