"""`yibao policy check`, stricter: impossible dates, keys written twice, 大病 segments above the deductible,
identities in the dictionaries, every problem in one pass, and versions without ``effective_to``."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.policy_variants import edit, refused
from yibao.policy.checks import check_identities, validate_rest
from yibao.policy.loader import effective_end, load_policy_dir
from yibao.yamlio import load_yaml_keyed

REPO = Path(__file__).resolve().parents[2]
REGIONS = REPO / "regions"


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """The demo region's policy inside a regions tree with the national dictionaries."""
    shutil.copytree(REGIONS / "000000" / "dictionaries", tmp_path / "regions" / "000000" / "dictionaries")
    target = tmp_path / "regions" / "990100" / "policy"
    shutil.copytree(REGIONS / "990100" / "policy", target)
    return target


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# --- 1. dates that do not exist -------------------------------------------------------------------


@pytest.mark.parametrize("written", ["2025-02-30", '"2025-02-30"'])
def test_an_impossible_date_names_file_and_key(policy_dir, written):
    f = policy_dir / "2025.yaml"
    edit(f, "effective_from: 2025-01-01", f"effective_from: {written}")
    errors = refused(policy_dir)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f'{f}: effective_from: "2025-02-30" is not a date (不是有效的日期')


def test_an_impossible_end_date_too(policy_dir):
    f = policy_dir / "2025.yaml"
    edit(f, "effective_from: 2025-01-01", "effective_from: 2025-01-01\neffective_to: 2025-13-31")
    assert [e.split(" (")[0] for e in refused(policy_dir)] == [
        f'{f}: effective_to: "2025-13-31" is not a date'
    ]


# --- 2. a key written twice -----------------------------------------------------------------------


def test_a_key_written_twice_names_file_key_and_lines(policy_dir):
    f = policy_dir / "2025.yaml"
    edit(
        f,
        '      ratio: {1: "0.90", 2: "0.80", 3: "0.65"}\n',
        '      ratio: {1: "0.90", 2: "0.80", 3: "0.65"}\n      ratio: {1: "0.95", 2: "0.80", 3: "0.65"}\n',
    )
    first = line_of(f, 'ratio: {1: "0.90", 2: "0.80", 3: "0.65"}')
    assert refused(policy_dir) == [
        f"{f}: insutype 390 › inpatient › ratio: 重复的键 (duplicate key: written on line {first} and again "
        f"on line {first + 1}; write each key once)"
    ]


