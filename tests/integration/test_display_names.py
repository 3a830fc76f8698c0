"""Words, not codes: every code the demo data holds has a name in the loaded dictionaries, catalogue and
clinical codes, so no page shows a bare code."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from tests.kernel_helpers import demo_bundle
from yibao.console import display
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import Enrollment, FeeLine, Institution, Person, Settlement, SettlementDetail, Visit
from yibao.synth.build import build
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[2]


def test_every_code_in_the_demo_has_a_name(engine, tmp_path):
    load_region(engine, "990100", REPO / "regions")
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
    build(
        engine,
        demo_bundle(),
        Params(persons=300, seed=5),
        admdvs="990100",
        districts=districts,
        data_dir=tmp_path,
    )
    with unit_of_work(engine, write=False) as s:
        words = display.names(s)
        coded = {
            "gend": select(Person.gend),
            "insutype": select(Enrollment.insutype),
            "psn_type": select(Enrollment.psn_type),
            "med_type": select(Settlement.med_type),
            "fund_pay_type": select(SettlementDetail.fund_pay_type),
            "chrgitm_lv": select(FeeLine.chrgitm_lv),
            "hosp_lv": select(Institution.hosp_lv),
            "dedc_hosp_lv": select(Settlement.dedc_hosp_lv),
        }
        present = {dic: {c for c in s.scalars(q.distinct()) if c} for dic, q in coded.items()}
        unnamed = {
            dic: sorted(c for c in codes if words.of(dic, c) == str(c)) for dic, codes in present.items()
        }
        items = set(s.scalars(select(FeeLine.med_list_codg).distinct()))
        diagnoses = set(s.scalars(select(Visit.dise_codg).distinct())) - {None, ""}
        item_names = display.item_names(s, items)
        diagnosis_names = display.diagnosis_names(s, diagnoses)
    assert {dic: codes for dic, codes in unnamed.items() if codes} == {}
    assert all(present.values()), "the demo holds every kind of code"
    assert items and items <= set(item_names)
    assert diagnoses and diagnoses <= set(diagnosis_names)
