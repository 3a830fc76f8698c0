"""What real cities' policies needed (issue 19): disease caps where they are written, disease groups,
deductible kinds, several 大病 tilts. Each case is the demo policy with a 2027 version that writes the
construct, settled by hand-computed amounts."""

from __future__ import annotations

import pytest

from tests.policy_variants import bundle_with, paid, resident, settle_all, visit
from yibao.errors import PolicyError, SettlementError
from yibao.settlement import online
from yibao.settlement.inputs import PersonFacts

# a class every insutype must define once it exists: pool-less for 职工
SPECIAL_CLASS = """\
benefit_classes:
  special: {name: 门诊特殊病, med_types: ["9901"], requires_disease: true, diseases: [M03900, M01600]}
insutype:
  "310":
    special: {pool: false}
  "390":
    special:
      deductible: {kind: none}
      ratio: "0.50"
      cap: inpatient
      disease_caps: {M03900: "0", M01600: "0"}
"""


# --- the silent defect: a disease cap applies in the class that writes it ---------------------------------
def test_a_disease_cap_applies_where_it_is_written(tmp_path):
    body = SPECIAL_CLASS.replace("diseases: [M03900, M01600]", "diseases: [M06900]").replace(
        'disease_caps: {M03900: "0", M01600: "0"}', 'disease_caps: {M06900: "0"}'
    )
    b = bundle_with(tmp_path, body)
    person = resident(chronic=["M06900"])
    # 慢特病 (14): 25,000 × 0.70 = 17,500, held to the chronic class's 15,000 (the special class's 0 used to win)
    (chronic,), _ = settle_all(b, person, [visit("14", "25000.00", disease="M06900")])
    assert paid(chronic) == "15000.00"
    assert {"param": "insutype 390 › chronic › disease_caps › M06900", "value": "15000.00"} in chronic.trace
    # the special class's own cap of 0 holds its visits to nothing
    (special,), _ = settle_all(b, person, [visit("9901", "1000.00", disease="M06900")])
    assert paid(special) == "0.00"
    assert {"param": "insutype 390 › special › disease_caps › M06900", "value": "0.00"} in special.trace


def test_a_class_refuses_a_disease_it_does_not_accept(tmp_path):
    b = bundle_with(tmp_path, SPECIAL_CLASS)
    person = resident(chronic=["M06900"])
    with pytest.raises(SettlementError, match="opsp_dise_code: 病种 M06900 不属于医疗类别 9901"):
        online.settle(b, person, visit("9901", "100.00", disease="M06900"), {})


# --- disease groups (病种组) ----------------------------------------------------------------------------------
GROUPS = """\
insutype:
  "390":
    chronic:
      deductible: {kind: annual, amount: "300.00"}
      ratio: "0.85"
      groups:
        liangbing:
          name: 两病
          diseases: [M03900, M01600]
          ratio: "0.70"
"""


def test_groups_share_one_deductible_a_year_and_have_their_own_ratio(tmp_path):
    b = bundle_with(tmp_path, GROUPS)
    person = resident(chronic=["M03900", "M06900"])
    (first, second), accum = settle_all(
        b, person, [visit("14", "1000.00", disease="M03900"), visit("14", "1000.00", disease="M06900")]
    )
    # 两病: deductible 300, (1,000 − 300) × 0.70 = 490; 红斑狼疮: the year's deductible is spent, 1,000 × 0.85
    assert (paid(first, "act_pay_dedc"), paid(first)) == ("300.00", "490.00")
    assert (paid(second, "act_pay_dedc"), paid(second)) == ("0.00", "850.00")
    assert accum["dedc:chronic"] == 30000 and "dedc:chronic/liangbing" not in accum
    assert {"param": "insutype 390 › chronic › groups › liangbing › ratio", "value": "0.7000"} in first.trace
    assert {"param": "insutype 390 › chronic › ratio", "value": "0.8500"} in second.trace


def test_a_group_may_keep_its_own_deductible(tmp_path):
    body = (
        GROUPS
        + '          deductible: {kind: annual, amount: "200.00"}\n          deductible_shared: false\n'
    )
    b = bundle_with(tmp_path, body)
    person = resident(chronic=["M03900", "M06900"])
    (first, second), accum = settle_all(
        b, person, [visit("14", "1000.00", disease="M03900"), visit("14", "1000.00", disease="M06900")]
    )
    # 两病: its own 200, 800 × 0.70 = 560; 红斑狼疮: the class's 300, 700 × 0.85 = 595
    assert (paid(first, "act_pay_dedc"), paid(first)) == ("200.00", "560.00")
    assert (paid(second, "act_pay_dedc"), paid(second)) == ("300.00", "595.00")
    assert accum["dedc:chronic/liangbing"] == 20000 and accum["dedc:chronic"] == 30000


