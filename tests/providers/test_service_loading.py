"""A loaded region's institutions get their agreements and designation (so they settle as before): every
service category of their class, a suspended one suspended, and a second load changes nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.providers.helpers import SCHEME
from yibao.ingest.region import load_region
from yibao.providers.service.designations import status_on
from yibao.store import providers as store
from yibao.store.db import unit_of_work
from yibao.store.tables import Designation, Institution, ProviderAgreement


def test_loading_the_region_designates_its_institutions(engine):
    load_region(engine, "990100")
    with unit_of_work(engine, write=False) as s:
        codes = set(s.scalars(select(Institution.fixmedins_code)))
        assert set(s.scalars(select(ProviderAgreement.fixmedins_code))) == codes
        clinic = store.designation_of(s, "H99011100005")  # 诊所 without beds: no 住院
        assert [(d.status, "21" in d.med_types.split(), "11" in d.med_types.split()) for d in clinic] == [
            ("active", False, True)
        ]
        pharmacy = next(c for c in sorted(codes) if c.startswith("P"))
        opened = store.designation_of(s, pharmacy)[0].med_types.split()
        assert opened == sorted(SCHEME.med_types_of(SCHEME.services_for("pharmacy")))
        assert "41" in opened and "21" not in opened
        suspended = s.scalars(select(Institution).where(Institution.status == "suspended")).all()
        assert suspended and all(
            [d.status for d in store.designation_of(s, i.fixmedins_code)] == ["suspended"] for i in suspended
        )
        rows = s.scalar(select(func.count()).select_from(Designation))
    load_region(engine, "990100")
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Designation)) == rows
        assert s.scalar(select(func.count()).select_from(ProviderAgreement)) == len(codes)


def test_status_on_a_day():
    rows = [
        {"begndate": date(2025, 1, 1), "enddate": date(2025, 2, 28), "status": "active"},
        {"begndate": date(2025, 3, 1), "enddate": None, "status": "suspended"},
    ]
    assert status_on(rows, date(2024, 12, 31)) == "active"  # (its first term is still to come)
    assert status_on(rows, date(2025, 2, 28)) == "active"
    assert status_on(rows, date(2025, 3, 1)) == "suspended"
    assert status_on(rows[:1], date(2025, 3, 1)) == "exited"
