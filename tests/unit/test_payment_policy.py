"""The payment policy (支付方式政策, payment-drg-dip.md §7): the demo version loads with its values, each kind
of bad input is one line naming file and key, and ``yibao policy check`` validates and summarises it."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.policy_variants import edit
from yibao.cli import main
from yibao.errors import PolicyError
from yibao.payment.policy import load_payment_policies, payment_policy_on
from yibao.policy.loader import load_policy_dir

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "regions" / "990100"


@pytest.fixture
def region(tmp_path: Path) -> Path:
    """A copy of the demo region folder (policy, payment catalogue, institutions)."""
    target = tmp_path / "990100"
    shutil.copytree(DEMO, target)
    return target


def version_file(region: Path) -> Path:
    return region / "policy" / "payment" / "2025.yaml"


def refused(region: Path) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        load_payment_policies(region)
    return exc.value.message.splitlines()


# --- the demo version ------------------------------------------------------------------------------------


def test_the_demo_version_loads_with_its_values():
    (p,) = load_payment_policies(DEMO)
    assert (p.region, p.version, p.effective_from, p.effective_to) == (
        "990100",
        "2025",
        date(2025, 1, 1),
        None,
    )
    assert "虚构" in p.reference
    assert p.history_weights == (Decimal("0.1"), Decimal("0.2"), Decimal("0.7")) and p.trim == "sd3"
    assert p.pool_of_insutype("310") == "310" and p.pool_of_insutype("390") == "390"
    assert p.pools["310"].fund_share == Decimal("0.62") and p.pools["390"].pool_fund == "390100"
    # 一级 by DIP, 二级 and 三级 by DRG; the level written 1 or "1"
    assert [p.scheme_of("H99010200003", lv) for lv in (1, "2", 3)] == ["dip", "drg", "drg"]
    assert [p.level_coef_of(lv) for lv in (1, 2, 3)] == [Decimal("0.75"), Decimal("0.95"), Decimal("1.05")]
    assert p.level_coef_on_deviation is False and p.basic_groups_level_one is True
    assert p.drg.rate_mode == "floating" and p.drg.rule_pack == "chs-drg-1.1"
    assert p.drg.rate_of("310", 3) == 1_150_000 and p.drg.rate_of("390", "1") == 700_000  # fen per RW
    assert p.budget["310"].revenue_last == 3_800_000_000 and p.budget["390"].other_outlays == 1_903_000_000
    assert p.budget["310"].growth == Decimal("0.06") and p.budget["310"].risk_reserve == Decimal("0.03")
    assert (p.monthly.payout_ratio, p.monthly.deposit_ratio) == (Decimal("0.95"), Decimal("0.05"))
    assert (p.point_value.places, p.point_value.floor, p.point_value.ceiling) == (
        4,
        Decimal("0.9"),
        Decimal("1.1"),
    )
    assert p.clearing.deadline == "06-30" and p.clearing.deviation_base == "prior_year"
    assert p.special_review.cap_of("dip") == Decimal("0.005") and p.special_review.cap_of("drg") == Decimal(
        "0.05"
    )
    assert p.payment_ratio_cap == Decimal("1.10")
    assert p.risk_sharing.surplus[0].share == Decimal("0.60") and p.risk_sharing.overspend[0].upto == Decimal(
        "0.10"
    )


def test_the_boundaries_follow_the_written_operators():
    (p,) = load_payment_policies(DEMO)
    dev = p.dip.deviation  # r > 2 high, r < 0.5 low (§3.5: continuous at 2, a jump at 0.5)
    assert not dev.high.hit(Decimal(2)) and dev.high.hit(Decimal("2.0001"))
    assert not dev.low.hit(Decimal("0.5")) and dev.low.hit(Decimal("0.4999"))
    assert dev.extreme.hit(Decimal("5.625"))
    assert p.exclusions.is_short(2) and not p.exclusions.is_short(3)
    assert p.exclusions.is_long(60) and not p.exclusions.is_long(59)
    assert [p.performance.forfeit_of(s) for s in (95, 90, 85, 79)] == [0, 0, Decimal("0.10"), Decimal("0.30")]


def test_per_diem_categories_and_capitation_contracts():
    (p,) = load_payment_policies(DEMO)
    per = p.perdiem
    assert per.category_of("F20.000", 75, p.exclusions.long_stay_days) == "psychiatric"
    assert per.category_of("I63.900", 75, 60) == "long_stay" and per.category_of("I63.900", 20, 60) is None
    assert per.categories["psychiatric"].standards["3"] == 28_000  # 280 yuan a day, 三级
    assert [(s.upto_day, s.factor) for s in per.segments] == [
        (60, Decimal("1.0")),
        (90, Decimal("0.9")),
        (None, Decimal("0.8")),
    ]
    cap = p.capitation
    assert (cap.amount, cap.reserve, cap.med_types) == (3_500, Decimal("0.05"), ("11",))
    assert cap.contracts.path == DEMO / "payment" / "capitation.csv"
    assert {r.pool for r in cap.contracts.rows} == {"310", "390"}
    assert all(200 <= r.enrolled <= 1000 for r in cap.contracts.rows)  # the demo's scale: 20,000 persons
    assert cap.contracts.enrolled("H99010200003", "310") == 300


def test_a_hospital_entry_overrides_its_level_and_whole_numbers_need_no_quotes(region):
    f = version_file(region)
    edit(f, "hospitals: {}", "hospitals: {H99010200001: dip}")
    edit(f, 'payment_ratio_cap: "1.10"', "payment_ratio_cap: 1")
    (p,) = load_payment_policies(region)
    assert p.scheme_of("H99010200001", 3) == "dip" and p.scheme_of("H99011200001", 3) == "drg"
    assert p.payment_ratio_cap == 1
    with pytest.raises(PolicyError, match="险种 999 不属于任何统筹池"):
        p.pool_of_insutype("999")


def test_the_version_in_force_on_a_day():
    assert payment_policy_on(DEMO, date(2025, 6, 1)).version == "2025"
    with pytest.raises(PolicyError, match="无适用的支付方式政策版本"):
        payment_policy_on(DEMO, date(2024, 12, 31))


def test_the_benefit_loader_does_not_read_the_payment_subfolder():
    assert (DEMO / "policy" / "payment" / "2025.yaml").is_file()
    assert [lv.policy.version for lv in load_policy_dir(DEMO / "policy", "990100")] == ["2025", "2026"]


# --- bad input: one line naming file and key ---------------------------------------------------------------

RATES = (
    '  rates:\n    "310": {1: "7800.00", 2: "9900.00", 3: "11500.00"}\n'
    '    "390": {1: "7000.00", 2: "9000.00", 3: "10500.00"}\n'
)
BAD = {
    "float ratio": (
        [('payout_ratio: "0.95"', "payout_ratio: 0.95")],
        'monthly › payout_ratio: 0.95 须加引号 (write decimal numbers in quotes: "0.95"; never read as a float)',
    ),
    "payout + deposit ≠ 1": (
        [('deposit_ratio: "0.05"', 'deposit_ratio: "0.10"')],
        "monthly: payout_ratio 0.95 + deposit_ratio 0.10 = 1.05: must be 1 (月度拨付与质量保证金之和须为 1)",
    ),
    "unknown key": ([("trim: sd3", "trim: sd3\ntrimm: none")], "trimm: unknown key (未知的键)"),
    "missing key": ([("trim: sd3\n", "")], "trim: missing (缺少此项)"),
    "fixed mode without rates": (
        [("rate_mode: floating", "rate_mode: fixed"), (RATES, "")],
        "drg › rates: missing (缺少此项): rate_mode fixed needs rates by pool and level",
    ),
    "a level missing from the rates": (
        [('3: "10500.00"}', "}")],
        "drg › rates › 390 › 3: missing (缺少此项): every hospital level 1/2/3 needs a value",
    ),
    "bad operator": (
        [('low: {ratio: "0.5", op: "<"}', 'low: {ratio: "0.5", op: ">"}')],
        "dip › deviation › low › op: Input should be '<' or '<=' (got '>')",
    ),
    "tiers not ascending": (
        [('{upto: "0.10", share: "0.60"}]', '{upto: "0.10", share: "0.60"}, {upto: "0.05", share: "0.20"}]')],
        "risk_sharing › surplus: tier 2 (upto 0.05) must rise above tier 1 (upto 0.10) (分档须递增)",
    ),
    "a closed last per-diem segment": (
        [('{upto_day: ~, factor: "0.8"}', '{upto_day: 120, factor: "0.8"}')],
        "perdiem › segments: segment 3: the last segment is open-ended: write 'upto_day: ~'",
    ),
    "weights not summing to 1": (
        [('["0.1", "0.2", "0.7"]', '["0.1", "0.2", "0.6"]')],
        "history_weights: 0.1 + 0.2 + 0.6 = 0.9: the weights must sum to 1 (年度权重之和须为 1)",
    ),
    "a ratio out of range": (
        [('fund_share: "0.62"', 'fund_share: "1.52"')],
        "pools › 310 › fund_share: 1.52 is not a ratio in (0, 1]",
    ),
    "not a level": (
        [("by_level: {1: dip", "by_level: {4: dip")],
        "schemes › by_level › 4: '4' is not a hospital level: 1 (一级及以下), 2 (二级) or 3 (三级)",
    ),
    "a pool without a budget": (
        [
            (
                '  "390": {revenue_last: "30000000.00", growth: "0.06", risk_reserve: "0.03", other_outlays: '
                '"19030000.00"}\n',
                "",
            )
        ],
        "budget › 390: missing (缺少此项): every pool needs a value",
    ),
    "a hospital not in institutions.csv": (
        [("hospitals: {}", "hospitals: {H99019900009: dip}")],
        "schemes › hospitals › H99019900009: not in the region's institutions.csv",
    ),
    "an unknown rule pack": (
        [("rule_pack: chs-drg-1.1", "rule_pack: chs-drg-9")],
        "drg › rule_pack: 'chs-drg-9' is not a registered DRG scheme (chs-drg-1.1)",
    ),
    "bands not starting at 0": (
        [('{min_score: 0, forfeit: "0.30"}', '{min_score: 10, forfeit: "0.30"}')],
        "performance › bands: the last band starts at 10: it must start at 0 (every score)",
    ),
    "weight without its RW": (
        [("ungrouped: ffs", "ungrouped: weight")],
        "drg: ungrouped: weight needs 'ungrouped_weight' (the RW of a 0000 case, e.g. \"0.2\")",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_naming_file_and_key(region, case):
    edits, expected = BAD[case]
    f = version_file(region)
    for old, new in edits:
        edit(f, old, new)
    assert refused(region) == [f"{f}: {expected}"]


def test_every_problem_of_every_file_at_once(region):
    f = version_file(region)
    edit(f, 'payout_ratio: "0.95"', "payout_ratio: 0.95")
    edit(f, "trim: sd3", "trim: sd4")
    edit(region / "payment" / "capitation.csv", "H99010300004,390,760", "H99010300004,390,lots")
    errors = refused(region)
    assert len(errors) == 3, errors
    assert errors[0].startswith(f"{f}: monthly › payout_ratio: 0.95 须加引号")
    assert errors[1].startswith(f"{f}: trim: Input should be 'sd3', 'p2.5-97.5' or 'none'")
    assert (
        errors[2] == f'{region / "payment" / "capitation.csv"}:5: enrolled: "lots" is not a whole number > 0'
    )


# --- capitation contracts: row-level errors with file and line -------------------------------------------

CSV_BAD = {
    "not a number": (
        "H99010300004,390,760",
        "H99010300004,390,-5",
        '5: enrolled: "-5" is not a whole number > 0',
    ),
    "unknown pool": (
        "H99010300004,390,760",
        "H99010300004,320,2800",
        "5: pool: '320' is not a pool of the policy (310, 390)",
    ),
    "unknown institution": (
        "H99010300004,390,760",
        "H99019900009,390,2800",
        "5: fixmedins_code: H99019900009 is not in the region's institutions.csv",
    ),
    "a row twice": (
        "H99010300004,390,760",
        "H99010300004,310,2800",
        "5: H99010300004 in pool 310 is also on line 4",
    ),
}


@pytest.mark.parametrize("case", CSV_BAD, ids=list(CSV_BAD))
def test_a_bad_contract_row_names_file_and_line(region, case):
    old, new, expected = CSV_BAD[case]
    contracts = region / "payment" / "capitation.csv"
    edit(contracts, old, new)
    assert refused(region) == [f"{contracts}:{expected}"]


def test_a_missing_contracts_file(region):
    (region / "payment" / "capitation.csv").unlink()
    assert refused(region) == [
        f"{region / 'payment' / 'capitation.csv'}: 文件不存在 (file not found; capitation › contracts names it)"
    ]


# --- versions ----------------------------------------------------------------------------------------------

HEAD = 'version: "2026"\ntitle: 示例 2026\nreference: 示例文件（虚构）\neffective_from: {start}\n'


def test_overlapping_versions_are_refused(region):
    f = version_file(region)
    edit(f, "effective_from: 2025-01-01", "effective_from: 2025-01-01\neffective_to: 2025-12-31")
    later = f.with_name("2026.yaml")
    later.write_text(
        f.read_text(encoding="utf-8")
        .replace('version: "2025"', 'version: "2026"')
        .replace("effective_from: 2025-01-01\neffective_to: 2025-12-31", "effective_from: 2025-07-01"),
        encoding="utf-8",
    )
    assert refused(region) == [f"{f}: effective_to: 2025-12-31 overlaps {later} (starts 2025-07-01)"]


def test_a_version_may_inherit_and_say_only_what_changed(region):
    (region / "policy" / "payment" / "2026.yaml").write_text(
        'inherits: "2025"\n'
        + HEAD.format(start="2026-01-01")
        + 'monthly: {payout_ratio: "0.90", deposit_ratio: "0.10"}\n',
        encoding="utf-8",
    )
    old, new = load_payment_policies(region)
    assert new.version == "2026" and new.monthly.deposit_ratio == Decimal("0.10")
    assert new.monthly.settle_deadline_days == 30 and new.pools == old.pools
    assert payment_policy_on(region, date(2025, 12, 31)) == old
    assert payment_policy_on(region, date(2026, 1, 1)) == new


def test_an_inheriting_version_cites_its_own_document(region):
    f = region / "policy" / "payment" / "2026.yaml"
    f.write_text('inherits: "2025"\nversion: "2026"\ntitle: 示例 2026\neffective_from: 2026-01-01\n', "utf-8")
    assert refused(region) == [
        f"{f}: reference: missing (缺少此项): 每个版本写明自己的依据文件 "
        "(a version that inherits cites its own document)"
    ]


# --- yibao policy check --------------------------------------------------------------------------------------


def test_policy_check_summarises_the_payment_policy(capsys):
    assert main(["policy", "check", str(DEMO)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("支付方式政策 2025 "))
    assert "(2025-01-01 — …)" in line and "方案 默认 drg, 一级 dip, 二级 drg, 三级 drg" in line
    assert "统筹池 310 职工 0.62, 390 居民 0.52" in line and "11 份协议 5,770 人" in line


def test_policy_check_names_a_payment_error_and_fails(region, capsys):
    edit(version_file(region), 'deposit_ratio: "0.05"', 'deposit_ratio: "0.10"')
    assert main(["policy", "check", str(region)]) == 2
    captured = capsys.readouterr()
    assert f"{version_file(region)}: monthly: payout_ratio 0.95 + deposit_ratio 0.10 = 1.05" in captured.out
    assert "政策校验失败: 1 处错误" in captured.err
