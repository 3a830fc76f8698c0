"""The two state machines of agreement management, as tables: an application (申请, of any kind) and an
agreement (医保服务协议). :func:`transition` is the only way a status changes; the use cases in
:mod:`yibao.providers.service` call it and write the audit row.

An application (Chengdu's online services: apply 申请定点, change 基本信息变更, suspend 申请中止, terminate 申请解除,
renew 续签; "query progress" is a read) is submitted, then accepted (受理) or refused (不予受理) at once. While
materials are being supplemented (补充材料) the evaluation clock stops; the application returns to accepted when
they arrive. An ``apply`` is evaluated by a panel (评估) and passes or fails; the other kinds are reviewed by
the agency without a panel (``approve`` / ``reject``). A passed application is signed (签约: the agreement or
its change takes effect). The applicant may withdraw until then.

An agreement is active (正常), suspended (中止, until a date; it resumes), terminated (解除, with a bar on
re-applying) or expired (到期终止). A renewal or a change of its services keeps it active.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from yibao.errors import InputError


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    SUPPLEMENTING = "supplementing"
    EVALUATING = "evaluating"
    PASSED = "passed"
    FAILED = "failed"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class ApplicationKind(StrEnum):
    APPLY = "apply"
    CHANGE = "change"
    SUSPEND = "suspend"
    TERMINATE = "terminate"
    RENEW = "renew"


class ApplicationAction(StrEnum):
    ACCEPT = "accept"  # 受理
    REFUSE = "refuse"  # 不予受理
    REQUEST_SUPPLEMENT = "request_supplement"  # 通知补充材料: the clock stops
    SUPPLEMENT = "supplement"  # 材料补齐: the clock runs again
    START_EVALUATION = "start_evaluation"  # 组织评估 (apply only)
    PASS = "pass"  # 评估通过
    FAIL = "fail"  # 评估未通过
    APPROVE = "approve"  # 审核同意 (kinds without a panel)
    REJECT = "reject"  # 审核不同意
    SIGN = "sign"  # 签约 / 办结
    WITHDRAW = "withdraw"  # 撤回


class AgreementAction(StrEnum):
    SUSPEND = "suspend"  # 中止
    RESUME = "resume"  # 恢复
    TERMINATE = "terminate"  # 解除
    EXPIRE = "expire"  # 到期终止
    RENEW = "renew"  # 续签
    CHANGE = "change"  # 变更（服务类别、基本信息）


APPLICATION_NAMES = {
    ApplicationStatus.SUBMITTED: "已提交",
    ApplicationStatus.ACCEPTED: "已受理",
    ApplicationStatus.REFUSED: "不予受理",
    ApplicationStatus.SUPPLEMENTING: "补充材料中",
    ApplicationStatus.EVALUATING: "评估中",
    ApplicationStatus.PASSED: "评估通过",
    ApplicationStatus.FAILED: "评估未通过",
    ApplicationStatus.SIGNED: "已签约",
    ApplicationStatus.WITHDRAWN: "已撤回",
}
AGREEMENT_NAMES = {
    AgreementStatus.ACTIVE: "正常",
    AgreementStatus.SUSPENDED: "中止",
    AgreementStatus.TERMINATED: "解除",
    AgreementStatus.EXPIRED: "到期终止",
}
KIND_NAMES = {
    ApplicationKind.APPLY: "申请定点",
    ApplicationKind.CHANGE: "基本信息变更",
    ApplicationKind.SUSPEND: "申请中止协议",
    ApplicationKind.TERMINATE: "申请解除协议",
    ApplicationKind.RENEW: "续签协议",
}
VERBS: dict[str, str] = {
    ApplicationAction.ACCEPT: "受理",
    ApplicationAction.REFUSE: "不予受理",
    ApplicationAction.REQUEST_SUPPLEMENT: "通知补充材料",
    ApplicationAction.SUPPLEMENT: "补齐材料",
    ApplicationAction.START_EVALUATION: "组织评估",
    ApplicationAction.PASS: "评估通过",
    ApplicationAction.FAIL: "评估不通过",
    ApplicationAction.APPROVE: "审核同意",
    ApplicationAction.REJECT: "审核不同意",
    ApplicationAction.SIGN: "签约",
    ApplicationAction.WITHDRAW: "撤回",
    AgreementAction.SUSPEND: "中止",
    AgreementAction.RESUME: "恢复",
    AgreementAction.TERMINATE: "解除",
    AgreementAction.EXPIRE: "到期终止",
    AgreementAction.RENEW: "续签",
    AgreementAction.CHANGE: "变更",
}  # (suspend and terminate are the same strings in both enums: one verb each)

_S, _A = ApplicationStatus, ApplicationAction
APPLICATION_TRANSITIONS: dict[tuple[ApplicationStatus, ApplicationAction], ApplicationStatus] = {
    (_S.SUBMITTED, _A.ACCEPT): _S.ACCEPTED,
    (_S.SUBMITTED, _A.REFUSE): _S.REFUSED,
    (_S.SUBMITTED, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.ACCEPTED, _A.REQUEST_SUPPLEMENT): _S.SUPPLEMENTING,
    (_S.ACCEPTED, _A.START_EVALUATION): _S.EVALUATING,
    (_S.ACCEPTED, _A.APPROVE): _S.PASSED,
    (_S.ACCEPTED, _A.REJECT): _S.FAILED,
    (_S.ACCEPTED, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.SUPPLEMENTING, _A.SUPPLEMENT): _S.ACCEPTED,
    (_S.SUPPLEMENTING, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.EVALUATING, _A.REQUEST_SUPPLEMENT): _S.SUPPLEMENTING,
    (_S.EVALUATING, _A.PASS): _S.PASSED,
    (_S.EVALUATING, _A.FAIL): _S.FAILED,
    (_S.EVALUATING, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.PASSED, _A.SIGN): _S.SIGNED,
    (_S.PASSED, _A.WITHDRAW): _S.WITHDRAWN,
}
_G, _V = AgreementStatus, AgreementAction
AGREEMENT_TRANSITIONS: dict[tuple[AgreementStatus, AgreementAction], AgreementStatus] = {
    (_G.ACTIVE, _V.SUSPEND): _G.SUSPENDED,
    (_G.ACTIVE, _V.TERMINATE): _G.TERMINATED,
    (_G.ACTIVE, _V.EXPIRE): _G.EXPIRED,
    (_G.ACTIVE, _V.RENEW): _G.ACTIVE,
    (_G.ACTIVE, _V.CHANGE): _G.ACTIVE,
    (_G.SUSPENDED, _V.RESUME): _G.ACTIVE,
    (_G.SUSPENDED, _V.TERMINATE): _G.TERMINATED,
    (_G.SUSPENDED, _V.EXPIRE): _G.EXPIRED,
}
EVALUATED_KINDS = frozenset({ApplicationKind.APPLY})
"""Kinds evaluated by a panel (start_evaluation, pass, fail); the others are approved or rejected."""
_PANEL = frozenset({_A.START_EVALUATION, _A.PASS, _A.FAIL})
_REVIEW = frozenset({_A.APPROVE, _A.REJECT})
_ALL_NAMES: dict[str, str] = {**APPLICATION_NAMES, **AGREEMENT_NAMES}


class TransitionRefused(InputError):
    """A change of status the table does not allow."""


def name(status: str) -> str:
    """The Chinese name of an application or agreement status (the code itself if unknown)."""
    return _ALL_NAMES.get(status, status)


def transition(table: Mapping[tuple[str, str], str], status: str, action: str) -> str:
    """The status after ``action`` from ``status`` in ``table`` (:data:`APPLICATION_TRANSITIONS` or
    :data:`AGREEMENT_TRANSITIONS`), or a refusal naming the current status and what it may do."""
    actions = {a for _, a in table}
    if action not in actions:
        raise TransitionRefused(
            f"action: 未知的操作 {action} (unknown action; known: {', '.join(sorted(actions))})"
        )
    target = table.get((status, action))
    if target is None:
        allowed = [VERBS.get(a, a) for (s, a) in table if s == status]
        hint = f"（可办理：{'、'.join(allowed)}）" if allowed else "（已办结）"
        raise TransitionRefused(f"status: 状态为 {name(status)} 时不能 {VERBS.get(action, action)}{hint}")
    return target


def application_transition(kind: str, status: str, action: str) -> str:
    """:func:`transition` over :data:`APPLICATION_TRANSITIONS` for an application of ``kind``: only an
    ``apply`` goes before a panel; the other kinds are approved or rejected by the agency."""
    try:
        k = ApplicationKind(kind)
    except ValueError:
        raise TransitionRefused(
            f"kind: 未知的申请类型 {kind} (unknown kind; known: {', '.join(ApplicationKind)})"
        ) from None
    if action in _PANEL and k not in EVALUATED_KINDS:
        raise TransitionRefused(f"kind: {KIND_NAMES[k]}不经专家评估，不能 {VERBS[action]}（由经办机构审核）")
    if action in _REVIEW and k in EVALUATED_KINDS:
        raise TransitionRefused(f"kind: {KIND_NAMES[k]}须经专家评估，不能直接 {VERBS[action]}")
    return transition(APPLICATION_TRANSITIONS, status, action)  # type: ignore[arg-type]
