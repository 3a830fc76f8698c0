"""The schema of a region's payment policy (支付方式政策): what the fund pays hospitals, and how.

One YAML file per version under ``regions/<admdvs>/policy/payment/`` (payment-drg-dip.md §7; the loader is
:mod:`yibao.payment.policy`). Each section is a frozen dataclass, validated by pydantic as it is built:
ratios and coefficients are :class:`~decimal.Decimal`, amounts integer fen, days and places ``int``.
Unknown keys are refused, and nothing that changes money has a silent default.

A rule that spans sections (every pool budgeted, the schemes in use configured, the contracts' pools known)
is checked by the loader after these types accept each section.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic.dataclasses import dataclass

from yibao.errors import PolicyError
from yibao.payment.policy_values import (
    CONFIG,
    Band,
    CapitationContracts,
    Days,
    Factor,
    Growth,
    HighBound,
    Level,
    LowBound,
    PerDiemSegment,
    Places,
    PositiveShare,
    RegionPath,
    Reserve,
    SchemeName,
    Share,
    Tier,
    contracts_of,
    diagnosis_prefix,
    falling,
    level_of,
    rising,
    sum_to_one,
    whole,
)
from yibao.policy.values import Amount, Code, month_day

__all__ = ["PaymentPolicy"]

# --- sections --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Pool:
    """统筹池: the insurance types whose fund pays one budget (职工 310, 居民 390), its fund code, and the
    fund's share of total cost used to turn a fund budget into a total-cost budget (PV and DRG rate)."""

    name: str
    insutypes: Annotated[tuple[Code, ...], Field(min_length=1)]
    pool_fund: Code
    fund_share: PositiveShare


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Schemes:
    """Which scheme pays a hospital's acute inpatient cases: its own entry, else its level's, else the default."""

    default: SchemeName
    by_level: dict[Level, SchemeName] = Field(default_factory=dict)
    hospitals: dict[Code, SchemeName] = Field(default_factory=dict)  # fixmedins_code → scheme

    def of(self, fixmedins_code: str, level: int | str) -> str:
        found = self.hospitals.get(fixmedins_code)
        return found or self.by_level.get(level_of(level), self.default)

    def used(self) -> set[str]:
        return {self.default, *self.by_level.values(), *self.hospitals.values()}


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class DipDeviation:
    """偏差病例 (§3.5): ultra-high, ultra-low and extreme (→ 特例单议) against the same-level group mean."""

    high: HighBound
    low: LowBound
    extreme: HighBound

    @model_validator(mode="after")
    def _ordered(self) -> DipDeviation:
        if not self.low.ratio < self.high.ratio <= self.extreme.ratio:
            raise ValueError(
                f"needs low {self.low.ratio} < high {self.high.ratio} ≤ extreme {self.extreme.ratio}"
            )
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class DipPayment:
    """按病种分值付费: the catalogue folder (病种目录库, relative to the region) and deviation handling."""

    catalogue: RegionPath = "payment"
    deviation: DipDeviation


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class DrgOutlier:
    """高倍率 / 低倍率 (§4.5): thresholds against ``base`` (the payment standard or the group mean cost); a
    high case is paid standard + ``high_k`` × the cost above the threshold; a low case FFS or pro rata."""

    base: Literal["standard", "group_mean"]
    high: HighBound
    low: LowBound
    high_k: Share
    low_method: Literal["ffs", "prorata"]

    @model_validator(mode="after")
    def _ordered(self) -> DrgOutlier:
        if not self.low.ratio < self.high.ratio:
            raise ValueError(f"needs low {self.low.ratio} < high {self.high.ratio}")
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class DrgPayment:
    """CHS-DRG (§4): the rule pack, the rate (费率, yuan per RW) fixed in advance or floating (点数法, from
    the year's total weight), outliers, the ungroupable (0000 未入组) and the forecast's volume growth."""

    rule_pack: Code
    rate_mode: Literal["fixed", "floating"]
    rates: dict[Code, dict[Level, Amount]] | None = None  # pool → level → yuan per RW; required when fixed
    rate_places: Places = 2
    outlier: DrgOutlier
    ungrouped: Literal["ffs", "weight"]
    ungrouped_weight: Factor | None = None  # the RW of an ungroupable case, when ungrouped: weight
    volume_growth: Growth

    @model_validator(mode="after")
    def _weight_said(self) -> DrgPayment:
        if self.ungrouped == "weight" and self.ungrouped_weight is None:
            raise ValueError(
                "ungrouped: weight needs 'ungrouped_weight' (the RW of a 0000 case, e.g. \"0.2\")"
            )
        if self.ungrouped != "weight" and self.ungrouped_weight is not None:
            raise ValueError("'ungrouped_weight' goes with ungrouped: weight")
        return self

    def rate_of(self, pool: str, level: int | str) -> int | None:
        """The rate in fen per RW of a pool at a level (the fixed rate, or the floating rate's fallback)."""
        return (self.rates or {}).get(pool, {}).get(level_of(level))


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PointValue:
    """点值 (PV): its published decimals and the settlement PV's bounds relative to the budget PV."""

    places: Places = 4
    floor: PositiveShare | None = None  # settlement PV ≥ floor × budget PV (top-up from the reserve)
    ceiling: Factor | None = None  # settlement PV ≤ ceiling × budget PV

    @model_validator(mode="after")
    def _around_one(self) -> PointValue:
        if self.ceiling is not None and self.ceiling < 1:
            raise ValueError(f"ceiling {self.ceiling} is below 1 (the budget PV itself)")
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PoolBudget:
    """A pool's year (§5): revenue last year (``~``: taken from the ledger) × (1 + growth) × (1 − risk
    reserve) − other outlays = the DRG/DIP fund budget."""

    revenue_last: Amount | None = None
    growth: Growth
    risk_reserve: Reserve
    other_outlays: Amount


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Monthly:
    """预结算: the share of each month's entitlement paid, the share withheld as quality deposit (质量保证金),
    and the payment deadline in working days after the claim deadline."""

    payout_ratio: Share
    deposit_ratio: Share
    settle_deadline_days: Annotated[int, whole(1, 366)] = 30

    @model_validator(mode="after")
    def _whole_month(self) -> Monthly:
        total = self.payout_ratio + self.deposit_ratio
        if total != 1:
            raise ValueError(
                f"payout_ratio {self.payout_ratio} + deposit_ratio {self.deposit_ratio} = {total}: must be 1 "
                "(月度拨付与质量保证金之和须为 1)"
            )
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Clearing:
    """年度清算: the group means deviation is recomputed against, and the day (MM-DD of the next year) by
    which the year is cleared."""

    deviation_base: Literal["prior_year", "current_year"]
    deadline: Annotated[str, BeforeValidator(month_day)]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class ReviewCap:
    """特例单议 cases a hospital may file, as a share of its discharges, per scheme."""

    dip: Share | None = None
    drg: Share | None = None


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class ReviewCandidates:
    """Cases proposed for 特例单议: stays of at least ``long_stay_days``, cost ratios above ``extreme_ratio``."""

    long_stay_days: Days
    extreme_ratio: Factor


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class SpecialReview:
    """特例单议 (§3.6): caps, the filing window in days after the month's settlement, and candidates."""

    cap: ReviewCap
    window_days: Days
    candidates: ReviewCandidates

    def cap_of(self, scheme: str) -> Decimal | None:
        return getattr(self.cap, scheme, None)


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Exclusions:
    """Stays left out of DRG/DIP: ``los ≤ short_stay_days`` (FFS or per-diem), ``los ≥ long_stay_days`` (per-diem)."""

    short_stay_days: Days
    long_stay_days: Days

    @model_validator(mode="after")
    def _ordered(self) -> Exclusions:
        if self.short_stay_days >= self.long_stay_days:
            raise ValueError(
                f"short_stay_days {self.short_stay_days} must be below long_stay_days {self.long_stay_days}"
            )
        return self

    def is_short(self, los: int) -> bool:
        return los <= self.short_stay_days

    def is_long(self, los: int) -> bool:
        return los >= self.long_stay_days


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class RiskSharing:
    """结余留用、合理超支分担 (§5): the share of a surplus the hospital keeps and of an overspend the fund
    bears, by band of the target; beyond the last band, nothing (unless it is open-ended)."""

    applies_to: Annotated[tuple[Literal["capitation", "dip", "drg"], ...], Field(min_length=1)]
    surplus: Annotated[tuple[Tier, ...], Field(min_length=1), rising("tier", "upto", "may")]
    overspend: Annotated[tuple[Tier, ...], Field(min_length=1), rising("tier", "upto", "may")]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Performance:
    bands: Annotated[tuple[Band, ...], Field(min_length=1), AfterValidator(falling)]

    def forfeit_of(self, score: Decimal | int) -> Decimal:
        return next(b.forfeit for b in self.bands if score >= b.min_score)


