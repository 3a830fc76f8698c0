"""The schema of one policy version (one YAML file under ``regions/<admdvs>/policy/``).

Its values — amounts, ratios, limits, codes, tables by person category and level — are
:mod:`yibao.policy.values`; nothing has a silent default: a missing amount is an error, not zero.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from yibao.money import BP, div_round_half_up
from yibao.policy.values import (
    ALL,
    LEVELS,
    UNLIMITED,
    Amount,
    AmountTable,
    Code,
    Limit,
    LimitTable,
    Model,
    Ratio,
    RatioTable,
    month_day,
    ratio_any,
)

__all__ = ["ALL", "LEVELS", "UNLIMITED", "ContributionPolicy", "InsutypePolicy", "PolicyVersion"]


class BenefitClassDef(Model):
    """A benefit class (待遇类别) and the med_types that fall in it."""

    name: str
    med_types: list[Code] = Field(min_length=1)
    requires_disease: bool = False  # 门诊慢特病: the visit names a registered disease
    # requires_disease only: the chronic diseases this class accepts (none written: every one); a visit of
    # the class naming another disease is refused (a 红斑狼疮 visit billed under a 两病 med_type)
    diseases: list[Code] | None = None

    @model_validator(mode="after")
    def _diseases_need_disease(self) -> BenefitClassDef:
        if self.diseases is not None and not self.requires_disease:
            raise ValueError("'diseases' applies to classes with requires_disease: true only")
        return self


class Deductible(Model):
    """起付线: none, once a year (shared across levels), per admission (by level), per visit, or an entry
    threshold (per visit: a visit whose in-scope amount exceeds it is admitted whole, 超过即全额纳入)."""

    kind: Literal["none", "annual", "per_admission", "per_visit", "threshold"]
    amount: AmountTable | None = None
    repeat_ratio: Ratio | None = None  # per_admission: factor from the 2nd admission of the year

    @model_validator(mode="after")
    def _complete(self) -> Deductible:
        if self.kind != "none" and self.amount is None:
            raise ValueError(f"deductible kind '{self.kind}' needs 'amount'")
        if self.kind == "per_admission" and self.repeat_ratio is None:
            raise ValueError(
                "deductible kind 'per_admission' needs 'repeat_ratio' (e.g. 0.50 from the 2nd admission)"
            )
        if self.kind == "none" and (self.amount is not None or self.repeat_ratio is not None):
            raise ValueError("deductible kind 'none' takes no amount")
        if self.kind == "annual" and self.repeat_ratio is not None:
            raise ValueError("'repeat_ratio' applies to per_admission deductibles only")
        return self


class DiseaseGroup(Model):
    """A group of chronic diseases inside a class (病种组, e.g. 两病) with benefits of its own.

    What the group does not write is the class's. A group that writes ``deductible`` says whether it
    consumes the class's annual deductible (``deductible_shared: true``: one 门特 deductible a year) or
    its own."""

    name: str
    diseases: list[Code] = Field(min_length=1)
    deductible: Deductible | None = None
    deductible_shared: bool | None = None
    ratio: RatioTable | None = None
    cap: str | None = None

    @model_validator(mode="after")
    def _shared_said(self) -> DiseaseGroup:
        if self.deductible is not None and self.deductible_shared is None:
            raise ValueError(
                "a group with its own 'deductible' must say 'deductible_shared: true' or 'false'"
            )
        if self.deductible is None and self.deductible_shared is not None:
            raise ValueError("'deductible_shared' goes with the group's own 'deductible'")
        if self.deductible_shared and self.deductible.kind not in ("annual", "none"):
            raise ValueError("only an annual deductible can be shared with the class")
        return self


class ClassBenefit(Model):
    """The basic pool's benefit for one class of one insutype."""

    pool: bool = True  # false: no pool benefit at all (e.g. 药店购药 for 职工: account only)
    deductible: Deductible | None = None
    ratio: RatioTable | None = None
    cap: str | None = None  # name of an annual cap in the insutype's ``caps``, or 'unlimited'
    disease_caps: dict[str, Limit] | None = None  # chronic classes: annual pool cap per disease
    groups: dict[Code, DiseaseGroup] | None = None  # chronic classes: disease groups with own benefits

    @model_validator(mode="after")
    def _complete(self) -> ClassBenefit:
        if self.pool:
            missing = [k for k in ("deductible", "ratio", "cap") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a pool benefit needs {', '.join(missing)} (or 'pool: false')")
        elif any(
            getattr(self, k) is not None for k in ("deductible", "ratio", "cap", "disease_caps", "groups")
        ):
            raise ValueError("'pool: false' takes no deductible, ratio, cap, disease_caps or groups")
        return self


class AccountPolicy(Model):
    """个人账户: usable for the person's part when acct_used_flag = 1. ``psn_types``: the person categories
    that have one (灵活就业 has none in many cities); absent: every category of the insutype."""

    fund_pay_type: Code
    psn_types: list[Code] | None = Field(None, min_length=1)


class LargeExpensePolicy(Model):
    """大额医疗费用补助 (职工): pays on the in-scope amount above the pool's annual cap."""

    fund_pay_type: Code
    classes: list[str] = Field(min_length=1)
    ratio: Ratio
    cap: Limit


class Segment(Model):
    upto: Amount | None = None  # upper bound on the cumulative base; none on the last segment
    ratio: Ratio


class CriticalIllnessTilt(Model):
    """A tilt (倾斜) of 大病保险 for the holders of some identities: its own deductible (an amount, or a share
    of the ordinary one: 降低 50 % is ``deductible_share: "0.50"``), ratios raised (``ratio_add``) or set
    flat (``ratio``, every segment), its own cap, and classes whose personal burden also counts into its
    base (``extra_classes``, e.g. outpatient costs for 出生缺陷儿童)."""

    name: str
    identities: list[Code] = Field(min_length=1)
    deductible: Amount | None = None
    deductible_share: Ratio | None = None
    ratio_add: Ratio | None = None
    ratio: Ratio | None = None
    cap: Limit
    extra_classes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_of_each(self) -> CriticalIllnessTilt:
        if (self.deductible is None) == (self.deductible_share is None):
            raise ValueError("a tilt takes exactly one of 'deductible' (an amount) and 'deductible_share'")
        if (self.ratio_add is None) == (self.ratio is None):
            raise ValueError(
                "a tilt takes exactly one of 'ratio_add' (raise each segment) and 'ratio' (flat)"
            )
        return self

    def deductible_of(self, ordinary: int) -> int:
        """The tilt's deductible in fen, given the ordinary one (a share rounds half-up to the fen)."""
        if self.deductible is not None:
            return self.deductible
        return div_round_half_up(ordinary * self.deductible_share, BP)

    def segment_ratio(self, ordinary: int) -> int:
        return self.ratio if self.ratio is not None else ordinary + self.ratio_add


class CriticalIllnessPolicy(Model):
    """大病保险 (居民): segments over the year's cumulative in-scope burden after the pool."""

    fund_pay_type: Code
    classes: list[str] = Field(min_length=1)
    deductible: Amount
    segments: list[Segment] = Field(min_length=1)
    cap: Limit
    # tilts by name, in priority order: a person holding identities of several gets the first one listed
    tilts: dict[Code, CriticalIllnessTilt] = Field(default_factory=dict)


class InsutypePolicy(Model):
    """Everything one insutype (险种) pays; benefit classes are keys next to these fields."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, ClassBenefit] = Field(init=False)

    name: str
    psn_types: dict[Code, str] = Field(min_length=1)  # psn_type prefixes → name (14 covers 1401 …)
    pool_fund: Code
    account: AccountPolicy | None = None
    caps: dict[str, LimitTable] = Field(default_factory=dict)
    large_expense: LargeExpensePolicy | None = None
    critical_illness: CriticalIllnessPolicy | None = None
    # 先付费后报销: person categories whose visits are paid in full at the institution and claimed later
    # (the claim settles the visit's lines by the same chain); their settlements at the institution pay no fund
    pay_first: list[Code] = Field(default_factory=list)

    @property
    def classes(self) -> dict[str, ClassBenefit]:
        return dict(self.__pydantic_extra__ or {})


class SupplementaryTilt(Model):
    identities: list[Code] = Field(min_length=1)
    deductible: Amount
    ratio: Ratio
    cap: Limit


class SupplementaryPolicy(Model):
    """惠民保 / 商业补充医疗保险: for persons enrolled that year; paid as ``oth_pay``."""

    name: str
    fund_pay_type: Code
    insutypes: list[Code] = Field(min_length=1)
    classes: list[str] = Field(min_length=1)
    deductible: Amount
    ratio: Ratio
    cap: Limit
    tilt: SupplementaryTilt | None = None


class AssistanceCategory(Model):
    """One assistance category, keyed by the identity (psn_idet_type) that qualifies for it.

    ``grades``: only holders of these grades of the identity (psn_type_lv; 二级及以上残疾 is 25 with
    ``grades: ["1", "2"]``). ``diagnoses``: only visits whose diagnosis (the principal ``dise_codg`` or the
    chronic ``opsp_dise_code``) starts with one of these codes (重特大疾病). ``burden_cap``: the person's
    annual in-scope burden after every fund (负担封顶); assistance pays what would exceed it, within its limits.
    ``look_back_months``: a person newly recognised gets this category's assistance, as a supplementary
    settlement, on each settlement of that many months before the recognition (认定前 6 个月: 6).
    """

    name: str
    ratio: Ratio
    annual_limit: Limit
    class_limits: dict[str, Limit] = Field(default_factory=dict)
    grades: list[Code] | None = Field(None, min_length=1)
    diagnoses: list[Code] | None = Field(None, min_length=1)
    burden_cap: Amount | None = None
    look_back_months: int | None = Field(None, ge=1, le=24)


class AssistancePolicy(Model):
    """医疗救助: last tier on what the insurances left; categories by psn_idet_type."""

    fund_pay_type: Code
    insutypes: list[Code] = Field(min_length=1)
    classes: list[str] = Field(min_length=1)
    selection: Literal["most_favourable"]
    categories: dict[Code, AssistanceCategory] = Field(min_length=1)


class EmployeeContribution(Model):
    """职工: employer share to the pool, employee share to the personal account, on a clamped base."""

    employer_rate: Ratio
    employee_rate: Ratio
    base_floor: Ratio  # of the average wage (0.60)
    base_ceiling: Annotated[int, BeforeValidator(lambda v: ratio_any(v))]  # may exceed 1 (3.00)
    retiree_account_credit: Amount  # monthly, to each 退休's account
    flexible_rate: Ratio  # 灵活就业: all to the pool, no account
    min_years_male: int = Field(ge=0, le=60)
    min_years_female: int = Field(ge=0, le=60)


class ResidentContribution(Model):
    """居民: the year's individual contribution and government subsidy; the enrollment window; waiting periods."""

    individual: Amount
    subsidy: Amount
    window_from: Annotated[str, BeforeValidator(lambda v: month_day(v))]  # "09-01": opens for the next year
    window_to: Annotated[str, BeforeValidator(lambda v: month_day(v))]
    waiting_months: int = Field(ge=0, le=24)
    waiting_months_per_break_year: int = Field(ge=0, le=12)
    assistance_shares: dict[Code, Ratio] = Field(default_factory=dict)  # 资助参保 by psn_idet_type


class ContributionPolicy(Model):
    """缴费: the average wage of the year and the rules of both schemes."""

    average_monthly_wage: Amount
    employee: EmployeeContribution
    resident: ResidentContribution


class CataloguePolicy(Model):
    """目录: how a fee line whose code is not in the region's 医保目录 on the visit date is settled. ``refuse``
    (the national platform's rule: an item must be in the catalogue or mapped to it, 目录对照) or
    ``self_pay`` (accepted as 全自费, 丙类)."""

    unknown_items: Literal["refuse", "self_pay"]


class PolicyVersion(Model):
    """One effective-dated policy version of a region."""

    region: Code
    version: Code
    title: str
    effective_from: date
    effective_to: date | None = None
    benefit_classes: dict[str, BenefitClassDef] = Field(min_length=1)
    chronic_diseases: dict[Code, str] = Field(default_factory=dict)
    insutype: dict[Code, InsutypePolicy] = Field(min_length=1)
    supplementary: SupplementaryPolicy | None = None
    assistance: AssistancePolicy | None = None
    contribution: ContributionPolicy | None = None
    catalogue: CataloguePolicy = CataloguePolicy(unknown_items="refuse")
