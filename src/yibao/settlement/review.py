"""Requests awaiting a second person (双人复核): one member of staff files a change with a reason, another
decides it. Pure: the table of transitions and who may make each; the use cases are in
:mod:`yibao.settlement.review_service`.

The first kind is a bureau-initiated settlement reversal (经办机构发起的结算撤销): a settlement found wrong
after the fact is not reversed by the handler (经办) who finds it. They file a request with the reason; a
reviewer (审核) approves it — the reversal is made then, in the same transaction, exactly as a 2208 makes it —
or rejects it; the requester may withdraw it while it waits. Nobody decides their own request (四眼原则): the
rule is here, not only in what a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from yibao.audit_actions import Action
from yibao.errors import InputError, YibaoError
from yibao.settlement.states import reverse_settlement

WRITE, REVIEW = "settlement.write", "settlement.review"  # the permissions (roles.yaml) of 经办 and 审核
REASON_MAX = 200  # characters (汉字 count one each) of a reason or a reviewer's comment


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Kind(StrEnum):
    REVERSAL = "reversal"  # 结算撤销 of a standing settlement


NAMES = {
    Status.PENDING: "待审核",
    Status.APPROVED: "已通过",
    Status.REJECTED: "已驳回",
    Status.WITHDRAWN: "已撤回",
}
KIND_NAMES = {Kind.REVERSAL: "结算撤销"}
REQUESTER, ANOTHER = "requester", "another"  # who may make a step: the requester only, anyone else only


@dataclass(frozen=True)
class Step:
    begins: tuple[Status, ...]  # the statuses it may start from
    leads_to: Status
    permission: str
    who: str  # REQUESTER or ANOTHER
    verb: str  # as a refusal says it


_PENDING = (Status.PENDING,)
# action (also the audit row's) → the step it makes
TRANSITIONS: dict[Action, Step] = {
    Action.APPROVE: Step(_PENDING, Status.APPROVED, REVIEW, ANOTHER, "审核通过"),
    Action.REJECT: Step(_PENDING, Status.REJECTED, REVIEW, ANOTHER, "驳回"),
    Action.WITHDRAW: Step(_PENDING, Status.WITHDRAWN, WRITE, REQUESTER, "撤回"),
}


class ReviewRefused(InputError):
    """A step the table does not allow from the request's status, or a reason that cannot be used."""


class NotPermitted(YibaoError):
    """A step this member of staff may not make: their own request, someone else's, or a missing permission."""


@dataclass(frozen=True)
class Staff:
    """Who acts: a username and the permissions of their roles (``*`` = all)."""

    username: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


def name(status: str) -> str:
    return NAMES.get(status, status)  # (a StrEnum key matches its string)


def check_filer(staff: Staff) -> None:
    """Only a handler (settlement.write) files a request."""
    if not staff.may(WRITE):
        raise NotPermitted(f"permission: 需要 {WRITE} 权限才能申请撤销结算")


def check_filing(
    setl_id: str, refd_setl_flag: str, reversed_by: str | None, open_request: int | None
) -> None:
    """A settlement a reversal may be requested for: a standing one (not a reversal, not reversed) without a
    request already waiting."""
    reverse_settlement(setl_id, refd_setl_flag, reversed_by)  # (the settlement's own table says why not)
    if open_request is not None:
        raise ReviewRefused(f"setl_id: 结算 {setl_id} 已有待审核的撤销申请 #{open_request}，不能重复申请")


def transition(action: Action, status: str, *, staff: Staff, requested_by: str) -> Status:
    """The request's status after ``staff`` makes ``action`` on it, or why they may not: the permission, who
    they are (never the requester for a decision; only the requester for a withdrawal), then the status."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise ReviewRefused(f"action: 未知的审核操作 {action} ({', '.join(TRANSITIONS)})")
    if not staff.may(step.permission):
        raise NotPermitted(f"permission: 需要 {step.permission} 权限才能{step.verb}")
    if step.who == ANOTHER and staff.username == requested_by:
        raise NotPermitted(f"reviewer: 不能{step.verb}本人提交的申请，须由另一位审核人员办理 (four eyes)")
    if step.who == REQUESTER and staff.username != requested_by:
        raise NotPermitted(f"requester: 只有申请人 {requested_by} 可以{step.verb}申请")
    if status not in step.begins:
        raise ReviewRefused(f"status: 申请{name(status)}，不能{step.verb}")
    return step.leads_to


def text(value: str | None, field: str, label: str, *, required: bool = True) -> str | None:
    """A reason or a comment as stored: trimmed, at most :data:`REASON_MAX` characters, nothing unprintable
    but line breaks; empty is refused when ``required`` (else None)."""
    t = (value or "").strip()
    if not t:
        if required:
            raise ReviewRefused(f"{field}: 必须填写{label}")
        return None
    if len(t) > REASON_MAX:
        raise ReviewRefused(f"{field}: {label}最多 {REASON_MAX} 个字（现 {len(t)} 个）")
    if any(not (c.isprintable() or c in "\n\r\t") for c in t):
        raise ReviewRefused(f"{field}: {label}含不可显示的字符")
    return t


def reason(value: str | None) -> str:
    """撤销原因: required."""
    return text(value, "reason", "撤销原因")  # type: ignore[return-value]


def comment(action: Action, value: str | None) -> str | None:
    """审核意见: required to reject (the requester is told why), optional to approve or withdraw."""
    return text(
        value,
        "comment",
        "审核意见" if action != Action.WITHDRAW else "撤回说明",
        required=action == Action.REJECT,
    )


def waited(since: datetime, now: datetime) -> str:
    """How long a request has waited, as the queue shows it: ``3 天 2 小时``, ``45 分钟``, ``刚刚``."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分钟" if mins else f"{hours} 小时"
    return f"{mins} 分钟" if mins else "刚刚"
