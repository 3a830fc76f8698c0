"""``yibao payment history``: the inpatient history case payment is normed on (历史数据).

* ``load --input history.csv [--region 990100] [--on DATE] [--trim RULE]`` reads past years' cases (the
  grouping columns of ``yibao payment group`` + ``year,cost,insutype,fixmedins_code``; cost in yuan), takes
  each hospital's level from the institution register (the database's, else ``regions/<admdvs>/
  institutions.csv``), groups every case by the DRG scheme in effect on ``--on`` (default: 1 January after
  the file's last year, the budget year) and by the region's DIP catalogue where it is in effect that day,
  trims per group and year, and stores the aggregates (source ``import``) in place of those years' rows.
  Every refused row is listed with its line and reason.
* ``synthetic --year 2025 [--years 3]`` aggregates the settled inpatient cases of the year (grouped by the
  schemes of each discharge date) and derives the ``--years`` years before it, deflated (SYNTHETIC: the demo
  has one settled year); stores the year (source ``settled``) and the derived ones (source ``synthetic``).
* ``show [--year Y]`` prints what is stored: per year × pool × kind, cases, cost, groups and hospitals.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.commands.payment import payment_app
from yibao.errors import InputError
from yibao.money import fmt_yuan
from yibao.payment.history import POOLS, Aggregated, HistoryRow, summary

history_app = typer.Typer(
    help="Inpatient history for case payment (历史数据): load, synthetic, show.", no_args_is_help=True
)
payment_app.add_typer(history_app, name="history")
console = Console(highlight=False)
ACTOR = "yibao payment history"
EXTRA = ("insutype", "fixmedins_code")
KIND_NAMES = {"drg": "DRG", "dip": "DIP"}
POOL_NAMES = {"310": "职工", "390": "居民"}
FIRST_YEAR, LAST_YEAR = 1900, 2999


def check_year(year: int, option: str = "--year") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(f"{option}: 年度应在 {FIRST_YEAR}–{LAST_YEAR} 之间 (got {year})")
    return year


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: 日期应写作 YYYY-MM-DD (got {text[:20]!r})") from None


def parse_ratio(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"{option}: 不是数值 (not a number: {text[:20]!r})") from None
    if not value.is_finite() or not Decimal("-0.5") < value < 1:
        raise InputError(f"{option}: 应在 -0.5 与 1 之间 (a yearly rate, e.g. 0.05)")
    return value


def bar(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


# --- the region's catalogue, trimming rule and register ---------------------------------------------------


def region_catalogue(region: str):
    """The region's DIP catalogue, or None where it has none (no ``dip_catalogue.csv``)."""
    from yibao.commands.payment import dip_folder
    from yibao.payment.dip_catalogue import load_dip_catalogue

    region, folder = dip_folder(f"dip:{region}", None)
    if not any((folder / n).is_file() for n in ("dip_catalogue.csv", "dip_catalogue.xlsx")):
        return None
    return load_dip_catalogue(folder, region)


def trim_rule(option: str | None, catalogue) -> str:
    """``--trim``, else the region's ``dip.yaml`` ``build.trim``, else ``sd3``."""
    from yibao.payment.dip_build import TRIM_RULES

    rule = option or (catalogue.params.build.get("trim") if catalogue is not None else None) or "sd3"
    if rule not in TRIM_RULES:
        raise InputError(f"--trim: 应为 {'、'.join(TRIM_RULES)} (got {rule[:20]!r})")
    return rule


def register_levels(region: str) -> dict[str, int]:
    """Hospital levels from the database's institution register, else from ``regions/<admdvs>/institutions.csv``."""
    from yibao.config import get_settings
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.payment_history import institution_levels

    with unit_of_work(get_engine(), write=False) as s:
        levels = institution_levels(s)
    if levels:
        return levels
    path = get_settings().regions_dir / region / "institutions.csv"
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(f"{path}: 没有机构登记 (no institution register): {exc.strerror or exc}") from None
    found = {}
    for n, row in enumerate(rows, 2):
        level = (row.get("dedc_hosp_lv") or "").strip()
        if level not in ("1", "2", "3"):
            raise InputError(f"{path.name}:{n}: dedc_hosp_lv 应为 1、2 或 3 (got {level[:8]!r})")
        found[(row.get("fixmedins_code") or "").strip()] = int(level)
    return found


