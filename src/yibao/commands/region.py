"""``yibao region load``: dictionaries, districts, institutions, catalogue and codes of a region."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

region_app = typer.Typer(
    help="Regions (统筹区): load a region's reference data from regions/.", no_args_is_help=True
)
console = Console(soft_wrap=True)  # never wrap a rejection or a problem across lines


@region_app.command("load")
def load(
    admdvs: str = typer.Argument("990100", help="The region's code (folder under regions/)."),
    regions_dir: Path = typer.Option(None, "--regions-dir", help="Default: YIBAO_REGIONS_DIR or ./regions."),
) -> None:
    """Load (or update) a region; a second run changes nothing."""
    from yibao.ingest.region import load_region
    from yibao.store.db import get_engine

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task(f"载入 {admdvs}", total=None)
        report = load_region(
            get_engine(), admdvs, regions_dir, progress=lambda s, _: bar.update(task, description=s)
        )
    t = Table(
        "内容 what",
        "读取 read",
        "新增 inserted",
        "更新 updated",
        "未变 unchanged",
        "拒绝 rejected",
        title=f"{report.name} ({report.admdvs})",
    )
    d = report.dictionaries
    t.add_row(
        "字典 dictionaries",
        str(sum(d.values())),
        str(d["inserted"]),
        str(d["updated"]),
        str(d["unchanged"]),
        "0",
    )
    for r in report.imports:
        c = r.counts()
        t.add_row(r.kind, *(str(c[k]) for k in ("read", "inserted", "updated", "unchanged", "rejected")))
    console.print(t)
    for r in report.imports:
        for rej in r.rejected[:10]:
            console.print(f"[red]  {r.file} {rej}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(region_app, name="region")