LONG_STAY = "long_stay"
"""The per-diem category of stays of ``exclusions.long_stay_days`` or more without a listed diagnosis."""


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PerDiemCategory:
    """A 按床日 category: its diagnoses (ICD-10 prefixes; none for ``long_stay``) and yuan per day by level."""

    name: str
    diagnoses: tuple[Annotated[str, BeforeValidator(diagnosis_prefix)], ...] = ()
    standards: dict[Level, Amount]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PerDiem:
    """按床日 (§6): categories, the taper by length of stay, and an optional cap at ``cap_k`` × actual cost."""

    categories: dict[str, PerDiemCategory]
    segments: Annotated[
        tuple[PerDiemSegment, ...], Field(min_length=1), rising("segment", "upto_day", "must")
    ]
    cap_k: Factor | None = None

    @model_validator(mode="after")
    def _categories(self) -> PerDiem:
        if LONG_STAY not in self.categories:
            raise ValueError(f"needs the category '{LONG_STAY}' (stays ≥ exclusions.long_stay_days)")
        seen: dict[str, str] = {}
        for key, cat in self.categories.items():
            if key == LONG_STAY and cat.diagnoses:
                raise ValueError(f"'{LONG_STAY}' lists no diagnoses: it takes long stays without one")
            if key != LONG_STAY and not cat.diagnoses:
                raise ValueError(f"category '{key}' needs its diagnoses (ICD-10 prefixes)")
            for d in cat.diagnoses:
                if d in seen:
                    raise ValueError(f"diagnosis {d} is in both '{seen[d]}' and '{key}'")
                seen[d] = key
        return self

    def category_of(self, diagnosis: str, los: int, long_stay_days: int) -> str | None:
        """The category of a stay: its diagnosis's (longest prefix), else long_stay when the stay is long."""
        best, length = None, 0
        for key, cat in self.categories.items():
            for prefix in cat.diagnoses:
                if diagnosis.startswith(prefix) and len(prefix) > length:
                    best, length = key, len(prefix)
        return best or (LONG_STAY if los >= long_stay_days else None)


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Capitation:
    """按人头 (§6): budget = enrolled × amount × risk_factor × (1 − reserve), for the med_types it covers."""

    amount: Amount
    reserve: Reserve
    risk_factor: Factor
    med_types: Annotated[tuple[Code, ...], Field(min_length=1)]
    contracts: Annotated[CapitationContracts, BeforeValidator(contracts_of)]


