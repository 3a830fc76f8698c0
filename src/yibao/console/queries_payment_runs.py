"""Read models of the 付费结算 pages (查询): a year's month runs and clearing (月度预结算、年度清算) — their versions,
hospital lines and the clearing's point values — and what the other payment reads share: the names codes are
shown by (:func:`words`: pools and per-diem categories from the payment policy, methods from
:data:`yibao.payment.period.METHOD_NAMES`, DRG groups from the rule pack, DIP 病种 from the region's catalogue),
the period's label and its current run (:func:`posted`). Amounts are exact ``Decimal`` yuan, ratios kept ×10⁴
in the store exact ``Decimal`` with four places. Budgets, a hospital's statement and the indicators are
``queries_payment_budgets``, ``queries_payment_statement`` and ``queries_payment_indicators``; :func:`exports`
lists what of them a background job exports, :func:`run_period` is the work of the job that runs a period.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_decimal, parse_amount
from yibao.payment.period import DIP, DRG, METHOD_NAMES, PERDIEM
from yibao.store.payment_runs import POSTED, current_run, run_lines
from yibao.store.tables import Institution, PaymentBudget, PaymentLine, PaymentRun

MONTH, CLEAR = "month", "clear"
POOLS = {"310": "职工", "390": "居民"}  # (the policy's own names win: :func:`words`)
RUN_STATUS = {POSTED: "已过账", "superseded": "已被取代"}
BOUNDS = {"floor": "触及下限", "ceiling": "触及上限"}
ADJUSTMENTS = {"payment_ratio_cap": "支付率封顶", "risk_sharing": "风险分担", "performance": "考核扣减"}
PV_UNITS = {DIP: "元/点", DRG: "元/权重"}  # a DIP point value, a DRG rate (费率)


def period_label(year: int, month: int) -> str:
    """``2025 年 3 月月度预结算`` or ``2025 年度清算`` (month 0)."""
    return f"{year} 年 {month} 月月度预结算" if month else f"{year} 年度清算"


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else fen_to_decimal(int(fen))


def _ratio4(value: int | None) -> Decimal | None:
    """A ×10⁴ integer as an exact decimal with four places (-1: none)."""
    return None if value is None or value < 0 else Decimal(int(value)).scaleb(-4)


def _figure_fen(text: str | None) -> int | None:
    """A stored two-decimal yuan string (a budget's or a clearing's figure) as fen."""
    return None if text in (None, "") else int(parse_amount(text))


def years(s: Session) -> list[int]:
    """The years with a budget or a run, latest first."""
    found = set(s.scalars(select(PaymentBudget.year).distinct())) | set(
        s.scalars(select(PaymentRun.year).distinct())
    )
    return sorted(found, reverse=True)


def default_year(s: Session) -> int:
    return next(iter(years(s)), date.today().year)


def institution_names(s: Session, codes=None) -> dict[str, str]:
    q = select(Institution.fixmedins_code, Institution.fixmedins_name)
    if codes is not None:
        q = q.where(Institution.fixmedins_code.in_(sorted(set(codes))))
    return dict(s.execute(q).all())


# --- names of codes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The names a run's codes are shown by."""

    pools: dict[str, str]
    perdiem: dict[str, str]
    drg: dict[str, str]
    dip: dict[str, str]

    def pool(self, code: str) -> str:
        return self.pools.get(code, POOLS.get(code, code))

    def group(self, method: str, code: str | None) -> tuple[str, str]:
        """(the code as shown, its name): a per-diem category by its name only."""
        if not code:
            return "", ""
        if method == PERDIEM:
            return self.perdiem.get(code, code), ""
        return code, self.drg.get(code) or self.dip.get(code) or ""


def _region_dir() -> Path:
    from yibao.config import get_settings

    settings = get_settings()
    return Path(settings.regions_dir) / settings.region


