"""Screening thresholds (筛查阈值): every flag of supervision.md §11 as one named parameter, with the §11 default.

All are *typical* defaults to tune on each region's data (supervision.md §0: policy is data). A region overrides
any of them from a mapping (``ScreeningParams.from_mapping``, e.g. a YAML file's contents); unknown keys are
refused so a typo cannot silently keep a default. Where a default departs from the §11 table the field's
comment says why. Peer percentiles are given as fractions (0.99 = P99).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from yibao.errors import InputError


@dataclass(frozen=True)
class HospitalParams:
    """§11.1 hospital surge with one diagnosis and near-identical stays (批量虚假 / 诱导住院)."""

    s1_min_admissions: int = 20  # N ≥ 20 in the month
    s1_min_ratio: float = (
        1.5  # N / expected ≥ 1.5 (expected: own median month × the region's diagnosis season)
    )
    s1_min_z: float = 3.0  # robust z of log N against the hospital's own months
    s2_min_share: float = 0.40  # top diagnosis share s ≥ 0.40 …
    s2_min_rise: float = 0.20  # … and s − baseline share ≥ 0.20,
    s2_max_p: float = 1e-4  # or binomial tail p < 1e-4 against the baseline share
    s3_peer_quantile: float = 0.05  # LOS CV below the peers' P5 for that diagnosis …
    s3_min_mode_share: float = 0.5  # … and mode share m ≥ 0.5
    s4_min_similarity: float = 0.9  # median pairwise bill Jaccard ≥ 0.9 …
    s4_max_peer_similarity: float = 0.6  # … while peers' < 0.6;
    s4_cost_quantile: float = 0.05  # or cost CV below the peers' P5
    s5_min_pairs: int = 5  # ≥ 5 co-admission pairs (same admission and discharge day)
    s5_peer_quantile: float = 0.95  # share aged ≥ 65 / new to the hospital above the peers' P95
    s5_min_of: int = 2  # S5 = any two of its parts
    lead_min_of_s2_s4: int = 2  # lead = S1 and ≥ 2 of S2–S4
    min_stays: int = 10  # a diagnosis needs this many stays for a LOS or bill statistic
    minhash_perm: int = 64  # MinHash permutations (error of a Jaccard estimate ≈ 1/√64 = 0.125 per pair)
    sample_claims: int = 120  # claims sampled per hospital × diagnosis for the pairwise median


@dataclass(frozen=True)
class PharmacyParams:
    """§11.2 pharmacy card skimming (盗刷 / 空刷 / 冒名购药)."""

    # §11.2 says any in-stay purchase is a case unless documented 委托购药 / 家庭共济; the documentation is not in
    # the data and one purchase is as often the stay that is false (§11.4 F1), so a store needs 3 to open a case
    p1_case_min: int = 3
    p1_max_p: float = (
        1e-3  # … and more than the region's rate explains (binomial tail p < 1e-3): busy stores see more
    )
    p2_case_min: int = 1  # settlement after death → case
    p5_window_s: int = 600  # most distinct persons in 10 minutes at one terminal (here: the store)
    p5_gap_s: int = 60  # consecutive settlements of different persons < 60 s apart
    p6_last_days: int = 15  # share of the year's amount in the last 15 days of December
    p7_min_persons: int = 3  # a basket identical across ≥ 3 persons in a day
    peer_quantile: float = 0.99  # above peer P99 …
    min_z: float = (
        3.0  # … and robust z ≥ 3 (with 300 stores, P99 alone flags three honest ones by definition)
    )
    lead_min_of: int = 3  # ≥ 3 of P5–P7 (P3, P4, P8, P9 need data the frame lacks)


@dataclass(frozen=True)
class FictitiousParams:
    """§11.4 fictitious hospitalisation (虚构住院)."""

    f1_case_min: int = 3  # stays with another settlement inside them (same reason as p1_case_min) …
    f1_max_p: float = 1e-4  # … and more than the region's rate per stay-day explains: Poisson tail p < 1e-4
    f2_care_codes: tuple[str, ...] = (
        "07",
        "09",
        "05",
    )  # a cared-for day has nursing, drug or treatment lines
    f2_lab_code: str = "04"  # laboratory (化验费)
    f3_min_patients: int = 3  # a day vector shared by ≥ 3 patients is a template day
    f4_min_pairs: int = 5  # co-admission pairs
    peer_quantile: float = 0.99
    min_z: float = 3.0
    lead_min_of: int = 2  # lead if ≥ 2 of F2–F4
    min_stays: int = 20


@dataclass(frozen=True)
class DoctorParams:
    """§11.5 doctors: physical capacity and peers within grade and department."""

    hour_capacity: int = 20  # D1: more visits than this in one clock hour is under 3 minutes a patient …
    min_over_hours: int = 2  # … on at least this many hours (a medical bar, not a peer percentile)
    peer_quantile: float = 0.99
    min_z: float = 3.0
    min_visits: int = 200  # a doctor with fewer visits in the year is not ranked
    pharmacy_days: int = 7  # a patient "shared with one pharmacy" buys there within 7 days of the visit
    lead_min_of: int = 2


@dataclass(frozen=True)
class PersonParams:
    """§11.5 insured persons: stockpiling and shopping around."""

    max_drug_days_30: float = 45.0  # drug-days supplied per 30 days > 45 suggests stockpiling or resale
    min_purchases: int = 4  # of one drug, for a supply rate
    min_regular_share: float = 0.5  # a long-term medicine: at least half its buyers buy it regularly
    min_z: float = 3.0
    z_floor: float = 1.0  # MAD floor for counts: most persons' monthly MAD is 0
    lead_min_of: int = 1  # U4 (drug-days) alone: the excess supply is the pattern; 2 would ask one more flag


@dataclass(frozen=True)
class ScreeningParams:
    """Every screening threshold, by detector."""

    hospital: HospitalParams = field(default_factory=HospitalParams)
    pharmacy: PharmacyParams = field(default_factory=PharmacyParams)
    fictitious: FictitiousParams = field(default_factory=FictitiousParams)
    doctor: DoctorParams = field(default_factory=DoctorParams)
    person: PersonParams = field(default_factory=PersonParams)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ScreeningParams:
        """Defaults overridden by ``{"hospital": {"s1_min_z": 2.5}, …}``; unknown keys are an InputError."""
        out = cls()
        for section, values in (data or {}).items():
            if section not in {f.name for f in fields(cls)}:
                raise InputError(f"screening params: 未知分组 (unknown section) {section!r}")
            current = getattr(out, section)
            names = {f.name: f for f in fields(current)}
            changes = {}
            for key, value in (values or {}).items():
                if key not in names:
                    raise InputError(f"screening params: {section}.{key} 未知 (unknown threshold)")
                default = getattr(current, key)
                try:
                    changes[key] = tuple(value) if isinstance(default, tuple) else type(default)(value)
                except (TypeError, ValueError):
                    raise InputError(
                        f"screening params: {section}.{key} 取值无效 (bad value {value!r})"
                    ) from None
            out = replace(out, **{section: replace(current, **changes)})
        return out