def test_a_shared_deductible_may_be_waived_at_primary_care_only(tmp_path):
    # Zhangzhou: 两病 without a deductible at 基层 (level 1) only, one 门特 deductible otherwise
    body = GROUPS + (
        '          deductible: {kind: annual, amount: {1: "0.00", 2: "300.00", 3: "300.00"}}\n'
        "          deductible_shared: true\n"
    )
    b = bundle_with(tmp_path, body)
    person = resident(chronic=["M03900"])
    (base, second, third), accum = settle_all(
        b,
        person,
        [
            visit("14", "1000.00", lv=1, disease="M03900"),
            visit("14", "1000.00", lv=2, disease="M03900"),
            visit("14", "1000.00", lv=2, disease="M03900"),
        ],
    )
    assert (paid(base, "act_pay_dedc"), paid(base)) == ("0.00", "700.00")
    assert (paid(second, "act_pay_dedc"), paid(second)) == ("300.00", "490.00")
    # the disease's cap (居民 高血压 1,500) leaves 1,500 − 700 − 490 = 310
    assert (paid(third, "act_pay_dedc"), paid(third)) == ("0.00", "310.00")
    assert accum["dedc:chronic"] == 30000


def test_reversing_a_group_visit_restores_its_class_accumulators(tmp_path):
    b = bundle_with(tmp_path, GROUPS)
    person = resident(chronic=["M03900"])
    settled, accum, _ = online.settle(b, person, visit("14", "1000.00", disease="M03900"), {})
    assert accum == {
        "dedc:chronic": 30000,
        "cap:inpatient": 49000,
        "disease:M03900": 49000,
        "critical:base": 51000,
    }
    _, restored, _ = online.reverse(settled, accum, 0)
    assert restored == {}


def test_groups_belong_to_chronic_classes(tmp_path):
    body = GROUPS + "    outpatient:\n      groups: {x: {name: x, diseases: [M03900]}}\n"
    with pytest.raises(PolicyError, match="outpatient › groups: only classes with requires_disease"):
        bundle_with(tmp_path, body)


def test_a_disease_in_two_groups_is_refused(tmp_path):
    body = GROUPS + "        other:\n          name: 其他\n          diseases: [M01600, M06900]\n"
    with pytest.raises(
        PolicyError, match=r"groups › other › diseases › 0: 'M01600' is already in group liangbing"
    ):
        bundle_with(tmp_path, body)


def test_a_group_deductible_must_say_whether_it_is_shared(tmp_path):
    body = GROUPS + '          deductible: {kind: annual, amount: "200.00"}\n'
    with pytest.raises(PolicyError, match="deductible_shared: true' or 'false'"):
        bundle_with(tmp_path, body)


# --- deductible kinds: per visit and entry threshold ----------------------------------------------------------
def test_an_entry_threshold_admits_the_whole_amount_once_crossed(tmp_path):
    body = 'insutype:\n  "390":\n    outpatient:\n      deductible: {kind: threshold, amount: "1000.00"}\n'
    b = bundle_with(tmp_path, body)
    person = resident()
    (at, above), _ = settle_all(b, person, [visit("11", "1000.00", lv=1), visit("11", "1000.01", lv=1)])
    # at the line: not crossed, the person's whole; one fen above: 1,000.01 × 0.60 = 600.006 → 600.01
    assert (paid(at, "act_pay_dedc"), paid(at)) == ("1000.00", "0.00")
    assert (paid(above, "act_pay_dedc"), paid(above)) == ("0.00", "600.01")


def test_a_per_visit_deductible_is_taken_every_visit(tmp_path):
    body = 'insutype:\n  "310":\n    outpatient:\n      deductible: {kind: per_visit, amount: "100.00"}\n'
    b = bundle_with(tmp_path, body)
    person = PersonFacts(insutype="310", psn_type="11")
    (one, two), accum = settle_all(b, person, [visit("11", "600.00", lv=2), visit("11", "600.00", lv=2)])
    # each: 100 deducted, 500 × 0.70 = 350 (worked example 1 of settlement.md, without the annual memory)
    assert [(paid(s, "act_pay_dedc"), paid(s)) for s in (one, two)] == [("100.00", "350.00")] * 2
    assert not any(k.startswith("dedc:") for k in accum)


# --- 大病 tilts ---------------------------------------------------------------------------------------------------
TILTS = """\
insutype:
  "390":
    critical_illness:
      tilts:
        assistance_targets: ~
        poverty:
          name: 贫困人口
          identities: ["2302"]
          deductible_share: "0.50"
          ratio: "0.70"
          cap: unlimited
        low_income:
          name: 低收入
          identities: ["2305", "2302"]
          deductible: "5000.00"
          ratio_add: "0.05"
          cap: unlimited
          extra_classes: [outpatient]
"""
# a first admission at level 3, 100,000 甲类: deductible 800, pool (100,000 − 800) × 0.65 = 64,480,
# 大病 base 100,000 − 64,480 = 35,520 (the 2026 ordinary deductible is 16,000)
ADMISSION = ("21", "100000.00")


