"""``yibao review``: the 审核 queue from the command line — list the requests awaiting a second person, approve
or reject one as a named member of staff (their roles' permissions apply, and never to their own request)."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from yibao.errors import InputError

review_app = typer.Typer(
    help="审核 (双人复核): list, approve or reject requests awaiting a second person.", no_args_is_help=True
)
console = Console(highlight=False)
STATUSES = ("pending", "approved", "rejected", "withdrawn", "all")


def _staff(s, username: str):
    """The member of staff acting (an active user), as the rules see them."""
    from yibao.security import identity
    from yibao.settlement.review import Staff
    from yibao.store.tables import StaffUser

    user = s.get(StaffUser, username)
    if user is None or not user.active:
        raise InputError(f"--as: 没有启用的工作人员 {username}")
    return Staff(user.username, identity(s, user).permissions)


@review_app.command("list")
def list_requests(
    status: str = typer.Option("pending", "--status", help="pending | approved | rejected | withdrawn | all"),
) -> None:
    """The queue: waiting requests first, oldest first."""
    from yibao.money import fmt_fen
    from yibao.settlement import review
    from yibao.store import review_reads as reads
    from yibao.store.db import unit_of_work

    if status not in STATUSES:
        raise InputError(f"--status: 应为 {' | '.join(STATUSES)}")
    which = None if status == "all" else status
    now = datetime.now()
    with unit_of_work(write=False) as s:
        rows = reads.queue(s, status=which, limit=1000)
        total = reads.count(s, which)
    for r in rows:  # (a block each: the reason is the point, and a table would cut it at 80 columns)
        console.print(
            f"#{r['id']} {review.name(r['status'])}  结算 {r['setl_id']}  {r['psn_name']} {r['psn_no']} · "
            f"{r['fixmedins_name']} · 医疗费总额 {fmt_fen(r['medfee_sumamt'])} 元",
            markup=False,
        )
        console.print(
            f"    申请人 {r['requested_by_name']} ({r['requested_by']}) · {r['requested_at']:%Y-%m-%d %H:%M} · "
            f"等待 {review.waited(r['requested_at'], r['decided_at'] or now)}",
            markup=False,
        )
        console.print(f"    撤销原因：{r['reason']}", markup=False)
        if r["decided_by"]:
            note = f"：{r['comment']}" if r["comment"] else ""
            console.print(
                f"    {r['decided_by_name']} ({r['decided_by']}) {review.name(r['status'])}{note}",
                markup=False,
            )
    console.print(f"共 {total} 项")


def _step(step, request_id: int, username: str, comment: str | None) -> object:
    from yibao.store.db import unit_of_work
    from yibao.store.uow import lent_to

    with unit_of_work() as s, lent_to(s) as uow:
        return step(uow, request_id, staff=_staff(s, username), comment=comment, now=datetime.now())


@review_app.command("approve")
def approve(
    request_id: int = typer.Argument(..., help="申请编号"),
    as_user: str = typer.Option(..., "--as", help="审核人员的用户名 (not the requester)"),
    comment: str = typer.Option(None, "--comment", help="审核意见"),
) -> None:
    """Approve a request: the settlement is reversed in the same transaction."""
    from yibao.settlement.review_service import approve as approve_request

    rev = _step(approve_request, request_id, as_user, comment)
    console.print(f"已审核通过 #{request_id}: 撤销记录 {rev}")


@review_app.command("reject")
def reject(
    request_id: int = typer.Argument(..., help="申请编号"),
    as_user: str = typer.Option(..., "--as", help="审核人员的用户名 (not the requester)"),
    comment: str = typer.Option(..., "--comment", help="驳回理由（必填）"),
) -> None:
    """Reject a request, saying why: the settlement stands."""
    from yibao.settlement.review_service import reject as reject_request

    _step(reject_request, request_id, as_user, comment)
    console.print(f"已驳回 #{request_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
