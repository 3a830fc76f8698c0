"""``yibao suspicions`` and ``yibao audit deduct`` on both databases: the worklist filtered and exported to
Excel, a bulk notice, an appeal with a file read from disk, a refused decision by the notifier (exit 2, nothing
moved), an upholding by a second reviewer, the month's deduction posted once and a second run finding
nothing."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from tests import world
from tests.integration.test_suspicion_workflow import PDF, add_suspicions, entries, trail
from yibao.cli import main
from yibao.security import create_user
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditSuspicion

H3 = world.HOSP3


def test_the_workflow_from_the_command_line(engine, capsys, tmp_path):
    world.build(engine)
    with unit_of_work(engine) as s:
        for username, roles in (("jc1", ["inspector"]), ("jc2", ["inspector"]), ("jb", ["handler"])):
            create_user(s, username, username, roles, "pass-word-9", actor="test")
    big, small, suspect = add_suspicions(
        engine, {"vola_amt": 88_800}, {"vola_amt": 5_000}, {"result_type": "可疑", "vola_amt": 70_000}
    )
    capsys.readouterr()

    assert main(["suspicions", "list", "--status", "open", "--min-amount", "60"]) == 0
    out = capsys.readouterr().out
    assert "疑点 2 项，金额 1588.00 元" in out
    assert "888.00" in out and "700.00" in out and "50.00" not in out
    assert main(["suspicions", "list", "--status", "bogus"]) == 2
    assert "--status: 未知的状态 bogus" in capsys.readouterr().err

    # bulk notice: the 可疑 one is left, and said so
    assert main(["suspicions", "notify", "--institution", H3, "--as", "jc1"]) == 0
    out = capsys.readouterr().out
    assert (
        "已告知机构 2 项，金额 938.00 元" in out and "未告知 1 项：可疑疑点须经初审确认后方可告知机构" in out
    )

    pdf = tmp_path / "病程记录.pdf"
    pdf.write_bytes(PDF)
    assert main(["suspicions", "appeal", str(big), "--institution", H3, "--reason", "有医嘱", "--file", str(pdf), "--as", "jb"]) == 0  # fmt: skip
    assert "附件 1 个" in capsys.readouterr().out
    assert main(["suspicions", "accept", str(small), "--institution", H3, "--as", "jb"]) == 0
    assert main(["suspicions", "decide", str(big), "--decision", "uphold", "--reason", "不成立", "--as", "jc1"]) == 2  # fmt: skip
    assert "不能复核维持" in capsys.readouterr().err
    assert main(["suspicions", "decide", str(big), "--decision", "uphold", "--reason", "申诉不成立", "--amount", "800", "--as", "jc2"]) == 0  # fmt: skip
    assert "复核维持" in capsys.readouterr().out

    assert main(["audit", "deduct", "--month", "2025-04"]) == 0
    out = capsys.readouterr().out
    assert "2025-04 审核扣款：2 项，850.00 元" in out and H3 in out
    assert main(["audit", "deduct", "--month", "2025-04"]) == 0
    assert "2025-04 没有待扣款的疑点" in capsys.readouterr().out
    assert [leg[-1] for leg in entries(engine)] == [80_000, -80_000, 5_000, -5_000]
    assert trail(engine, big)[-1] == ("deduct", "yibao audit deduct", "upheld", "deducted")

    book = tmp_path / "疑点.xlsx"
    assert main(["suspicions", "export", "--status", "deducted,open", "--output", str(book)]) == 0
    sheet = load_workbook(book).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [big, small, suspect]  # soonest due first (none last), larger first
    assert rows[0][1] == "已扣款" and rows[0][-4] == 800 and rows[0][-3] == 800 and rows[0][-2] == "2025-04"
    with unit_of_work(engine, write=False) as s:
        assert s.get(AuditSuspicion, big).due_date > date(2025, 1, 1)
