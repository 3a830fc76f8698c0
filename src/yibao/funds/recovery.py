"""Double-entry postings of an audit deduction (审核扣款), pure.

An upheld suspicion (疑点, supervision.md §2.2 处理 → execution: 追回) is recovered from the institution's next
payment: what the fund owes the institution falls by the upheld amount, and the fund books the recovery.

* Dr ``institution_payable`` F / Cr ``audit_recovery`` F

F is the basic pool fund of the visit's insurance type (310 → 310100, 390 → 390100), or none for a finding
about an institution rather than a visit. ``institution_payable`` keeps a debit (the institution owes the
fund) until the payment it is deducted from nets it; ``audit_recovery`` holds what the smart audit has
recovered. A reversal would post the exact negation."""

from __future__ import annotations

from yibao.funds.ledger import INSTITUTION_PAYABLE, Posting
from yibao.money import Fen

AUDIT_RECOVERY = "audit_recovery"
ENTRY_TYPE = "audit_deduction"  # ledger_entry.entry_type is VARCHAR(20)
POOL_FUNDS = {"310": "310100", "390": "390100"}  # 职工 / 居民 统筹基金


def pool_fund(insutype: str | None) -> str | None:
    """The basic pool fund (``fund_pay_type``) of an insurance type; None when the type is unknown."""
    if not insutype:
        return None
    return POOL_FUNDS.get(insutype, insutype + "100")


def deduction_postings(fixmedins_code: str, amount: Fen, fund_pay_type: str | None) -> list[Posting]:
    """The two legs of one deduction of ``amount`` fen (> 0) from ``fixmedins_code``."""
    if amount <= 0:
        raise ValueError(f"an audit deduction must be positive, not {amount}")
    return [
        Posting(INSTITUTION_PAYABLE, amount, fund_pay_type, fixmedins_code),
        Posting(AUDIT_RECOVERY, Fen(-amount), fund_pay_type, fixmedins_code),
    ]