# --- the version -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PaymentPolicy:
    """One effective-dated version of a region's payment policy (支付方式政策)."""

    region: Code
    version: Code
    title: Annotated[str, Field(min_length=1)]
    reference: Annotated[str, Field(min_length=1)]  # the document this version transcribes
    effective_from: date
    effective_to: date | None = None
    history_weights: Annotated[tuple[Share, ...], Field(min_length=1), AfterValidator(sum_to_one)]
    trim: Literal["sd3", "p2.5-97.5", "none"]
    pools: Annotated[dict[Code, Pool], Field(min_length=1)]
    schemes: Schemes
    level_coef: dict[Level, Factor]
    level_coef_on_deviation: bool
    basic_groups_level_one: bool
    dip: DipPayment | None = None
    drg: DrgPayment | None = None
    point_value: PointValue
    budget: dict[Code, PoolBudget]
    monthly: Monthly
    clearing: Clearing
    special_review: SpecialReview
    exclusions: Exclusions
    risk_sharing: RiskSharing
    payment_ratio_cap: Factor | None = None
    performance: Performance
    perdiem: PerDiem | None = None
    capitation: Capitation | None = None

    def pool_of_insutype(self, insutype: str) -> str:
        """The pool whose fund pays an insurance type's cases (``"310"`` → ``"310"``)."""
        for key, pool in self.pools.items():
            if insutype in pool.insutypes:
                return key
        raise PolicyError(
            f"支付方式政策 {self.version}: 险种 {insutype} 不属于任何统筹池 (no pool; pools: "
            f"{', '.join(self.pools)})"
        )

    def scheme_of(self, fixmedins_code: str, level: int | str) -> str:
        """``drg``, ``dip`` or ``ffs`` for a hospital (its own entry, else its level's, else the default)."""
        return self.schemes.of(fixmedins_code, level)

    def level_coef_of(self, level: int | str) -> Decimal:
        return self.level_coef[level_of(level)]

    def in_force(self, day: date, end: date | None) -> bool:
        """Whether ``day`` falls in the version's period, given its last day (see the loader's ``effective_end``)."""
        return self.effective_from <= day and (end is None or day <= end)
