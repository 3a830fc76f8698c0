"""``yibao rules`` and ``yibao audit run`` on both databases: the test sets checked through both engines (exit 2
naming the failing case, a bad file refused one problem per line, never a traceback), the library imported,
listed, shown, switched and edited (audited), the transpiled SQL, and a 事后 run over a generated month with
its summary, its table per rule and a re-run that adds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.audit_library import CHECKED, CHECKED_KNOWLEDGE, HITTING, demo_year, write_library
from yibao.cli import main
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, AuditRule, AuditSuspicion


@pytest.fixture
def checked(tmp_path):
    return write_library(tmp_path / "rules", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE})


def test_check_runs_every_case_through_both_engines(checked, capsys):
    assert main(["rules", "check", str(checked)]) == 0
    out = capsys.readouterr().out
    assert (
        "✓ C-SEX 男性使用" in out and "✓ C-FREQ 隔月" in out and "2 条规则, 5 个用例: 通过 5, 失败 0" in out
    )
    wrong = CHECKED.replace("{name: 女性使用, expect: miss", "{name: 女性使用, expect: hit")
    write_library(checked, wrong)
    assert main(["rules", "check", str(checked)]) == 2
    out = capsys.readouterr().out
    assert "✗ C-SEX 女性使用: 期望 hit，实为 miss" in out and "失败 1" in out


def test_check_refuses_a_bad_file_one_problem_a_line(checked, capsys):
    write_library(checked, CHECKED.replace("kind: visit_frequency", "kind: nonsense"),
                  {"knowledge.csv": CHECKED_KNOWLEDGE + "C-SEX,XF009,3,2025-1\n"})  # fmt: skip
    assert main(["rules", "check", str(checked)]) == 2
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert any("C-SEX: knowledge.csv row 4: gend: 须为 1 / 2 之一" in x for x in lines)
    assert any("C-FREQ: kind: 须为" in x for x in lines) and "规则文件校验失败: 2 处问题" in lines[-1]
    assert "Traceback" not in captured.out + captured.err
    assert main(["rules", "check", str(checked / "missing")]) == 2
    assert "规则文件不存在" in capsys.readouterr().err


def test_import_list_show_switch_and_edit(engine, checked, capsys):
    assert main(["rules", "import", str(checked), "--reason", "首次"]) == 0
    assert "导入 2 条规则: 新增 2, 新版本 0, 未变 0" in capsys.readouterr().out
    assert main(["rules", "import", str(checked)]) == 0
    assert "新增 0, 新版本 0, 未变 2" in capsys.readouterr().out
    assert main(["rules", "list", "--class", "政策类"]) == 0
    out = capsys.readouterr().out
    assert "C-SEX" in out and "C-FREQ" not in out and "1 条" in out
    assert main(["rules", "disable", "C-SEX"]) == 2  # the reason is required
    assert "--reason" in capsys.readouterr().err
    assert main(["rules", "disable", "C-SEX", "--reason", "知识点待更新"]) == 0
    assert "C-SEX 已停用 (第 2 版)" in capsys.readouterr().out
    assert main(["rules", "list", "--disabled"]) == 0
    out = capsys.readouterr().out
    assert "C-SEX" in out and "C-FREQ" not in out
    assert main(["rules", "enable", "C-SEX", "--reason", "已更新"]) == 0
    assert (
        main(["rules", "edit", "C-SEX", "--action", "upload=block", "--sev-deg", "1", "--reason", "拦截"])
        == 0
    )
    assert main(["rules", "edit", "C-FREQ", "--action", "upload=block", "--reason", "试"]) == 2
    assert "可疑类规则只能提醒" in capsys.readouterr().err
    assert main(["rules", "show", "C-SEX", "--rows", "1"]) == 0
    out = capsys.readouterr().out
    assert '"upload": "block"' in out and "XF001" in out and "XF002" not in out and "另有 1 行" in out
    assert "妇幼专科" in out and "知识点待更新" in out and "edit" in out
    assert main(["rules", "show", "NOPE"]) == 2
    with unit_of_work(engine, write=False) as s:
        assert s.get(AuditRule, "C-SEX").version == 4
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == "C-SEX").order_by(AuditLog.seq)
        )
        assert list(actions) == ["import", "disable", "enable", "change"]


def test_sql_prints_one_text_in_each_dialect(capsys):
    assert main(["rules", "sql", "--dialect", "spark", "--kind", "cycle_frequency"]) == 0
    spark = capsys.readouterr().out
    assert "kind: cycle_frequency" in spark and "STRING" in spark and "VARCHAR" not in spark
    assert main(["rules", "sql"]) == 0
    out = capsys.readouterr().out
    assert "-- view: visits" in out and out.count("-- kind:") >= 27
    assert main(["rules", "sql", "--dialect", "oracle"]) == 2


@pytest.mark.slow
def test_audit_run_prints_the_summary_and_each_rule(engine, tmp_path, capsys):
    demo_year(engine, tmp_path)
    assert main(["rules", "import", str(write_library(tmp_path / "hit", HITTING))]) == 0
    capsys.readouterr()
    assert main(["audit", "run", "--from", "2025-06-01", "--to", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "审核批次 run 1 (duckdb) 2025-06-01 – 2025-06-30" in out and "豁免" in out
    assert "T-SEX" in out and "限女性使用" in out and "各规则发现" in out
    with unit_of_work(engine, write=False) as s:
        stored = s.scalar(select(func.count()).select_from(AuditSuspicion))
    assert f"新疑点 {stored:,} 条 (已有 0)" in out and stored > 100
    args = ["audit", "run", "--from", "2025-06-01", "--to", "2025-06-30", "--engine", "sqlite", "--rules"]
    assert main([*args, "T-SEX,T-CYCLE"]) == 0
    out = capsys.readouterr().out
    assert "run 2 (sqlite)" in out and "新疑点 0 条" in out and "T-FREQ-M" not in out
    assert main(["audit", "run", "--from", "2025-06-31", "--to", "2025-06-30"]) == 2
    assert "--from: 须为日期" in capsys.readouterr().err
    assert main(["audit", "run", "--from", "2025-06-01", "--to", "2025-06-30", "--rules", "NOPE"]) == 2
    assert '规则不存在 "NOPE"' in capsys.readouterr().err
