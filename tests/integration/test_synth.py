"""The synthetic region: deterministic, realistic within tolerances, every settlement exact, ledger consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.errors import InputError
from yibao.funds.check import check_ledger
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import Enrollment, Identity, Person, Settlement, Visit
from yibao.synth.build import build, clear_generated, holds_data
from yibao.synth.digest import database_digest
from yibao.synth.params import Params

PERSONS = 3000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def region(engine):
    report = load_region(engine, "990100", REPO / "regions")
    assert all(not r.rejected for r in report.imports)
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    return [(d["admdvs"], d["population"]) for d in spec["districts"]]


def test_generated_region_is_realistic_and_exact(engine, region, tmp_path):
    report = build(
        engine,
        demo_bundle(),
        Params(persons=PERSONS, seed=7),
        admdvs="990100",
        districts=region,
        data_dir=tmp_path,
    )
    assert report.persons == PERSONS and report.visits > PERSONS * 5
    with unit_of_work(engine, write=False) as s:
        ages = s.execute(select(Person.brdy)).scalars().all()
        employees = s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.insutype == "310"))
        retired = s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.psn_type == "12"))
        admissions = s.scalar(select(func.count()).select_from(Visit).where(Visit.med_type.in_(("21", "22"))))
        ids = s.scalar(select(func.count()).select_from(Identity))
        by_level = dict(
            s.execute(
                select(Settlement.dedc_hosp_lv, func.avg(Settlement.medfee_sumamt))
                .where(Settlement.med_type == "11")
                .group_by(Settlement.dedc_hosp_lv)
            ).all()
        )
        inpatient_mean = s.scalar(
            select(func.avg(Settlement.medfee_sumamt)).where(Settlement.med_type == "21")
        )
        bad = s.scalar(
            select(func.count())
            .select_from(Settlement)
            .where(
                (
                    Settlement.medfee_sumamt
                    != Settlement.fund_pay_sumamt + Settlement.psn_part_amt + Settlement.hosp_part_amt
                )
                | (Settlement.psn_part_amt != Settlement.acct_pay + Settlement.psn_cash_pay)
                | (
                    Settlement.medfee_sumamt
                    != Settlement.fulamt_ownpay_amt
                    + Settlement.overlmt_selfpay
                    + Settlement.preselfpay_amt
                    + Settlement.inscp_scp_amt
                )
            )
        )
        ledger = check_ledger(s)
    old = sum(1 for b in ages if b.year <= 2025 - 60) / PERSONS
    young = sum(1 for b in ages if b.year > 2025 - 15) / PERSONS
    assert abs(old - 0.19) < 0.03 and abs(young - 0.18) < 0.03
    assert abs(employees / PERSONS - 0.35) < 0.01 and abs(retired / employees - 0.28) < 0.02
    assert 0.12 < admissions / PERSONS < 0.26
    assert abs(ids / PERSONS - 0.04) < 0.005
    assert by_level[1] < by_level[2] < by_level[3]  # outpatient costs rise with the hospital level
    assert (
        3_000_00 < inpatient_mean < 30_000_00
    )  # a realistic admission: thousands to tens of thousands of yuan
    assert bad == 0
    assert ledger.ok, ledger.problems[:5]
    assert (tmp_path / "claims").is_dir() and any((tmp_path / "claims").rglob("*.parquet"))


def test_same_seed_same_database(engine, region):
    params = Params(persons=800, seed=11)
    build(engine, demo_bundle(), params, admdvs="990100", districts=region)
    first = database_digest(engine)
    assert holds_data(engine)
    clear_generated(engine)
    assert not holds_data(engine)
    build(engine, demo_bundle(), params, admdvs="990100", districts=region)
    assert database_digest(engine) == first
    clear_generated(engine)
    build(engine, demo_bundle(), Params(persons=800, seed=12), admdvs="990100", districts=region)
    assert database_digest(engine) != first


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (Params(persons=-1), "--persons"),
        (Params(year=1999), "--year: 1999"),
        (Params(age_shares=(0.5, 0.5, 0.5)), "age_shares"),
        (Params(huiminbao_share=1.5), "huiminbao_share"),
    ],
)
def test_bad_parameters_are_refused_with_one_line(engine, params, message):
    with pytest.raises(InputError, match=message):
        build(engine, demo_bundle(), params, admdvs="990100", districts=[("990102", 1)])


def test_demo_command_builds_once_and_refuses_to_mix(engine, capsys, monkeypatch, tmp_path):
    from yibao.cli import main

    monkeypatch.setenv("YIBAO_DATA_DIR", str(tmp_path))
    assert main(["demo", "--persons", "300", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "jingban" in out and "demo-his" in out
    assert main(["demo", "--persons", "300", "--seed", "5"]) == 0  # same parameters: nothing to do
    assert "跳过生成" in capsys.readouterr().out
    assert main(["demo", "--persons", "400", "--seed", "5"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["demo", "--persons", "-5"]) == 2 and "--persons" in capsys.readouterr().err
    assert main(["demo", "--persons", "400", "--seed", "5", "--replace"]) == 0
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 400
