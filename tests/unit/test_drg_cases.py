"""Reading grouping cases: code normalisation and the reason given for each kind of bad row."""

from __future__ import annotations

import pytest

from yibao.payment.cases import RowRefused, case_from_fields, normalise_code, read_cases


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("k80.100X001", "K80.100x001"),
        (" A17.000 + G01* ", "A17.000+G01*"),
        ("A17.000†G01*", "A17.000+G01*"),
        ("x45.X00", "X45.x00"),  # the chapter letter X stays a capital
        ("40.3X00x001", "40.3x00x001"),
    ],
)
def test_codes_are_written_as_the_tables_write_them(raw, code):
    assert normalise_code(raw) == code


def fields(**changes):
    row = dict(case_id="1", gend="1", age="50", age_days="18300", weight_g="", los="5", dscg_way="1",
               diagnoses="K80.100x001|I10.x00", procedures="51.2300")  # fmt: skip
    return {**row, **changes}


def test_a_weight_of_0_means_not_weighed():
    assert case_from_fields(fields(weight_g="0")).weight_g is None


def test_a_good_row():
    case = case_from_fields(fields(weight_g="3200.0", dscg_way=""))
    assert case.diagnoses == ("K80.100x001", "I10.x00") and case.procedures == ("51.2300",)
    assert (case.gend, case.age, case.age_days, case.weight_g, case.dscg_way) == (1, 50, 18300, 3200, "")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"gend": "0"}, "性别应为 1（男）或 2（女）"),
        ({"age": "五十"}, "年龄不是数字"),
        ({"age": "50.5"}, "年龄应为整数"),
        ({"age": "-1"}, "年龄超出范围"),
        ({"age_days": ""}, "年龄（天）不是数字"),
        ({"weight_g": "heavy"}, "体重（克）不是数字"),
        ({"weight_g": "-5"}, "体重（克）超出范围"),
        ({"diagnoses": "|I10.x00"}, "缺少主要诊断"),
        ({"diagnoses": ""}, "缺少主要诊断"),
        ({"dscg_way": "7"}, "离院方式应为"),
    ],
)
def test_each_bad_field_has_its_reason(change, reason):
    with pytest.raises(RowRefused, match=reason):
        case_from_fields(fields(**change))


def test_rows_keep_their_line_numbers(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text(
        "case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures\n"
        "a,1,50,18300,,5,1,K80.100x001,\n\n"
        "b,9,50,18300,,5,1,K80.100x001,\n"
        "c,1,50,18300,,5,1,K80.100x001,,extra\n",
        encoding="utf-8",
    )
    rows = list(read_cases(source))
    assert [(r.line, r.case_id, r.refusal is None) for r in rows] == [
        (2, "a", True),
        (4, "b", False),
        (5, "c", False),
    ]
    assert rows[2].refusal == "列数 10 多于表头的 9 列"


def test_a_row_that_is_not_utf8_fails_alone(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_bytes(
        b"case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures\n"
        + b"a,1,50,18300,,5,1,K80.100x001,\n"
        + "b,1,50,18300,,5,1,K80.100x001,备注\n".encode("gbk")
        + b"c,1,50,18300,,5,1,K80.100x001,\n"
    )
    rows = list(read_cases(source))
    assert [(r.case_id, r.refusal) for r in rows] == [
        ("a", None),
        ("b", "此行不是有效的 UTF-8 文本"),
        ("c", None),
    ]
