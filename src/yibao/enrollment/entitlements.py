"""Entitlements (待遇资格): 人员身份 (identities), 门诊慢特病备案 (chronic registrations), 惠民保参保
(supplementary enrollment) and the 个人账户期初余额 (opening balance) — the pure rules the import, the REST
resources and the console share. No database: the callers read what is stored and write what is decided.

Periods of one entitlement never overlap. A person holds one identity type (e.g. 2303 低保) over disjoint
periods, and one chronic disease over disjoint approved registrations: a row whose period overlaps another
of the same code is refused, naming the one it overlaps, rather than merged — merging would silently move
a natural key (psn_no + code + start) the feeding body keeps referring to, and lose the other row's
认定机构 and memo. To renew, end the old period (a row with its end date) and start a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yibao.audit_actions import Action
from yibao.enrollment.rules import Period
from yibao.errors import InputError
from yibao.money import Fen, fmt_fen


@dataclass(frozen=True)
class Dated:
    """What a dated entitlement is called and where its code and dates are (one per table)."""

    entity: str  # the table, and the audit log's entity
    zh: str
    code: str  # the column whose periods may not overlap
    begin: str
    end: str
    fields: tuple[str, ...]  # the stored columns (the audit snapshot, the comparison on re-import)
    status: str | None = None  # a column whose value decides whether the row holds its period


IDENTITY = Dated(
    "identity",
    "人员身份",
    "psn_idet_type",
    "begntime",
    "endtime",
    ("psn_no", "psn_idet_type", "psn_type_lv", "begntime", "endtime", "idet_org", "memo"),
)
CHRONIC = Dated(
    "chronic_registration",
    "门诊慢特病备案",
    "opsp_dise_code",
    "begndate",
    "enddate",
    ("psn_no", "opsp_dise_code", "begndate", "enddate", "status", "fixmedins_code"),
    status="status",
)

# 门诊慢特病备案 status: approved holds its period; revoked (撤销: it should never have been) holds none
CHRONIC_STATUS = {"approved": "已备案", "revoked": "已撤销"}
HOLDS = ("approved",)
# what may follow what (a revoked registration is approved again only by the feed that revoked it)
CHRONIC_TRANSITIONS = {Action.REVOKE: (("approved",), "revoked")}

# 残疾 (残联): the grade goes in psn_type_lv, 1–4 (一级 … 四级, GB/T 26341)
DISABILITY = "25"
GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}
_GRADE_ALIASES = {**{v: k for k, v in GRADES.items()}, **{f"{k}级": k for k in GRADES}}


def refusal(exc: InputError) -> tuple[str, str]:
    """(field, reason) of a refusal worded ``field: reason``."""
    field, _, reason = exc.message.partition(": ")
    return (field, reason) if reason else ("", field)


def grade(psn_idet_type: str, psn_type_lv: str | None) -> str | None:
    """The identity's grade: a 残疾 identity needs one of 1–4 (一级/1级/1 are the same); others keep theirs."""
    if not psn_idet_type.startswith(DISABILITY):
        return psn_type_lv or None
    lv = _GRADE_ALIASES.get(psn_type_lv or "", psn_type_lv)
    if lv not in GRADES:
        got = f"（填写的是 {psn_type_lv}）" if psn_type_lv else ""
        raise InputError(f"psn_type_lv: 残疾人员须填残疾等级 1–4（一级至四级）{got}")
    return lv


def in_order(spec: Dated, row: dict) -> None:
    begin, end = row.get(spec.begin), row.get(spec.end)
    if begin is not None and end is not None and end < begin:
        raise InputError(f"{spec.end}: 结束日期 {end} 早于开始日期 {begin}")


@dataclass(frozen=True)
class Held:
    """A period another row holds: ``ref`` names it in a refusal (``identity 12``, ``第3行``)."""

    ref: str
    key: tuple
    code: str
    period: Period


def holds(spec: Dated, row: dict) -> bool:
    return spec.status is None or row.get(spec.status) in HOLDS


def held(spec: Dated, ref: str, key: tuple, row: dict) -> Held:
    return Held(ref, key, row[spec.code], Period(row[spec.begin], row[spec.end]))


def overlapping(period: Period, code: str, key: tuple, others: Iterable[Held]) -> Held | None:
    """The first other period of the same code the given one overlaps (its own key excepted)."""
    for h in others:
        if h.code == code and h.key != key and h.period.overlaps(period):
            return h
    return None


@dataclass(frozen=True)
class Change:
    """What one row does: ``insert``, ``update`` or ``unchanged``, with the values before and after, and the
    audit action of the change (register, end, revoke, change, cancel; none when unchanged)."""

    kind: str
    before: dict | None
    after: dict
    action: Action | None = None


