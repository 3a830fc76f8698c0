"""The reply mapping (结算回传对照): where each record of the fund chain goes in the national reply.

Every fund of the chain (settlement.md §3) pays into one setlinfo field, shows as one setldetail row (its
fund_pay_type, the base it computed on, its limit left before this settlement) and adds to named accumulators
(``critical:paid`` …) that a reversal subtracts. Online results (``result.py``), whole batches (``batch.py``,
``bulk.py``), the accumulator state (``state.py``) and the synthetic region read these tables and nothing
else, so a new fund tier is one row of ``FUNDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from yibao.settlement.arrays import ChainOutputs


@dataclass(frozen=True)
class Fund:
    """One fund of the chain, as the reply and the accumulators name it."""

    tier: str  # its record in the kernel's outputs (``ChainOutputs.funds``) and its accumulators' prefix
    setlinfo: str  # the setlinfo field of its payment
    fund_pay_type: str  # the ``PolicyBundle.names`` table of its setldetail fund_pay_type
    # per (person, year, insutype) accumulators "<tier>:<name>": "base" adds the record's base (the cumulative
    # base of 大病 and 惠民保), "paid" its payment (what its annual cap reads), "burden" the person's burden
    # left under a cap on it (救助's 负担封顶)
    accumulates: tuple[str, ...] = ()
    # also "<tier>:<benefit class>", its payment per class (what a class sub-limit reads)
    by_class: bool = False


FUNDS = (
    Fund("pool", "hifp_pay", "pool_fpt"),  # 统筹: its accumulators are per class, cap and disease (state.py)
    Fund("large_expense", "hifob_pay", "le_fpt", ("paid",)),
    Fund("critical", "hifmi_pay", "ci_fpt", ("base", "paid")),
    Fund("supplementary", "oth_pay", "sp_fpt", ("base", "paid")),
    Fund("assistance", "maf_pay", "as_fpt", ("paid", "burden"), by_class=True),
)
INCREMENT = {"base": "base", "paid": "pay", "burden": "burden"}  # accumulator name → the record field it adds

# The personal account's setldetail row (§3.4; not a fund): its code; base psn_part_amt, limit bal_before.
ACCOUNT_FPT = "acct_fpt"

# The setlinfo fields the chain fills, ← (record, attribute): the pool's deductible, each fund's payment in
# chain order, the §3.4 record's totals and account (attributes of the same name), the ratio applied.
SETLINFO_FROM: tuple[tuple[str, str, str], ...] = (
    ("act_pay_dedc", "pool", "act_pay_dedc"),
    *((f.setlinfo, f.tier, "pay") for f in FUNDS),
    *(
        (name, "account", name)
        for name in ("fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")
    ),
    ("pool_prop_selfpay", "pool", "ratio"),
)


def chain_columns(out: ChainOutputs) -> dict[str, np.ndarray]:
    """The setlinfo fields the fund chain fills, by national name, as arrays over its visits.

    (The split sums come from the fee lines; a national fund field no tier pays is 0.)
    """
    records = out.by_name()
    return {name: getattr(records[record], attr) for name, record, attr in SETLINFO_FROM}
