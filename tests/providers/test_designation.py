"""What was true on a day: the refusals settlement gives, and the days at the intervals' edges."""

from __future__ import annotations

from datetime import date

from yibao.providers.designation import ACTIVE, SUSPENDED, Interval, refusal

CODE = "H99010200005"
OPEN = frozenset({"11", "13", "21"})
HISTORY = [
    Interval(date(2025, 1, 1), date(2025, 2, 28), ACTIVE, OPEN, ""),
    Interval(date(2025, 3, 1), date(2025, 4, 30), SUSPENDED, OPEN, "分解住院，中止协议 2 个月"),
    Interval(date(2025, 5, 1), date(2025, 12, 31), ACTIVE, OPEN, ""),
]


def test_settles_inside_an_active_interval():
    assert refusal(HISTORY, CODE, date(2025, 1, 1), "11") is None  # its first day
    assert refusal(HISTORY, CODE, date(2025, 2, 28), "21") is None  # its last day
    assert refusal(HISTORY, CODE, date(2025, 5, 1), None) is None  # no med_type: the agreement alone


def test_a_suspended_agreement():
    expected = f"fixmedins_code: 定点医药机构 {CODE} 在 2025-03-01 医保协议中止 (2025-03-01 至 2025-04-30，原因 分解住院，中止协议 2 个月)"
    assert refusal(HISTORY, CODE, date(2025, 3, 1), "11") == expected
    assert refusal(HISTORY, CODE, date(2025, 4, 30), None) == expected.replace(
        "在 2025-03-01", "在 2025-04-30"
    )


def test_an_open_ended_suspension_without_a_reason():
    spans = [Interval(date(2025, 3, 1), None, SUSPENDED, frozenset(), "")]
    assert refusal(spans, CODE, date(2026, 1, 1), "11") == (
        f"fixmedins_code: 定点医药机构 {CODE} 在 2026-01-01 医保协议中止 (2025-03-01 起)"
    )


def test_a_suspension_wins_over_an_overlapping_active_interval():
    spans = [Interval(date(2025, 1, 1), None, ACTIVE, OPEN, ""), HISTORY[1]]
    assert refusal(spans, CODE, date(2025, 3, 15), "11").startswith("fixmedins_code: ")  # type: ignore[union-attr]
    assert refusal(spans, CODE, date(2025, 5, 1), "11") is None


def test_no_agreement():
    assert (
        refusal([], CODE, date(2025, 3, 2), "11")
        == f"fixmedins_code: 定点医药机构 {CODE} 在 2025-03-02 没有有效的医保服务协议"
    )
    assert refusal(HISTORY, CODE, date(2024, 12, 31), "11") == (
        f"fixmedins_code: 定点医药机构 {CODE} 在 2024-12-31 没有有效的医保服务协议（协议自 2025-01-01 起生效）"
    )
    assert refusal(HISTORY, CODE, date(2026, 1, 1), "11") == (
        f"fixmedins_code: 定点医药机构 {CODE} 在 2026-01-01 没有有效的医保服务协议（协议至 2025-12-31 止）"
    )


def test_an_open_ended_designation():
    spans = [Interval(date(2021, 12, 1), None, ACTIVE, OPEN, "")]
    assert refusal(spans, CODE, date(2099, 12, 31), "13") is None
    assert refusal(spans, CODE, date(2021, 11, 30), "13") is not None


def test_a_service_not_granted():
    assert refusal(HISTORY, CODE, date(2025, 6, 1), "14") == (
        f"med_type: 定点医药机构 {CODE} 未开通 门诊慢特病 服务 (med_type 14)"
    )
    names = {"14": "门诊特殊疾病"}
    assert refusal(HISTORY, CODE, date(2025, 6, 1), "14", names) == (
        f"med_type: 定点医药机构 {CODE} 未开通 门诊特殊疾病 服务 (med_type 14)"
    )
    assert refusal(HISTORY, CODE, date(2025, 6, 1), "9999") == (
        f"med_type: 定点医药机构 {CODE} 未开通 该医疗类别 服务 (med_type 9999)"
    )


def test_the_agreement_is_checked_before_the_service():
    assert refusal(HISTORY, CODE, date(2025, 3, 10), "14").startswith("fixmedins_code: ")  # type: ignore[union-attr]
    assert refusal(HISTORY, CODE, date(2026, 3, 10), "14").startswith("fixmedins_code: ")  # type: ignore[union-attr]


def test_services_granted_by_a_later_change():
    spans = [
        Interval(date(2025, 1, 1), date(2025, 6, 30), ACTIVE, frozenset({"11"}), ""),
        Interval(date(2025, 7, 1), None, ACTIVE, frozenset({"11", "14"}), "增开门诊特殊疾病"),
    ]
    assert refusal(spans, CODE, date(2025, 6, 30), "14") is not None
    assert refusal(spans, CODE, date(2025, 7, 1), "14") is None


def test_with_the_demo_schemes_names():
    from pathlib import Path

    from yibao.providers.scheme import load_scheme

    scheme = load_scheme(Path(__file__).resolve().parents[2] / "regions" / "990100" / "providers")
    granted = scheme.med_types_of(["S01", "S04"])
    spans = [Interval(date(2025, 1, 1), None, ACTIVE, granted, "")]
    assert refusal(spans, CODE, date(2025, 3, 2), "14", scheme.med_type_names()) == (
        f"med_type: 定点医药机构 {CODE} 未开通 门诊特殊疾病 服务 (med_type 14)"
    )
    assert refusal(spans, CODE, date(2025, 3, 2), "22", scheme.med_type_names()) is None
