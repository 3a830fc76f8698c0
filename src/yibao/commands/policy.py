"""``yibao policy``: check a region's policy files and show the version in force."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from yibao.errors import InputError, PolicyError

policy_app = typer.Typer(
    help="Policy as code (待遇政策): check and show policy versions.", no_args_is_help=True
)
console = Console()


@policy_app.command("check")
def check(
    target: str = typer.Argument(
        "990100", help="Region code (990100), region folder (regions/990100) or policy folder."
    ),
) -> None:
    """Validate every policy version, and the payment policy (policy/payment/) if there is one; print a
    one-screen summary or every error with file and key."""
    from yibao.config import get_settings
    from yibao.payment.policy import PAYMENT_DIR, load_payment_dir, payment_effective_end, summary_line
    from yibao.policy.compiler import compile_versions
    from yibao.policy.loader import load_policy_dir, region_policy_dir
    from yibao.policy.summary import check_summary

    directory, region = region_policy_dir(target, get_settings().regions_dir)
    lines: list[str] = []
    try:
        loaded = load_policy_dir(directory, region)
    except PolicyError as exc:
        lines += exc.message.splitlines()
    payment = []
    if (directory / PAYMENT_DIR).is_dir():
        try:
            payment = load_payment_dir(directory / PAYMENT_DIR, directory.parent, region)
        except PolicyError as exc:
            lines += exc.message.splitlines()
    if lines:
        for line in lines:
            console.print(f"[red]✗[/] {line}", highlight=False, markup=True, soft_wrap=True)  # one line each
        raise PolicyError(f"政策校验失败: {len(lines)} 处错误 (policy check failed)") from None
    console.print(check_summary(loaded, compile_versions(loaded).hash), soft_wrap=True)
    for i, p in enumerate(payment):
        console.print(summary_line(p, payment_effective_end(payment, i)), highlight=False, soft_wrap=True)


@policy_app.command("show")
def show(
    region: str = typer.Option("990100", "--region", "-r", help="Region code or folder."),
    on: str = typer.Option(None, "--date", "-d", help="Date (YYYY-MM-DD); default today."),
) -> None:
    """Print the policy version in force on a date, then each value with the file that set it and its reference."""
    from yibao.config import get_settings
    from yibao.policy.loader import effective_end, load_policy_dir, region_policy_dir
    from yibao.policy.summary import version_header, version_sources, version_tables

    try:
        day = date.fromisoformat(on) if on else date.today()
    except ValueError:
        raise InputError(f'--date: "{on}" is not a date (YYYY-MM-DD)') from None
    directory, code = region_policy_dir(region, get_settings().regions_dir)
    loaded = load_policy_dir(directory, code)
    for i, lv in enumerate(loaded):
        end = effective_end(loaded, i)
        if lv.policy.effective_from <= day and (end is None or day <= end):
            console.print(version_header(lv, end), soft_wrap=True)
            console.print(version_tables(lv.policy))
            console.print()
            console.print(version_sources(lv), soft_wrap=True)  # one line per value, however long
            return
    raise PolicyError(f"{Path(directory)}: {day} 无适用的政策版本 (no version in force)")


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
