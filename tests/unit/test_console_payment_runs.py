"""The 付费结算 read models on a small hand-made year: a hospital's statement (结算单) and its CLI, the runs of a
year with their versions, the clearing's pools and lines, and the indicators — every value against the hand
sums of the priced cases below.

Eight priced cases (amounts in fen; weight4/coef4/points4/r4 ×10⁴; † died: 离院方式 5 on its list):

==== ===== ===== ====== ========== ====== ========== ========= ======= ======= ===== ====
case month hosp  pool   method     group  class      weight4   amount  cost    los   died
==== ===== ===== ====== ========== ====== ========== ========= ======= ======= ===== ====
C1   3     H3    390    drg        GD13   normal     14000     700000  600000  5     †
C2   3     H3    310    drg        GD13   high       14000     1000000 1500000 12    †
C3   3     H3    390    drg        GD15   low        6000      60000   60000   3
C4   3     H2    390    dip        A02.2… normal     2890000   500000  180000  3     †
C5   3     H2    390    ffs        —      normal     0         250000  250000  1
C6   4     H2    310    drg        GD15   normal     6000      300000  300000  4
C7   4     H2    390    perdiem    精神类  normal     0         460000  500000  20
C8   4     H3    310    drg        GD15   normal     6000      330000  300000  6     †
==== ===== ===== ====== ========== ====== ========== ========= ======= ======= ===== ====

March's first version (superseded) priced C1 at 9,999,999.99 and must never be read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from openpyxl import load_workbook

from tests import payment_cases as pc
from tests import world
from yibao.cli import main
from yibao.console import queries_payment_budgets as qb
from yibao.console import queries_payment_indicators as qi
from yibao.console import queries_payment_runs as qr
from yibao.console import queries_payment_statement as qs
from yibao.console.export import export_lists
from yibao.errors import InputError
from yibao.store.db import unit_of_work
from yibao.store.tables import PaymentCase, PaymentLine, PaymentRun, SettlementList

H2, H3 = world.HOSP2, world.HOSP3  # 示例市第二人民医院 (code first), 示例市第一人民医院
DIP_CODE = "A02.2-00"  # the demo catalogue's "A02.2 保守治疗"
NOW = datetime(2026, 1, 5, 9, 0)

#        setl_id month hosp pool method  group  class  extreme r4   base    w4      coef4 pts4    extra  amount  cost     psn     fund    los died
CASES = [
    ("C1", 3, H3, "390", "drg", "GD13", "normal", False, 12000, 500000, 14000, 10000, 14000, 0, 700000, 600000, 200000, 400000, 5, True),
    ("C2", 3, H3, "310", "drg", "GD13", "high", False, 30000, 500000, 14000, 10000, 20000, 0, 1000000, 1500000, 300000, 1200000, 12, True),
    ("C3", 3, H3, "390", "drg", "GD15", "low", False, 2000, 300000, 6000, 10000, 0, 60000, 60000, 60000, 30000, 30000, 3, False),
    ("C4", 3, H2, "390", "dip", DIP_CODE, "normal", True, 9000, 200000, 2890000, 9500, 2745500, 0, 500000, 180000, 80000, 100000, 3, True),
    ("C5", 3, H2, "390", "ffs", None, "normal", False, -1, 0, 0, 10000, 0, 250000, 250000, 250000, 100000, 150000, 1, False),
    ("C6", 4, H2, "310", "drg", "GD15", "normal", False, 10000, 300000, 6000, 10500, 6300, 0, 300000, 300000, 100000, 200000, 4, False),
    ("C7", 4, H2, "390", "perdiem", "psychiatric", "normal", False, -1, 23000, 0, 10000, 0, 460000, 460000, 500000, 40000, 460000, 20, False),
    ("C8", 4, H3, "310", "drg", "GD15", "normal", False, 10000, 300000, 6000, 10000, 6000, 0, 330000, 300000, 90000, 210000, 6, True),
]  # fmt: skip
KEYS = (
    "setl_id", "month", "fixmedins_code", "pool", "method", "group_code", "cost_class", "extreme", "r4", "base_fen",
    "weight4", "coef4", "points4", "extra_fen", "amount_fen", "cost_fen", "personal_fen", "fund_ffs_fen", "los", "died",
)  # fmt: skip
DAYS = {"C1": 6, "C2": 10, "C3": 12, "C4": 14, "C5": 20, "C6": 10, "C7": 15, "C8": 20}

# the month lines (hospital, pool, method): cases, points4, entitlement, personal, cost, fund; owed, paid, deposit
MONTH_LINES = {
    3: [
        (H3, "390", "drg", 2, 14000, 760000, 230000, 660000, 430000, 530000, 503500, 26500),
        (H3, "310", "drg", 1, 20000, 1000000, 300000, 1500000, 1200000, 700000, 665000, 35000),
        (H2, "390", "dip", 1, 2745500, 500000, 80000, 180000, 100000, 420000, 399000, 21000),
        (H2, "390", "ffs", 1, 0, 250000, 100000, 250000, 150000, 150000, 150000, 0),
    ],
    4: [
        (H2, "310", "drg", 1, 6300, 300000, 100000, 300000, 200000, 200000, 190000, 10000),
        (H2, "390", "perdiem", 1, 0, 460000, 40000, 500000, 460000, 420000, 399000, 21000),
        (H3, "310", "drg", 1, 6000, 330000, 90000, 300000, 210000, 240000, 228000, 12000),
    ],
}


def _case(run_id: int, row: tuple) -> PaymentCase:
    c = dict(zip(KEYS, row, strict=True))
    month, _ = c.pop("month"), c.pop("died")
    return PaymentCase(run_id=run_id, dscg_date=date(2025, month, DAYS[c["setl_id"]]), **c)


def _run(s, kind: str, month: int, version: int, status: str, summary: dict | None = None) -> PaymentRun:
    run = PaymentRun(
        kind=kind,
        year=2025,
        month=month,
        version=version,
        status=status,
        policy_version="2025",
        params_hash="p" * 64,
        snapshot_hash="s" * 64,
        summary=summary or {"packs": {"chs-drg-1.1": "x"}},
        created_at=NOW.replace(day=version),
        created_by="tester",
    )
    s.add(run)
    s.flush()
    return run


def _line(run_id: int, row: tuple, **more) -> PaymentLine:
    code, pool, method, cases, points4, ent, psn, cost, fund, owed, paid, deposit = row
    return PaymentLine(
        run_id=run_id,
        fixmedins_code=code,
        pool=pool,
        method=method,
        cases=cases,
        points4=points4,
        pv="10.0000" if method in ("dip", "drg") else "0",
        entitlement_fen=ent,
        personal_fen=psn,
        cost_fen=cost,
        fund_ffs_fen=fund,
        owed_fen=owed,
        paid_fen=paid,
        deposit_fen=deposit,
        detail=more.pop("detail", {"funds": []}),
        **more,
    )


@pytest.fixture
def year(engine):
    """The world, a settlement list for every case (the dead ones 离院方式 5), and the year's month runs."""
    world.build(engine)
    with unit_of_work(engine) as s:
        for setl_id, month, code, pool, *_, died in CASES:
            psn = world.WORKER if pool == "310" else world.RESIDENT
            pc.settled(s, setl_id, psn, code, pool, 100_000, datetime(2025, month, DAYS[setl_id], 10, 0))
            pc.upload(s, setl_id)
            if died:
                s.query(SettlementList).filter_by(setl_id=setl_id).update({"dscg_way": "5"})
        old = _run(s, "month", 3, 1, "superseded")
        s.add(_case(old.id, ("C1", *CASES[0][1:14], 999_999_999, *CASES[0][15:])))
        s.add(_line(old.id, (H3, "390", "drg", 1, 14000, 999_999_999, 0, 1, 0, 0, 0, 0)))
        for month, lines in MONTH_LINES.items():
            run = _run(s, "month", month, 2 if month == 3 else 1, "posted")
            s.add_all(_case(run.id, c) for c in CASES if c[1] == month)
            s.add_all(_line(run.id, ln) for ln in lines)
    return engine


