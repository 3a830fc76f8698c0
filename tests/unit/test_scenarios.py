"""Every case in tests/scenarios/*.yaml is a test: hand-computed expectations against the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibao.settlement.scenarios import bundle_cache, run_case
from yibao.yamlio import load_yaml

HERE = Path(__file__).resolve().parents[1]
FILES = sorted((HERE / "scenarios").glob("*.yaml"))
BUNDLES = bundle_cache(HERE.parent / "regions")


def _cases():
    for f in FILES:
        raw = load_yaml(f)
        for i, case in enumerate(raw["cases"], 1):
            yield pytest.param(f, raw.get("region"), case, i, id=f"{f.stem}:{i}:{case.get('name', '')}")


@pytest.mark.parametrize(("path", "region", "case", "index"), list(_cases()))
def test_scenario(path, region, case, index):
    warnings: list[str] = []
    outcome = run_case(lambda r: BUNDLES(str(r or region or "990100")), case, index, warnings)
    assert outcome.passed is not None, "every committed scenario states its expectations"
    assert outcome.passed, "\n".join(outcome.problems)
    assert not warnings, warnings
    for step in outcome.steps:
        if step.settled is not None:
            step.settled.check_identities()


def test_there_are_enough_scenarios():
    assert sum(len(load_yaml(f)["cases"]) for f in FILES) >= 60
