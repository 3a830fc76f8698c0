"""结余留用、合理超支分担 (payment-drg-dip.md §5): how a hospital's surplus or overspend against its target is
shared with the fund, and the 支付率 cap on a hospital's payable.

Tiers are bands of the target: ``Tier(upto=0.10, share=0.60)`` covers a surplus (or overspend) up to 10 % of
the target, of which 60 % is kept by the hospital (or shared by the fund); ``upto=None`` is unbounded and must
be last. Beyond the last bounded tier the share is 0: the fund keeps the rest of a surplus, the hospital
bears the rest of an overspend.

Rounding: a band's edges are published figures, rounded half up to the fen (``upto × target``); each band's
value is rounded half up once; the totals are sums of the rows, so a statement adds up. With one tier (the
common case) that is exactly one rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import NamedTuple

from yibao.payment.exact import Ratio, as_fraction, fen, times

SURPLUS, OVERSPEND = "surplus", "overspend"


@dataclass(frozen=True)
class Tier:
    """A band of a surplus or an overspend (分档): up to ``upto`` × target (None: no bound), ``share`` of it
    kept by the hospital (surplus) or borne by the fund (overspend)."""

    upto: Decimal | None
    share: Decimal

    def __post_init__(self) -> None:
        if not 0 <= as_fraction(self.share) <= 1:
            raise ValueError(f"tier share {self.share} is not in [0, 1]")
        if self.upto is not None and as_fraction(self.upto) <= 0:
            raise ValueError(f"tier bound {self.upto} is not positive")


class TierRow(NamedTuple):
    """One band of the trace: its kind, edges in fen (upper None: unbounded), the amount in it, the share
    applied (0 beyond the last tier) and the value (kept or shared)."""

    kind: str
    lower_fen: int
    upper_fen: int | None
    amount_fen: int
    share: Decimal
    value_fen: int


class RiskShare(NamedTuple):
    """The outcome: ``paid_fen`` to the hospital; ``kept_fen`` (surplus kept by the hospital), ``shared_fen``
    (the fund's share of an overspend), ``borne_fen`` (overspend the hospital bears) and the trace rows."""

    paid_fen: int
    kept_fen: int
    shared_fen: int
    borne_fen: int
    rows: tuple[TierRow, ...]


def _check(tiers: Sequence[Tier]) -> None:
    bounds = [as_fraction(t.upto) for t in tiers if t.upto is not None]
    if any(t.upto is None for t in tiers[:-1]):
        raise ValueError("only the last tier may be unbounded")
    if any(b <= a for a, b in pairwise(bounds)):
        raise ValueError("tier bounds must increase")


def _bands(kind: str, amount: int, target: int, tiers: Sequence[Tier]) -> list[TierRow]:
    _check(tiers)
    rows, lower = [], 0
    for tier in tiers:
        if lower >= amount:
            return rows
        upper = None if tier.upto is None else fen(as_fraction(tier.upto) * target)
        inside = (amount if upper is None else min(amount, upper)) - lower
        if inside > 0:
            rows.append(TierRow(kind, lower, upper, inside, tier.share, times(inside, tier.share)))
        if upper is None:
            return rows
        lower = max(lower, upper)
    if amount > lower:
        rows.append(TierRow(kind, lower, None, amount - lower, Decimal(0), 0))
    return rows


def share_risk(
    target_fen: int, actual_fen: int, surplus: Sequence[Tier], overspend: Sequence[Tier]
) -> RiskShare:
    """Settle a hospital's year against its target (年度清算的结余留用、超支分担): under target it is paid its
    actual cost plus the kept part of the surplus; over target, the target plus the fund's shared part."""
    if target_fen < 0:
        raise ValueError("a negative target")
    if actual_fen <= target_fen:
        rows = _bands(SURPLUS, target_fen - actual_fen, target_fen, surplus)
        kept = sum(r.value_fen for r in rows)
        return RiskShare(actual_fen + kept, kept, 0, 0, tuple(rows))
    over = actual_fen - target_fen
    rows = _bands(OVERSPEND, over, target_fen, overspend)
    shared = sum(r.value_fen for r in rows)
    return RiskShare(target_fen + shared, 0, shared, over - shared, tuple(rows))


def payment_ratio_cut(entitlement_fen: int, ffs_charges_fen: int, cap: Ratio | None) -> int:
    """The amount cut by the 支付率 cap (e.g. nothing above 110 % of FFS-valued charges): entitlement − the
    ceiling round(cap × charges), when positive; 0 without a cap."""
    if cap is None:
        return 0
    return max(0, entitlement_fen - times(ffs_charges_fen, cap))
