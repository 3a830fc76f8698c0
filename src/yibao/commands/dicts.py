"""``yibao dict``: show the national and regional code tables (字典)."""

from __future__ import annotations

import difflib
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError

dict_app = typer.Typer(help="Dictionaries (字典): list types, show one.", no_args_is_help=True)
console = Console()


@dict_app.command("types")
def types() -> None:
    """Every dictionary type with its number of values."""
    from sqlalchemy import func, select

    from yibao.store.db import unit_of_work
    from yibao.store.tables import Dictionary

    t = Table("type", "values", "scopes")
    with unit_of_work(write=False) as s:
        for dic_type, n, scopes in s.execute(
            select(Dictionary.dic_type, func.count(), func.count(func.distinct(Dictionary.admdvs)))
            .group_by(Dictionary.dic_type)
            .order_by(Dictionary.dic_type)
        ):
            t.add_row(dic_type, str(n), str(scopes))
    console.print(t)


@dict_app.command("show")
def show(
    dic_type: str = typer.Argument(..., help="e.g. insutype, med_type, psn_idet_type, fund_pay_type"),
    region: str = typer.Option(
        None, "--region", "-r", help="Add this region's local values (default YIBAO_REGION)."
    ),
    on: str = typer.Option(None, "--date", "-d", help="Only values valid on this date (YYYY-MM-DD)."),
) -> None:
    """Print a dictionary: national values plus the region's."""
    from sqlalchemy import select

    from yibao.config import get_settings
    from yibao.store.db import unit_of_work
    from yibao.store.tables import NATIONAL, Dictionary

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise InputError(f'--date: "{on}" is not a date (YYYY-MM-DD)') from None
    scope = region or get_settings().region
    with unit_of_work(write=False) as s:
        rows = s.scalars(
            select(Dictionary)
            .where(Dictionary.dic_type == dic_type, Dictionary.admdvs.in_((NATIONAL, scope)))
            .order_by(Dictionary.admdvs, Dictionary.sort, Dictionary.code)
        ).all()
        if not rows:
            known = s.scalars(select(Dictionary.dic_type).distinct()).all()
            close = difflib.get_close_matches(dic_type, known, n=3)
            hint = (
                f" (did you mean: {', '.join(close)}?)"
                if close
                else (" (run yibao region load)" if not known else "")
            )
            raise InputError(f"dict: 没有字典 {dic_type}{hint}")
    t = Table("code", "name", "parent", "scope", "valid", title=f"{dic_type}")
    for d in rows:
        if day and (d.valid_from > day or (d.valid_to and d.valid_to < day)):
            continue
        valid = f"{d.valid_from}—{d.valid_to or ''}" + ("" if d.vali_flag == "1" else " (停用)")
        t.add_row(
            d.code, d.name, d.parent_code or "", "national" if d.admdvs == NATIONAL else d.admdvs, valid
        )
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(dict_app, name="dict")
