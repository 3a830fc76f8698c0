"""The payment policy as the pricing and clearing steps read it (pure): one object that answers every
question a run asks of the dated policy — the hospital's scheme, the pool of an insurance type, the
coefficients, thresholds and strategies as :mod:`yibao.payment.pricing` takes them, the point value of a
line — so the steps never reach into the policy file's shape."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from yibao.money import FEN
from yibao.payment import period as pp
from yibao.payment.policy import payment_policy_on
from yibao.payment.pricing import DipDeviation, DrgOutlier, Threshold
from yibao.payment.risk import Tier


@dataclass(frozen=True)
class PolicyView:
    policy: object  # yibao.payment.policy_schema.PaymentPolicy

    @classmethod
    def on(cls, region_dir: Path, day: date) -> PolicyView:
        return cls(payment_policy_on(region_dir, day))

    # --- identity --------------------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.policy.version

    def params_hash(self, norms, packs: dict[str, str]) -> str:
        """SHA-256 over the policy version, the norms used and the rule packs (what makes a run's fen)."""
        body = {
            "policy": [self.policy.region, self.policy.version, repr(self.policy)],
            "norms": {
                f"{k[0]}:{k[1]}": [str(n.pv), sorted(n.weights.items()), sorted(map(list, n.means.items()))]
                for k, n in sorted(norms.items())
            },
            "packs": packs,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    # --- who is paid how --------------------------------------------------------------------------------------
    def scheme_of(self, fixmedins_code: str, level: int) -> str:
        return self.policy.scheme_of(fixmedins_code, level)

    def pool_of_insutype(self, insutype: str) -> str:
        return self.policy.pool_of_insutype(insutype)

    def pool_fund(self, pool: str) -> str:
        return self.policy.pools[pool].pool_fund

    def fund_share(self, pool: str) -> Decimal:
        return self.policy.pools[pool].fund_share

    def case(self, sc) -> pp.Case:
        """A stored case (:class:`yibao.store.payment_cases.SettledCase`) as pricing reads it."""
        return pp.Case(
            sc.setl_id,
            sc.fixmedins_code,
            sc.level,
            self.pool_of_insutype(sc.insutype),
            sc.dscg_date,
            sc.los,
            sc.died,
            sc.cost_fen,
            sc.personal_fen,
            sc.fund_fen,
            sc.case.diagnoses[0] if sc.case.diagnoses else "",
        )

    @property
    def exclusions(self):
        return self.policy.exclusions

    def perdiem_category(self, principal: str, los: int) -> str | None:
        pd = self.policy.perdiem
        if pd is None:
            return None
        return pd.category_of(principal, los, self.policy.exclusions.long_stay_days)

    @property
    def perdiem(self):
        return self.policy.perdiem

    # --- coefficients and strategies ---------------------------------------------------------------------
    @property
    def level_coef(self) -> dict[int, Decimal]:
        return {int(k): v for k, v in self.policy.level_coef.items()}

    @property
    def basic_groups_level_one(self) -> bool:
        return self.policy.basic_groups_level_one

    @property
    def dip_deviation(self) -> DipDeviation:
        d = self.policy.dip.deviation
        return DipDeviation(
            Threshold(d.high.ratio, d.high.op),
            Threshold(d.low.ratio, d.low.op),
            d.extreme.ratio,
            self.policy.level_coef_on_deviation,
        )

    @property
    def drg(self):
        return self.policy.drg

    @property
    def drg_rate_mode(self) -> str:
        return self.policy.drg.rate_mode if self.policy.drg else "floating"

    @property
    def drg_outlier(self) -> DrgOutlier:
        o = self.policy.drg.outlier
        return DrgOutlier(
            o.base,
            Threshold(o.high.ratio, o.high.op),
            Threshold(o.low.ratio, o.low.op),
            o.high_k,
            o.low_method,
        )

    def fixed_rate(self, pool: str, level: int) -> Decimal:
        fen = self.policy.drg.rate_of(pool, level)
        if fen is None:
            raise ValueError(f"支付方式政策 {self.version}: 没有 {pool} 池 {level} 级医院的 DRG 费率")
        return Decimal(fen) / FEN

    # --- money ----------------------------------------------------------------------------------------------
    @property
    def payout_ratio(self) -> Decimal:
        return self.policy.monthly.payout_ratio

    @property
    def point_value(self):
        return self.policy.point_value

    @property
    def deviation_base(self) -> str:
        return self.policy.clearing.deviation_base

    @property
    def payment_ratio_cap(self) -> Decimal | None:
        return self.policy.payment_ratio_cap

    def risk_tiers(self, method: str) -> tuple[list[Tier], list[Tier]] | None:
        rs = self.policy.risk_sharing
        if method not in rs.applies_to:
            return None
        return ([Tier(t.upto, t.share) for t in rs.surplus], [Tier(t.upto, t.share) for t in rs.overspend])

    def forfeit_of(self, score: Decimal | None) -> Decimal:
        """The share of the deposit 考核 forfeits; no score: nothing."""
        return Decimal(0) if score is None else self.policy.performance.forfeit_of(score)

    def case_pv(self, pool: str, method: str, level: int, norms) -> Decimal | None:
        """The PV or rate a case's points are valued at (None: a method without points)."""
        if method == pp.DRG and self.drg_rate_mode == "fixed":
            return self.fixed_rate(pool, level)
        n = norms.get((pool, method))
        return n.pv if n is not None else None

    def line_pv(self, line: pp.Line, norms) -> Decimal:
        """The PV of a month line: the budget PV or rate of its pool and scheme (0 for money-only methods)."""
        if line.method == pp.DRG and self.drg_rate_mode == "fixed":
            return self.fixed_rate(line.pool, self._level_of_line(line))
        n = norms.get((line.pool, line.method))
        return n.pv if n is not None else Decimal(0)

    def _level_of_line(self, line: pp.Line) -> int:
        return line.level

    # --- capitation -----------------------------------------------------------------------------------------
    @property
    def capitation_contracts(self):
        c = self.policy.capitation
        return () if c is None else c.contracts.rows

    @property
    def capitation_med_types(self) -> tuple[str, ...]:
        c = self.policy.capitation
        return () if c is None else c.med_types

    @property
    def capitation_amount(self) -> int:
        return self.policy.capitation.amount

    @property
    def capitation_reserve(self) -> Decimal:
        return self.policy.capitation.reserve

    @property
    def capitation_risk_factor(self) -> Decimal:
        return self.policy.capitation.risk_factor
