"""yibao import / region load / dict show from the command line: output, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

from yibao.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_region_load_import_and_dict(engine, tmp_path, capsys):
    assert main(["region", "load", "990100", "--regions-dir", str(REPO / "regions")]) == 0
    assert "catalogue" in capsys.readouterr().out
    f = tmp_path / "persons.csv"
    f.write_text(
        "人员编号,证件号码,姓名,性别,出生日期\nP1,11010519491231002X,张三,2,1949-12-31\nP2,110105194912310021,李四,2,1949-12-31\n",
        encoding="utf-8",
    )
    errors = tmp_path / "rejected.csv"
    assert main(["import", "persons", str(f), "--errors", str(errors)]) == 0
    out = capsys.readouterr().out
    assert "persons.csv 第3行 certno: 校验位错误（末位应为 X）" in out
    assert "第3行" not in errors.read_text(encoding="utf-8-sig") and "certno" in errors.read_text(
        encoding="utf-8-sig"
    )
    assert main(["dict", "show", "med_type"]) == 0 and "普通门诊" in capsys.readouterr().out


def test_refusals_are_one_line_with_exit_2(engine, tmp_path, capsys):
    assert main(["import", "pets", "x.csv"]) == 2
    assert main(["import", "persons", str(tmp_path / "missing.csv")]) == 2
    (tmp_path / "x.txt").write_text("a", encoding="utf-8")
    assert main(["import", "persons", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 3
        and "未知的导入类型 pets" in err
        and "文件不存在" in err
        and "不支持的文件类型 .txt" in err
    )
    assert "Traceback" not in err
