"""年度清算: the year's cases frozen and priced again (final group averages where the policy says so, approved
special reviews added), the settlement point value of each pool and scheme, each hospital line cleared
against what the months paid, and the balances posted — one transaction (payment-drg-dip.md §3.7–§3.8, §5)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from yibao.errors import InputError
from yibao.funds.case_payment import clearing_postings
from yibao.money import fmt_fen
from yibao.payment import period as pp
from yibao.payment.capitation import capitation_budget
from yibao.payment.grouping import Groupers
from yibao.payment.period_pricing import price
from yibao.payment.pointvalue import round_pv
from yibao.payment.policy_view import PolicyView
from yibao.payment.run_rows import case_rows, digest, fund_split
from yibao.payment.service.month import priced_period
from yibao.payment.year_end import MonthsPaid, PoolValue, clear_line, settle_value
from yibao.store import payment_budgets, payment_cases, payment_runs, special_reviews
from yibao.store.payment_runs import NewLine

Progress = Callable[[int, int], None]


def with_reviews(settled, priced: list[pp.Priced], approved) -> list[pp.Priced]:
    """Approved special reviews (特例单议) added: extra points, or the case paid as charged at the approved
    amount instead of its points."""
    by_setl = {a.setl_id: a for a in approved}
    out = []
    for sc, p in zip(settled, priced, strict=True):
        a = by_setl.get(sc.setl_id)
        if a is None or p.method not in (pp.DIP, pp.DRG):
            out.append(p)
        elif a.ffs_fen is not None:
            out.append(p._replace(points4=0, extra_fen=a.ffs_fen, note="特例单议: 按项目付费"))
        else:
            out.append(p._replace(points4=p.points4 + a.extra_points4, note="特例单议: 追加点数"))
    return out


def current_means(cases, priced: list[pp.Priced]) -> dict[tuple[str, str], dict[tuple[str, int], int]]:
    """The year's own mean cost per (pool, scheme) × (group, level) and (group, 0) — the final averages the
    deviation classes are recomputed with when the policy says ``deviation_base: current_year``."""
    sums: dict[tuple, list[int]] = {}
    for c, p in zip(cases, priced, strict=True):
        if p.method in (pp.DIP, pp.DRG):
            for level in (c.level, 0):
                acc = sums.setdefault((c.pool, p.method, p.group_code, level), [0, 0])
                acc[0] += c.cost_fen
                acc[1] += 1
    out: dict[tuple[str, str], dict] = {}
    for (pool, method, group, level), (cost, n) in sums.items():
        out.setdefault((pool, method), {})[(group, level)] = (2 * cost + n) // (2 * n)
    return out


def run_clearing(
    s: Session,
    region_dir: Path,
    year: int,
    *,
    actor: str,
    now: datetime,
    scores: Mapping[str, Decimal] | None = None,
    rerun: bool = False,
    progress: Progress | None = None,
):
    """Clear ``year`` and post it; the written :class:`PaymentRun` (its summary holds the JSON report)."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    view = PolicyView.on(region_dir, start)
    norms = payment_budgets.norms_of_year(s, year)
    if not norms:
        raise InputError(f"{year} 年尚未编制预算: 先运行 yibao payment budget --year {year}")
    groupers = Groupers(region_dir)
    settled, cases, groupings, schemes, priced = priced_period(s, view, norms, start, end, groupers, progress)
    if view.deviation_base == "current_year":  # the final averages of the year itself (§3.8)
        finals = current_means(cases, priced)
        norms = {k: replace(n, means=finals.get(k, n.means)) for k, n in norms.items()}
        priced = price(cases, groupings, schemes, norms, view)
    priced = with_reviews(settled, priced, special_reviews.approved_for_year(s, year))
    lines = pp.hospital_lines(cases, priced)
    budgets = {(b.pool, b.scheme): b for b in payment_budgets.current_budgets(s, year)}
    values = pool_values(view, norms, budgets, lines)
    months = payment_runs.month_totals(s, year)
    funds = fund_split(settled, cases, priced)
    new_lines = clear_lines(view, values, lines, months, funds, scores or {})
    new_lines += capitation_clearing(s, view, start, end, months, scores or {})
    new_lines += orphan_lines(view, months, {(*k,) for k in (ln_key(n) for n in new_lines)}, scores or {})
    summary = report(values, new_lines, view, groupers)
    return payment_runs.write_run(
        s,
        kind="clear",
        year=year,
        month=0,
        run={
            "policy_version": view.version,
            "params_hash": view.params_hash(norms, groupers.used),
            "snapshot_hash": digest(settled),
            "summary": summary,
        },
        cases=case_rows(
            settled,
            priced,
            {k: replace(n, pv=values[k].pv_settle) if k in values else n for k, n in norms.items()},
            view,
        ),
        lines=new_lines,
        actor=actor,
        now=now,
        rerun=rerun,
    )


