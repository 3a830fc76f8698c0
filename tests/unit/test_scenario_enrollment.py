"""person.enrollment in scenarios: one-line errors naming the key, and wait_until as enrollment computes it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.settlement.scenario_persons import enrollment_history
from yibao.settlement.scenarios import bundle_cache, run_case

HERE = Path(__file__).resolve().parents[1]
BUNDLES = bundle_cache(HERE.parent / "regions")
VISIT = {"med_type": "11", "hosp_lv": 1, "fees": [{"chrgitm_lv": "01", "pric": "100.00", "cnt": 1}]}


def _run(enrollment, *days: str, insutype: str = "390", psn_type: str = "15"):
    person = {"insutype": insutype, "psn_type": psn_type}
    if enrollment is not ...:
        person["enrollment"] = enrollment
    case = {"name": "c", "person": person, "steps": [{"settle": {**VISIT, "begndate": d}} for d in days]}
    warnings: list[str] = []
    outcome = run_case(lambda r: BUNDLES("990100"), case, 1, warnings)
    return outcome, warnings


@pytest.mark.parametrize(
    ("enrollment", "message"),
    [
        ([{"from": "2025-02-30"}], 'person.enrollment[1].from: "2025-02-30" is not a date (YYYY-MM-DD)'),
        (
            [{"from": "2024-01-01", "to": "2024-12-31"}, {"from": "2025-06-15", "registered": "15/06/2025"}],
            'person.enrollment[2].registered: "15/06/2025" is not a date (YYYY-MM-DD)',
        ),
        ([{"to": "2025-12-31"}], "person.enrollment[1].from: missing"),
        (
            [{"from": "2025-03-01", "to": "2025-02-01"}],
            "person.enrollment[1].to: 2025-02-01 is before from 2025-03-01",
        ),
        (
            [{"from": "2024-01-01", "to": "2025-03-31"}, {"from": "2025-03-01"}],
            "person.enrollment[2]: overlaps person.enrollment[1] (2024-01-01 – 2025-03-31); "
            "one basic insurance at a time",
        ),
        (
            [{"from": "2025-01-01"}, {"from": "2024-01-01", "to": "2025-01-01"}],  # one day in common
            "person.enrollment[2]: overlaps person.enrollment[1] (2025-01-01 – …); one basic insurance at a time",
        ),
        ("2025-01-01", "person.enrollment: a list of periods ({from, to, registered})"),
        (["2025-01-01"], "person.enrollment[1]: a period is a mapping ({from, to, registered})"),
        (
            [{"from": "2024-05-01", "registered": "2024-05-01"}],  # no contribution policy before 2025
            "person.enrollment[1].from: 2024-05-01 没有缴费政策",
        ),
        (
            [{"from": "2024-05-01", "registered": "2024-06-01"}],
            "person.enrollment[1].registered: 2024-06-01 没有缴费政策",
        ),
    ],
)
def test_bad_enrollment_is_refused_naming_the_key(enrollment, message):
    outcome, _ = _run(enrollment, "2025-07-01")
    assert [s.as_json() for s in outcome.steps] == [{"step": 1, "kind": "error", "error": message}]


def test_no_enrollment_is_enrolled_all_along():
    outcome, warnings = _run(..., "2025-01-01", "2026-12-31")
    assert [s.kind for s in outcome.steps] == ["settle", "settle"] and not warnings


def test_an_empty_history_is_never_enrolled():
    outcome, _ = _run([], "2025-03-01")
    assert outcome.steps[0].error == "insutype: 人员 (scenario) 在 2025-03-01 未参加险种 390 (not enrolled)"


def test_a_period_without_registration_or_break_needs_no_policy():
    # 2010 has no policy: taken over as it stands, it waits for nothing and reads none
    outcome, _ = _run([{"from": "2010-01-01"}], "2025-03-01")
    assert outcome.steps[0].kind == "settle"


def test_unknown_period_keys_are_warned():
    outcome, warnings = _run([{"from": "2025-01-01", "begndate": "2025-01-01"}], "2025-03-01")
    assert outcome.steps[0].kind == "settle"
    assert warnings == ["person.enrollment[1].begndate: unknown field ignored"]


@pytest.mark.parametrize(
    ("insutype", "periods", "waits"),
    [
        ("390", [("2025-04-10", None, "2025-04-10")], ["2025-07-10"]),  # outside the window: 3 months
        ("390", [("2025-01-01", None, "2024-09-01")], [None]),  # the window's first day
        ("390", [("2025-01-01", None, "2024-08-31")], ["2025-04-01"]),  # the day before it
        (
            "390",
            [("2024-01-01", "2024-12-31", None), ("2025-01-01", None, "2025-01-05")],
            [None, "2025-04-05"],
        ),
        ("390", [("2020-01-01", "2022-12-31", None), ("2025-01-01", None, None)], [None, "2025-06-01"]),
        ("390", [("2025-03-01", None, None), ("2022-01-01", "2023-12-31", None)], ["2025-07-01", None]),
        # 职工: 581 days of break, 3 + 1 months from the registration (later than the start)
        (
            "310",
            [("2020-01-01", "2023-06-30", None), ("2025-02-01", None, "2025-03-01")],
            [None, "2025-07-01"],
        ),
        ("310", [("2025-06-15", None, "2025-06-15")], [None]),  # no window for 职工, no break
    ],
)
def test_wait_until_of_each_period(insutype, periods, waits):
    raw = {"insutype": insutype, "enrollment": [{"from": b, "to": e, "registered": r} for b, e, r in periods]}
    history = enrollment_history(raw, BUNDLES("990100"), [])
    assert [p.wait_until for p in history.periods] == [w and date.fromisoformat(w) for w in waits]


def test_a_midway_settlement_continues_an_admission_let_in():
    """中途结算 (admission_of) is checked on its admission, as the database path checks the visit's day."""
    inpatient = {"med_type": "21", "hosp_lv": 2, "fees": [{"chrgitm_lv": "01", "pric": "1000.00", "cnt": 1}]}
    case = {
        "person": {
            "insutype": "390",
            "psn_type": "15",
            "enrollment": [{"from": "2025-01-01", "to": "2025-03-31"}],
        },
        "steps": [
            {"settle": {**inpatient, "begndate": "2025-03-30"}},
            {"settle": {**inpatient, "begndate": "2025-04-02", "admission_of": 1}},
            {"settle": {**inpatient, "begndate": "2025-04-03"}},
        ],
    }
    outcome = run_case(lambda r: BUNDLES("990100"), case, 1, [])
    assert [s.kind for s in outcome.steps] == ["settle", "settle", "error"]
    assert "未参加险种 390 (not enrolled)" in outcome.steps[2].error
