"""Read models of 付费结算 · 预算: a year's current global budget of each pool and scheme, and its trace — how
the figures were computed (payment-drg-dip.md §5, §3.7 step 1) — in Chinese, amounts in 元."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from yibao.console.queries_payment_runs import PV_UNITS, _figure_fen, _yuan, words
from yibao.payment.period import DRG, METHOD_NAMES
from yibao.store.payment_budgets import current_budgets
from yibao.store.tables import PaymentBudget

SOURCES = {"policy": "支付方式政策设定"}


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
