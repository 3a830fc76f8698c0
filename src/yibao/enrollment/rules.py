"""Pure rules of enrollment and contributions: no database, every number from the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from yibao.audit_actions import Action
from yibao.errors import InputError, SettlementError
from yibao.money import BP, MICRO, BasisPoints, Fen, apply_ratio, div_round_half_up, fmt_fen, fmt_scaled
from yibao.policy.schema import ContributionPolicy

if TYPE_CHECKING:
    from yibao.policy.compiler import PolicyBundle

BASIC = ("310", "390")  # a person holds at most one basic insurance at a time
INSUTYPE_NAMES = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}
STATUS = {"0": "未参保", "1": "正常", "2": "暂停", "3": "无效", "4": "终止"}
END_REASONS = {"death": "死亡", "emigration": "出国定居", "transfer_out": "转出", "other": "其他"}
# lifecycle: action (also the audit row's) → (statuses it may start from, status it leads to)
TRANSITIONS = {
    Action.SUSPEND: (("1",), "2"),
    Action.RESUME: (("2",), "1"),
    Action.TERMINATE: (("1", "2"), "4"),
    Action.TRANSFER_OUT: (("1", "2"), "4"),
    Action.CHANGE_CATEGORY: (("1",), "1"),
}


def employer_no(uscc: str) -> str:
    """The default 单位编号 of an employer: E + its registration area (6) + organisation code (8)."""
    return f"E{uscc[2:8]}{uscc[8:16]}"


class TransitionRefused(InputError):
    pass


def transition(action: str, status: str) -> str:
    """The status after ``action`` from ``status``, or a refusal naming the current status."""
    if action not in TRANSITIONS:
        raise TransitionRefused(
            f"action: 未知的参保变更（{action}），可办理：{'、'.join(_ACTION_ZH.values())}"
        )
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        names = "、".join(STATUS[s] for s in allowed)
        raise TransitionRefused(
            f"psn_insu_stas: 参保状态为{STATUS.get(status, status)}，不能{_ACTION_ZH[action]}（仅{names}时可办理）"
        )
    return target


_ACTION_ZH = {
    Action.SUSPEND: "暂停",
    Action.RESUME: "恢复",
    Action.TERMINATE: "终止",
    Action.TRANSFER_OUT: "转出",
    Action.CHANGE_CATEGORY: "变更人员类别",
}


@dataclass(frozen=True)
class Period:
    begndate: date
    enddate: date | None

    def overlaps(self, other: Period) -> bool:
        a_end = self.enddate or date.max
        b_end = other.enddate or date.max
        return self.begndate <= b_end and other.begndate <= a_end


def overlapping(new: Period, existing: list[tuple[str, Period]]) -> str | None:
    """The id of an existing basic enrollment the new one would overlap, if any."""
    for ident, period in existing:
        if new.overlaps(period):
            return ident
    return None


# statuses whose period still counts: 无效 (3) and 未参保 (0) never held insurance
HOLDING = ("1", "2", "4")


def base_bounds(policy: ContributionPolicy) -> tuple[Fen, Fen]:
    """(floor, ceiling) of the contribution base in fen: 60 % and 300 % of the average monthly wage."""
    avg = policy.average_monthly_wage
    return apply_ratio(avg, policy.employee.base_floor), apply_ratio(avg, policy.employee.base_ceiling)


def contribution_base(wage: Fen, policy: ContributionPolicy) -> Fen:
    """缴费基数: the wage clamped to [floor, ceiling] × the average monthly wage (fen)."""
    if wage < 0:
        raise InputError(f"wage: 工资不能为负（填写的是 {fmt_fen(wage)}）")
    lo, hi = base_bounds(policy)
    return min(max(wage, lo), hi)


def employee_contribution(wage: Fen, policy: ContributionPolicy) -> tuple[Fen, Fen, Fen]:
    """(base, employer share to the pool, employee share to the account), rounded half up to the fen."""
    base = contribution_base(wage, policy)
    return (
        base,
        apply_ratio(base, policy.employee.employer_rate),
        apply_ratio(base, policy.employee.employee_rate),
    )


def flexible_contribution(chosen_base: Fen, policy: ContributionPolicy) -> tuple[Fen, Fen]:
    """灵活就业: (base within the bounds, contribution all to the pool). A base outside the bounds is refused."""
    lo, hi = base_bounds(policy)
    if not lo <= chosen_base <= hi:
        raise InputError(
            f"flexible_base: 缴费基数须在 {fmt_fen(lo)} 与 {fmt_fen(hi)} 元之间（填写的是 {fmt_fen(chosen_base)}）"
        )
    return chosen_base, apply_ratio(chosen_base, policy.employee.flexible_rate)


def assistance_share(policy: ContributionPolicy, identities: list[str]) -> BasisPoints:
    """资助参保 share (basis points) of the individual contribution: the largest of the person's identities."""
    shares = policy.resident.assistance_shares
    return max((shares.get(i, 0) for i in identities), default=0)


