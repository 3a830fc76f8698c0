"""特例单议 (special-case review, payment-drg-dip.md §3.6): a hospital asks that one settled inpatient case the
formulas price badly be paid more; reviewers from other institutions decide. Pure: the statuses and who may
change them (a table), the candidate kinds, the cap, the conflict-of-interest rule and what an approval
grants. The use cases over the store are :mod:`yibao.payment.service.special_review`.

A request is filed (``filed`` 待评审) for one case, then approved (``approved`` 已通过: extra points under
DIP / DRG point method, or an amount paid fee-for-service 按项目付费, which the year's clearing adds), rejected
(``rejected`` 未通过) or withdrawn by its filer (``withdrawn`` 已撤回). Nobody decides a request they filed,
and no reviewer from the hospital that filed it (利益冲突回避).

**The cap** (§7 ``special_review_cap``): the requests of a hospital and year that are filed or approved may
not exceed ``floor(discharges × cap)``, discharges being the hospital's standing inpatient discharge
settlements of the year (by discharge date: a case belongs to the year it was discharged in, whose clearing
pays it) and ``cap`` the policy's share for the hospital's scheme (5 ‰ DIP, 5 % DRG by default). Floor,
never round: a hospital with 1,234 discharges under 5 ‰ may file 6 (6.17 → 6), one with
199 under 5 ‰ none (0.995 → 0). A rejected or withdrawn request no longer counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from yibao.audit_actions import Action
from yibao.errors import InputError
from yibao.money import (
    BP,
    AmountError,
    BasisPoints,
    CountE4,
    Fen,
    fmt_count,
    fmt_scaled,
    fmt_yuan,
    parse_amount,
    parse_count,
)
from yibao.settlement.review import NotPermitted, Staff

# the permissions (roles.yaml): 经办 files for the hospital (as a 结算撤销 request is filed), 审核 decides,
# the 付费 pages read
FILE, DECIDE, READ = "settlement.write", "payment.review", "payment.read"
STATEMENT_MAX = 2000  # characters of the hospital's account of the case
NOTE_MAX = 500  # characters of a reviewer's note or a withdrawal's
EVIDENCE_MAX = 50  # attachments of one request
NAME_MAX = 200  # characters of an attachment's name
INPATIENT_PREFIX = "2"  # 医疗类别 21–29 住院


class Status(StrEnum):
    FILED = "filed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


NAMES = {
    Status.FILED: "待评审",
    Status.APPROVED: "已通过",
    Status.REJECTED: "未通过",
    Status.WITHDRAWN: "已撤回",
}
COUNTED = (Status.FILED, Status.APPROVED)
"""The statuses that count against the cap and keep a case from a second request."""


class Kind(StrEnum):
    """Why a case is a candidate (§3.6)."""

    LONG_STAY = "long_stay"
    ICU = "icu"
    NEW_TECH = "new_tech"
    EXTREME = "extreme"
    RESCUE = "rescue"


KIND_NAMES = {
    Kind.LONG_STAY: "超长住院",
    Kind.ICU: "重症监护",
    Kind.NEW_TECH: "新药新技术",
    Kind.EXTREME: "费用极高",
    Kind.RESCUE: "急危重症抢救/入院后短期死亡",
}
CHECKED = (Kind.LONG_STAY, Kind.EXTREME)
"""Kinds the case's own data prove (its stay, its cost); the others rest on the evidence, so need some."""
SCHEME_NAMES = {"dip": "DIP 按病种分值付费", "drg": "DRG 按疾病诊断相关分组付费", "ffs": "按项目付费"}
FILER, ANOTHER = "filer", "another"  # who may make a step: the filer only, anyone but the filer


@dataclass(frozen=True)
class Step:
    begins: tuple[Status, ...]
    leads_to: Status
    permission: str
    who: str  # FILER or ANOTHER
    verb: str  # as a refusal says it


_FILED = (Status.FILED,)
# action (also the audit row's) → the step it makes
TRANSITIONS: dict[Action, Step] = {
    Action.APPROVE: Step(_FILED, Status.APPROVED, DECIDE, ANOTHER, "审议通过"),
    Action.REJECT: Step(_FILED, Status.REJECTED, DECIDE, ANOTHER, "审议不通过"),
    Action.WITHDRAW: Step(_FILED, Status.WITHDRAWN, FILE, FILER, "撤回"),
}
DECISIONS = {"approve": Action.APPROVE, "reject": Action.REJECT}


class SpecialReviewRefused(InputError):
    """A request, a step or a value the rules refuse; the message names the field."""


@dataclass(frozen=True)
class ReviewSettings:
    """What the payment policy says of 特例单议 for a year (§7): the cap by scheme (a share of discharges, in
    basis points), the filing window (days after the case's month was pre-settled), the long stay (days) and
    the extreme cost ratio (× the group mean, 1e-4) that make a case a candidate, and where they come from."""

    cap: Mapping[str, BasisPoints]
    window_days: int
    long_stay_days: int
    extreme_ratio4: CountE4
    source: str


