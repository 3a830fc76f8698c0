"""``yibao payment group-lists``: regroup the stored settlement lists of a year (结算清单批量分组).

``yibao payment group-lists --year 2025 [--scheme chs-drg-1.1] [--force]`` groups every valid list discharged
in the year again — by the DRG scheme in effect on its discharge date, or the one named — from what the list
stored (sex, age, stay, diagnoses and procedures in grouping order), as 4101 grouped it. A list whose current
grouping is by the same scheme, pack hash and grouper version is left as it is (the result would be the same)
unless ``--force``; every other list gets a new grouping row that becomes its current one, the previous
staying as its history (``settlement_list_group.is_current``), with an audit row. Prints the counts: 入组 ok,
歧义 qy, 未入组 ungrouped (of the current groupings once done), regrouped, unchanged, and how many changed
group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from yibao.commands.payment import payment_app

ACTOR = "yibao payment group-lists"
PAGE = 2_000
console = Console(highlight=False)


@dataclass
class Regrouped:
    """What a run did: the current groupings' statuses, lists regrouped, left unchanged, whose group changed,
    and lists no scheme covers (the discharge date outside the named scheme's period)."""

    status: Counter = field(default_factory=Counter)
    regrouped: int = 0
    unchanged: int = 0
    changed: int = 0
    uncovered: int = 0


@payment_app.command("group-lists")
def group_lists(
    year: int = typer.Option(..., "--year", help="Discharge year of the lists to group (出院年度)."),
    scheme: str = typer.Option(
        None,
        "--scheme",
        help="Group with this registered DRG scheme (default: the one of each discharge date).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Regroup also lists already grouped by the same pack and grouper version."
    ),
) -> None:
    """Regroup the valid settlement lists of YEAR, keeping each list's earlier groupings as history."""
    from yibao.store.db import get_engine, unit_of_work
    from yibao.store.settlement_lists import count_lists_of_year

    engine = get_engine()
    with unit_of_work(engine, write=False) as s:
        total = count_lists_of_year(s, year)
    with Progress(
        TextColumn("[bold]分组 (grouping lists)"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("group", total=max(total, 1))
        done = regroup_year(
            engine, year, scheme, force=force, progress=lambda n: bar.update(task, completed=n)
        )
    st = done.status
    console.print(
        f"{year} 年结算清单 {total} 份: 入组 ok {st['ok']}, 歧义 qy {st['qy']}, 未入组 ungrouped {st['ungrouped']}; "
        f"重新分组 regrouped {done.regrouped}（分组变化 changed {done.changed}），"
        f"未变 unchanged {done.unchanged}"
        + (f"，不在方案有效期 outside the scheme's period {done.uncovered}" if done.uncovered else ""),
        soft_wrap=True,
        markup=False,
    )


def regroup_year(
    engine: Engine,
    year: int,
    scheme_name: str | None,
    *,
    force: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    now: datetime | None = None,
) -> Regrouped:
    """Regroup the year's valid lists a page at a time, each page one transaction."""
    from yibao import __version__
    from yibao.payment import settlement_list as sl
    from yibao.payment.packs import find_scheme, load_drg_pack, registered_schemes
    from yibao.store import settlement_lists as lists
    from yibao.store.db import unit_of_work

    schemes = registered_schemes()
    named = find_scheme(scheme_name) if scheme_name else None
    if named is not None and named.kind != "drg":
        from yibao.payment.drg_tables import RulePackError

        raise RulePackError(f"{scheme_name} 不是 DRG 分组方案 (not a DRG scheme)")
    done, after, seen = Regrouped(), "", 0
    while True:
        with unit_of_work(engine) as s:
            page = lists.lists_of_year(s, year, after=after, limit=PAGE)
            if not page:
                break
            todo = []
            for lst in page:
                day = lst.stay.dscg_time.date()
                scheme = named if named is not None else sl.drg_scheme_on(schemes, day)
                if scheme is None or not scheme.in_effect(day):
                    done.uncovered += 1
                    continue
                pack = load_drg_pack(scheme.name)
                same = lst.current is not None and lst.current[:3] == (
                    pack.scheme,
                    pack.pack_hash,
                    __version__,
                )
                if same and not force:
                    done.unchanged += 1
                    done.status[lst.current.status] += 1
                    continue
                grouped = sl.group_list(
                    sl.case_of(lst.setl_list_id, lst.stay, lst.diagnoses, lst.procedures), pack, scheme
                )
                todo.append((lst, grouped))
                done.status[grouped.group.status] += 1
                done.changed += lst.current is None or lst.current.group_code != grouped.group.drg
            lists.regroup(s, todo, actor=ACTOR, now=now or datetime.now())
            done.regrouped += len(todo)
        after, seen = page[-1].setl_list_id, seen + len(page)
        progress(seen)
    return done
