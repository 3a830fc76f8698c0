"""Read models of 付费结算 · 机构结算单: a hospital's statement of a month run or the clearing — its priced cases,
paged and ordered by the database, then each line's subtotal, the whole and what the run pays for it — for the
page, the background export and the CLI (:func:`statement_rows`).

In a workbook ratios are plain numbers (:func:`for_excel`), amounts exact ``Decimal`` yuan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_audit_deductions import deduction_rows
from yibao.console.queries_payment_runs import (
    MONTH,
    RATIOS,
    Words,
    _adjustment_text,
    _ratio4,
    _yuan,
    institution_names,
    period_label,
    posted,
    words,
)
from yibao.errors import InputError
from yibao.payment.period import DIP, DRG, FFS, METHOD_NAMES
from yibao.store.payment_runs import run_lines
from yibao.store.tables import PaymentCase, PaymentLine, PaymentRun

COST_CLASSES = {"normal": "正常", "high": "高倍率", "low": "低倍率"}

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
    line, so it may differ from the cases' sum by rounding), the whole, and what the run pays for it — for a
    month, less the upheld suspicions deducted from it (:mod:`~yibao.console.queries_audit_deductions`)."""
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
        out += deduction_rows(s, f.fixmedins_code, run.year, run.month, row, total("paid_fen"))
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
