"""The suspicion workflow's table (疑点处理, supervision.md §2.2) as data: every allowed step leads where the
documented table says, by whom; everything else is refused with a Chinese message naming the field; a 可疑
finding goes to notice only once confirmed; the four-eyes rules; and the small rules of a step (deadline,
amount, month, files)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from yibao.audit_actions import Action
from yibao.supervision import suspicion_states as st
from yibao.supervision.suspicion_states import (
    SYSTEM,
    Facts,
    NotPermitted,
    Staff,
    Status,
    SuspicionRefused,
)

S = Status
REVIEWER = Staff("sh1", frozenset({st.READ, st.REVIEW}))
SECOND = Staff("sh2", frozenset({st.READ, st.REVIEW}))
HANDLER = Staff("jb", frozenset({st.RESPOND}))
ADMIN = Staff("admin", frozenset({"*"}))

# (from, action) → to, who: the table of docs/supervision-workflow.md, written out by hand
DOCUMENTED = {
    (S.OPEN, Action.CONFIRM): (S.CONFIRMED, st.REVIEW),
    (S.OPEN, Action.NOTIFY): (S.NOTIFIED, st.REVIEW),  # 违规 only
    (S.CONFIRMED, Action.NOTIFY): (S.NOTIFIED, st.REVIEW),
    (S.OPEN, Action.DISMISS): (S.DISMISSED, st.REVIEW),
    (S.CONFIRMED, Action.DISMISS): (S.DISMISSED, st.REVIEW),
    (S.NOTIFIED, Action.ACCEPT): (S.ACCEPTED, st.RESPOND),
    (S.NOTIFIED, Action.APPEAL): (S.APPEALED, st.RESPOND),
    (S.NOTIFIED, Action.EXPIRE): (S.OVERDUE, st.AUTO),
    (S.ACCEPTED, Action.UPHOLD): (S.UPHELD, st.AUTO),
    (S.APPEALED, Action.UPHOLD): (S.UPHELD, st.REVIEW),
    (S.APPEALED, Action.DISMISS): (S.DISMISSED, st.REVIEW),
    (S.OVERDUE, Action.UPHOLD): (S.UPHELD, st.REVIEW),
    (S.OVERDUE, Action.DISMISS): (S.DISMISSED, st.REVIEW),
    (S.UPHELD, Action.DEDUCT): (S.DEDUCTED, st.REVIEW),
}
ACTIONS = list(st.VERBS)


def test_the_table_is_the_documented_one():
    assert {k: (e.leads_to, e.permission) for k, e in st.TRANSITIONS.items()} == DOCUMENTED
    assert set(st.NAMES) == set(Status)  # every status has its Chinese name
    assert frozenset({"违规"}) == st.DIRECT_NOTICE


def _actor(permission: str) -> Staff:
    return {st.REVIEW: REVIEWER, st.RESPOND: HANDLER, st.AUTO: SYSTEM}[permission]


@pytest.mark.parametrize(("begins", "action"), list(DOCUMENTED))
def test_every_allowed_step_leads_where_the_table_says(begins, action):
    to, permission = DOCUMENTED[(begins, action)]
    facts = Facts(begins, "违规", notified_by="someone", responded_by="another")
    assert st.transition(action, facts, staff=_actor(permission)) == to


@pytest.mark.parametrize("status", list(Status))
def test_every_step_the_table_lacks_is_refused_by_status(status):
    for action in ACTIONS:
        if (status, action) in DOCUMENTED:
            continue
        with pytest.raises(SuspicionRefused) as exc:
            st.transition(action, Facts(status, "违规"), staff=ADMIN)
        assert exc.value.message == f"status: 疑点{st.name(status)}，不能{st.VERBS[action]}"


def test_some_refusals_read_as_a_reviewer_would_expect():
    def refused(action, status):
        with pytest.raises(SuspicionRefused) as exc:
            st.transition(action, Facts(status, "违规"), staff=ADMIN)
        return exc.value.message

    assert refused(Action.ACCEPT, S.OPEN) == "status: 疑点初审待办，不能认可"
    assert refused(Action.UPHOLD, S.NOTIFIED) == "status: 疑点已告知机构，不能维持"
    assert refused(Action.DEDUCT, S.DEDUCTED) == "status: 疑点已扣款，不能扣款"  # never twice
    assert refused(Action.DEDUCT, S.DISMISSED) == "status: 疑点已排除，不能扣款"
    assert refused(Action.APPEAL, S.OVERDUE) == "status: 疑点逾期未答复，不能申诉"
    assert refused(Action.NOTIFY, S.NOTIFIED) == "status: 疑点已告知机构，不能告知机构"
    with pytest.raises(SuspicionRefused, match="未知的疑点操作"):
        st.transition(Action.APPROVE, Facts(S.OPEN, "违规"), staff=ADMIN)
    with pytest.raises(SuspicionRefused, match="不能初审确认"):
        st.transition(Action.CONFIRM, Facts("archived", "违规"), staff=ADMIN)  # a status it does not know


def test_a_suspect_finding_needs_confirmation_before_notice():
    """§2.2: 违规 may go straight to notice, 可疑 may not — as data (DIRECT_NOTICE)."""
    with pytest.raises(SuspicionRefused) as exc:
        st.transition(Action.NOTIFY, Facts(S.OPEN, "可疑"), staff=REVIEWER)
    assert exc.value.message.startswith("status: 可疑疑点须经初审确认后方可告知机构")
    assert st.transition(Action.CONFIRM, Facts(S.OPEN, "可疑"), staff=REVIEWER) == S.CONFIRMED
    assert st.transition(Action.NOTIFY, Facts(S.CONFIRMED, "可疑"), staff=REVIEWER) == S.NOTIFIED
    assert st.transition(Action.NOTIFY, Facts(S.OPEN, "违规"), staff=REVIEWER) == S.NOTIFIED


def test_permissions_and_four_eyes():
    def no(action, facts, staff) -> str:
        with pytest.raises(NotPermitted) as exc:
            st.transition(action, facts, staff=staff)
        return exc.value.message

    notified = Facts(S.NOTIFIED, "违规", notified_by="sh1")
    appealed = Facts(S.APPEALED, "违规", notified_by="sh1", responded_by="jb")
    assert (
        no(Action.NOTIFY, Facts(S.OPEN, "违规"), HANDLER)
        == "permission: 需要 supervision.write 权限才能告知机构"
    )
    assert no(Action.ACCEPT, notified, REVIEWER) == "permission: 需要 settlement.write 权限才能代机构认可"
    both = Staff("sh1", frozenset({st.REVIEW, st.RESPOND}))  # who notified may not answer for the institution
    assert "是该疑点告知机构的审核人员，不能代机构申诉" in no(Action.APPEAL, notified, both)
    assert st.transition(Action.APPEAL, notified, staff=Staff("jb", frozenset({st.RESPOND}))) == S.APPEALED
    # 复审 is a second reviewer's: neither the notifier nor who recorded the appeal
    assert "告知机构的审核人员，不能复核维持" in no(Action.UPHOLD, appealed, REVIEWER)
    jb_reviewing = Staff("jb", frozenset({st.REVIEW}))
    assert "代机构答复的经办人员，不能复核撤销" in no(Action.DISMISS, appealed, jb_reviewing)
    assert st.transition(Action.UPHOLD, appealed, staff=SECOND) == S.UPHELD
    assert "不能逾期维持" in no(Action.UPHOLD, Facts(S.OVERDUE, "违规", notified_by="sh1"), REVIEWER)
    # the system's steps are nobody else's, not even an administrator's
    assert no(Action.EXPIRE, notified, ADMIN) == "permission: 逾期由系统自动办理，不能手工操作"
    assert (
        no(Action.UPHOLD, Facts(S.ACCEPTED, "违规"), ADMIN)
        == "permission: 认可即维持由系统自动办理，不能手工操作"
    )
    # and the system takes no one's judgement
    with pytest.raises(NotPermitted):
        st.transition(Action.UPHOLD, appealed, staff=SYSTEM)


def test_reasons_where_the_table_asks_for_them():
    assert st.reason(Action.DISMISS, S.OPEN, "  重复数据  ") == "重复数据"
    with pytest.raises(SuspicionRefused, match="reason: 必须填写理由"):
        st.reason(Action.DISMISS, S.OPEN, " ")
    with pytest.raises(SuspicionRefused, match="reason: 必须填写申诉理由"):
        st.reason(Action.APPEAL, S.NOTIFIED, None)
    with pytest.raises(SuspicionRefused, match="reason: 必须填写理由"):
        st.reason(Action.UPHOLD, S.APPEALED, "")  # the institution is told why its appeal failed
    assert st.reason(Action.UPHOLD, S.OVERDUE, "") is None
    assert st.reason(Action.ACCEPT, S.NOTIFIED, None) is None
    with pytest.raises(SuspicionRefused, match="最多 2000 个字"):
        st.reason(Action.APPEAL, S.NOTIFIED, "长" * 2001)
    with pytest.raises(SuspicionRefused, match="不可显示"):
        st.reason(Action.APPEAL, S.NOTIFIED, "a\x00b")
    assert st.decision("uphold") == Action.UPHOLD and st.decision(" dismiss ") == Action.DISMISS
    with pytest.raises(
        SuspicionRefused, match='decision: 应为 uphold（维持）或 dismiss（排除/撤销），不是 "approve"'
    ):
        st.decision("approve")


def test_deadline_amount_and_month():
    settings = st.SuspicionSettings(appeal_days=15)
    due = st.due_date(date(2025, 3, 20), settings)
    assert due == date(2025, 4, 4)
    st.check_in_time(due, date(2025, 4, 4))  # the due date itself is in time
    with pytest.raises(SuspicionRefused, match="答复期限 2025-04-04 已过"):
        st.check_in_time(due, date(2025, 4, 5))
    assert not st.is_lapsed(S.NOTIFIED, due, date(2025, 4, 4))
    assert st.is_lapsed(S.NOTIFIED, due, date(2025, 4, 5))
    assert not st.is_lapsed(S.APPEALED, due, date(2025, 4, 5))  # answered: not lapsed
    assert st.SuspicionSettings().appeal_days == st.DEFAULT_APPEAL_DAYS == 15

    assert st.upheld_amount(None, 12_345) == 12_345  # the whole vola_amt by default
    assert st.upheld_amount("100.50", 12_345) == 10_050
    for bad, why in (("123.46", "超过疑点金额 123.45 元"), ("0", "须大于 0"), ("1.234", "维持金额无效")):
        with pytest.raises(SuspicionRefused, match=why):
            st.upheld_amount(bad, 12_345)
    with pytest.raises(SuspicionRefused, match="只有维持时才能给出金额"):
        st.check_amount_given(Action.DISMISS, "1.00")
    with pytest.raises(SuspicionRefused, match="维持金额为 0，无需扣款"):
        st.check_deductible(0)

    assert st.month(" 2025-03 ") == "2025-03"
    for bad in ("2025-13", "2025-3", "25-03", "", "2025-03-01"):
        with pytest.raises(SuspicionRefused, match="month: 扣款月份应为 YYYY-MM"):
            st.month(bad)
    assert st.month_after(2025, 3) == "2025-04" and st.month_after(2025, 12) == "2026-01"


PDF = b"%PDF-1.7\n" + b"x" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def test_appeal_files_are_checked_by_type_content_size_and_count(monkeypatch):
    a = st.attachment("C:\\申诉\\病历摘要.PDF", PDF)
    assert (a.filename, a.content_type, a.size) == ("病历摘要.PDF", "application/pdf", len(PDF))
    assert a.sha256 == hashlib.sha256(PDF).hexdigest()
    assert st.attachment("../../etc/照片.png", PNG).filename == "照片.png"  # no path survives
    assert st.attachment("x.ofd", b"PK\x03\x04rest").content_type == "application/ofd"
    for name, data, why in (
        ("run.exe", b"MZ", "不接受的附件类型"),
        ("noext", PDF, "不接受的附件类型"),
        ("fake.pdf", b"MZ\x90\x00", "的内容不是 pdf 文件"),
        ("empty.pdf", b"", "是空文件"),
        ("", PDF, "附件须有文件名"),
        ("a\x00.pdf", PDF, "不可显示"),
        ("长" * 201 + ".pdf", PDF, "文件名最多 200 个字符"),
    ):
        with pytest.raises(SuspicionRefused, match=why):
            st.attachment(name, data)
    monkeypatch.setattr(st, "MAX_BYTES", 50)
    with pytest.raises(SuspicionRefused, match="超过单个文件上限"):
        st.attachment("big.pdf", PDF)
    monkeypatch.setattr(st, "MAX_BYTES", 10_000)
    monkeypatch.setattr(st, "MAX_TOTAL", 150)
    with pytest.raises(SuspicionRefused, match=r"附件合计 .* 超过上限"):
        st.attachments([("a.pdf", PDF), ("b.pdf", PDF)])
    with pytest.raises(SuspicionRefused, match="附件最多 10 个（现 11 个）"):
        st.attachments([("a.png", PNG)] * 11)
    assert [x.filename for x in st.attachments([("a.png", PNG)])] == ["a.png"]
