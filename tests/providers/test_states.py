"""The application and agreement state machines: every transition the tables allow, and every other pair
refused with the current status named."""

from __future__ import annotations

import itertools

import pytest

from yibao.errors import InputError
from yibao.providers.states import (
    AGREEMENT_TRANSITIONS,
    APPLICATION_TRANSITIONS,
    AgreementAction,
    AgreementStatus,
    ApplicationAction,
    ApplicationKind,
    ApplicationStatus,
    TransitionRefused,
    application_transition,
    name,
    transition,
)

S, A = ApplicationStatus, ApplicationAction
G, V = AgreementStatus, AgreementAction

APPLICATION_EXPECTED = {
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.REFUSE): S.REFUSED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.REQUEST_SUPPLEMENT): S.SUPPLEMENTING,
    (S.ACCEPTED, A.START_EVALUATION): S.EVALUATING,
    (S.ACCEPTED, A.APPROVE): S.PASSED,
    (S.ACCEPTED, A.REJECT): S.FAILED,
    (S.ACCEPTED, A.WITHDRAW): S.WITHDRAWN,
    (S.SUPPLEMENTING, A.SUPPLEMENT): S.ACCEPTED,
    (S.SUPPLEMENTING, A.WITHDRAW): S.WITHDRAWN,
    (S.EVALUATING, A.REQUEST_SUPPLEMENT): S.SUPPLEMENTING,
    (S.EVALUATING, A.PASS): S.PASSED,
    (S.EVALUATING, A.FAIL): S.FAILED,
    (S.EVALUATING, A.WITHDRAW): S.WITHDRAWN,
    (S.PASSED, A.SIGN): S.SIGNED,
    (S.PASSED, A.WITHDRAW): S.WITHDRAWN,
}
AGREEMENT_EXPECTED = {
    (G.ACTIVE, V.SUSPEND): G.SUSPENDED,
    (G.ACTIVE, V.TERMINATE): G.TERMINATED,
    (G.ACTIVE, V.EXPIRE): G.EXPIRED,
    (G.ACTIVE, V.RENEW): G.ACTIVE,
    (G.ACTIVE, V.CHANGE): G.ACTIVE,
    (G.SUSPENDED, V.RESUME): G.ACTIVE,
    (G.SUSPENDED, V.TERMINATE): G.TERMINATED,
    (G.SUSPENDED, V.EXPIRE): G.EXPIRED,
}


def test_the_tables_are_as_designed():
    assert APPLICATION_TRANSITIONS == APPLICATION_EXPECTED
    assert AGREEMENT_TRANSITIONS == AGREEMENT_EXPECTED


def test_status_values_are_the_contracts():
    assert [s.value for s in S] == [
        "submitted", "accepted", "refused", "supplementing", "evaluating", "passed", "failed", "signed", "withdrawn"
    ]  # fmt: skip
    assert [s.value for s in G] == ["active", "suspended", "terminated", "expired"]
    assert [name(s) for s in G] == ["正常", "中止", "解除", "到期终止"]
    assert name(S.SUPPLEMENTING) == "补充材料中" and name("nonsense") == "nonsense"


@pytest.mark.parametrize(("start", "action"), list(APPLICATION_EXPECTED))
def test_every_application_transition_allowed(start, action):
    assert transition(APPLICATION_TRANSITIONS, start, action) == APPLICATION_EXPECTED[(start, action)]
    assert (
        transition(APPLICATION_TRANSITIONS, start.value, action.value)
        == APPLICATION_EXPECTED[(start, action)]
    )


@pytest.mark.parametrize(("start", "action"), list(AGREEMENT_EXPECTED))
def test_every_agreement_transition_allowed(start, action):
    assert transition(AGREEMENT_TRANSITIONS, start.value, action.value) == AGREEMENT_EXPECTED[(start, action)]


@pytest.mark.parametrize(
    ("start", "action"), [p for p in itertools.product(S, A) if p not in APPLICATION_EXPECTED]
)
def test_every_other_application_pair_refused(start, action):
    with pytest.raises(TransitionRefused, match=f"^status: 状态为 {name(start)} 时不能 "):
        transition(APPLICATION_TRANSITIONS, start, action)


@pytest.mark.parametrize(
    ("start", "action"), [p for p in itertools.product(G, V) if p not in AGREEMENT_EXPECTED]
)
def test_every_other_agreement_pair_refused(start, action):
    with pytest.raises(TransitionRefused, match=f"^status: 状态为 {name(start)} 时不能 "):
        transition(AGREEMENT_TRANSITIONS, start, action)


def test_refusal_messages():
    with pytest.raises(InputError) as caught:
        transition(APPLICATION_TRANSITIONS, "submitted", "sign")
    assert caught.value.message == "status: 状态为 已提交 时不能 签约（可办理：受理、不予受理、撤回）"
    with pytest.raises(InputError) as caught:
        transition(AGREEMENT_TRANSITIONS, "terminated", "resume")
    assert caught.value.message == "status: 状态为 解除 时不能 恢复（已办结）"
    with pytest.raises(InputError, match=r"^action: 未知的操作 fly"):
        transition(AGREEMENT_TRANSITIONS, "active", "fly")
    # an application's action on an agreement
    with pytest.raises(InputError, match=r"^action: 未知的操作 sign"):
        transition(AGREEMENT_TRANSITIONS, "active", "sign")


def test_the_happy_paths():
    status = S.SUBMITTED
    for action in (
        "accept",
        "start_evaluation",
        "request_supplement",
        "supplement",
        "start_evaluation",
        "pass",
        "sign",
    ):
        status = application_transition("apply", status, action)
    assert status == S.SIGNED
    status = S.SUBMITTED
    for action in ("accept", "approve", "sign"):
        status = application_transition("suspend", status, action)
    assert status == S.SIGNED
    status = G.ACTIVE
    for action in ("suspend", "resume", "renew", "change", "suspend", "terminate"):
        status = transition(AGREEMENT_TRANSITIONS, status, action)
    assert status == G.TERMINATED


@pytest.mark.parametrize("kind", [k for k in ApplicationKind if k != ApplicationKind.APPLY])
def test_only_a_new_application_goes_before_a_panel(kind):
    for action in ("start_evaluation", "pass", "fail"):
        with pytest.raises(TransitionRefused, match=r"^kind: .*不经专家评估"):
            application_transition(kind, "accepted", action)
    assert application_transition(kind, "accepted", "approve") == S.PASSED
    assert application_transition(kind, "accepted", "reject") == S.FAILED


def test_a_new_application_is_not_approved_without_a_panel():
    for action in ("approve", "reject"):
        with pytest.raises(TransitionRefused, match=r"^kind: 申请定点须经专家评估"):
            application_transition("apply", "accepted", action)
    with pytest.raises(TransitionRefused, match=r"^kind: 未知的申请类型 move"):
        application_transition("move", "accepted", "accept")


def test_application_transition_still_checks_the_table():
    with pytest.raises(TransitionRefused, match=r"^status: 状态为 评估未通过 时不能 签约"):
        application_transition("apply", "failed", "sign")
