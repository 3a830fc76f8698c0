"""Use cases of the suspicion workflow (疑点处理, supervision.md §2.2) over the store: 初审确认, 告知机构 (one or
by filter), the institution's answer (认可 / 申诉 with files) recorded by a handler, the lapse of an unanswered
notice, 复核 (维持 / 撤销), and the deduction (扣款) of an upheld amount from the institution's next payment,
posted to the ledger. Each takes the caller's session (one unit of work: :func:`yibao.store.db.unit_of_work`),
the acting member of staff and the values; changes one suspicion per step; and writes one audit row per step
with an action constant and the fields before and after.

The rules — the statuses, who may take which step, the deadline, the files, the amount — are
:mod:`yibao.supervision.suspicion_states`; the reads and the ledger writer are
:mod:`yibao.store.suspicion_workflow`. A notice's deadline comes from the region of the institution through
:func:`~yibao.supervision.service.suspicion_settings.settings_for` alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from yibao.audit_actions import Action
from yibao.funds import recovery
from yibao.money import Fen, fmt_yuan
from yibao.store import audit
from yibao.store import suspicion_workflow as store
from yibao.store.suspicion_workflow import ENTITY, SuspicionFilter
from yibao.store.tables import AuditSuspicion
from yibao.supervision import suspicion_states as st
from yibao.supervision.service.suspicion_settings import settings_for
from yibao.supervision.suspicion_states import SYSTEM, Facts, Staff, Status, SuspicionRefused

# the workflow's columns: an audit row shows those a step changed, before and after
FIELDS = (
    "status",
    "confirmed_by",
    "confirmed_at",
    "notified_by",
    "notified_at",
    "due_date",
    "response",
    "response_reason",
    "responded_by",
    "responded_at",
    "decision",
    "decision_reason",
    "decided_by",
    "decided_at",
    "upheld_fen",
    "deducted_fen",
    "deduction_month",
    "deduction_entry_id",
    "deducted_by",
    "deducted_at",
)
AUTO_UPHOLD_REASON = "机构认可，自动维持"


def facts(row: AuditSuspicion) -> Facts:
    return Facts(row.status, row.result_type, row.notified_by, row.responded_by)


# --- 初审 ---------------------------------------------------------------------------------------------------------


def confirm(s, suspicion_id: int, *, staff: Staff, reason: str | None = None, now: datetime) -> Status:
    """初审确认: a reviewer confirms a finding, so that it may be notified (a 可疑 one must be)."""
    row = store.locked(s, suspicion_id)
    after = st.transition(Action.CONFIRM, facts(row), staff=staff)
    note = st.text(reason, "reason", "初审意见", required=False)
    _change(
        s, row, Action.CONFIRM, after, staff, now, confirmed_by=staff.username, confirmed_at=now, note=note
    )
    return after


def notify(s, suspicion_id: int, *, staff: Staff, now: datetime, regions_dir: Path) -> date:
    """告知机构: the institution is given the finding and a due date (notice date + the region's
    ``appeal_days``) to accept or appeal it. Returns the due date."""
    row = store.locked(s, suspicion_id)
    after = st.transition(Action.NOTIFY, facts(row), staff=staff)
    return _notify(s, row, after, staff, now, _Deadlines(s, regions_dir))


class _Deadlines:
    """The workflow settings of each institution's region, looked up once per institution."""

    def __init__(self, s, regions_dir: Path):
        self.s, self.regions_dir, self.known = s, regions_dir, {}

    def of(self, fixmedins_code: str) -> st.SuspicionSettings:
        if fixmedins_code not in self.known:
            admdvs = store.admdvs_of(self.s, fixmedins_code)
            self.known[fixmedins_code] = settings_for(admdvs, self.regions_dir)
        return self.known[fixmedins_code]