@lru_cache(maxsize=4)
def _words(region_dir: Path, year: int, drg_scheme: str) -> Words:
    from yibao.console.queries_payment import scheme_names
    from yibao.payment.dip_catalogue import load_dip_catalogue
    from yibao.payment.drg_tables import RulePackError
    from yibao.payment.policy_view import PolicyView

    pools: dict[str, str] = {}
    perdiem: dict[str, str] = {}
    try:
        policy = PolicyView.on(region_dir, date(year, 1, 1)).policy
        pools = {code: p.name for code, p in policy.pools.items()}
        perdiem = {code: c.name for code, c in policy.perdiem.categories.items()}
    except (YibaoError, OSError):
        pass  # (no policy for the year: codes shown as themselves)
    try:
        dip = {r.dip_code: r.name for r in load_dip_catalogue(region_dir / "payment", region_dir.name).rows}
    except (RulePackError, OSError):
        dip = {}
    return Words(pools, perdiem, scheme_names(drg_scheme)[2], dip)


def words(year: int, run: PaymentRun | None = None) -> Words:
    """The names for ``year`` (the DRG scheme the run used, else CHS-DRG 1.1)."""
    packs = (run.summary or {}).get("packs", {}) if run is not None else {}
    scheme = next((k for k in packs if not k.startswith("dip:")), "chs-drg-1.1")
    return _words(_region_dir(), year, scheme)


# --- 月度预结算与清算 -------------------------------------------------------------------------------------------

RUN_COLUMNS = [
    ("period", "期间"),
    ("version", "版本"),
    ("status", "状态"),
    ("cases", "病例数"),
    ("entitlement", "核定金额"),
    ("personal", "个人负担"),
    ("owed", "应付"),
    ("paid", "拨付/清算"),
    ("deposit", "质量保证金"),
    ("created_at", "计算时间"),
    ("created_by", "操作人"),
]
RUN_MONEY = ("entitlement", "personal", "owed", "paid", "deposit")


def run_rows(s: Session, year: int) -> list[dict]:
    """Every run of the year, months first then the clearing, the latest version first; with its lines' sums
    (a clearing's 质量保证金 is the deposits the months withheld)."""
    sums = {
        run_id: rest
        for run_id, *rest in s.execute(
            select(
                PaymentLine.run_id,
                func.sum(PaymentLine.cases),
                func.sum(PaymentLine.entitlement_fen),
                func.sum(PaymentLine.personal_fen),
                func.sum(PaymentLine.owed_fen),
                func.sum(PaymentLine.paid_fen),
                func.sum(PaymentLine.deposit_fen + PaymentLine.deposit_withheld_fen),
            )
            .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
            .where(PaymentRun.year == year)
            .group_by(PaymentLine.run_id)
        )
    }
    runs = s.scalars(
        select(PaymentRun)
        .where(PaymentRun.year == year)
        .order_by(PaymentRun.kind.desc(), PaymentRun.month, PaymentRun.version.desc())
    )
    out = []
    for r in runs:
        cases, ent, personal, owed, paid, deposit = sums.get(r.id, (0, 0, 0, 0, 0, 0))
        out.append(
            {
                "id": r.id,
                "kind": r.kind,
                "month": r.month,
                "period": f"{r.month} 月" if r.kind == MONTH else "年度清算",
                "version": f"第 {r.version} 版",
                "status": RUN_STATUS.get(r.status, r.status),
                "posted": r.status == POSTED,
                "cases": int(cases or 0),
                "entitlement": _yuan(ent or 0),
                "personal": _yuan(personal or 0),
                "owed": _yuan(owed or 0),
                "paid": _yuan(paid or 0),
                "deposit": _yuan(deposit or 0),
                "created_at": r.created_at,
                "created_by": r.created_by,
            }
        )
    return out


def posted(s: Session, year: int, month: int) -> PaymentRun | None:
    """The period's current run (month 0: the clearing)."""
    return current_run(s, MONTH if month else CLEAR, year, month)


