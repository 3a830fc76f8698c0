"""The shapes of a region's provider scheme (定点管理方案): frozen values, built and checked by the loader in
:mod:`yibao.providers.scheme_files` and read through :mod:`yibao.providers.scheme`.

Points, ratios and marks are :class:`~decimal.Decimal` built from the text written in the files (never a
float); months, days and counts are ``int``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.errors import InputError

CLASSES = ("hospital", "clinic", "pharmacy")
"""The institution classes (3+1+N's "3"): the keys are code's (:func:`institution_class`), the names data."""
AGGREGATES = ("trimmed_mean", "mean", "median")
DIRECTIONS = ("higher", "lower")
EFFECTS = (
    "record",
    "deadline",
    "hold_payment",
    "recover",
    "damages",
    "suspend_staff",
    "suspend",
    "terminate",
)
"""What a measure of the ladder does in yibao (supervision.md §6), mildest first."""
FIGURES = (
    "settlement_compliance",  # share of settlements with no upheld suspicion
    "upheld_suspicion_rate",  # upheld suspicions per 100 settlements
    "upheld_amount_share",  # upheld amount / fund paid
    "payment_indicator",  # the DRG/DIP statement's score, when there is one
    "complaints",  # count
    "satisfaction",  # 好差评: share good
    "inspection",  # on-site score 0–100
)
"""The figures an assessment indicator may take from yibao (``source: computed:<figure>``)."""
ROLES = ("expert", "supervisor")


@dataclass(frozen=True)
class ServiceCategory:
    """A 医保服务类别 an agreement grants (住院, 门诊特殊疾病 …): the classes that may be granted it, the national
    ``med_type`` codes it opens at settlement, and the supplementary agreement (the "N") it needs, if any."""

    code: str
    name: str
    classes: tuple[str, ...]
    med_types: tuple[str, ...]
    supplementary: str | None


@dataclass(frozen=True)
class Indicator:
    """One item of the evaluation scale (评估量表): its group (基础管理 / 服务能力 / 信息建设) and full marks."""

    code: str
    group: str
    name: str
    max_points: Decimal


@dataclass(frozen=True)
class EvaluationRules:
    """评估: the scale, the pass mark (inclusive), how the sheets' totals make the result, and the panel."""

    indicators: tuple[Indicator, ...]
    pass_mark: Decimal
    aggregate: str  # trimmed_mean | mean | median
    trim: int  # totals dropped at each end by trimmed_mean (when there are at least 2*trim+1)
    min_experts: int
    expert_fields: tuple[str, ...]
    min_supervisors: int
    supervisor_kinds: tuple[str, ...]


@dataclass(frozen=True)
class AssessIndicator:
    """One indicator of the annual assessment (年度考核): full ``points`` at ``target`` or better, none at
    ``floor`` or worse, linear between; ``direction`` says which way is better."""

    code: str
    name: str
    points: Decimal
    source: str  # computed:<figure> | manual
    direction: str  # higher | lower
    target: Decimal
    floor: Decimal

    @property
    def figure(self) -> str | None:
        """The figure a ``computed:`` indicator takes from yibao's data (None for a manual one)."""
        kind, _, name = self.source.partition(":")
        return name if kind == "computed" else None


@dataclass(frozen=True)
class Band:
    """A grade of the assessment: totals of ``min`` (inclusive) and above, down to the next band's."""

    grade: str
    name: str
    min: Decimal


@dataclass(frozen=True)
class Consequence:
    """What a grade brings: the share of the quality deposit (质量保证金) returned, whether the agreement is
    renewed, and the on-site inspections planned per year."""

    deposit_return: Decimal
    renew: bool
    inspections_per_year: int


@dataclass(frozen=True)
class ApplicationRules:
    """准入 and 退出 terms: months of operation before applying, the evaluation's months (supplementing stops
    the clock), the materials each class files, the terms, notice, voluntary suspension, the bar after a
    termination, whether public institutions may leave by application, and the suspension lengths."""

    min_operation_months: int
    evaluation_months: int
    required_materials: Mapping[str, tuple[str, ...]]
    first_term_months: int
    renewal_term_months: int
    notice_months: int
    voluntary_suspension_max_days: int
    reapply_bar_years: int
    public_may_not_exit: bool
    suspension_months: tuple[int, ...]


@dataclass(frozen=True)
class Measure:
    """A step of the agreement measures ladder (协议处理, supervision.md §6), mildest (step 1) first."""

    code: str
    step: int
    name: str
    effect: str


@dataclass(frozen=True)
class RedLine:
    """A termination ground (红线); ``mandatory`` when a national order makes termination compulsory."""

    code: str
    name: str
    mandatory: bool


@dataclass(frozen=True)
class ProviderScheme:
    """A region's provider scheme: ``regions/<admdvs>/providers/`` as checked values."""

    effective_from: date
    classes: Mapping[str, str]
    services: Mapping[str, ServiceCategory]
    application: ApplicationRules
    evaluation: EvaluationRules
    assessment_indicators: tuple[AssessIndicator, ...]
    bands: tuple[Band, ...]
    consequences: Mapping[str, Consequence]
    measures: tuple[Measure, ...]
    red_lines: tuple[RedLine, ...]

    def med_types_of(self, service_codes: Iterable[str]) -> frozenset[str]:
        """The med_types the granted service categories open at settlement; an unknown code is refused."""
        out: set[str] = set()
        for code in service_codes:
            found = self.services.get(code)
            if found is None:
                raise InputError(
                    f"services: 未知的医保服务类别 {code} (unknown service category; known: {', '.join(self.services)})"
                )
            out.update(found.med_types)
        return frozenset(out)

    def services_for(self, class_: str) -> tuple[str, ...]:
        """The codes of every service category an institution of ``class_`` may be granted, in file order."""
        return tuple(s.code for s in self.services.values() if class_ in s.classes)

    def med_type_names(self) -> dict[str, str]:
        """med_type → the name of the first service category (in file order) that opens it: the wording of a
        refusal (``names`` of :func:`yibao.providers.designation.refusal`)."""
        out: dict[str, str] = {}
        for s in self.services.values():
            for mt in s.med_types:
                out.setdefault(mt, s.name)
        return out

    def band_of(self, total: Decimal) -> Band:
        """The grade of an assessment total: the first band (highest first) whose ``min`` it reaches."""
        for band in self.bands:
            if total >= band.min:
                return band
        raise InputError(f"total: 考核得分 {total} 低于最低档 {self.bands[-1].min} (below the lowest band)")

    def measure(self, code: str) -> Measure:
        for m in self.measures:
            if m.code == code:
                return m
        raise InputError(f"measure: 未知的协议处理措施 {code} (unknown measure)")

    def red_line(self, code: str) -> RedLine:
        for r in self.red_lines:
            if r.code == code:
                return r
        raise InputError(f"red_line: 未知的解除协议情形 {code} (unknown red line)")
