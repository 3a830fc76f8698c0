"""``yibao screening``: fund-supervision screening (筛查) of settled data, and its evaluation on labelled fraud.

* ``generate --out DIR --seed N [--persons N]`` builds the synthetic screening region (``yibao.synth.fraud``):
  the audit view's raw tables as ``DIR/<table>.parquet`` and the injected patterns and decoys as
  ``DIR/labels.parquet`` (read by ``evaluate`` only).
* ``run --input DIR [--year Y] [--capacity K] [--output leads.csv|.xlsx]`` screens a directory of raw tables
  (a period snapshot or a generated region), prints the top leads with their signals and writes them.
* ``evaluate [--input DIR] [--year Y] [--capacity K]`` screens, then scores the ranking against
  ``DIR/labels.parquet`` (or, without ``--input``, the database's year against the labels ``yibao demo --fraud``
  stored): per pattern and entity type, AUPRC beside the prevalence, precision@k, recall@k, amount@k, decoys
  opened.

``--capacity`` is one number for every entity type or ``hospital=10,person=200`` over the defaults
(hospital 10, pharmacy 10, doctor 10, person 100).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from yibao.errors import InputError

screening_app = typer.Typer(
    help="Screening (筛查): generate a labelled region, run the detectors, evaluate them.",
    no_args_is_help=True,
)
console = Console(highlight=False)
LEVEL_NAMES = {"case": "立案线索 case", "lead": "疑点线索 lead", "none": "–"}


def _progress(label: str, total: int | None) -> Progress:
    columns = [SpinnerColumn(), TextColumn(f"[bold]{label}"), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def parse_capacity(text: str | None) -> dict[str, int]:
    """``20`` for every entity type, or ``hospital=10,person=200`` over the defaults."""
    from yibao.supervision.screening.leads import ENTITY_TYPES
    from yibao.supervision.screening.run import capacity_of

    if text is None or not text.strip():
        return capacity_of(None)
    text = text.strip()
    if text.isdigit():
        return capacity_of(int(text))
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in ENTITY_TYPES or not value.strip().isdigit():
            raise InputError(
                f"--capacity: 应为整数或 类型=整数 (e.g. 20 or hospital=10,person=200; got {part[:30]!r})"
            )
        out[name] = int(value)
    return capacity_of(out)


def _params(path: Path | None):
    from yibao.supervision.screening.params import ScreeningParams
    from yibao.yamlio import load_yaml

    if path is None:
        return ScreeningParams()
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: 应为 分组: {{阈值: 值}} (a mapping of sections)")
    return ScreeningParams.from_mapping(data)


def _year(folder: Path, year: int | None) -> int:
    """``--year``, else the latest year in the data."""
    if not folder.is_dir():
        raise InputError(f"--input {folder}: 不是目录 (not a directory of raw tables)")
    if year is not None:
        if not 1900 <= year <= 2999:
            raise InputError(f"--year: 年度应在 1900–2999 之间 (got {year})")
        return year
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = folder / "raw_visits.parquet"
    if not path.is_file():
        raise InputError(f"{path}: 缺少原始表 (missing raw table raw_visits)")
    last = pc.max(pq.read_table(path, columns=["begn_day"])["begn_day"]).as_py()
    if last is None:
        raise InputError(f"{path}: 没有就诊 (no visits)")
    from datetime import date, timedelta

    return (date(1970, 1, 1) + timedelta(days=int(last))).year


def _screen(folder: Path, year: int | None, params: Path | None):
    from yibao.supervision.screening.run import DETECTORS, screen

    year = _year(folder, year)
    with _progress(f"筛查 {year}", len(DETECTORS) + 1) as bar:
        task = bar.add_task("读取原始表 (reading)", total=len(DETECTORS) + 1)
        result = screen(
            folder, year, _params(params), progress=lambda step: bar.update(task, advance=1, description=step)
        )
    return result


def _screen_database(year: int | None, params: Path | None):
    """The database's settled data of ``year`` (and the year before, the baseline), snapshotted and screened."""
    from yibao.supervision.screening.run import DETECTORS
    from yibao.supervision.service.screening import screen_year

    if year is None:
        raise InputError("--year: 未给 --input 时须指定筛查年度 (screen which year of the database?)")
    if not 1900 <= year <= 2999:
        raise InputError(f"--year: 年度应在 1900–2999 之间 (got {year})")
    with _progress(f"筛查 {year}", len(DETECTORS) + 1) as bar:
        task = bar.add_task("数据快照 (snapshot)", total=len(DETECTORS) + 2)
        return screen_year(
            year, _params(params), progress=lambda step: bar.update(task, advance=1, description=step)
        )


