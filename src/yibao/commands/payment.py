"""``yibao payment``: group settlement-list cases with a payment scheme (支付方式分组).

``yibao payment group --scheme chs-drg-1.1 --input cases.csv --output groups.csv [--trace]`` reads the
cases (UTF-8 CSV, header ``case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures``), groups
each against the scheme's rule pack and writes ``case_id,status,mdc,adrg,drg,reason`` (and ``trace``). A bad
row is written with status ``ungrouped``, DRG ``0000`` and its reason; only an unusable input (missing file
or columns) or an unusable rule pack ends the command with exit code 2.

``--scheme dip:<admdvs>`` groups by the region's DIP catalogue (``regions/<admdvs>/payment/``, or
``--catalogue``) instead and writes ``case_id,status,dip_code,dip_type,score,aux_coef,points,reason``;
``yibao payment dip-catalogue history|build|check`` makes and checks that catalogue (docs/dip.md).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from yibao.errors import InputError

payment_app = typer.Typer(help="Payment methods (支付方式): DRG and DIP grouping.", no_args_is_help=True)
dip_app = typer.Typer(
    help="DIP catalogues (病种目录库): synthetic history, build, check.", no_args_is_help=True
)
payment_app.add_typer(dip_app, name="dip-catalogue")
console = Console(highlight=False)
OUTPUT_COLUMNS = ["case_id", "status", "mdc", "adrg", "drg", "reason"]
DIP_COLUMNS = ["case_id", "status", "dip_code", "dip_type", "score", "aux_coef", "points", "reason"]
PROGRESS_EVERY = 2_000


def count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)


@payment_app.command("group")
def group(
    scheme: str = typer.Option(
        "chs-drg-1.1", "--scheme", help="Registered scheme (分组方案), e.g. chs-drg-1.1, or dip:<admdvs>."
    ),
    input_path: Path = typer.Option(..., "--input", "-i", help="Cases CSV (UTF-8, header row)."),
    output_path: Path = typer.Option(..., "--output", "-o", help="Groups CSV to write."),
    trace: bool = typer.Option(
        False, "--trace", help="Add a trace column: MDC rule, ADRG list, each CC/MCC."
    ),
    tables: Path = typer.Option(
        None, "--tables", help="Group with these tables (folder or .tar.xz in the scheme's layout) instead."
    ),
    catalogue: Path = typer.Option(
        None, "--catalogue", help="dip: the catalogue folder or file (default regions/<admdvs>/payment)."
    ),
) -> None:
    """Group every case of INPUT; write one row per case to OUTPUT; print the counts."""
    from yibao.payment.cases import read_cases
    from yibao.payment.drg import group_case, ungrouped
    from yibao.payment.packs import load_drg_pack

    if not input_path.is_file():
        raise InputError(f"输入文件不存在: {input_path} (input not found)")
    if scheme.startswith("dip:"):
        _group_dip(scheme, input_path, output_path, trace, catalogue)
        return
    pack = load_drg_pack(scheme, tables)
    rows = read_cases(input_path)
    first = next(rows, None)  # a missing column is refused before the output is created
    total = count_rows(input_path)
    counts: Counter[str] = Counter()
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("分组 (grouping)"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal or total < PROGRESS_EVERY,
    )
    try:
        out = output_path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(
            f"无法写入输出文件 {output_path}: {exc.strerror or exc} (cannot write output)"
        ) from None
    with out, progress:
        task = progress.add_task("group", total=total)
        writer = csv.writer(out)
        writer.writerow(OUTPUT_COLUMNS + (["trace"] if trace else []))
        done = 0
        for row in _chain(first, rows):
            if row.case is None:
                result = ungrouped(f"第 {row.line} 行: {row.refusal}", [] if trace else None)
            else:
                result = group_case(row.case, pack, trace)
            counts[result.status] += 1
            line = [row.case_id, result.status, result.mdc, result.adrg, result.drg, result.reason]
            writer.writerow([*line, " | ".join(result.trace)] if trace else line)
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress.update(task, completed=done)
    console.print(
        f"分组完成 (grouped) {done} 例: 入组 ok {counts['ok']}, 歧义 qy {counts['qy']}, "
        f"未入组 ungrouped {counts['ungrouped']} → {output_path}  [{scheme} {pack.pack_hash[:12]}]",
        soft_wrap=True,
        markup=False,
    )


@payment_app.command("check")
def check(
    scheme: str = typer.Option(
        "chs-drg-1.1", "--scheme", help="Registered scheme (分组方案), e.g. chs-drg-1.1."
    ),
    tables: Path = typer.Option(
        None, "--tables", help="Check these tables (folder or .tar.xz in the scheme's layout) instead."
    ),
) -> None:
    """Load and check a scheme's rule pack; print its period, sizes and hash, or the first error with file and line."""
    from yibao.payment.drg_pack import MCC
    from yibao.payment.packs import find_scheme, load_drg_pack

    found = find_scheme(scheme)
    pack = load_drg_pack(scheme, tables)
    mcc = sum(1 for level, _ in pack.complications.values() if level == MCC)
    until = found.effective_to or "—"
    console.print(
        f"规则包校验通过 (pack checked): {scheme} {found.title}\n"
        f"  有效期 (in effect): {found.effective_from} — {until}\n"
        f"  MDC {len(pack.mdc_names)}, ADRG {len(pack.adrg_names)}, DRG {len(pack.drg_names)}; "
        f"MCC {mcc}, CC {len(pack.complications) - mcc}, 排除表 {len(pack.exclusion_tables)} "
        f"({len(pack.exclusions)} 个主要诊断)\n"
        f"  来源 (tables): {tables or found.tables}\n"
        f"  哈希 (hash): {pack.pack_hash}",
        soft_wrap=True,
        markup=False,
    )


