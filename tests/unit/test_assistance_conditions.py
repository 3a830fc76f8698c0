"""医疗救助 by attribute and by diagnosis, and the annual burden cap (负担封顶) — issue 19, item 3.

Amounts by hand on the demo policy's 2026 terms (居民 15, level 3 inpatient: deductible 800, ratio 0.65;
大病 deductible 16,000, assistance targets' tilt 9,000 at +0.10)."""

from __future__ import annotations

import pytest

from tests.policy_variants import bundle_with, paid, resident, settle_all, visit
from yibao.errors import PolicyError
from yibao.settlement import online
from yibao.settlement.inputs import Dated

GRADED = """\
assistance:
  categories:
    "25": {name: 二级及以上残疾, ratio: "0.50", annual_limit: "10000.00", grades: ["1", "2"]}
"""


@pytest.mark.parametrize(
    ("grade", "expected"), [("1", "20.00"), ("2", "20.00"), ("3", "0.00"), (None, "0.00")]
)
def test_a_category_may_ask_for_a_grade_of_its_identity(tmp_path, grade, expected):
    b = bundle_with(tmp_path, GRADED)
    person = resident(idet=[Dated("25", grade=grade)])
    # outpatient level 1, 100: pool 100 × 0.60 = 60, left 40, × 0.50 = 20 for grades 1 and 2 only
    (s,), _ = settle_all(b, person, [visit("11", "100.00", lv=1)])
    assert paid(s, "maf_pay") == expected
    if grade in ("1", "2"):
        assert {"param": "assistance › categories › 25 › ratio", "value": "0.5000"} in s.trace


DIAGNOSES = """\
assistance:
  categories:
    "2306": {diagnoses: [C, N18.5]}     # 因病致贫: the 重特大疾病 only
"""


@pytest.mark.parametrize(
    ("dx", "expected"),
    [
        (["C34.900"], "16665.60"),  # a cancer: m = 100,000 − 64,480 − 11,712 = 23,808 × 0.70
        (["J18.900", "N18.500"], "16665.60"),  # a secondary diagnosis on the list counts
        (["J18.900"], "0.00"),  # pneumonia: not on the list
        ([], "0.00"),
    ],
)
def test_a_category_may_be_for_listed_diagnoses_only(tmp_path, dx, expected):
    b = bundle_with(tmp_path, DIAGNOSES)
    (s,), _ = settle_all(b, resident(idet=["2306"]), [visit("21", "100000.00", dx=dx)])
    assert (paid(s), paid(s, "hifmi_pay")) == ("64480.00", "11712.00")
    assert paid(s, "maf_pay") == expected


BURDEN = """\
assistance:
  categories:
    "2303": {burden_cap: "5000.00"}     # 低保: the year's in-scope burden stops at 5,000
"""


def test_the_burden_cap_pays_what_would_exceed_it(tmp_path):
    b = bundle_with(tmp_path, BURDEN)
    visits = [visit("21", "100000.00"), visit("21", "100000.00"), visit("11", "100.00", lv=1)]
    (first, second, third), accum = settle_all(b, resident(idet=["2303"]), visits)
    # 1st: pool 64,480; 大病 tilt (35,520 − 9,000) × 0.70 = 18,564; m = 16,956, × 0.80 = 13,564.80;
    #      burden 3,391.20 (under the cap: the ratio decides)
    assert (paid(first, "hifmi_pay"), paid(first, "maf_pay")) == ("18564.00", "13564.80")
    # 2nd: deductible 400, pool 99,600 × 0.65 = 64,740; 大病 base 35,520 → 70,780:
    #      F = 41,000 × 0.70 + 20,780 × 0.80 = 45,324, less 18,564 = 26,760; m = 8,500, × 0.80 = 6,800,
    #      but the burden may rise by 5,000 − 3,391.20 = 1,608.80 only: 8,500 − 1,608.80 = 6,891.20
    assert (paid(second, "hifmi_pay"), paid(second, "maf_pay")) == ("26760.00", "6891.20")
    # 3rd: outpatient 100: pool 60, m = 40, the burden is at its cap: assistance pays all 40
    assert paid(third, "maf_pay") == "40.00"
    assert accum["assistance:burden"] == 500000


def test_reversal_restores_the_burden(tmp_path):
    b = bundle_with(tmp_path, BURDEN)
    person = resident(idet=["2303"])
    settled, accum, _ = online.settle(b, person, visit("21", "100000.00"), {})
    assert accum["assistance:burden"] == 339120 and accum["assistance:paid"] == 1356480
    _, restored, _ = online.reverse(settled, accum, 0)
    assert restored == {}


def test_a_grade_is_a_list_of_codes(tmp_path):
    with pytest.raises(PolicyError, match=r"categories › 25 › grades"):
        bundle_with(tmp_path, GRADED.replace('grades: ["1", "2"]', "grades: []"))


LOOK_BACK = 'assistance:\n  categories:\n    "2303": {look_back_months: 6}\n'


@pytest.mark.parametrize(("paid_before", "expected"), [(0, 1904640), (14_000_000, 1_000_000)])
def test_a_look_back_supplement_is_the_assistance_step_on_what_was_left(tmp_path, paid_before, expected):
    from datetime import date

    from tests.policy_variants import DAY
    from yibao.settlement.lookback import Original, months_of, supplement, window
    from yibao.settlement.result import SETLINFO_AMOUNTS

    b = bundle_with(tmp_path, LOOK_BACK)
    (s,), accum = settle_all(b, resident(), [visit("21", "100000.00")])
    original = Original("S1", DAY, "390", "21", {k: s.setlinfo[k] for k in SETLINFO_AMOUNTS})
    recognised = date(2027, 9, 1)
    assert months_of(b, "2303", recognised) == 6 and window(recognised, 6) == (DAY, recognised)
    accum = {**accum, "assistance:paid": paid_before} if paid_before else accum
    made = supplement(b, original, "2303", None, accum, recognised)
    assert made is not None
    sup, after = made
    # left: 100,000 − 64,480 − 11,712 = 23,808, × 0.80 = 19,046.40; or what the 150,000 limit leaves
    assert sup.setlinfo["maf_pay"] == expected and sup.setlinfo["psn_cash_pay"] == -expected
    assert sup.setlinfo["medfee_sumamt"] == 0 and sup.delta["assistance:inpatient"] == expected
    assert after["assistance:paid"] == paid_before + expected
    assert [(r.fund_pay_type, r.inscp_scp_amt, r.fund_payamt) for r in sup.setldetail] == [
        ("610100", 2380800, expected)
    ]
    # a settlement the category does not cover, or with nothing left, gets none
    assert supplement(b, original, "2399", None, accum, recognised) is None
    paid_all = {**original.setlinfo, "maf_pay": 2380800}
    assert supplement(b, Original("S2", DAY, "390", "21", paid_all), "2303", None, accum, recognised) is None
