"""``yibao payment group-lists`` end to end: a year of the demo's stored lists regrouped from the command line —
nothing to do under the same pack, ``--force`` writes a new current grouping per list (the same groups) and
keeps the first as history; an unknown scheme or a missing year is one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.kernel_helpers import demo_bundle
from yibao.cli import main
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import SettlementList, SettlementListGroup
from yibao.synth.build import build
from yibao.synth.params import Params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(engine):
    load_region(engine, "990100", REPO / "regions")
    spec = yaml.safe_load((REPO / "regions" / "990100" / "region.yaml").read_text(encoding="utf-8"))
    districts = [(d["admdvs"], d["population"]) for d in spec["districts"]]
    build(engine, demo_bundle(), Params(persons=200, seed=8), admdvs="990100", districts=districts)
    return engine


def counts(engine) -> tuple[int, int, int]:
    with unit_of_work(engine, write=False) as s:
        lists = s.scalar(select(func.count()).select_from(SettlementList))
        rows = s.scalar(select(func.count()).select_from(SettlementListGroup))
        current = s.scalar(
            select(func.count())
            .select_from(SettlementListGroup)
            .where(SettlementListGroup.is_current.is_(True))
        )
    return lists, rows, current


def test_group_lists_regroups_a_year_and_keeps_history(demo, capsys):
    lists, rows, current = counts(demo)
    assert lists > 5 and rows == current == lists
    assert main(["payment", "group-lists", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert (
        f"2025 年结算清单 {lists} 份" in out
        and "重新分组 regrouped 0" in out
        and f"未变 unchanged {lists}" in out
    )
    assert counts(demo) == (lists, lists, lists)
    assert main(["payment", "group-lists", "--year", "2025", "--scheme", "chs-drg-1.1", "--force"]) == 0
    out = capsys.readouterr().out
    assert f"重新分组 regrouped {lists}（分组变化 changed 0）" in out and "入组 ok" in out
    assert counts(demo) == (lists, 2 * lists, lists)
    assert main(["payment", "group-lists", "--year", "2024"]) == 0
    assert "2024 年结算清单 0 份" in capsys.readouterr().out


def test_group_lists_refuses_an_unknown_scheme_or_no_year(demo, capsys):
    assert main(["payment", "group-lists", "--year", "2025", "--scheme", "chs-drg-9"]) == 2
    err = capsys.readouterr().err
    assert "未登记的分组方案 chs-drg-9" in err and len(err.strip().splitlines()) == 1
    assert main(["payment", "group-lists"]) == 2
    assert "--year" in capsys.readouterr().err