def dip_folder(scheme: str, catalogue: Path | None) -> tuple[str, Path]:
    """``dip:990100`` → the region code and its catalogue (``--catalogue``, or regions/<admdvs>/payment)."""
    from yibao.config import get_settings

    region = scheme.removeprefix("dip:").strip()
    if not re.fullmatch(r"\d{6}", region):
        raise InputError("方案应写作 dip:<统筹区编码>，如 dip:990100 (scheme: dip:<admdvs>)")
    return region, catalogue or get_settings().regions_dir / region / "payment"


def _group_dip(scheme: str, input_path: Path, output_path: Path, trace: bool, catalogue: Path | None) -> None:
    from yibao.payment.cases import read_cases
    from yibao.payment.dip import group_dip_case, ungrouped
    from yibao.payment.dip_catalogue import load_dip_catalogue

    region, folder = dip_folder(scheme, catalogue)
    cat = load_dip_catalogue(folder, region)
    rows = read_cases(input_path)
    first = next(rows, None)  # a missing column is refused before the output is created
    counts: Counter[str] = Counter()
    try:
        out = output_path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(
            f"无法写入输出文件 {output_path}: {exc.strerror or exc} (cannot write output)"
        ) from None
    with out:
        writer = csv.writer(out)
        writer.writerow(DIP_COLUMNS + (["trace"] if trace else []))
        for row in _chain(first, rows):
            if row.case is None:
                result = ungrouped(f"第 {row.line} 行: {row.refusal}", [] if trace else None)
            else:
                result = group_dip_case(row.case, cat, trace)
            counts[result.status if result.status != "ok" else result.dip_type] += 1
            line = [row.case_id, *result[:7]]
            writer.writerow([*line, " | ".join(result.trace)] if trace else line)
    console.print(
        f"分组完成 (grouped) {counts.total()} 例: 核心 core {counts['core']}, 基层 basic {counts['basic']}, "
        f"综合 comprehensive {counts['comprehensive']}, 未入组 ungrouped {counts['ungrouped']} → {output_path}"
        f"  [{scheme} {cat.pack_hash[:12]}]",
        soft_wrap=True,
        markup=False,
    )


@dip_app.command("history")
def dip_history(
    output_path: Path = typer.Option(..., "--output", "-o", help="History CSV to write."),
    cases: int = typer.Option(60_000, "--cases", min=100, help="Cases over the three years."),
    seed: int = typer.Option(990100, "--seed", help="Random seed: the same seed gives the same file."),
    first_year: int = typer.Option(2023, "--first-year", help="The oldest of the three years."),
    procedures: Path = typer.Option(
        None, "--procedures", help="Also write the demo procedure-attribute table (dip_procedures.csv) here."
    ),
) -> None:
    """Write a synthetic three-year history (grouping CSV + year, cost) from the CHS-DRG 1.1 tables."""
    from yibao.payment.dip_history import demo_procedure_types, synthetic_history
    from yibao.payment.packs import load_drg_pack

    pack = load_drg_pack()
    rows = synthetic_history(pack, cases, seed, first_year)
    _write_csv(output_path, rows)
    if procedures is not None:
        _write_csv(procedures, [["code", "treatment_type"], *demo_procedure_types(pack)])
    console.print(f"历史病例 (history) {len(rows) - 1} 例 → {output_path}", soft_wrap=True, markup=False)


