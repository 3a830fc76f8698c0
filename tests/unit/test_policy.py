"""Policy files: the demo region loads; every kind of mistake is refused naming file and key."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.policy_variants import edit, refused
from yibao.errors import PolicyError
from yibao.policy import load_region_policy
from yibao.policy.loader import load_policy_dir

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "regions" / "990100" / "policy"


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "990100" / "policy"
    shutil.copytree(DEMO, target)
    return target


def test_demo_policy_compiles_with_two_versions():
    b = load_region_policy("990100", REPO / "regions")
    assert b.versions == ("2025", "2026")
    assert b.version_index(date(2025, 6, 1)) == 0 and b.version_index(date(2026, 1, 1)) == 1
    assert b.version_index(date(2024, 12, 31)) is None
    assert len(b.hash) == 64
    ii, ci = b.insutype_index("390"), b.classes.index("inpatient")
    assert b["ratio"][0, ii, ci, b.category_index("390", "1401"), 3] == 6500
    assert b["cap_amt"][1, ii, b.groups.index("outpatient"), b.category_index("390", "15")] == 80000
    assert b["ci_dedc"][1, ii, 0] == 1_600_000 and b["ci_dedc"][1, ii, 1] == 900_000


def test_the_hash_changes_with_any_value(policy_dir):
    before = load_region_policy(policy_dir.parent).hash
    edit(policy_dir / "2025.yaml", 'amount: "100.00"', 'amount: "100.01"')
    assert load_region_policy(policy_dir.parent).hash != before


def test_ratio_out_of_range_names_file_and_path(policy_dir):
    edit(
        policy_dir / "2025.yaml",
        'ratio: {1: "0.90", 2: "0.80", 3: "0.65"}',
        'ratio: {1: "0.90", 2: "0.80", 3: 1.65}',
    )
    assert refused(policy_dir) == [
        f"{policy_dir / '2025.yaml'}: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]"
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'amount: "100.00"',
            'amount: "100.001"',
            "insutype 310 › outpatient › deductible › amount: 100.001 is not an amount",
        ),
        (
            'amount: "100.00"',
            "amount: -5",
            "insutype 310 › outpatient › deductible › amount: -5 is not an amount ≥ 0",
        ),
        (
            "      cap: outpatient\n    chronic",
            "      cap: outpatinet\n    chronic",
            "insutype 310 › outpatient › cap: 'outpatinet' is not one of",
        ),
        (
            '"12": {1: "0.90", 2: "0.80", 3: "0.70"}',
            '"12": {1: "0.90", 2: "0.80"}',
            "insutype 310 › outpatient › ratio › 12 › 3: missing",
        ),
        (
            '"12": {1: "0.90", 2: "0.80", 3: "0.70"}',
            '"13": {1: "0.90", 2: "0.80", 3: "0.70"}',
            "insutype 310 › outpatient › ratio › 13: unknown psn_type",
        ),
        (
            "    pharmacy:\n      pool: false                       # personal account only\n",
            "",
            "insutype 310 › pharmacy: missing",
        ),
        (
            'M06900: "20000.00"}',
            'M06901: "20000.00"}',
            "insutype 310 › chronic › disease_caps › M06900: missing",
        ),
        (
            'deductible: {kind: per_admission, amount: {1: "300.00", 2: "600.00", 3: "900.00"}, repeat_ratio: "0.50"}',
            'deductible: {kind: per_admission, amount: {1: "300.00", 2: "600.00", 3: "900.00"}}',
            "insutype 310 › inpatient › deductible: deductible kind 'per_admission' needs 'repeat_ratio'",
        ),
        (
            '        - {ratio: "0.80"}',
            '        - {upto: "100.00", ratio: "0.80"}',
            "critical_illness › segments › 2 › upto: the last segment is open-ended",
        ),
        (
            '  classes: [inpatient, chronic]\n  deductible: "20000.00"',
            '  classes: [inpatient, chronic, dental]\n  deductible: "20000.00"',
            "supplementary › classes › 2: 'dental' is not a benefit class",
        ),
        (
            "selection: most_favourable",
            "selection: first",
            "assistance › selection: Input should be 'most_favourable'",
        ),
        ('    pool_fund: "310100"\n', "", "insutype 310 › pool_fund: missing"),
        ("title: 示例市医疗保障待遇政策（2025年版）", "title: x\ncolour: blue", "colour: unknown key"),
    ],
)
def test_mistakes_are_refused_precisely(policy_dir, old, new, message):
    edit(policy_dir / "2025.yaml", old, new)
    errors = refused(policy_dir)
    assert any(message in e for e in errors), errors
    assert all(e.startswith(str(policy_dir / "2025.yaml")) for e in errors)


def test_overlapping_and_gapped_versions_are_refused(policy_dir):
    edit(
        policy_dir / "2025.yaml",
        "effective_from: 2025-01-01",
        "effective_from: 2025-01-01\neffective_to: 2026-03-31",
    )
    assert any("overlaps" in e for e in refused(policy_dir))
    edit(policy_dir / "2025.yaml", "effective_to: 2026-03-31", "effective_to: 2025-11-30")
    assert any("gap from 2025-12-01 to 2025-12-31" in e for e in refused(policy_dir))
    edit(policy_dir / "2025.yaml", "effective_to: 2025-11-30", "effective_to: 2025-12-31")
    assert load_policy_dir(policy_dir, "990100")  # contiguous again
    edit(policy_dir / "2026.yaml", "effective_from: 2026-01-01", "effective_from: 2025-01-01")
    assert any("same start date" in e for e in refused(policy_dir))


def test_yaml_syntax_error_names_the_line(policy_dir):
    (policy_dir / "2026.yaml").write_text("region: '990100'\nversion: [unclosed\n", encoding="utf-8")
    errors = refused(policy_dir)
    assert errors[0].startswith(f"{policy_dir / '2026.yaml'}:") and "YAML" in errors[0]


def test_a_file_of_another_region_is_refused(policy_dir):
    edit(policy_dir / "2026.yaml", 'region: "990100"', 'region: "990200"')
    assert any(
        "region: '990200' but the file is in the folder of region 990100" in e for e in refused(policy_dir)
    )


def test_bundles_are_looked_up_once_per_insured_place(policy_dir):
    from yibao.policy import registry

    regions = policy_dir.parent.parent
    registry.clear()
    first = registry.get_bundle("990102", regions)  # a district: its city's policy
    assert registry.get_bundle("990102", regions) is first is registry.get_bundle("990100", regions)
    with pytest.raises(PolicyError, match="参保地 880100"):
        registry.get_bundle("880100", regions)
    registry.clear()
    assert registry.get_bundle("990102", regions) is not first  # clear() forgets the places too
    registry.clear()
