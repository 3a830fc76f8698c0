"""The demo region's smart-audit rule library (regions/990100/rules): its size and coverage of the rule kinds,
every rule's test set run through both engines, its knowledge rows against the demo catalogue and code
tables, and how the loader reports a bad rule file (file, rule and row named)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from yibao.supervision.kinds import KINDS
from yibao.supervision.library import LibraryError
from yibao.supervision.library_files import load_library
from yibao.supervision.testing import EXPECTS, run_tests

REGION = Path(__file__).resolve().parents[2] / "regions" / "990100"
RULES = REGION / "rules"
LIBRARY = load_library(RULES)
CODES = sorted(LIBRARY.rules)


def _column(path: Path, name: str) -> set[str]:
    with path.open(encoding="utf-8") as fh:
        return {row[name] for row in csv.DictReader(fh)}


def test_the_library_has_at_least_45_rules_and_uses_every_kind():
    assert len(LIBRARY.rules) >= 45
    assert {r.kind for r in LIBRARY.rules.values()} == set(KINDS)


def test_every_rule_has_a_hit_a_miss_and_an_exempt_case_and_an_exemption():
    for code, rule in LIBRARY.rules.items():
        assert set(EXPECTS) <= {case.get("expect") for case in rule.tests}, code
        assert rule.exemptions, code


def test_rule_headers_follow_the_library_conventions():
    for code, rule in LIBRARY.rules.items():
        assert code.startswith(("GZ1000", "ZB1000", "LC990100")), code
        assert rule.class_l1 and rule.class_l2 and rule.legal_basis, code
        assert rule.effective_from.isoformat() == "2025-01-01", code
        if rule.class_l1 == "医疗类" and rule.kind not in ("sex_limit",):
            assert rule.result_type == "可疑", code  # medical reasonableness: review, never refuse
        if "block" in rule.actions.values():
            assert rule.result_type == "违规" and rule.sev_deg == "1", code
        if not rule.spec.online:
            assert rule.stages == ("post",), code


@pytest.mark.parametrize("code", CODES)
def test_the_rule_passes_its_test_set_in_both_engines(code):
    results = run_tests(LIBRARY, {code})
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    assert results and not failed, "\n".join(failed)


def test_knowledge_rows_use_codes_of_the_demo_catalogue_and_code_tables():
    catalogue = _column(REGION / "catalogue" / "catalogue.csv", "med_list_codg")
    icd10 = _column(REGION / "codes" / "icd10.csv", "code")
    icd9 = _column(REGION / "codes" / "icd9cm3.csv", "code")
    for code, rule in LIBRARY.rules.items():
        for row in rule.knowledge:
            for name in ("code", "with_code"):
                if name in row.values:
                    assert row.values[name] in catalogue, (code, row.where, row.values[name])
            if "dise_prefix" in row.values:
                assert any(c.startswith(row.values["dise_prefix"]) for c in icd10), (code, row.where)
            if "oprn_prefix" in row.values:
                assert any(c.startswith(row.values["oprn_prefix"]) for c in icd9), (code, row.where)


def test_the_readme_lists_every_rule():
    text = (RULES / "README.md").read_text(encoding="utf-8")
    assert [code for code in CODES if code not in text] == []


# --- bad input ---------------------------------------------------------------------------------------------

HEADER = """
rules:
  - rule_code: {code}
    name: 测试规则
    kind: {kind}
    class_l1: 政策类
    class_l2: 药品政策限定
    result_type: 违规
    effective_from: 2025-01-01
    knowledge: {knowledge}
"""


def _problems(tmp_path: Path, text: str, csv_text: str | None = None) -> list[str]:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    if csv_text is not None:
        (tmp_path / "rows.csv").write_text(csv_text, encoding="utf-8")
    with pytest.raises(LibraryError) as err:
        load_library(tmp_path)
    return err.value.problems


def test_an_unknown_kind_names_the_file_the_rule_and_the_key(tmp_path):
    problems = _problems(tmp_path, HEADER.format(code="GZ9", kind="gender_limit", knowledge="[]"))
    assert len(problems) == 1
    assert "bad.yaml: GZ9: kind:" in problems[0] and "gender_limit" in problems[0]


def test_a_bad_sex_in_an_inline_row_names_the_row_and_column(tmp_path):
    text = HEADER.format(
        code="GZ8", kind="sex_limit", knowledge='[{code: XG04CBF052A001225279664, gend: "M"}]'
    )
    problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert "bad.yaml: GZ8: knowledge[0]: gend:" in problems[0] and '"M"' in problems[0]


def test_a_bad_csv_row_names_the_file_the_rule_and_the_row(tmp_path):
    rows = (
        "rule_code,code,unit,min_age,max_age\n"
        "GZ7,XA12CBP059D001811557717,y,,17\n"
        "GZ7,001201000070000,d,,twenty-eight\n"
        "OTHER,001201000070000,d,,oops\n"  # another rule's row: not read for GZ7
    )
    problems = _problems(tmp_path, HEADER.format(code="GZ7", kind="age_limit", knowledge="rows.csv"), rows)
    assert len(problems) == 1
    assert "bad.yaml: GZ7: rows.csv row 3: max_age:" in problems[0] and "twenty-eight" in problems[0]


def test_an_unknown_csv_column_names_the_column_and_the_kinds_columns(tmp_path):
    rows = "rule_code,code,gend,sex\nGZ6,XG04CBF052A001225279664,1,男\n"
    problems = _problems(tmp_path, HEADER.format(code="GZ6", kind="sex_limit", knowledge="rows.csv"), rows)
    assert len(problems) == 1
    assert 'bad.yaml: GZ6: rows.csv row 2: 未知列 "sex"' in problems[0] and "code, gend" in problems[0]


def test_every_problem_of_a_file_is_reported_together(tmp_path):
    text = HEADER.format(
        code="GZ5", kind="sex_limit", knowledge='[{code: X1, gend: "3"}, {code: X2, gend: "1"}]'
    )
    text += HEADER.format(code="GZ4", kind="no_such_kind", knowledge="[]").replace("rules:\n", "")
    problems = _problems(tmp_path, text)
    assert [p.split(": ")[1] for p in problems] == ["GZ5", "GZ4"]
