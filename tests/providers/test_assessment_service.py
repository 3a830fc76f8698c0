"""年度考核 through the service on a small world: the computed figures hand-computed, the sheets and their
notes, the bands at their edges, a re-assessment replacing the year's first, and the manual CSV's errors.

The world (tests.world) has five institutions, all designated through 2025: hospitals H2, H3, OTHER (500
beds each), a pharmacy, and one suspended from 2020 (suspended is still "in force": it is assessed)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import world
from yibao.cli import main
from yibao.errors import InputError
from yibao.providers.service import assessments
from yibao.store import provider_figures as figs
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    AuditLog,
    AuditRun,
    AuditSuspicion,
    PaymentCase,
    PaymentRun,
    ProviderAssessment,
    ProviderAssessmentSheet,
    Settlement,
    Visit,
)

H2, H3, PHARMACY, OTHER, SUSPENDED = world.HOSP2, world.HOSP3, world.PHARMACY, world.OTHER, "H99010300009"
NOW = datetime(2026, 1, 15, 9, 0)
FULL_MANUAL = {"K05": "0", "K06": "0.98", "K07": "95", "K08": "95"}  # every entered indicator at its target


def settle(s, setl_id: str, code: str, when: datetime, fund: int = 6_000, medfee: int = 10_000, **over):
    """A visit and its settlement: ``medfee`` of which the fund paid ``fund`` (fen)."""
    mdtrt_id = f"M{setl_id}"
    s.add(Visit(mdtrt_id=mdtrt_id, psn_no=world.RESIDENT, fixmedins_code=code, insutype="390", med_type="11",
                begntime=when, endtime=when, status="settled"))  # fmt: skip
    s.flush()
    row = dict(setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=world.RESIDENT, fixmedins_code=code, insutype="390",
               psn_type="15", med_type="11", setl_time=when, begndate=when.date(), enddate=when.date(),
               year=when.year, medfee_sumamt=medfee, inscp_scp_amt=medfee, fund_pay_sumamt=fund, hifp_pay=fund,
               psn_part_amt=medfee - fund, psn_cash_pay=medfee - fund, policy_version="test", policy_hash="0" * 64)  # fmt: skip
    s.add(Settlement(**(row | over)))
    s.flush()


def suspicion(s, run_id: int, n: int, code: str, mdtrt_id: str, status: str, upheld: int,
              setl_id: str | None = None, service_date: date = date(2025, 5, 6)):  # fmt: skip
    s.add(AuditSuspicion(fingerprint=f"fp{n}", run_id=run_id, rule_code="R1", rule_name="限定频次", rule_version=1,
                         result_type="违规", sev_deg="1", vola_bhvr_type="2", fixmedins_code=code,
                         mdtrt_id=mdtrt_id, psn_no=world.RESIDENT, setl_id=setl_id, service_date=service_date,
                         vola_amt=upheld or 500, vola_cont="…", evidence={}, lines=[], status=status,
                         upheld_fen=upheld, created_at=NOW))  # fmt: skip


def payment_run(s, kind: str, year: int, month: int, status: str, cases: list[tuple[str, str, str]]):
    version = 1 if status == "superseded" else 2
    run = PaymentRun(kind=kind, year=year, month=month, version=version, status=status, policy_version="t",
                     params_hash="0" * 64, snapshot_hash="0" * 64, summary={}, created_at=NOW, created_by="t")  # fmt: skip
    s.add(run)
    s.flush()
    for i, (code, method, cost_class) in enumerate(cases):
        s.add(PaymentCase(run_id=run.id, setl_id=f"C{run.id}-{i}", fixmedins_code=code, pool="390", method=method,
                          dscg_date=date(year, 6, 1), los=5, cost_class=cost_class, r4=10_000, weight4=10_000,
                          coef4=10_000, points4=10_000))  # fmt: skip
    s.flush()


@pytest.fixture
def db(engine):
    """H2: 40 settlements of 2025 (100.00 元, the fund 60.00 each) — two named by upheld suspicions (one by its
    setl_id, 12.00 元 upheld; one deducted, by its visit only, 6.00 元), one dismissed and one open (not
    counted); a reversed pair, a 2024 settlement and a 补充救助 supplement (none counted). Its DRG cases in the
    2025 clearing: 10, of them 8 normal. OTHER: 10 clean settlements, no DRG/DIP case."""
    world.build(engine)
    with unit_of_work(engine) as s:
        for i in range(40):
            settle(s, f"S{i:02d}", H2, datetime(2025, 1 + i % 12, 10, 10))
        settle(s, "R-ORIG", H2, datetime(2025, 3, 1), reversed_by="R-REV")
        settle(s, "R-REV", H2, datetime(2025, 3, 2), fund=-6_000, medfee=-10_000, refd_setl_flag="1",
               orig_setl_id="R-ORIG")  # fmt: skip
        settle(s, "OLD", H2, datetime(2024, 12, 31, 23))
        settle(s, "SUPP", H2, datetime(2025, 4, 1), supplement_of="S00")
        for i in range(10):
            settle(s, f"T{i:02d}", OTHER, datetime(2025, 2, 1 + i))
        run = AuditRun(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), engine="duckdb",
                       library_version="v" * 64, status="done", started_at=NOW, started_by="t")  # fmt: skip
        s.add(run)
        s.flush()
        suspicion(s, run.id, 1, H2, "MS00", "upheld", 1_200, setl_id="S00")
        suspicion(s, run.id, 2, H2, "MS01", "deducted", 600)
        suspicion(s, run.id, 3, H2, "MS02", "dismissed", 0)
        suspicion(s, run.id, 4, H2, "MS03", "open", 0)
        suspicion(s, run.id, 5, H2, "MOLD", "upheld", 999, service_date=date(2024, 12, 31))  # another year's
        payment_run(s, "clear", 2025, 0, "posted", [(H2, "drg", "normal")] * 8 + [(H2, "drg", "high"), (H2, "drg", "low")])  # fmt: skip
        payment_run(s, "clear", 2025, 0, "superseded", [(H2, "drg", "high")] * 5)
        payment_run(s, "month", 2025, 6, "posted", [(H2, "drg", "high")] * 5)  # the clearing is preferred
        payment_run(s, "month", 2024, 6, "posted", [(H3, "dip", "normal")] * 3 + [(H3, "dip", "low"), (H3, "ffs", "normal")])  # fmt: skip
    return engine


def test_the_computed_figures_by_hand(db):
    with unit_of_work(db) as s:  # H3: bought from the personal account (40.00 元), 1.00 元 upheld
        settle(s, "A1", H3, datetime(2025, 8, 1), fund=0, medfee=6_000, acct_pay=4_000, psn_cash_pay=2_000)
        run_id = s.scalar(select(AuditRun.id))
        suspicion(s, run_id, 9, H3, "MA1", "upheld", 100, setl_id="A1")
    with unit_of_work(db, write=False) as s:
        got = figs.figures(s, 2025, [H2, H3, OTHER, PHARMACY])
        assert [i.fixmedins_code for i in figs.in_force(s, "990100", 2025)] == sorted(
            [H2, H3, PHARMACY, OTHER, SUSPENDED]
        )
        assert figs.figures(s, 2024, [H3])[H3]["payment_indicator"] == Decimal(
            "75.000000"
        )  # no clearing: months
    assert got[H2] == {
        "settlement_compliance": Decimal("0.950000"),  # (40 − 2) / 40
        "upheld_suspicion_rate": Decimal("5.000000"),  # 2 × 100 / 40
        "upheld_amount_share": Decimal("0.007500"),  # (1,200 + 600) / (40 × 6,000; no account paid)
        "payment_indicator": Decimal("80.000000"),  # 100 × 8 / 10, the posted clearing's cases
    }
    assert got[OTHER] == {
        "settlement_compliance": Decimal("1.000000"),
        "upheld_suspicion_rate": Decimal("0.000000"),
        "upheld_amount_share": Decimal("0.000000"),
        "payment_indicator": None,
    }
    assert set(got[PHARMACY].values()) == {None}
    assert got[H3]["upheld_amount_share"] == Decimal("0.025000")  # 100 / 4,000
    assert got[H3]["settlement_compliance"] == Decimal("0.000000")


def test_the_year_is_assessed_with_notes_and_consequences(db):
    with unit_of_work(db) as s:
        run = assessments.assess_year(s, "990100", 2025, actor="staff", now=NOW,
                                      manual={H2: FULL_MANUAL, PHARMACY: FULL_MANUAL})  # fmt: skip
        _, sheets = assessments.sheets(s, "990100", 2025)
        by = {x.fixmedins_code: x for x in sheets}
        # H2: K01 20 × (0.95 − 0.90) / 0.09 = 11.11; K02 at its floor 5: 0; K03 10 × (0.02 − 0.0075) / 0.019
        # = 6.58; K04 10 × (80 − 60) / 30 = 6.67; entered K05–K08 at target: 45 → 69.36 基本合格
        assert by[H2].points == {"K01": "11.11", "K02": "0.00", "K03": "6.58", "K04": "6.67",
                                 "K05": "5.00", "K06": "10.00", "K07": "20.00", "K08": "10.00"}  # fmt: skip
        assert (by[H2].total, by[H2].grade) == ("69.36", "3")
        assert by[H2].values["K01"] == "0.950000" and by[H2].manual["K07"] == "95"
        # the pharmacy: no settlement (K01–K03 missing), K04 not applicable (full 10), K05–K08 45 → 55 不合格
        assert (by[PHARMACY].total, by[PHARMACY].grade) == ("55.00", "4")
        notes = " ".join(by[PHARMACY].notes)
        assert (
            "K01 结算合规率（无查实疑点的结算占比）: 2025 年无结算" in notes
            and "K04" in notes
            and "合理缺项" in notes
        )
        # OTHER: clean settlements (45) but nothing entered and no DRG/DIP case: 45 不合格, four notes of K04–K08
        assert (by[OTHER].total, by[OTHER].grade) == ("45.00", "4")
        assert len(by[OTHER].notes) == 5
        assert run.distribution == {"1": 0, "2": 0, "3": 1, "4": 4}
        outcome = assessments.consequences(assessments.require_scheme("990100"), "4")
        assert (outcome.name, outcome.renew, outcome.deposit_return) == ("不合格", False, Decimal("0.00"))
        assert outcome.describe() == "质量保证金返还 0%，不予续签，每年现场检查 12 次"


@pytest.mark.parametrize(
    ("entered", "total", "grade"),
    [
        (FULL_MANUAL, "90.00", "1"),  # OTHER's computed 45 (K04 missing) + 45 entered: 优秀 at its edge
        (FULL_MANUAL | {"K06": "0.9798"}, "89.99", "2"),  # K06 10 × 0.1798 / 0.18 = 9.99
        (FULL_MANUAL | {"K07": "68.75"}, "75.00", "2"),  # K07 20 × 8.75 / 35 = 5.00
        (FULL_MANUAL | {"K07": "68.7325"}, "74.99", "3"),  # 20 × 8.7325 / 35 = 4.99
        (FULL_MANUAL | {"K07": "60", "K08": "0"}, "60.00", "3"),
        (FULL_MANUAL | {"K06": "0.9798", "K07": "60", "K08": "0"}, "59.99", "4"),
    ],
)
def test_the_bands_at_their_edges(db, entered, total, grade):
    with unit_of_work(db) as s:
        assessments.assess_year(s, "990100", 2025, actor="staff", now=NOW)
    with unit_of_work(db) as s:
        sheet = assessments.set_manual(s, 2025, OTHER, entered, actor="clerk", now=NOW)
        assert (sheet.total, sheet.grade) == (total, grade)
        run = s.scalar(select(ProviderAssessment))
        assert sum(run.distribution.values()) == 5 and run.distribution[grade] >= 1


def test_set_manual_removes_an_entry_and_refuses_an_unknown_indicator(db):
    with unit_of_work(db) as s:
        assessments.assess_year(s, "990100", 2025, actor="staff", now=NOW, manual={OTHER: FULL_MANUAL})
    with unit_of_work(db) as s:
        sheet = assessments.set_manual(s, 2025, OTHER, {"K07": ""}, actor="clerk", now=NOW)
        assert (sheet.total, "K07" in sheet.manual) == ("70.00", False)
        with pytest.raises(InputError, match="K99: 未知的考核指标"):
            assessments.set_manual(s, 2025, OTHER, {"K99": "1"}, actor="clerk", now=NOW)
        with pytest.raises(InputError, match="K06: 应为数字文本或 Decimal"):
            assessments.set_manual(s, 2025, OTHER, {"K06": 0.9}, actor="clerk", now=NOW)


def test_a_second_assessment_replaces_the_first_and_both_are_audited(db):
    with unit_of_work(db) as s:
        assessments.assess_year(s, "990100", 2025, actor="staff", now=NOW, manual={OTHER: FULL_MANUAL})
    with unit_of_work(db) as s:
        run = assessments.assess_year(s, "990100", 2025, actor="staff", now=NOW)
        assert run.distribution == {"1": 0, "2": 0, "3": 0, "4": 5}
    with unit_of_work(db, write=False) as s:
        assert s.scalar(select(func.count()).select_from(ProviderAssessment)) == 1
        assert s.scalar(select(func.count()).select_from(ProviderAssessmentSheet)) == 5
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "assess").order_by(AuditLog.seq)))
        assert [r.entity_id for r in rows] == ["990100-2025", "990100-2025"]
        assert rows[0].before is None and rows[1].before["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 4}


def test_refusals_of_the_service(db):
    with unit_of_work(db) as s:
        with pytest.raises(
            InputError, match=r"manual\.H99019999999: H99019999999 在 2025 年没有医保服务协议"
        ):
            assessments.assess_year(s, "990100", 2025, actor="staff", manual={"H99019999999": {"K05": "1"}})
        with pytest.raises(InputError, match=r"manual.\w+.K05: 应为不小于 0 的数"):
            assessments.assess_year(s, "990100", 2025, actor="staff", manual={OTHER: {"K05": "-1"}})
        with pytest.raises(InputError, match="没有签订医保服务协议的定点医药机构"):
            assessments.assess_year(s, "990100", 2019, actor="staff")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manual.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("code,K05\nX,1\n", "manual.csv:1: fixmedins_code: 缺少机构编号列"),
        (f"fixmedins_code,K05,K77\n{H2},1,2\n", "manual.csv:1: K77: 未知的考核指标"),
        (f"fixmedins_code,K05,K06\n{H2},1,0.9\n{OTHER},1,好\n", "manual.csv:3: K06: 不是数字 '好'"),
        (f"fixmedins_code,K05\n{H2},1\n{H2},2\n", f"manual.csv:3: fixmedins_code: \"{H2}\" 与第 2 行重复"),
        ("fixmedins_code,K05\n,1\n", "manual.csv:2: fixmedins_code: 机构编号为空"),
        (f"fixmedins_code,K05\n{H2},-3\n", "manual.csv:2: K05: 应为不小于 0 的数"),
        ("fixmedins_code,K05\nH99019999999,1\n", "manual.csv:2: fixmedins_code: \"H99019999999\" 在 2025 年没有医保服务协议"),
    ],
)  # fmt: skip
def test_manual_csv_errors_name_the_row_and_column(db, tmp_path, capsys, text, error):
    assert main(["providers", "assess", "--year", "2025", "--manual", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert error in err and len(err.strip().splitlines()) == 1, err


def test_the_command_prints_the_distribution_and_writes_the_sheets(db, tmp_path, capsys):
    from openpyxl import load_workbook

    manual = write(tmp_path, f"fixmedins_code,K05,K06,K07,K08\n{OTHER},0,0.98,95,95\n{H2},0,0.98,95,95\n")
    out = tmp_path / "sheets.xlsx"
    assert main(["providers", "assess", "--year", "2025", "--manual", str(manual), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "优秀 1 / 合格 0 / 基本合格 1 / 不合格 3" in printed
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:2] == ("机构编号", "机构名称") and len(rows) == 2 + 5
    other = next(r for r in rows if r[0] == OTHER)
    assert other[-4:-1] == ("90.00", "优秀", "质量保证金返还 100%，续签协议，每年现场检查 1 次")
    assert main(["providers", "assess", "--year", "2025"]) == 0  # again, without: a table, the year replaced
    assert "不合格 5" in capsys.readouterr().out
    assert main(["providers", "assess", "--year", "2025", "--output", str(tmp_path / "x.csv")]) == 2
