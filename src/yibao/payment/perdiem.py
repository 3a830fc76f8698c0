"""Per-bed-day payment (按床日, payment-drg-dip.md §6): a daily standard tapering over length-of-stay segments,
optionally capped at ``k`` × the actual cost.

``Segment(upto_day=60, factor=1.0)`` covers the days up to the 60th (after the previous segment);
``upto_day=None`` is unbounded and must be last. Days beyond a last bounded segment are paid nothing (factor 0,
shown as a row). Each segment's amount (days × daily standard × factor) is rounded half up once and the
payable is the sum of the rows, so the statement adds up; the cap round(k × cost) is a published figure too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import NamedTuple

from yibao.payment.exact import Ratio, as_fraction, times


@dataclass(frozen=True)
class Segment:
    """A length-of-stay band (床日分段): days up to ``upto_day`` (None: no bound) paid at ``factor`` × the
    daily standard."""

    upto_day: int | None
    factor: Decimal

    def __post_init__(self) -> None:
        if as_fraction(self.factor) < 0:
            raise ValueError(f"segment factor {self.factor} is negative")
        if self.upto_day is not None and self.upto_day < 1:
            raise ValueError(f"segment end {self.upto_day} is before day 1")


class SegmentRow(NamedTuple):
    """One segment of the trace: days ``from_day`` … ``to_day`` (inclusive), their number, factor and amount."""

    from_day: int
    to_day: int
    days: int
    factor: Decimal
    amount_fen: int


class PerDiem(NamedTuple):
    """The payable (``payable_fen``), the amount before the cap (``uncapped_fen``), whether the cap bit, and
    the segment rows."""

    payable_fen: int
    uncapped_fen: int
    capped: bool
    rows: tuple[SegmentRow, ...]


def _check(segments: Sequence[Segment]) -> None:
    if not segments:
        raise ValueError("no segments")
    if any(s.upto_day is None for s in segments[:-1]):
        raise ValueError("only the last segment may be unbounded")
    ends = [s.upto_day for s in segments if s.upto_day is not None]
    if any(b <= a for a, b in pairwise(ends)):
        raise ValueError("segment ends must increase")


def segment_rows(days: int, daily_fen: int, segments: Sequence[Segment]) -> list[SegmentRow]:
    """The stay cut into the segments it reaches (分段计算), each valued days × daily standard × factor,
    rounded half up."""
    _check(segments)
    rows, done = [], 0
    for seg in segments:
        if done >= days:
            return rows
        end = days if seg.upto_day is None else min(days, seg.upto_day)
        if end > done:
            n = end - done
            rows.append(SegmentRow(done + 1, end, n, seg.factor, times(n * daily_fen, seg.factor)))
            done = end
    if days > done:
        rows.append(SegmentRow(done + 1, days, days - done, Decimal(0), 0))
    return rows


def perdiem_payable(
    days: int, daily_fen: int, segments: Sequence[Segment], cap_k: Ratio | None, cost_fen: int
) -> PerDiem:
    """床日付费: Σ segments (days × daily standard × factor), then ``min(payable, round(k × cost))`` when a cap
    ``k`` is set. The fund part is :func:`yibao.payment.pricing.fund_part` of it."""
    if days < 0:
        raise ValueError("a negative length of stay")
    rows = segment_rows(days, daily_fen, segments)
    uncapped = sum(r.amount_fen for r in rows)
    if cap_k is not None:
        cap = times(cost_fen, cap_k)
        if cap < uncapped:
            return PerDiem(cap, uncapped, True, tuple(rows))
    return PerDiem(uncapped, uncapped, False, tuple(rows))
