"""The DIP grouper on hand-made catalogues (payment-drg-dip.md §3.2): core match by diagnosis key and
procedure expression (``+`` all of, ``/`` any of, both precedences), 保守治疗, the comprehensive fallback by
diagnosis prefix × treatment type, the tie-break parameter, auxiliary coefficients, reasons and the trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibao.payment.cases import DrgCase
from yibao.payment.dip import group_dip_case
from yibao.payment.dip_catalogue import load_dip_catalogue

HEADER = "dip_code,dip_type,diagnosis_key,procedures,treatment,score"
ROWS = [
    "K80.1-00,core,K80.1,,,600",  # 胆囊结石伴胆囊炎 保守治疗
    "K80.1-01,core,K80.1,51.2300,,1502",  # 腹腔镜胆囊切除
    "K80.1-02,core,K80.1,51.2300+51.1000,,1800",  # + ERCP: both required
    "K80.1-03,core,K80.1,51.2200/51.2201,,1400",  # 开腹胆囊切除: either code
    "J18.9-00,basic,J18.9,,,500",  # 肺炎 保守治疗: 基层病种
    "K80-Z1,comprehensive,K80,,保守治疗,550",
    "K80-Z2,comprehensive,K80,,诊断性操作,700",
    "K80-Z3,comprehensive,K80,,治疗性操作,900",
    "K80-Z4,comprehensive,K80,,相关手术,1600",
    "K00-K93-Z4,comprehensive,K00-K93,,相关手术,1700",
    "K00-K93-Z1,comprehensive,K00-K93,,保守治疗,450",
]
PROCEDURES = """code,treatment_type
00,治疗性操作
51,相关手术
51.1000,诊断性操作
88,诊断性操作
99,治疗性操作
"""


def catalogue(tmp_path: Path, rows=ROWS, params: str = "", aux: str | None = None, cci: str | None = None):
    (tmp_path / "dip_catalogue.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    (tmp_path / "dip_procedures.csv").write_text(PROCEDURES, encoding="utf-8")
    if params:
        (tmp_path / "dip.yaml").write_text(params, encoding="utf-8")
    if aux is not None:
        (tmp_path / "dip_aux.csv").write_text(
            "dip_code,dimension,subtype,condition,coefficient\n" + aux, encoding="utf-8"
        )
    if cci is not None:
        (tmp_path / "dip_cci.csv").write_text("prefix,weight,family\n" + cci, encoding="utf-8")
    return load_dip_catalogue(tmp_path, "990100")


def case(dx: str, px: str = "", age: int = 60, dscg_way: str = "1", age_days: int | None = None) -> DrgCase:
    return DrgCase(
        case_id="t",
        gend=1,
        age=age,
        age_days=age * 365 + 10 if age_days is None else age_days,
        diagnoses=tuple(dx.split("|")),
        procedures=tuple(p for p in px.split("|") if p),
        dscg_way=dscg_way,
    )


@pytest.fixture
def cat(tmp_path):
    return catalogue(tmp_path)


def code_of(cat, dx, px="", **kw):
    g = group_dip_case(case(dx, px, **kw), cat)
    return g.dip_code if g.status == "ok" else g.reason


def test_core_match_by_diagnosis_key_and_procedure(cat):
    g = group_dip_case(case("K80.100x001|I10.x00", "51.2300"), cat)
    assert (g.status, g.dip_code, g.dip_type, g.score, g.points) == (
        "ok",
        "K80.1-01",
        "core",
        "1502",
        "1502.0000",
    )
    assert code_of(cat, "K80.101", "51.2300") == "K80.1-01"  # any code of the 亚目


def test_plus_needs_every_part_and_takes_the_case_with_both(cat):
    assert code_of(cat, "K80.100x001", "51.2300|51.1000") == "K80.1-02"  # most procedures matched
    assert code_of(cat, "K80.100x001", "51.1000|51.2300") == "K80.1-02"  # in any position
    assert code_of(cat, "K80.100x001", "51.1000") == "K80-Z2"  # ERCP alone: no core row, 诊断性操作 pool


def test_slash_takes_any_of_its_codes(cat):
    assert code_of(cat, "K80.100x001", "51.2200") == "K80.1-03"
    assert code_of(cat, "K80.100x001", "51.2201") == "K80.1-03"


def test_expression_precedence_is_a_parameter(tmp_path):
    rows = ["K80.1-09,core,K80.1,51.2200/51.2300+51.1000,,2000", "K80-Z4,comprehensive,K80,,相关手术,1600"]
    (tmp_path / "a").mkdir()
    slash = catalogue(tmp_path / "a", rows)
    assert code_of(slash, "K80.100", "51.2300|51.1000") == "K80.1-09"  # (51.2200 or 51.2300) and 51.1000
    assert code_of(slash, "K80.100", "51.2200") == "K80-Z4"
    (tmp_path / "b").mkdir()
    plus = catalogue(tmp_path / "b", rows, params="expression_precedence: plus_first\n")
    assert code_of(plus, "K80.100", "51.2200") == "K80.1-09"  # 51.2200 or (51.2300 and 51.1000)
    assert code_of(plus, "K80.100", "51.2300") == "K80-Z4"
    assert code_of(plus, "K80.100", "51.2300|51.1000") == "K80.1-09"


def test_conservative_when_no_qualifying_procedure(tmp_path, cat):
    assert code_of(cat, "K80.100x001") == "K80.1-00"
    assert code_of(cat, "K80.100x001", "88.0100") == "K80-Z2"  # a diagnostic procedure qualifies by default
    (tmp_path / "q").mkdir()
    strict = catalogue(tmp_path / "q", params="qualifying_types: [治疗性操作, 相关手术]\n")
    assert code_of(strict, "K80.100x001", "88.0100") == "K80.1-00"


def test_comprehensive_by_prefix_and_highest_treatment(cat):
    assert code_of(cat, "K80.200") == "K80-Z1"  # another 亚目 of K80: no core row
    assert code_of(cat, "K80.200", "88.0100") == "K80-Z2"
    assert code_of(cat, "K80.200", "88.0100|99.1800") == "K80-Z3"
    assert (
        code_of(cat, "K80.200", "99.1800|51.4100|88.0100") == "K80-Z4"
    )  # 相关手术 > 治疗性操作 > 诊断性操作
    assert code_of(cat, "K81.000", "51.4100") == "K00-K93-Z4"  # no K81 pool: the chapter range
    assert code_of(cat, "K81.000", "99.1800").startswith(
        "主要诊断 K81.000 无匹配的核心病种，综合病种 K00-K93 没有治疗方式“治疗性操作”"
    )
    assert code_of(cat, "M17.000").startswith("主要诊断 M17.000 不在本地区病种目录中")


def test_tie_break_is_a_parameter(tmp_path):
    rows = ["K80.1-01,core,K80.1,51.2300,,1502", "K80.1-02,core,K80.1,51.2300+51.1000,,1400"]
    (tmp_path / "a").mkdir()
    default = catalogue(tmp_path / "a", rows)
    assert code_of(default, "K80.100", "51.2300|51.1000") == "K80.1-02"  # most procedures first
    (tmp_path / "b").mkdir()
    by_score = catalogue(tmp_path / "b", rows, params="tie_break: [score]\n")
    assert code_of(by_score, "K80.100", "51.2300|51.1000") == "K80.1-01"
    (tmp_path / "c").mkdir()
    by_row = catalogue(tmp_path / "c", rows[::-1], params="tie_break: [row]\n")
    assert code_of(by_row, "K80.100", "51.2300|51.1000") == "K80.1-02"


AUX = """*,cci,CCI≥3,cci>=3,1.2500
*,cci,CCI 1–2,cci>=1,1.0800
*,severity,死亡,death,1.1500
*,age,0–28 天,age_days<29,1.3000
*,age,80 岁及以上,age>=80,1.1000
*,tumour,转移,dx:C77-C80,1.2000
K80.1-01,age,70 岁及以上,age>=70,1.0500
"""
CCI = """I50,1,chf
E10-E14,1,diabetes
E11.2,2,diabetes
C77-C80,6,cancer
N18,2,renal
"""


def test_auxiliary_coefficients(tmp_path):
    cat = catalogue(tmp_path, aux=AUX, cci=CCI)

    def aux(dx, px="51.2300", **kw):
        g = group_dip_case(case(dx, px, **kw), cat)
        return g.aux_coef, g.points

    assert aux("K80.100") == ("1", "1502.0000")
    assert aux("K80.100|I50.900") == ("1.0800", "1622.1600")  # CCI 1
    # diabetes counted once at its highest weight (E11.2 → 2), + renal 2 = 4; 1502 × 1.25 = 1877.5
    assert aux("K80.100|E11.200|E11.900|N18.500") == ("1.2500", "1877.5000")
    assert aux("K80.100", dscg_way="5") == ("1.1500", "1727.3000")
    assert aux("K80.100", age=0, age_days=10) == ("1.3000", "1952.6000")
    assert aux("K80.100", age=75) == ("1.0500", "1577.1000")  # the group's own row comes before the * rows
    assert aux("K80.100", age=85) == ("1.0500", "1577.1000")  # first row of the dimension wins
    assert aux("K80.100|C78.000") == ("1.2500", "1877.5000")  # metastasis: tumour 1.20, CCI 6 → 1.25: max
    assert aux("K80.100") == ("1", "1502.0000")
    assert group_dip_case(case("J18.900|I50.900", age=85), cat).aux_coef == "1"  # 基层: 同病同价
    assert group_dip_case(case("K80.200|I50.900"), cat).aux_coef == "1"  # comprehensive: no subtypes


def test_auxiliary_coefficients_as_a_product(tmp_path):
    cat = catalogue(tmp_path, aux=AUX, cci=CCI, params="aux_combine: product\n")
    g = group_dip_case(case("K80.100|I50.900", "51.2300", dscg_way="5"), cat)
    assert (g.aux_coef, g.points) == ("1.2420", "1865.4840")  # 1.08 × 1.15, to 4 places; 1502 × 1.242


def test_bad_codes_are_reasons_never_exceptions(cat):
    assert code_of(cat, "K80.1xx!") == "主要诊断编码格式错误: K80.1xx!"
    assert code_of(cat, "K80.100|junk") == "其他诊断编码格式错误: junk"
    assert code_of(cat, "K80.100", "5123") == "手术操作编码格式错误: 5123"


def test_a_procedure_the_attribute_table_lacks_counts_as_no_treatment(cat):
    g = group_dip_case(case("K80.100", "12.3456"), cat, trace=True)
    assert g.dip_code == "K80.1-00"
    assert "手术操作 12.3456: 不在手术操作属性表中，不计治疗方式" in g.trace


def test_the_trace_says_why(cat):
    g = group_dip_case(case("K80.100x001", "51.2300|51.1000"), cat, trace=True)
    assert g.trace == (
        "手术操作 51.2300: 相关手术",
        "手术操作 51.1000: 诊断性操作",
        "核心病种 K80.1-00（K80.1 + 保守治疗）: 不满足",
        "核心病种 K80.1-01（K80.1 + 51.2300）: 满足",
        "核心病种 K80.1-02（K80.1 + 51.2300+51.1000）: 满足",
        "核心病种 K80.1-03（K80.1 + 51.2200/51.2201）: 不满足",
        "2 个候选，按 procedures_matched > score 取 K80.1-02",
        "分值 1800 × 辅助系数 1 = 1800.0000",
    )
    g = group_dip_case(case("K81.000", "51.4100"), cat, trace=True)
    assert g.trace[-2:] == (
        "无核心病种，综合病种 K00-K93-Z4: K00-K93 × 相关手术",
        "分值 1700 × 辅助系数 1 = 1700.0000",
    )
