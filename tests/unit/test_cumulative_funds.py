"""大病 and 惠民保 pay the difference of a cumulative function: the year's total must not depend on
how the same in-scope amounts were split into settlements (contract §3.2, §6)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.money import apply_ratio
from yibao.policy import load_region_policy
from yibao.settlement import online
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "regions"
BUNDLE = load_region_policy("990199", FIXTURES)


def chronic_visit(day: date, fen: int) -> VisitRequest:
    return VisitRequest("14", day, [Fee(fen * 10_000, 10_000, fen, 1)], hosp_lv=2, opsp_dise_code="M00500")


def totals(person: PersonFacts, parts: list[int]) -> tuple[int, int]:
    acc, hifmi, oth = {}, 0, 0
    for k, fen in enumerate(parts):
        s, acc, _ = online.settle(
            BUNDLE, person, chronic_visit(date(2025, 1, 1) + timedelta(days=k), fen), acc, 0
        )
        hifmi += s.setlinfo["hifmi_pay"]
        oth += s.setlinfo["oth_pay"]
    return hifmi, oth


def F(x: int, ded: int, segments: list[tuple[int, int]], cap: int | None) -> int:
    """The contract's cumulative function, written independently of the kernel."""
    total, lo = 0, 0
    for hi, ratio in segments:
        total += apply_ratio(max(0, min(x, hi) - max(ded, lo)), ratio)
        lo = hi
    return total if cap is None else min(total, cap)


BIG = 10**15
ORDINARY = ([(5_000_000, 6000), (15_000_000, 7000), (BIG, 8000)], 1_800_000, 40_000_000)
TILT = ([(5_000_000, 7000), (15_000_000, 8000), (BIG, 9000)], 900_000, None)


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(0, 80_000_000),
    cuts=st.lists(st.floats(0, 1, allow_nan=False), max_size=8),
    idet=st.sampled_from([[], ["2303"], ["2306"], ["2304", "2306"]]),
    hmb=st.booleans(),
)
def test_totals_do_not_depend_on_the_split(total, cuts, idet, hmb):
    # cut `total` into parts at random points (floats only choose cut points, never money)
    points = sorted({int(total * c) for c in cuts})
    parts = [b - a for a, b in zip([0, *points], [*points, total], strict=True) if b - a > 0] or [total]
    person = PersonFacts("390", "15", [Dated(c) for c in idet], [Dated("M00500")], {2025} if hmb else set())
    one = totals(person, [total])
    many = totals(person, parts)
    assert many == one
    segs, ded, cap = TILT if set(idet) & {"2302", "2303", "2304", "2305"} else ORDINARY
    assert one[0] == F(total, ded, segs, cap)
    if hmb:
        sp_ded, sp_ratio = (1_000_000, 8000) if idet else (2_000_000, 7000)
        assert one[1] == min(apply_ratio(max(0, total - one[0] - sp_ded), sp_ratio), 100_000_000)
    else:
        assert one[1] == 0
