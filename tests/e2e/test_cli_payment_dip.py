"""``yibao payment group --scheme dip:990100`` end to end: a file mixing good and bad rows groups every good
row by the demo region's DIP catalogue and gives every bad one its reason (exit 0); ``dip-catalogue build``
makes a catalogue from a history and ``dip-catalogue check`` refuses a malformed one with file and line."""

from __future__ import annotations

import csv
from pathlib import Path

from yibao.cli import main

DEMO = Path(__file__).resolve().parents[2] / "regions" / "990100" / "payment"
HEADER = "case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures\n"


def demo_rows() -> dict[str, str]:
    """Cases built from the shipped catalogue's own rows, so the test follows a rebuilt catalogue."""
    rows = list(csv.DictReader((DEMO / "dip_catalogue.csv").open(encoding="utf-8")))
    aux = {
        r["dip_code"]: r["coefficient"]
        for r in csv.DictReader((DEMO / "dip_aux.csv").open(encoding="utf-8"))
        if r["subtype"] == "CCI 1–2"
    }
    conservative = next(r for r in rows if not r["procedures"] and r["dip_code"] in aux)
    conservative["cci_coef"] = aux[conservative["dip_code"]]
    surgical = next(
        r for r in rows if r["dip_type"] == "core" and r["procedures"] and "+" not in r["procedures"]
    )
    core_keys = {r["diagnosis_key"][:3] for r in rows if r["dip_type"] != "comprehensive"}
    pool = next(
        r
        for r in rows
        if r["dip_type"] == "comprehensive"
        and r["treatment"] == "保守治疗"
        and len(r["diagnosis_key"]) == 3
        and r["diagnosis_key"] not in core_keys
    )
    return {"conservative": conservative, "surgical": surgical, "pool": pool}