def _clearing(engine) -> None:
    """The year cleared: C1 and C2 again (one line each), a payment-ratio cap on one and 考核 on the other."""
    pools = [
        {
            "pool": "390",
            "scheme": "drg",
            "budget": "12345.67",
            "total_cost_budget": "24691.34",
            "pv_budget": "10000.00",
            "pv_exact": "11234.56789012",
            "pv_settle": "11000.00",
            "pv_bound": "ceiling",
            "total_points": "1.4000",
            "outside_points": "0.00",
            "entitlements": "15400.00",
        }
    ]
    with unit_of_work(engine) as s:
        run = _run(s, "clear", 0, 1, "posted", {"packs": {"chs-drg-1.1": "x"}, "pools": pools})
        s.add_all(_case(run.id, c) for c in CASES[:2])
        s.add(
            _line(
                run.id,
                (H3, "390", "drg", 1, 14000, 1_540_000, 200_000, 600_000, 400_000, 1_000_000, 496_500, 0),
                pre_settled_fen=503_500,
                deposit_withheld_fen=26_500,
                adjustments_fen=-340_000,
                detail={"adjustments": {"payment_ratio_cap": -340_000}},
            )
        )
        s.add(
            _line(
                run.id,
                (
                    H3,
                    "310",
                    "drg",
                    1,
                    20000,
                    2_200_000,
                    300_000,
                    1_500_000,
                    1_200_000,
                    1_896_500,
                    1_231_500,
                    0,
                ),
                pre_settled_fen=665_000,
                deposit_withheld_fen=35_000,
                adjustments_fen=-3_500,
                detail={"adjustments": {"performance": -3_500}},
            )
        )


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


