"""``yibao payment review``: 特例单议 (special-case review) from the command line, as a named member of staff
(their roles' permissions apply: a handler files and withdraws, a reviewer decides, never their own request
nor one of the hospital they work at).

::

    yibao payment review file --hospital H99010200002 --year 2025 --setl-id S… --reason long_stay \\
        --statement "住院 75 天，…" --evidence 病历摘要.pdf --as jb
    yibao payment review decide 3 --decision approve --points 120.5 --institution H99010300001 --as sh
    yibao payment review decide 4 --decision reject --note "未达超长住院标准" --as sh
    yibao payment review withdraw 5 --as jb
    yibao payment review list --status filed --year 2025
"""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from yibao.commands.payment import payment_app
from yibao.errors import InputError

review_app = typer.Typer(
    help="特例单议 (special-case review): file, decide, withdraw, list requests.", no_args_is_help=True
)
payment_app.add_typer(review_app, name="review")
console = Console(highlight=False)
STATUSES = ("filed", "approved", "rejected", "withdrawn", "all")
HEX = frozenset("0123456789abcdefABCDEF")


def _staff(s, username: str):
    """The member of staff acting (an active user), as the rules see them."""
    from yibao.payment.special_review import Staff
    from yibao.security import identity
    from yibao.store.tables import StaffUser

    user = s.get(StaffUser, username)
    if user is None or not user.active:
        raise InputError(f"--as: 没有启用的工作人员 {username}")
    return Staff(user.username, identity(s, user).permissions)


def _attachment(text: str) -> dict:
    """``NAME`` or ``NAME:SHA256`` (64 hex digits after the last colon)."""
    head, sep, tail = text.rpartition(":")
    if sep and len(tail) == 64 and set(tail) <= HEX:
        return {"name": head, "digest": tail}
    return {"name": text, "digest": None}


@review_app.command("file")
def file_request(
    hospital: str = typer.Option(..., "--hospital", help="申请医院（定点医药机构编号）"),
    year: int = typer.Option(..., "--year", help="结算年度"),
    setl_id: str = typer.Option(..., "--setl-id", help="病例的出院结算ID"),
    reason: str = typer.Option(..., "--reason", help="long_stay | icu | new_tech | extreme | rescue"),
    statement: str = typer.Option(..., "--statement", help="医院说明"),
    evidence: list[str] = typer.Option(None, "--evidence", help="证明材料 NAME[:SHA256] (repeatable)"),
    as_user: str = typer.Option(..., "--as", help="经办人员的用户名"),
) -> None:
    """File a hospital's request for one settled inpatient case."""
    from yibao.payment.service.special_review import file_request as file_it
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        new = file_it(
            s,
            staff=_staff(s, as_user),
            fixmedins_code=hospital,
            year=year,
            setl_id=setl_id,
            reason=reason,
            statement=statement,
            evidence=[_attachment(e) for e in evidence or []],
            now=datetime.now(),
        )
    console.print(f"已提交特例单议申请 #{new}（结算 {setl_id}），等待评审")


@review_app.command("decide")
def decide(
    review_id: int = typer.Argument(..., help="申请编号"),
    decision: str = typer.Option(..., "--decision", help="approve 通过 | reject 不通过"),
    points: str = typer.Option(None, "--points", help="通过：追加点数（最多四位小数）"),
    ffs: str = typer.Option(None, "--ffs", help="通过：按项目付费金额（元）"),
    note: str = typer.Option(None, "--note", help="评审意见（不通过时必填）"),
    institution: str = typer.Option(None, "--institution", help="评审人员所在机构（医保经办机构人员不填）"),
    as_user: str = typer.Option(..., "--as", help="评审人员的用户名 (not the filer)"),
) -> None:
    """Approve (with --points or --ffs) or reject (with --note) a request."""
    from yibao.payment import special_review as sr
    from yibao.payment.service.special_review import decide as decide_it
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        after = decide_it(
            s,
            review_id,
            staff=_staff(s, as_user),
            decision=decision,
            extra_points=points,
            ffs_amount=ffs,
            note=note,
            reviewer_institution=institution,
            now=datetime.now(),
        )
    console.print(f"特例单议申请 #{review_id} {sr.name(after)}")


@review_app.command("withdraw")
def withdraw(
    review_id: int = typer.Argument(..., help="申请编号"),
    note: str = typer.Option(None, "--note", help="撤回说明"),
    as_user: str = typer.Option(..., "--as", help="申请人的用户名"),
) -> None:
    """Withdraw a request still waiting (its filer only)."""
    from yibao.payment.service.special_review import withdraw as withdraw_it
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        withdraw_it(s, review_id, staff=_staff(s, as_user), note=note, now=datetime.now())
    console.print(f"已撤回特例单议申请 #{review_id}")


@review_app.command("list")
def list_reviews(
    status: str = typer.Option("all", "--status", help="filed | approved | rejected | withdrawn | all"),
    year: int = typer.Option(None, "--year", help="结算年度"),
    hospital: str = typer.Option(None, "--hospital", help="申请医院"),
) -> None:
    """The requests: waiting first, oldest first; then the decided ones."""
    from yibao.money import fmt_yuan
    from yibao.payment import special_review as sr
    from yibao.store import special_reviews as reads
    from yibao.store.db import unit_of_work

    if status not in STATUSES:
        raise InputError(f"--status: 应为 {' | '.join(STATUSES)}")
    f = reads.ReviewFilter(status=None if status == "all" else status, fixmedins_code=hospital, year=year)
    with unit_of_work(write=False) as s:
        rows = reads.records(s, f, 1000)
        total = reads.count_of(s, f)
    for r in rows:  # (a block each: the statement is the point, and a table would cut it at 80 columns)
        console.print(
            f"#{r['id']} {sr.name(r['status'])}  {r['year']} 年 · {r['fixmedins_name']} ({r['fixmedins_code']}) · "
            f"结算 {r['setl_id']} · {r['psn_name']} · {sr.kind_name(r['reason'])} · "
            f"{sr.SCHEME_NAMES.get(r['scheme'], r['scheme'])}",
            markup=False,
        )
        console.print(
            f"    申请人 {r['filed_by_name']} ({r['filed_by']}) · {r['filed_at']:%Y-%m-%d %H:%M} · 说明：{r['statement']}",
            markup=False,
        )
        if r["decided_by"]:
            granted = (
                f"，追加点数 {sr.points_words(r['extra_points4'])}"
                if r["extra_points4"]
                else f"，按项目付费 {fmt_yuan(r['ffs_fen'])} 元"
                if r["ffs_fen"] is not None
                else ""
            )
            why = f"：{r['decision_note']}" if r["decision_note"] else ""
            console.print(
                f"    {r['decided_by_name']} ({r['decided_by']}) {sr.name(r['status'])}{granted}{why}",
                markup=False,
            )
    console.print(f"共 {total} 项")
