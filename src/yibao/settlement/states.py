"""The life of a visit (就诊状态) and of a settlement (结算状态): what each transaction may do to them, as
tables. Pure.

An outpatient visit (2201) is open until it is settled (2207) or cancelled (2202); a reversal (2208) opens it
again. An admission (2401) is in hospital until it is discharged (2402), which can be undone (2405); it may be
settled part-way (2304 with ``mid_setl_flag``) while in hospital and is settled in full once discharged; a
reversal (2305) of the full settlement brings it back to discharged. Anything the table does not allow is
refused with the reason a HIS is shown.
"""

from __future__ import annotations

from enum import StrEnum

from yibao.errors import SettlementError


class VisitStatus(StrEnum):
    OPEN = "open"
    ADMITTED = "admitted"
    DISCHARGED = "discharged"
    SETTLED = "settled"
    CANCELLED = "cancelled"


# the status as a refusal says it
NAMES = {
    VisitStatus.OPEN: "门诊就诊中",
    VisitStatus.ADMITTED: "患者在院",
    VisitStatus.DISCHARGED: "已办理出院",
    VisitStatus.SETTLED: "就诊已结算",
    VisitStatus.CANCELLED: "就诊已撤销",
}

_OPEN, _IN, _OUT, _SETTLED, _CANCELLED = VisitStatus  # (short names for the table)
# (is an admission, event) → {status before: status after}
TRANSITIONS: dict[tuple[bool, str], dict[VisitStatus, VisitStatus]] = {
    (False, "update"): {_OPEN: _OPEN},
    (False, "upload"): {_OPEN: _OPEN},
    (False, "cancel"): {_OPEN: _CANCELLED},
    (False, "settle"): {_OPEN: _SETTLED},
    (False, "reverse"): {_SETTLED: _OPEN},
    (True, "update"): {_IN: _IN, _OUT: _OUT},
    (True, "upload"): {_IN: _IN, _OUT: _OUT},
    (True, "cancel"): {_IN: _CANCELLED, _OUT: _CANCELLED},
    (True, "discharge"): {_IN: _OUT},
    (True, "undo_discharge"): {_OUT: _IN},
    (True, "settle_midway"): {_IN: _IN, _OUT: _OUT},
    (True, "settle"): {_OUT: _SETTLED},
    (True, "reverse"): {_SETTLED: _OUT},  # (a part-way settlement's reversal leaves the stay as it is)
}
# why an event is refused, by event ({state}: the status's name)
REFUSALS = {
    "update": "mdtrt_id: {state}，不能修改",
    "upload": "mdtrt_id: {state}，不能上传费用",
    "cancel": "mdtrt_id: {state}",
    "settle": "mdtrt_id: {state}，不能再结算",
    "settle_midway": "mdtrt_id: {state}，不能再结算",
    "discharge": "mdtrt_id: {state}，不能办理出院",
    "undo_discharge": "mdtrt_id: {state}，不能撤销出院",
    "reverse": "mdtrt_id: {state}，不能撤销结算",
}
_ADMITTED_TO_SETTLE = "mdtrt_id: 住院须先办理出院 (2402) 才能出院结算；中途结算请传 mid_setl_flag=1"


def name(status: str) -> str:
    return NAMES.get(status, f"就诊状态为 {status}")


def transition(status: str, event: str, *, admission: bool) -> VisitStatus:
    """The status after ``event``, or :class:`SettlementError` with the reason it is not allowed."""
    allowed = TRANSITIONS.get((admission, event), {})
    after = allowed.get(status)  # (a StrEnum key matches its string)
    if after is not None:
        return after
    if event == "reverse" and status != VisitStatus.CANCELLED:
        return VisitStatus(status)  # a reversal of a part-way settlement: the stay goes on as it was
    if event == "settle" and admission and status == VisitStatus.ADMITTED:
        raise SettlementError(_ADMITTED_TO_SETTLE)
    raise SettlementError(REFUSALS[event].format(state=name(status)))


class SettlementStatus(StrEnum):
    """A settlement stands until it is reversed; the reversal (a negated record) is final."""

    STANDING = "standing"
    REVERSED = "reversed"
    REVERSAL = "reversal"


SETTLEMENT_TRANSITIONS = {"reverse": {SettlementStatus.STANDING: SettlementStatus.REVERSED}}


def settlement_status(refd_setl_flag: str, reversed_by: str | None) -> SettlementStatus:
    """The status of a stored settlement row (its reversal flag and the reversal that cancelled it, if any)."""
    if refd_setl_flag == "1":
        return SettlementStatus.REVERSAL
    return SettlementStatus.REVERSED if reversed_by else SettlementStatus.STANDING


def reverse_settlement(setl_id: str, refd_setl_flag: str, reversed_by: str | None) -> SettlementStatus:
    """The settlement's status after a reversal (2208/2305/2103/2601), or why it cannot be reversed."""
    status = settlement_status(refd_setl_flag, reversed_by)
    after = SETTLEMENT_TRANSITIONS["reverse"].get(status)
    if after is not None:
        return after
    if status is SettlementStatus.REVERSAL:
        raise SettlementError(f"setl_id: {setl_id} 是一笔撤销记录，不能再撤销")
    raise SettlementError(f"setl_id: 结算 {setl_id} 已撤销 ({reversed_by})，不能重复撤销")