def run(tmp_path: Path, text: str, *extra: str) -> tuple[int, list[dict[str, str]]]:
    source, target = tmp_path / "cases.csv", tmp_path / "groups.csv"
    source.write_text(text, encoding="utf-8")
    code = main(
        [
            "payment",
            "group",
            "--scheme",
            "dip:990100",
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
    demo = demo_rows()
    con, sur, pool = demo["conservative"], demo["surgical"], demo["pool"]
    lines = [
        f"conservative,1,60,21950,,5,1,{con['diagnosis_key']}00|I50.900,",
        f"surgical,2,50,18300,,5,1,{sur['diagnosis_key']}00,{sur['procedures']}",
        f"pool,1,40,14700,,3,1,{pool['diagnosis_key']}.999,",
        "bad-gend,3,60,21950,,5,1,K80.100x001,",
        "bad-age,1,sixty,21950,,5,1,K80.100x001,",
        "bad-nodx,1,60,21950,,5,1,,51.2300",
        "bad-code,1,60,21950,,5,1,K80,",
        "bad-px,1,60,21950,,5,1,K80.100,5123",
        "unknown,1,60,21950,,5,1,U99.900,",
    ]
    code, rows = run(tmp_path, HEADER + "\n".join(lines) + "\n")
    assert code == 0
    by_id = {r["case_id"]: r for r in rows}
    assert list(by_id) == [line.split(",")[0] for line in lines]
    assert list(rows[0]) == [
        "case_id",
        "status",
        "dip_code",
        "dip_type",
        "score",
        "aux_coef",
        "points",
        "reason",
    ]
    assert [by_id["conservative"][k] for k in ("status", "dip_code", "score", "aux_coef")] == [
        "ok",
        con["dip_code"],
        con["score"],
        con["cci_coef"],  # CCI 1 (heart failure): the group's auxiliary coefficient
    ]
    assert (by_id["surgical"]["dip_code"], by_id["surgical"]["dip_type"]) == (sur["dip_code"], "core")
    assert by_id["pool"]["dip_type"] == "comprehensive" and by_id["pool"]["dip_code"].startswith(
        pool["diagnosis_key"]
    )
    reasons = {
        "bad-gend": "第 5 行: 性别应为 1（男）或 2（女）",
        "bad-age": "第 6 行: 年龄不是数字",
        "bad-nodx": "第 7 行: 缺少主要诊断",
        "bad-code": "主要诊断编码格式错误: K80",
        "bad-px": "手术操作编码格式错误: 5123",
        "unknown": "主要诊断 U99.900 不在本地区病种目录中",
    }
    for case_id, reason in reasons.items():
        row = by_id[case_id]
        assert (row["status"], row["dip_code"], row["score"]) == ("ungrouped", "", ""), case_id
        assert row["reason"].startswith(reason), row["reason"]
    out = capsys.readouterr().out
    assert (
        "分组完成 (grouped) 9 例: 核心 core 2, 基层 basic 0, 综合 comprehensive 1, 未入组 ungrouped 6" in out
    )


def test_trace_adds_a_column(tmp_path):
    con = demo_rows()["conservative"]
    code, rows = run(tmp_path, HEADER + f"c,1,60,21950,,5,1,{con['diagnosis_key']}00|I50.900,\n", "--trace")
    trace = rows[0]["trace"].split(" | ")
    assert code == 0 and trace[0] == f"核心病种 {con['dip_code']}（{con['diagnosis_key']} + 保守治疗）: 满足"
    assert trace[1:3] == ["CCI 1（chf 1）", f"辅助分型 cci/CCI 1–2（cci>=1&cci<3）: 系数 {con['cci_coef']}"]


def test_an_unknown_region_or_a_malformed_catalogue_exits_2(tmp_path, capsys):
    source = tmp_path / "cases.csv"
    source.write_text(HEADER, encoding="utf-8")
    args = ["payment", "group", "--input", str(source), "--output", str(tmp_path / "o.csv")]
    assert main([*args, "--scheme", "dip:990999"]) == 2
    assert "没有 DIP 病种目录" in capsys.readouterr().err
    assert main([*args, "--scheme", "dip:../990100"]) == 2  # a region code, never a path
    assert "方案应写作 dip:<统筹区编码>" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("dip_procedures.csv", "dip.yaml"):
        (bad / name).write_bytes((DEMO / name).read_bytes())
    (bad / "dip_catalogue.csv").write_text(
        "dip_code,dip_type,diagnosis_key,procedures,treatment,score\nA-01,core,K80.1,51.2300,,1502\nA-02,core,K80.1,,,0\n",
        encoding="utf-8",
    )
    assert main([*args, "--scheme", "dip:990100", "--catalogue", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dip_catalogue.csv:3: 分值应大于 0" in err
    assert main(["payment", "dip-catalogue", "check", "--catalogue", str(bad)]) == 2
    assert main(["payment", "dip-catalogue", "check"]) == 0
    assert "DIP 病种目录校验通过 (catalogue checked): 990100" in capsys.readouterr().out


def test_build_from_a_history(tmp_path, capsys):
    folder = tmp_path / "region"
    folder.mkdir()
    for name in ("dip_procedures.csv", "dip.yaml"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    history = tmp_path / "history.csv"
    assert (
        main(
            [
                "payment",
                "dip-catalogue",
                "history",
                "--output",
                str(history),
                "--cases",
                "3000",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    with history.open("a", encoding="utf-8") as out:
        out.write("bad,1,50,18260,,5,1,K80.100,51.2300,2025,12.345\n")
    assert main(["payment", "dip-catalogue", "build", "--history", str(history), "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "年度 2023, 2024, 2025; 病例 3000" in out and "拒绝 refused 1" in out
    assert "history.csv:3002: 医疗费总额" in out
    cases = tmp_path / "cases.csv"
    with history.open(encoding="utf-8") as src, cases.open("w", encoding="utf-8") as dst:
        for line in list(src)[:201]:
            dst.write(",".join(line.rstrip("\n").split(",")[:9]) + "\n")
    target = tmp_path / "groups.csv"
    args = ["payment", "group", "--scheme", "dip:990100", "--catalogue", str(folder)]
    assert main([*args, "--input", str(cases), "--output", str(target)]) == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 200 and all(
        r["status"] == "ok" for r in rows
    )  # the history groups into its own catalogue


def test_the_demo_catalogue_is_reproducible_from_its_commands(tmp_path):
    """The commands regions/990100/payment/README.md documents give the shipped files byte for byte."""
    folder = tmp_path / "payment"
    folder.mkdir()
    for name in ("dip.yaml", "dip_cci.csv", "dip_aux_template.csv"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    history = tmp_path / "history.csv"
    procedures = folder / "dip_procedures.csv"
    args = ["payment", "dip-catalogue", "history", "--output", str(history), "--procedures", str(procedures)]
    assert main(args) == 0
    assert main(["payment", "dip-catalogue", "build", "--history", str(history), "--dir", str(folder)]) == 0
    for name in ("dip_procedures.csv", "dip_catalogue.csv", "dip_aux.csv"):
        assert (folder / name).read_bytes() == (DEMO / name).read_bytes(), name
