"""疑点处理 (suspicion workflow, supervision.md §2.2): the statuses of a suspicion, the table of what may change
them and who may, and the small rules each step applies (the answer's deadline, the appeal's files, the
upheld amount, the deduction month). Pure; the use cases over the store are
:mod:`yibao.supervision.service.suspicions`.

A batch run writes a suspicion ``open`` (初审待办). A reviewer (稽核, ``supervision.write``) confirms it at 初审
(``confirmed``) or dismisses it (``dismissed`` 初审排除, with a reason); a 违规 finding may go straight to the
institution, a 可疑 one only once confirmed (:data:`DIRECT_NOTICE`, §2.2). Notifying it (``notified`` 已告知机构)
sets the answer's due date (notice date + the region's ``appeal_days``). The institution — through a handler
(经办, ``settlement.write``) who records its answer, as a 特例单议 request is filed for a hospital — accepts it
(``accepted`` 机构认可) or appeals with a reason and files (``appealed`` 机构申诉) by the due date; after it, the
answer is refused and the suspicion goes ``overdue`` (逾期未答复). An acceptance is upheld at once by the
system (``upheld`` 复核维持, the whole ``vola_amt``: the institution admits it, there is nothing left to
review); an appeal or an overdue one is decided by a reviewer: upheld (possibly for less than ``vola_amt``)
or dismissed (复核撤销). An upheld amount is deducted from the institution's next payment (``deducted``
已扣款): the ledger entry is posted in the same transaction.

Separation of duties (四眼原则), as data in the table (:attr:`Edge.not_by`): the reviewer who notified a
suspicion does not record the institution's answer to it, and neither they nor the handler who recorded the
appeal decide it (复审 is a second reviewer's). Every step writes one audit row.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from yibao.audit_actions import Action
from yibao.errors import InputError, quote
from yibao.money import AmountError, Fen, fmt_yuan, parse_amount
from yibao.settlement.review import NotPermitted, Staff

__all__ = ["NotPermitted", "Staff"]

# the permissions (roles.yaml): 稽核 reviews and decides, 经办 records the institution's answer
READ, REVIEW, RESPOND = "supervision.read", "supervision.write", "settlement.write"
AUTO = "auto"  # a step the system makes itself (never a role's): the upholding of an acceptance, the lapse
SYSTEM = Staff("system", frozenset({AUTO}))
REASON_MAX = 2000  # characters of an appeal's reason, a decision's or a dismissal's
DEFAULT_APPEAL_DAYS = 15  # typical; each region sets its own (region.yaml ``supervision: appeal_days``)


class Status(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    NOTIFIED = "notified"
    ACCEPTED = "accepted"
    APPEALED = "appealed"
    OVERDUE = "overdue"
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    DEDUCTED = "deducted"


NAMES = {
    Status.OPEN: "初审待办",
    Status.CONFIRMED: "初审确认",
    Status.NOTIFIED: "已告知机构",
    Status.ACCEPTED: "机构认可",
    Status.APPEALED: "机构申诉",
    Status.OVERDUE: "逾期未答复",
    Status.UPHELD: "复核维持",
    Status.DISMISSED: "已排除",
    Status.DEDUCTED: "已扣款",
}
DIRECT_NOTICE = frozenset({"违规"})
"""Result types that may be notified without a reviewer's confirmation at 初审 (supervision.md §2.2: 违规
findings may go straight to notice, 可疑 ones may not)."""
ANSWERING = (Status.NOTIFIED,)
"""The statuses in which the institution may still answer (before the due date)."""


@dataclass(frozen=True)
class Edge:
    """One allowed step: where it leads, the permission it needs, the verb a refusal uses, the result types it
    is open to (None: all), the workflow fields naming who may not take it, and whether a reason is needed."""

    leads_to: Status
    permission: str
    verb: str
    result_types: frozenset[str] | None = None
    not_by: tuple[str, ...] = ()
    reason_required: bool = False


_SECOND = ("notified_by", "responded_by")  # 复审: neither the notifier nor who recorded the answer
# (status, action) → the step; action is also the audit row's
TRANSITIONS: dict[tuple[Status, Action], Edge] = {
    (Status.OPEN, Action.CONFIRM): Edge(Status.CONFIRMED, REVIEW, "初审确认"),
    (Status.OPEN, Action.NOTIFY): Edge(Status.NOTIFIED, REVIEW, "告知机构", result_types=DIRECT_NOTICE),
    (Status.CONFIRMED, Action.NOTIFY): Edge(Status.NOTIFIED, REVIEW, "告知机构"),
    (Status.OPEN, Action.DISMISS): Edge(Status.DISMISSED, REVIEW, "初审排除", reason_required=True),
    (Status.CONFIRMED, Action.DISMISS): Edge(Status.DISMISSED, REVIEW, "初审排除", reason_required=True),
    (Status.NOTIFIED, Action.ACCEPT): Edge(Status.ACCEPTED, RESPOND, "代机构认可", not_by=("notified_by",)),
    (Status.NOTIFIED, Action.APPEAL): Edge(
        Status.APPEALED, RESPOND, "代机构申诉", not_by=("notified_by",), reason_required=True
    ),
    (Status.NOTIFIED, Action.EXPIRE): Edge(Status.OVERDUE, AUTO, "逾期"),
    (Status.ACCEPTED, Action.UPHOLD): Edge(Status.UPHELD, AUTO, "认可即维持"),
    (Status.APPEALED, Action.UPHOLD): Edge(
        Status.UPHELD, REVIEW, "复核维持", not_by=_SECOND, reason_required=True
    ),
    (Status.APPEALED, Action.DISMISS): Edge(
        Status.DISMISSED, REVIEW, "复核撤销", not_by=_SECOND, reason_required=True
    ),
    (Status.OVERDUE, Action.UPHOLD): Edge(Status.UPHELD, REVIEW, "逾期维持", not_by=("notified_by",)),
    (Status.OVERDUE, Action.DISMISS): Edge(
        Status.DISMISSED, REVIEW, "复核撤销", not_by=("notified_by",), reason_required=True
    ),
    (Status.UPHELD, Action.DEDUCT): Edge(Status.DEDUCTED, REVIEW, "扣款"),
}
VERBS = {
    Action.CONFIRM: "初审确认",
    Action.NOTIFY: "告知机构",
    Action.ACCEPT: "认可",
    Action.APPEAL: "申诉",
    Action.EXPIRE: "置为逾期",
    Action.UPHOLD: "维持",
    Action.DISMISS: "排除/撤销",
    Action.DEDUCT: "扣款",
}
ROLES = {"notified_by": "告知机构的审核人员", "responded_by": "代机构答复的经办人员"}
DECISIONS = {"uphold": Action.UPHOLD, "dismiss": Action.DISMISS}
RESPONSES = {Action.ACCEPT: "accept", Action.APPEAL: "appeal"}
OUTCOMES = {Status.UPHELD: "upheld", Status.DISMISSED: "dismissed"}


class SuspicionRefused(InputError):
    """A step the table does not allow from the suspicion's status, or a value it cannot use."""


