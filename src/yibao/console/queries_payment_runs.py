"""Read models of the 付费结算 pages (查询): a year's budgets (预算), its month runs and clearing (月度预结算、年度清算),
a hospital's statement (结算单) and the performance indicators (指标) of its priced cases.

Plain typed dicts for the pages and the exports: amounts are exact ``Decimal`` yuan (the Excel writer shows a
Decimal as money), ratios kept ×10⁴ in the store (RW, DIP scores, coefficients, points, ``r``) are exact
``Decimal`` with four places here and plain numbers in a workbook (:func:`for_excel`), dates ``date``. Codes
are named: pools from the payment policy (职工 / 居民), methods from :data:`yibao.payment.period.METHOD_NAMES`,
DRG groups from the rule pack, DIP 病种 from the region's catalogue, per-diem categories from the policy.

The indicators (:func:`indicators`) read the year's priced cases — the clearing's when the year is cleared,
else the current month runs' — and compute them exactly with :mod:`yibao.payment.indicators`.

:func:`run_period` is the work of the background job that runs a month or the clearing from the console.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_decimal, parse_amount
from yibao.payment import indicators as ind
from yibao.payment.period import DIP, DRG, FFS, METHOD_NAMES, PERDIEM
from yibao.payment.pricing import CLASS_NAMES, NORMAL
from yibao.payment.settlement_list import VALID
from yibao.payment.weights import rounded
from yibao.store.payment_budgets import current_budgets
from yibao.store.payment_runs import POSTED, current_run, run_lines
from yibao.store.tables import (
    Institution,
    PaymentBudget,
    PaymentCase,
    PaymentLine,
    PaymentRun,
    SettlementList,
)

MONTH, CLEAR = "month", "clear"
POOLS = {"310": "职工", "390": "居民"}  # (the policy's own names win: :func:`words`)
COST_CLASSES = {"normal": "正常", "high": "高倍率", "low": "低倍率"}
RUN_STATUS = {POSTED: "已过账", "superseded": "已被取代"}
BOUNDS = {"floor": "触及下限", "ceiling": "触及上限"}
ADJUSTMENTS = {"payment_ratio_cap": "支付率封顶", "risk_sharing": "风险分担", "performance": "考核扣减"}
PV_UNITS = {DIP: "元/点", DRG: "元/权重"}  # a DIP point value, a DRG rate (费率)
SOURCES = {"policy": "支付方式政策设定"}
CLASS_CODES = {name: code for code, name in CLASS_NAMES.items()}


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


# --- 预算 --------------------------------------------------------------------------------------------------------


def budget_rows(s: Session, year: int) -> list[dict]:
    """The year's current budget of each pool and scheme, with its figures in words (the budget's trace)."""
    w = words(year)
    out = []
    for b in current_budgets(s, year):
        f = b.figures or {}
        out.append(
            {
                "id": b.id,
                "pool": w.pool(b.pool),
                "scheme": METHOD_NAMES.get(b.scheme, b.scheme),
                "version": b.version,
                "fund_budget": _yuan(b.fund_budget_fen),
                "total_cost_budget": _yuan(b.total_cost_budget_fen),
                "pv_budget": f"{Decimal(b.pv_budget):,} {PV_UNITS.get(b.scheme, '元')}",
                "groups": f.get("groups", ""),
                "policy_version": b.policy_version,
                "created_at": b.created_at,
                "created_by": b.created_by,
                "figures": budget_figures(b),
            }
        )
    return out


def budget_figures(b: PaymentBudget) -> list[tuple[str, str]]:
    """The budget's trace (§5, §3.7 step 1) as (item, value) in Chinese, amounts in 元."""
    from yibao.console.display import yuan

    f = b.figures or {}

    def money(key: str) -> str:
        fen = _figure_fen(f.get(key))
        return "" if fen is None else f"{yuan(fen)} 元"

    source = f.get("revenue_source", "")
    if source.startswith("ledger "):
        source = f"基金账本 {source.removeprefix('ledger ')} 年收入"
    out = [
        ("上年基金收入", f"{money('revenue_last')}（{SOURCES.get(source, source)}）"),
        ("预计本年收入（× (1 + 增长率)）", money("projected_revenue")),
        ("扣除风险调剂金后", money("after_reserve")),
        ("其他支出", money("other_outlays")),
        ("按病例付费预算（本基金池）", money("case_budget")),
    ]
    for scheme, text in sorted((f.get("scheme_share_cost") or {}).items()):
        fen = _figure_fen(text)
        out.append((f"历史费用（{METHOD_NAMES.get(scheme, scheme)} 医院）", f"{yuan(fen)} 元"))
    out.append((f"本方式基金预算（{METHOD_NAMES.get(b.scheme, b.scheme)}）", f"{yuan(b.fund_budget_fen)} 元"))
    out.append(("总费用预算（÷ 基金支付占比）", f"{yuan(b.total_cost_budget_fen)} 元"))
    for y, h in sorted((f.get("history") or {}).items()):
        out.append(
            (f"{y} 年历史费用与总点数", f"{yuan(_figure_fen(h.get('cost')))} 元，{h.get('points', '')} 点")
        )
    if f.get("forecast_weight"):
        out.append(("预测总权重", str(f["forecast_weight"])))
    if f.get("forecast_rate"):
        out.append(("按预测权重的费率", f"{Decimal(f['forecast_rate']):,} 元/权重"))
    unit = PV_UNITS.get(b.scheme, "元")
    what = (
        "预算费率（加权历史费用 ÷ 加权历史权重）"
        if b.scheme == DRG
        else "预算点值（加权历史费用 ÷ 加权历史点数）"
    )
    out.append((what, f"{Decimal(b.pv_budget):,} {unit}"))
    out.append(("病组/病种数", str(f.get("groups", ""))))
    out.append(("政策版本", b.policy_version))
    return out


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


