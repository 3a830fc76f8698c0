"""Evaluation through the service: the panel (conflict of interest refused), the sheets, the trimmed mean,
the pass mark, and the three-month deadline from acceptance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.providers.helpers import (
    DAY,
    PRIVATE_USCC,
    SCHEME,
    STAFF,
    accepted_application,
    at,
    audit_actions,
    build,
    panel,
    scores,
)
from yibao.errors import InputError
from yibao.providers.service import agreements, evaluations
from yibao.store.db import unit_of_work


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def test_a_scorer_working_for_the_institution_is_refused(db):
    appl_no = accepted_application(db)
    with unit_of_work(db) as s, pytest.raises(InputError, match="代表甲 任职于被评估机构"):
        evaluations.appoint_panel(
            s, appl_no, scorers=panel(affiliation=PRIVATE_USCC), actor=STAFF, now=at(DAY)
        )


def test_a_panel_without_a_field_is_refused(db):
    appl_no = accepted_application(db)
    short = [x for x in panel() if x["field"] != "信息技术"]
    with unit_of_work(db) as s, pytest.raises(InputError, match="缺少 信息技术 领域的专家"):
        evaluations.appoint_panel(s, appl_no, scorers=short, actor=STAFF, now=at(DAY))


def test_the_trimmed_mean_of_the_sheets_passes_at_sixty(db):
    appl_no = accepted_application(db)
    shares = {"E1": "0.9", "E2": "0.6", "E3": "0.6", "S1": "0.55", "S2": "1"}
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        with pytest.raises(InputError, match="X9 不是本次评估的评估人员"):
            evaluations.record_sheet(s, appl_no, scorer_id="X9", scores=scores("1"), actor=STAFF, now=at(DAY))
        for scorer_id, share in shares.items():
            evaluations.record_sheet(
                s, appl_no, scorer_id=scorer_id, scores=scores(share), actor=STAFF, now=at(DAY)
            )
        totals = sorted(
            x.total for x in evaluations.store.sheets_of(s, evaluations.store.evaluation_of(s, appl_no).id)
        )
        ev = evaluations.conclude_evaluation(s, appl_no, actor=STAFF, now=at(DAY))
    # totals (rounded down per indicator) dropped at each end: the highest (100) and the lowest (0.55 share)
    kept = sorted(map(Decimal, totals))[1:-1]
    assert ev.result == str((sum(kept) / 3).quantize(Decimal("0.01")))
    assert ev.passed is True and ev.method == "trimmed_mean"
    assert audit_actions(db, appl_no)[-1] == "conclude"


def test_a_missing_sheet_holds_the_conclusion(db):
    appl_no = accepted_application(db)
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        evaluations.record_sheet(s, appl_no, scorer_id="E1", scores=scores("0.8"), actor=STAFF, now=at(DAY))
        with pytest.raises(InputError, match="专家2、专家3、代表甲、参保人乙 尚未提交评分表"):
            evaluations.conclude_evaluation(s, appl_no, actor=STAFF, now=at(DAY))


def test_an_indicator_above_full_marks_is_refused(db):
    appl_no = accepted_application(db)
    first = SCHEME.evaluation.indicators[0]
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        with pytest.raises(
            InputError, match=f"scores.{first.code}: 评分 {first.max_points + 1} 超过该项满分"
        ):
            evaluations.record_sheet(
                s, appl_no, scorer_id="E1", scores=scores("1") | {first.code: str(first.max_points + 1)},
                actor=STAFF, now=at(DAY),
            )  # fmt: skip


def test_evaluating_past_the_deadline_is_refused(db):
    appl_no = accepted_application(db)
    late = DAY + timedelta(days=100)  # accepted 2025-03-03: the deadline is 2025-06-03
    with unit_of_work(db) as s, pytest.raises(InputError, match="评估期限已于 2025-06-03 届满"):
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(late))
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        with pytest.raises(InputError, match="评估期限已于 2025-06-03 届满"):
            evaluations.record_sheet(
                s, appl_no, scorer_id="E1", scores=scores("1"), actor=STAFF, now=at(late)
            )


def test_a_failed_evaluation_cannot_be_signed(db):
    appl_no = accepted_application(db)
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        for x in panel():
            evaluations.record_sheet(
                s, appl_no, scorer_id=x["scorer_id"], scores=scores("0.59"), actor=STAFF, now=at(DAY)
            )
        ev = evaluations.conclude_evaluation(s, appl_no, actor=STAFF, now=at(DAY))
        assert ev.passed is False and float(ev.result) < 60
        with pytest.raises(InputError, match="状态为 评估未通过 时不能 签约"):
            agreements.sign(s, appl_no, actor=STAFF, now=at(DAY))


def test_a_passed_status_with_a_result_below_the_mark_is_not_signed(db):
    """(A result edited below the pass mark after the fact: the signing checks it again.)"""
    from tests.providers.helpers import passed_application

    appl_no = passed_application(db)
    with unit_of_work(db) as s:
        evaluations.store.evaluation_of(s, appl_no).result = "59.99"
    with unit_of_work(db) as s, pytest.raises(InputError, match=r"评估得分 59\.99 低于合格分 60，不能签约"):
        agreements.sign(s, appl_no, actor=STAFF, now=at(DAY))