def _notify(
    s, row: AuditSuspicion, after: Status, staff: Staff, now: datetime, deadlines: _Deadlines
) -> date:
    if not row.fixmedins_code:
        raise SuspicionRefused(f"fixmedins_code: 疑点 #{row.id} 未指明定点机构，无从告知")
    settings = deadlines.of(row.fixmedins_code)
    due = st.due_date(now.date(), settings)
    _change(
        s,
        row,
        Action.NOTIFY,
        after,
        staff,
        now,
        notified_by=staff.username,
        notified_at=now,
        due_date=due,
        note=f"答复期限 {settings.appeal_days} 天（{settings.source}）",
    )
    return due


@dataclass
class BulkResult:
    """What a bulk step did: the suspicions it changed (ids), those it left and why (message → count)."""

    done: list[int] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    amount_fen: int = 0


def notify_many(s, f: SuspicionFilter, *, staff: Staff, now: datetime, regions_dir: Path) -> BulkResult:
    """告知机构 in bulk: every open or confirmed suspicion of the filter that the table lets go to notice (a
    可疑 one not confirmed is left, and counted); one audit row each. The filter must say something beyond the
    status, so that a click cannot notify the whole library's findings."""
    if replace(f, status=None, today=None) == SuspicionFilter():
        raise SuspicionRefused("filter: 批量告知须至少给出一个筛选条件（规则、机构、批次、金额或编号）")
    if not staff.may(st.REVIEW):
        raise st.NotPermitted(f"permission: 需要 {st.REVIEW} 权限才能告知机构")
    wanted = (Status.OPEN.value, Status.CONFIRMED.value)
    if f.status:
        asked = (f.status,) if isinstance(f.status, str) else tuple(f.status)
        wanted = tuple(x for x in wanted if x in asked)
    out, deadlines = BulkResult(), _Deadlines(s, regions_dir)
    for row in store.locked_many(s, replace(f, status=wanted)) if wanted else []:
        try:
            after = st.transition(Action.NOTIFY, facts(row), staff=staff)
            _notify(s, row, after, staff, now, deadlines)
        except SuspicionRefused as exc:
            out.skipped[exc.message.split(": ", 1)[-1]] += 1
            continue
        out.done.append(row.id)
        out.amount_fen += row.vola_amt
    return out


# --- the institution's answer -------------------------------------------------------------------------------------


def accept(
    s,
    suspicion_id: int,
    *,
    staff: Staff,
    fixmedins_code: str,
    reason: str | None = None,
    now: datetime,
) -> Status:
    """机构认可, recorded by a handler for the institution by the due date. The acceptance is upheld at once
    (by the system, for the whole ``vola_amt``): a second audit row."""
    row = store.locked(s, suspicion_id)
    after = st.transition(Action.ACCEPT, facts(row), staff=staff)
    _answering(row, fixmedins_code, now)
    note = st.reason(Action.ACCEPT, row.status, reason)
    _change(
        s,
        row,
        Action.ACCEPT,
        after,
        staff,
        now,
        response=st.RESPONSES[Action.ACCEPT],
        response_reason=note,
        responded_by=staff.username,
        responded_at=now,
    )
    upheld = st.transition(Action.UPHOLD, facts(row), staff=SYSTEM)
    _change(
        s,
        row,
        Action.UPHOLD,
        upheld,
        SYSTEM,
        now,
        decision=st.OUTCOMES[upheld],
        decision_reason=AUTO_UPHOLD_REASON,
        decided_by=SYSTEM.username,
        decided_at=now,
        upheld_fen=row.vola_amt,
    )
    return upheld


def appeal(
    s,
    suspicion_id: int,
    *,
    staff: Staff,
    fixmedins_code: str,
    reason: str | None,
    files: list[tuple[str | None, bytes]],
    now: datetime,
) -> list[int]:
    """机构申诉, recorded by a handler for the institution by the due date: the reason (required) and the files
    (checked: type, size, count; stored with their SHA-256). Returns the files' ids."""
    row = store.locked(s, suspicion_id)
    after = st.transition(Action.APPEAL, facts(row), staff=staff)
    _answering(row, fixmedins_code, now)
    why = st.reason(Action.APPEAL, row.status, reason)
    checked = st.attachments(files)
    ids = store.add_attachments(s, row.id, checked, by=staff.username, at=now)
    listed = [
        {"id": i, "filename": a.filename, "size": a.size, "sha256": a.sha256}
        for i, a in zip(ids, checked, strict=True)
    ]
    _change(
        s,
        row,
        Action.APPEAL,
        after,
        staff,
        now,
        response=st.RESPONSES[Action.APPEAL],
        response_reason=why,
        responded_by=staff.username,
        responded_at=now,
        attachments=listed,
    )
    return ids