@screening_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Directory to write the raw tables and labels.parquet into."),
    seed: int = typer.Option(1, "--seed", help="Generator seed: the same seed, the same region."),
    persons: int = typer.Option(100_000, "--persons", min=1_000, max=5_000_000),
    hospitals: int = typer.Option(200, "--hospitals", min=20, max=5_000),
    pharmacies: int = typer.Option(300, "--pharmacies", min=20, max=10_000),
    year: int = typer.Option(2025, "--year", min=1900, max=2999),
) -> None:
    """Build a synthetic region with each §11 pattern injected at a known rate, plus decoys (示例筛查区)."""
    import pyarrow.parquet as pq

    from yibao.synth.fraud import build_region

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: 无法创建目录 (cannot create): {exc.strerror or exc}") from None
    with _progress("生成", None) as bar:
        task = bar.add_task(f"{persons:,} persons, {hospitals} hospitals, {pharmacies} stores")
        region = build_region(seed, persons=persons, hospitals=hospitals, pharmacies=pharmacies, year=year)
        bar.update(task, description="writing parquet")
        for name, table in region.frame.tables().items():
            pq.write_table(table, out / f"{name}.parquet")
        pq.write_table(region.labels, out / "labels.parquet")
    table = Table(title=f"{out}: {region.stats['visits']:,} visits, {region.stats['lines']:,} fee lines")
    for column in ("pattern", "injected", "decoys", "injected loss (yuan)"):
        table.add_column(column, justify="left" if column == "pattern" else "right")
    rows: dict[str, list[int]] = {}
    for r in region.labels.to_pylist():
        row = rows.setdefault(r["pattern"], [0, 0, 0])
        row[1 if r["decoy"] else 0] += 1
        row[2] += r["injected_loss_fen"]
    for pattern, (n, d, loss) in rows.items():
        table.add_row(pattern, str(n), str(d), f"{loss / 100:,.2f}")
    console.print(table)


@screening_app.command("run")
def run(
    input_: Path | None = typer.Option(
        None,
        "--input",
        help="Directory of raw tables (raw_visits.parquet …); default: the database's settled data of --year.",
    ),
    year: int | None = typer.Option(None, "--year", help="Screening year (default: the latest in the data)."),
    capacity: str | None = typer.Option(
        None, "--capacity", help="Cases opened per entity type: 20 or hospital=10,person=200."
    ),
    output: Path | None = typer.Option(
        None, "--output", help="Write the opened leads: .csv (one row per signal) or .xlsx."
    ),
    params: Path | None = typer.Option(
        None, "--params", help="YAML overriding thresholds, e.g. {hospital: {s1_min_z: 2.5}}."
    ),
    show: int = typer.Option(5, "--show", min=0, help="Leads printed per pattern."),
) -> None:
    """Screen a year: every detector, leads ranked and cut at capacity, each with its signals and thresholds."""
    from yibao.supervision.screening.leads import PATTERNS

    caps = parse_capacity(capacity)
    if output is not None and output.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"--output: 应为 .csv 或 .xlsx (got {output.suffix or output.name!r})")
    if input_ is None:
        result = _screen_database(year, params)
    else:
        result = _screen(input_, year, params)
    leads = result.leads(caps)
    for pattern, ranked in result.ranked.items():
        mine = [x for x in leads if x.pattern == pattern]
        _print_leads(pattern, PATTERNS[pattern][1], mine[:show], len(mine), len(ranked))
    if output is not None:
        n = _write(output, leads)
        console.print(f"{len(leads)} 条线索 (leads), {n} 行 → {output}")
    if input_ is None:  # the console's 筛查线索 shows the database's latest screening of the year
        from yibao.supervision.service.screening import save

        console.print(f"{save(result, 'cli', caps)} 条线索已保存 (kept for the console: 智能监管 › 筛查线索)")


def _print_leads(pattern: str, title: str, leads, n_open: int, n_all: int) -> None:
    from yibao.supervision.screening.leads import fmt_value

    table = Table(title=f"{pattern} — {title}: {n_open} opened of {n_all} assessed", title_justify="left")
    for column in ("#", "entity", "level", "score", "signal", "value", "threshold", "", "note"):
        table.add_column(
            column, justify="right" if column in ("#", "score", "value", "threshold") else "left"
        )
    for x in leads:
        for i, s in enumerate(x.signals):
            head = [str(x.rank), x.entity_id, LEVEL_NAMES[x.level], f"{x.score:.2f}"] if i == 0 else [""] * 4
            mark = "[bold red]✔[/]" if s.flagged else ""
            table.add_row(*head, s.name, fmt_value(s.value), fmt_value(s.threshold), mark, s.note)
        table.add_section()
    if not leads:
        table.add_row("", "–", "no case or lead", "", "", "", "", "", "")
    _print(table)