def plan(
    spec: Dated,
    row: dict,
    stored: dict | None,
    others: Iterable[Held],
    *,
    present: set[str],
    may_update: bool = True,
) -> Change:
    """Decide one row of a dated entitlement against what is stored under its natural key (``stored``) and
    the periods the person's other rows hold (``others``).

    A column the row does not carry (not in ``present``) keeps its stored value; so does an end date left
    empty: an ended period is never reopened by a list that does not know it ended. A new end date (earlier
    or later) moves the end. ``may_update`` False refuses a key that exists (an add, not an import)."""
    after = {f: row.get(f) for f in spec.fields}
    if stored is not None:
        if not may_update:
            raise InputError(
                f"{spec.begin}: 已有同一开始日期的{spec.zh} ({spec.entity} {stored.get('id')}: "
                f"{stored[spec.code]} 自 {stored[spec.begin]})；请修改或结束该记录"
            )
        after = {f: (after[f] if f in present else stored[f]) for f in spec.fields}
        if after[spec.end] is None:
            after[spec.end] = stored[spec.end]
    in_order(spec, after)
    if holds(spec, after):
        key = tuple(after[k] for k in ("psn_no", spec.code, spec.begin))
        clash = overlapping(Period(after[spec.begin], after[spec.end]), after[spec.code], key, others)
        if clash is not None:
            span = f"自 {clash.period.begndate}" + (
                f" 至 {clash.period.enddate}" if clash.period.enddate else " 起"
            )
            raise InputError(
                f"{spec.begin}: 与现有{spec.zh}重叠 ({clash.ref}: {clash.code} {span})；"
                f"同一{spec.zh}的期间不能重叠，请先结束现有记录"
            )
    if stored is None:
        return Change("insert", None, after, Action.REGISTER)
    before = {f: stored[f] for f in spec.fields}
    if before == after:
        return Change("unchanged", before, after)
    return Change("update", before, after, _action(spec, before, after))


def _action(spec: Dated, before: dict, after: dict) -> Action:
    changed = {f for f in spec.fields if before[f] != after[f]}
    if spec.status and changed == {spec.status} and after[spec.status] == "revoked":
        return Action.REVOKE
    if changed == {spec.end}:
        return Action.END
    return Action.CHANGE


def ending(spec: Dated, stored: dict, day: date) -> dict:
    """结束 on ``day``: the row as it is with ``day`` as its end — not before its start, and not an end already
    recorded on or before ``day`` (a later end is a correction the feed makes, with the row's new end date)."""
    if day < stored[spec.begin]:
        raise InputError(f"date: 结束日期 {day} 早于开始日期 {stored[spec.begin]}")
    if stored[spec.end] is not None and stored[spec.end] <= day:
        raise InputError(f"date: 该{spec.zh}已于 {stored[spec.end]} 结束")
    return {**{f: stored[f] for f in spec.fields}, spec.end: day}


def revoking(stored: dict) -> dict:
    """撤销 a 门诊慢特病备案: only an approved one (the table says what may follow what)."""
    allowed, target = CHRONIC_TRANSITIONS[Action.REVOKE]
    if stored["status"] not in allowed:
        raise InputError(
            f"status: 当前状态为 {CHRONIC_STATUS.get(stored['status'], stored['status'])}，不能撤销"
        )
    return {**{f: stored[f] for f in CHRONIC.fields}, "status": target}


# --- 惠民保 ---------------------------------------------------------------------------------------------

SUPPLEMENTARY_STATUS = {"enrolled": "参保", "cancelled": "退保"}


def supplementary_year(year: int, today: date) -> int:
    """A 惠民保 year the insurer can report: not before 2000, at most next year (sold ahead of 1 January)."""
    if not 2000 <= year <= today.year + 1:
        raise InputError(f"year: 惠民保年度应在 2000–{today.year + 1} 之间（填写的是 {year}）")
    return year


def plan_supplementary(row: dict, stored: dict | None) -> Change:
    """惠民保 for one year is held or not: ``enrolled`` adds it (or changes the product), ``cancelled`` (退保)
    removes a held year and leaves an absent one absent. Settlement reads the year alone."""
    after = {"psn_no": row["psn_no"], "year": row["year"], "product": row.get("product") or "huiminbao"}
    if row.get("status", "enrolled") == "cancelled":
        if stored is None:
            return Change("unchanged", None, after)
        return Change("delete", dict(stored), after, Action.CANCEL)
    if stored is None:
        return Change("insert", None, after, Action.REGISTER)
    if stored["product"] == after["product"]:
        return Change("unchanged", dict(stored), after)
    return Change("update", dict(stored), after, Action.CHANGE)


# --- 个人账户期初余额 -------------------------------------------------------------------------------------


def opening_adjustment(recorded: Fen, wanted: Fen, balance: Fen) -> Fen:
    """What to post so that the account's opening balance becomes ``wanted`` (fen): the difference from what
    the ledger already records as opening (``recorded``), so the same file imported again posts nothing and
    a corrected file posts the correction. The account may not go below zero."""
    if wanted < 0:
        raise InputError(f"balc: 期初余额不能为负（填写的是 {fmt_fen(wanted)}）")
    diff = wanted - recorded
    if balance + diff < 0:
        raise InputError(
            f"balc: 期初余额由 {fmt_fen(recorded)} 改为 {fmt_fen(wanted)} 后账户余额为负 "
            f"(balance {fmt_fen(balance)})"
        )
    return diff
