"""``yibao demo --fraud``: the screening patterns injected into the demo year, settled like any visit, labelled
in the database for ``yibao screening evaluate --year`` and nowhere else."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.funds.check import check_ledger
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import FeeLine, Person, ScreeningLabel, Settlement, Visit
from yibao.supervision.screening.leads import PATTERNS
from yibao.synth.build import build, clear_generated
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def region(engine):
    load_region(engine, "990100", REPO / "regions")
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    return [(d["admdvs"], d["population"]) for d in spec["districts"]]


def test_injected_fraud_is_settled_exactly_and_labelled(engine, region):
    honest = build(engine, demo_bundle(), Params(persons=2000, seed=3), admdvs="990100", districts=region)
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(ScreeningLabel)) == 0
    clear_generated(engine)
    report = build(
        engine, demo_bundle(), Params(persons=2000, seed=3), admdvs="990100", districts=region, fraud=True
    )
    assert report.visits > honest.visits
    with unit_of_work(engine, write=False) as s:
        labels = s.scalars(select(ScreeningLabel)).all()
        kinds = Counter((x.pattern, x.decoy) for x in labels)
        for pattern, (entity_type, _) in PATTERNS.items():
            assert kinds[(pattern, False)] >= 1, pattern
            assert all(x.entity_type == entity_type for x in labels if x.pattern == pattern)
        assert all(x.injected_loss_fen == 0 for x in labels if x.decoy)
        assert all(x.injected_loss_fen > 0 for x in labels if not x.decoy)
        # a skimmed store's burst: many cards within half an hour on one of the year's last four days
        store = next(x.entity_id for x in labels if x.pattern == "pharmacy_skimming" and not x.decoy)
        times = sorted(
            s.scalars(
                select(Visit.begntime).where(
                    Visit.fixmedins_code == store, func.extract("month", Visit.begntime) == 12
                )
            )
        )
        assert max(sum(1 for t in times if 0 <= (t - u).total_seconds() <= 1800) for u in times) >= 20
        # a stockpiler's purchases are settled at several stores
        person = next(x.entity_id for x in labels if x.pattern == "person_stockpiling" and not x.decoy)
        stores = s.scalars(
            select(func.count(func.distinct(Visit.fixmedins_code))).where(
                Visit.psn_no == person, Visit.med_type == "41"
            )
        ).one()
        assert stores >= 2
        assert s.scalar(select(func.count()).select_from(Person)) == 2000
        assert s.scalar(select(func.count()).select_from(FeeLine)) > 0
        bad = s.scalar(
            select(func.count())
            .select_from(Settlement)
            .where(
                Settlement.medfee_sumamt
                != Settlement.fund_pay_sumamt + Settlement.psn_part_amt + Settlement.hosp_part_amt
            )
        )
        assert bad == 0
        ledger = check_ledger(s)
    assert ledger.ok, ledger.problems[:5]
    clear_generated(engine)  # the labels go with the generated year
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(ScreeningLabel)) == 0


def test_screening_code_never_reads_the_labels():
    """The detectors and the database screening service reach the audit view only; the labels are read by
    evaluation alone (``service.screening.labels``)."""
    src = REPO / "src" / "yibao"
    for path in [*(src / "supervision" / "screening").glob("*.py"), src / "store" / "audit_view.py"]:
        text = path.read_text(encoding="utf-8")
        assert "ScreeningLabel" not in text and "screening_label" not in text, path
    for path in (src / "synth").glob("demo_fraud*.py"):
        imports = [
            x for x in path.read_text(encoding="utf-8").splitlines() if x.startswith(("from ", "import "))
        ]
        assert not [x for x in imports if "supervision" in x], path
