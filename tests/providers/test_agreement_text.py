"""The region's agreement templates (3+1+N) load and fill; a bad index or text is refused line by line."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from yibao.errors import InputError, PolicyError
from yibao.providers.agreement_text import (
    PLACEHOLDERS,
    AgreementTemplates,
    fill,
    load_templates,
    placeholders_in,
    services_text,
    split_title,
    text_problems,
)
from yibao.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[2]
PROVIDERS = REPO / "regions" / "990100" / "providers"
AGREEMENTS = PROVIDERS / "agreements"
DAY = date(2025, 1, 1)

FACTS = {
    "admdvs_name": "示例市",
    "agency_name": "示例市医疗保障事务中心",
    "fixmedins_name": "示例市第一人民医院",
    "fixmedins_code": "H99010200001",
    "uscc": "12990102437493127E",
    "licence_no": "PDY12345699010211A1001",
    "legal_rep": "张明",
    "address": "示例市东城区人民东路268号",
    "agreement_no": "XY990100-2025-000001",
    "main_agreement_no": "XY990100-2025-000001",
    "begndate": "2025-01-01",
    "enddate": "2025-12-31",
    "services": "住院（S01）、门诊统筹（S04）",
    "sign_date": "2024-12-20",
}


@pytest.fixture(scope="module")
def templates() -> AgreementTemplates:
    return load_templates(AGREEMENTS)


def test_three_classes_one_main_each_and_the_supplements(templates):
    mains = {c: templates.main_for(c, DAY).code for c in ("hospital", "clinic", "pharmacy")}
    assert mains == {"hospital": "main_hospital", "clinic": "main_clinic", "pharmacy": "main_pharmacy"}
    supplements = {t.code for t in templates.templates if t.kind == "supplementary"}
    assert supplements == {"supp_chronic", "supp_nonlocal", "supp_internet", "supp_dual_channel", "supp_ltc"}
    assert [t.code for t in templates.supplementary_for("pharmacy", DAY)] == [
        "supp_dual_channel",
        "supp_nonlocal",
    ]
    hospital = templates.main_for("hospital", DAY)
    assert (hospital.version, hospital.effective_from) == ("2021.1", date(2021, 1, 1))
    assert "国家医疗保障局令第2号" in hospital.basis
    assert "国家医疗保障局令第3号" in templates.main_for("pharmacy", DAY).basis


def test_every_template_fills_completely(templates):
    for t in templates.templates:
        text = fill(t, FACTS)
        assert "{" not in text and "}" not in text, t.code
        title, body = split_title(text)
        assert title.startswith("示例市") and not body.startswith("#"), t.code
        assert "XY990100-2025-000001" in body and "自2025-01-01起至2025-12-31止" in body, t.code


def test_main_agreements_carry_the_breach_ladder(templates):
    for cls in ("hospital", "clinic", "pharmacy"):
        text = templates.main_for(cls, DAY).text
        assert "约谈、限期整改、暂停支付、拒付费用、要求支付违约金、中止协议、解除协议" in text, cls
        assert "1个月、2个月、4个月、6个月" in text, cls
        assert "3年内不得申请医保定点" in text, cls
        assert "第九章 违约责任" in text, cls  # the supplements refer to it by number
    assert "公立医疗机构不得主动申请中止或解除协议" in templates.main_for("hospital", DAY).text


def test_the_schemes_supplementary_codes_name_templates_for_their_classes(templates):
    """scheme.yaml's services[].supplementary (the "N") are codes of this folder, signable by the classes
    the service category may be granted to."""
    by_code = {t.code: t for t in templates.templates}
    needing = [s for s in load_yaml(PROVIDERS / "scheme.yaml")["services"] if s.get("supplementary")]
    assert needing
    for service in needing:
        template = by_code[service["supplementary"]]
        assert template.kind == "supplementary"
        assert set(service["classes"]) <= set(template.classes), service["code"]


def test_a_missing_placeholder_value_is_refused_by_name(templates):
    facts = {k: v for k, v in FACTS.items() if k not in ("begndate", "legal_rep")}
    with pytest.raises(InputError) as exc:
        fill(templates.main_for("hospital", DAY), facts)
    assert "{legal_rep}" in str(exc.value) and "{begndate}" in str(exc.value)
    assert str(exc.value).startswith("facts: 缺少占位符")


def test_an_unknown_fact_is_refused_by_name(templates):
    with pytest.raises(InputError, match=r"facts: 未知占位符 \{fixmedins_nmae\}"):
        fill(templates.main_for("hospital", DAY), {**FACTS, "fixmedins_nmae": "x"})


def test_empty_and_non_text_facts_are_refused():
    with pytest.raises(InputError, match=r"^facts\.uscc: 值为空"):
        fill("代码 {uscc}", {"uscc": "  "})
    with pytest.raises(InputError, match=r"^facts\.uscc: 应为文本"):
        fill("代码 {uscc}", {"uscc": 12})  # type: ignore[dict-item]


def test_fill_is_one_pass_and_ignores_facts_the_text_does_not_use():
    assert (
        fill("{fixmedins_name}：{address}", {**FACTS, "address": "{uscc}路1号"})
        == "示例市第一人民医院：{uscc}路1号"
    )


def test_fill_refuses_a_text_with_an_unknown_placeholder():
    with pytest.raises(PolicyError, match=r"template:1: \{deposit\}: 未知占位符"):
        fill("保证金 {deposit}", FACTS)


def test_text_problems_name_the_line():
    assert text_problems("甲方\n{agency_name}\n{foo} 和 }", "x.md") == [
        f"x.md:3: {{foo}}: 未知占位符 (unknown placeholder; known: {', '.join(PLACEHOLDERS)})",
        "x.md:3: 花括号不成对 (a brace that is not part of a {placeholder})",
    ]
    assert placeholders_in("{a}{b}{a}") == ("a", "b")


def test_services_text():
    assert services_text([("S01", "住院"), ("S05", "门诊特殊疾病")]) == "住院（S01）、门诊特殊疾病（S05）"
    with pytest.raises(InputError, match=r"^services:"):
        services_text([])


# --- a broken folder ------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "agreements"
    shutil.copytree(AGREEMENTS, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(folder: Path) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        load_templates(folder)
    return str(exc.value).splitlines()


def test_an_unknown_placeholder_in_a_text_is_refused_with_file_and_line(folder):
    _edit(folder / "supp_ltc.md", "{services}", "{service}")
    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'supp_ltc.md'}:13: {{service}}: 未知占位符")


def test_a_main_text_without_a_required_placeholder_is_refused(folder):
    _edit(folder / "main_clinic.md", "协议编号：{agreement_no}", "协议编号：")
    assert _problems(folder) == [
        f"{folder / 'main_clinic.md'}: {{agreement_no}}: main 协议文本缺少必备占位符 (required placeholder missing)"
    ]


def test_index_problems_are_reported_together_with_their_keys(folder):
    index = folder / "index.yaml"
    _edit(
        index,
        "kind: supplementary\n    classes: [hospital, clinic]\n    version",
        "kind: extra\n    classes: [hospital, clinic]\n    version",
    )
    _edit(index, "file: supp_internet.md", "file: missing.md")
    _edit(
        index,
        'version: "2021.1"\n    effective_from: 2021-01-01\n    file: main_pharmacy.md',
        "version: 2021.1\n    effective_from: 2021-01-01\n    file: main_pharmacy.md",
    )
    problems = _problems(folder)
    assert (
        problems[0]
        == f'{index}: templates.2.version: 应为非空文本 (must be non-empty text; quote numbers such as "2021.1")'
    )
    assert problems[1].startswith(f"{index}: templates.3.kind: 应为 main 或 supplementary")
    assert problems[2] == f"{index}: templates.5.file: {folder / 'missing.md'} 文件不存在 (file not found)"
    assert len(problems) == 3  # the pharmacy's broken main entry is not reported again as a missing main


def test_a_class_without_a_main_agreement_is_refused(folder):
    _edit(folder / "index.yaml", "classes: [clinic]", "classes: [hospital]")
    problems = _problems(folder)
    assert any(
        "templates: main_clinic 与 main_hospital" in p or "main_hospital 与 main_clinic" in p
        for p in problems
    )
    assert (
        f"{folder / 'index.yaml'}: templates: 类别 clinic 没有主协议 (no main agreement for class clinic)"
        in problems
    )


def test_versions_are_chosen_by_day(folder):
    (folder / "main_hospital_2026.md").write_text(
        (folder / "main_hospital.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with (folder / "index.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "  - {code: main_hospital, name: 定点医疗机构医疗保障服务协议（医院类）, kind: main, classes: [hospital],\n"
            '     version: "2026.1", effective_from: 2026-01-01, file: main_hospital_2026.md}\n'
        )
    templates = load_templates(folder)
    assert templates.on("main_hospital", date(2025, 12, 31)).version == "2021.1"
    assert templates.main_for("hospital", date(2026, 1, 1)).version == "2026.1"
    assert templates.get("main_hospital", "2021.1").file.endswith("main_hospital.md")
    with pytest.raises(InputError, match=r"没有版本 2019\.1"):
        templates.get("main_hospital", "2019.1")
    with pytest.raises(InputError, match=r"尚未生效"):
        templates.on("main_hospital", date(2020, 12, 31))
    with pytest.raises(InputError, match=r"没有协议文本 main_school"):
        templates.on("main_school", DAY)


def test_a_missing_folder_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match=r"index\.yaml: 文件不存在"):
        load_templates(tmp_path)
