"""``yibao payment``: group settlement-list cases with a payment scheme (支付方式分组).

``yibao payment group --scheme chs-drg-1.1 --input cases.csv --output groups.csv [--trace]`` reads the
cases (UTF-8 CSV, header ``case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures``), groups
each against the scheme's rule pack and writes ``case_id,status,mdc,adrg,drg,reason`` (and ``trace``). A bad
row is written with status ``ungrouped``, DRG ``0000`` and its reason; only an unusable input (missing file
or columns) or an unusable rule pack ends the command with exit code 2.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from yibao.errors import InputError

payment_app = typer.Typer(help="Payment methods (支付方式): DRG grouping.", no_args_is_help=True)
console = Console(highlight=False)
OUTPUT_COLUMNS = ["case_id", "status", "mdc", "adrg", "drg", "reason"]
PROGRESS_EVERY = 2_000


def count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)


@payment_app.command("group")
def group(
    scheme: str = typer.Option(
        "chs-drg-1.1", "--scheme", help="Registered scheme (分组方案), e.g. chs-drg-1.1."
    ),
    input_path: Path = typer.Option(..., "--input", "-i", help="Cases CSV (UTF-8, header row)."),
    output_path: Path = typer.Option(..., "--output", "-o", help="Groups CSV to write."),
    trace: bool = typer.Option(
        False, "--trace", help="Add a trace column: MDC rule, ADRG list, each CC/MCC."
    ),
    tables: Path = typer.Option(
        None, "--tables", help="Group with these tables (folder or .tar.xz in the scheme's layout) instead."
    ),
) -> None:
    """Group every case of INPUT; write one row per case to OUTPUT; print the counts."""
    from yibao.payment.cases import read_cases
    from yibao.payment.drg import group_case, ungrouped
    from yibao.payment.packs import load_drg_pack

    if not input_path.is_file():
        raise InputError(f"输入文件不存在: {input_path} (input not found)")
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


def _chain(first, rest):
    if first is not None:
        yield first
        yield from rest


def register(app: typer.Typer) -> None:
    app.add_typer(payment_app, name="payment")
