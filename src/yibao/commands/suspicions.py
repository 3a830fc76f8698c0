"""``yibao suspicions``: the suspicion workflow (疑点处理, docs/supervision-workflow.md) from the command line, as
a named member of staff (their roles' permissions apply: a reviewer confirms, notifies, decides and deducts; a
handler records the institution's answer; never a step the four-eyes rules forbid them). And
``yibao audit deduct --month 2025-03``: every upheld suspicion not yet deducted, posted against that month.

::

    yibao suspicions list --status open --rule GZ1000020400101 --min-amount 100 --due-before 2025-05-01
    yibao suspicions export --status upheld --output 疑点.xlsx
    yibao suspicions confirm 12 --as jc1
    yibao suspicions notify 12 --as jc1
    yibao suspicions notify --rule GZ1000020400101 --institution H99010200001 --as jc1   (bulk)
    yibao suspicions accept 12 --institution H99010200001 --as jb
    yibao suspicions appeal 13 --institution H99010200001 --reason "…" --file 病历.pdf --as jb
    yibao suspicions decide 13 --decision uphold --amount 120.00 --reason "…" --as jc2
    yibao suspicions expire
    yibao suspicions deduct 13 --month 2025-04 --as jc2
    yibao audit deduct --month 2025-04
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from yibao.commands.audit import audit_app
from yibao.errors import InputError, quote

suspicions_app = typer.Typer(
    help="疑点处理 (suspicion workflow): list, export, confirm, notify, answer, decide, deduct.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
DEDUCT_ACTOR = "yibao audit deduct"  # the bulk deduction without --as (a posting run, as yibao payment month)
COLUMNS = [
    ("id", "疑点编号"),
    ("status_name", "状态"),
    ("rule_code", "规则编码"),
    ("rule_name", "规则名称"),
    ("result_type", "结果类型"),
    ("sev_deg", "严重程度"),
    ("fixmedins_code", "定点机构编码"),
    ("fixmedins_name", "定点机构名称"),
    ("mdtrt_id", "就诊ID"),
    ("setl_id", "结算ID"),
    ("service_date", "就诊日期"),
    ("vola_amt", "疑点金额（元）"),
    ("vola_cont", "违规内容"),
    ("notified_at", "告知时间"),
    ("due_date", "答复期限"),
    ("response", "机构答复"),
    ("response_reason", "答复理由"),
    ("decision", "复核结论"),
    ("decision_reason", "复核理由"),
    ("upheld", "维持金额（元）"),
    ("deducted", "扣款金额（元）"),
    ("deduction_month", "扣款月份"),
    ("deduction_entry_id", "扣款凭证"),
]
RESPONSES = {"accept": "认可", "appeal": "申诉"}
DECISIONS = {"upheld": "维持", "dismissed": "排除/撤销"}


def _staff(s, username: str):
    """The member of staff acting (an active user), as the rules see them."""
    from yibao.security import identity
    from yibao.store.tables import StaffUser
    from yibao.supervision.suspicion_states import Staff

    user = s.get(StaffUser, username)
    if user is None or not user.active:
        raise InputError(f"--as: 没有启用的工作人员 {quote(username)}")
    return Staff(user.username, identity(s, user).permissions)


def _regions_dir() -> Path:
    from yibao.config import get_settings

    return get_settings().regions_dir


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: 须为日期 YYYY-MM-DD，实为 {quote(text)}") from None


def _filter(
    rule: str | None = None,
    institution: str | None = None,
    status: str | None = None,
    result_type: str | None = None,
    min_amount: str | None = None,
    due_before: str | None = None,
    due_after: str | None = None,
    run: int | None = None,
    ids: list[int] | None = None,
):
    from yibao.money import AmountError, parse_amount
    from yibao.store.suspicion_workflow import SuspicionFilter
    from yibao.supervision.suspicion_states import Status

    statuses = None
    if status:
        statuses = tuple(x.strip() for x in status.split(",") if x.strip())
        unknown = [x for x in statuses if x not in {s.value for s in Status}]
        if unknown:
            raise InputError(
                f"--status: 未知的状态 {', '.join(unknown)}（{' | '.join(s.value for s in Status)}）"
            )
    min_fen = None
    if min_amount is not None:
        try:
            min_fen = int(parse_amount(min_amount))
        except AmountError:
            raise InputError(f"--min-amount: 金额无效 {quote(min_amount)}（元，两位小数）") from None
    if result_type is not None and result_type not in ("违规", "可疑"):
        raise InputError("--result-type: 应为 违规 或 可疑")
    return SuspicionFilter(
        rule_code=rule,
        fixmedins_code=institution,
        status=statuses,
        result_type=result_type,
        min_fen=min_fen,
        due_to=_day(due_before, "--due-before"),
        due_from=_day(due_after, "--due-after"),
        run_id=run,
        ids=tuple(ids) if ids else None,
    )


def _rows(s, f, limit: int | None):
    """The worklist's rows as the list and the workbook show them (amounts exact Decimal yuan)."""
    from yibao.money import fen_to_decimal
    from yibao.store import suspicion_workflow as reads
    from yibao.supervision import suspicion_states as st

    found = list(reads.records(s, f, limit))
    names = reads.institution_names(s, [r.fixmedins_code for r in found if r.fixmedins_code])
    today = date.today()
    for r in found:
        lapsed = st.is_lapsed(r.status, r.due_date, today)
        yield {
            "id": r.id,
            "status_name": st.name(r.status) + ("（已逾期）" if lapsed else ""),
            "rule_code": r.rule_code,
            "rule_name": r.rule_name,
            "result_type": r.result_type,
            "sev_deg": r.sev_deg,
            "fixmedins_code": r.fixmedins_code,
            "fixmedins_name": names.get(r.fixmedins_code or "", ""),
            "mdtrt_id": r.mdtrt_id,
            "setl_id": r.setl_id,
            "service_date": r.service_date,
            "vola_amt": fen_to_decimal(r.vola_amt),
            "vola_cont": r.vola_cont,
            "notified_at": r.notified_at,
            "due_date": r.due_date,
            "response": RESPONSES.get(r.response or "", r.response),
            "response_reason": r.response_reason,
            "decision": DECISIONS.get(r.decision or "", r.decision),
            "decision_reason": r.decision_reason,
            "upheld": fen_to_decimal(r.upheld_fen) if r.decision == "upheld" else None,
            "deducted": fen_to_decimal(r.deducted_fen) if r.deduction_entry_id else None,
            "deduction_month": r.deduction_month,
            "deduction_entry_id": r.deduction_entry_id,
        }


