"""月度预结算: a month's discharges grouped, priced and valued at the budget point value or rate; each
hospital paid ``payout_ratio`` of what the fund owes and the rest withheld as the quality deposit; the run,
its cases, lines and balanced ledger entries written in one transaction (payment-drg-dip.md §3.7 step 2,
§3.8). Capitation months are paid in the same run (§6)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from yibao.errors import InputError
from yibao.funds.case_payment import month_postings
from yibao.payment import period as pp
from yibao.payment.capitation import capitation_budget, installments
from yibao.payment.clearing import month_line
from yibao.payment.grouping import Groupers, MissingScheme
from yibao.payment.period_pricing import price
from yibao.payment.policy_view import PolicyView
from yibao.payment.run_rows import case_rows, digest, fund_split, line_detail
from yibao.store import payment_budgets, payment_cases, payment_runs
from yibao.store.payment_runs import NewLine

Progress = Callable[[int, int], None]

# Test hook, read here only: with YIBAO_TEST_PAUSE_AFTER_WRITE=<file>, a month run that has written its rows
# and ledger entries, not yet committed, writes its run id to <file> and sleeps, so that
# tests/e2e/test_payment_kill9.py can kill -9 it mid-transaction. Never set outside that test.
PAUSE_AFTER_WRITE = "YIBAO_TEST_PAUSE_AFTER_WRITE"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise InputError(f"--month: {month} 不是 1–12 的月份")
    return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)


def priced_period(
    s: Session, view: PolicyView, norms, start: date, end: date, groupers: Groupers, progress: Progress | None
):
    """The period's settled cases, as pricing sees them, their groupings and schemes, and their prices (in
    one order)."""
    cases, settled, groupings, schemes = [], [], [], []
    for sc in payment_cases.settled_cases(s, start, end):
        scheme = view.scheme_of(sc.fixmedins_code, sc.level)
        try:
            g = groupers.group(sc.case, scheme, sc.dscg_date) if scheme in (pp.DRG, pp.DIP) else None
        except MissingScheme as exc:
            raise InputError(str(exc)) from None
        settled.append(sc)
        cases.append(view.case(sc))
        groupings.append(g)
        schemes.append(scheme)
        if progress and len(cases) % 500 == 0:
            progress(len(cases), 0)
    priced = price(cases, groupings, schemes, norms, view)
    return settled, cases, groupings, schemes, priced


def run_month(
    s: Session,
    region_dir: Path,
    year: int,
    month: int,
    *,
    actor: str,
    now: datetime,
    rerun: bool = False,
    progress: Progress | None = None,
):
    """Price and post ``year``-``month``; the written :class:`PaymentRun`."""
    start, end = month_bounds(year, month)
    cleared = payment_runs.current_run(s, "clear", year)
    if cleared is not None:  # the clearing was built on the months as they stand: it would go stale
        raise InputError(
            f"{year} 年已清算 (第 {cleared.version} 版): 月度预结算不能再改; 如需更正, 请重跑清算 (clear --rerun)"
        )
    view = PolicyView.on(region_dir, start)
    norms = payment_budgets.norms_of_year(s, year)
    if not norms:
        raise InputError(f"{year} 年尚未编制预算: 先运行 yibao payment budget --year {year}")
    groupers = Groupers(region_dir)
    settled, cases, _, _, priced = priced_period(s, view, norms, start, end, groupers, progress)
    lines = pp.hospital_lines(cases, priced)
    funds = fund_split(settled, cases, priced)
    new_lines: list[NewLine] = []
    for ln in lines:
        pv = view.line_pv(ln, norms)
        ent = pp.entitlement(ln, pv)
        m = month_line(ent, ln.personal_fen, view.payout_ratio)
        f = funds[(ln.fixmedins_code, ln.pool, ln.method)]
        row = line_row(ln, str(pv), ent, m, detail=line_detail(f))
        legs = month_postings(ln.fixmedins_code, view.pool_fund(ln.pool), f, m.owed, m.paid, m.deposit)
        new_lines.append(NewLine(row, legs))
    new_lines += capitation_lines(s, view, start, end, month)
    summary = run_summary(view, norms, new_lines, groupers)
    run = payment_runs.write_run(
        s,
        kind="month",
        year=year,
        month=month,
        run={
            "policy_version": view.version,
            "params_hash": view.params_hash(norms, groupers.used),
            "snapshot_hash": digest(settled),
            "summary": summary,
        },
        cases=case_rows(settled, priced, norms, view),
        lines=new_lines,
        actor=actor,
        now=now,
        rerun=rerun,
    )
    if flag := os.environ.get(PAUSE_AFTER_WRITE):
        Path(flag).write_text(str(run.id), encoding="utf-8")
        time.sleep(300)
    return run


def line_row(ln: pp.Line, pv: str, entitlement: int, m, *, detail: dict) -> dict:
    return {
        "fixmedins_code": ln.fixmedins_code,
        "pool": ln.pool,
        "method": ln.method,
        "cases": ln.cases,
        "points4": ln.points4,
        "pv": pv,
        "entitlement_fen": entitlement,
        "personal_fen": ln.personal_fen,
        "cost_fen": ln.cost_fen,
        "fund_ffs_fen": ln.fund_fen,
        "owed_fen": m.owed,
        "paid_fen": m.paid,
        "deposit_fen": m.deposit,
        "detail": detail,
    }


def capitation_lines(s: Session, view: PolicyView, start: date, end: date, month: int) -> list[NewLine]:
    """Each capitation contract's installment of the month (按人头, §6): the year's budget in twelve parts;
    the as-charged fund payments of the contracted visits taken back."""
    out: list[NewLine] = []
    visits = payment_cases.capitated_visits(
        s,
        start,
        end,
        view.capitation_med_types,
        view.pool_of_insutype,
        [k.fixmedins_code for k in view.capitation_contracts],
    )
    for contract in view.capitation_contracts:
        budget = capitation_budget(
            contract.enrolled, view.capitation_amount, view.capitation_risk_factor, view.capitation_reserve
        )
        owed = installments(budget)[month - 1]
        got = visits.get((contract.fixmedins_code, contract.pool))
        cost, personal, fund, split = got if got else (0, 0, 0, ())
        m = month_line(owed, 0, view.payout_ratio)
        ln = pp.Line(contract.fixmedins_code, contract.pool, pp.CAPITATION, 0, 0, owed, cost, personal, fund)
        detail = line_detail(split) | {"budget_fen": budget, "enrolled": contract.enrolled}
        row = line_row(ln, "0", owed, m, detail=detail)
        legs = month_postings(ln.fixmedins_code, view.pool_fund(ln.pool), split, m.owed, m.paid, m.deposit)
        out.append(NewLine(row, legs))
    return out


def run_summary(view: PolicyView, norms, lines: list[NewLine], groupers: Groupers) -> dict:
    totals = {
        k: sum(ln.row[f"{k}_fen"] for ln in lines)
        for k in ("entitlement", "personal", "owed", "paid", "deposit")
    }
    return {
        "policy": view.version,
        "packs": groupers.used,
        "pv": {f"{pool}:{scheme}": str(n.pv) for (pool, scheme), n in sorted(norms.items())},
        "totals": {k: v for k, v in totals.items()},
        "cases": sum(ln.row["cases"] for ln in lines),
    }