# --- 结算单 ------------------------------------------------------------------------------------------------------

STATEMENT_COLUMNS = [
    ("dscg_date", "出院日期"),
    ("setl_id", "结算ID"),
    ("pool", "基金池"),
    ("method", "支付方式"),
    ("group_code", "病组/病种"),
    ("group_name", "病组/病种名称"),
    ("cost_class", "偏差类型"),
    ("r", "倍率 r"),
    ("base", "基准费用（元）"),
    ("weight", "权重/分值"),
    ("coef", "系数"),
    ("points", "点数"),
    ("amount", "金额（元）"),
    ("cost", "医疗费总额（元）"),
    ("personal", "个人负担（元）"),
    ("fund_ffs", "按项目基金（元）"),
]
STATEMENT_MONEY = ("base", "amount", "cost", "personal", "fund_ffs")
STATEMENT_DATES = ("dscg_date",)
STATEMENT_ORDER = {
    "dscg_date": PaymentCase.dscg_date,
    "setl_id": PaymentCase.setl_id,
    "pool": PaymentCase.pool,
    "method": PaymentCase.method,
    "group_code": PaymentCase.group_code,
    "cost_class": (PaymentCase.cost_class, PaymentCase.extreme),
    "r": PaymentCase.r4,
    "base": PaymentCase.base_fen,
    "weight": PaymentCase.weight4,
    "coef": PaymentCase.coef4,
    "points": PaymentCase.points4,
    "amount": PaymentCase.amount_fen,
    "cost": PaymentCase.cost_fen,
    "personal": PaymentCase.personal_fen,
    "fund_ffs": PaymentCase.fund_ffs_fen,
}


@dataclass(frozen=True)
class StatementFilter:
    """A hospital's statement: the year, the month (0: the clearing) and the hospital."""

    year: int
    month: int
    fixmedins_code: str

    def run(self, s: Session) -> PaymentRun | None:
        return posted(s, self.year, self.month)

    def describe(self, s: Session | None = None) -> list[str]:
        name = self.fixmedins_code
        if s is not None:
            name = institution_names(s, [name]).get(name, name)
        return [name, period_label(self.year, self.month)]


def statement_institutions(s: Session, run: PaymentRun | None) -> dict[str, str]:
    """The hospitals with a line in ``run``: code → ``code name``, by code."""
    if run is None:
        return {}
    codes = sorted(set(s.scalars(select(PaymentLine.fixmedins_code).where(PaymentLine.run_id == run.id))))
    names = institution_names(s, codes)
    return {c: f"{c} {names.get(c, '')}".strip() for c in codes}


def statement_count(s: Session, f: StatementFilter) -> int:
    run = f.run(s)
    if run is None:
        return 0
    return s.scalar(
        select(func.count())
        .select_from(PaymentCase)
        .where(PaymentCase.run_id == run.id, PaymentCase.fixmedins_code == f.fixmedins_code)
    )