def ln_key(n: NewLine) -> tuple[str, str, str]:
    return (n.row["fixmedins_code"], n.row["pool"], n.row["method"])


def pool_values(view: PolicyView, norms, budgets, lines) -> dict[tuple[str, str], PoolValue]:
    """The settlement PV of each pool and point-method scheme (DIP, floating-rate DRG)."""
    out = {}
    for (pool, scheme), n in norms.items():
        if scheme == pp.DRG and view.drg_rate_mode == "fixed":
            continue
        mine = [ln for ln in lines if ln.pool == pool and ln.method == scheme]
        b = budgets[(pool, scheme)]
        pv = view.point_value
        out[(pool, scheme)] = settle_value(
            pool,
            scheme,
            mine,
            b.fund_budget_fen,
            view.fund_share(pool),
            n.pv,
            view.drg.rate_places if scheme == pp.DRG else pv.places,
            pv.floor,
            pv.ceiling,
        )
    return out


def clear_lines(view, values, lines, months, funds, scores) -> list[NewLine]:
    out = []
    for ln in lines:
        key = (ln.fixmedins_code, ln.pool, ln.method)
        value = values.get((ln.pool, ln.method))
        pv = value.pv_settle if value else view.line_pv(ln, {})
        ent = pp.entitlement(ln, pv)
        paid = months.get(key, MonthsPaid())
        cleared = clear_line(
            ln.method,
            ent,
            ln,
            paid,
            ratio_cap=view.payment_ratio_cap,
            risk=view.risk_tiers(ln.method),
            forfeit_ratio=view.forfeit_of(scores.get(ln.fixmedins_code)),
        )
        out.append(cleared_line(view, ln, str(pv), cleared, paid, funds.get(key, [])))
    return out


def cleared_line(view, ln: pp.Line, pv: str, c, paid: MonthsPaid, funds) -> NewLine:
    """The line row and its ledger legs: the as-charged payments no month took back, the rest of the year's
    liability, the deposits released and the balance paid."""
    taken = dict(paid.funds)
    todo = sorted((f, v - taken.get(f, 0)) for f, v in {**{f: 0 for f in taken}, **dict(funds)}.items())
    legs = clearing_postings(
        ln.fixmedins_code,
        view.pool_fund(ln.pool),
        [(f, v) for f, v in todo if v],
        c.owed_year - paid.owed,
        c.deposit_withheld,
        c.clearing,
    )
    row = {
        "fixmedins_code": ln.fixmedins_code,
        "pool": ln.pool,
        "method": ln.method,
        "cases": ln.cases,
        "points4": ln.points4,
        "pv": pv,
        "entitlement_fen": c.entitlement,
        "personal_fen": c.personal,
        "cost_fen": ln.cost_fen,
        "fund_ffs_fen": ln.fund_fen,
        "owed_fen": c.owed_year,
        "paid_fen": c.clearing,
        "deposit_fen": 0,
        "pre_settled_fen": c.pre_settled,
        "deposit_withheld_fen": c.deposit_withheld,
        "adjustments_fen": sum(c.adjustments.values()),
        "detail": {"funds": [[f, v] for f, v in funds], "adjustments": c.adjustments},
    }
    return NewLine(row, legs)


