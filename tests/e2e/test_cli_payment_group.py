"""``yibao payment group`` end to end: a file mixing good and bad rows groups every good row and gives every
bad one its reason (exit 0); only an unusable input ends with exit code 2 and one line on stderr."""

from __future__ import annotations

import csv
from pathlib import Path

from yibao.cli import main

HEADER = "case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures\n"
ROWS = [
    "ok-gallbladder,1,60,21950,,5,1,K80.100x001|I10.x00,51.2300",
    "ok-pneumonia,2,70,25600,,8,5,J18.900|J09.x00|A00.100,",
    "ok-newborn,2,0,3,1400,20,1,J18.900|P07.300,",
    "qy-knee,1,40,14700,,6,1,K35.800x001,81.5400",
    "bad-gend,3,60,21950,,5,1,K80.100x001,",
    "bad-age,1,sixty,21950,,5,1,K80.100x001,",
    "bad-nodx,1,60,21950,,5,1,,51.2300",
    "bad-unknown,1,60,21950,,5,1,K35.800,",
    "bad-sex,1,30,11000,,3,1,N80.000,",
    "bad-dscg,1,60,21950,,5,7,K80.100x001,",
    'quoted,1,60,21950,,5,1,"k80.100X001 | J18.900",51.2300',
]


def run(tmp_path: Path, text: str, *extra: str) -> tuple[int, list[dict[str, str]]]:
    source, target = tmp_path / "cases.csv", tmp_path / "groups.csv"
    source.write_text(text, encoding="utf-8")
    code = main(
        [
            "payment",
            "group",
            "--scheme",
            "chs-drg-1.1",
            "--input",
            str(source),
            "--output",
            str(target),
            *extra,
        ]
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8"))) if target.exists() else []
    return code, rows


def test_a_mixed_file_groups_the_good_rows_and_explains_the_bad(tmp_path, capsys):
    code, rows = run(tmp_path, HEADER + "\n".join(ROWS) + "\n")
    assert code == 0
    by_id = {r["case_id"]: r for r in rows}
    assert list(by_id) == [r.split(",")[0] for r in ROWS]
    assert list(rows[0]) == ["case_id", "status", "mdc", "adrg", "drg", "reason"]
    assert [by_id["ok-gallbladder"][k] for k in ("status", "mdc", "adrg", "drg")] == [
        "ok",
        "MDCH",
        "HC2",
        "HC29",
    ]
    assert by_id["ok-pneumonia"]["drg"] == "ES33"  # the §4.2 exclusion example, with death as discharge
    assert by_id["ok-newborn"]["drg"] == "PS13"
    assert (by_id["qy-knee"]["status"], by_id["qy-knee"]["drg"]) == ("qy", "GQY")
    assert by_id["quoted"]["drg"] == "HC29"  # codes normalised: spaces, case of the x extension
    reasons = {
        "bad-gend": "第 6 行: 性别应为 1（男）或 2（女）",
        "bad-age": "第 7 行: 年龄不是数字",
        "bad-nodx": "第 8 行: 缺少主要诊断",
        "bad-unknown": "主要诊断编码未知",
        "bad-sex": "性别与主要诊断不符",
        "bad-dscg": "第 11 行: 离院方式应为 1、2、3、4、5 或 9",
    }
    for case_id, reason in reasons.items():
        row = by_id[case_id]
        assert (row["status"], row["drg"], row["mdc"]) == ("ungrouped", "0000", ""), case_id
        assert row["reason"].startswith(reason), row["reason"]
    out = capsys.readouterr().out
    assert "分组完成 (grouped) 11 例: 入组 ok 4, 歧义 qy 1, 未入组 ungrouped 6" in out


def test_trace_adds_a_column(tmp_path):
    code, rows = run(tmp_path, HEADER + ROWS[1] + "\n", "--trace")
    assert code == 0 and rows[0]["trace"].split(" | ") == [
        "MDCE: 主要诊断 J18.900 在 MDCE 主诊表",
        "ADRG ES3: 主要诊断 J18.900 在主要诊断表",
        "其他诊断 J09.x00: MCC，被排除表 表 7-101 取消（主要诊断 J18.900 在表中）",
        "其他诊断 A00.100: CC 计入（排除表 表 7-1）",
        "DRG ES33: CC，本 ADRG 细分 135",
    ]


def test_unusable_input_exits_2_with_one_line(tmp_path, capsys):
    assert (
        main(["payment", "group", "--input", str(tmp_path / "none.csv"), "--output", str(tmp_path / "o.csv")])
        == 2
    )
    assert "输入文件不存在" in capsys.readouterr().err
    code, _ = run(tmp_path, "case_id,gend,age\n1,1,50\n")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "缺少列 age_days, weight_g" in err
    assert not (tmp_path / "groups.csv").exists()
    code, _ = run(tmp_path, "")
    assert code == 2 and "缺少表头" in capsys.readouterr().err


def test_an_unknown_scheme_exits_2(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text(HEADER, encoding="utf-8")
    assert (
        main(
            [
                "payment",
                "group",
                "--scheme",
                "chs-drg-9",
                "--input",
                str(source),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert "未登记的分组方案 chs-drg-9" in capsys.readouterr().err


def test_check_prints_the_pack_or_its_first_error(tmp_path, capsys):
    assert main(["payment", "check", "--scheme", "chs-drg-1.1"]) == 0
    out = capsys.readouterr().out
    assert "规则包校验通过 (pack checked): chs-drg-1.1" in out and "有效期 (in effect): 2021-05-01 — —" in out
    assert "MDC 26, ADRG 376, DRG 628; MCC 4678, CC 16568, 排除表 223" in out

    from yibao.payment.packs import find_scheme, read_tables

    for name, data in read_tables(find_scheme("chs-drg-1.1").tables).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(
            data.replace("AH15 有创".encode(), "AH13 有创".encode()) if name == "3_DRG.txt" else data
        )
    assert main(["payment", "check", "--tables", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3_DRG.txt:10: AH13 末位 3 与名称不符" in err
