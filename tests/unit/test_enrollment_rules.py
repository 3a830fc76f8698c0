"""Pure enrollment rules against the demo policy (2025: average wage 7,500.00; 2026: 7,800.00): contribution
arithmetic at the bounds and the fen, 资助参保 shares, waiting periods at their edges, the lifecycle, the
retirees' minimum years and overlap detection. No database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kernel_helpers import demo_bundle
from yibao.enrollment import rules
from yibao.enrollment.periods import parse_month
from yibao.enrollment.rules import Period
from yibao.errors import InputError
from yibao.money import apply_ratio_array, parse_amount


def policy(year: int):
    bundle = demo_bundle()
    return bundle.policies[bundle.version_index(date(year, 6, 1))].contribution


P25, P26 = policy(2025), policy(2026)
Y = parse_amount  # "4500.00" → 450000 fen


def test_policy_values_are_the_issue_s():
    assert (P25.average_monthly_wage, P26.average_monthly_wage) == (Y("7500.00"), Y("7800.00"))
    e = P25.employee
    assert (e.employer_rate, e.employee_rate, e.flexible_rate) == (800, 200, 800)
    assert (e.base_floor, e.base_ceiling, e.retiree_account_credit) == (6000, 30000, Y("90.00"))
    assert (e.min_years_male, e.min_years_female) == (25, 20)
    assert (P25.resident.individual, P25.resident.subsidy) == (Y("400.00"), Y("700.00"))
    assert (P26.resident.individual, P26.resident.subsidy) == (Y("420.00"), Y("730.00"))
    assert rules.base_bounds(P25) == (Y("4500.00"), Y("22500.00"))
    assert rules.base_bounds(P26) == (Y("4680.00"), Y("23400.00"))


# --- 职工 contributions: base clamped to [60 %, 300 %], 8 % employer, 2 % employee, half up to the fen ----
@pytest.mark.parametrize(
    ("pol", "wage", "base", "employer", "employee"),
    [
        (P25, "4499.99", "4500.00", "360.00", "90.00"),  # just below 60 %: the floor
        (P25, "4500.00", "4500.00", "360.00", "90.00"),  # exactly 60 %
        (P25, "4500.01", "4500.01", "360.00", "90.00"),  # 360.0008 / 90.0002
        (P25, "22499.99", "22499.99", "1800.00", "450.00"),  # 1799.9992 / 449.9998 round up
        (P25, "22500.00", "22500.00", "1800.00", "450.00"),  # exactly 300 %
        (P25, "22500.01", "22500.00", "1800.00", "450.00"),  # just above: the ceiling
        (P25, "0.00", "4500.00", "360.00", "90.00"),  # a zero wage pays on the floor
        (P25, "6000.25", "6000.25", "480.02", "120.01"),  # 2 %: 120.005 → half up
        (P25, "6000.24", "6000.24", "480.02", "120.00"),  # 120.0048 → down
        (P25, "6000.19", "6000.19", "480.02", "120.00"),  # 8 %: 480.0152 → up
        (P25, "6000.06", "6000.06", "480.00", "120.00"),  # 480.0048 → down
        (P26, "4679.99", "4680.00", "374.40", "93.60"),
        (P26, "4680.00", "4680.00", "374.40", "93.60"),
        (P26, "4680.01", "4680.01", "374.40", "93.60"),
        (P26, "23400.00", "23400.00", "1872.00", "468.00"),
        (P26, "23400.01", "23400.00", "1872.00", "468.00"),
    ],
)
def test_employee_contribution_at_the_bounds(pol, wage, base, employer, employee):
    assert rules.employee_contribution(Y(wage), pol) == (Y(base), Y(employer), Y(employee))
    # the vectorised run computes the same fen
    b = np.array([rules.contribution_base(Y(wage), pol)], dtype=np.int64)
    assert int(apply_ratio_array(b, pol.employee.employer_rate)[0]) == Y(employer)
    assert int(apply_ratio_array(b, pol.employee.employee_rate)[0]) == Y(employee)


def test_a_negative_wage_is_refused():
    with pytest.raises(InputError, match=r"^wage: 工资不能为负"):
        rules.contribution_base(-1, P25)


def _decimal_share(base_fen: int, rate: str) -> int:
    return int((Decimal(base_fen) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=400)
@given(st.integers(0, 10_000_000), st.sampled_from([P25, P26]))
def test_contribution_invariants(wage, pol):
    lo, hi = rules.base_bounds(pol)
    base, er, ee = rules.employee_contribution(wage, pol)
    assert lo <= base <= hi
    assert base == wage if lo <= wage <= hi else base == (lo if wage < lo else hi)
    assert er == _decimal_share(base, "0.08") and ee == _decimal_share(base, "0.02")  # an independent oracle
    assert rules.employee_contribution(wage + 1, pol)[0] >= base  # monotone


@settings(max_examples=300)
@given(st.lists(st.integers(0, 50_000_000), min_size=1, max_size=50), st.integers(0, 40_000))
def test_vector_rounding_equals_apply_ratio(values, bp):
    from yibao.money import apply_ratio

    got = apply_ratio_array(np.array(values, dtype=np.int64), bp).tolist()
    assert got == [apply_ratio(v, bp) for v in values]


# --- 灵活就业 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pol", "chosen", "due"),
    [
        (P25, "4500.00", "360.00"),
        (P25, "10000.00", "800.00"),
        (P25, "22500.00", "1800.00"),
        (P26, "4680.00", "374.40"),
        (P26, "23400.00", "1872.00"),
    ],
)
def test_flexible_contribution_within_the_bounds(pol, chosen, due):
    assert rules.flexible_contribution(Y(chosen), pol) == (Y(chosen), Y(due))


@pytest.mark.parametrize(
    ("pol", "chosen", "message"),
    [
        (P25, "4499.99", "flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间（填写的是 4499.99）"),
        (P25, "22500.01", "flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间（填写的是 22500.01）"),
        (P26, "4500.00", "flexible_base: 缴费基数须在 4680.00 与 23400.00 元之间（填写的是 4500.00）"),
        (P26, "23400.01", "flexible_base: 缴费基数须在 4680.00 与 23400.00 元之间（填写的是 23400.01）"),
    ],
)
def test_flexible_bounds_refused(pol, chosen, message):
    with pytest.raises(InputError) as exc:
        rules.flexible_contribution(Y(chosen), pol)
    assert exc.value.message == message


# --- 居民 and 资助参保 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pol", "identities", "individual", "assisted", "subsidy"),
    [
        (P25, [], "400.00", "0.00", "700.00"),
        (P25, ["2304"], "0.00", "400.00", "700.00"),  # 特困 100 %
        (P25, ["2301"], "0.00", "400.00", "700.00"),  # 三无 100 %
        (P25, ["2303"], "120.00", "280.00", "700.00"),  # 低保 70 %
        (P25, ["2305"], "200.00", "200.00", "700.00"),  # 低收入 50 %
        (P25, ["2302"], "200.00", "200.00", "700.00"),  # 脱贫 50 %
        (P25, ["2306"], "400.00", "0.00", "700.00"),  # 因病致贫: assistance in settlement, not here
        (P25, ["2101"], "400.00", "0.00", "700.00"),  # not an assistance identity
        (P25, ["2305", "2303"], "120.00", "280.00", "700.00"),  # several → the largest
        (P25, ["2302", "2304", "2303"], "0.00", "400.00", "700.00"),
        (P26, [], "420.00", "0.00", "730.00"),
        (P26, ["2303"], "126.00", "294.00", "730.00"),
        (P26, ["2302"], "210.00", "210.00", "730.00"),
        (P26, ["2301", "2305"], "0.00", "420.00", "730.00"),
    ],
)
def test_resident_contribution_and_assistance_shares(pol, identities, individual, assisted, subsidy):
    assert rules.resident_contribution(pol, identities) == (Y(individual), Y(assisted), Y(subsidy))


@given(st.lists(st.sampled_from(["2301", "2302", "2303", "2304", "2305", "2306", "2101"]), max_size=5))
def test_resident_parts_add_up(identities):
    individual, assisted, _ = rules.resident_contribution(P25, identities)
    assert individual + assisted == Y("400.00")
    shares = {"2304": 10_000, "2301": 10_000, "2303": 7_000, "2305": 5_000, "2302": 5_000}
    assert assisted == Y("400.00") * max([shares.get(i, 0) for i in identities], default=0) // 10_000


# --- waiting periods (待遇等待期): the window 1 Sep – 31 Dec, 3 months + 1 per full year of break -----------
def wait(begndate, *, registered=None, insutype="390", previous_end=None, pol=P25):
    return rules.waiting_until(
        begndate, pol, registered=registered, insutype=insutype, previous_end=previous_end
    )


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        (date(2025, 8, 31), date(2026, 4, 1)),  # one day before the window: 3 months
        (date(2025, 9, 1), None),  # the window's first day
        (date(2025, 10, 15), None),
        (date(2025, 12, 31), None),  # the window's last day
        (date(2026, 1, 1), date(2026, 4, 1)),  # one day after: 3 months from the start
        (date(2026, 1, 2), date(2026, 4, 2)),  # later still: counted from the registration
        (date(2026, 2, 28), date(2026, 5, 28)),
        (date(2024, 12, 31), date(2026, 4, 1)),  # the window of the year before does not count
    ],
)
def test_resident_window_edges(registered, expected):
    assert wait(date(2026, 1, 1), registered=registered, pol=P26) == expected
    assert rules.in_window(registered, date(2026, 1, 1), P26) is (expected is None)


def test_a_resident_starting_mid_year_waits_even_when_registered_in_a_window():
    assert not rules.in_window(date(2025, 10, 1), date(2025, 10, 1), P25)
    assert wait(date(2025, 10, 1), registered=date(2025, 10, 1)) == date(2026, 1, 1)
    assert wait(date(2025, 3, 15), registered=date(2025, 3, 15)) == date(2025, 6, 15)


def test_employees_have_no_window():
    assert wait(date(2025, 3, 15), registered=date(2025, 3, 15), insutype="310") is None


@pytest.mark.parametrize(
    ("previous_end", "begndate", "gap", "expected"),
    [
        (date(2024, 12, 31), date(2025, 1, 1), 0, None),  # continuous
        (date(2024, 12, 31), date(2025, 1, 2), 1, date(2025, 4, 2)),  # one day of break: 3 months
        (date(2024, 12, 31), date(2025, 12, 31), 364, date(2026, 3, 31)),  # 364 days: not a full year
        (date(2024, 12, 31), date(2026, 1, 1), 365, date(2026, 5, 1)),  # 365 days: 3 + 1 months
        (date(2024, 12, 31), date(2026, 12, 31), 729, date(2027, 4, 30)),  # still one full year
        (date(2024, 12, 31), date(2027, 1, 1), 730, date(2027, 6, 1)),  # two full years: 3 + 2
        (date(2023, 12, 31), date(2025, 1, 1), 366, date(2025, 5, 1)),  # a leap year of break
        (date(2025, 6, 30), date(2025, 7, 1), 0, None),
    ],
)
def test_break_edges(previous_end, begndate, gap, expected):
    assert rules.break_days(previous_end, begndate) == gap
    for insutype in ("310", "390"):  # a break makes anyone wait; registered in time changes nothing
        got = wait(
            begndate, registered=date(begndate.year - 1, 10, 1), insutype=insutype, previous_end=previous_end
        )
        if insutype == "390" and begndate != date(begndate.year, 1, 1) and expected is None:
            continue  # a mid-year 居民 start is outside the window whatever the break
        assert got == expected, insutype


def test_a_late_resident_after_a_break_waits_for_both_from_the_registration():
    # break of 365 days (2025) and registered on 2026-02-10 for 2026: 4 months from the registration
    assert wait(
        date(2026, 1, 1), registered=date(2026, 2, 10), previous_end=date(2024, 12, 31), pol=P26
    ) == date(2026, 6, 10)


def test_a_record_taken_over_as_it_stands_only_waits_after_a_break():
    assert wait(date(2025, 3, 1), registered=None) is None
    assert wait(date(2025, 3, 1), registered=None, previous_end=date(2025, 1, 31)) == date(2025, 6, 1)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2025, 8, 31), 3, date(2025, 11, 30)),
        (date(2025, 10, 31), 4, date(2026, 2, 28)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2025, 12, 31), 3, date(2026, 3, 31)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # across the year
        (date(2025, 5, 31), 12, date(2026, 5, 31)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 3, 15), 0, date(2025, 3, 15)),
    ],
)
def test_add_months_at_month_ends(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_a_late_registration_at_a_month_end():
    assert wait(date(2025, 11, 30), registered=date(2025, 11, 30)) == date(2026, 2, 28)


@settings(max_examples=400)
@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(-120, 120))
def test_add_months_properties(day, months):
    got = rules.add_months(day, months)
    assert (got.year * 12 + got.month) - (day.year * 12 + day.month) == months
    assert got.day <= day.day
    if day.day <= 28:
        assert got.day == day.day
    else:  # clipped to the target month's end only when the day does not exist there
        assert got.day == day.day or (got + timedelta(days=1)).day == 1


@settings(max_examples=300)
@given(st.dates(date(2025, 1, 1), date(2028, 12, 31)), st.integers(0, 2000), st.integers(0, 2000))
def test_waiting_grows_with_the_break(begndate, gap_a, gap_b):
    lo, hi = sorted((gap_a, gap_b))
    a = wait(begndate, insutype="310", previous_end=begndate - timedelta(days=lo + 1))
    b = wait(begndate, insutype="310", previous_end=begndate - timedelta(days=hi + 1))
    assert (a is None) == (lo == 0) and (b is None) == (hi == 0)
    if a is not None:
        assert rules.add_months(begndate, 3) <= a <= b == rules.add_months(begndate, 3 + hi // 365)


# --- lifecycle ------------------------------------------------------------------------------------------
ALLOWED = {
    ("suspend", "1"): "2",
    ("resume", "2"): "1",
    ("terminate", "1"): "4",
    ("terminate", "2"): "4",
    ("transfer_out", "1"): "4",
    ("transfer_out", "2"): "4",
    ("change_category", "1"): "1",
}


@pytest.mark.parametrize("action", sorted(rules.TRANSITIONS))
@pytest.mark.parametrize("status", ["0", "1", "2", "3", "4"])
def test_every_transition_from_every_status(action, status):
    if (action, status) in ALLOWED:
        assert rules.transition(action, status) == ALLOWED[(action, status)]
    else:
        with pytest.raises(rules.TransitionRefused) as exc:
            rules.transition(action, status)
        assert exc.value.message.startswith(f"psn_insu_stas: 参保状态为{rules.STATUS[status]}，不能")


def test_refusals_name_the_status_and_what_is_allowed():
    with pytest.raises(rules.TransitionRefused) as exc:
        rules.transition("resume", "1")
    assert exc.value.message == "psn_insu_stas: 参保状态为正常，不能恢复（仅暂停时可办理）"
    with pytest.raises(rules.TransitionRefused) as exc:
        rules.transition("terminate", "4")
    assert exc.value.message == "psn_insu_stas: 参保状态为终止，不能终止（仅正常、暂停时可办理）"
    with pytest.raises(rules.TransitionRefused) as exc:
        rules.transition("revive", "4")
    assert exc.value.message.startswith("action: 未知的参保变更（revive）")


# --- retirees' minimum contribution years -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("gend", "months", "short"),
    [
        ("1", 299, True),
        ("1", 300, False),
        ("1", 301, False),
        ("2", 239, True),
        ("2", 240, False),
        ("1", 240, True),
        ("2", 0, True),
    ],
)
def test_minimum_years_at_the_edge(gend, months, short):
    assert rules.short_of_minimum_years(months, gend, P25) is short
    assert rules.minimum_months(gend, P25) == (300 if gend == "1" else 240)


# --- overlap ------------------------------------------------------------------------------------------
OPEN = date(2025, 1, 1)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (Period(OPEN, date(2025, 6, 30)), Period(date(2025, 6, 30), None), True),  # the same last day
        (Period(OPEN, date(2025, 6, 30)), Period(date(2025, 7, 1), None), False),  # the day after
        (Period(OPEN, None), Period(date(2030, 1, 1), None), True),  # open-ended covers the future
        (Period(date(2025, 2, 1), None), Period(OPEN, date(2025, 1, 31)), False),
        (Period(date(2025, 2, 1), date(2025, 2, 1)), Period(OPEN, date(2025, 12, 31)), True),  # inside
    ],
)
def test_overlap_edges(a, b, overlap):
    assert a.overlaps(b) is overlap and b.overlaps(a) is overlap
    assert rules.overlapping(a, [("7", b)]) == ("7" if overlap else None)


def test_employer_number_and_month_parsing():
    assert rules.employer_no("91990102MA0000101X") == "E990102MA000010"
    assert parse_month("2025-03") == (202503, date(2025, 3, 1), date(2025, 3, 31))
    assert parse_month("2024-02")[2] == date(2024, 2, 29)
    with pytest.raises(InputError, match=r'^--month: "2025-13" 不是月份'):
        parse_month("2025-13")


def test_coverage_rate_rounds_half_up_once_for_the_report_and_the_console():
    from decimal import Decimal

    from yibao.console.queries_enrollment import percent
    from yibao.enrollment.rules import coverage_rate

    assert coverage_rate(1, 3) == ("0.333333", "33.3333")
    assert coverage_rate(1, 2_000_000) == ("0.000001", "0.0001")  # 0.5 millionths: half up
    assert coverage_rate(1, 2_000_001) == ("0.000000", "0.0000")
    assert coverage_rate(5, 0) == (None, None)
    assert percent(1, 2_000_000) == Decimal("0.0001") and percent(5, 0) == 0
