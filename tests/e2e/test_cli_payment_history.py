"""``yibao payment history`` end to end on a small settled demo: ``synthetic`` aggregates the year's settled
cases (grouped by DRG and, the demo paying by DIP from 2025, by DIP) and derives three earlier years whose
volume falls back in time; run again it stores the same rows; ``show`` prints them. ``load`` reads a history
CSV, groups, trims and stores it, and names every refused row by line and reason; bad options are one line
with exit code 2."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from tests.e2e.test_cli_payment_lists import demo  # noqa: F401  (the small settled demo database)
from yibao.cli import main
from yibao.store.db import unit_of_work
from yibao.store.payment_history import history_rows, history_sources
from yibao.store.settlement_lists import count_lists_of_year
from yibao.store.tables import AuditLog, PaymentHistory

HEADER = (
    "case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures,year,cost,insutype,fixmedins_code\n"
)
HOSP3 = "H99010200001"  # 示例市第一人民医院, dedc_hosp_lv 3 (regions/990100/institutions.csv)


def stored(engine):
    with unit_of_work(engine, write=False) as s:
        return history_rows(s), history_sources(s)


def test_synthetic_aggregates_the_settled_year_and_derives_three_before_it(demo, capsys):  # noqa: F811
    assert main(["payment", "history", "synthetic", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "2022" in out and "2025" in out and "DIP" in out
    rows, sources = stored(demo)
    assert {y: s for y, (s, _) in sources.items()} == {
        2022: "synthetic",
        2023: "synthetic",
        2024: "synthetic",
        2025: "settled",
    }
    cases = Counter()
    for r in rows:
        cases[(r.year, r.kind)] += r.cases
    with unit_of_work(demo, write=False) as s:
        lists = count_lists_of_year(s, 2025)
    assert 0 < cases[(2025, "drg")] <= lists and 0 < cases[(2025, "dip")] <= lists
    for kind in ("drg", "dip"):  # the volume falls back in time
        assert cases[(2022, kind)] <= cases[(2023, kind)] <= cases[(2024, kind)] <= cases[(2025, kind)]
        assert 0 < cases[(2022, kind)] < cases[(2025, kind)]
    assert all(r.cases > 0 and r.cost_fen > 0 and r.level in (1, 2, 3) for r in rows)

    assert main(["payment", "history", "synthetic", "--year", "2025"]) == 0  # the same rows again
    assert stored(demo)[0] == rows
    with unit_of_work(demo, write=False) as s:
        assert s.scalar(select(func.count()).select_from(PaymentHistory)) == len(rows)
        audited = s.scalars(select(AuditLog.entity_id).where(AuditLog.entity == "payment_history")).all()
    assert sorted(audited) == ["2022,2023,2024"] * 2 + ["2025"] * 2
    capsys.readouterr()

    assert main(["payment", "history", "show"]) == 0
    out = capsys.readouterr().out
    assert "synthetic" in out and "settled" in out and "居民" in out
    assert main(["payment", "history", "show", "--year", "2030"]) == 0
    assert "没有历史数据" in capsys.readouterr().out


def history_csv(tmp_path: Path) -> Path:
    good = []
    for n, (year, yuan, pool, hosp) in enumerate(
        [
            (2023, "6000.00", "390", HOSP3),
            (2024, "6200.00", "390", HOSP3),
            (2025, "6400.00", "390", HOSP3),
            (2025, "5000.50", "310", HOSP2),
            (2025, "5100.00", "310", HOSP2),
        ]
    ):
        good.append(f"c{n},1,35,0,,5,1,K35.200|J18.900,47.0901,{year},{yuan},{pool},{hosp}")
    bad = [
        "b1,1,35,0,,5,1,K35.200,47.0901,2025,6000.00,320,H99010200001",  # line 7: not a pool
        "b2,1,35,0,,5,1,K35.200,47.0901,2025,6000.00,390,H00000000000",  # line 8: not registered
        "b3,1,35,0,,5,1,K35.200,47.0901,2025,-1,390,H99010200001",  # line 9: cost
        "b4,3,35,0,,5,1,K35.200,47.0901,2025,6000.00,390,H99010200001",  # line 10: gend
        "b5,1,35,0,,5,1,K35.200,47.0901,20x5,6000.00,390,H99010200001",  # line 11: year
        "q1,1,35,0,,5,1,K35.200,51.2300,2025,9000.00,390,H99010200001",  # grouped 歧义 (QY): left out
    ]
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "\n".join(good + bad) + "\n", encoding="utf-8")
    return path


HOSP2 = "H99010200002"  # dedc_hosp_lv 2


def test_load_groups_trims_and_stores_a_csv_naming_every_refused_row(engine, tmp_path, capsys):
    path = history_csv(tmp_path)
    assert main(["payment", "history", "load", "--input", str(path)]) == 0
    out = capsys.readouterr().out
    assert "history.csv: 11 行, 载入 loaded 6, 拒绝 refused 5" in out
    for line, reason in (
        (7, "insutype 应为 310 或 390"),
        (8, "fixmedins_code 'H00000000000' 不在机构登记中"),
        (9, "医疗费总额应大于 0"),
        (10, "性别应为 1（男）或 2（女）"),
        (11, "年度不是数字"),
    ):
        assert f"history.csv:{line}: {reason}" in out, line
    assert "2026-01-01" in out and "DRG + DIP" in out  # grouped as the budget year's schemes
    rows, sources = stored(engine)
    assert {y: s for y, (s, _) in sources.items()} == {2023: "import", 2024: "import", 2025: "import"}
    drg = [r for r in rows if r.kind == "drg"]
    assert [(r.year, r.pool, r.fixmedins_code, r.level, r.cases, r.cost_fen, r.los_days) for r in drg] == [
        (2023, "390", HOSP3, 3, 1, 600_000, 5),
        (2024, "390", HOSP3, 3, 1, 620_000, 5),
        (2025, "310", HOSP2, 2, 2, 1_010_050, 10),
        (2025, "390", HOSP3, 3, 1, 640_000, 5),
    ]
    assert len({r.group_code for r in drg}) == 1 and "未计入 left out: 歧义 qy 1" in out

    assert main(["payment", "history", "load", "--input", str(path), "--trim", "none"]) == 0  # again
    assert stored(engine)[0] == rows


def test_bad_options_are_one_line(engine, tmp_path, capsys):
    path = history_csv(tmp_path)
    for argv, says in (
        (["load", "--input", str(tmp_path / "none.csv")], "--input: 历史数据文件不存在"),
        (["load", "--input", str(path), "--on", "2025-13-01"], "--on: 日期应写作 YYYY-MM-DD"),
        (["load", "--input", str(path), "--on", "2020-01-01"], "--on: 2020-01-01 没有生效的 DRG 分组方案"),
        (["load", "--input", str(path), "--trim", "sd2"], "--trim: 应为 none、sd3、p2.5-97.5"),
        (["load", "--input", str(path), "--region", "99"], "--region: 统筹区编码应为 6 位数字"),
        (["synthetic", "--year", "0"], "--year: 年度应在 1900–2999 之间"),
        (["synthetic", "--year", "2025", "--years", "0"], "--years: 应为 1 到 10"),
        (["synthetic", "--year", "2025", "--growth", "x"], "--growth: 不是数值"),
        (["synthetic", "--year", "2025"], "--year: 2025 年没有已结算且有结算清单的住院病例"),
        (["show", "--year", "99999"], "--year: 年度应在 1900–2999 之间"),
    ):
        assert main(["payment", "history", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, (argv, err)
    header_only = tmp_path / "short.csv"
    header_only.write_text("case_id,gend\n", encoding="utf-8")
    assert main(["payment", "history", "load", "--input", str(header_only)]) == 2
    assert "short.csv: 缺少列" in capsys.readouterr().err
