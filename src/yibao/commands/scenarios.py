"""``yibao scenarios run``: settle cases written as data; ``--check`` compares them with ``expect``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from yibao.errors import InputError

scenarios_app = typer.Typer(
    help="Settlement scenarios (结算案例): run and check cases written as YAML.", no_args_is_help=True
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.y*ml") if q.suffix in (".yaml", ".yml")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: 文件不存在 (file not found)")
    if not out:
        raise InputError("没有案例文件 (no scenario files found)")
    return out


@scenarios_app.command("run")
def run(
    paths: list[Path] = typer.Argument(..., help="Scenario YAML files or folders."),
    check: bool = typer.Option(
        False, "--check", help="Compare with each case's expect blocks; exit 1 on any mismatch."
    ),
    trace: bool = typer.Option(
        False, "--trace", help="Also print policy parameters read, accumulator deltas, line splits."
    ),
    regions_dir: Path = typer.Option(
        None, "--regions-dir", help="Folder of regions (default: YIBAO_REGIONS_DIR)."
    ),
) -> None:
    """Settle every case and print the results as JSON on stdout."""
    from yibao.config import get_settings
    from yibao.settlement.scenarios import bundle_cache, run_file

    files = _files(paths)
    bundles = bundle_cache(regions_dir or get_settings().regions_dir)
    cases, warnings = [], []
    for f in files:
        report = run_file(f, bundles, tag_source=len(files) > 1)
        cases.extend(report.cases)
        warnings.extend(report.warnings)
    sys.stdout.write(
        json.dumps({"cases": [c.as_json(trace) for c in cases]}, ensure_ascii=False, indent=2) + "\n"
    )
    for w in dict.fromkeys(warnings):
        err.print(f"[yellow]warning[/]: {w}", markup=True)
    for c in cases:
        for s in c.steps:
            if s.kind == "error" and not check:
                err.print(f'case "{c.name}" step {s.number}: {s.error}')
    if not check:
        return
    failed = [c for c in cases if c.passed is False]
    checked = sum(1 for c in cases if c.passed is not None)
    for c in failed:
        err.print(f"[red]✗[/] {c.name}" + (f"  ({c.source})" if c.source else ""), markup=True)
        for p in c.problems:
            err.print(f"    {p}")
    summary = f"{checked - len(failed)}/{checked} cases passed" + (
        f", {len(cases) - checked} without expectations" if len(cases) > checked else ""
    )
    err.print(("[red]" if failed else "[green]") + summary + "[/]", markup=True)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(scenarios_app, name="scenarios")
