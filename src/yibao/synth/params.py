"""Generator parameters (生成参数), with their defaults and validation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from yibao.errors import InputError


@dataclass(frozen=True)
class Params:
    persons: int = 20_000
    year: int = 2025
    seed: int = 42
    # age pyramid (China 2020 census): 0–14, 15–59, 60+
    age_shares: tuple[float, float, float] = (0.18, 0.63, 0.19)
    employee_share: float = 0.35  # 职工 among everyone
    retired_share: float = 0.28  # 退休 among 职工
    # assistance identities: 特困 2304, 低保 2303, 低收入 2305, 脱贫 2302 (shares of everyone)
    assistance_shares: dict[str, float] = field(
        default_factory=lambda: {"2304": 0.003, "2303": 0.015, "2305": 0.010, "2302": 0.012}
    )
    huiminbao_share: float = 0.48
    outpatient_per_year: float = 5.0  # mean outpatient visits per person-year
    admission_rate: float = 0.18  # admissions per person-year (rises with age)
    pharmacy_per_year: float = 4.0  # pharmacy purchases per 职工 per year
    employer_size: int = 40  # mean employees per employer
    # 参保率: the synthetic census counts each district's residents so that this share of them is insured
    # (every generated person is insured; the census adds the uninsured), with a district spread of ±1.5 points
    coverage_share: float = 0.955
    # the year's events (shares of employers or persons; at least one of each when the share is not 0)
    # employers late with their first declarations (欠缴, some paid back)
    arrears_employer_share: float = 0.05
    transfer_share: float = 0.0004  # 转入 and, as many, 转出
    duplicate_share: float = 0.0005  # 职工 also enrolled as 居民, and ID numbers under a second psn_no
    family_binding_share: float = 0.0025  # 共济 bindings
    # 职工 outpatient settlements reversed and settled again (admissions: half as many)
    reversal_share: float = 0.0005

    def validate(self, supported_years: set[int]) -> None:
        """Refuse impossible parameters with one line naming the parameter."""
        if self.persons <= 0:
            raise InputError(f"--persons: 必须为正整数 (got {self.persons})")
        if self.persons > 20_000_000:
            raise InputError(f"--persons: 超过上限 20,000,000 (got {self.persons})")
        if self.year not in supported_years:
            years = ", ".join(map(str, sorted(supported_years)))
            raise InputError(f"--year: {self.year} 没有待遇政策 (policy covers {years})")
        if abs(sum(self.age_shares) - 1) > 1e-9 or min(self.age_shares) < 0:
            raise InputError(f"age_shares: 年龄结构占比之和应为 1 (got {self.age_shares})")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_share") and not 0 <= v <= 1:
                raise InputError(f"{f.name}: 占比应在 [0, 1] (got {v})")
        if sum(self.assistance_shares.values()) > 1 or min(self.assistance_shares.values(), default=0) < 0:
            raise InputError("assistance_shares: 救助身份占比之和应在 [0, 1]")
        for name in ("outpatient_per_year", "admission_rate", "pharmacy_per_year"):
            if getattr(self, name) < 0:
                raise InputError(f"{name}: 不能为负")
        if self.coverage_share <= 0:
            raise InputError(f"coverage_share: 参保率须大于 0 (got {self.coverage_share})")
        if self.employer_size < 1:
            raise InputError("employer_size: 至少为 1")
