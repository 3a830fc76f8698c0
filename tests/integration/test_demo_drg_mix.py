"""The demo year coded and grouped (issue 21): every standing discharge settlement of an admission has its valid
医保结算清单, grouped by CHS-DRG 1.1 with scheme, version and pack hash kept; the mix groups (≥ 90 % 入组),
spans the MDCs, has a realistic surgical share and keeps obstetric stays to women; regrouping a year with
``group-lists`` gives the same groups and keeps the earlier groupings as history."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import func, select, update

from tests.kernel_helpers import demo_bundle
from yibao.commands.payment_lists import regroup_year
from yibao.ingest.region import load_region
from yibao.payment.drg_pack import MEDICAL
from yibao.payment.packs import load_drg_pack
from yibao.payment.settlement_list import VALID
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    ClinicalCode,
    Person,
    Settlement,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
)
from yibao.synth import coding
from yibao.synth.build import build

REPO = Path(__file__).resolve().parents[2]
YEAR = 2025


@pytest.fixture
def demo(engine):
    load_region(engine, "990100", REPO / "regions")
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
    from yibao.synth.params import Params

    build(engine, demo_bundle(), Params(persons=500, seed=21), admdvs="990100", districts=districts)
    return engine


def current_groups(s) -> dict[str, tuple]:
    rows = s.execute(
        select(
            SettlementListGroup.setl_list_id,
            SettlementListGroup.status,
            SettlementListGroup.mdc,
            SettlementListGroup.adrg,
            SettlementListGroup.group_code,
        ).where(SettlementListGroup.is_current.is_(True))
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_every_discharge_has_a_grouped_list_and_the_mix_is_realistic(demo):
    pack = load_drg_pack()
    with unit_of_work(demo, write=False) as s:
        standing = set(
            s.scalars(
                select(Settlement.setl_id).where(
                    Settlement.med_type.startswith("2"),
                    Settlement.refd_setl_flag == "0",
                    Settlement.reversed_by.is_(None),
                )
            )
        )
        reversed_ = set(
            s.scalars(
                select(Settlement.setl_id).where(
                    Settlement.med_type.startswith("2"), Settlement.reversed_by.isnot(None)
                )
            )
        )
        listed = dict(
            s.execute(
                select(SettlementList.setl_id, SettlementList.gend).where(SettlementList.vali_flag == VALID)
            ).all()
        )
        groups = s.execute(
            select(
                SettlementList.setl_list_id, SettlementList.gend, SettlementList.age, SettlementListGroup
            ).join(SettlementListGroup, SettlementListGroup.setl_list_id == SettlementList.setl_list_id)
        ).all()
        named = set(s.scalars(select(ClinicalCode.code)))
        codes = set(s.scalars(select(SettlementListDiagnosis.diag_code))) | set(
            s.scalars(select(SettlementListProcedure.oprn_oprt_code))
        )
        principal = dict(
            s.execute(
                select(SettlementListDiagnosis.setl_list_id, SettlementListDiagnosis.diag_code).where(
                    SettlementListDiagnosis.seq == 0
                )
            ).all()
        )
        persons = s.scalar(select(func.count()).select_from(Person))
    assert persons == 500 and len(standing) > 40
    assert set(listed) == standing  # every standing discharge settlement, and only those
    assert not set(listed) & reversed_  # a re-settled visit: its new settlement's list only
    assert len(groups) == len(listed)
    for _, _, _, g in groups:
        assert g.kind == "drg" and g.is_current
        assert (g.scheme, g.pack_hash) == ("chs-drg-1.1", pack.pack_hash) and g.grouper_version
        assert g.trace["versions"]["pack_hash"] == pack.pack_hash and g.trace["steps"]
    status = Counter(g.status for *_, g in groups)
    assert status["ok"] >= 0.9 * len(groups), status
    assert len({g.mdc for *_, g in groups if g.mdc}) >= 10
    rules = coding.rules_by_code(pack)
    surgical = sum(1 for *_, g in groups if g.adrg and rules[g.adrg].kind != MEDICAL) / len(groups)
    assert 0.2 <= surgical <= 0.6, surgical  # ~40 % of a few dozen admissions (the draw: below)
    for _, gend, age, g in groups:
        if g.mdc == "MDCO":
            assert gend == "2" and 18 <= age <= 45
    assert codes <= named  # every diagnosis and procedure has its name in the code table
    with unit_of_work(demo, write=False) as s:
        visits = dict(s.execute(select(SettlementList.setl_list_id, SettlementList.mdtrt_id)).all())
        from yibao.store.tables import Visit

        dise = dict(s.execute(select(Visit.mdtrt_id, Visit.dise_codg)).all())
    assert all(
        dise[visits[k]] == code for k, code in principal.items()
    )  # the visit's dise_codg is the principal


def test_regrouping_a_year_gives_the_same_groups_and_keeps_history(demo):
    with unit_of_work(demo, write=False) as s:
        before = current_groups(s)
    first = regroup_year(demo, YEAR, None)
    assert first.regrouped == 0 and first.unchanged == len(before)  # same pack, same grouper: nothing to do
    forced = regroup_year(demo, YEAR, "chs-drg-1.1", force=True)
    assert forced.regrouped == len(before) and forced.changed == 0
    assert sum(forced.status.values()) == len(before)
    with unit_of_work(demo) as s:
        assert current_groups(s) == before
        rows = s.scalar(select(func.count()).select_from(SettlementListGroup))
        assert rows == 2 * len(before)  # the first grouping stays, no longer current
        some = next(iter(before))
        s.execute(  # as if the list had been grouped by an earlier pack
            update(SettlementListGroup)
            .where(SettlementListGroup.setl_list_id == some, SettlementListGroup.is_current.is_(True))
            .values(pack_hash="0" * 64)
        )
    again = regroup_year(demo, YEAR, None)
    assert again.regrouped == 1 and again.unchanged == len(before) - 1
    with unit_of_work(demo, write=False) as s:
        assert current_groups(s) == before
        history = s.scalars(
            select(SettlementListGroup.is_current).where(SettlementListGroup.setl_list_id == some)
        ).all()
    assert sorted(history) == [False, False, True]


def test_the_drawn_mix_has_the_surgical_share_and_groups():
    """The coding draw alone, on 20,000 admissions of a demo-like age mix: 35–45 % in surgical ADRGs, every
    case in the ADRG drawn, obstetric stays only for women 18–45, newborn stays rare."""
    pack = load_drg_pack()
    codes = REPO / "regions" / "990100" / "codes"
    dx = [
        r["code"]
        for r in csv.DictReader((codes / "icd10.csv").open(encoding="utf-8"))
        if r["grey_flag"] == "0"
    ]
    px = [r["code"] for r in csv.DictReader((codes / "icd9cm3.csv").open(encoding="utf-8"))]
    coder = coding.prepare(pack, dx, px)
    assert {m.adrg for m in coding.MIX} == {m.adrg for m in coder.mix}  # the region names every ADRG's codes
    rng = np.random.default_rng(5)
    n = 20_000
    age = rng.choice([0, 1, 8, 30, 40, 55, 68, 80], n, p=[0.01, 0.03, 0.06, 0.14, 0.12, 0.2, 0.24, 0.2])
    male = rng.random(n) < 0.5
    age_days = np.where(age == 0, 10, age * 365)
    choice = coding.choose(rng, coder, male, age, age_days)
    stays = coding.stays(rng, coder, choice, male, age, age_days)
    rules = coding.rules_by_code(pack)
    share = sum(rules[st.adrg].kind == "surgical" for st in stays) / n
    assert 0.35 <= share <= 0.45, share
    assert all(not male[k] and 18 <= age[k] <= 45 for k, st in enumerate(stays) if st.adrg[0] == "O")
    newborn = [st for st in stays if st.adrg[0] == "P"]
    assert 0 < len(newborn) < 0.02 * n and all(type(st.weight_g) is int for st in newborn)
    complications = Counter(
        min((pack.complications[c][0] for c in st.diagnoses[1:] if c in pack.complications), default=5)
        for st in stays
    )
    assert 0.07 <= complications[1] / n <= 0.13 and 0.2 <= complications[3] / n <= 0.32, complications