@suspicions_app.command("list")
def list_cmd(
    rule: str = typer.Option(None, "--rule", help="规则编码"),
    institution: str = typer.Option(None, "--institution", help="定点机构编码"),
    status: str = typer.Option(None, "--status", help="状态，可用逗号分隔多个：open,confirmed,notified,…"),
    result_type: str = typer.Option(None, "--result-type", help="违规 | 可疑"),
    min_amount: str = typer.Option(None, "--min-amount", help="疑点金额不低于（元）"),
    due_before: str = typer.Option(None, "--due-before", help="答复期限不晚于 YYYY-MM-DD"),
    due_after: str = typer.Option(None, "--due-after", help="答复期限不早于 YYYY-MM-DD"),
    run: int = typer.Option(None, "--run", help="审核批次"),
    limit: int = typer.Option(200, "--limit", help="最多显示行数"),
) -> None:
    """The worklist: soonest due first, then the larger amount."""
    from yibao.money import fmt_fen
    from yibao.store import suspicion_workflow as reads
    from yibao.store.db import unit_of_work

    f = _filter(rule, institution, status, result_type, min_amount, due_before, due_after, run)
    with unit_of_work(write=False) as s:
        rows = list(_rows(s, f, limit))
        total, amount = reads.count_of(s, f), reads.amount_of(s, f)
    t = Table(
        title=f"疑点 {total} 项，金额 {fmt_fen(amount)} 元"
        + (f"（显示前 {limit} 项）" if total > limit else "")
    )
    for col in ("编号", "状态", "规则", "机构", "结算ID", "金额（元）", "答复期限", "维持/扣款"):
        t.add_column(col, overflow="fold")  # (codes folded, never cut with an ellipsis)
    for r in rows:
        settled = r["deducted"] if r["deducted"] is not None else r["upheld"]
        t.add_row(
            str(r["id"]),
            r["status_name"],
            f"{r['rule_code']} {r['rule_name']}",
            r["fixmedins_code"] or "",
            r["setl_id"] or "",
            f"{r['vola_amt']:,.2f}",
            str(r["due_date"] or ""),
            "" if settled is None else f"{settled:,.2f}",
        )
    console.print(t)


