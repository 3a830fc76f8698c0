"""The demo region's provider history (issue 24): applications in several states through the services, the
signed agreements with their documents, one hospital's measures and its month's suspension by sanction, 医保医师
registered, and the 2025 annual assessment whose distribution sums to the institutions assessed; clearing the
generated data (``yibao demo --replace``) removes the history and leaves the loaded register's agreements."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.ingest.region import load_region
from yibao.providers.designation import Interval, refusal
from yibao.providers.service import exits
from yibao.store import provider_figures
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Institution,
    PractitionerRegistration,
    ProviderAgreement,
    ProviderApplication,
    ProviderAssessment,
    ProviderAssessmentSheet,
    ProviderClockPause,
    ProviderEvaluation,
    ProviderMeasure,
    ProviderStatusEvent,
)
from yibao.synth.build import build, clear_generated
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(engine):
    load_region(engine, "990100", REPO / "regions")
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
    build(engine, demo_bundle(), Params(persons=2000, seed=7), admdvs="990100", districts=districts,
          regions_dir=REPO / "regions")  # fmt: skip
    return engine


def test_the_demo_has_a_provider_history_and_a_2025_assessment(demo):
    with unit_of_work(demo, write=False) as s:
        states = Counter(s.scalars(select(ProviderApplication.status)))
        assert states == {
            "signed": 4,  # (3 new institutions, and one pharmacy's application to leave: 办结)
            "refused": 7,
            "evaluating": 2,
            "supplementing": 1,
            "failed": 1,
            "withdrawn": 1,
        }
        refused = [
            a.problems
            for a in s.scalars(select(ProviderApplication).where(ProviderApplication.status == "refused"))
        ]
        assert any(p.startswith("materials:") for ps in refused for p in ps)
        assert any(p.startswith("opened_on:") for ps in refused for p in ps)
        failed = s.scalar(select(ProviderEvaluation).where(ProviderEvaluation.passed.is_(False)))
        assert failed.result is not None and float(failed.result) < 60
        assert (
            s.scalar(
                select(func.count())
                .select_from(ProviderClockPause)
                .where(ProviderClockPause.enddate.is_(None))
            )
            == 1
        )
        # the signed ones: a main agreement each from 2026-01-01, with its document; a new institution each
        signed = s.scalars(select(ProviderAgreement).where(ProviderAgreement.appl_no.is_not(None))).all()
        mains = [a for a in signed if a.kind == "main"]
        assert len(mains) == 3 and {a.begndate for a in signed} == {date(2026, 1, 1)}
        assert all(a.document_sha256 and a.document.startswith(b"%PDF") for a in signed)
        assert any(a.kind == "supplementary" for a in signed)
        assert all(s.get(Institution, a.fixmedins_code).begndate == date(2026, 1, 1) for a in mains)
        # one hospital: 约谈, 限期整改, then suspended by sanction in the next January (after the generated year)
        measures = s.scalars(select(ProviderMeasure)).all()
        assert [m.code for m in measures] == ["M1", "M2", "M7"]
        code = measures[0].fixmedins_code
        event = s.scalar(select(ProviderStatusEvent).where(ProviderStatusEvent.to_status == "suspended",
                                                           ProviderStatusEvent.measure == "sanction"))  # fmt: skip
        assert (event.fixmedins_code, event.begndate, event.enddate) == (
            code,
            date(2026, 1, 5),
            date(2026, 2, 4),
        )
        days = [Interval(d.begndate, d.enddate, d.status, frozenset((d.med_types or "").split()), d.reason)
                for d in store.designation_of(s, code)]  # fmt: skip
        assert "医保协议中止" in refusal(days, code, date(2026, 1, 15), "11")
        assert refusal(days, code, date(2025, 12, 31), "11") is None
        assert refusal(days, code, date(2026, 2, 5), "11") is None
        assert s.scalar(select(func.count()).select_from(PractitionerRegistration)) >= 10
        # one private pharmacy left on 2026-01-01 at its own request: off the list, its 退出清算 statement shows
        # what the fund still owes it for 2025 (its settlements, as charged) and nothing left open
        [leaving] = s.scalars(
            select(ProviderApplication).where(ProviderApplication.kind == "terminate")
        ).all()
        gone = leaving.fixmedins_code
        assert gone.startswith("P") and s.get(Institution, gone).status == "exited"
        assert gone in {x.fixmedins_code for x in store.listed_on(s, date(2025, 12, 31), "active")}
        assert {x.on_day for x in store.listed_on(s, date(2026, 1, 1)) if x.fixmedins_code == gone} == {
            "none"
        }
        st = exits.statement(s, gone)
        assert (st["exit_date"], st["ended_by"], st["unfinished_visits"]) == (
            date(2026, 1, 1),
            "application",
            [],
        )
        assert Decimal(st["owed_total"]) > 0 and {b["account"] for b in st["balances"]} == {
            "institution_payable"
        }
        # the 2025 assessment: every institution in force in 2025 has its sheet; the grades spread
        run = s.scalar(select(ProviderAssessment))
        in_force = provider_figures.in_force(s, "990100", 2025)
        sheets = s.scalar(select(func.count()).select_from(ProviderAssessmentSheet))
        assert run.year == 2025 and sum(run.distribution.values()) == sheets == len(in_force) == 60
        assert run.distribution["1"] > sheets // 2
        assert run.distribution["1"] + run.distribution["2"] >= 0.85 * sheets
        assert run.distribution["3"] + run.distribution["4"] >= 2
    # clearing the generated data (yibao demo --replace) removes the history, keeps the loaded agreements
    with unit_of_work(demo, write=False) as s:
        new = set(
            s.scalars(select(ProviderAgreement.fixmedins_code).where(ProviderAgreement.appl_no.is_not(None)))
        )
        loaded = s.scalar(
            select(func.count()).select_from(ProviderAgreement).where(ProviderAgreement.appl_no.is_(None))
        )
    clear_generated(demo)
    with unit_of_work(demo, write=False) as s:
        for table in (ProviderApplication, ProviderAssessment, ProviderMeasure, PractitionerRegistration):
            assert s.scalar(select(func.count()).select_from(table)) == 0, table
        assert not any(s.get(Institution, c) for c in new)
        assert s.scalar(select(func.count()).select_from(ProviderAgreement)) == loaded == 60
        assert all(x.on_day == "active" for x in store.listed_on(s, date(2025, 9, 15), "active"))
        assert len(store.listed_on(s, date(2025, 9, 15), "suspended")) == 2  # the register's own two
        assert s.get(Institution, gone).status == "active" and s.get(Institution, gone).enddate is None
        assert gone in {x.fixmedins_code for x in store.listed_on(s, date(2026, 1, 1), "active")}
