"""审核扣款 on a hospital's monthly statement (机构结算单): the upheld suspicions (疑点) deducted from its payment
of the month — one row each, then their sum and what the month pays after them. The statement's totals
(:func:`yibao.console.queries_payment_statement.statement_totals`) add these rows, so the page, the background
export and ``yibao payment statement`` show them alike. Deductions are negative amounts: they lower the
payment."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.orm import Session

from yibao.money import fen_to_decimal
from yibao.store.suspicion_workflow import deductions

DEDUCTED = "审核扣款"  # the label of a deduction's row


def deduction_rows(
    s: Session, fixmedins_code: str, year: int, month: int, row: Callable[..., dict], paid: Decimal | None
) -> list[dict]:
    """The statement rows of ``fixmedins_code``'s deductions against ``year``-``month`` (none: no rows). ``row``
    makes a total row (label, note, values); ``paid`` is the month's 本月拨付 in yuan."""
    found = deductions(s, fixmedins_code, f"{year}-{month:02d}")
    if not found:
        return []
    out = []
    for d in found:
        where = f"，结算 {d.setl_id}" if d.setl_id else ""
        out.append(
            row(
                f"{DEDUCTED} 疑点#{d.id}",
                f"{d.rule_code} {d.rule_name}{where}（{d.decision_reason or '复核维持'}）",
                amount=-fen_to_decimal(d.deducted_fen),
            )
        )
    total = sum(d.deducted_fen for d in found)
    out.append(
        row(f"{DEDUCTED}合计", f"智能审核疑点 {len(found)} 项，复核维持", amount=-fen_to_decimal(total))
    )
    out.append(row("扣款后拨付", "本月拨付 − 审核扣款", amount=(paid or Decimal(0)) - fen_to_decimal(total)))
    return out