# --- printing -------------------------------------------------------------------------------------------------


def print_summary(rows: list[HistoryRow], title: str, sources: dict | None = None) -> None:
    """Per year × pool × kind: cases, cost (yuan), groups and hospitals (and each year's source)."""
    table = Table(title=title)
    for column in ("年度", "基金池", "方式", "病例", "医疗费总额(元)", "病组", "医院"):
        table.add_column(
            column, justify="left" if column in ("年度", "基金池", "方式") else "right", no_wrap=True
        )
    if sources is not None:
        table.add_column("来源", no_wrap=True)
    for line in summary(rows):
        cells = [
            str(line.year),
            f"{line.pool} {POOL_NAMES.get(line.pool, '')}".strip(),
            KIND_NAMES.get(line.kind, line.kind),
            f"{line.cases:,}",
            fmt_yuan(line.cost_fen),
            f"{line.groups:,}",
            str(line.hospitals),
        ]
        if sources is not None:
            cells.append(sources.get(line.year, ("",))[0])
        table.add_row(*cells)
    console.print(table)


def print_left_out(done: Aggregated) -> None:
    words = {"qy": "歧义 qy", "ungrouped": "未入组 ungrouped"}
    for (year, kind, status), n in sorted(done.left_out.items()):
        console.print(
            f"  {year} {KIND_NAMES.get(kind, kind)} 未计入 left out: {words.get(status, status)} {n}",
            soft_wrap=True,
            markup=False,
        )
    trimmed = sum(done.trimmed.values())
    if trimmed:
        console.print(f"  剔除极端值 trimmed: {trimmed}", soft_wrap=True, markup=False)


# --- load --------------------------------------------------------------------------------------------------


@history_app.command("load")
def load(
    input_path: Path = typer.Option(
        ..., "--input", "-i", help="History CSV: grouping columns + year, cost, insutype, fixmedins_code."
    ),
    region: str = typer.Option(
        "990100", "--region", help="The region (统筹区): its register and DIP catalogue."
    ),
    on: str = typer.Option(
        None,
        "--on",
        help="Group with the schemes in effect this day (default: 1 January after the last year).",
    ),
    trim: str = typer.Option(None, "--trim", help="sd3, p2.5-97.5 or none (default: the region's dip.yaml)."),
) -> None:
    """Group, trim and aggregate past years' cases from a CSV; store them in place of those years."""
    from yibao.payment.dip_history import read_history
    from yibao.payment.history import aggregate, records_of
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.payment_history import replace_history, schemes_in_effect

    if not re.fullmatch(r"\d{6}", region):
        raise InputError(f"--region: 统筹区编码应为 6 位数字 (got {region[:20]!r})")
    if not input_path.is_file():
        raise InputError(f"--input: 历史数据文件不存在 {input_path} (not found)")
    day = parse_day(on, "--on") if on else None
    catalogue = region_catalogue(region)
    rule = trim_rule(trim, catalogue)
    cases, refused = read_history(input_path, EXTRA)
    rows_read = len(cases) + len(refused)
    levels = register_levels(region)
    if day is None:  # the budget year the history is for
        day = date(max((c.year for c in cases), default=date.today().year) + 1, 1, 1)
    for_kind = schemes_in_effect(catalogue)
    groupers = {k: g for k in ("drg", "dip") if (g := for_kind(k, day)) is not None}
    if "drg" not in groupers:
        raise InputError(f"--on: {day} 没有生效的 DRG 分组方案 (no DRG scheme in effect)")
    records = []
    with bar("分组 (grouping history)") as progress:
        task = progress.add_task("group", total=max(len(cases), 1))
        for n, hc in enumerate(cases, 1):
            pool, code = hc.extra
            if pool not in POOLS:
                refused.append((hc.line, f"insutype 应为 {' 或 '.join(POOLS)} (统筹基金池): {pool[:8]!r}"))
            elif code not in levels:
                refused.append((hc.line, f"fixmedins_code {code[:20]!r} 不在机构登记中 (not registered)"))
            else:
                records.extend(
                    records_of(
                        hc.case,
                        groupers,
                        year=hc.year,
                        pool=pool,
                        fixmedins_code=code,
                        level=levels[code],
                        cost_fen=hc.cost,
                    )
                )
            if n % 1_000 == 0:
                progress.update(task, completed=n)
    done = aggregate(records, rule)
    with unit_of_work(get_engine()) as s:
        replace_history(s, done.rows, "import", datetime.now(), actor=ACTOR)
    schemes = " + ".join(KIND_NAMES[k] for k in groupers)
    print_summary(done.rows, f"历史数据 history ← {input_path.name} ({schemes}, {day}, trim {rule})")
    print_left_out(done)
    console.print(
        f"{input_path.name}: {rows_read} 行, 载入 loaded {rows_read - len(refused)}, 拒绝 refused {len(refused)}"
        f" → {len(done.rows)} 个汇总行 (rows stored)",
        soft_wrap=True,
        markup=False,
    )
    for line, reason in sorted(refused):
        console.print(f"  {input_path.name}:{line}: {reason}", soft_wrap=True, markup=False)