def _adjustment_text(adjustments: dict) -> str:
    from yibao.console.display import yuan

    return "；".join(f"{ADJUSTMENTS.get(k, k)} {yuan(v)}" for k, v in sorted(adjustments.items()) if v)


def line_rows(s: Session, run: PaymentRun, fixmedins_code: str | None = None) -> list[dict]:
    """The run's hospital lines (one hospital's with ``fixmedins_code``), named, amounts in yuan."""
    w = words(run.year, run)
    lines = [ln for ln in run_lines(s, run.id) if fixmedins_code in (None, ln.fixmedins_code)]
    names = institution_names(s, [ln.fixmedins_code for ln in lines])
    out = []
    for ln in lines:
        adjustments = (ln.detail or {}).get("adjustments") or {}
        out.append(
            {
                "id": ln.id,
                "fixmedins_code": ln.fixmedins_code,
                "fixmedins_name": names.get(ln.fixmedins_code, ln.fixmedins_code),
                "pool": w.pool(ln.pool),
                "method": METHOD_NAMES.get(ln.method, ln.method),
                "cases": ln.cases,
                "points": _ratio4(ln.points4),
                "pv": ln.pv if ln.method in (DIP, DRG) else "",
                "entitlement": _yuan(ln.entitlement_fen),
                "personal": _yuan(ln.personal_fen),
                "cost": _yuan(ln.cost_fen),
                "fund_ffs": _yuan(ln.fund_ffs_fen),
                "owed": _yuan(ln.owed_fen),
                "paid": _yuan(ln.paid_fen),
                "deposit": _yuan(ln.deposit_fen),
                "pre_settled": _yuan(ln.pre_settled_fen),
                "deposit_withheld": _yuan(ln.deposit_withheld_fen),
                "adjustments": _yuan(ln.adjustments_fen),
                "adjustment_detail": _adjustment_text(adjustments),
            }
        )
    return out


MONTH_LINE_COLUMNS = [
    ("fixmedins_name", "机构"),
    ("pool", "基金池"),
    ("method", "支付方式"),
    ("cases", "病例数"),
    ("points", "点数"),
    ("pv", "点值/费率"),
    ("entitlement", "核定金额"),
    ("personal", "个人负担"),
    ("cost", "医疗费总额"),
    ("owed", "应付"),
    ("paid", "本月拨付"),
    ("deposit", "质量保证金"),
]
CLEAR_LINE_COLUMNS = [
    ("fixmedins_name", "机构"),
    ("pool", "基金池"),
    ("method", "支付方式"),
    ("cases", "病例数"),
    ("points", "点数"),
    ("pv", "结算点值/费率"),
    ("entitlement", "核定金额"),
    ("personal", "个人负担"),
    ("pre_settled", "已预结算"),
    ("deposit_withheld", "已预留质量保证金"),
    ("adjustments", "调整"),
    ("adjustment_detail", "调整明细"),
    ("paid", "清算"),
]
LINE_MONEY = (
    "entitlement",
    "personal",
    "cost",
    "fund_ffs",
    "owed",
    "paid",
    "deposit",
    "pre_settled",
    "deposit_withheld",
    "adjustments",
)
RATIOS = ("r", "weight", "coef", "points")  # four places

POOL_COLUMNS = [
    ("pool", "基金池"),
    ("scheme", "支付方式"),
    ("budget", "基金预算"),
    ("total_cost_budget", "总费用预算"),
    ("outside_points", "点数以外支付"),
    ("total_points", "总点数"),
    ("pv_budget", "预算点值/费率"),
    ("pv_exact", "测算点值（未取整）"),
    ("pv_settle", "结算点值/费率"),
    ("change", "结算 ÷ 预算"),
    ("bound", "上下限"),
    ("entitlements", "核定合计"),
]
POOL_MONEY = ("budget", "total_cost_budget", "outside_points", "entitlements")