def test_duplicates_are_found_at_any_depth_and_however_quoted(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text('a:\n  "390": 1\n  390: 2\nl:\n  - {k: 1, k: 2}\n', encoding="utf-8")
    data, twice = load_yaml_keyed(f)
    assert [(d.key, d.first, d.line) for d in twice] == [(("a", "390"), 2, 3), (("l", "0", "k"), 5, 5)]
    assert data["l"] == [{"k": 2}]


# --- 3. 大病 segments above the deductible ---------------------------------------------------------


@pytest.mark.parametrize("upto", ["18000.00", "17000.00"])
def test_the_first_critical_illness_segment_must_rise_above_the_deductible(policy_dir, upto):
    f = policy_dir / "2025.yaml"
    edit(f, '- {upto: "50000.00", ratio: "0.60"}', f'- {{upto: "{upto}", ratio: "0.60"}}')
    assert refused(policy_dir) == [
        f"{f}: insutype 390 › critical_illness › segments › 0 › upto: {upto} is not above the deductible "
        "18000.00 (分段须高于起付线 / segments must rise above the deductible)"
    ]  # 2026 lowers the deductible to 16000.00: its segments rise above it


def test_a_version_that_raises_the_deductible_above_a_segment_is_refused(policy_dir):
    edit(policy_dir / "2026.yaml", 'value: "16000.00"', 'value: "50000.00"')
    assert refused(policy_dir) == [
        f"{policy_dir / '2025.yaml'}: insutype 390 › critical_illness › segments › 0 › upto: 50000.00 is not "
        "above the deductible 50000.00 (分段须高于起付线 / segments must rise above the deductible) "
        f"(版本 2026 继承此值 / inherited by {policy_dir / '2026.yaml'})"
    ]


def test_a_segment_just_above_the_deductible_is_accepted(policy_dir):
    edit(
        policy_dir / "2025.yaml", '- {upto: "50000.00", ratio: "0.60"}', '- {upto: "18000.01", ratio: "0.60"}'
    )
    assert load_policy_dir(policy_dir, "990100")


# --- 4. identities in the dictionaries ------------------------------------------------------------


def test_identities_must_be_in_the_dictionary(policy_dir):
    f = policy_dir / "2025.yaml"
    edit(f, '"2306": {name: 因病致贫', '"2399": {name: 因病致贫')
    edit(f, '"2305": "0.50"', '"2398": "0.50"')
    edit(f, '"2305", "2306"]', '"2305", "2397"]')  # the 惠民保 tilt
    edit(f, 'identities: ["2302", "2303", "2304", "2305"]', 'identities: ["2302", "2303", "2304", "2396"]')
    errors = refused(policy_dir)
    assert all(e.startswith(f"{f}: ") for e in errors), errors
    found = {e.split(": ", 2)[1]: e.split(": ", 2)[2] for e in errors}
    assert found["assistance › categories › 2399"].startswith("'2399' 不在人员身份类别字典中")
    assert found["contribution › resident › assistance_shares › 2398"].startswith("'2398' 不在")
    assert found["supplementary › tilt › identities › 5"].startswith("'2397' 不在")
    (ci,) = [k for k in found if k.startswith("insutype 390 › critical_illness › tilt")]
    assert ci.endswith("identities › 3") and found[ci].startswith("'2396' 不在")
    assert len(errors) == 4, errors


def test_a_region_dictionary_extends_the_national_one(policy_dir):
    edit(policy_dir / "2025.yaml", '"2306": {name: 因病致贫', '"2399": {name: 因病致贫')
    assert len(refused(policy_dir)) == 1
    own = policy_dir.parent / "dictionaries" / "psn_idet_type.yaml"
    own.parent.mkdir()
    own.write_text(
        'type: psn_idet_type\nname: 人员身份类别\nvalues:\n  - {code: "2399", name: 示例市支出型困难人员}\n',
        encoding="utf-8",
    )
    assert load_policy_dir(policy_dir, "990100")


def test_without_a_regions_tree_identities_are_not_checked(tmp_path):
    target = tmp_path / "990100" / "policy"  # no 000000 beside it
    shutil.copytree(REGIONS / "990100" / "policy", target)
    edit(target / "2025.yaml", '"2306": {name: 因病致贫', '"2399": {name: 因病致贫')
    assert load_policy_dir(target, "990100")


def test_the_identity_check_takes_any_list_of_locations():
    locations = [(("a", "tilts", "x", "identities", 0), "2301"), (("b", "identities", 1), "77")]
    assert check_identities({"2301"}, locations) == [
        (("b", "identities", 1), "'77' 不在人员身份类别字典中 (not a psn_idet_type code of the dictionaries)")
    ]


# --- 5. every problem in one pass -----------------------------------------------------------------


def test_a_type_error_does_not_hide_a_wrong_cap_name(policy_dir):
    f = policy_dir / "2025.yaml"
    edit(f, '3: "0.65"}', "3: 1.65}")
    edit(f, "      cap: outpatient\n    chronic", "      cap: outpatinet\n    chronic")
    errors = refused(policy_dir)
    assert errors == [
        f"{f}: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]",
        f"{f}: insutype 310 › outpatient › cap: 'outpatinet' is not one of the insutype's caps "
        "(outpatient, inpatient) nor 'unlimited'",
    ]


def test_problems_of_other_files_and_of_the_ranges_are_told_too(policy_dir):
    edit(policy_dir / "2025.yaml", 'individual: "400.00"', 'individual: "abc"')
    edit(policy_dir / "2026.yaml", 'average_monthly_wage: "7800.00"', "average_monthly_wage: [7800]")
    edit(policy_dir / "2026.yaml", "effective_from: 2026-01-01", "effective_from: 2026-02-01")
    edit(
        policy_dir / "2025.yaml",
        "effective_from: 2025-01-01",
        "effective_from: 2025-01-01\neffective_to: 2025-12-31",
    )
    errors = refused(policy_dir)
    assert [e.split(": ")[1] for e in errors] == [
        "contribution › resident › individual",
        "contribution › average_monthly_wage",
        "effective_to",
    ], errors
    assert "gap from 2026-01-01 to 2026-01-31" in errors[-1]


def test_what_a_value_set_aside_brings_about_is_not_told(policy_dir):
    f = policy_dir / "2025.yaml"
    edit(f, 'outpatient: {"11": "2000.00", "12": "3000.00"}', "outpatient: [2000]")  # insutype 310's cap
    errors = refused(policy_dir)
    assert len(errors) == 1 and errors[0].startswith(f"{f}: insutype 310 › caps › outpatient: "), errors


def test_validate_rest_sets_wrong_values_aside_and_leaves_the_data_as_it_was():
    data, _ = load_yaml_keyed(REGIONS / "990100" / "policy" / "2025.yaml")
    data["title"] = ["x"]
    data["insutype"]["390"]["inpatient"]["ratio"][3] = "1.65"
    model, errors, aside = validate_rest(data)
    assert [tuple(e["loc"]) for e in errors] == [
        ("title",),
        ("insutype", "390", "inpatient", "ratio", "*", "3"),
    ]
    assert model is not None and model.region == "990100"
    assert data["title"] == ["x"] and data["insutype"]["390"]["inpatient"]["ratio"][3] == "1.65"
    assert aside.covers(("insutype", "390", "inpatient", "ratio", "*", "3"))
    assert not aside.covers(("insutype", "390", "outpatient", "cap"))


# --- 6. effective_to may be left out: a version lasts until the next one starts --------------------


def test_a_version_without_effective_to_ends_the_day_before_the_next(policy_dir):
    (policy_dir / "2027.yaml").write_text(
        'inherits: "2026"\nversion: "2027"\ntitle: 示例 2027\neffective_from: 2027-01-01\n', encoding="utf-8"
    )
    loaded = load_policy_dir(policy_dir, "990100")
    assert [lv.policy.effective_to for lv in loaded] == [None, None, None]  # as written: none of them
    assert [effective_end(loaded, i) for i in range(3)] == [date(2025, 12, 31), date(2026, 12, 31), None]