# --- 结算单 ------------------------------------------------------------------------------------------------------


def test_a_month_statement_is_its_cases_then_the_line_totals(year):
    with unit_of_work(year, write=False) as s:
        title, rows = qs.statement_rows(s, 2025, 3, H3)
    assert title == "示例市第一人民医院 2025 年 3 月月度预结算结算单（第 2 版）"
    cases, totals = rows[:3], rows[3:]
    assert [r["setl_id"] for r in cases] == ["C1", "C2", "C3"]  # by discharge date; not the superseded C1
    c1 = cases[0]
    assert c1["dscg_date"] == date(2025, 3, 6) and c1["pool"] == "居民" and c1["method"] == "DRG 按病组"
    assert c1["group_code"] == "GD13" and c1["group_name"]  # (named from the CHS-DRG 1.1 pack)
    assert (
        c1["cost_class"] == "正常" and c1["amount"] == Decimal("7000.00") and c1["base"] == Decimal("5000.00")
    )
    assert (c1["r"], c1["weight"], c1["coef"], c1["points"]) == (1.2, 1.4, 1.0, 1.4)  # numbers, four places
    assert cases[1]["cost_class"] == "高倍率" and cases[2]["cost_class"] == "低倍率"
    assert sum(r["amount"] for r in cases) == yuan(700000 + 1000000 + 60000)  # the PaymentCase rows' sum
    assert [(r["setl_id"], r["pool"], r["amount"]) for r in totals[:2]] == [
        ("小计", "职工", yuan(1000000)),  # (lines by pool code: 310 first)
        ("小计", "居民", yuan(760000)),
    ]
    assert totals[1]["group_name"] == "2 例，点值 10.0000" and totals[1]["points"] == 1.4
    whole = {r["setl_id"]: r for r in totals[2:]}
    assert whole["合计"]["amount"] == yuan(1760000) and whole["合计"]["cost"] == yuan(2160000)
    assert whole["合计"]["personal"] == yuan(530000) and whole["合计"]["fund_ffs"] == yuan(1630000)
    assert whole["应付"]["amount"] == yuan(1230000)  # 1,760,000 − 530,000
    assert whole["本月拨付"]["amount"] == yuan(1168500) and whole["质量保证金"]["amount"] == yuan(61500)
    assert set(rows[0]) == {k for k, _ in qs.STATEMENT_COLUMNS}


def test_the_other_methods_show_only_what_applies_and_are_named(year):
    with unit_of_work(year, write=False) as s:
        f = qs.StatementFilter(2025, 3, H2)
        dip, ffs = qs.statement_records(s, f)
        perdiem = next(iter(qs.statement_records(s, qs.StatementFilter(2025, 4, H2), order=("method", True))))
    assert dip["method"] == "DIP 按病种分值" and dip["group_name"] == "A02.2 保守治疗"
    assert dip["cost_class"] == "正常（极端）" and dip["weight"] == Decimal("289.0000")
    assert dip["coef"] == Decimal("0.9500") and dip["points"] == Decimal("274.5500")
    assert ffs["method"] == "按项目" and ffs["group_code"] == "" and ffs["cost_class"] == ""
    assert (ffs["r"], ffs["base"], ffs["weight"], ffs["points"]) == (None, None, None, None)
    assert ffs["amount"] == Decimal("2500.00")
    assert perdiem["method"] == "按床日" and perdiem["group_code"] == "精神类"  # the policy's category name
    assert perdiem["base"] == Decimal("230.00") and perdiem["points"] is None


