"""The rules of 特例单议 (special-case review, payment-drg-dip.md §3.6), pure: the transitions as a table, who may
take each step (never the filer for a decision; never a reviewer of the filing hospital), the cap's floor
at its boundaries, the candidates' thresholds at theirs, and an approval's grant — exactly one of extra
points and an FFS amount, parsed exactly."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from yibao.audit_actions import Action
from yibao.money import BasisPoints, CountE4
from yibao.payment import special_review as sr
from yibao.payment.special_review import (
    DECIDE,
    FILE,
    Award,
    Case,
    Kind,
    NotPermitted,
    SpecialReviewRefused,
    Staff,
    Status,
)

HANDLER = Staff("jb", frozenset({"settlement.read", FILE}))
OTHER_HANDLER = Staff("jb2", frozenset({"settlement.read", FILE}))
REVIEWER = Staff("sh", frozenset({"payment.read", DECIDE}))
ADMIN = Staff("admin", frozenset({"*"}))
HOSPITAL, OTHER = "H99010200002", "H99010300001"
DIP, DRG = BasisPoints(50), BasisPoints(500)  # 5 ‰, 5 %

# (action, status before) → status after; every other pair is refused
ALLOWED = {
    (Action.APPROVE, Status.FILED): Status.APPROVED,
    (Action.REJECT, Status.FILED): Status.REJECTED,
    (Action.WITHDRAW, Status.FILED): Status.WITHDRAWN,
}
ACTOR_OF = {Action.APPROVE: REVIEWER, Action.REJECT: REVIEWER, Action.WITHDRAW: HANDLER}


def a_case(**changes) -> Case:
    base = {
        "setl_id": "S1",
        "fixmedins_code": HOSPITAL,
        "year": 2025,
        "med_type": "21",
        "refd_setl_flag": "0",
        "reversed_by": None,
        "mid_setl_flag": "0",
        "supplement_of": None,
        "discharged": date(2025, 3, 6),
        "los": 60,
        "dscg_way": "1",
        "cost_fen": 9_000_000,
        "group_code": "GD13",
        "group_mean_fen": 1_800_000,
    }
    return Case(**(base | changes))


# --- transitions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(sr.TRANSITIONS))
@pytest.mark.parametrize("status", list(Status))
def test_every_pair_of_the_table(action, status):
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(SpecialReviewRefused, match="status: 申请"):
            sr.transition(action, status, staff=ACTOR_OF[action], filed_by="jb")
    else:
        assert sr.transition(action, status, staff=ACTOR_OF[action], filed_by="jb") == expected


def test_nobody_decides_their_own_request_and_only_the_filer_withdraws():
    both = Staff("jb", frozenset({FILE, DECIDE}))
    for action in (Action.APPROVE, Action.REJECT):
        with pytest.raises(NotPermitted, match=r"不能审议.*本人提交的申请"):
            sr.transition(action, Status.FILED, staff=both, filed_by="jb")
        with pytest.raises(NotPermitted, match=r"不能审议.*本人提交的申请"):
            sr.transition(action, Status.FILED, staff=Staff("admin", frozenset({"*"})), filed_by="admin")
    with pytest.raises(NotPermitted, match="只有申请人 jb 可以撤回"):
        sr.transition(Action.WITHDRAW, Status.FILED, staff=OTHER_HANDLER, filed_by="jb")
    with pytest.raises(NotPermitted, match=f"需要 {DECIDE} 权限"):
        sr.transition(Action.APPROVE, Status.FILED, staff=HANDLER, filed_by="someone")
    with pytest.raises(NotPermitted, match=f"需要 {FILE} 权限"):
        sr.check_filer(REVIEWER)
    sr.check_filer(HANDLER)
    sr.check_filer(ADMIN)


def test_decisions_are_two_words():
    assert sr.decision("approve") == Action.APPROVE and sr.decision(" reject ") == Action.REJECT
    for bad in ("withdraw", "", None, "APPROVE"):
        with pytest.raises(SpecialReviewRefused, match="decision: 应为 approve"):
            sr.decision(bad)


def test_a_reviewer_from_the_filing_hospital_must_stand_aside():
    with pytest.raises(NotPermitted, match=f"reviewer_institution: 评审人员所在机构 {HOSPITAL} 即申请医院"):
        sr.check_independent(HOSPITAL, HOSPITAL)
    sr.check_independent(OTHER, HOSPITAL)
    sr.check_independent(None, HOSPITAL)  # the bureau's own staff


# --- the cap ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("discharges", "cap", "limit"),
    [
        (1234, DIP, 6),  # 1,234 × 5 ‰ = 6.17 → 6
        (199, DIP, 0),  # 0.995 → 0: floor, never round
        (200, DIP, 1),  # exactly 1
        (399, DIP, 1),
        (400, DIP, 2),
        (19, DRG, 0),  # 0.95 → 0
        (20, DRG, 1),
        (1234, DRG, 61),  # 61.7 → 61
        (0, DRG, 0),
        (5, BasisPoints(10_000), 5),  # 100 %
        (7, BasisPoints(0), 0),
    ],
)
def test_the_cap_is_the_floor_of_discharges_times_the_share(discharges, cap, limit):
    assert sr.cap_limit(discharges, cap) == limit


def test_the_cap_at_its_boundary_says_the_arithmetic():
    sr.check_cap(year=2025, discharges=1234, cap=DIP, scheme="dip", used=5)  # the 6th fits
    with pytest.raises(SpecialReviewRefused) as refused:
        sr.check_cap(year=2025, discharges=1234, cap=DIP, scheme="dip", used=6)  # a 7th does not
    assert refused.value.message.startswith(
        "setl_id: 特例单议申请已达上限: 本院 2025 年出院 1,234 例 × 5‰ = 6 例"
    )
    assert "已申请（含已通过）6 例" in refused.value.message
    with pytest.raises(SpecialReviewRefused, match=r"本院 2025 年出院 19 例 × 5% = 0 例"):
        sr.check_cap(year=2025, discharges=19, cap=DRG, scheme="drg", used=0)
    sr.check_cap(year=2025, discharges=20, cap=DRG, scheme="drg", used=0)
    with pytest.raises(SpecialReviewRefused, match="支付方式为按项目付费，支付方式政策未规定其特例单议比例"):
        sr.check_cap(year=2025, discharges=5000, cap=None, scheme="ffs", used=0)


def test_shares_as_people_write_them():
    assert [sr.share_words(BasisPoints(b)) for b in (500, 50, 25, 5, 10_000, 150)] == [
        "5%",
        "5‰",
        "2.5‰",
        "0.5‰",
        "100%",
        "15‰",
    ]


def test_one_request_per_case_at_a_time():
    sr.check_not_open("S1", None, None)
    with pytest.raises(SpecialReviewRefused, match="结算 S1 已有待评审的特例单议申请 #3"):
        sr.check_not_open("S1", 3, "filed")
    with pytest.raises(SpecialReviewRefused, match="已有已通过的特例单议申请 #4"):
        sr.check_not_open("S1", 4, "approved")


# --- an approval's grant ---------------------------------------------------------------------------------------


def test_an_approval_carries_exactly_one_of_points_and_an_ffs_amount():
    cost = 900_000  # 9,000.00 元
    assert sr.award(Action.APPROVE, "12.5", None, cost_fen=cost) == Award(125_000, None)
    assert sr.award(Action.APPROVE, "0.0001", "", cost_fen=cost) == Award(1, None)
    assert sr.award(Action.APPROVE, " ", "3000.5", cost_fen=cost) == Award(0, 300_050)
    assert sr.award(Action.APPROVE, None, "9000.00", cost_fen=cost) == Award(
        0, cost
    )  # the whole cost: allowed
    with pytest.raises(SpecialReviewRefused, match="二者之一，不能同时给出"):
        sr.award(Action.APPROVE, "1", "1.00", cost_fen=cost)
    with pytest.raises(SpecialReviewRefused, match=r"须给出追加点数 .* 或按项目付费金额 .* 二者之一"):
        sr.award(Action.APPROVE, None, "  ", cost_fen=cost)


@pytest.mark.parametrize(
    ("points", "ffs", "refusal"),
    [
        ("0", None, "extra_points: 追加点数须大于 0"),
        ("-3", None, "extra_points: 追加点数须大于 0"),
        ("1.23456", None, 'extra_points: 追加点数无效："1.23456" 小数位超过 4 位'),
        ("十", None, "extra_points: 追加点数无效"),
        ("NaN", None, "extra_points: 追加点数无效"),
        (None, "0.00", "ffs_amount: 按项目付费金额须大于 0"),
        (None, "12.345", 'ffs_amount: 按项目付费金额无效："12.345" 小数位超过 2 位'),
        (None, "9000.01", "ffs_amount: 按项目付费金额 9,000.01 元超过该病例医疗费总额 9,000.00 元"),
    ],
)
def test_points_and_amounts_are_parsed_exactly(points, ffs, refusal):
    with pytest.raises(SpecialReviewRefused) as refused:
        sr.award(Action.APPROVE, points, ffs, cost_fen=900_000)
    assert refused.value.message.startswith(refusal)


def test_a_rejection_grants_nothing():
    assert sr.award(Action.REJECT, None, None, cost_fen=1) == sr.NOTHING
    assert sr.award(Action.WITHDRAW, "", "", cost_fen=1) == sr.NOTHING
    with pytest.raises(SpecialReviewRefused, match="不通过时不能给出追加点数"):
        sr.award(Action.REJECT, "5", None, cost_fen=1)


def test_points_read_back_with_four_decimals():
    assert sr.points_words(125_000) == "12.5000" and sr.points_words(1) == "0.0001"


# --- the case and the candidates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"fixmedins_code": OTHER}, f"不是本院 {HOSPITAL} 的结算（属 {OTHER}）"),
        ({"year": 2024}, "于 2024 年出院，不属 2025 年度"),
        ({"med_type": "11"}, "不是住院结算 (med_type 11)"),
        ({"refd_setl_flag": "1"}, "是撤销记录或补充结算"),
        ({"supplement_of": "S0"}, "是撤销记录或补充结算"),
        ({"reversed_by": "S9"}, "已撤销 (S9)"),
        ({"mid_setl_flag": "1"}, "是中途结算，请对出院结算申请"),
        ({"listed": False}, "没有有效的医保结算清单，未按病种付费"),
    ],
)
def test_only_the_hospitals_standing_inpatient_discharge_of_the_year(changes, refusal):
    sr.check_case(a_case(), fixmedins_code=HOSPITAL, year=2025)
    with pytest.raises(SpecialReviewRefused, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        sr.check_case(a_case(**changes), fixmedins_code=HOSPITAL, year=2025)


def test_the_candidates_thresholds_at_their_boundaries():
    settings = sr.DEFAULTS  # 60 days, 5 × the group mean
    sr.check_candidate(Kind.LONG_STAY, a_case(los=60), settings)  # ≥ 60
    with pytest.raises(SpecialReviewRefused, match="超长住院须住院满 60 天，该病例住院 59 天"):
        sr.check_candidate(Kind.LONG_STAY, a_case(los=59), settings)
    # 5 × 18,000.00 = 90,000.00: reached exactly, and one fen short
    sr.check_candidate(Kind.EXTREME, a_case(cost_fen=9_000_000, group_mean_fen=1_800_000), settings)
    with pytest.raises(
        SpecialReviewRefused,
        match=r"费用极高须达病组均次费用的 5 倍（18,000.00 元），该病例医疗费总额 89,999.99 元",
    ):
        sr.check_candidate(Kind.EXTREME, a_case(cost_fen=8_999_999, group_mean_fen=1_800_000), settings)
    with pytest.raises(SpecialReviewRefused, match="病组 GD13没有本年度的均次费用标准"):
        sr.check_candidate(Kind.EXTREME, a_case(group_mean_fen=None), settings)
    with pytest.raises(SpecialReviewRefused, match="病例未分组"):
        sr.check_candidate(Kind.EXTREME, a_case(group_code=None, group_mean_fen=None), settings)
    odd = sr.ReviewSettings(
        cap={}, window_days=0, long_stay_days=90, extreme_ratio4=CountE4(25_000), source="t"
    )
    sr.check_candidate(Kind.EXTREME, a_case(cost_fen=250, group_mean_fen=100), odd)  # 2.5 ×
    with pytest.raises(SpecialReviewRefused, match=r"2.5 倍"):
        sr.check_candidate(Kind.EXTREME, a_case(cost_fen=249, group_mean_fen=100), odd)
    for kind in (Kind.ICU, Kind.NEW_TECH, Kind.RESCUE):  # proved by the evidence, not the data
        sr.check_candidate(kind, a_case(los=1, cost_fen=1), settings)


def test_the_window_opens_when_the_month_is_pre_settled():
    sr.check_window(None, date(2026, 6, 1), 30)  # not pre-settled yet: open
    sr.check_window(date(2025, 4, 5), date(2025, 5, 5), 30)  # the 30th day
    with pytest.raises(
        SpecialReviewRefused,
        match=r"已过申报期限: 该病例所在月份于 2025-04-05 预结算，须在 30 天内（2025-05-05 前）",
    ):
        sr.check_window(date(2025, 4, 5), date(2025, 5, 6), 30)


# --- what a request says ------------------------------------------------------------------------------------------


def test_kinds_and_their_names():
    assert sr.kind("long_stay") == Kind.LONG_STAY and sr.kind_name("rescue") == "急危重症抢救/入院后短期死亡"
    assert {sr.kind_name(k) for k in Kind} == {
        "超长住院",
        "重症监护",
        "新药新技术",
        "费用极高",
        "急危重症抢救/入院后短期死亡",
    }
    with pytest.raises(SpecialReviewRefused, match=r"reason: 未知的申请类别 'icu2'.*long_stay 超长住院"):
        sr.kind("icu2")


def test_evidence_names_and_digests():
    digest = "ab" * 32
    got = sr.evidence(
        [
            "病历摘要.pdf",
            {"name": " 费用清单.xlsx ", "digest": f"sha256:{digest.upper()}"},
            {"name": "x", "digest": ""},
        ],
        Kind.ICU,
    )
    assert got == [
        {"name": "病历摘要.pdf", "digest": None},
        {"name": "费用清单.xlsx", "digest": digest},
        {"name": "x", "digest": None},
    ]
    assert sr.evidence(None, Kind.LONG_STAY) == []  # the stay proves itself
    with pytest.raises(SpecialReviewRefused, match="evidence: 重症监护须附证明材料"):
        sr.evidence([], Kind.ICU)
    with pytest.raises(SpecialReviewRefused, match=r"evidence\[0\].digest: 摘要应为 64 位十六进制 SHA-256"):
        sr.evidence([{"name": "a", "digest": "xyz"}], Kind.ICU)
    with pytest.raises(SpecialReviewRefused, match=r"evidence\[1\].name: 必须填写附件名称"):
        sr.evidence(["a", " "], Kind.ICU)
    with pytest.raises(SpecialReviewRefused, match=r"evidence\[0\].name: 附件须有名称"):
        sr.evidence([{"digest": digest}], Kind.ICU)
    with pytest.raises(SpecialReviewRefused, match="evidence: 附件最多 50 个（现 51 个）"):
        sr.evidence([f"f{i}" for i in range(51)], Kind.ICU)


def test_statements_and_notes():
    assert sr.statement("  住院 75 天  ") == "住院 75 天"
    with pytest.raises(SpecialReviewRefused, match="statement: 必须填写医院说明"):
        sr.statement("  ")
    with pytest.raises(SpecialReviewRefused, match="statement: 医院说明最多 2000 个字（现 2001 个）"):
        sr.statement("字" * 2001)
    with pytest.raises(SpecialReviewRefused, match="含不可显示的字符"):
        sr.statement("a\x00b")
    assert sr.note(Action.APPROVE, None) is None and sr.note(Action.WITHDRAW, " ") is None
    with pytest.raises(SpecialReviewRefused, match="note: 必须填写评审意见"):
        sr.note(Action.REJECT, "")
    assert sr.note(Action.REJECT, "未达标准") == "未达标准"


def test_the_rules_touch_no_database():
    """A boundary contract (style 1): the rules import nothing from the store, the API, the console or the
    settings, and no SQL library."""
    imported = set()
    for node in ast.walk(ast.parse(Path(sr.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {
        m for m in imported if m.split(".")[:2] in (["yibao", x] for x in ("store", "api", "console"))
    }
    assert "yibao.config" not in imported and "sqlalchemy" not in {m.split(".")[0] for m in imported}
