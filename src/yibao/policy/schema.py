"""The schema of one policy version (one YAML file under ``regions/<admdvs>/policy/``).

Tables of ratios and amounts may be written three ways, all normalised to
``{psn_type: {level: value}}`` before validation (``*`` = every one):

* a scalar (``"0.85"``) — every person category and hospital level;
* a level map (``{1: "0.80", 2: "0.70", 3: "0.60"}``) — keys are ``dedc_hosp_lv`` 1/2/3;
* a person-category map (``{"11": {...}, "12": "0.90"}``) — keys are ``psn_type`` codes of the insutype.

Amounts are yuan with at most two decimals, ratios are in [0, 1] with at most four
decimals; both may be quoted or not (the YAML reader keeps them exact). A limit
is an amount or the word ``unlimited``. Nothing has a silent default: a missing
amount is an error, not zero.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from yibao.money import BP, AmountError, parse_amount, parse_ratio

ALL = "*"
LEVELS = ("1", "2", "3")
UNLIMITED = "unlimited"


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _amount(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value} is not an amount")
    try:
        fen = parse_amount(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not an amount (yuan with at most two decimals)") from None
    if fen < 0:
        raise ValueError(f"{_text(value)} is not an amount ≥ 0")
    return fen


def _ratio(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a ratio in [0, 1]")
    try:
        bp = parse_ratio(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not a ratio in [0, 1]") from None
    if not 0 <= bp <= BP:
        raise ValueError(f"{_text(value)} is not a ratio in [0, 1]")
    return bp


def _limit(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return None
    if value is None:
        raise ValueError(f"a limit must be an amount or '{UNLIMITED}'")
    return _amount(value)


def _code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{value!r} is not a code")
    text = str(value).strip()
    if not text:
        raise ValueError("empty code")
    return text


def _ratio_any(value: Any) -> int:
    """A non-negative multiplier with at most four decimals (e.g. 3.00 × the average wage)."""
    try:
        bp = parse_ratio(value)
    except AmountError:
        raise ValueError(f"{_text(value)} is not a number with at most four decimals") from None
    if bp < 0:
        raise ValueError(f"{_text(value)} must not be negative")
    return bp


def _month_day(value: Any) -> str:
    text = str(value).strip()
    try:
        month, day = (int(x) for x in text.split("-"))
        date(2024, month, day)  # a leap year accepts 02-29
    except ValueError:
        raise ValueError(f'"{text}" is not a month-day (MM-DD)') from None
    return f"{month:02d}-{day:02d}"


Amount = Annotated[int, BeforeValidator(_amount)]
Ratio = Annotated[int, BeforeValidator(_ratio)]
Limit = Annotated[int | None, BeforeValidator(_limit)]
Code = Annotated[str, BeforeValidator(_code)]


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _is_level_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k) in LEVELS for k in value)


def _level_map(value: Any) -> Any:
    if _is_scalar(value):
        return {ALL: value}
    if _is_level_map(value):
        return {str(k): v for k, v in value.items()}
    return value  # leave it to validation to complain with a path


def normalise_table(value: Any) -> Any:
    """scalar | level map | person-category map  →  {psn_type|*: {level|*: value}}."""
    if _is_scalar(value) or _is_level_map(value):
        return {ALL: _level_map(value)}
    if isinstance(value, dict):
        return {str(k): _level_map(v) for k, v in value.items()}
    return value


def normalise_category_table(value: Any) -> Any:
    """scalar | person-category map  →  {psn_type|*: value} (caps do not vary by level)."""
    if _is_scalar(value):
        return {ALL: value}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


RatioTable = Annotated[dict[str, dict[str, Ratio]], BeforeValidator(normalise_table)]
AmountTable = Annotated[dict[str, dict[str, Amount]], BeforeValidator(normalise_table)]
LimitTable = Annotated[dict[str, Limit], BeforeValidator(normalise_category_table)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BenefitClassDef(Model):
    """A benefit class (待遇类别) and the med_types that fall in it."""

    name: str
    med_types: list[Code] = Field(min_length=1)
    requires_disease: bool = False  # 门诊慢特病: the visit names a registered disease


class Deductible(Model):
    """起付线: none, once a year (shared across levels), or per admission (by level)."""

    kind: Literal["none", "annual", "per_admission"]
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


class ClassBenefit(Model):
    """The basic pool's benefit for one class of one insutype."""

    pool: bool = True  # false: no pool benefit at all (e.g. 药店购药 for 职工: account only)
    deductible: Deductible | None = None
    ratio: RatioTable | None = None
    cap: str | None = None  # name of an annual cap in the insutype's ``caps``, or 'unlimited'
    disease_caps: dict[str, Limit] | None = None  # chronic classes: annual pool cap per disease

    @model_validator(mode="after")
    def _complete(self) -> ClassBenefit:
        if self.pool:
            missing = [k for k in ("deductible", "ratio", "cap") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a pool benefit needs {', '.join(missing)} (or 'pool: false')")
        elif any(getattr(self, k) is not None for k in ("deductible", "ratio", "cap", "disease_caps")):
            raise ValueError("'pool: false' takes no deductible, ratio, cap or disease_caps")
        return self


class AccountPolicy(Model):
    """个人账户: usable for the person's part when acct_used_flag = 1."""

    fund_pay_type: Code


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
    """The assistance-target tilt of 大病保险: lower deductible, ratios raised, own cap."""

    identities: list[Code] = Field(min_length=1)
    deductible: Amount
    ratio_add: Ratio
    cap: Limit


class CriticalIllnessPolicy(Model):
    """大病保险 (居民): segments over the year's cumulative in-scope burden after the pool."""

    fund_pay_type: Code
    classes: list[str] = Field(min_length=1)
    deductible: Amount
    segments: list[Segment] = Field(min_length=1)
    cap: Limit
    tilt: CriticalIllnessTilt | None = None


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
    name: str
    ratio: Ratio
    annual_limit: Limit
    class_limits: dict[str, Limit] = Field(default_factory=dict)


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
    base_ceiling: Annotated[int, BeforeValidator(lambda v: _ratio_any(v))]  # may exceed 1 (3.00)
    retiree_account_credit: Amount  # monthly, to each 退休's account
    flexible_rate: Ratio  # 灵活就业: all to the pool, no account
    min_years_male: int = Field(ge=0, le=60)
    min_years_female: int = Field(ge=0, le=60)


class ResidentContribution(Model):
    """居民: the year's individual contribution and government subsidy; the enrollment window; waiting periods."""

    individual: Amount
    subsidy: Amount
    window_from: Annotated[str, BeforeValidator(lambda v: _month_day(v))]  # "09-01": opens for the next year
    window_to: Annotated[str, BeforeValidator(lambda v: _month_day(v))]
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