def statement_records(
    s: Session,
    f: StatementFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> Iterator[dict]:
    """The hospital's priced cases of the run, by discharge date (then 结算ID) unless ``order`` says otherwise."""
    run = f.run(s)
    if run is None:
        return
    w = words(run.year, run)
    q = select(PaymentCase).where(
        PaymentCase.run_id == run.id, PaymentCase.fixmedins_code == f.fixmedins_code
    )
    q = paged(
        q,
        STATEMENT_ORDER,
        order,
        "dscg_date",
        PaymentCase.setl_id,
        PaymentCase.id,
        offset=offset,
        limit=limit,
    )
    for c in s.scalars(q):
        yield case_row(c, w)


def case_row(c: PaymentCase, w: Words) -> dict:
    """One priced case as its statement row: what does not apply to its method left empty."""
    code, name = w.group(c.method, c.group_code)
    by_points = c.method in (DIP, DRG)
    cost_class = ""
    if by_points:
        cost_class = COST_CLASSES.get(c.cost_class, c.cost_class) + ("（极端）" if c.extreme else "")
    return {
        "dscg_date": c.dscg_date,
        "setl_id": c.setl_id,
        "pool": w.pool(c.pool),
        "method": METHOD_NAMES.get(c.method, c.method),
        "group_code": code,
        "group_name": name,
        "cost_class": cost_class,
        "r": _ratio4(c.r4) if by_points else None,
        "base": _yuan(c.base_fen) if c.method != FFS else None,
        "weight": _ratio4(c.weight4) if by_points else None,
        "coef": _ratio4(c.coef4) if by_points else None,
        "points": _ratio4(c.points4) if by_points else None,
        "amount": _yuan(c.amount_fen),
        "cost": _yuan(c.cost_fen),
        "personal": _yuan(c.personal_fen),
        "fund_ffs": _yuan(c.fund_ffs_fen),
    }


def statement_totals(s: Session, f: StatementFilter) -> list[dict]:
    """The statement's total rows: each line's subtotal (its 核定金额 in 金额: points × PV rounded once for the
    line, so it may differ from the cases' sum by rounding), the whole, and what the run pays for it."""
    run = f.run(s)
    if run is None:
        return []
    w = words(run.year, run)
    lines = [ln for ln in run_lines(s, run.id) if ln.fixmedins_code == f.fixmedins_code]
    blank = {k: None for k, _ in STATEMENT_COLUMNS}

    def row(label: str, note: str = "", **values) -> dict:
        return {**blank, "setl_id": label, "group_name": note, **values}

    out = []
    for ln in lines:
        pv = f"，点值 {ln.pv}" if ln.method in (DIP, DRG) else ""
        out.append(
            row(
                "小计",
                f"{ln.cases} 例{pv}",
                pool=w.pool(ln.pool),
                method=METHOD_NAMES.get(ln.method, ln.method),
                points=_ratio4(ln.points4) if ln.method in (DIP, DRG) else None,
                amount=_yuan(ln.entitlement_fen),
                cost=_yuan(ln.cost_fen),
                personal=_yuan(ln.personal_fen),
                fund_ffs=_yuan(ln.fund_ffs_fen),
            )
        )

    def total(attr: str) -> Decimal:
        return _yuan(sum(getattr(ln, attr) for ln in lines))

    out.append(
        row(
            "合计",
            f"{sum(ln.cases for ln in lines)} 例",
            amount=total("entitlement_fen"),
            cost=total("cost_fen"),
            personal=total("personal_fen"),
            fund_ffs=total("fund_ffs_fen"),
        )
    )
    if run.kind == MONTH:
        out += [
            row("应付", "核定金额 − 个人负担", amount=total("owed_fen")),
            row("本月拨付", amount=total("paid_fen")),
            row("质量保证金", "本月预留", amount=total("deposit_fen")),
        ]
    else:
        adjustments: dict[str, int] = {}
        for ln in lines:
            for k, v in ((ln.detail or {}).get("adjustments") or {}).items():
                adjustments[k] = adjustments.get(k, 0) + v
        out += [
            row("调整", _adjustment_text(adjustments), amount=total("adjustments_fen")),
            row("全年应付", "核定金额 − 个人负担 + 调整", amount=total("owed_fen")),
            row("已预结算", "各月已拨付", amount=total("pre_settled_fen")),
            row("已预留质量保证金", amount=total("deposit_withheld_fen")),
            row("清算", "全年应付 − 已预结算（负数为追回）", amount=total("paid_fen")),
        ]
    return out


def for_excel(rows) -> Iterator[dict]:
    """Ratios as plain numbers (the writer would show a Decimal as money, with two places)."""
    for r in rows:
        yield {k: float(v) if k in RATIOS and isinstance(v, Decimal) else v for k, v in r.items()}


def statement_rows(s: Session, year: int, month: int, fixmedins_code: str) -> tuple[str, list[dict]]:
    """A hospital's statement (结算单) of the month run (``month`` 1–12) or the clearing (0): its title and
    rows — one per case, then the line totals — keyed by :data:`STATEMENT_COLUMNS`."""
    if not 0 <= month <= 12:
        raise InputError(f"--month: {month} 不是 1–12 的月份（0 为年度清算）")
    f = StatementFilter(year, month, fixmedins_code)
    run = f.run(s)
    if run is None:
        raise InputError(f"{period_label(year, month)}尚未计算（没有已过账的版本）")
    name = institution_names(s, [fixmedins_code]).get(fixmedins_code)
    if name is None:
        raise InputError(f"--institution: 没有定点机构 {fixmedins_code}")
    if not any(ln.fixmedins_code == fixmedins_code for ln in run_lines(s, run.id)):
        raise InputError(f"{name} 在{period_label(year, month)}中没有结算（no lines for this institution）")
    title = f"{name} {period_label(year, month)}结算单（第 {run.version} 版）"
    return title, list(for_excel([*statement_records(s, f), *statement_totals(s, f)]))


def statement_export_rows(s: Session, f: StatementFilter) -> Iterator[dict]:
    """(The background export) every row of the statement."""
    return for_excel([*statement_records(s, f), *statement_totals(s, f)])


def statement_export_count(s: Session, f: StatementFilter) -> int:
    return statement_count(s, f) + len(statement_totals(s, f))


# --- 指标 --------------------------------------------------------------------------------------------------------

HOSPITAL, BY_MONTH = "hospital", "month"
REGION = "全市"
INDICATOR_COLUMNS = [
    ("unit", "机构"),
    ("cases", "病例数"),
    ("grouped", "按病组/病种付费病例"),
    ("drg_cases", "DRG 病例"),
    ("cmi", "CMI"),
    ("cost_index", "费用消耗指数"),
    ("time_index", "时间消耗指数"),
    ("low_risk_cases", "低风险组病例"),
    ("low_risk_mortality", "低风险组死亡率"),
    ("entitlement", "核定金额"),
    ("ffs", "按项目费用"),
    ("payment_ratio", "支付率"),
    ("high_share", "高倍率病例占比"),
    ("low_share", "低倍率病例占比"),
]
INDEXES = ("cmi", "cost_index", "time_index")  # four places
RATES = ("low_risk_mortality", "payment_ratio", "high_share", "low_share")  # percentages
INDICATOR_MONEY = ("entitlement", "ffs")
INDICATOR_COUNTS = ("cases", "grouped", "drg_cases", "low_risk_cases")


@dataclass(frozen=True)
class IndicatorFilter:
    """指标: the year, by hospital or by month."""

    year: int
    by: str = HOSPITAL

    def describe(self) -> list[str]:
        return [f"{self.year} 年", "按月份" if self.by == BY_MONTH else "按医院"]


def indicator_columns(by: str) -> list[tuple[str, str]]:
    return [("unit", "月份" if by == BY_MONTH else "机构"), *INDICATOR_COLUMNS[1:]]


@dataclass
class YearCases:
    """The year's priced cases as arrays (one element a case), where they come from, and the lines the
    payment ratio is read from."""

    source: str
    fixmedins_code: np.ndarray
    month: np.ndarray  # 1–12, by discharge date
    method: np.ndarray
    group: np.ndarray  # method:group_code
    weight4: np.ndarray
    cost_fen: np.ndarray
    los: np.ndarray
    died: np.ndarray
    cost_class: np.ndarray  # pricing.NORMAL / HIGH / LOW
    hospital_lines: dict[str, tuple[int, int]]  # code → (entitlement, FFS charges) of its DRG/DIP lines
    month_lines: dict[int, tuple[int, int]]


def year_cases(s: Session, year: int) -> YearCases:
    """The year's priced cases: the clearing's when the year is cleared, else the current month runs'; a
    case died when its valid settlement list says 离院方式 5 (死亡)."""
    clearing = current_run(s, CLEAR, year, 0)
    if clearing is not None:
        runs = [clearing.id]
        source = f"{year} 年度清算（第 {clearing.version} 版）的病例"
    else:
        runs = list(
            s.scalars(
                select(PaymentRun.id).where(
                    PaymentRun.kind == MONTH, PaymentRun.year == year, PaymentRun.status == POSTED
                )
            )
        )
        source = f"{year} 年各月月度预结算（当前版本）的病例"
    rows = s.execute(
        select(
            PaymentCase.fixmedins_code,
            PaymentCase.dscg_date,
            PaymentCase.method,
            PaymentCase.group_code,
            PaymentCase.weight4,
            PaymentCase.cost_fen,
            PaymentCase.los,
            SettlementList.dscg_way,
            PaymentCase.cost_class,
        )
        .outerjoin(
            SettlementList,
            and_(SettlementList.setl_id == PaymentCase.setl_id, SettlementList.vali_flag == VALID),
        )
        .where(PaymentCase.run_id.in_(runs))
        .order_by(PaymentCase.id)
    ).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 9
    return YearCases(
        source=source,
        fixmedins_code=np.array(cols[0], dtype=object),
        month=np.array([d.month for d in cols[1]], dtype=np.int64),
        method=np.array(cols[2], dtype=object),
        group=np.array([f"{m}:{g or ''}" for m, g in zip(cols[2], cols[3], strict=True)], dtype=object),
        weight4=np.array(cols[4], dtype=np.int64),
        cost_fen=np.array(cols[5], dtype=np.int64),
        los=np.array(cols[6], dtype=np.int64),
        died=np.array([w == "5" for w in cols[7]], dtype=bool),
        cost_class=np.array([CLASS_CODES.get(c, NORMAL) for c in cols[8]], dtype=np.int64),
        hospital_lines=_ratio_lines(s, year, clearing),
        month_lines=_month_ratio_lines(s, year),
    )


def _ratio_lines(s: Session, year: int, clearing: PaymentRun | None) -> dict[str, tuple[int, int]]:
    """Per hospital: Σ entitlement and Σ FFS charges of its DRG/DIP lines — the clearing's, else the months'."""
    q = (
        select(
            PaymentLine.fixmedins_code, func.sum(PaymentLine.entitlement_fen), func.sum(PaymentLine.cost_fen)
        )
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(PaymentLine.method.in_((DIP, DRG)), PaymentRun.status == POSTED, PaymentRun.year == year)
        .group_by(PaymentLine.fixmedins_code)
    )
    q = q.where(PaymentRun.id == clearing.id) if clearing is not None else q.where(PaymentRun.kind == MONTH)
    return {code: (int(e or 0), int(c or 0)) for code, e, c in s.execute(q)}


def _month_ratio_lines(s: Session, year: int) -> dict[int, tuple[int, int]]:
    q = (
        select(PaymentRun.month, func.sum(PaymentLine.entitlement_fen), func.sum(PaymentLine.cost_fen))
        .join(PaymentRun, PaymentRun.id == PaymentLine.run_id)
        .where(
            PaymentLine.method.in_((DIP, DRG)),
            PaymentRun.status == POSTED,
            PaymentRun.year == year,
            PaymentRun.kind == MONTH,
        )
        .group_by(PaymentRun.month)
    )
    return {m: (int(e or 0), int(c or 0)) for m, e, c in s.execute(q)}


def _measures(yc: YearCases, unit_idx: np.ndarray, n_units: int) -> list[dict]:
    """Each unit's counts and measures (exact fractions; None where a unit has nothing to measure)."""
    cases = np.bincount(unit_idx, minlength=n_units)
    scored = np.isin(yc.method, (DIP, DRG))
    drg = yc.method == DRG
    u, g = unit_idx[scored], yc.group[scored]
    groups, group_idx = (
        np.unique(g, return_inverse=True) if len(g) else (np.array([]), np.array([], dtype=int))
    )
    group_idx = group_idx.ravel()
    n_groups = len(groups)
    low = ind.low_risk_groups(group_idx, yc.died[scored], n_groups) if n_groups else np.zeros(0, dtype=bool)
    in_low = low[group_idx] if n_groups else np.zeros(0, dtype=bool)
    shares = ind.outlier_shares(u, yc.cost_class[scored], n_units)
    values = {
        "cases": cases.tolist(),
        "grouped": np.bincount(u, minlength=n_units).tolist(),
        "drg_cases": np.bincount(unit_idx[drg], minlength=n_units).tolist(),
        "cmi": ind.cmi(unit_idx[drg], yc.weight4[drg], n_units),
        "cost_index": ind.cost_index(u, group_idx, yc.cost_fen[scored], n_units, n_groups),
        "time_index": ind.time_index(u, group_idx, yc.los[scored], n_units, n_groups),
        "low_risk_cases": np.bincount(u[in_low], minlength=n_units).tolist(),
        "low_risk_mortality": ind.low_risk_mortality(u, group_idx, yc.died[scored], n_units, n_groups),
        "high_share": shares.high,
        "low_share": shares.low,
    }
    return [{k: v[i] for k, v in values.items()} for i in range(n_units)]


def indicators(s: Session, f: IndicatorFilter, cases: YearCases | None = None) -> tuple[str, list[dict]]:
    """Where the cases come from, and one row per hospital (by code) or per month with a case, then 全市:
    counts, CMI (DRG cases, RW = weight4 ÷ 10⁴), the cost and time consumption indices and the low-risk
    mortality (over the DRG/DIP groups), the payment ratio (Σ 核定 ÷ Σ 按项目费用 of the DRG/DIP lines) and
    the outlier shares. Measures are exact fractions. ``cases``: the year's, when already read (a page shows
    both views of one reading)."""
    yc = cases if cases is not None else year_cases(s, f.year)
    if f.by == BY_MONTH:
        keys = sorted(set(yc.month.tolist()))
        labels = {m: f"{m} 月" for m in keys}
        unit_of = yc.month
        ratio_lines = yc.month_lines
    else:
        keys = sorted(set(yc.fixmedins_code.tolist()) | set(yc.hospital_lines))
        names = institution_names(s, keys)
        labels = {c: names.get(c, c) for c in keys}
        unit_of = yc.fixmedins_code
        ratio_lines = yc.hospital_lines
    position = {k: i for i, k in enumerate(keys)}
    unit_idx = np.array([position[k] for k in unit_of.tolist()], dtype=np.int64)
    rows = []
    for key, m in zip(keys, _measures(yc, unit_idx, len(keys)), strict=True):
        ent, ffs = ratio_lines.get(key, (0, 0))
        rows.append({"key": key, "unit": labels[key], **m, **_ratio(ent, ffs)})
    whole = _measures(yc, np.zeros(len(unit_idx), dtype=np.int64), 1)[0]
    ent, ffs = (sum(v[i] for v in ratio_lines.values()) for i in (0, 1))
    rows.append({"key": "", "unit": REGION, **whole, **_ratio(ent, ffs)})
    return yc.source, rows


def _ratio(entitlement: int, ffs: int) -> dict:
    return {
        "entitlement": fen_to_decimal(entitlement),
        "ffs": fen_to_decimal(ffs),
        "payment_ratio": Fraction(entitlement, ffs) if ffs else None,
    }


def indicator_count(s: Session, f: IndicatorFilter) -> int:
    return len(indicators(s, f)[1])


def indicator_rows_for_excel(s: Session, f: IndicatorFilter) -> Iterator[dict]:
    """The indicator table for a workbook: indices with four places, rates as percentages with two."""
    for r in indicators(s, f)[1]:
        out = dict(r)
        for k in INDEXES:
            out[k] = None if r[k] is None else float(rounded(r[k], 4))
        for k in RATES:
            out[k] = None if r[k] is None else float(rounded(r[k] * 100, 2))
        yield out


def indicator_excel_columns(by: str) -> list[tuple[str, str]]:
    return [
        (k, f"{label}（%）" if k in RATES else f"{label}（元）" if k in INDICATOR_MONEY else label)
        for k, label in indicator_columns(by)
    ]


def exports() -> dict:
    """The lists a background job exports (``export.export_lists``): a statement, the indicator tables."""
    from yibao.console.export import ExportList

    return {
        "payment_statement": ExportList(
            "机构结算单",
            "payment-statement.xlsx",
            STATEMENT_COLUMNS,
            statement_export_count,
            statement_export_rows,
        ),
        "payment_indicators": ExportList(
            "付费指标（按医院）",
            "payment-indicators.xlsx",
            indicator_excel_columns(HOSPITAL),
            indicator_count,
            indicator_rows_for_excel,
        ),
        "payment_indicators_month": ExportList(
            "付费指标（按月份）",
            "payment-indicators-month.xlsx",
            indicator_excel_columns(BY_MONTH),
            indicator_count,
            indicator_rows_for_excel,
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