def test_statement_cases_are_ordered_and_paged_by_the_database(year):
    with unit_of_work(year, write=False) as s:
        f = qs.StatementFilter(2025, 3, H3)
        assert qs.statement_count(s, f) == 3
        by_amount = [r["setl_id"] for r in qs.statement_records(s, f, order=("amount", True))]
        assert by_amount == ["C2", "C1", "C3"]
        pages = [r["setl_id"] for r in qs.statement_records(s, f, 2, order=("amount", True))]
        pages += [r["setl_id"] for r in qs.statement_records(s, f, 2, offset=2, order=("amount", True))]
        assert pages == by_amount
        assert [r["setl_id"] for r in qs.statement_records(s, f, order=("r", False))] == ["C3", "C1", "C2"]
        assert qs.statement_count(s, qs.StatementFilter(2025, 5, H3)) == 0
        assert qs.statement_institutions(s, f.run(s)) == {
            H2: f"{H2} 示例市第二人民医院",
            H3: f"{H3} 示例市第一人民医院",
        }


def test_a_statement_of_a_period_not_run_or_an_unknown_hospital_is_refused(year):
    with unit_of_work(year, write=False) as s:
        with pytest.raises(InputError, match="2025 年 5 月月度预结算尚未计算"):
            qs.statement_rows(s, 2025, 5, H3)
        with pytest.raises(InputError, match="2025 年度清算尚未计算"):
            qs.statement_rows(s, 2025, 0, H3)
        with pytest.raises(InputError, match="没有定点机构 H000"):
            qs.statement_rows(s, 2025, 3, "H000")
        with pytest.raises(InputError, match="没有结算"):
            qs.statement_rows(s, 2025, 3, world.OTHER)
        with pytest.raises(InputError, match="13"):
            qs.statement_rows(s, 2025, 13, H3)


def test_the_clearing_statement_ends_with_adjustments_and_the_balance(year):
    _clearing(year)
    with unit_of_work(year, write=False) as s:
        title, rows = qs.statement_rows(s, 2025, 0, H3)
    assert title == "示例市第一人民医院 2025 年度清算结算单（第 1 版）"
    whole = {r["setl_id"]: r for r in rows if r["setl_id"] not in ("C1", "C2", "小计")}
    assert whole["合计"]["amount"] == yuan(3_740_000)
    assert whole["调整"]["amount"] == yuan(-343_500)
    assert whole["调整"]["group_name"] == "支付率封顶 -3,400.00；考核扣减 -35.00"
    assert whole["全年应付"]["amount"] == yuan(2_896_500)  # 3,740,000 − 500,000 − 343,500
    assert whole["已预结算"]["amount"] == yuan(1_168_500)
    assert whole["已预留质量保证金"]["amount"] == yuan(61_500)
    assert whole["清算"]["amount"] == yuan(1_728_000)  # 2,896,500 − 1,168,500


