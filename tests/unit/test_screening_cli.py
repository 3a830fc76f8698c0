"""``yibao screening`` end to end on a small generated region: generate → run (CSV and XLSX) → evaluate; and
the errors a user can cause, each one line with exit code 2."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from typer.testing import CliRunner

from yibao.cli import _register, app, main
from yibao.supervision.screening.leads import PATTERNS, SIGNAL_COLUMNS

runner = CliRunner()


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    _register()
    out = tmp_path_factory.mktemp("region")
    args = ["screening", "generate", "--out", str(out), "--seed", "3", "--persons", "5000"]
    done = runner.invoke(app, [*args, "--hospitals", "30", "--pharmacies", "40"])
    assert done.exit_code == 0, done.output
    return out, done.output


def test_generate_writes_the_raw_tables_and_labels_apart(region):
    out, output = region
    for name in ("raw_visits", "raw_lines", "diagnoses", "operations", "labels"):
        assert (out / f"{name}.parquet").is_file()
    assert "pharmacy_skimming" in output and "visits" in output


def test_run_prints_and_writes_leads(region, tmp_path):
    out, _ = region
    target = tmp_path / "leads.csv"
    done = runner.invoke(
        app, ["screening", "run", "--input", str(out), "--capacity", "5", "--output", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert "pharmacy_skimming" in done.output and "opened of" in done.output
    with target.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == SIGNAL_COLUMNS
    assert {r["pattern"] for r in rows} <= set(PATTERNS)
    assert all(r["flagged"] in ("0", "1") for r in rows)
    book = tmp_path / "leads.xlsx"
    done = runner.invoke(
        app, ["screening", "run", "--input", str(out), "--year", "2025", "--output", str(book)]
    )
    assert done.exit_code == 0, done.output
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb.sheetnames == ["leads", "signals"]
    assert next(wb["signals"].iter_rows(values_only=True)) == tuple(SIGNAL_COLUMNS)


def test_evaluate_reports_every_pattern_with_its_prevalence(region):
    out, _ = region
    done = runner.invoke(
        app, ["screening", "evaluate", "--input", str(out), "--capacity", "hospital=5,person=50"]
    )
    assert done.exit_code == 0, done.output
    assert "AUPRC" in done.output and "prev" in done.output
    for pattern in PATTERNS:
        assert pattern in done.output


def test_errors_are_one_line(region, tmp_path, capsys, engine):
    out, _ = region
    cases = [
        (["screening", "run", "--input", str(tmp_path / "none")], "不是目录"),
        (["screening", "run", "--input", str(tmp_path)], "missing raw table raw_visits"),
        (["screening", "run", "--input", str(out), "--capacity", "many"], "--capacity"),
        (["screening", "run", "--input", str(out), "--year", "2019"], "no visits in 2019"),
        (["screening", "run", "--input", str(out), "--output", str(tmp_path / "x.pdf")], "--output"),
        (["screening", "evaluate", "--input", str(tmp_path)], "labels.parquet"),
        (["screening", "evaluate", "--year", "2025"], "yibao demo --fraud"),
    ]
    for argv, words in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "Traceback" not in err and len(err.splitlines()) <= 2, err