DEFAULTS = ReviewSettings(
    cap={"dip": BasisPoints(50), "drg": BasisPoints(500)},  # 5 ‰, 5 % (§1, §7: unconfirmed, parameters)
    window_days=30,
    long_stay_days=60,  # §3.6 "commonly ≥ 60 days"
    extreme_ratio4=CountE4(50_000),  # §3.5: r > 5 goes to expert review
    source="默认参数 (payment-drg-dip.md §7)",
)


@dataclass(frozen=True)
class Case:
    """The settled case a request names, as the store found it (money in fen)."""

    setl_id: str
    fixmedins_code: str
    year: int  # the year it was discharged in: the clearing that pays it
    med_type: str
    refd_setl_flag: str
    reversed_by: str | None
    mid_setl_flag: str
    supplement_of: str | None
    discharged: date
    los: int
    dscg_way: str | None
    cost_fen: int  # 医疗费总额 of the stay (its standing settlements)
    listed: bool = (
        True  # it has a valid settlement list (医保结算清单): only a listed case is grouped and paid
    )
    group_code: str | None = None  # its current grouping under the hospital's scheme
    group_mean_fen: int | None = None  # the group's mean cost at the hospital's level (§3.5 A_g)


def name(status: str) -> str:
    return NAMES.get(status, status)  # (a StrEnum key matches its string)


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def share_words(cap: BasisPoints) -> str:
    """A cap as people write it: ``500`` → ``5%``, ``50`` → ``5‰``, ``25`` → ``2.5‰``."""
    if cap % 100 == 0:
        return f"{cap // 100}%"
    if cap % 10 == 0:
        return f"{cap // 10}‰"
    return f"{fmt_scaled(cap, 10, 1)}‰"


def points_words(points4: int) -> str:
    """Points × 10⁴ → ``12.5000``."""
    return fmt_count(CountE4(points4))


# --- who may file and decide -------------------------------------------------------------------------------


def check_filer(staff: Staff) -> None:
    if not staff.may(FILE):
        raise NotPermitted(f"permission: 需要 {FILE} 权限才能提交特例单议申请")


def transition(action: Action, status: str, *, staff: Staff, filed_by: str) -> Status:
    """The request's status after ``staff`` makes ``action`` on it, or why not: the permission, who they are
    (never the filer for a decision; only the filer for a withdrawal), then the status."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise SpecialReviewRefused(f"decision: 未知的操作 {action} ({', '.join(TRANSITIONS)})")
    if not staff.may(step.permission):
        raise NotPermitted(f"permission: 需要 {step.permission} 权限才能{step.verb}")
    if step.who == ANOTHER and staff.username == filed_by:
        raise NotPermitted(f"reviewer: 不能{step.verb}本人提交的申请，须由其他评审人员办理")
    if step.who == FILER and staff.username != filed_by:
        raise NotPermitted(f"filer: 只有申请人 {filed_by} 可以{step.verb}申请")
    if status not in step.begins:
        raise SpecialReviewRefused(f"status: 申请{name(status)}，不能{step.verb}")
    return step.leads_to


def decision(value: str | None) -> Action:
    """``approve`` / ``reject`` → the action."""
    found = DECISIONS.get((value or "").strip())
    if found is None:
        raise SpecialReviewRefused(f"decision: 应为 approve（通过）或 reject（不通过），不是 {value!r}")
    return found


def check_independent(reviewer_institution: str | None, fixmedins_code: str) -> None:
    """利益冲突回避: a reviewer who works at the hospital that filed the request may not decide it.
    ``reviewer_institution`` None: the reviewer is the bureau's own staff."""
    if reviewer_institution is not None and reviewer_institution == fixmedins_code:
        raise NotPermitted(
            f"reviewer_institution: 评审人员所在机构 {reviewer_institution} 即申请医院，须回避（利益冲突）"
        )


# --- what a request says --------------------------------------------------------------------------------------


def kind(value: str | None) -> Kind:
    try:
        return Kind((value or "").strip())
    except ValueError:
        known = "、".join(f"{k.value} {n}" for k, n in KIND_NAMES.items())
        raise SpecialReviewRefused(f"reason: 未知的申请类别 {value!r}（可选：{known}）") from None


def text(value: str | None, field: str, label: str, limit: int, *, required: bool) -> str | None:
    """A statement or a note as stored: trimmed, at most ``limit`` characters, nothing unprintable but line
    breaks and tabs; empty is refused when ``required`` (else None)."""
    t = (value or "").strip()
    if not t:
        if required:
            raise SpecialReviewRefused(f"{field}: 必须填写{label}")
        return None
    if len(t) > limit:
        raise SpecialReviewRefused(f"{field}: {label}最多 {limit} 个字（现 {len(t)} 个）")
    if any(not (c.isprintable() or c in "\n\r\t") for c in t):
        raise SpecialReviewRefused(f"{field}: {label}含不可显示的字符")
    return t