def _answering(row: AuditSuspicion, fixmedins_code: str, now: datetime) -> None:
    """The answer is the suspicion's institution's, and in time."""
    code = (fixmedins_code or "").strip()
    if code != row.fixmedins_code:
        raise SuspicionRefused(
            f"fixmedins_code: 疑点 #{row.id} 属于定点机构 {row.fixmedins_code}，不能代 {code or '（未填）'} 答复"
        )
    st.check_in_time(row.due_date, now.date())


def expire(s, *, now: datetime, f: SuspicionFilter | None = None) -> list[int]:
    """逾期: every notice of the filter not answered by its due date is marked overdue (by the system, one
    audit row each). Returns their ids."""
    yesterday = now.date() - timedelta(days=1)  # (only the lapsed ones are locked)
    rows = store.locked_many(
        s, replace(f or SuspicionFilter(), status=Status.NOTIFIED.value, due_to=yesterday)
    )
    out = []
    for row in rows:
        if st.is_lapsed(row.status, row.due_date, now.date()):
            _lapse(s, row, now)
            out.append(row.id)
    return out


def _lapse(s, row: AuditSuspicion, now: datetime) -> None:
    after = st.transition(Action.EXPIRE, facts(row), staff=SYSTEM)
    _change(s, row, Action.EXPIRE, after, SYSTEM, now, note=f"答复期限 {row.due_date} 已过，机构未答复")


# --- 复核 -----------------------------------------------------------------------------------------------------------


def decide(
    s,
    suspicion_id: int,
    *,
    staff: Staff,
    decision: str,
    reason: str | None = None,
    amount: Any = None,
    now: datetime,
) -> Status:
    """``uphold`` (维持, optionally for an amount in yuan ≤ ``vola_amt``) or ``dismiss`` (排除 at 初审, 撤销 at
    复核) with the reason the table asks for. A notice past its due date is first marked overdue. Returns the
    new status."""
    action = st.decision(decision)
    row = store.locked(s, suspicion_id)
    if st.is_lapsed(row.status, row.due_date, now.date()):
        _lapse(s, row, now)
    after = st.transition(action, facts(row), staff=staff)
    why = st.reason(action, row.status, reason)
    st.check_amount_given(action, amount)
    upheld = st.upheld_amount(amount, row.vola_amt) if action == Action.UPHOLD else 0
    _change(
        s,
        row,
        action,
        after,
        staff,
        now,
        decision=st.OUTCOMES[after],
        decision_reason=why,
        decided_by=staff.username,
        decided_at=now,
        upheld_fen=upheld,
    )
    return after


# --- 扣款 -----------------------------------------------------------------------------------------------------------


def next_payment_month(s, today: date) -> str:
    """The payment an upheld amount is deducted from when no month is given: the month after the latest one a
    posted payment run paid (December for a cleared year), else the current month."""
    last = store.last_paid_month(s)
    return st.month_after(*last) if last else f"{today:%Y-%m}"


def deduct(s, suspicion_id: int, *, staff: Staff, month: str | None = None, now: datetime) -> int:
    """扣款: the upheld amount of one suspicion deducted from its institution's payment of ``month``
    (YYYY-MM; default :func:`next_payment_month`): a balanced ledger entry posted in this transaction. A
    suspicion is deducted once: a second call is refused by its status. Returns the entry's id."""
    row = store.locked(s, suspicion_id)
    st.transition(Action.DEDUCT, facts(row), staff=staff)
    when = st.month(month) if month else next_payment_month(s, now.date())
    [entry_id] = _deduct(s, [row], when, staff, now)
    return entry_id