def capitation_clearing(s, view, start, end, months, scores) -> list[NewLine]:
    """Each capitation contract's year: its budget settled against the as-charged fund payments (§6)."""
    visits = payment_cases.capitated_visits(
        s,
        start,
        end,
        view.capitation_med_types,
        view.pool_of_insutype,
        [k.fixmedins_code for k in view.capitation_contracts],
    )
    out = []
    for k in view.capitation_contracts:
        budget = capitation_budget(
            k.enrolled, view.capitation_amount, view.capitation_risk_factor, view.capitation_reserve
        )
        cost, personal, fund, split = visits.get((k.fixmedins_code, k.pool), (0, 0, 0, ()))
        ln = pp.Line(k.fixmedins_code, k.pool, pp.CAPITATION, 0, 0, budget, cost, personal, fund)
        paid = months.get((k.fixmedins_code, k.pool, pp.CAPITATION), MonthsPaid())
        c = clear_line(
            pp.CAPITATION,
            budget,
            ln,
            paid,
            ratio_cap=None,
            risk=view.risk_tiers(pp.CAPITATION),
            forfeit_ratio=view.forfeit_of(scores.get(k.fixmedins_code)),
        )
        out.append(cleared_line(view, ln, "0", c, paid, list(split)))
    return out


def orphan_lines(view, months, seen, scores) -> list[NewLine]:
    """Lines the months paid that the year no longer has (every case of it reversed since): recovered."""
    out = []
    for key, paid in sorted(months.items()):
        if key in seen:
            continue
        code, pool, method = key
        ln = pp.Line(code, pool, method, 0, 0, 0, 0, 0, 0)
        c = clear_line(method, 0, ln, paid, ratio_cap=None, risk=None, forfeit_ratio=Decimal(0))
        out.append(cleared_line(view, ln, "0", c, paid, []))
    return out


def report(values, lines: list[NewLine], view, groupers) -> dict:
    """The clearing as ``yibao payment clear --format json`` prints it (amounts as two-decimal strings)."""
    money = fmt_fen
    pools = []
    for (pool, scheme), v in sorted(values.items()):
        mine = [n.row for n in lines if n.row["pool"] == pool and n.row["method"] == scheme]
        entitled = sum(r["entitlement_fen"] for r in mine)
        pools.append(
            {
                "pool": pool,
                "scheme": scheme,
                "budget": money(v.budget_fen),
                "total_cost_budget": money(v.total_cost_budget_fen),
                "pv_budget": str(v.pv_budget),
                "pv_exact": None if v.pv_exact is None else str(round_pv(v.pv_exact, 8)),
                "pv_settle": str(v.pv_settle),
                "pv_bound": v.bound,
                "total_points": points(v.total_points4),
                "outside_points": money(v.extra_fen),
                "entitlements": money(entitled),
                "rounding_residual": money(v.total_cost_budget_fen - entitled) if v.bound is None else None,
                "hospitals": [hospital(r) for r in mine],
            }
        )
    others = [hospital(n.row) for n in lines if (n.row["pool"], n.row["method"]) not in values]
    totals = {
        k: sum(n.row[f"{k}_fen"] for n in lines)
        for k in ("entitlement", "paid", "pre_settled", "adjustments")
    }
    return {
        "policy": view.version,
        "packs": groupers.used,
        "pools": pools,
        "other_methods": others,
        "totals": {k: money(v) for k, v in totals.items()},
    }


def points(points4: int) -> str:
    sign = "-" if points4 < 0 else ""
    q, r = divmod(abs(points4), 10_000)
    return f"{sign}{q}.{r:04d}"


def hospital(r: dict) -> dict:
    return {
        "fixmedins_code": r["fixmedins_code"],
        "pool": r["pool"],
        "method": r["method"],
        "cases": r["cases"],
        "points": points(r["points4"]),
        "pv": r["pv"],
        "entitlement": fmt_fen(r["entitlement_fen"]),
        "personal_paid": fmt_fen(r["personal_fen"]),
        "pre_settled": fmt_fen(r["pre_settled_fen"]),
        "deposit_withheld": fmt_fen(r["deposit_withheld_fen"]),
        "adjustments": fmt_fen(r["adjustments_fen"]),
        "adjustment_detail": {k: fmt_fen(v) for k, v in r["detail"].get("adjustments", {}).items()},
        "clearing": fmt_fen(r["paid_fen"]),
    }