# --- synthetic ---------------------------------------------------------------------------------------------


@history_app.command("synthetic")
def synthetic(
    year: int = typer.Option(..., "--year", help="The settled year the past years are derived from."),
    years: int = typer.Option(3, "--years", help="How many years before it to derive (1–10)."),
    growth: str = typer.Option("0.05", "--growth", help="Yearly volume growth (病例增长率)."),
    inflation: str = typer.Option("0.03", "--inflation", help="Yearly cost inflation (费用增长率)."),
    seed: int = typer.Option(990100, "--seed", help="The same seed gives the same history."),
    trim: str = typer.Option(None, "--trim", help="sd3, p2.5-97.5 or none (default: the region's dip.yaml)."),
) -> None:
    """Aggregate YEAR's settled cases and derive the years before it (SYNTHETIC, for the demo); store them."""
    from yibao.config import get_settings
    from yibao.payment.service.history import derive_synthetic
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.settlement_lists import count_lists_of_year

    check_year(year)
    if not 1 <= years <= 10:
        raise InputError(f"--years: 应为 1 到 10 (got {years})")
    g, i = parse_ratio(growth, "--growth"), parse_ratio(inflation, "--inflation")
    if g < 0:
        raise InputError("--growth: 病例增长率不能为负 (the volume only falls going back)")
    catalogue = region_catalogue(get_settings().region)
    rule = trim_rule(trim, catalogue)
    engine = get_engine()
    with unit_of_work(engine, write=False) as s:
        total = count_lists_of_year(s, year)
    with bar("分组 (grouping settled cases)") as progress:
        task = progress.add_task("group", total=max(total, 1))
        done, past = derive_synthetic(
            engine,
            year,
            catalogue,
            rule,
            years=years,
            growth=g,
            inflation=i,
            seed=seed,
            actor=ACTOR,
            progress=lambda n: progress.update(task, completed=n),
        )
    if not done.rows:
        raise InputError(f"--year: {year} 年没有已结算且有结算清单的住院病例 (no settled inpatient cases)")
    print_summary(
        done.rows + past,
        f"历史数据 history: {year} 已结算 settled + {year - years}–{year - 1} 合成 synthetic "
        f"(病例年增 volume growth {g}, 费用年增 inflation {i}, seed {seed})",
    )
    print_left_out(done)


# --- show --------------------------------------------------------------------------------------------------


@history_app.command("show")
def show(year: int = typer.Option(None, "--year", help="Only this year.")) -> None:
    """Print the stored history: per year × pool × kind, cases, cost, groups and hospitals."""
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.payment_history import history_rows, history_sources

    years = None if year is None else [check_year(year)]
    with unit_of_work(get_engine(), write=False) as s:
        rows = history_rows(s, years)
        sources = history_sources(s)
    if not rows:
        console.print(
            "没有历史数据 (no history)"
            + (f" {year}" if year is not None else "")
            + "; 见 yibao payment history load / synthetic",
            soft_wrap=True,
            markup=False,
        )
        return
    print_summary(rows, "历史数据 history", sources)
