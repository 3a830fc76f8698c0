"""Build the synthetic region in the store (生成示例市): population with its history, a year of settled claims,
the year's contributions and events, Parquet.

Everything derives from the seed, including ids and times, so the same seed gives the same database
(:mod:`yibao.synth.digest`). The steps, each in its module:

1. the population (:mod:`~yibao.synth.population`) and its history and the year's events, planned
   (:mod:`~yibao.synth.history`);
2. the year's visits (:mod:`~yibao.synth.claims`), kept to each person's insured days, settled through the
   batch kernel;
3. persons, enrollments and facts written (:mod:`~yibao.synth.people`), then the settled year — settlements
   with setldetail, accumulators, account balances and balanced ledger postings (:mod:`~yibao.synth.settled`);
4. the year played in date order through the domain services (:mod:`~yibao.synth.events`): contributions and
   collections, 转入 and 转出, 共济 bindings, reversals and new settlements;
5. a 医保结算清单 for every standing discharge settlement, with the admission's coding (:mod:`~yibao.synth.coding`),
   grouped by CHS-DRG and stored as 4101 stores it (:mod:`~yibao.synth.lists`);
6. claims as Parquet (:mod:`~yibao.synth.parquet`).

So `yibao ledger check` agrees, and every account's balance is its opening balance plus what was credited
(contributions, 退休 credits, a balance brought along) less what it paid (visits, 共济, a balance taken away).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, delete, func, select

from yibao.audit_actions import Action
from yibao.money import fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.settlement.batch import run_batch
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Accumulator,
    AccumulatorYear,
    AuditAttachment,
    AuditRun,
    AuditSuspicion,
    AuditWarning,
    ChronicRegistration,
    Contribution,
    Employer,
    Enrollment,
    FamilyBinding,
    FeeLine,
    Identity,
    LedgerEntry,
    LedgerPosting,
    MessageLog,
    PaymentBudget,
    PaymentCase,
    PaymentHistory,
    PaymentLine,
    PaymentNorm,
    PaymentRun,
    Person,
    PersonalAccount,
    ScreeningLabel,
    ScreeningLead,
    Settlement,
    SettlementDetail,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
    SpecialReview,
    SupplementaryEnrollment,
    Visit,
)
from yibao.synth import claims as claims_mod
from yibao.synth import demo_fraud, events, history, kernel_input, lists, people, settled
from yibao.synth import population as pop_mod
from yibao.synth.compliance import comply
from yibao.synth.params import Params
from yibao.synth.parquet import write_parquet
from yibao.synth.payment import pay_year
from yibao.synth.providers_history import clear as clear_providers
from yibao.synth.providers_history import write_history as provider_history
from yibao.synth.reference import load_reference
from yibao.synth.store import Progress, no_progress

# generated data, children first (the order to delete in)
GENERATED = (
    ScreeningLabel,  # the injected fraud's labels and the screenings of the generated year
    ScreeningLead,
    AuditAttachment,  # the smart audit's findings about the generated visits (疑点, 3101/3102 warnings)
    AuditSuspicion,
    AuditRun,
    AuditWarning,
    PaymentCase,
    PaymentLine,
    PaymentRun,
    PaymentNorm,
    PaymentBudget,
    PaymentHistory,
    SpecialReview,
    SettlementListGroup,
    SettlementListDiagnosis,
    SettlementListProcedure,
    SettlementList,
    LedgerPosting,
    LedgerEntry,
    SettlementDetail,
    FeeLine,
    Settlement,
    MessageLog,
    Accumulator,
    AccumulatorYear,
    Visit,
    Contribution,
    FamilyBinding,
    PersonalAccount,
    SupplementaryEnrollment,
    ChronicRegistration,
    Identity,
    Enrollment,
    Person,
    Employer,
)
# each planning step its own random stream, so a new step leaves the others' draws as they were
HISTORY_STREAM, REVERSAL_STREAM = 1, 2


@dataclass
class BuildReport:
    persons: int
    visits: int
    lines: int
    settlements: int
    postings: int
    seconds: float
    fund_pay: int
    parquet: Path | None
    events: dict[str, int] = field(default_factory=dict)  # the year's events by name (转入, 共济 …)


def supported_years(bundle: PolicyBundle) -> set[int]:
    """Years whose every day has a policy version in force."""
    first = bundle.policies[0].effective_from.year
    return {
        y
        for y in range(first, first + 30)
        if bundle.version_index(date(y, 1, 1)) is not None
        and bundle.version_index(date(y, 12, 31)) is not None
    }


def holds_data(engine: Engine) -> bool:
    with unit_of_work(engine, write=False) as s:
        return bool(s.scalar(select(func.count()).select_from(Person)))


def clear_generated(engine: Engine) -> None:
    """Remove persons and everything that hangs off them; reference data and staff users stay."""
    with unit_of_work(engine) as s:
        clear_providers(s)  # the demo's provider history (applications, the institutions they brought in …)
        for table in GENERATED:
            s.execute(delete(table))
        audit.record(
            s,
            actor="yibao demo",
            action=Action.REPLACE,
            entity="region",
            entity_id="synthetic",
            after={"cleared": [t.__tablename__ for t in GENERATED]},
        )


def build(
    engine: Engine,
    bundle: PolicyBundle,
    params: Params,
    *,
    admdvs: str,
    districts: list[tuple[str, int]],
    data_dir: Path | None = None,
    regions_dir: Path | None = None,
    progress: Progress = no_progress,
    fraud: bool = False,
) -> BuildReport:
    """Build the demo year; with ``regions_dir``, its payment year too (budgets, months, clearing); with
    ``fraud``, the screening patterns and decoys injected and labelled (:mod:`~yibao.synth.demo_fraud`)."""
    t0 = time.perf_counter()
    params.validate(supported_years(bundle))
    rng = np.random.default_rng(params.seed)
    ref = load_reference(engine, rng, admdvs, params.year)
    pop = pop_mod.generate(rng, params, districts, admdvs)
    past = history.plan(np.random.default_rng([params.seed, HISTORY_STREAM]), params, pop)
    progress("人口 persons", len(pop), len(pop))
    cl = claims_mod.generate(rng, params, pop, ref)
    cl = comply(engine, params, pop, ref, cl)  # the lines kept to the rule library's knowledge rows
    labels: list[dict] = []
    if fraud:
        injected = demo_fraud.inject(params, pop, ref, cl)
        kept = history.visits_kept(past, pop, injected.claims)
        labels, cl = demo_fraud.label_rows(injected, kept, params.seed), injected.claims.subset(kept)
    else:
        cl = cl.subset(history.visits_kept(past, pop, cl))
    rev = history.reversals(np.random.default_rng([params.seed, REVERSAL_STREAM]), params, pop, past, cl)
    progress("就诊 visits", len(cl), len(cl))
    batch = kernel_input.batch_input(bundle, pop, past, cl, ref, rev)
    result = run_batch(bundle, batch)
    progress("结算 settlement (kernel)", len(cl), len(cl))
    people.write_people(engine, params, pop, past, progress)
    people.write_census(engine, params, pop, districts)
    stats = settled.write_settled(engine, bundle, params, pop, past, cl, ref, batch, result, admdvs, progress)
    _play(engine, bundle, params, pop, past, cl, ref, rev, result, admdvs, progress)
    grouped = lists.write_lists(
        engine, params.year, admdvs, cl, ref, lambda k: settled.mdtrt_id(admdvs, params.year, k), progress
    )
    paid = pay_year(engine, regions_dir / admdvs, params.year, progress) if regions_dir else Counter()
    provider_history(engine, params.seed, params.year, admdvs, regions_dir, progress)  # 定点管理
    parquet = write_parquet(data_dir, params, pop, cl, ref, result) if data_dir else None
    with unit_of_work(engine) as s:
        s.add_all(ScreeningLabel(**row) for row in labels)
        audit.record(
            s,
            actor="yibao demo",
            action=Action.GENERATE,
            entity="region",
            entity_id=admdvs,
            after={
                "persons": params.persons,
                "year": params.year,
                "seed": params.seed,
                "fraud": fraud,
                "visits": len(cl),
                "fund_pay": fmt_fen(stats["fund_pay"]),
                "policy": bundle.hash[:12],
            },
        )
    return BuildReport(
        persons=len(pop),
        visits=len(cl),
        lines=int(cl.line_visit.size),
        settlements=len(cl) + 2 * int(rev.visits.size),  # a reversal and a new settlement each
        postings=stats["postings"],
        seconds=time.perf_counter() - t0,
        fund_pay=stats["fund_pay"],
        parquet=parquet,
        events={
            "欠缴单位 employers in arrears": len(past.late),
            "转入 transfers in": int(past.transfer_in.size),
            "转出 transfers out": int(past.transfer_out.size),
            "重复参保 duplicates": int(past.overlap.size + past.twin.size),
            "共济绑定 family bindings": int(past.owner.size),
            "撤销后重新结算 reversed and settled again": int(rev.visits.size),
            "结算清单 settlement lists": grouped.total() - grouped["refused"],
            "DRG 正常入组 grouped": grouped["ok"],
            "按病例付费 cases paid (12 months)": paid["cases"],
            "年度清算 clearing runs": paid["clearing"],
            **({"注入欺诈与干扰样本 injected fraud and decoys (labels)": len(labels)} if fraud else {}),
        },
    )


def _play(
    engine, bundle, p: Params, pop, past, cl, ref, rev, result, admdvs: str, progress: Progress
) -> None:
    """Step 4: the year's events, with what they need from the settled year."""
    times = settled.setl_times(cl)
    visit = {
        k: (
            int(cl.person[k]),
            str(ref.inst_code[cl.inst[k]]),
            times[k].item(),
            bool(cl.kind[k] == claims_mod.INPAT),
        )
        for k in rev.visits.tolist()
    }
    paid = {i: int(pop.balance[i] - result.state.bal[i]) for i in past.transfer_in.tolist()}
    year = events.Year(
        engine,
        bundle,
        p,
        pop,
        past,
        paid,
        mdtrt_id=lambda k: settled.mdtrt_id(admdvs, p.year, k),
        setl_id=lambda k: settled.setl_id(admdvs, p.year, k),
    )
    events.play_year(year, rev, visit, progress)