@suspicions_app.command("export")
def export_cmd(
    output: Path = typer.Option(..., "--output", help="Excel 文件 (.xlsx)"),
    rule: str = typer.Option(None, "--rule"),
    institution: str = typer.Option(None, "--institution"),
    status: str = typer.Option(None, "--status"),
    result_type: str = typer.Option(None, "--result-type"),
    min_amount: str = typer.Option(None, "--min-amount"),
    due_before: str = typer.Option(None, "--due-before"),
    due_after: str = typer.Option(None, "--due-after"),
    run: int = typer.Option(None, "--run"),
) -> None:
    """Write the worklist (every row of the filter) to an Excel workbook."""
    from yibao.console.export import write_xlsx
    from yibao.store.db import unit_of_work

    f = _filter(rule, institution, status, result_type, min_amount, due_before, due_after, run)
    with unit_of_work(write=False) as s:
        n = write_xlsx(
            str(output),
            "疑点清单",
            COLUMNS,
            _rows(s, f, None),
            note=f"导出于 {datetime.now():%Y-%m-%d %H:%M}",
        )
    console.print(f"疑点清单: {n} 行 → {output}")


@suspicions_app.command("confirm")
def confirm_cmd(
    suspicion_id: int = typer.Argument(..., help="疑点编号"),
    reason: str = typer.Option(None, "--reason", help="初审意见"),
    as_user: str = typer.Option(..., "--as", help="审核人员的用户名 (supervision.write)"),
) -> None:
    """初审确认: the finding may go to notice (a 可疑 one must be confirmed first)."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        service.confirm(s, suspicion_id, staff=_staff(s, as_user), reason=reason, now=datetime.now())
    console.print(f"疑点 #{suspicion_id} 初审确认")


@suspicions_app.command("notify")
def notify_cmd(
    suspicion_id: int = typer.Argument(None, help="疑点编号（不填则按条件批量告知）"),
    rule: str = typer.Option(None, "--rule"),
    institution: str = typer.Option(None, "--institution"),
    result_type: str = typer.Option(None, "--result-type"),
    min_amount: str = typer.Option(None, "--min-amount"),
    run: int = typer.Option(None, "--run"),
    as_user: str = typer.Option(..., "--as", help="审核人员的用户名 (supervision.write)"),
) -> None:
    """告知机构: one suspicion, or every open/confirmed one of the filter (可疑 ones not confirmed are left)."""
    from yibao.money import fmt_fen
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import suspicions as service

    now = datetime.now()
    with unit_of_work() as s:
        staff = _staff(s, as_user)
        if suspicion_id is not None:
            due = service.notify(s, suspicion_id, staff=staff, now=now, regions_dir=_regions_dir())
            console.print(f"疑点 #{suspicion_id} 已告知机构，答复期限 {due}")
            return
        f = _filter(rule, institution, None, result_type, min_amount, run=run)
        done = service.notify_many(s, f, staff=staff, now=now, regions_dir=_regions_dir())
    console.print(f"已告知机构 {len(done.done)} 项，金额 {fmt_fen(done.amount_fen)} 元")
    for why, n in done.skipped.items():
        console.print(f"  未告知 {n} 项：{why}")


@suspicions_app.command("accept")
def accept_cmd(
    suspicion_id: int = typer.Argument(..., help="疑点编号"),
    institution: str = typer.Option(..., "--institution", help="答复的定点机构（须为疑点所属机构）"),
    reason: str = typer.Option(None, "--reason", help="认可说明"),
    as_user: str = typer.Option(..., "--as", help="经办人员的用户名 (settlement.write)"),
) -> None:
    """机构认可 (recorded for the institution): upheld at once for the whole amount."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        service.accept(
            s,
            suspicion_id,
            staff=_staff(s, as_user),
            fixmedins_code=institution,
            reason=reason,
            now=datetime.now(),
        )
    console.print(f"疑点 #{suspicion_id} 机构认可，复核维持")