@dataclass(frozen=True)
class Facts:
    """What the rules need of a suspicion: its status and result type, and who has acted on it so far."""

    status: str
    result_type: str
    notified_by: str | None = None
    responded_by: str | None = None


def name(status: str) -> str:
    return NAMES.get(status, status)  # (a StrEnum key matches its string)


def edge(action: Action, status: str) -> Edge | None:
    try:
        return TRANSITIONS.get((Status(status), action))
    except ValueError:
        return None


def transition(action: Action, facts: Facts, *, staff: Staff) -> Status:
    """The suspicion's status after ``staff`` makes ``action`` on it, or why not: the status (the table), the
    permission, the result type (a 可疑 finding unconfirmed), then who they are (:attr:`Edge.not_by`)."""
    if action not in VERBS:
        raise SuspicionRefused(f"action: 未知的疑点操作 {action} ({', '.join(VERBS)})")
    step = edge(action, facts.status)
    if step is None:
        raise SuspicionRefused(f"status: 疑点{name(facts.status)}，不能{VERBS[action]}")
    if step.permission == AUTO:
        if staff != SYSTEM:
            raise NotPermitted(f"permission: {step.verb}由系统自动办理，不能手工操作")
    elif not staff.may(step.permission):
        raise NotPermitted(f"permission: 需要 {step.permission} 权限才能{step.verb}")
    if step.result_types is not None and facts.result_type not in step.result_types:
        raise SuspicionRefused(
            f"status: {facts.result_type}疑点须经初审确认后方可{step.verb}（仅"
            f"{'、'.join(sorted(step.result_types))}疑点可直接告知，supervision.md §2.2）"
        )
    for field in step.not_by:
        if getattr(facts, field) == staff.username:
            raise NotPermitted(
                f"reviewer: {staff.username} 是该疑点{ROLES[field]}，不能{step.verb}，须由其他人员办理 (four eyes)"
            )
    return step.leads_to