def statement(value: str | None) -> str:
    """医院说明: required."""
    return text(value, "statement", "医院说明", STATEMENT_MAX, required=True)  # type: ignore[return-value]


def note(action: Action, value: str | None) -> str | None:
    """评审意见: required to reject (the hospital is told why), optional to approve or withdraw."""
    label = "撤回说明" if action == Action.WITHDRAW else "评审意见"
    return text(value, "note", label, NOTE_MAX, required=action == Action.REJECT)


_DIGEST = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


def evidence(items: list[Any] | None, of_kind: Kind) -> list[dict]:
    """The attachments as stored: ``[{"name": …, "digest": <sha256 hex> | None}]``. An item is a name, or a
    mapping with ``name`` and an optional ``digest`` (64 hex digits, ``sha256:`` allowed). A kind the case's
    data do not prove (ICU, new technique, rescue) needs at least one."""
    out: list[dict] = []
    for i, item in enumerate(items or []):
        where = f"evidence[{i}]"
        raw_name, raw_digest = (
            (item.get("name"), item.get("digest")) if isinstance(item, Mapping) else (item, None)
        )
        if not isinstance(raw_name, str):
            raise SpecialReviewRefused(f"{where}.name: 附件须有名称")
        shown = text(raw_name, f"{where}.name", "附件名称", NAME_MAX, required=True)
        digest = None
        if raw_digest not in (None, ""):
            found = _DIGEST.fullmatch(str(raw_digest).strip())
            if found is None:
                raise SpecialReviewRefused(f"{where}.digest: 摘要应为 64 位十六进制 SHA-256")
            digest = found.group(1).lower()
        out.append({"name": shown, "digest": digest})
    if len(out) > EVIDENCE_MAX:
        raise SpecialReviewRefused(f"evidence: 附件最多 {EVIDENCE_MAX} 个（现 {len(out)} 个）")
    if not out and of_kind not in CHECKED:
        raise SpecialReviewRefused(f"evidence: {kind_name(of_kind)}须附证明材料（病历摘要、费用清单等）")
    return out


# --- the case ---------------------------------------------------------------------------------------------------


def check_case(case: Case, *, fixmedins_code: str, year: int) -> None:
    """The case a hospital may file for: its own standing inpatient discharge settlement of the year, with a
    valid settlement list (a case without one is neither grouped nor paid by case, so the clearing would have
    nothing to add an approval to)."""
    where = f"setl_id: 结算 {case.setl_id}"
    if case.fixmedins_code != fixmedins_code:
        raise SpecialReviewRefused(f"{where} 不是本院 {fixmedins_code} 的结算（属 {case.fixmedins_code}）")
    if case.year != year:
        raise SpecialReviewRefused(f"{where} 于 {case.year} 年出院，不属 {year} 年度")
    if not case.med_type.startswith(INPATIENT_PREFIX):
        raise SpecialReviewRefused(
            f"{where} 不是住院结算 (med_type {case.med_type})，特例单议只适用于住院病例"
        )
    if case.refd_setl_flag == "1" or case.supplement_of is not None:
        raise SpecialReviewRefused(f"{where} 是撤销记录或补充结算，不是病例的出院结算")
    if case.reversed_by:
        raise SpecialReviewRefused(f"{where} 已撤销 ({case.reversed_by})")
    if case.mid_setl_flag == "1":
        raise SpecialReviewRefused(f"{where} 是中途结算，请对出院结算申请")
    if not case.listed:
        raise SpecialReviewRefused(f"{where} 没有有效的医保结算清单，未按病种付费，不能申请特例单议")


def check_window(settled_on: date | None, today: date, window_days: int) -> None:
    """Filed within ``window_days`` after the case's month was pre-settled (月度预结算); before that, open."""
    if settled_on is None:
        return
    deadline = settled_on + timedelta(days=window_days)
    if today > deadline:
        raise SpecialReviewRefused(
            f"setl_id: 已过申报期限: 该病例所在月份于 {settled_on} 预结算，须在 {window_days} 天内"
            f"（{deadline} 前）申请"
        )