@suspicions_app.command("appeal")
def appeal_cmd(
    suspicion_id: int = typer.Argument(..., help="疑点编号"),
    institution: str = typer.Option(..., "--institution", help="答复的定点机构（须为疑点所属机构）"),
    reason: str = typer.Option(..., "--reason", help="申诉理由"),
    files: list[Path] = typer.Option(None, "--file", help="申诉材料 (repeatable)"),
    as_user: str = typer.Option(..., "--as", help="经办人员的用户名 (settlement.write)"),
) -> None:
    """机构申诉 (recorded for the institution): the reason and the files."""
    from yibao.store.db import unit_of_work
    from yibao.supervision import suspicion_states as st
    from yibao.supervision.service import suspicions as service

    read = []
    for path in files or []:
        try:
            if path.stat().st_size > st.MAX_BYTES:  # (refused before it is read)
                raise InputError(f"--file: {path.name} 超过单个文件上限 {st.MAX_BYTES // 1024 // 1024} MB")
            read.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise InputError(f"--file: 无法读取 {path}: {exc.strerror or exc}") from None
    with unit_of_work() as s:
        ids = service.appeal(
            s,
            suspicion_id,
            staff=_staff(s, as_user),
            fixmedins_code=institution,
            reason=reason,
            files=read,
            now=datetime.now(),
        )
    console.print(f"疑点 #{suspicion_id} 机构申诉，附件 {len(ids)} 个")


@suspicions_app.command("decide")
def decide_cmd(
    suspicion_id: int = typer.Argument(..., help="疑点编号"),
    decision: str = typer.Option(..., "--decision", help="uphold 维持 | dismiss 排除/撤销"),
    reason: str = typer.Option(None, "--reason", help="理由（排除、撤销、维持申诉时必填）"),
    amount: str = typer.Option(None, "--amount", help="维持金额（元，不超过疑点金额；默认全额）"),
    as_user: str = typer.Option(..., "--as", help="复核人员的用户名 (not who notified it)"),
) -> None:
    """复核: uphold (optionally for less) or dismiss; at 初审, dismiss only."""
    from yibao.store.db import unit_of_work
    from yibao.supervision import suspicion_states as st
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        after = service.decide(
            s,
            suspicion_id,
            staff=_staff(s, as_user),
            decision=decision,
            reason=reason,
            amount=amount,
            now=datetime.now(),
        )
    console.print(f"疑点 #{suspicion_id} {st.name(after)}")


@suspicions_app.command("expire")
def expire_cmd() -> None:
    """逾期: mark every notice past its due date without an answer as overdue."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        done = service.expire(s, now=datetime.now())
    console.print(f"逾期未答复 {len(done)} 项")


@suspicions_app.command("deduct")
def deduct_cmd(
    suspicion_id: int = typer.Argument(..., help="疑点编号"),
    month: str = typer.Option(None, "--month", help="扣款月份 YYYY-MM（默认：下一次拨付）"),
    as_user: str = typer.Option(..., "--as", help="审核人员的用户名 (supervision.write)"),
) -> None:
    """扣款 of one upheld suspicion, posted to the ledger."""
    from yibao.store.db import unit_of_work
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        entry = service.deduct(s, suspicion_id, staff=_staff(s, as_user), month=month, now=datetime.now())
    console.print(f"疑点 #{suspicion_id} 已扣款（凭证 {entry}）")


@audit_app.command("deduct")
def deduct_month_cmd(
    month: str = typer.Option(
        ..., "--month", help="扣款月份 YYYY-MM: the payment the deductions are made from"
    ),
    institution: str = typer.Option(None, "--institution", help="只扣此机构（默认全部）"),
    as_user: str = typer.Option(None, "--as", help="操作人员的用户名（默认 yibao audit deduct）"),
) -> None:
    """扣款 for a month: every upheld suspicion not yet deducted, posted to the ledger (run again: nothing)."""
    from yibao.money import fmt_fen
    from yibao.store.db import unit_of_work
    from yibao.supervision import suspicion_states as st
    from yibao.supervision.service import suspicions as service

    with unit_of_work() as s:
        staff = _staff(s, as_user) if as_user else st.Staff(DEDUCT_ACTOR, frozenset({st.REVIEW}))
        done = service.deduct_month(s, month, staff=staff, now=datetime.now(), fixmedins_code=institution)
    if not done.done:
        console.print(f"{done.month} 没有待扣款的疑点")
        return
    t = Table(title=f"{done.month} 审核扣款：{len(done.done)} 项，{fmt_fen(done.amount_fen)} 元")
    for col in ("定点机构", "疑点数", "扣款（元）"):
        t.add_column(col)
    for code, (n, fen) in sorted(done.by_institution.items()):
        t.add_row(code, str(n), fmt_fen(fen))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(suspicions_app, name="suspicions")
