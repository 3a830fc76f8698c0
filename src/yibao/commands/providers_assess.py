"""``yibao providers assess``: the annual assessment (年度考核) of the region's designated institutions.

::

    yibao providers assess --year 2025
    yibao providers assess --year 2025 --manual manual.csv --output sheets.xlsx

``--manual`` is a CSV of the figures staff enter, one institution a row: ``fixmedins_code`` then one column
per indicator code (``K05,K06,K07,K08`` in the demo region: 投诉举报, 好差评, 现场检查, 日常管理); an empty cell
is not entered. The command prints the distribution by grade (优秀 / 合格 / 基本合格 / 不合格) and writes each
institution's sheet (``--output``: an Excel workbook; else a table). A second run of the year replaces the
first.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import InputError, quote

console = Console(highlight=False, soft_wrap=True)
ACTOR = "yibao providers assess"
CODE = "fixmedins_code"


def read_manual(path: Path, known: set[str]) -> tuple[dict[str, dict[str, Decimal]], dict[str, int]]:
    """The figures of ``path`` by institution and indicator code, and each institution's line; a bad cell
    is named by line and column."""
    from yibao.providers.service.assessments import figure_value

    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--manual: 无法读取 {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if CODE not in header:
        raise InputError(f"{path}:1: {CODE}: 缺少机构编号列 (the first line must name the columns)")
    for col in header:
        if col != CODE and col not in known:
            raise InputError(
                f"{path}:1: {col}: 未知的考核指标 (unknown indicator; known: {', '.join(sorted(known))})"
            )
    out: dict[str, dict[str, Decimal]] = {}
    lines: dict[str, int] = {}
    for line, row in enumerate(rows, 2):
        row = {(k or "").strip(): v for k, v in row.items()}
        if None in row or "" in row:
            raise InputError(f"{path}:{line}: 列数多于表头 (more cells than columns)")
        code = (row.get(CODE) or "").strip()
        if not code:
            raise InputError(f"{path}:{line}: {CODE}: 机构编号为空 (empty)")
        if code in lines:
            raise InputError(f"{path}:{line}: {CODE}: {quote(code)} 与第 {lines[code]} 行重复 (repeated)")
        figures = {}
        for col in header:
            raw = (row.get(col) or "").strip()
            if col != CODE and raw:
                figures[col] = figure_value(raw, f"{path}:{line}: {col}")
        out[code], lines[code] = figures, line
    return out, lines


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def assess_cmd(
    year: int = typer.Option(..., "--year", help="考核年度"),
    manual: Path = typer.Option(
        None, "--manual", help="CSV: fixmedins_code,<indicator code>… (录入的指标值)"
    ),
    output: Path = typer.Option(None, "--output", help="每家机构的考核表 (Excel .xlsx)"),
    region: str = typer.Option(None, "--region", help="医保区划 (default: the configured region)"),
) -> None:
    """年度考核: score every institution with an agreement in force during the year; print the distribution."""
    from yibao.config import get_settings
    from yibao.providers.service import assessments
    from yibao.providers.service.common import require_scheme
    from yibao.store import provider_figures
    from yibao.store.db import get_engine, unit_of_work

    if output is not None and output.suffix.lower() != ".xlsx":
        raise InputError(f"--output: 应为 .xlsx 文件 ({quote(str(output))})")
    settings = get_settings()
    admdvs = region or settings.region
    scheme = require_scheme(admdvs, settings.regions_dir)
    known = {i.code for i in scheme.assessment_indicators}
    entered, lines = read_manual(manual, known) if manual else ({}, {})
    with _bar() as bar, unit_of_work(get_engine()) as s:
        task = bar.add_task(f"{year} 年度考核", total=1)
        in_force = {i.fixmedins_code for i in provider_figures.in_force(s, admdvs, year)}
        for code, line in lines.items():
            if code not in in_force:
                raise InputError(
                    f"{manual}:{line}: {CODE}: {quote(code)} 在 {year} 年没有医保服务协议，不参加考核"
                )
        run = assessments.assess_year(s, admdvs, year, actor=ACTOR, manual=entered,
                                      regions_dir=settings.regions_dir, progress=_progress(bar, task))  # fmt: skip
        run, sheets = assessments.sheets(s, admdvs, year)
        names = provider_figures.names_of(s, [x.fixmedins_code for x in sheets])
        rows = [_row(scheme, x, names.get(x.fixmedins_code, "")) for x in sheets]
        distribution = dict(run.distribution)
    _print_distribution(scheme, year, distribution)
    if output is not None:
        _write(output, scheme, year, rows)
        console.print(f"考核表已写入 {output}（{len(rows)} 家）")
    else:
        _print_sheets(rows)


def _progress(bar: Progress, task) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=max(total, 1))

    return update


def _row(scheme, sheet, name: str) -> dict:
    from yibao.providers.service.assessments import consequences

    outcome = consequences(scheme, sheet.grade)
    row = {"fixmedins_code": sheet.fixmedins_code, "name": name, "total": sheet.total, "grade": outcome.name,
           "consequence": outcome.describe(), "notes": "；".join(sheet.notes)}  # fmt: skip
    for ind in scheme.assessment_indicators:
        row[f"{ind.code}_value"] = sheet.values.get(ind.code) or ""
        row[f"{ind.code}_points"] = sheet.points.get(ind.code) or ""
    return row


def _print_distribution(scheme, year: int, distribution: dict) -> None:
    total = sum(distribution.values())
    t = Table(title=f"{year} 年度考核（{total} 家）")
    t.add_column("等次")
    t.add_column("分数", justify="right")
    t.add_column("机构数", justify="right")
    for band in scheme.bands:
        t.add_row(band.name, f"≥ {band.min}", str(distribution.get(band.grade, 0)))
    console.print(t)
    console.print(" / ".join(f"{b.name} {distribution.get(b.grade, 0)}" for b in scheme.bands))


def _print_sheets(rows: list[dict]) -> None:
    t = Table(title="考核表")
    for col in ("编号", "名称", "总分", "等次", "结果运用", "说明"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["fixmedins_code"], r["name"], r["total"], r["grade"], r["consequence"], r["notes"])
    console.print(t)


def _write(output: Path, scheme, year: int, rows: list[dict]) -> None:
    from yibao.console.export import write_xlsx

    columns = [("fixmedins_code", "机构编号"), ("name", "机构名称")]
    for ind in scheme.assessment_indicators:
        columns += [
            (f"{ind.code}_value", f"{ind.code} {ind.name}"),
            (f"{ind.code}_points", f"{ind.code} 得分"),
        ]
    columns += [("total", "总分"), ("grade", "等次"), ("consequence", "结果运用"), ("notes", "说明")]
    try:
        with output.open("wb") as f:
            write_xlsx(f, f"{year} 年度考核", columns, rows)
    except OSError as exc:
        raise InputError(f"--output: 无法写入 {output}: {exc.strerror or exc}") from None


def register(providers_app: typer.Typer) -> None:
    providers_app.command("assess")(assess_cmd)