def decision(value: str | None) -> Action:
    """``uphold`` / ``dismiss`` → the action."""
    found = DECISIONS.get((value or "").strip())
    if found is None:
        raise SuspicionRefused(
            f"decision: 应为 uphold（维持）或 dismiss（排除/撤销），不是 {quote(value or '')}"
        )
    return found


def text(value: str | None, field: str, label: str, *, required: bool) -> str | None:
    """A reason as stored: trimmed, at most :data:`REASON_MAX` characters, nothing unprintable but line
    breaks; empty is refused when ``required`` (else None)."""
    t = (value or "").strip()
    if not t:
        if required:
            raise SuspicionRefused(f"{field}: 必须填写{label}")
        return None
    if len(t) > REASON_MAX:
        raise SuspicionRefused(f"{field}: {label}最多 {REASON_MAX} 个字（现 {len(t)} 个）")
    if any(not (c.isprintable() or c in "\n\r\t") for c in t):
        raise SuspicionRefused(f"{field}: {label}含不可显示的字符")
    return t


def reason(action: Action, status: str, value: str | None) -> str | None:
    """The reason a step records: required where the table says so (a dismissal, an appeal, an upholding of
    an appeal — the institution is told why)."""
    step = edge(action, status)
    label = {Action.APPEAL: "申诉理由", Action.ACCEPT: "认可说明"}.get(action, "理由")
    return text(value, "reason", label, required=step is not None and step.reason_required)


# --- the deadline ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuspicionSettings:
    """What a region says of the workflow: the days an institution has to answer a notice (calendar days
    after the notice date; the due date itself still counts), and where that comes from."""

    appeal_days: int = DEFAULT_APPEAL_DAYS
    source: str = f"默认 {DEFAULT_APPEAL_DAYS} 天"


def due_date(notified_on: date, settings: SuspicionSettings) -> date:
    return notified_on + timedelta(days=settings.appeal_days)


def is_lapsed(status: str, due: date | None, today: date) -> bool:
    """A notice not answered by its due date (the due date itself is still in time)."""
    return status == Status.NOTIFIED and due is not None and today > due


def check_in_time(due: date | None, today: date) -> None:
    """An answer is refused after the due date."""
    if due is not None and today > due:
        raise SuspicionRefused(
            f"due_date: 答复期限 {due} 已过，不能再认可或申诉（疑点逾期未答复，由复核人员处理）"
        )


# --- the upheld amount -----------------------------------------------------------------------------------------


