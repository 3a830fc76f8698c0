"""The labelled screening region: deterministic from its seed, in the audit view's own schemas, labels apart;
and the boundaries of supervision.md §12 and house style §1: screening is pure (no store, api, console,
config, no generator) and the generator shares no code with it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from yibao.supervision.frame import TABLES
from yibao.synth.fraud import LABEL_SCHEMA, FraudRates, build_region

SRC = Path(__file__).resolve().parents[2] / "src" / "yibao"
FORBIDDEN = ("yibao.store", "yibao.api", "yibao.console", "yibao.config", "yibao.synth")


@pytest.fixture(scope="module")
def small():
    return build_region(
        7, persons=4000, hospitals=30, pharmacies=30, rates=FraudRates(person_stockpiling=0.005)
    )


def test_the_region_is_the_audit_views_raw_tables(small):
    for name, schema in TABLES.items():
        assert getattr(small.frame, name).schema.equals(schema), name
    v = small.frame.raw_visits
    assert v.num_rows == small.stats["visits"] > 10_000
    assert set(v["med_type"].unique().to_pylist()) == {"11", "21", "41"}
    assert small.labels.schema.equals(LABEL_SCHEMA)


def test_labels_say_what_was_injected_and_what_is_a_decoy(small):
    rows = small.labels.to_pylist()
    injected = [r for r in rows if not r["decoy"]]
    assert {r["pattern"] for r in injected} >= {"fictitious_stay", "pharmacy_skimming", "doctor_overcapacity"}
    assert all(r["injected_loss_fen"] > 0 for r in injected)
    assert all(r["injected_loss_fen"] == 0 for r in rows if r["decoy"])
    assert sum(r["pattern"] == "person_stockpiling" for r in injected) == 20  # 0.5 % of 4,000
    codes = set(small.frame.raw_visits["fixmedins_code"].unique().to_pylist())
    assert {r["entity_id"] for r in rows if r["entity_type"] in ("hospital", "pharmacy")} <= codes


def test_the_same_seed_builds_the_same_region(small):
    again = build_region(
        7, persons=4000, hospitals=30, pharmacies=30, rates=FraudRates(person_stockpiling=0.005)
    )
    assert again.labels.equals(small.labels)
    assert again.frame.raw_lines["amt"].equals(small.frame.raw_lines["amt"])


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_screening_is_pure_and_the_generator_shares_no_code_with_it():
    for path in (SRC / "supervision" / "screening").glob("*.py"):
        bad = [m for m in _imports(path) if m.startswith(FORBIDDEN)]
        assert not bad, f"{path.name} imports {bad}"
    for path in (SRC / "synth").glob("fraud*.py"):
        bad = [m for m in _imports(path) if m.startswith("yibao.supervision.screening")]
        assert not bad, f"{path.name} imports {bad}"
    code = "import sys, yibao.supervision.screening.run; print(sorted(m for m in sys.modules if m.startswith(%r)))"
    done = subprocess.run(
        [sys.executable, "-c", code % (FORBIDDEN,)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