def test_the_cli_writes_the_statement_workbook(year, tmp_path, capsys):
    out = tmp_path / "statement.xlsx"
    assert (
        main(
            [
                "payment",
                "statement",
                "--year",
                "2025",
                "--month",
                "3",
                "--institution",
                H3,
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert "2025 年 3 月月度预结算结算单（第 2 版）: 9 行" in capsys.readouterr().out  # 3 cases + 6 totals
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "示例市第一人民医院 2025 年 3 月月度预结算结算单（第 2 版）"
    assert rows[1] == tuple(label for _, label in qs.STATEMENT_COLUMNS)
    amount, weight = rows[1].index("金额（元）"), rows[1].index("权重/分值")
    assert rows[2][1] == "C1" and rows[2][amount] == 7000 and rows[2][weight] == 1.4
    assert ws.cell(3, amount + 1).number_format == "#,##0.00"  # money as a number cell
    assert ws.cell(3, weight + 1).number_format == "General"  # a weight is not money (four places kept)
    assert rows[-1][1] == "质量保证金" and rows[-1][amount] == 615
    assert (
        main(
            [
                "payment",
                "statement",
                "--year",
                "2025",
                "--month",
                "5",
                "--institution",
                H3,
                "--output",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "2025 年 5 月月度预结算尚未计算" in err and len(err.strip().splitlines()) == 1


def test_the_statement_exports_in_the_background_shape(year):
    spec = export_lists()["payment_statement"]
    with unit_of_work(year, write=False) as s:
        f = qs.StatementFilter(2025, 4, H2)
        rows = list(spec.rows(s, f))
        assert spec.count(s, f) == len(rows) == 2 + 2 + 1 + 3  # cases, subtotals, 合计, what the month pays
    assert rows[0]["setl_id"] == "C6" and rows[0]["weight"] == 0.6


# --- 预算、月度预结算、清算 ----------------------------------------------------------------------------------------


def test_the_runs_of_a_year_with_their_lines_sums(year):
    _clearing(year)
    with unit_of_work(year, write=False) as s:
        rows = qr.run_rows(s, 2025)
        assert qr.years(s) == [2025] and qr.default_year(s) == 2025
    assert [(r["period"], r["version"], r["status"]) for r in rows] == [
        ("3 月", "第 2 版", "已过账"),
        ("3 月", "第 1 版", "已被取代"),
        ("4 月", "第 1 版", "已过账"),
        ("年度清算", "第 1 版", "已过账"),
    ]
    march = rows[0]
    assert march["cases"] == 5 and march["entitlement"] == yuan(760000 + 1000000 + 500000 + 250000)
    assert (
        march["owed"] == yuan(1800000) and march["paid"] == yuan(1717500) and march["deposit"] == yuan(82500)
    )
    assert rows[1]["entitlement"] == yuan(999_999_999)  # (the superseded version keeps its own figures)
    assert rows[3]["deposit"] == yuan(61_500)  # the deposits the months withheld
    assert rows[3]["paid"] == yuan(1_728_000)


def test_the_clearing_pools_and_lines_in_words(year):
    _clearing(year)
    with unit_of_work(year, write=False) as s:
        run = qr.posted(s, 2025, 0)
        [pool] = qr.clearing_pools(run)
        lines = qr.line_rows(s, run)
    assert pool["pool"] == "居民" and pool["scheme"] == "DRG 按病组" and pool["bound"] == "触及上限"
    assert pool["pv_budget"] == "10,000.00 元/权重" and pool["pv_settle"] == "11,000.00 元/权重"
    assert pool["change"] == Fraction(11, 10) and pool["budget"] == Decimal("12345.67")
    assert pool["pv_exact"] == "11,234.56789012" and pool["total_points"] == Decimal("1.4000")
    assert [(ln["fixmedins_name"], ln["pool"], ln["adjustment_detail"]) for ln in lines] == [
        ("示例市第一人民医院", "职工", "考核扣减 -35.00"),
        ("示例市第一人民医院", "居民", "支付率封顶 -3,400.00"),
    ]
    assert lines[1]["pre_settled"] == yuan(503_500) and lines[1]["paid"] == yuan(496_500)


def test_budgets_of_a_year_with_their_trace_in_words(year):
    from yibao.store.payment_budgets import write_budget

    figures = {
        "revenue_last": "38000000.00",
        "revenue_source": "ledger 2024",
        "projected_revenue": "40280000.00",
        "after_reserve": "39071600.00",
        "other_outlays": "30000000.00",
        "case_budget": "9071600.00",
        "scheme_share_cost": {"drg": "316513.92", "dip": "14683.64"},
        "history": {"2024": {"cost": "319151.22", "points": "32.0564"}},
        "groups": 41,
        "forecast_weight": "33.1672",
        "forecast_rate": "522770.13",
    }
    with unit_of_work(year) as s:
        values = {
            "fund_budget_fen": 866_941_072,
            "total_cost_budget_fen": 1_733_882_144,
            "pv_budget": "9891.48",
            "policy_version": "2025",
            "figures": figures,
        }
        write_budget(s, year=2025, pool="310", scheme="drg", values=values, norms=[], actor="t", now=NOW)
    with unit_of_work(year, write=False) as s:
        [b] = qb.budget_rows(s, 2025)
        assert qb.budget_rows(s, 2024) == []
    assert (b["pool"], b["scheme"], b["version"]) == ("职工", "DRG 按病组", 1)
    assert b["fund_budget"] == Decimal("8669410.72") and b["pv_budget"] == "9,891.48 元/权重"
    trace = dict(b["figures"])
    assert trace["上年基金收入"] == "38,000,000.00 元（基金账本 2024 年收入）"
    assert trace["历史费用（DRG 按病组 医院）"] == "316,513.92 元"
    assert trace["2024 年历史费用与总点数"] == "319,151.22 元，32.0564 点"
    assert trace["预算费率（加权历史费用 ÷ 加权历史权重）"] == "9,891.48 元/权重"


# --- 指标 --------------------------------------------------------------------------------------------------------


def test_indicators_by_hospital_against_the_hand_sums(year):
    with unit_of_work(year, write=False) as s:
        source, rows = qi.indicators(s, qi.IndicatorFilter(2025))
    assert source == "2025 年各月月度预结算（当前版本）的病例"
    h2, h3, region = rows
    assert (h2["unit"], h3["unit"], region["unit"]) == ("示例市第二人民医院", "示例市第一人民医院", "全市")
    assert (h3["cases"], h3["grouped"], h3["drg_cases"]) == (4, 4, 4)
    assert (h2["cases"], h2["grouped"], h2["drg_cases"]) == (4, 2, 1)
    # CMI: H3 (1.4 + 1.4 + 0.6 + 0.6) / 4 = 1; H2 0.6; 全市 4.6 / 5
    assert (h3["cmi"], h2["cmi"], region["cmi"]) == (1, Fraction(3, 5), Fraction(23, 25))
    # 费用消耗指数: GD13 2 cases 2,100,000; GD15 3 cases 660,000; A02.2 1 case 180,000 —
    # H3: (2,100,000 × 2/2,100,000 + 360,000 × 3/660,000) / 4 = (2 + 18/11) / 4 = 10/11
    # H2: (300,000 × 3/660,000 + 180,000 × 1/180,000) / 2 = (15/11 + 1) / 2 = 13/11
    assert (h3["cost_index"], h2["cost_index"], region["cost_index"]) == (
        Fraction(10, 11),
        Fraction(13, 11),
        1,
    )
    # 时间消耗指数: GD13 17 days, GD15 13 days, A02.2 3 days — H3 (2 + 9 × 3/13) / 4 = 53/52; H2 (12/13 + 1) / 2
    assert (h3["time_index"], h2["time_index"]) == (Fraction(53, 52), Fraction(25, 26))
    # group mortality GD13 2/2, A02.2 1/1, GD15 1/3: mean 7/9, σ² 8/81, (7/9 − 1/3)² = 16/81 > σ² → GD15 is low-risk
    assert (h3["low_risk_cases"], h2["low_risk_cases"]) == (2, 1)
    assert (h3["low_risk_mortality"], h2["low_risk_mortality"], region["low_risk_mortality"]) == (
        Fraction(1, 2),
        0,
        Fraction(1, 3),
    )
    # 支付率 (the months' DRG/DIP lines): H3 2,090,000 / 2,460,000; H2 800,000 / 480,000
    assert h3["payment_ratio"] == Fraction(209, 246) and h2["payment_ratio"] == Fraction(5, 3)
    assert region["payment_ratio"] == Fraction(2_890_000, 2_940_000) and h2["entitlement"] == Decimal(
        "8000.00"
    )
    assert (h3["high_share"], h3["low_share"], h2["high_share"]) == (Fraction(1, 4), Fraction(1, 4), 0)
    assert (region["high_share"], region["low_share"]) == (Fraction(1, 6), Fraction(1, 6))


def test_indicators_by_month_and_from_the_clearing(year):
    with unit_of_work(year, write=False) as s:
        _, months = qi.indicators(s, qi.IndicatorFilter(2025, qi.BY_MONTH))
    march, april, region = months
    assert (march["unit"], march["cases"], april["cases"], region["cases"]) == ("3 月", 5, 3, 8)
    assert march["cmi"] == Fraction(34_000, 30_000) and april["cmi"] == Fraction(3, 5)
    assert march["payment_ratio"] == Fraction(2_260_000, 2_340_000) and april["payment_ratio"] == Fraction(
        21, 20
    )
    _clearing(year)
    with unit_of_work(year, write=False) as s:
        source, rows = qi.indicators(s, qi.IndicatorFilter(2025))
        excel = list(qi.indicator_rows_for_excel(s, qi.IndicatorFilter(2025)))
    assert source == "2025 年度清算（第 1 版）的病例"
    [h3, region] = rows  # (only C1 and C2 were cleared)
    assert h3["cases"] == 2 and h3["payment_ratio"] == Fraction(3_740_000, 2_100_000)
    assert excel[0]["payment_ratio"] == 178.1 and excel[0]["cmi"] == 1.4  # percentages and four places


def test_an_empty_year_has_only_the_region_row(engine):
    world.build(engine)
    with unit_of_work(engine, write=False) as s:
        _, rows = qi.indicators(s, qi.IndicatorFilter(2030))
        assert qr.run_rows(s, 2030) == [] and qr.years(s) == []
    assert [r["unit"] for r in rows] == ["全市"] and rows[0]["cases"] == 0 and rows[0]["cmi"] is None