def upheld_amount(value: Any, vola_amt: int) -> Fen:
    """The amount an upholding keeps: ``vola_amt`` when none is given, else yuan (two decimals) above 0 and
    not above ``vola_amt``. Parsed exactly, never as a float."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Fen(vola_amt)
    try:
        fen = parse_amount(value)
    except AmountError as exc:
        raise SuspicionRefused(f"amount: 维持金额无效：{str(exc).split(' (', 1)[0]}") from None
    if fen <= 0:
        raise SuspicionRefused(f"amount: 维持金额须大于 0（填写的是 {value}）")
    if fen > vola_amt:
        raise SuspicionRefused(
            f"amount: 维持金额 {fmt_yuan(fen)} 元超过疑点金额 {fmt_yuan(Fen(vola_amt))} 元 (vola_amt)"
        )
    return fen


def check_amount_given(action: Action, value: Any) -> None:
    if action != Action.UPHOLD and value not in (None, ""):
        raise SuspicionRefused("amount: 只有维持时才能给出金额")


# --- the deduction month ---------------------------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def month(value: str | None) -> str:
    """``YYYY-MM``: the payment month a deduction is made against."""
    m = _MONTH.fullmatch((value or "").strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise SuspicionRefused(f"month: 扣款月份应为 YYYY-MM（如 2025-03），不是 {quote(value or '')}")
    return m.group(0)


def month_after(year: int, month_: int) -> str:
    return f"{year + month_ // 12}-{month_ % 12 + 1:02d}"


def check_deductible(upheld_fen: int) -> None:
    if upheld_fen <= 0:
        raise SuspicionRefused("amount: 维持金额为 0，无需扣款")


# --- the appeal's files (申诉材料) --------------------------------------------------------------------------------

MAX_FILES = 10
MAX_BYTES = 10 * 1024 * 1024  # one file
MAX_TOTAL = 30 * 1024 * 1024  # all files of one appeal
NAME_MAX = 200
_ZIP = (b"PK\x03\x04",)
# extension → (content type stored, the file's first bytes): the type is the extension's, and the content
# must start as that type does — a renamed executable is refused, whatever the client says it is
FILE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "ofd": ("application/ofd", _ZIP),  # 版式文档 (GB/T 33190), the format of Chinese e-documents
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
}


@dataclass(frozen=True)
class Attachment:
    """One checked file of an appeal: its clean name, the type its extension gives, size and SHA-256."""

    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes


def filename(value: str | None) -> str:
    """A file's name as stored: the last path component, trimmed, printable, at most :data:`NAME_MAX`."""
    raw = (value or "").strip()
    base = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    if not base or base in (".", ".."):
        raise SuspicionRefused(f"attachments: 附件须有文件名（{quote(raw)}）")
    if len(base) > NAME_MAX:
        raise SuspicionRefused(f"attachments: 附件文件名最多 {NAME_MAX} 个字符（{quote(base)}）")
    if any(not c.isprintable() for c in base):
        raise SuspicionRefused(f"attachments: 附件文件名含不可显示的字符（{quote(base)}）")
    return base


def attachment(name_: str | None, data: bytes) -> Attachment:
    """One file, checked: an allowed type by extension whose content starts as that type does, not empty,
    at most :data:`MAX_BYTES`."""
    clean = filename(name_)
    ext = clean.rsplit(".", 1)[-1].lower() if "." in clean else ""
    kind = FILE_TYPES.get(ext)
    if kind is None:
        allowed = "、".join(sorted({k for k in FILE_TYPES if k != "jpeg"}))
        raise SuspicionRefused(f"attachments: 不接受的附件类型 {quote(clean)}（可用：{allowed}）")
    if not data:
        raise SuspicionRefused(f"attachments: 附件 {quote(clean)} 是空文件")
    if len(data) > MAX_BYTES:
        raise SuspicionRefused(
            f"attachments: 附件 {quote(clean)} 大小 {_mb(len(data))} 超过单个文件上限 {_mb(MAX_BYTES)}"
        )
    content_type, magic = kind
    if not any(data.startswith(m) for m in magic):
        raise SuspicionRefused(f"attachments: 附件 {quote(clean)} 的内容不是 {ext} 文件")
    return Attachment(clean, content_type, len(data), hashlib.sha256(data).hexdigest(), data)


def attachments(files: list[tuple[str | None, bytes]]) -> list[Attachment]:
    """An appeal's files, each checked, at most :data:`MAX_FILES` and :data:`MAX_TOTAL` together."""
    if len(files) > MAX_FILES:
        raise SuspicionRefused(f"attachments: 附件最多 {MAX_FILES} 个（现 {len(files)} 个）")
    out = [attachment(n, d) for n, d in files]
    total = sum(a.size for a in out)
    if total > MAX_TOTAL:
        raise SuspicionRefused(f"attachments: 附件合计 {_mb(total)} 超过上限 {_mb(MAX_TOTAL)}")
    return out


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"