@pytest.mark.parametrize(
    ("idet", "expected"),
    [
        ((), "11712.00"),  # ordinary: (35,520 − 16,000) × 0.60
        (("2302",), "19264.00"),  # poverty first: deductible 16,000 × 0.50 = 8,000, flat 0.70: 27,520 × 0.70
        (("2305",), "19838.00"),  # low income: deductible 5,000, 0.60 + 0.05: 30,520 × 0.65
    ],
)
def test_tilts_set_or_raise_ratios_in_priority_order(tmp_path, idet, expected):
    b = bundle_with(tmp_path, TILTS)
    (s,), _ = settle_all(b, resident(idet=idet), [visit(*ADMISSION)])
    assert paid(s) == "64480.00" and paid(s, "hifmi_pay") == expected


def test_a_tilt_counts_its_extra_classes_into_the_base(tmp_path):
    b = bundle_with(tmp_path, TILTS)
    outpatient = visit("11", "1000.00")  # pool 1,000 × 0.40 = 400; 600 into the low-income 大病 base
    (out, inp), accum = settle_all(b, resident(idet=["2305"]), [outpatient, visit(*ADMISSION)])
    assert (
        paid(out, "hifmi_pay") == "0.00" and paid(inp, "hifmi_pay") == "20228.00"
    )  # (36,120 − 5,000) × 0.65
    assert accum["critical:base"] == 3612000
    # without the tilt the outpatient visit adds nothing to the base
    (out, _), accum = settle_all(b, resident(), [outpatient, visit(*ADMISSION)])
    assert accum["critical:base"] == 3552000
    trace = inp.trace
    assert {
        "param": "insutype 390 › critical_illness › tilts › low_income › deductible",
        "value": "5000.00",
    } in trace


def test_a_tilt_deductible_above_the_ordinary_is_refused(tmp_path):
    body = TILTS.replace('deductible: "5000.00"', 'deductible: "17000.00"')
    with pytest.raises(
        PolicyError, match=r"tilts › low_income › deductible: 17000\.00 is above the ordinary"
    ):
        bundle_with(tmp_path, body)


def test_a_tilt_takes_one_deductible_and_one_ratio(tmp_path):
    body = TILTS.replace(
        '          ratio: "0.70"\n', '          ratio: "0.70"\n          ratio_add: "0.10"\n'
    )
    with pytest.raises(PolicyError, match="exactly one of 'ratio_add'"):
        bundle_with(tmp_path, body)


# --- accounts by person category -------------------------------------------------------------------------------
@pytest.mark.parametrize(("psn_type", "acct_pay"), [("11", "250.00"), ("12", "0.00")])
def test_an_account_may_belong_to_some_person_categories_only(tmp_path, psn_type, acct_pay):
    b = bundle_with(tmp_path, 'insutype:\n  "310":\n    account: {psn_types: ["11"]}\n')
    person = PersonFacts(insutype="310", psn_type=psn_type)
    v = visit("11", "600.00", lv=2)
    v.acct_used_flag = 1
    settled, _, balance = online.settle(b, person, v, {}, 100_000)
    # 在职 600 at level 2: 100 deductible, 350 pool, 250 from the account; 退休 has no account in this policy
    assert paid(settled, "acct_pay") == acct_pay
    assert balance == 100_000 - settled.setlinfo["acct_pay"]


def test_an_account_category_must_be_the_insutypes(tmp_path):
    with pytest.raises(PolicyError, match=r"insutype 310 › account › psn_types › 0: '16' is not a psn_type"):
        bundle_with(tmp_path, 'insutype:\n  "310":\n    account: {psn_types: ["16"]}\n')


# --- 先付费后报销 -------------------------------------------------------------------------------------------------------
def test_a_pay_first_category_pays_at_the_claim_by_the_same_chain(tmp_path):
    b = bundle_with(tmp_path, 'insutype:\n  "390":\n    pay_first: ["15"]\n')
    admission = visit("21", "100000.00")
    at_hospital, accum, _ = online.settle(b, resident(), admission, {})
    assert at_hospital.setlinfo["fund_pay_sumamt"] == 0 and at_hospital.setlinfo["psn_cash_pay"] == 10_000_000
    assert accum == {} and at_hospital.delta == {}
    claimed, accum, _ = online.settle(b, resident(), admission, {}, claim=True)
    # as any 居民: deductible 800, pool 64,480, 大病 11,712 (the admission is counted at the claim)
    assert (paid(claimed), paid(claimed, "hifmi_pay")) == ("64480.00", "11712.00")
    assert accum["admissions:inpatient"] == 1
    assert {
        "param": "insutype 390 › pay_first",
        "value": "报销时结算 (settled at the claim)",
    } in claimed.trace
    other = PersonFacts(insutype="390", psn_type="16")  # 老年居民: settled at once
    assert online.settle(b, other, admission, {})[0].setlinfo["hifp_pay"] > 0
