"""Versions that say only what changed: the merge, chains, removals, references, and every refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.policy_variants import refused
from yibao.policy import load_region_policy
from yibao.policy.inherit import merge
from yibao.policy.loader import load_policy_dir

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "regions" / "990100" / "policy"
FULL_COPY_2026 = REPO / "tests" / "fixtures" / "policy" / "990100-2026-full-copy.yaml"
HEAD = 'inherits: "{parent}"\nversion: "{version}"\ntitle: 示例 {version}\neffective_from: {version}-01-01\n'


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "990100" / "policy"
    shutil.copytree(DEMO, target)
    return target


def write(policy_dir: Path, version: str, body: str, parent: str | None = None, head: str = HEAD) -> Path:
    """A version file that inherits ``parent`` (by default the year before)."""
    path = policy_dir / f"{version}.yaml"
    text = head.format(parent=parent or str(int(version) - 1), version=version) + body
    path.write_text(text, encoding="utf-8")
    return path


def by_version(policy_dir: Path) -> dict:
    return {lv.policy.version: lv for lv in load_policy_dir(policy_dir, "990100")}


# --- the merge itself ------------------------------------------------------------------------------


def test_maps_merge_key_by_key_and_recursively():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": 2}
    merged, replaced, absent = merge(base, {"a": {"y": {"q": 3}, "z": 4}}, frozenset())
    assert merged == {"a": {"x": 1, "y": {"p": 1, "q": 3}, "z": 4}, "b": 2}
    assert replaced == [("a", "y", "q"), ("a", "z")] and absent == []
    assert base == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": 2}  # the parent is left as it was


def test_scalars_lists_and_maps_over_scalars_replace_whole():
    base = {"ratio": "0.85", "classes": ["inpatient", "chronic"], "amount": {1: "300", 2: "600"}}
    patch = {"ratio": {1: "0.9"}, "classes": ["inpatient"], "amount": "500"}
    merged, replaced, _ = merge(base, patch, frozenset())
    assert merged == {"ratio": {1: "0.9"}, "classes": ["inpatient"], "amount": "500"}
    assert replaced == [("ratio",), ("classes",), ("amount",)]


def test_a_value_written_whole_is_not_merged():
    base = {"ratio": {1: "0.90", 2: "0.80", 3: "0.65"}}
    merged, _, _ = merge(base, {"ratio": {3: "0.70"}}, frozenset())
    assert merged == {"ratio": {1: "0.90", 2: "0.80", 3: "0.70"}}
    merged, _, _ = merge(base, {"ratio": {"11": "0.5"}}, frozenset({("ratio",)}))
    assert merged == {"ratio": {"11": "0.5"}}


def test_null_removes_and_removing_what_is_not_there_is_reported():
    base = {"ci": {"deductible": "18000", "tilt": {"cap": "unlimited"}}, 310: {"name": "职工"}}
    merged, replaced, absent = merge(
        base, {"ci": {"tilt": None, "tlit": None}, "310": {"name": "x"}}, frozenset()
    )
    assert merged == {"ci": {"deductible": "18000"}, 310: {"name": "x"}}  # "310" and 310 are one key
    assert replaced == [("ci", "tilt"), ("310", "name")] and absent == [("ci", "tlit")]


# --- chains and what each value's source is --------------------------------------------------------------


def test_the_demo_2026_is_an_override_of_2025():
    lv = by_version(DEMO)["2026"]
    assert lv.inherits == "2025" and lv.sources.chain == (DEMO / "2025.yaml", DEMO / "2026.yaml")
    own = [k for k, s in lv.sources.settings.items() if s.file == DEMO / "2026.yaml"]
    assert ("insutype", "390", "caps", "outpatient") in own and len(own) == 9
    cap = lv.sources.settings[("insutype", "390", "caps", "outpatient")]
    assert cap.value == "800.00" and cap.version == "2026" and "第7号公告（示例）" in cap.reference
    ratio = lv.sources.settings[("insutype", "390", "inpatient", "ratio", "3")]
    assert (ratio.file, ratio.version, ratio.value, ratio.reference) == (
        DEMO / "2025.yaml",
        "2025",
        "0.65",
        None,
    )
    assert len(DEMO.joinpath("2026.yaml").read_text(encoding="utf-8").splitlines()) < 40


def test_the_override_compiles_to_the_bundle_of_the_old_full_copy(tmp_path):
    """Same arrays, same names, same hash: every settlement stores the hash, so it must not move."""
    full = tmp_path / "990100" / "policy"
    full.mkdir(parents=True)
    shutil.copy(DEMO / "2025.yaml", full / "2025.yaml")
    shutil.copy(FULL_COPY_2026, full / "2026.yaml")
    assert "inherits" not in FULL_COPY_2026.read_text(encoding="utf-8")
    old, new = load_region_policy(full.parent), load_region_policy("990100", REPO / "regions")
    assert new.hash == old.hash
    assert new.policies == old.policies
    assert new.arrays.keys() == old.arrays.keys()
    for name, arr in old.arrays.items():
        assert np.array_equal(new.arrays[name], arr) and new.arrays[name].dtype == arr.dtype, name
    for attr in ("versions", "insutypes", "classes", "categories", "diseases", "groups", "identity_codes"):
        assert getattr(new, attr) == getattr(old, attr), attr
    assert new.names == old.names and new.medtype_class == old.medtype_class
    assert np.array_equal(new.starts, old.starts) and np.array_equal(new.ends, old.ends)


def test_a_chain_of_three(policy_dir):
    write(policy_dir, "2027", 'insutype:\n  "390":\n    inpatient:\n      ratio: {3: "0.70"}\n')
    v = by_version(policy_dir)
    p, s = v["2027"].policy, v["2027"].sources
    assert p.insutype["390"].classes["inpatient"].ratio == {"*": {"1": 9000, "2": 8000, "3": 7000}}
    assert p.insutype["390"].caps["outpatient"] == {"*": 80000}  # from 2026
    assert p.insutype["390"].critical_illness.deductible == 1_600_000
    assert p.contribution.average_monthly_wage == 780_000
    assert s.chain == tuple(policy_dir / f"{y}.yaml" for y in (2025, 2026, 2027))
    assert s.settings[("insutype", "390", "inpatient", "ratio", "3")].file == policy_dir / "2027.yaml"
    assert s.settings[("insutype", "390", "inpatient", "ratio", "2")].file == policy_dir / "2025.yaml"
    assert s.settings[("insutype", "390", "caps", "outpatient")].file == policy_dir / "2026.yaml"
    assert p.title == "示例 2027" and p.effective_to is None
    b = load_region_policy(policy_dir.parent)
    assert b.versions == ("2025", "2026", "2027")


def test_removal_ends_a_tilt_and_says_who_removed_it(policy_dir):
    write(
        policy_dir,
        "2027",
        'insutype:\n  "390":\n    critical_illness:\n'
        "      tilts:\n"
        "        assistance_targets: {value: ~, reference: 示例市医疗保障局 2026年第1号公告（示例） 第四条}\n",
    )
    v = by_version(policy_dir)
    assert v["2027"].policy.insutype["390"].critical_illness.tilts == {}
    assert "assistance_targets" in v["2026"].policy.insutype["390"].critical_illness.tilts
    where = ("insutype", "390", "critical_illness", "tilts", "assistance_targets")
    gone = v["2027"].sources.removals[where]
    assert gone.file == policy_dir / "2027.yaml" and "第1号公告" in gone.reference
    assert not any(k[:5] == where for k in v["2027"].sources.settings)
    b = load_region_policy(policy_dir.parent)
    ii = b.insutype_index("390")
    assert b["ci_dedc"][2, ii, 1] != b["ci_dedc"][1, ii, 1]  # no tilt any more in 2027


def test_a_version_may_set_its_own_end(policy_dir):
    path = policy_dir / "2026.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "effective_from: 2026-01-01", "effective_from: 2026-01-01\neffective_to: 2026-12-31"
        ),
        encoding="utf-8",
    )
    write(policy_dir, "2027", "")
    v = by_version(policy_dir)
    assert v["2026"].policy.effective_to.isoformat() == "2026-12-31"
    assert v["2027"].policy.effective_to is None  # an end is never inherited


# --- refusals, each naming the file and key ---------------------------------------------------------------


def test_a_cycle_is_refused_naming_each_file(policy_dir):
    write(policy_dir, "2027", "", parent="2028")
    write(policy_dir, "2028", "", parent="2027")
    errors = refused(policy_dir)
    assert (
        f"{policy_dir / '2027.yaml'}: inherits: '2028' 形成循环继承 (makes a cycle: 2027 → 2028 → 2027)"
        in errors
    )
    assert (
        f"{policy_dir / '2028.yaml'}: inherits: '2027' 形成循环继承 (makes a cycle: 2028 → 2027 → 2028)"
        in errors
    )
    write(policy_dir, "2028", "", parent="2028")
    assert any(
        e.startswith(f"{policy_dir / '2028.yaml'}: inherits: '2028' 形成循环继承")
        for e in refused(policy_dir)
    )


def test_an_unknown_parent_is_refused_and_its_children_are_not_checked(policy_dir):
    write(policy_dir, "2027", "", parent="2024")
    write(policy_dir, "2028", "")
    errors = refused(policy_dir)
    assert errors[0] == (
        f"{policy_dir / '2027.yaml'}: inherits: '2024' 不是本统筹区的版本 "
        "(no file of this folder has version '2024'; versions: 2025, 2026, 2027, 2028)"
    )
    assert (
        errors[1].startswith(f"{policy_dir / '2028.yaml'}: inherits: '2027': 上级版本无法读取")
        and len(errors) == 2
    )


@pytest.mark.parametrize("parent", ["990200/2025", "../../990200/policy/2025.yaml", "2025.yaml"])
def test_a_parent_outside_the_folder_is_refused(policy_dir, parent):
    write(policy_dir, "2027", "", parent=parent)
    errors = refused(policy_dir)
    assert errors == [
        f"{policy_dir / '2027.yaml'}: inherits: '{parent}': 只能继承本统筹区目录中的版本 "
        '(name a version of this region\'s folder, e.g. "2025", not a file or another region)'
    ]


def test_a_parent_of_another_region_is_refused(policy_dir):
    path = policy_dir / "2026.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('region: "990100"', 'region: "990200"'), encoding="utf-8"
    )
    errors = refused(policy_dir)
    assert errors[0] == (
        f"{path}: region: '990200' but it inherits '2025' ({policy_dir / '2025.yaml'}) of region 990100: "
        "只能继承同一统筹区的版本 (a version inherits only from its own region)"
    )


@pytest.mark.parametrize("key", ["version", "effective_from", "title"])
def test_a_child_sets_its_own_version_title_and_start(policy_dir, key):
    path = policy_dir / "2026.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith(f"{key}:")), encoding="utf-8"
    )
    assert refused(policy_dir) == [
        f"{path}: {key}: missing (缺少此项): 继承的版本须写明自己的 {key} (a version that inherits sets its own)"
    ]


def test_a_bad_value_in_a_child_names_the_childs_file_and_key(policy_dir):
    child = write(policy_dir, "2027", 'insutype:\n  "390":\n    inpatient:\n      ratio: {3: 1.65}\n')
    assert refused(policy_dir) == [
        f"{child}: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]"
    ]
    write(policy_dir, "2027", 'insutype:\n  "390":\n    inpatient:\n      deductible: {kind: annual}\n')
    assert refused(policy_dir) == [
        f"{child}: insutype 390 › inpatient › deductible: 'repeat_ratio' applies to per_admission deductibles only"
    ]


def test_a_bad_value_in_a_parent_is_told_once_in_the_parents_file(policy_dir):
    parent = policy_dir / "2025.yaml"
    parent.write_text(parent.read_text(encoding="utf-8").replace('3: "0.65"', "3: 1.65"), encoding="utf-8")
    write(policy_dir, "2027", "")
    assert refused(policy_dir) == [
        f"{parent}: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]"
    ]


def test_a_problem_the_merge_brings_about_names_where_the_value_is_and_who_inherits_it(policy_dir):
    child = write(policy_dir, "2027", "chronic_diseases: {M07801: ~}\n")
    errors = refused(policy_dir)
    assert errors == [
        f"{policy_dir / '2025.yaml'}: insutype {code} › chronic › disease_caps › M07801: not in chronic_diseases "
        f"(版本 2027 继承此值 / inherited by {child})"
        for code in ("310", "390")
    ]


def test_removing_what_the_parent_does_not_have_is_refused(policy_dir):
    child = write(policy_dir, "2027", 'insutype:\n  "390":\n    critical_illness:\n      tlit: ~\n')
    assert refused(policy_dir) == [
        f"{child}: insutype 390 › critical_illness › tlit: 无可删除 (nothing to remove: version 2026 has no such key)"
    ]


def test_removing_what_the_schema_needs_is_refused_in_the_childs_file(policy_dir):
    child = write(policy_dir, "2027", 'insutype:\n  "390":\n    pool_fund: ~\n')
    assert refused(policy_dir) == [f"{child}: insutype 390 › pool_fund: missing (缺少此项)"]


# --- references -------------------------------------------------------------------------------------------


def test_references_never_change_the_bundle_or_its_hash(policy_dir):
    before = load_region_policy(policy_dir.parent)
    path = policy_dir / "2026.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("第7号公告", "第8号公告"), encoding="utf-8")
    base = policy_dir / "2025.yaml"
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            'ratio: {1: "0.90", 2: "0.80", 3: "0.65"}',
            'ratio: {value: {1: "0.90", 2: "0.80", 3: "0.65"}, reference: 示例 第一条}',
        )
        + "references:\n  insutype.310.chronic.ratio: 示例 第二条\n",
        encoding="utf-8",
    )
    after = load_region_policy(policy_dir.parent)
    assert after.hash == before.hash and after.policies == before.policies
    s = by_version(policy_dir)["2026"].sources
    assert (
        s.settings[("insutype", "390", "inpatient", "ratio", "3")].reference == "示例 第一条"
    )  # inherited, cited
    assert s.settings[("insutype", "310", "chronic", "ratio")].reference == "示例 第二条"
    assert "第8号公告" in s.settings[("insutype", "390", "caps", "outpatient")].reference
    refs = s.references()
    assert len(refs) == 9 and ("insutype", "310", "outpatient", "cap") not in refs


def test_a_reference_map_cites_a_whole_section(policy_dir):
    write(
        policy_dir,
        "2027",
        'supplementary:\n  deductible: "15000.00"\n  ratio: "0.75"\n'
        'references:\n  "supplementary": 示例市医疗保障局 2026年第2号公告（示例）\n'
        '  "insutype 390 › caps › outpatient": 不会生效\n',
    )
    assert refused(policy_dir) == [
        f"{policy_dir / '2027.yaml'}: references › insutype 390 › caps › outpatient: 本文件未设定此项 "
        "(this file sets no value there; cite where the value is written)"
    ]
    write(
        policy_dir,
        "2027",
        'supplementary:\n  deductible: "15000.00"\n  ratio: "0.75"\n'
        'references:\n  "supplementary": 示例市医疗保障局 2026年第2号公告（示例）\n',
    )
    s = by_version(policy_dir)["2027"].sources
    assert s.settings[("supplementary", "ratio")].reference == "示例市医疗保障局 2026年第2号公告（示例）"
    assert s.settings[("supplementary", "cap")].reference is None  # from 2025, which cites nothing


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'supplementary:\n  ratio: {value: "0.75", reference: 3}\n',
            "supplementary › ratio › reference: 依据须为文字 (a reference is the text of a citation: document and "
            "article; got 3)",
        ),
        (
            "references: [a, b]\n",
            "references: 须为 键路径 → 依据 的映射 (a map of key path → citation; got ['a', 'b'])",
        ),
        (
            'supplementary:\n  ratio: "0.75"\nreferences:\n  "supplementary..ratio": x\n',
            "references › supplementary..ratio: 不是键路径",
        ),
        (
            'supplementary:\n  ratio: {value: "0.75", reference: a}\nreferences:\n  supplementary.ratio: b\n',
            "references › supplementary.ratio: 重复的依据",
        ),
    ],
)
def test_malformed_references_are_refused(policy_dir, body, message):
    child = write(policy_dir, "2027", body)
    errors = refused(policy_dir)
    assert len(errors) == 1 and errors[0].startswith(f"{child}: {message}"), errors


def test_full_copies_still_load_each_value_sourced_from_its_own_file(tmp_path):
    full = tmp_path / "990100" / "policy"
    full.mkdir(parents=True)
    shutil.copy(DEMO / "2025.yaml", full / "2025.yaml")
    shutil.copy(FULL_COPY_2026, full / "2026.yaml")
    v = by_version(full)
    assert v["2026"].inherits is None and v["2026"].sources.chain == (full / "2026.yaml",)
    assert {s.file for s in v["2026"].sources.settings.values()} == {full / "2026.yaml"}
    assert v["2026"].sources.references() == {}
