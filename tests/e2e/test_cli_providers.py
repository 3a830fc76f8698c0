"""``yibao providers`` from the command line: the list on a day, one institution, what settlement would say,
staff's suspension, resumption and termination with one-line errors, expiry."""

from __future__ import annotations

from tests import world
from yibao.cli import main

H2, SUSPENDED = world.HOSP2, "H99010300009"


def test_the_list_the_status_on_a_day_and_staffs_steps(engine, capsys):
    world.build(engine)
    assert main(["providers", "list", "--status", "suspended", "--on", "2025-03-02"]) == 0
    out = capsys.readouterr().out
    assert SUSPENDED in out and H2 not in out
    assert main(["providers", "status", H2, "--on", "2025-03-02", "--med-type", "14"]) == 0
    assert "可以结算" in capsys.readouterr().out
    assert (
        main(["providers", "suspend", H2, "--from", "2025-03-01", "--months", "3", "--reason", "串换药品"])
        == 2
    )
    assert "months: 违约中止期限应为 1、2、4、6 个月之一" in capsys.readouterr().err
    assert (
        main(["providers", "suspend", H2, "--from", "2025-03-01", "--months", "1", "--reason", "串换药品"])
        == 0
    )
    assert "中止 2025-03-01 至 2025-03-31" in capsys.readouterr().out
    assert main(["providers", "status", H2, "--on", "2025-03-02"]) == 2
    assert "医保协议中止 (2025-03-01 至 2025-03-31，原因 串换药品)" in capsys.readouterr().err
    assert main(["providers", "resume", H2, "--on", "2025-03-02", "--reason", "整改到位"]) == 0
    capsys.readouterr()
    assert main(["providers", "status", H2, "--on", "2025-03-02"]) == 0
    assert main(["providers", "show", H2]) == 0
    out = capsys.readouterr().out
    assert "定点区间" in out and "串换药品" in out
    assert (
        main(["providers", "terminate", H2, "--on", "2025-06-01", "--by", "sanction", "--reason", "虚构"])
        == 2
    )
    assert "red_line: 违约解除须写明解除情形" in capsys.readouterr().err
    assert main(["providers", "terminate", H2, "--on", "2025-06-01", "--by", "sanction", "--red-line", "R02", "--reason", "虚构"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["providers", "list", "--status", "none", "--on", "2025-06-01"]) == 0
    assert H2 in capsys.readouterr().out
    assert main(["providers", "expire", "--on", "2025-06-01"]) == 0
    assert "到期终止 0 份协议" in capsys.readouterr().out
    assert main(["providers", "status", "NOPE"]) == 2


def test_the_exit_statement_of_an_institution_that_left(engine, capsys):
    world.build(engine)
    assert main(["providers", "exit-statement", H2]) == 2
    assert f"fixmedins_code: 定点医药机构 {H2} 协议在执行中，没有退出日期" in capsys.readouterr().err
    assert main(["providers", "terminate", H2, "--on", "2025-06-01", "--reason", "机构歇业"]) == 0
    capsys.readouterr()
    assert main(["providers", "exit-statement", H2]) == 0
    out = capsys.readouterr().out
    assert "自 2025-06-01 退出 机构歇业" in out and "尚未结算的就诊 0 笔" in out and "已清结" in out
    assert main(["providers", "exit-statement", "NOPE"]) == 2
    assert "定点医药机构不存在 NOPE" in capsys.readouterr().err