def _write(path: Path, leads) -> int:
    from yibao.supervision.screening.leads import LEAD_COLUMNS, SIGNAL_COLUMNS, lead_rows, signal_rows

    rows = signal_rows(leads)
    try:
        if path.suffix.lower() == ".csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.DictWriter(handle, SIGNAL_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            return len(rows)
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        for title, columns, data in (
            ("leads", LEAD_COLUMNS, lead_rows(leads)),
            ("signals", SIGNAL_COLUMNS, rows),
        ):
            ws = wb.create_sheet(title)
            ws.append(columns)
            for r in data:
                ws.append([r[c] for c in columns])
        wb.save(path)
        return len(rows)
    except OSError as exc:
        raise InputError(f"--output {path}: 无法写入 (cannot write): {exc.strerror or exc}") from None


@screening_app.command("evaluate")
def evaluate_cmd(
    input_: Path | None = typer.Option(
        None,
        "--input",
        help="A generated region (raw tables and labels.parquet); default: the database, with the labels "
        "`yibao demo --fraud` stored.",
    ),
    year: int | None = typer.Option(None, "--year", help="Screening year (default: the latest in the data)."),
    capacity: str | None = typer.Option(
        None, "--capacity", help="Cases opened per entity type: 20 or hospital=10,person=200."
    ),
    params: Path | None = typer.Option(None, "--params", help="YAML overriding thresholds."),
) -> None:
    """Screen, then score the ranking against the injected labels: AUPRC (prevalence beside it), P@k, R@k,
    amount@k and decoys opened, per pattern and entity type."""
    from yibao.supervision.screening.evaluate import evaluate

    caps = parse_capacity(capacity)
    if input_ is None:
        from yibao.supervision.service.screening import labels as stored_labels

        labels = stored_labels()
        if not labels:
            raise InputError(
                "数据库中没有注入标签 (no labelled fraud in the database: build the demo with `yibao demo "
                "--fraud`, or give --input DIR of a generated region)"
            )
        result, where = _screen_database(year, params), "数据库 database"
    else:
        labels = read_labels(input_ / "labels.parquet")
        result, where = _screen(input_, year, params), str(input_)
    print_scores(evaluate(result.ranked, labels, caps), f"{where} — {result.year}")


def read_labels(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from yibao.supervision.screening.evaluate import Label

    if not path.is_file():
        raise InputError(
            f"{path}: 缺少标签 (no labels.parquet beside the data: evaluate needs a generated region)"
        )
    try:
        rows = pq.read_table(path).to_pylist()
        return [
            Label(
                r["entity_type"], r["entity_id"], r["pattern"], int(r["injected_loss_fen"]), bool(r["decoy"])
            )
            for r in rows
        ]
    except (OSError, KeyError, TypeError, pa.ArrowException) as exc:
        raise InputError(f"{path}: 标签无法读取 (unreadable labels): {str(exc)[:80]}") from None


def _print(table: Table) -> None:
    """A wide table: at least 120 columns when the output is not a terminal (a file, a pipe)."""
    out = console if console.is_terminal else Console(highlight=False, width=max(console.width, 120))
    out.print(table)


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


SCORE_NOTE = (
    "prev = positives / entities (what a random ranking's AUPRC would be); open = cases and leads opened (≤ k); "
    "P@k over those opened; amt@k = share of the injected loss opened; decoy = decoys opened / decoys; "
    "other = entities of another injected pattern opened (left out of this pattern's figures)."
)


def print_scores(scores, title: str) -> None:
    table = Table(title=f"筛查评估 (screening evaluation): {title}", title_justify="left")
    heads = ("pattern", "n", "pos", "prev", "AUPRC", "k", "open", "P@k", "R@k", "amt@k", "decoy", "other")
    for column in heads:
        table.add_column(column, justify="left" if column == "pattern" else "right", no_wrap=True)
    for s in scores:
        table.add_row(
            s.pattern, str(s.entities), str(s.positives), _pct(s.prevalence), _pct(s.auprc), str(s.capacity),
            str(s.opened), _pct(s.precision_at_k), _pct(s.recall_at_k), _pct(s.amount_at_k),
            f"{s.decoys_opened}/{s.decoys}", str(s.other_fraud_opened),
        )  # fmt: skip
    _print(table)
    console.print(SCORE_NOTE)


def register(app: typer.Typer) -> None:
    app.add_typer(screening_app, name="screening")