@dip_app.command("build")
def dip_build(
    history: Path = typer.Option(..., "--history", help="History CSV (grouping columns + year, cost)."),
    region: str = typer.Option("990100", "--region", help="The region (统筹区) the catalogue is for."),
    folder: Path = typer.Option(
        None, "--dir", help="Folder with dip.yaml and dip_procedures.csv (default regions/<region>/payment)."
    ),
    output_path: Path = typer.Option(
        None, "--output", "-o", help="Catalogue to write (default DIR/dip_catalogue.csv)."
    ),
) -> None:
    """Derive core and comprehensive 病种 and their scores from three years of history (1 : 2 : 7)."""
    from yibao.payment.dip_build import build_catalogue, catalogue_rows
    from yibao.payment.dip_catalogue import parse_params, parse_procedure_types
    from yibao.payment.dip_history import read_history
    from yibao.payment.dip_tables import table_rows
    from yibao.payment.drg_tables import refuse

    _, folder = dip_folder(f"dip:{region}", folder)
    params_file, types_file = folder / "dip.yaml", folder / "dip_procedures.csv"
    for needed in (params_file, types_file):
        if not needed.is_file():
            raise refuse(str(needed), 0, "构建目录需要此文件 (needed to build the catalogue)")
    params = parse_params(params_file.name, params_file.read_bytes())
    types = parse_procedure_types(
        types_file.name, table_rows(types_file.name, types_file.read_bytes(), ("code", "treatment_type"))
    )
    cases, refused = read_history(history)
    try:
        built = build_catalogue(cases, types, params)
    except ValueError as exc:
        raise InputError(f"{history.name}: {exc}") from None
    target = output_path or folder / "dip_catalogue.csv"
    _write_csv(target, catalogue_rows(built))
    subtypes = _derive_aux(built, folder, target.parent / "dip_aux.csv")
    core = sum(1 for r in built.rows if r.dip_type != "comprehensive")
    share = 100 * built.core_cases / max(built.cases, 1)
    console.print(
        f"病种目录 (catalogue) {len(built.rows)} 个病种: 核心/基层 {core}, 综合 {len(built.rows) - core}; "
        f"年度 {', '.join(map(str, built.years))}; 病例 {built.cases}（核心 {share:.1f}%）; "
        f"辅助分型 {subtypes}; 拒绝 refused {len(refused)} → {target}",
        soft_wrap=True,
        markup=False,
    )
    for line, reason in refused[:10]:
        console.print(f"  {history.name}:{line}: {reason}", soft_wrap=True, markup=False)


def _derive_aux(built, folder: Path, target: Path) -> int | str:
    """The subtype rows ``dip_aux_template.csv`` asks for, written to ``target``; their count."""
    from yibao.payment.dip_aux import parse_cci
    from yibao.payment.dip_subtypes import TEMPLATE_COLUMNS, derive_aux, parse_template
    from yibao.payment.dip_tables import table_rows

    template_file, cci_file = folder / "dip_aux_template.csv", folder / "dip_cci.csv"
    if not template_file.is_file():
        return "无模板 (no dip_aux_template.csv)"
    cci = None
    if cci_file.is_file():
        cci = parse_cci(
            cci_file.name, table_rows(cci_file.name, cci_file.read_bytes(), ("prefix", "weight", "family"))
        )
    rows = table_rows(template_file.name, template_file.read_bytes(), TEMPLATE_COLUMNS)
    derived = derive_aux(built, parse_template(template_file.name, rows, cci is not None), cci)
    _write_csv(target, derived)
    return len(derived) - 1


@dip_app.command("check")
def dip_check(
    region: str = typer.Option("990100", "--region", help="The region (统筹区)."),
    catalogue: Path = typer.Option(None, "--catalogue", help="Catalogue folder or file instead."),
) -> None:
    """Load and check a region's DIP catalogue; print its sizes and hash, or the first error with file and line."""
    from yibao.payment.dip_catalogue import load_dip_catalogue

    region, folder = dip_folder(f"dip:{region}", catalogue)
    cat = load_dip_catalogue(folder, region)
    kinds = Counter(r.dip_type for r in cat.rows)
    console.print(
        f"DIP 病种目录校验通过 (catalogue checked): {region} {folder}\n"
        f"  核心 core {kinds['core']}, 基层 basic {kinds['basic']}, 综合 comprehensive {kinds['comprehensive']}; "
        f"手术操作属性 {len(cat.procedure_types)}; 辅助分型 {sum(len(v) for v in cat.aux.values())}\n"
        f"  哈希 (hash): {cat.pack_hash}",
        soft_wrap=True,
        markup=False,
    )


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)
    except OSError as exc:
        raise InputError(f"无法写入 {path}: {exc.strerror or exc} (cannot write)") from None


def _chain(first, rest):
    if first is not None:
        yield first
        yield from rest


def register(app: typer.Typer) -> None:
    from yibao.commands import payment_history  # noqa: F401  (registers yibao payment history)

    app.add_typer(payment_app, name="payment")
    from yibao.commands import payment_reviews  # noqa: F401  (registers yibao payment review)


from yibao.commands import (  # noqa: E402
    payment_lists,  # noqa: F401  (registers yibao payment group-lists)
    payment_runs,  # noqa: F401  (registers budget, month, clear, statement)
)
