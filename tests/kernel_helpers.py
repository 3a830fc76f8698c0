"""Builders and hypothesis strategies shared by the kernel tests."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from yibao.policy import load_region_policy
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP

REPO = Path(__file__).resolve().parents[1]


@cache
def demo_bundle():
    return load_region_policy("990100", REPO / "regions")


def fee(
    lv: int, yuan: str, cnt: int = 1, selfpay: str = "0", cap: str | None = None, lmt: int = 0, appr: int = 0
) -> Fee:
    from yibao.money import parse_price, parse_ratio
    from yibao.settlement.lines import product_fen

    p = parse_price(yuan)
    c = cnt * 10_000
    return Fee(
        pric=p,
        cnt=c,
        det_item_fee_sumamt=int(product_fen([p], [c])[0]),
        chrgitm_lv=lv,
        selfpay_prop=parse_ratio(selfpay),
        pric_uplmt_amt=NO_CAP if cap is None else parse_price(cap),
        lmt_used_flag=lmt,
        hosp_appr_flag=appr,
    )


DISEASES = ("M03900", "M01600", "M00500", "M07801", "M06900")
ASSIST = ("2301", "2302", "2303", "2304", "2305", "2306")


@st.composite
def fees(draw, big: bool = False):
    n = draw(st.integers(1, 4))
    out = []
    for _ in range(n):
        lv = draw(st.sampled_from([1, 1, 2, 2, 3]))
        top = 30_000_000 if big else 200_000  # fen per unit
        price_fen = draw(st.integers(1, top))
        price_micro = price_fen * 10_000 + draw(st.sampled_from([0, 0, 0, 5_000, 1_234]))
        cnt = draw(st.sampled_from([10_000, 20_000, 30_000, 5_000, 12_500]))
        selfpay = draw(st.sampled_from([0, 500, 1000, 2000, 3333])) if lv == 2 else 0
        cap = draw(st.one_of(st.just(NO_CAP), st.integers(1, max(2, price_micro * 2)))) if lv != 3 else NO_CAP
        lmt = draw(st.sampled_from([0, 0, 0, 1]))
        appr = draw(st.sampled_from([0, 0, 1, 2]))
        from yibao.settlement.lines import product_fen

        amt = int(product_fen([price_micro], [cnt])[0])
        out.append(Fee(price_micro, cnt, amt, lv, selfpay, cap, lmt, appr))
    return out


@st.composite
def person_year(draw, year: int = 2025, max_visits: int = 12):
    """A person with identities/registrations and a sorted list of valid visits in one year (or two)."""
    insutype = draw(st.sampled_from(["310", "390"]))
    psn_type = draw(st.sampled_from(["11", "12"] if insutype == "310" else ["15", "16", "1402"]))
    ids = []
    for code in draw(st.lists(st.sampled_from(ASSIST), max_size=2, unique=True)):
        if draw(st.booleans()):
            ids.append(Dated(code))
        else:
            start = date(year, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
            ids.append(Dated(code, start, start + timedelta(days=draw(st.integers(0, 200)))))
    chronic = [Dated(c) for c in draw(st.lists(st.sampled_from(DISEASES), max_size=2, unique=True))]
    hmb = {year} if draw(st.booleans()) else set()
    person = PersonFacts(insutype, psn_type, ids, chronic, hmb, has_account=True)
    balance = draw(st.integers(0, 500_000)) if insutype == "310" else 0
    two_years = draw(st.booleans())
    n = draw(st.integers(1, max_visits))
    visits = []
    for _ in range(n):
        med_types = ["11", "13", "21", "22", "41"] + (["14"] if chronic else [])
        med_type = draw(st.sampled_from(med_types))
        day = date(year, 1, 1) + timedelta(days=draw(st.integers(0, 729 if two_years else 364)))
        big = med_type in ("21", "22", "14") and draw(st.booleans())
        visits.append(
            VisitRequest(
                med_type=med_type,
                begndate=day,
                fees=draw(fees(big=big)),
                hosp_lv=draw(st.integers(1, 3)),
                opsp_dise_code=draw(st.sampled_from([c.code for c in chronic])) if med_type == "14" else None,
                acct_used_flag=draw(st.sampled_from([0, 1])),
            )
        )
    visits.sort(key=lambda v: v.begndate)
    return person, balance, visits