def resident_contribution(policy: ContributionPolicy, identities: list[str]) -> tuple[Fen, Fen, Fen]:
    """(individual due, 资助参保 by the assistance fund, government subsidy) of one 居民 for the year.

    With several assistance identities the largest share applies."""
    r = policy.resident
    assisted = apply_ratio(r.individual, assistance_share(policy, identities))
    return r.individual - assisted, assisted, r.subsidy


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a day the target month lacks becomes its last (31 Jan + 1 → 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def in_window(registered: date, begndate: date, policy: ContributionPolicy) -> bool:
    """A 居民 enrolling for year Y inside the window (e.g. 1 Sep – 31 Dec of Y − 1) waits for nothing."""
    r = policy.resident
    if begndate != date(begndate.year, 1, 1):
        return False
    y = begndate.year - 1
    lo = date(y, *map(int, r.window_from.split("-")))
    hi = date(y, *map(int, r.window_to.split("-")))
    return lo <= registered <= hi


def break_days(previous_end: date | None, begndate: date) -> int:
    """Days without basic insurance between the end of the previous enrollment and this start (0 = none)."""
    return max((begndate - previous_end).days - 1, 0) if previous_end is not None else 0


def waiting_until(
    begndate: date,
    policy: ContributionPolicy,
    *,
    registered: date | None,
    insutype: str,
    previous_end: date | None,
) -> date | None:
    """待遇等待期: the first day benefits may be enjoyed (None = no waiting). A 居民 registered outside the
    window, or anyone whose enrollment follows a break, waits ``waiting_months`` plus one month per full
    year (365 days) of break, counted from the later of the start and the registration.

    ``registered`` None is a record taken over as it stands (a bulk load of existing enrollments): only a
    break counts, not the registration date."""
    gap = break_days(previous_end, begndate)
    late = registered is not None and insutype == "390" and not in_window(registered, begndate, policy)
    if gap == 0 and not late:
        return None
    r = policy.resident
    start = begndate if registered is None else max(begndate, registered)
    return add_months(start, r.waiting_months + r.waiting_months_per_break_year * (gap // 365))


def contribution_policy(bundle: PolicyBundle, day: date) -> ContributionPolicy:
    """The contribution policy in force on ``day`` (its window and waiting months too), or why there is none."""
    ver = bundle.version_index(day)
    if ver is None or bundle.policies[ver].contribution is None:
        raise InputError(f"date: {day} 没有缴费政策")
    return bundle.policies[ver].contribution


def status_on(enr, day: date) -> str:
    """psn_insu_stas as it was on ``day``: a visit before a later suspension (暂停 from ``paus_insu_date``)
    or a termination (终止 after ``enddate``, e.g. 死亡出院) is settled as the status then allowed."""
    if enr.psn_insu_stas not in ("2", "4"):
        return enr.psn_insu_stas
    if enr.paus_insu_date is not None and day >= enr.paus_insu_date:
        return "2"
    if enr.psn_insu_stas == "4" and enr.enddate is not None and day > enr.enddate:
        return "4"
    return "1"


def choose_enrollment(rows, psn_no: str, insutype: str | None, day: date):
    """Of a person's enrollments begun by ``day`` (latest first), the one in force, or why there is none:
    not enrolled that day, a status without benefits, or inside the waiting period (``wait_until``). Rows
    are anything with begndate, enddate, psn_insu_stas, paus_insu_date and wait_until (a stored
    enrollment, or a scenario's period)."""
    rows = [e for e in rows if e.enddate is None or e.enddate >= day]
    if not rows:
        raise SettlementError(
            f"insutype: 人员 {psn_no} 在 {day} 未参加险种 {insutype or '(any)'} (not enrolled)"
        )
    enr = rows[0]
    stas = status_on(enr, day)
    if stas != "1":
        raise SettlementError(f"psn_insu_stas: 参保状态为 {stas} {STATUS.get(stas, stas)}，不能享受待遇")
    if enr.wait_until is not None and day < enr.wait_until:
        raise SettlementError(f"wait_until: 待遇等待期至 {enr.wait_until}，{day} 不能享受待遇")
    return enr


def minimum_months(gend: str, policy: ContributionPolicy) -> int:
    """Contribution months a retiree needs to keep benefits: 25 years for men (gend 1), 20 for women."""
    return 12 * (policy.employee.min_years_male if gend == "1" else policy.employee.min_years_female)


def short_of_minimum_years(months: int, gend: str, policy: ContributionPolicy) -> bool:
    """A retiree whose 职工 contribution years fall short of the minimum (25 men / 20 women) is flagged."""
    return months < minimum_months(gend, policy)


def coverage_rate(insured: int, population: int) -> tuple[str | None, str | None]:
    """参保率 (insured ÷ resident population): as a fraction with 6 decimals and as a percentage with 4, from
    one half-up rounding, exact; (None, None) without a population."""
    if population <= 0:
        return None, None
    micro = div_round_half_up(insured * MICRO, population)  # millionths: a fraction, and a percentage ×100
    return fmt_scaled(micro, MICRO, 6), fmt_scaled(micro, BP, 4)


# --- 业务校验: plausible dates and categories. The numbers are a region's data (region.yaml ``enrollment:``,
# read by :mod:`yibao.enrollment.checks_data`); these defaults apply where a region says nothing. ---------


@dataclass(frozen=True)
class AgeBand:
    """Full years of age a 人员类别 admits on the day it is taken (both ends inclusive; None = open)."""

    low: int | None = None
    high: int | None = None

    def admits(self, age: int) -> bool:
        return (self.low is None or age >= self.low) and (self.high is None or age <= self.high)

    def text(self) -> str:
        if self.high is None:
            return f"{self.low} 周岁及以上"
        if self.low in (None, 0):
            return f"不满 {self.high + 1} 周岁"
        return f"{self.low}–{self.high} 周岁"


@dataclass(frozen=True)
class EnrollmentChecks:
    """What a region holds plausible: how far ahead an enrollment or a change may be dated (``lead_days``),
    and the ages each 人员类别 of each 险种 admits (``ages``: insutype → psn_type → gend or "*" → band; a
    code not listed takes its parent's, 1401 → 14)."""

    lead_days: int = 90
    ages: dict[str, dict[str, dict[str, AgeBand]]] | None = None
    type_names: dict[str, str] | None = None  # 人员类别 code → name (the national dictionary)

    def type_name(self, psn_type: str) -> str:
        name = (self.type_names or {}).get(psn_type)
        return f"{psn_type} {name}" if name else psn_type

    def band(self, insutype: str, psn_type: str, gend: str) -> AgeBand | None:
        by_type = (self.ages if self.ages is not None else DEFAULT_AGES).get(insutype, {})
        for code in sorted((c for c in by_type if psn_type.startswith(c)), key=len, reverse=True):
            by_gend = by_type[code]
            return by_gend.get(gend, by_gend.get("*"))
        return None


_ANY = "*"
DEFAULT_AGES: dict[str, dict[str, dict[str, AgeBand]]] = {
    "310": {
        "11": {_ANY: AgeBand(16, None)},  # 在职: the legal working age
        # 退休: the earliest lawful retirement (因病完全丧失劳动能力 男 50 / 女 45); a region may ask more
        "12": {"1": AgeBand(50, None), "2": AgeBand(45, None), _ANY: AgeBand(45, None)},
        "13": {_ANY: AgeBand(60, None)},  # 离休
    },
    "390": {
        "14": {_ANY: AgeBand(0, 17)},  # 未成年
        "1401": {_ANY: AgeBand(0, 0)},  # 新生儿: enrolled in the first year of life
        "1402": {_ANY: AgeBand(0, 6)},  # 学龄前儿童
        "1403": {_ANY: AgeBand(5, 20)},  # 中小学生
        "1404": {_ANY: AgeBand(15, 40)},  # 大学生 (研究生 included)
        "1405": {_ANY: AgeBand(0, 17)},  # 未成年未入学
        "15": {_ANY: AgeBand(18, 59)},  # 成年
        "16": {_ANY: AgeBand(60, None)},  # 老年
    },
}
DEFAULT_CHECKS = EnrollmentChecks()


def age_on(brdy: date, day: date) -> int:
    """Full years of age on ``day`` (周岁): the birthday counts from its date; 29 Feb from 1 Mar."""
    return day.year - brdy.year - ((day.month, day.day) < (brdy.month, brdy.day))


def latest_allowed(checks: EnrollmentChecks, today: date) -> date:
    return today + timedelta(days=checks.lead_days)


def check_date(field: str, label: str, day: date, checks: EnrollmentChecks, today: date, brdy: date) -> None:
    """A date a clerk gives: not before the person's birth, not later than the lead time allows."""
    if day < brdy:
        raise InputError(f"{field}: {label}不能早于出生日期（{brdy}）")
    last = latest_allowed(checks, today)
    if day > last:
        raise InputError(
            f"{field}: {label}不能晚于 {last}（最多提前 {checks.lead_days} 天办理；填写的是 {day}）"
        )


def check_category_age(
    checks: EnrollmentChecks, insutype: str, psn_type: str, brdy: date, gend: str, day: date
) -> None:
    """人员类别 consistent with the person's age on ``day`` (a 40-year-old is not a 新生儿)."""
    band = checks.band(insutype, psn_type, gend)
    age = age_on(brdy, day)
    if band is not None and not band.admits(age):
        raise InputError(
            f"psn_type: 人员类别「{checks.type_name(psn_type)}」适用于{band.text()}的人员，"
            f"该人员 {day} 时 {age} 周岁"
        )


# the order a form suggests a category in: by age first, the students' categories only when no other fits
SUGGESTION_ORDER = ("1401", "1402", "15", "16", "1403", "1405", "1404", "11", "12", "13")


def suggested_category(checks: EnrollmentChecks, insutype: str, codes: list[str], brdy: date, day: date):
    """Of ``codes`` (a form's options), the first in :data:`SUGGESTION_ORDER` the person's age on ``day``
    admits (a 40-year-old 居民 is 成年, not 大学生), or None."""
    age = age_on(brdy, day)
    rank = {c: i for i, c in enumerate(SUGGESTION_ORDER)}
    for code in sorted(codes, key=lambda c: rank.get(c, len(rank))):
        band = checks.band(insutype, code, _ANY)
        if band is None or band.admits(age):
            return code
    return None


# future-dated changes (预约): stored at once, in force from their date (status_on reads the dates)


def scheduled_change(enr, today: date) -> str | None:
    """What a clerk is told of a change recorded but not yet in force on ``today`` (None = none): a 暂停
    dated later, a 终止 or 转出 whose last insured day is still to come, a 退休 from a later day."""
    if enr.psn_insu_stas == "2" and enr.paus_insu_date is not None and enr.paus_insu_date > today:
        return f"暂停已预约，{enr.paus_insu_date} 生效"
    if enr.psn_insu_stas == "4" and enr.enddate is not None and enr.enddate >= today:
        if enr.end_reason in ("retired", "category"):
            what = "退休" if enr.end_reason == "retired" else "人员类别变更"
            return f"{what}已预约，{enr.enddate + timedelta(days=1)} 生效"
        what = "转出" if enr.end_reason == "transfer_out" else "终止"
        return f"{what}已预约，参保至 {enr.enddate}"
    return None


def status_text(enr, today: date) -> str:
    """参保状态 as a clerk reads it on ``today``: a scheduled change says so (正常（暂停已预约，2027-03-01 生效））."""
    if enr.psn_insu_stas in ("1", "2", "4") and enr.begndate > today:
        return f"已预约，{enr.begndate} 生效"
    pending = scheduled_change(enr, today)
    if pending is not None:
        return f"正常（{pending}）"
    return STATUS.get(enr.psn_insu_stas, enr.psn_insu_stas)


# lifecycle actions a form may offer, by the key the console and the REST paths use
RETIRE = "retire"


def actions_for(enr, today: date) -> list[str]:
    """The lifecycle actions that apply to an enrollment, as :data:`TRANSITIONS` and the categories allow:
    暂停 / 终止 / 转出 while 正常, 恢复 while 暂停 (of a 暂停 not yet in force: cancelling it), 在职 → 退休 only
    on a 职工 在职 enrollment. A 终止 (or a scheduled one) leaves none."""
    lifecycle = (Action.SUSPEND, Action.RESUME, Action.TERMINATE, Action.TRANSFER_OUT)
    out: list[str] = [a for a in lifecycle if enr.psn_insu_stas in TRANSITIONS[a][0]]
    if enr.psn_insu_stas == "1" and enr.insutype == "310" and enr.psn_type.startswith("11"):
        out.append(RETIRE)
    return out
