"""Contribution periods (缴费期间) and what the bulk runs share: a month as its period number and first and
last day, the enrollments in force at some time in a period, the batch size and the progress callback."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date

from sqlalchemy import and_, or_

from yibao.errors import InputError
from yibao.store.tables import Enrollment

CHUNK = 10_000  # rows a bulk run writes per statement and per transaction
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    pass


def parse_month(text: str) -> tuple[int, date, date]:
    try:
        y, m = (int(x) for x in text.split("-"))
        first = date(y, m, 1)
    except ValueError:
        raise InputError(f'--month: "{text}" 不是月份（格式 YYYY-MM）') from None
    return y * 100 + m, first, date(y, m, calendar.monthrange(y, m)[1])


def period_span(period: int) -> tuple[date, date]:
    """First and last day of a period: a month (``202503``) or a 居民 year (``202500``)."""
    year, month = divmod(period, 100)
    if month == 0:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def in_force(first: date, last: date, *conds):
    """Enrollments in force (正常) at some time between ``first`` and ``last``, whatever happened since: one
    terminated on the 20th (death, transfer) or suspended after the 1st still owes that month, and a run
    made after the month sees it as it was then."""
    return and_(
        Enrollment.begndate <= last,
        or_(Enrollment.enddate.is_(None), Enrollment.enddate >= first),
        or_(
            Enrollment.psn_insu_stas.in_(("1", "4")),
            and_(Enrollment.psn_insu_stas == "2", Enrollment.paus_insu_date > first),
        ),
        *conds,
    )
