"""``yibao providers``: designated providers (定点医药机构) from the command line — the list by status on a day,
one institution's agreements and designation, what settlement would say on a day, expiry, and staff's
suspension, resumption and termination (the application → evaluation → signing path is the REST API's and
the console's).

::

    yibao providers list --status suspended --on 2025-03-02
    yibao providers show H99010200001
    yibao providers status H99010200001 --on 2025-03-02 --med-type 14
    yibao providers expire --on 2026-01-01
    yibao providers suspend H99010200001 --from 2025-03-01 --months 2 --reason "串换药品"
    yibao providers resume H99010200001 --on 2025-03-20 --reason "整改到位"
    yibao providers terminate H99010200001 --on 2025-06-01 --by sanction --red-line R02 --reason "…"
"""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError, quote

providers_app = typer.Typer(
    help="定点医药机构 (designated providers): list, show, status on a day, expire, suspend, resume, terminate.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ON_DAY = {"active": "正常", "suspended": "中止", "none": "无协议"}


def _day(value: str | None, option: str) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: 日期格式应为 YYYY-MM-DD（{quote(value)}）") from None


def _actor(s, username: str | None) -> str:
    if username is None:
        return "cli"
    from yibao.store.tables import StaffUser

    user = s.get(StaffUser, username)
    if user is None or not user.active:
        raise InputError(f"--as: 没有启用的工作人员 {quote(username)}")
    return user.username


@providers_app.command("list")
def list_cmd(
    status: str = typer.Option(None, "--status", help="active | suspended | none (on the day)"),
    on: str = typer.Option(None, "--on", help="日期 YYYY-MM-DD（默认今天）"),
    admdvs: str = typer.Option(None, "--admdvs", help="医保区划 (a city's takes its districts')"),
) -> None:
    """定点医药机构 with what their designation says on a day."""
    from yibao.store import providers as store
    from yibao.store.db import unit_of_work

    if status is not None and status not in ON_DAY:
        raise InputError(f"--status: 应为 {' / '.join(ON_DAY)} 之一")
    day = _day(on, "--on")
    with unit_of_work(write=False) as s:
        rows = store.listed_on(s, day, status, admdvs)
    table = Table(title=f"定点医药机构 {day}（{len(rows)} 家）")
    for col in ("编号", "名称", "类型", "当日", "起", "止", "医疗类别 / 原因"):
        table.add_column(col)
    for r in rows:
        detail = (
            r.reason if r.on_day == "suspended" else (r.med_types or ("全部" if r.on_day == "active" else ""))
        )
        table.add_row(r.fixmedins_code, r.fixmedins_name, r.fixmedins_type, ON_DAY[r.on_day],
                      str(r.begndate or ""), str(r.enddate or ""), detail)  # fmt: skip
    console.print(table)


@providers_app.command("show")
def show_cmd(code: str = typer.Argument(..., help="定点医药机构编号")) -> None:
    """One institution: its agreements, designation intervals, status history and measures."""
    from yibao.store import providers as store
    from yibao.store.db import unit_of_work
    from yibao.store.tables import Institution

    with unit_of_work(write=False) as s:
        inst = s.get(Institution, code)
        if inst is None:
            raise InputError(f"fixmedins_code: 定点医药机构不存在 {quote(code)}")
        console.print(f"{inst.fixmedins_code} {inst.fixmedins_name}  状态 {inst.status}  区划 {inst.admdvs}")
        table = Table(title="医保服务协议")
        for col in ("协议编号", "类型", "起", "止", "状态", "服务类别", "文本", "SHA-256"):
            table.add_column(col)
        for a in store.agreements_of(s, code):
            table.add_row(a.agreement_no, a.kind, str(a.begndate), str(a.enddate or "长期"), a.status,
                          " ".join(a.services), f"{a.template_code} {a.template_version}",
                          (a.document_sha256 or "")[:16])  # fmt: skip
        console.print(table)
        table = Table(title="定点区间 (designation)")
        for col in ("起", "止", "状态", "医疗类别", "原因"):
            table.add_column(col)
        for d in store.designation_of(s, code):
            table.add_row(str(d.begndate), str(d.enddate or ""), d.status, d.med_types or "全部", d.reason)
        console.print(table)
        for ev in store.events_of(s, code):
            console.print(f"{ev.at:%Y-%m-%d %H:%M} {ev.from_status or '-'} → {ev.to_status} ({ev.measure}) "
                          f"{ev.begndate}–{ev.enddate or ''} {ev.reason} {ev.red_line or ''}")  # fmt: skip
        for m in store.measures_of(s, code):
            console.print(f"{m.decided_on} {m.name} {m.reason} {m.deadline or ''}")


@providers_app.command("status")
def status_cmd(
    code: str = typer.Argument(..., help="定点医药机构编号"),
    on: str = typer.Option(None, "--on", help="就诊日期 YYYY-MM-DD（默认今天）"),
    med_type: str = typer.Option(None, "--med-type", help="医疗类别 (e.g. 11, 14, 21)"),
) -> None:
    """What settlement would say for a visit of the institution on the day: 可以结算, or the refusal."""
    from yibao.settlement.service import check_agreement
    from yibao.store import providers as store
    from yibao.store.db import unit_of_work
    from yibao.store.tables import Institution

    day = _day(on, "--on")
    with unit_of_work(write=False) as s:
        if s.get(Institution, code) is None:
            raise InputError(f"fixmedins_code: 定点医药机构不存在 {quote(code)}")
        rows = store.designation_of(s, code)
    check_agreement(rows, code, day, med_type)  # (a refusal is the command's error)
    console.print(f"定点医药机构 {code} 在 {day} 可以结算" + (f"（医疗类别 {med_type}）" if med_type else ""))


@providers_app.command("expire")
def expire_cmd(on: str = typer.Option(None, "--on", help="日期 YYYY-MM-DD（默认今天）")) -> None:
    """到期: every agreement whose term ended before the day is expired."""
    from yibao.providers.service import status
    from yibao.store.db import unit_of_work

    day = _day(on, "--on")
    with unit_of_work() as s:
        done = status.expire(s, on=day, actor="yibao providers expire")
    console.print(f"到期终止 {len(done)} 份协议" + (f"：{'、'.join(done)}" if done else ""))


@providers_app.command("suspend")
def suspend_cmd(
    code: str = typer.Argument(..., help="定点医药机构编号"),
    begin: str = typer.Option(..., "--from", help="中止起始日 YYYY-MM-DD"),
    months: int = typer.Option(None, "--months", help="中止月数 (a sanction: 1, 2, 4 or 6)"),
    until: str = typer.Option(None, "--until", help="中止止日 YYYY-MM-DD"),
    reason: str = typer.Option(..., "--reason", help="中止原因"),
    by: str = typer.Option("sanction", "--by", help="sanction | application | staff"),
    red_line: str = typer.Option(None, "--red-line", help="违约情形编号"),
    as_user: str = typer.Option(None, "--as", help="经办人员的用户名"),
) -> None:
    """中止 an institution's agreement."""
    from yibao.providers.service import status
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        ev = status.suspend(s, code, begndate=_day(begin, "--from"), months=months,
                            enddate=_day(until, "--until") if until else None, by=by, reason=reason,
                            red_line=red_line, actor=_actor(s, as_user))  # fmt: skip
    console.print(f"定点医药机构 {code} 中止 {ev.begndate} 至 {ev.enddate or '恢复之日'}")


@providers_app.command("resume")
def resume_cmd(
    code: str = typer.Argument(..., help="定点医药机构编号"),
    on: str = typer.Option(None, "--on", help="恢复日期 YYYY-MM-DD（默认今天）"),
    reason: str = typer.Option(..., "--reason", help="恢复原因"),
    as_user: str = typer.Option(None, "--as", help="经办人员的用户名"),
) -> None:
    """恢复 an institution's suspended agreement."""
    from yibao.providers.service import status
    from yibao.store.db import unit_of_work

    with unit_of_work() as s:
        status.resume(s, code, day=_day(on, "--on"), reason=reason, actor=_actor(s, as_user))
    console.print(f"定点医药机构 {code} 自 {_day(on, '--on')} 恢复")


@providers_app.command("terminate")
def terminate_cmd(
    code: str = typer.Argument(..., help="定点医药机构编号"),
    on: str = typer.Option(..., "--on", help="解除日期 YYYY-MM-DD (the first day not covered)"),
    reason: str = typer.Option(..., "--reason", help="解除原因"),
    by: str = typer.Option("staff", "--by", help="sanction | application | staff"),
    red_line: str = typer.Option(None, "--red-line", help="解除情形（红线）编号 (required by sanction)"),
    as_user: str = typer.Option(None, "--as", help="经办人员的用户名"),
) -> None:
    """解除 an institution's agreement."""
    from yibao.providers.service import status
    from yibao.store.db import unit_of_work

    day = _day(on, "--on")
    with unit_of_work() as s:
        status.terminate(s, code, day=day, by=by, reason=reason, red_line=red_line, actor=_actor(s, as_user))
    console.print(f"定点医药机构 {code} 自 {day} 解除协议")


@providers_app.command("exit-statement")
def exit_statement_cmd(code: str = typer.Argument(..., help="定点医药机构编号")) -> None:
    """退出清算: what an institution that left still has outstanding (visits, fund balances, registrations)."""
    from yibao.providers.service import exits
    from yibao.store.db import unit_of_work

    with unit_of_work(write=False) as s:
        st = exits.statement(s, code)
    console.print(f"{st['fixmedins_code']} {st['fixmedins_name']} 自 {st['exit_date']} 退出 {st['reason']}")
    visits = st["unfinished_visits"]
    console.print(f"退出日前开始、尚未结算的就诊 {len(visits)} 笔（仍可结算）")
    for v in visits[:20]:
        console.print(f"  {v['mdtrt_id']} {v['psn_no']} {v['med_type']} {v['begntime']} {v['status_name']}")
    since = st["settled_since_exit"]
    console.print(f"退出日起的结算 {since['count']} 笔，基金支付 {since['fund_pay_sumamt']} 元")
    for b in st["balances"]:
        console.print(f"  {b['account_name']} {b['fund_pay_type']} {b['owed']} 元")
    console.print(f"基金尚欠 {st['owed_total']} 元（{exits.OWED_NOTE}）")
    console.print(f"未注销的医保医师备案 {st['registrations_standing']} 人")
    console.print("已清结" if st["settled"] else "未清结")


def register(app: typer.Typer) -> None:
    app.add_typer(providers_app, name="providers")


from yibao.commands import providers_assess  # noqa: E402  (年度考核: its own module, registered here)

providers_assess.register(providers_app)