def clearing_pools(run: PaymentRun) -> list[dict]:
    """The clearing's point value of each pool and scheme: the budget PV against the settlement PV and
    whether the floor or the ceiling held it (from the run's report)."""
    w = words(run.year, run)
    out = []
    for p in (run.summary or {}).get("pools", []):
        pv_budget, pv_settle = Decimal(p["pv_budget"]), Decimal(p["pv_settle"])
        out.append(
            {
                "pool": w.pool(p["pool"]),
                "scheme": METHOD_NAMES.get(p["scheme"], p["scheme"]),
                "budget": _yuan(_figure_fen(p["budget"])),
                "total_cost_budget": _yuan(_figure_fen(p["total_cost_budget"])),
                "outside_points": _yuan(_figure_fen(p["outside_points"])),
                "total_points": Decimal(p["total_points"]),
                "pv_budget": f"{pv_budget:,} {PV_UNITS.get(p['scheme'], '元')}",
                "pv_exact": "" if p.get("pv_exact") is None else f"{Decimal(p['pv_exact']):,}",
                "pv_settle": f"{pv_settle:,} {PV_UNITS.get(p['scheme'], '元')}",
                "change": Fraction(pv_settle) / Fraction(pv_budget) if pv_budget else None,
                "bound": BOUNDS.get(p.get("pv_bound") or "", "未触及"),
                "entitlements": _yuan(_figure_fen(p["entitlements"])),
            }
        )
    return out


def exports() -> dict:
    """The lists a background job exports (``export.export_lists``): a statement, the indicator tables."""
    from yibao.console import queries_payment_indicators as qi
    from yibao.console import queries_payment_statement as qs
    from yibao.console.export import ExportList

    return {
        "payment_statement": ExportList(
            "机构结算单",
            "payment-statement.xlsx",
            qs.STATEMENT_COLUMNS,
            qs.statement_export_count,
            qs.statement_export_rows,
        ),
        "payment_indicators": ExportList(
            "付费指标（按医院）",
            "payment-indicators.xlsx",
            qi.indicator_excel_columns(qi.HOSPITAL),
            qi.indicator_count,
            qi.indicator_rows_for_excel,
        ),
        "payment_indicators_month": ExportList(
            "付费指标（按月份）",
            "payment-indicators-month.xlsx",
            qi.indicator_excel_columns(qi.BY_MONTH),
            qi.indicator_count,
            qi.indicator_rows_for_excel,
        ),
    }


# --- running a period (the work of a background job) -------------------------------------------------------------


def run_period(progress, *, year: int, month: int, rerun: bool, actor: str, path: str) -> tuple[Path, str]:
    """(In the job's own process) run ``year``-``month`` (0: the clearing) in one transaction; a refusal — the
    period already posted (another run got there first), no budget — is the job's one-line failure. Writes
    the run's summary to ``path``."""
    from yibao.payment.service.clearing import run_clearing
    from yibao.payment.service.month import run_month
    from yibao.store.db import unit_of_work
    from yibao.store.payment_runs import RunExists

    def counted(n: int, _total: int = 0) -> None:
        progress(n)

    region_dir, now = _region_dir(), datetime.now()
    try:
        with unit_of_work() as s:
            if month:
                run = run_month(
                    s, region_dir, year, month, actor=actor, now=now, rerun=rerun, progress=counted
                )
            else:
                run = run_clearing(s, region_dir, year, actor=actor, now=now, rerun=rerun, progress=counted)
            report = {"run": run.id, "version": run.version, "year": year, "month": month}
    except RunExists as exc:
        _, version, at = exc.args
        raise InputError(
            f"{period_label(year, month)}已过账（第 {version} 版，{at:%Y-%m-%d %H:%M}），请确认后重新计算"
        ) from None
    Path(path).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return Path(path), Path(path).name
