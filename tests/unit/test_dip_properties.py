"""Properties of the DIP grouper on random cases built from the demo catalogue (hypothesis): the result does
not depend on the order of the secondary diagnoses nor of the procedures, a case always gets either a group
with a score or a reason, and grouping is deterministic."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.payment.cases import DrgCase
from yibao.payment.dip import group_dip_case
from yibao.payment.dip_catalogue import load_dip_catalogue

DEMO = Path(__file__).resolve().parents[2] / "regions" / "990100" / "payment"


@cache
def pools():
    cat = load_dip_catalogue(DEMO, "990100")
    keys = sorted(cat.by_key)
    principals = [k + "00" for k in keys] + [k[:3] + ".900" for k in keys[::5]] + ["M17.000", "Z99.999"]
    procedures = sorted({c for r in cat.rows for alt in r.expression for slot in alt for c in slot})
    procedures += ["88.0100", "99.1800", "12.3456"]
    secondary = ["I50.900", "E11.200", "E11.900", "N18.500", "C78.000", "J44.900", "I10.x00", "K29.700"]
    return cat, principals, procedures, secondary


@st.composite
def cases(draw):
    _, principals, procedures, secondary = pools()
    pdx = draw(st.sampled_from(principals) | st.sampled_from(["K80", "junk", "K80.1xx"]))
    others = draw(st.lists(st.sampled_from(secondary), max_size=5, unique=True))
    px = draw(st.lists(st.sampled_from(procedures), max_size=3, unique=True))
    age = draw(st.integers(0, 95))
    days = draw(st.integers(0, 364)) if age == 0 else age * 365 + 30
    return DrgCase("p", 1, age, days, (pdx, *others), tuple(px), dscg_way=draw(st.sampled_from("15")))


@settings(max_examples=300, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_order_of_secondary_diagnoses_and_procedures_does_not_matter(case, rng):
    cat = pools()[0]
    others, px = list(case.diagnoses[1:]), list(case.procedures)
    rng.shuffle(others)
    rng.shuffle(px)
    shuffled = DrgCase(
        case.case_id,
        case.gend,
        case.age,
        case.age_days,
        (case.diagnoses[0], *others),
        tuple(px),
        dscg_way=case.dscg_way,
    )
    a, b = group_dip_case(case, cat), group_dip_case(shuffled, cat)
    assert a == b


@settings(max_examples=300, deadline=None)
@given(cases())
def test_a_case_gets_a_group_or_a_reason(case):
    cat = pools()[0]
    g = group_dip_case(case, cat, trace=True)
    if g.status == "ok":
        assert g.dip_code and g.dip_type in ("core", "basic", "comprehensive") and not g.reason
        assert float(g.points) >= float(g.score) > 0  # the demo's coefficients are all ≥ 1
    else:
        assert (
            g.status == "ungrouped" and g.reason and not g.dip_code and g.trace[-1] == f"未入组: {g.reason}"
        )
    assert group_dip_case(case, cat, trace=True) == g  # deterministic
    assert group_dip_case(case, cat)[:7] == g[:7]  # the trace changes nothing