@dataclass
class DeductResult:
    """A month's deductions: the suspicions deducted, the entries posted, the total and the per-institution
    sums (code → (count, fen))."""

    month: str
    done: list[int] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)
    amount_fen: int = 0
    by_institution: dict[str, tuple[int, int]] = field(default_factory=dict)


def deduct_month(
    s, month: str, *, staff: Staff, now: datetime, fixmedins_code: str | None = None
) -> DeductResult:
    """扣款 for a payment month: every upheld suspicion not yet deducted (of one institution, if given), with an
    amount to deduct, posted against ``month``; run again, it finds nothing left (idempotent)."""
    when = st.month(month)
    rows = store.locked_many(s, SuspicionFilter(status=Status.UPHELD.value, fixmedins_code=fixmedins_code))
    rows = [r for r in rows if r.upheld_fen > 0 and r.deduction_entry_id is None and r.fixmedins_code]
    for row in rows:
        st.transition(Action.DEDUCT, facts(row), staff=staff)
    out = DeductResult(when)
    out.entries = _deduct(s, rows, when, staff, now)
    for row in rows:
        out.done.append(row.id)
        out.amount_fen += row.deducted_fen
        n, fen = out.by_institution.get(row.fixmedins_code, (0, 0))
        out.by_institution[row.fixmedins_code] = (n + 1, fen + row.deducted_fen)
    return out


def _deduct(s, rows: list[AuditSuspicion], month: str, staff: Staff, now: datetime) -> list[int]:
    """One ledger entry per suspicion (Dr institution_payable / Cr audit_recovery, the visit's pool fund),
    posted together; each suspicion marked deducted with its entry, one audit row each."""
    entries = []
    for row in rows:
        if row.deduction_entry_id is not None:  # (the status says so too: never a second entry)
            raise SuspicionRefused(f"status: 疑点 #{row.id} 已扣款（凭证 {row.deduction_entry_id}）")
        if not row.fixmedins_code:
            raise SuspicionRefused(f"fixmedins_code: 疑点 #{row.id} 未指明定点机构，无从扣款")
        st.check_deductible(row.upheld_fen)
        fund = recovery.pool_fund(store.insutype_of(s, row.setl_id))
        legs = recovery.deduction_postings(row.fixmedins_code, Fen(row.upheld_fen), fund)
        memo = f"疑点 #{row.id} {row.rule_code} 审核扣款 {month}"
        entries.append((recovery.ENTRY_TYPE, legs, now, memo))
    ids = store.post_deductions(s, entries)
    for row, entry_id in zip(rows, ids, strict=True):
        _change(
            s,
            row,
            Action.DEDUCT,
            Status.DEDUCTED,
            staff,
            now,
            deducted_fen=row.upheld_fen,
            deduction_month=month,
            deduction_entry_id=entry_id,
            deducted_by=staff.username,
            deducted_at=now,
            note=f"扣款 {fmt_yuan(Fen(row.upheld_fen))} 元，{month} 拨付",
        )
    return ids


# --- the one writer of a step ---------------------------------------------------------------------------------------


def _change(
    s,
    row: AuditSuspicion,
    action: Action,
    after: Status,
    staff: Staff,
    now: datetime,
    *,
    note: str | None = None,
    attachments: list[dict] | None = None,
    **values: Any,
) -> None:
    """Set the status and the step's columns, and write its audit row: the columns it changed, before and
    after, with the suspicion's rule and institution."""
    unknown = set(values) - set(FIELDS)
    if unknown:  # (a programming error: a column the audit row would not show)
        raise TypeError(f"not workflow columns: {sorted(unknown)}")
    changed = ("status", *values)
    before = {k: getattr(row, k) for k in changed}
    row.status = after.value
    for k, v in values.items():
        setattr(row, k, v)
    s.flush()
    extra: dict[str, Any] = {"rule_code": row.rule_code, "fixmedins_code": row.fixmedins_code}
    if note:
        extra["note"] = note
    if attachments is not None:
        extra["attachments"] = attachments
    audit.record(
        s,
        actor=staff.username,
        action=action,
        entity=ENTITY,
        entity_id=str(row.id),
        before=before,
        after={k: getattr(row, k) for k in changed} | extra,
        at=now,
    )
