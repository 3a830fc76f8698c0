"""The provider scheme: the demo region's data as loaded, and every kind of problem a region's files can have,
each reported as ``file: key: reason``."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.errors import InputError, PolicyError
from yibao.providers.scheme import institution_class, load_scheme
from yibao.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[2]
REGION = REPO / "regions" / "990100"
FOLDER = REGION / "providers"


@pytest.fixture(scope="module")
def scheme():
    return load_scheme(FOLDER)


# --- the demo region --------------------------------------------------------------------------------------------


def test_the_demo_region_has_chengdus_numbers(scheme):
    assert list(scheme.classes) == ["hospital", "clinic", "pharmacy"]
    assert len(scheme.services) == 18
    ev = scheme.evaluation
    assert len(ev.indicators) == 25
    assert sum(i.max_points for i in ev.indicators) == 100
    groups = {
        g: sum(i.max_points for i in ev.indicators if i.group == g) for g in {i.group for i in ev.indicators}
    }
    assert groups == {"基础管理": 40, "服务能力": 35, "信息建设": 25}
    assert ev.pass_mark == Decimal("60") and ev.aggregate == "trimmed_mean" and ev.trim == 1
    assert ev.expert_fields == ("医保管理", "信息技术", "医疗质控")
    assert len(scheme.red_lines) == 53
    assert sum(r.mandatory for r in scheme.red_lines) == 13
    assert scheme.application.suspension_months == (1, 2, 4, 6)
    assert scheme.application.min_operation_months == 3 and scheme.application.evaluation_months == 3
    assert [b.name for b in scheme.bands] == ["优秀", "合格", "基本合格", "不合格"]
    assert [b.min for b in scheme.bands] == [90, 75, 60, 0]
    assert set(scheme.consequences) == {"1", "2", "3", "4"}
    assert scheme.consequences["4"].renew is False
    assert sum(i.points for i in scheme.assessment_indicators) == 100
    assert [m.step for m in scheme.measures] == list(range(1, 9))
    assert scheme.measures[0].effect == "record" and scheme.measures[-1].effect == "terminate"


def test_every_value_is_exact(scheme):
    values = [i.max_points for i in scheme.evaluation.indicators]
    values += [v for i in scheme.assessment_indicators for v in (i.points, i.target, i.floor)]
    values += [c.deposit_return for c in scheme.consequences.values()] + [b.min for b in scheme.bands]
    assert all(type(v) is Decimal for v in values)
    assert scheme.consequences["2"].deposit_return == Decimal("0.95")


def _class_of(med_type: str) -> set[str]:
    """The classes that may settle a med_type (nhsa-interface.md §7.2: 1x 门诊, 2x 住院, 41 药店)."""
    if med_type == "41":
        return {"pharmacy"}
    if med_type.startswith("2"):
        return {"hospital"}
    return {"hospital", "clinic"}


def test_every_med_type_the_demo_settles_is_opened_for_its_classes(scheme):
    settled = set()
    for f in sorted((REGION / "policy").glob("*.yaml")):
        for cls in (load_yaml(f).get("benefit_classes") or {}).values():
            settled.update(cls["med_types"])
    assert settled >= {"11", "13", "14", "21", "41"}
    for mt in settled:
        for cls in _class_of(mt):
            assert mt in scheme.med_types_of(scheme.services_for(cls)), (mt, cls)


def test_no_category_opens_a_med_type_outside_its_classes(scheme):
    for s in scheme.services.values():
        for mt in s.med_types:
            if mt in ("41",) or mt.startswith("2"):
                assert set(s.classes) <= _class_of(mt), (s.code, mt)
        if "pharmacy" in s.classes:
            assert set(s.med_types) <= {"41", "18"}, s.code


def test_med_types_of_and_names(scheme):
    assert scheme.med_types_of(["S04", "S05"]) == {"11", "14"}
    assert scheme.med_types_of([]) == frozenset()
    with pytest.raises(InputError, match=r"services: 未知的医保服务类别 S99"):
        scheme.med_types_of(["S04", "S99"])
    names = scheme.med_type_names()
    assert names["14"] == "门诊特殊疾病" and names["21"] == "住院" and names["41"] == "药店购药"
    assert "S01" not in scheme.services_for("clinic") and "S17" in scheme.services_for("pharmacy")


def test_lookups(scheme):
    assert scheme.measure("M7").effect == "suspend"
    assert scheme.red_line("R03").mandatory and not scheme.red_line("R53").mandatory
    with pytest.raises(InputError, match=r"measure"):
        scheme.measure("M99")
    with pytest.raises(InputError, match=r"red_line"):
        scheme.red_line("R99")


@pytest.mark.parametrize(
    ("kind", "beds", "cls"),
    [("1", 200, "hospital"), ("1", 1, "hospital"), ("1", 0, "clinic"), ("1", None, "clinic"), ("2", None, "pharmacy"),
     (" 2 ", 5, "pharmacy")],
)  # fmt: skip
def test_institution_class(kind, beds, cls):
    assert institution_class(kind, beds) == cls


def test_institution_class_refuses():
    with pytest.raises(InputError, match=r"fixmedins_type: .*'3'"):
        institution_class("3", None)
    with pytest.raises(InputError, match=r"beds: "):
        institution_class("1", -1)


def test_the_demo_institutions_each_have_a_class(scheme):
    import csv

    with (REGION / "institutions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    classes = {institution_class(r["fixmedins_type"], int(r["beds"]) if r["beds"] else None) for r in rows}
    assert classes == {"hospital", "clinic", "pharmacy"}


# --- problems ---------------------------------------------------------------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "providers"
    shutil.copytree(FOLDER, target, ignore=shutil.ignore_patterns("agreements"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(folder: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_scheme(folder)
    return caught.value.message.splitlines()


def test_copy_loads(copy):
    assert len(load_scheme(copy).services) == 18


def test_missing_folder_and_file(tmp_path, copy):
    with pytest.raises(PolicyError, match=r"provider scheme folder not found"):
        load_scheme(tmp_path / "nowhere")
    (copy / "red_lines.csv").unlink()
    assert _problems(copy) == [f"{copy / 'red_lines.csv'}: 文件不存在 (file not found)"]


def test_an_unquoted_decimal_is_refused(copy):
    _edit(copy / "scheme.yaml", 'pass_mark: "60"', "pass_mark: 60.5")
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: evaluation › pass_mark: 60.5 须加引号 (write decimal numbers in quotes: "
        '"60.5"; never read as a float)'
    ]


def test_a_whole_number_is_exact_enough(copy):
    _edit(copy / "scheme.yaml", 'pass_mark: "60"', "pass_mark: 60")
    assert load_scheme(copy).evaluation.pass_mark == Decimal(60)


def test_every_problem_is_reported_at_once(copy):
    y = copy / "scheme.yaml"
    _edit(y, "{code: S02,", "{code: S01,")
    _edit(y, 'classes: [hospital], med_types: ["28"]', "classes: [hospital], med_types: []")
    _edit(
        y,
        "{code: S03, name: 急诊, classes: [hospital, clinic]",
        "{code: S03, name: 急诊, classes: [hospital, ward]",
    )
    _edit(y, '{grade: "2", name: 合格, min: "75"}', '{grade: "2", name: 合格, min: "95"}')
    _edit(y, "aggregate: trimmed_mean", "aggregate: best_of")
    _edit(y, "  trim: 1\n", "  trim: 1\n  weights: none\n")
    problems = _problems(copy)
    p = str(y)
    assert f"{p}: services › 1 › med_types: 应为非空列表 (should be a non-empty list, got [])" in problems
    assert (
        f"{p}: services › 2 › classes: 未知的机构类别 ward (unknown class; known: hospital, clinic, pharmacy)"
        in problems
    )
    assert (
        f"{p}: assessment › bands › 1 › min: 95 须低于上一档的 90 (bands must fall, highest first)"
        in problems
    )
    assert any(
        x.startswith(f"{p}: evaluation › aggregate: 应为 trimmed_mean / mean / median 之一") for x in problems
    )
    assert any(x.startswith(f"{p}: evaluation › weights: 未知的键 (unknown key") for x in problems)
    assert f"{p}: services › 1 › code: 服务类别代码 S01 重复 (service code repeated)" in problems
    assert len(problems) == 6


def test_repeated_service_code(copy):
    _edit(copy / "scheme.yaml", "{code: S02,", "{code: S01,")
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: services › 1 › code: 服务类别代码 S01 重复 (service code repeated)"
    ]


def test_unquoted_med_type(copy):
    _edit(copy / "scheme.yaml", 'med_types: ["28"]', "med_types: [28]")
    assert _problems(copy) == [
        f'{copy / "scheme.yaml"}: services › 1 › med_types: 医疗类别须加引号 (write med_types as text: "28")'
    ]


def test_bands_must_end_at_zero(copy):
    _edit(
        copy / "scheme.yaml", '{grade: "4", name: 不合格, min: "0"}', '{grade: "4", name: 不合格, min: "10"}'
    )
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: assessment › bands: 最低一档须从 0 起 (the last band must start at 0, not 10)"
    ]


def test_every_grade_needs_its_consequences(copy):
    _edit(
        copy / "scheme.yaml",
        '    "4": {deposit_return: "0.00", renew: false, inspections_per_year: 12}\n',
        "",
    )
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: assessment › consequences › 4: 缺少此项 (missing: every grade needs its consequences)"
    ]


def test_a_key_written_twice(copy):
    _edit(copy / "scheme.yaml", "  notice_months: 3", "  notice_months: 3\n  notice_months: 2")
    (problem,) = _problems(copy)
    assert problem.startswith(f"{copy / 'scheme.yaml'}: application › notice_months: 第 ")
    assert problem.endswith("(key written twice)")


def test_suspension_months_rise(copy):
    _edit(copy / "scheme.yaml", "suspension_months: [1, 2, 4, 6]", "suspension_months: [1, 4, 2]")
    (problem,) = _problems(copy)
    assert "application › suspension_months: 应从小到大且不重复" in problem


def test_scale_must_sum_to_100(copy):
    _edit(
        copy / "evaluation_scale.csv",
        "A01,基础管理,医保管理组织机构健全，配备专（兼）职医保管理人员,4",
        "A01,基础管理,医保管理组织机构,5",
    )
    assert _problems(copy) == [
        f"{copy / 'evaluation_scale.csv'}: max_points: 合计 101 分，应为 100 分 (points must sum to 100)"
    ]


def test_scale_cells(copy):
    path = copy / "evaluation_scale.csv"
    _edit(path, ",服务能力,科室设置与执业范围相符,4", ",服务能力,科室设置与执业范围相符,four")
    _edit(path, "C06,", "C05,")
    problems = _problems(copy)
    assert f"{path}:12: max_points: 不是数字 (not a number: 'four')" in problems
    assert f"{path}:26: code: 代码 C05 与第 25 行重复 (code repeated)" in problems


def test_assessment_points_and_direction(copy):
    path = copy / "assessment_indicators.csv"
    _edit(path, "higher,0.99,0.90", "higher,0.90,0.99")
    _edit(path, "K08,医保政策执行及日常管理得分,10,manual", "K08,医保政策执行及日常管理得分,10,computed:mood")
    problems = _problems(copy)
    assert f"{path}:2: target: 越高越好时目标值 0.90 须高于下限 0.99 (higher: target > floor)" in problems
    assert any(p.startswith(f"{path}:9: source: 应为 manual 或 computed:<指标>") for p in problems)


def test_assessment_points_sum(copy):
    _edit(copy / "assessment_indicators.csv", "K05,查实的投诉举报（件）,5,", "K05,查实的投诉举报（件）,6,")
    assert _problems(copy) == [
        f"{copy / 'assessment_indicators.csv'}: points: 合计 101 分，应为 100 分 (points must sum to 100)"
    ]


def test_table_header_and_flags(copy):
    _edit(copy / "red_lines.csv", "code,name,mandatory", "code,name,required")
    assert _problems(copy) == [
        f"{copy / 'red_lines.csv'}: 表头应为 code,name,mandatory (header should be these columns, got code,name,required)"
    ]


def test_red_line_flag(copy):
    _edit(
        copy / "red_lines.csv", "R53,违规收受医药企业回扣，经有关部门查实,0", "R53,违规收受医药企业回扣,yes"
    )
    assert _problems(copy) == [f"{copy / 'red_lines.csv'}:54: mandatory: 应为 0 或 1 (0 or 1, got 'yes')"]


def test_measures_need_suspend_and_terminate(copy):
    _edit(copy / "scheme.yaml", "  - {code: M8, step: 8, name: 解除医保协议, effect: terminate}\n", "")
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: measures: 缺少 effect: terminate 的措施 (the ladder needs a terminate step)"
    ]


def test_measure_effect_known(copy):
    _edit(copy / "scheme.yaml", "effect: record", "effect: scold")
    (problem,) = _problems(copy)
    assert problem.startswith(f"{copy / 'scheme.yaml'}: measures › 0 › effect: 应为 record / deadline")


def test_missing_section_and_material_class(copy):
    _edit(copy / "scheme.yaml", "    pharmacy: [药品经营许可证", "    drugstore: [药品经营许可证")
    problems = _problems(copy)
    p = copy / "scheme.yaml"
    assert any(x.startswith(f"{p}: application › required_materials › drugstore: 未知的键") for x in problems)
    assert f"{p}: application › required_materials › pharmacy: 缺少此项 (missing)" in problems


def test_too_few_experts_for_the_fields(copy):
    _edit(copy / "scheme.yaml", "min_experts: 3", "min_experts: 2")
    assert _problems(copy) == [
        f"{copy / 'scheme.yaml'}: evaluation › panel › min_experts: 少于专家领域数 3 (fewer experts than fields to cover)"
    ]


def test_a_class_without_any_service(copy):
    y = copy / "scheme.yaml"
    _edit(y, 'classes: [hospital, pharmacy], med_types: ["18"]', 'classes: [hospital], med_types: ["18"]')
    _edit(
        y,
        "{code: S17, name: 药店购药, classes: [pharmacy]",
        "{code: S17, name: 药店购药, classes: [hospital]",
    )
    _edit(
        y,
        "{code: S18, name: 门诊统筹（定点药店）, classes: [pharmacy]",
        "{code: S18, name: 门诊统筹（定点药店）, classes: [hospital]",
    )
    assert _problems(copy) == [
        f"{y}: services: 没有 pharmacy 类机构可开通的服务类别 (no service category for class pharmacy)"
    ]


def test_yaml_syntax_error(copy):
    (copy / "scheme.yaml").write_text("classes: [hospital\n", encoding="utf-8")
    (problem,) = _problems(copy)
    assert problem.startswith(f"{copy / 'scheme.yaml'}:")
    assert "YAML 格式错误" in problem
