"""``yibao assistance look-back | reverse`` and ``yibao claims settle | reverse``: the supplements staff make
by hand — look-back assistance (补充救助) and 先付费后报销 claims.

Recording an identity whose category has a look-back pays it at once (any channel: REST, console, feed); these
commands run it again for a recognition (it pays only what is not paid yet) or reverse one supplement.
"""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console

from yibao.money import fmt_fen

assistance_app = typer.Typer(
    help="Medical assistance (医疗救助): look-back supplements.", no_args_is_help=True
)
console = Console(soft_wrap=True)


@assistance_app.command("look-back")
def look_back(
    psn_no: str = typer.Option(..., "--psn-no", help="人员编号"),
    idet: str = typer.Option(..., "--idet", help="人员身份类别 psn_idet_type (the category recognised)"),
    recognised: str = typer.Option(..., "--date", help="认定日期 YYYY-MM-DD"),
    grade: str | None = typer.Option(None, "--grade", help="身份等级 psn_type_lv"),
    actor: str = typer.Option("cli", "--actor"),
) -> None:
    """Pay the category's look-back on the settlements before the recognition day (each at most once)."""
    from yibao.errors import InputError
    from yibao.settlement.supplements import look_back as run
    from yibao.store.db import unit_of_work
    from yibao.store.uow import lent_to

    try:
        day = date.fromisoformat(recognised)
    except ValueError:
        raise InputError(f'--date: "{recognised}" 不是有效的日期 (YYYY-MM-DD)') from None
    with unit_of_work() as s, lent_to(s) as uow:
        paid = run(
            uow, psn_no=psn_no, code=idet, grade=grade, recognised=day, actor=actor, now=datetime.now()
        )
    for p in paid:
        console.print(f"{p.setl_id}  补充 {p.supplement_of}  医疗救助 {fmt_fen(p.amount)}")
    console.print(
        f"补充救助 {len(paid)} 笔, 合计 {fmt_fen(sum(p.amount for p in paid))} (look-back supplements)"
    )


@assistance_app.command("reverse")
def reverse(
    setl_id: str = typer.Argument(..., help="补充救助结算 ID"), actor: str = typer.Option("cli", "--actor")
) -> None:
    """Reverse one look-back supplement: its negation recorded, the accumulators restored."""
    from yibao.settlement.supplements import reverse_supplement
    from yibao.store.db import unit_of_work
    from yibao.store.uow import lent_to

    with unit_of_work() as s, lent_to(s) as uow:
        rev = reverse_supplement(uow, setl_id=setl_id, actor=actor, now=datetime.now())
    console.print(f"已撤销 {setl_id}: 撤销记录 {rev} (reversed)")


claims_app = typer.Typer(
    help="先付费后报销 claims: settle a pay-first settlement later.", no_args_is_help=True
)


@claims_app.command("settle")
def claim(
    setl_id: str = typer.Argument(..., help="先付费后报销人员在定点机构的结算 ID"),
    actor: str = typer.Option("cli", "--actor"),
) -> None:
    """Settle the claim of a pay-first settlement: the funds pay the person what the chain gives on its lines."""
    from yibao.settlement.claims import settle_claim
    from yibao.store.db import unit_of_work
    from yibao.store.uow import lent_to

    with unit_of_work() as s, lent_to(s) as uow:
        paid = settle_claim(uow, setl_id=setl_id, actor=actor, now=datetime.now())
    console.print(f"{paid.setl_id}  报销 {setl_id}  基金支付 {fmt_fen(paid.amount)}")


@claims_app.command("reverse")
def reverse_claim(
    setl_id: str = typer.Argument(..., help="报销结算 ID"), actor: str = typer.Option("cli", "--actor")
) -> None:
    """Reverse a claim: its negation recorded, the accumulators restored."""
    reverse(setl_id, actor)


def register(app: typer.Typer) -> None:
    app.add_typer(assistance_app, name="assistance")
    app.add_typer(claims_app, name="claims")
