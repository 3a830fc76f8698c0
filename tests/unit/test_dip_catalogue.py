"""A region's DIP catalogue is data: the demo catalogue of 示例市 loads and is reproducible from its
documented commands; CSV and XLSX read alike; a malformed file is refused with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibao.payment.dip_catalogue import load_dip_catalogue
from yibao.payment.dip_tables import SLASH_FIRST, parse_expression, satisfied
from yibao.payment.drg_tables import RulePackError

DEMO = Path(__file__).resolve().parents[2] / "regions" / "990100" / "payment"
HEADER = "dip_code,dip_type,diagnosis_key,procedures,treatment,score"
GOOD = ["K80.1-01,core,K80.1,51.2300,,1502", "K80-Z4,comprehensive,K80,,相关手术,1600"]


def write(
    folder: Path, rows: list[str], procedures: str = "code,treatment_type\n51,相关手术\n", **extra: str
):
    folder.mkdir(exist_ok=True)
    (folder / "dip_catalogue.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    (folder / "dip_procedures.csv").write_text(procedures, encoding="utf-8")
    for name, text in extra.items():
        (folder / f"{name}.{'yaml' if name == 'dip' else 'csv'}").write_text(text, encoding="utf-8")
    return folder


def test_the_demo_catalogue_loads():
    cat = load_dip_catalogue(DEMO, "990100")
    kinds = {k: sum(1 for r in cat.rows if r.dip_type == k) for k in ("core", "basic", "comprehensive")}
    assert kinds["core"] > 400 and kinds["comprehensive"] > 50
    assert cat.params.tie_break == ("procedures_matched", "score") and cat.cci is not None
    assert (
        len(cat.pack_hash) == 64 and cat.pack_hash == load_dip_catalogue(DEMO / "dip_catalogue.csv").pack_hash
    )


def test_expressions():
    assert parse_expression("51.2300+51.1000/51.1001") == (
        (frozenset({"51.2300"}), frozenset({"51.1000", "51.1001"})),
    )
    assert parse_expression("51.2300+51.1000/51.1001", "plus_first") == (
        (frozenset({"51.2300"}), frozenset({"51.1000"})),
        (frozenset({"51.1001"}),),
    )
    expr = parse_expression("51.2300 ＋ 51.1000", SLASH_FIRST)  # spaces and full-width signs
    assert satisfied(expr, frozenset({"51.1000", "51.2300", "88.0100"})) == 2
    assert satisfied(expr, frozenset({"51.2300"})) == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ["K80.1-01,kernel,K80.1,51.2300,,1502"],
            "dip_catalogue.csv:2: dip_type 应为 core、basic（基层）或 comprehensive",
        ),
        ([GOOD[0], "K80.1-01,core,K80.2,,,600"], "dip_catalogue.csv:3: dip_code K80.1-01 重复（第 2 行）"),
        (["K80.1-01,core,K80.1,51.2300++51.1000,,1502"], "dip_catalogue.csv:2: 手术操作表达式中有空项"),
        (
            ["K80.1-01,core,K80.1,51.2,,1502"],
            "dip_catalogue.csv:2: 手术操作编码格式错误 (malformed procedure code): 51.2",
        ),
        (["K80.1-01,core,K80,51.2300,,1502"], "dip_catalogue.csv:2: 诊断键应为亚目，如 K80.1"),
        (["K80.1-01,core,K80.1,51.2300,,abc"], "dip_catalogue.csv:2: 分值不是数字"),
        (["K80.1-01,core,K80.1,51.2300,,-5"], "dip_catalogue.csv:2: 分值应大于 0"),
        (["K80-Z4,comprehensive,K80,51.2300,相关手术,1600"], "dip_catalogue.csv:2: 综合病种不列手术操作"),
        (["K80-Z4,comprehensive,K80,,手术,1600"], "dip_catalogue.csv:2: 综合病种的治疗方式应为"),
        (
            ["K80-Z4,comprehensive,K93-K00,,相关手术,1600"],
            "dip_catalogue.csv:2: 综合病种的诊断键应为类目 K80 或区间 K00-K93",
        ),
        ([GOOD[0], "K80.1-02,core,K80.1,51.2300,,1400"], "dip_catalogue.csv:3: 与第 2 行的诊断键和治疗相同"),
        (["K80.1-01,core,K80.1,51.2300,,1502,extra"], "dip_catalogue.csv:2: 列数 7 多于表头的 6 列"),
        ([], "dip_catalogue.csv: 目录没有任何病种"),
    ],
)
def test_a_malformed_catalogue_is_refused_with_file_line_and_reason(tmp_path, rows, message):
    with pytest.raises(RulePackError) as refused:
        load_dip_catalogue(write(tmp_path / "c", rows))
    assert str(refused.value).startswith(message), str(refused.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"procedures": "code,treatment_type\n51,手术\n"}, "dip_procedures.csv:2: 治疗方式应为"),
        (
            {"procedures": "code,treatment_type\n51,相关手术\n51,诊断性操作\n"},
            "dip_procedures.csv:3: 编码 51 重复",
        ),
        ({"procedures": "code\n51\n"}, "dip_procedures.csv:1: 缺少列 treatment_type"),
        (
            {"dip_aux": "dip_code,dimension,subtype,condition,coefficient\nX-01,age,老年,age>=80,1.1\n"},
            "dip_aux.csv:2: dip_code X-01 不在病种目录中",
        ),
        (
            {"dip_aux": "dip_code,dimension,subtype,condition,coefficient\n*,cci,重,cci>=3,1.2\n"},
            "dip_aux.csv:2: 条件用到 cci，但目录没有 dip_cci.csv",
        ),
        (
            {"dip_aux": "dip_code,dimension,subtype,condition,coefficient\n*,age,老,age~80,1.1\n"},
            "dip_aux.csv:2: 无法识别的条件",
        ),
        (
            {"dip_aux": "dip_code,dimension,subtype,condition,coefficient\n*,age,老,age>=80,x\n"},
            "dip_aux.csv:2: 系数不是数字",
        ),
        ({"dip_cci": "prefix,weight,family\nI50,1,chf\nI50,2,chf\n"}, "dip_cci.csv:3: 前缀 I50 重复"),
        ({"dip": "tie_break: [luck]\n"}, "dip.yaml: tie_break 不认识 luck"),
        ({"dip": "expression_precedence: left\n"}, "dip.yaml: expression_precedence 应为"),
        ({"dip": "effective_from: 2026-01-01\neffective_to: 2025-01-01\n"}, "dip.yaml: 有效期应为日期区间"),
    ],
)
def test_malformed_companion_files_are_refused(tmp_path, extra, message):
    procedures = extra.pop("procedures", "code,treatment_type\n51,相关手术\n")
    with pytest.raises(RulePackError) as refused:
        load_dip_catalogue(write(tmp_path / "c", GOOD, procedures, **extra))
    assert str(refused.value).startswith(message), str(refused.value)


def test_missing_files(tmp_path):
    with pytest.raises(RulePackError, match="没有 DIP 病种目录"):
        load_dip_catalogue(tmp_path)
    (tmp_path / "dip_catalogue.csv").write_text(HEADER + "\n" + GOOD[0] + "\n", encoding="utf-8")
    with pytest.raises(RulePackError, match=r"dip_procedures\.csv: 目录缺少此文件"):
        load_dip_catalogue(tmp_path)


def test_an_xlsx_catalogue_reads_like_the_csv(tmp_path):
    from openpyxl import Workbook

    folder = write(tmp_path / "x", GOOD)
    (folder / "dip_catalogue.csv").unlink()
    book = Workbook()
    sheet = book.active
    for line in [HEADER, *GOOD, "K80.1-02,core,K80.1,51.2200,,1400"]:
        sheet.append(line.split(","))
    sheet.append(["K80.1-03", "core", "K80.1", "51.2100", None, 1300])  # a number cell
    book.save(folder / "dip_catalogue.xlsx")
    cat = load_dip_catalogue(folder)
    assert [(r.dip_code, str(r.score), r.line) for r in cat.rows][-2:] == [
        ("K80.1-02", "1400", 4),
        ("K80.1-03", "1300", 5),
    ]
    sheet.append(["K80.1-04", "core", "K80.1", "51.2100/", None, 1300])
    book.save(folder / "dip_catalogue.xlsx")
    with pytest.raises(RulePackError, match=r"^dip_catalogue.xlsx:6: 手术操作表达式中有空项"):
        load_dip_catalogue(folder / "dip_catalogue.xlsx")
    (folder / "dip_catalogue.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(RulePackError, match="无法读取 XLSX"):
        load_dip_catalogue(folder)
