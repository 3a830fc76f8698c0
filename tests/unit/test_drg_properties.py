"""Properties of the grouper on random cases built from the pack's own lists (hypothesis): the group does
not depend on the order of the secondary diagnoses, removing a secondary diagnosis never makes the split
more severe, an excluded CC/MCC changes nothing, and grouping is deterministic."""

from __future__ import annotations

from functools import cache

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yibao.payment.cases import DrgCase
from yibao.payment.drg import group_case
from yibao.payment.packs import load_drg_pack

SEVERITY = {"1": 3, "3": 2, "5": 1, "9": 0}


@cache
def pools():
    pack = load_drg_pack()
    principals = sorted(pack.dx_mdcs)[::7]
    complications = sorted(pack.complications)[::5]
    others = sorted(pack.known_dx)[::11]
    procedures = sorted(pack.or_procedures)[::9]
    return pack, principals, complications, others, procedures


@st.composite
def cases(draw):
    _, principals, complications, others, procedures = pools()
    pdx = draw(st.sampled_from(principals))
    secondary = draw(
        st.lists(st.sampled_from(complications) | st.sampled_from(others), max_size=6, unique=True)
    )
    px = draw(st.lists(st.sampled_from(procedures), max_size=2, unique=True))
    newborn = draw(st.booleans()) and draw(st.booleans())
    age = 0 if newborn else draw(st.integers(1, 95))
    days = draw(st.integers(0, 364)) if newborn else age * 365 + 30
    weight = draw(st.none() | st.integers(800, 4500)) if newborn else None
    return DrgCase("h", draw(st.sampled_from((1, 2))), age, days, (pdx, *secondary), tuple(px), weight)


def key(result):
    return (result.status, result.mdc, result.adrg, result.drg)


@settings(max_examples=300, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_the_order_of_secondary_diagnoses_does_not_matter(case, rnd):
    pack = pools()[0]
    others = list(case.diagnoses[1:])
    rnd.shuffle(others)
    shuffled = DrgCase(
        case.case_id,
        case.gend,
        case.age,
        case.age_days,
        (case.diagnoses[0], *others),
        case.procedures,
        case.weight_g,
    )
    assert key(group_case(shuffled, pack)) == key(group_case(case, pack))


@settings(max_examples=300, deadline=None)
@given(cases(), st.data())
def test_removing_a_secondary_diagnosis_never_raises_the_severity(case, data):
    assume(len(case.diagnoses) > 1)
    pack = pools()[0]
    drop = data.draw(st.integers(1, len(case.diagnoses) - 1))
    fewer = DrgCase(
        case.case_id,
        case.gend,
        case.age,
        case.age_days,
        case.diagnoses[:drop] + case.diagnoses[drop + 1 :],
        case.procedures,
        case.weight_g,
    )
    before, after = group_case(case, pack), group_case(fewer, pack)
    assume(before.status == after.status == "ok" and before.adrg == after.adrg)
    assert SEVERITY[after.drg[3]] <= SEVERITY[before.drg[3]]


@settings(max_examples=200, deadline=None)
@given(cases())
def test_an_excluded_complication_changes_nothing(case):
    pack = pools()[0]
    tables = pack.exclusions.get(case.diagnoses[0], frozenset())
    excluded = sorted(
        c for c, (_, t) in pack.complications.items() if t in tables and c not in case.diagnoses
    )
    assume(excluded)
    more = DrgCase(
        case.case_id,
        case.gend,
        case.age,
        case.age_days,
        (*case.diagnoses, excluded[0]),
        case.procedures,
        case.weight_g,
    )
    assume(excluded[0] not in pack.mdc_lists["Y"] and excluded[0] not in pack.trauma_sites)
    assert key(group_case(more, pack)) == key(group_case(case, pack))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_grouping_is_deterministic_and_trace_does_not_change_the_group(case):
    pack = pools()[0]
    assert (
        key(group_case(case, pack)) == key(group_case(case, pack)) == key(group_case(case, pack, trace=True))
    )
