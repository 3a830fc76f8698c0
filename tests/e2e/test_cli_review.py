"""``yibao review`` on both databases: the queue listed, a request approved by its own requester refused (exit
2, nothing moved), rejected without a reason refused, approved by another reviewer — the settlement reversed."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.test_review_reversal import WHY, api, as_, settle_worker  # noqa: F401 - fixture
from tests.rest import ok
from tests.world import HOSP2, His
from yibao.cli import main
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, ReviewRequest, Settlement


def test_list_approve_and_reject_from_the_command_line(api, engine, capsys):  # noqa: F811
    his = His(api, HOSP2)
    _, setl_id = settle_worker(his, "2025-03-06")
    url = f"/api/settlements/{setl_id}/reversal-requests"
    req = ok(api.post(url, json={"reason": WHY}, headers=as_(api, "both")), 201)
    capsys.readouterr()
    assert main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert setl_id in out and "兼岗人员" in out and "待审核" in out and "共 1 项" in out
    assert main(["review", "approve", str(req["id"]), "--as", "both"]) == 2
    assert "不能审核通过本人提交的申请" in capsys.readouterr().err
    assert main(["review", "approve", str(req["id"]), "--as", "jb"]) == 2  # a handler does not decide
    assert main(["review", "reject", str(req["id"]), "--as", "sh", "--comment", " "]) == 2
    assert "必须填写审核意见" in capsys.readouterr().err
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, setl_id).reversed_by is None
        assert s.get(ReviewRequest, req["id"]).status == "pending"
    assert main(["review", "approve", str(req["id"]), "--as", "sh", "--comment", "同意"]) == 0
    assert "已审核通过" in capsys.readouterr().out
    with unit_of_work(engine, write=False) as s:
        row = s.get(ReviewRequest, req["id"])
        assert (row.status, row.decided_by, row.comment) == ("approved", "sh", "同意")
        assert s.get(Settlement, setl_id).reversed_by == row.result_setl_id
        assert s.scalar(select(AuditLog.actor).where(AuditLog.entity_id == row.result_setl_id)) == "sh"
    assert main(["review", "list", "--status", "all"]) == 0
    assert "已通过" in capsys.readouterr().out