def check_candidate(of_kind: Kind, case: Case, settings: ReviewSettings) -> None:
    """A kind the data prove must hold: 超长住院 a stay of at least ``long_stay_days``; 费用极高 a cost of at
    least ``extreme_ratio`` × the group's mean cost (exact: fen × 10⁴ against ratio × 10⁴ × fen)."""
    if of_kind == Kind.LONG_STAY and case.los < settings.long_stay_days:
        raise SpecialReviewRefused(
            f"reason: 超长住院须住院满 {settings.long_stay_days} 天，该病例住院 {case.los} 天"
        )
    if of_kind == Kind.EXTREME:
        if case.group_mean_fen is None or case.group_mean_fen <= 0:
            group = f"病组 {case.group_code}" if case.group_code else "病例未分组，"
            raise SpecialReviewRefused(
                f"reason: {group}没有本年度的均次费用标准，不能核对费用倍率，不能按费用极高申请"
            )
        if case.cost_fen * BP < settings.extreme_ratio4 * case.group_mean_fen:
            raise SpecialReviewRefused(
                f"reason: 费用极高须达病组均次费用的 {fmt_count(settings.extreme_ratio4).rstrip('0').rstrip('.')} 倍"
                f"（{fmt_yuan(Fen(case.group_mean_fen))} 元），该病例医疗费总额 {fmt_yuan(Fen(case.cost_fen))} 元"
            )


# --- the cap ------------------------------------------------------------------------------------------------------


def cap_limit(discharges: int, cap: BasisPoints) -> int:
    """How many requests a hospital may have filed or approved in a year: ``floor(discharges × cap)``, at
    least 0 (integers: basis points over 10⁴)."""
    return max(discharges * cap // BP, 0)


def check_cap(*, year: int, discharges: int, cap: BasisPoints | None, scheme: str, used: int) -> None:
    """One more request fits under the cap, or the refusal with the arithmetic."""
    if cap is None:
        raise SpecialReviewRefused(
            f"setl_id: 本院支付方式为{SCHEME_NAMES.get(scheme, scheme)}，支付方式政策未规定其特例单议比例，不能申请"
        )
    limit = cap_limit(discharges, cap)
    if used + 1 > limit:
        raise SpecialReviewRefused(
            f"setl_id: 特例单议申请已达上限: 本院 {year} 年出院 {discharges:,} 例 × {share_words(cap)} = "
            f"{limit:,} 例，已申请（含已通过）{used:,} 例"
        )


def check_not_open(setl_id: str, open_id: int | None, open_status: str | None) -> None:
    """One request at a time per case: none waiting and none approved (a rejected one may be filed again)."""
    if open_id is not None:
        raise SpecialReviewRefused(
            f"setl_id: 结算 {setl_id} 已有{name(open_status or '')}的特例单议申请 #{open_id}"
        )


# --- what an approval grants --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Award:
    """An approval's grant: extra points (× 10⁴) or an FFS amount (fen), exactly one of them."""

    extra_points4: int
    ffs_fen: int | None


NOTHING = Award(0, None)


def award(action: Action, extra_points: Any, ffs_amount: Any, *, cost_fen: int) -> Award:
    """What a decision grants. An approval carries exactly one of ``extra_points`` (> 0, at most four
    decimals) and ``ffs_amount`` (yuan, > 0, at most two decimals, not above the case's 医疗费总额: an FFS
    payment pays the items charged); a rejection or a withdrawal neither. Parsed exactly (:mod:`yibao.money`),
    never as a float."""
    points, ffs = _given(extra_points), _given(ffs_amount)
    if action != Action.APPROVE:
        if points is not None or ffs is not None:
            raise SpecialReviewRefused("extra_points: 不通过时不能给出追加点数或按项目付费金额")
        return NOTHING
    if (points is None) == (ffs is None):
        raise SpecialReviewRefused(
            "extra_points: 审议通过须给出追加点数 (extra_points) 或按项目付费金额 (ffs_amount) 二者之一"
            + ("，不能同时给出" if points is not None else "")
        )
    if points is not None:
        try:
            points4 = parse_count(points)
        except AmountError as exc:
            raise SpecialReviewRefused(f"extra_points: 追加点数无效：{_why(exc)}") from None
        if points4 <= 0:
            raise SpecialReviewRefused(f"extra_points: 追加点数须大于 0（填写的是 {points}）")
        return Award(int(points4), None)
    try:
        fen = parse_amount(ffs)
    except AmountError as exc:
        raise SpecialReviewRefused(f"ffs_amount: 按项目付费金额无效：{_why(exc)}") from None
    if fen <= 0:
        raise SpecialReviewRefused(f"ffs_amount: 按项目付费金额须大于 0（填写的是 {ffs}）")
    if fen > cost_fen:
        raise SpecialReviewRefused(
            f"ffs_amount: 按项目付费金额 {fmt_yuan(fen)} 元超过该病例医疗费总额 {fmt_yuan(Fen(cost_fen))} 元"
        )
    return Award(0, int(fen))


def _given(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _why(exc: AmountError) -> str:
    """The Chinese half of a money refusal (``"1.23456" 小数位超过 4 位``), without the English in brackets."""
    return str(exc).split(" (", 1)[0]
