"""The rules of a request awaiting a second person (双人复核), as a table: every (action, status) pair, who may
take each step — never the requester for a decision (four eyes) — and what a reason is. Pure."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from yibao.audit_actions import Action
from yibao.errors import SettlementError
from yibao.settlement import review
from yibao.settlement.review import (
    REVIEW,
    WRITE,
    NotPermitted,
    ReviewRefused,
    Staff,
    Status,
    check_filing,
    transition,
)

HANDLER = Staff("jingban", frozenset({"settlement.read", WRITE}))
OTHER_HANDLER = Staff("jingban2", frozenset({"settlement.read", WRITE}))
REVIEWER = Staff("shenhe", frozenset({"settlement.read", REVIEW}))
ADMIN = Staff("admin", frozenset({"*"}))

# (action, status before) → status after; every pair not listed is refused
ALLOWED = {
    (Action.APPROVE, Status.PENDING): Status.APPROVED,
    (Action.REJECT, Status.PENDING): Status.REJECTED,
    (Action.WITHDRAW, Status.PENDING): Status.WITHDRAWN,
}
ACTOR_OF = {Action.APPROVE: REVIEWER, Action.REJECT: REVIEWER, Action.WITHDRAW: HANDLER}


@pytest.mark.parametrize("action", list(review.TRANSITIONS))
@pytest.mark.parametrize("status", list(Status))
def test_every_step_from_every_status(action, status):
    want = ALLOWED.get((action, status))
    if want is None:
        with pytest.raises(ReviewRefused, match=f"status: 申请{review.NAMES[status]}，不能"):
            transition(action, status, staff=ACTOR_OF[action], requested_by="jingban")
    else:
        assert transition(action, status.value, staff=ACTOR_OF[action], requested_by="jingban") is want


def test_only_waiting_requests_move_and_decided_ones_are_final():
    assert {s for (_, s) in ALLOWED} == {Status.PENDING}
    assert set(review.TRANSITIONS) == {Action.APPROVE, Action.REJECT, Action.WITHDRAW}


@pytest.mark.parametrize("action", [Action.APPROVE, Action.REJECT])
def test_nobody_decides_their_own_request(action):
    """Four eyes: not a reviewer who filed it, not an administrator holding every permission."""
    for who in (Staff("shenhe", REVIEWER.permissions | {WRITE}), ADMIN):
        with pytest.raises(NotPermitted, match=r"不能.*本人提交的申请"):
            transition(action, Status.PENDING, staff=who, requested_by=who.username)
    assert transition(action, Status.PENDING, staff=ADMIN, requested_by="jingban") in (
        Status.APPROVED,
        Status.REJECTED,
    )


@pytest.mark.parametrize("action", [Action.APPROVE, Action.REJECT])
def test_a_handler_without_the_review_permission_cannot_decide(action):
    with pytest.raises(NotPermitted, match=f"需要 {REVIEW} 权限"):
        transition(action, Status.PENDING, staff=OTHER_HANDLER, requested_by="jingban")


def test_only_the_requester_withdraws():
    with pytest.raises(NotPermitted, match="只有申请人 jingban 可以撤回"):
        transition(Action.WITHDRAW, Status.PENDING, staff=OTHER_HANDLER, requested_by="jingban")
    with pytest.raises(NotPermitted, match=f"需要 {WRITE} 权限"):
        transition(Action.WITHDRAW, Status.PENDING, staff=REVIEWER, requested_by="shenhe")
    assert transition(Action.WITHDRAW, "pending", staff=HANDLER, requested_by="jingban") is Status.WITHDRAWN


def test_who_is_checked_before_the_status():
    """A refusal says the first thing wrong: a requester approving a decided request hears they may not."""
    with pytest.raises(NotPermitted):
        transition(Action.APPROVE, Status.APPROVED, staff=REVIEWER, requested_by="shenhe")


def test_an_unknown_step_is_refused():
    with pytest.raises(ReviewRefused, match="未知的审核操作"):
        transition(Action.SETTLE, Status.PENDING, staff=ADMIN, requested_by="x")


def test_only_a_handler_files():
    review.check_filer(HANDLER)
    with pytest.raises(NotPermitted, match=f"需要 {WRITE} 权限才能申请撤销结算"):
        review.check_filer(REVIEWER)


def test_a_standing_settlement_without_a_waiting_request_may_be_filed():
    check_filing("S1", "0", None, None)
    with pytest.raises(SettlementError, match="已撤销 \\(R1\\)，不能重复撤销"):
        check_filing("S1", "0", "R1", None)
    with pytest.raises(SettlementError, match="是一笔撤销记录，不能再撤销"):
        check_filing("R1", "1", None, None)
    with pytest.raises(ReviewRefused, match="已有待审核的撤销申请 #7"):
        check_filing("S1", "0", None, 7)


def test_a_reason_is_required_trimmed_and_at_most_200_characters():
    assert review.reason("  诊断编码录入错误，重复结算  ") == "诊断编码录入错误，重复结算"
    assert review.reason("多" * 200) == "多" * 200  # 汉字 count one each
    for blank in (None, "", "   \n "):
        with pytest.raises(ReviewRefused, match="reason: 必须填写撤销原因"):
            review.reason(blank)
    with pytest.raises(ReviewRefused, match="reason: 撤销原因最多 200 个字（现 201 个）"):
        review.reason("多" * 201)
    with pytest.raises(ReviewRefused, match="不可显示的字符"):
        review.reason("原因\x00")
    assert review.reason("第一行\n第二行") == "第一行\n第二行"


def test_a_comment_is_required_to_reject_only():
    with pytest.raises(ReviewRefused, match="comment: 必须填写审核意见"):
        review.comment(Action.REJECT, " ")
    assert review.comment(Action.APPROVE, "") is None and review.comment(Action.WITHDRAW, None) is None
    assert review.comment(Action.APPROVE, " 同意 ") == "同意"


def test_the_wait_as_the_queue_shows_it():
    t = datetime(2026, 1, 1, 9, 0)
    assert review.waited(t, t + timedelta(seconds=30)) == "刚刚"
    assert review.waited(t, t + timedelta(minutes=45)) == "45 分钟"
    assert review.waited(t, t + timedelta(hours=2)) == "2 小时"
    assert review.waited(t, t + timedelta(hours=2, minutes=5)) == "2 小时 5 分钟"
    assert review.waited(t, t + timedelta(days=3, hours=2, minutes=9)) == "3 天 2 小时"
    assert review.waited(t, t + timedelta(days=1)) == "1 天"
    assert review.waited(t, t - timedelta(minutes=5)) == "刚刚"  # (a clock set back)


def test_the_rules_touch_no_database():
    """A boundary contract (style 1): the rules import nothing from the store, the API, the console or the
    settings, and no SQL library."""
    imported = set()
    for node in ast.walk(ast.parse(Path(review.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {
        m for m in imported if m.split(".")[:2] in (["yibao", x] for x in ("store", "api", "console"))
    }
    assert "yibao.config" not in imported and "sqlalchemy" not in {m.split(".")[0] for m in imported}
