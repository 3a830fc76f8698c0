"""The kernel's named arrays: the visits of a wave going in, one record per step of settlement.md §3 coming out.

Every field is an array over the same visits (index = visit). Records are slotted dataclasses of arrays,
which cost one reference per field. A NumPy structured array was measured as the alternative: building and
reading an eight-field record took 4.6 µs against 2.1 µs for one visit, and 326 µs against 48 µs for a wave
of 25,000 (its fields are strided views), and summing a million-row column was ten times slower.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import ClassVar

import numpy as np


@dataclass(slots=True)
class VisitArrays:
    """Per-visit inputs of the fund chain, parallel int64/bool arrays (index = visit)."""

    slot: np.ndarray  # accumulator slot (person × year × insutype)
    acct: np.ndarray  # account index paying the person's part, -1 = no account
    ver: np.ndarray  # policy version index
    ins: np.ndarray  # insutype index
    cls: np.ndarray  # benefit class index
    cat: np.ndarray  # person category index
    lvl: np.ndarray  # dedc_hosp_lv 1..3 (0 = not given)
    dis: np.ndarray  # chronic disease index, -1 = none
    idmask: np.ndarray  # identities held on the visit date (bit per bundle.identity_codes)
    sp_enrolled: np.ndarray  # bool: enrolled in 惠民保 that year
    acct_flag: np.ndarray  # acct_used_flag 0/1/2
    new_adm: np.ndarray  # bool: this settlement opens an admission (inpatient-type deductibles)
    adm_dedc_used: np.ndarray  # deductible already consumed by this admission (mid-way settlements)
    # of the split sums of its fee lines (settlement.md §2) the chain reads two:
    medfee: np.ndarray  # medfee_sumamt
    inscp: np.ndarray  # inscp_scp_amt
    # a continuation's (中途结算) per-admission deductible as fixed when its admission opened; -1 or None:
    # derive it from the admissions counted now (right whenever nothing opened or was reversed in between)
    adm_dedc: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.slot.size)

    def take(self, idx: np.ndarray) -> VisitArrays:
        """The visits ``idx`` (a wave)."""
        return VisitArrays(*(None if (x := getattr(self, n)) is None else x[idx] for n in _VISIT_FIELDS))

    @staticmethod  # (not a classmethod: ``cls`` is a field)
    def one(**values: int) -> VisitArrays:
        """A wave of one visit from its named values (every field, ``adm_dedc`` included).

        The values are packed into one int64 block, a row per field in field order: one allocation for the
        online path.
        """
        v = VisitArrays(*np.array([values[n] for n in _VISIT_FIELDS], dtype=np.int64)[:, None])
        v.sp_enrolled, v.new_adm = v.sp_enrolled.astype(bool), v.new_adm.astype(bool)
        return v


_VISIT_FIELDS = tuple(f.name for f in fields(VisitArrays))


@dataclass(slots=True)
class FundPay:
    """What one fund of the chain paid, and its setldetail row: the base it computed on and its limit
    left before this settlement (INF: unlimited). A tier no visit was eligible for is all zeros."""

    pay: np.ndarray
    base: np.ndarray
    rem: np.ndarray
    INTERNAL: ClassVar[tuple[str, ...]] = ()  # fields for the next steps only, not kept in a batch's outputs


@dataclass(slots=True)
class PoolPay(FundPay):
    """3.1 基本医保统筹: ``pay`` is hifp_pay, ``base`` what the ratio applied to, ``rem`` min(disease, class cap left)."""

    act_pay_dedc: np.ndarray  # deductible consumed now
    ratio: np.ndarray  # bp, shown as pool_prop_selfpay
    adm_dedc: np.ndarray  # the per-admission deductible this admission carries (fixed when it opens)
    counted_adm: np.ndarray  # 1 when it opened an admission that counts towards the year's
    # for the next steps only (大额 reads them), not kept in a batch's outputs:
    before_cap: np.ndarray | None  # `a` of the contract: after the disease cap, before the class's annual cap
    on: np.ndarray | None  # the class has a pool benefit for the insutype
    INTERNAL: ClassVar[tuple[str, ...]] = ("before_cap", "on")


@dataclass(slots=True)
class CumulativePay(FundPay):
    """大病 (3.2) and 惠民保 (3.3): paid as the difference of a cumulative function of the year's base,
    ``base`` being what this settlement adds to it."""

    on: np.ndarray  # eligible (class, insutype, enrolment)
    tilt: np.ndarray  # 1: the assistance-target terms applied


@dataclass(slots=True)
class AssistancePay(FundPay):
    """3.3 医疗救助: the most favourable category held on the visit date."""

    category: np.ndarray  # index into bundle.assistance_codes, -1: none paid
    burden: np.ndarray  # the person's in-scope burden left by this settlement, under a burden cap (负担封顶)


@dataclass(slots=True)
class AccountPay:
    """3.4 totals, personal account (个人账户, also 共济) and cash."""

    fund_pay_sumamt: np.ndarray
    psn_part_amt: np.ndarray
    acct_pay: np.ndarray
    acct_mulaid_pay: np.ndarray  # the part of acct_pay from a relative's account (共济)
    psn_cash_pay: np.ndarray
    balc: np.ndarray  # balance after
    bal_before: np.ndarray  # balance before (the account's setldetail limit)
    acct_on: np.ndarray  # 1 when an account took part (its balance is shown in balc)


@dataclass(slots=True)
class ChainOutputs:
    """The fund chain's outputs per visit: each fund's record by tier (``tiers.FUNDS``) in chain order,
    the pool first, then the account."""

    funds: dict[str, FundPay]
    account: AccountPay

    def records(self) -> list:
        return [*self.funds.values(), self.account]

    def by_name(self) -> dict:
        """Every record by name: the funds' tiers, and "account"."""
        return {**self.funds, "account": self.account}

    @classmethod
    def zeros_like(cls, wave: ChainOutputs, n: int) -> ChainOutputs:
        """Outputs for ``n`` visits shaped as ``wave``'s records: int64 zeros (flags are stored as 0/1), and
        None for the fields the chain uses internally."""

        def zeros(rec):
            return type(rec)(**{k: np.zeros(n, dtype=np.int64) for k in _kept(type(rec))}, **_none(type(rec)))

        return cls({k: zeros(r) for k, r in wave.funds.items()}, zeros(wave.account))

    def put(self, idx: np.ndarray, wave: ChainOutputs) -> None:
        """Write a wave's records into rows ``idx``."""
        for mine, theirs in zip(self.records(), wave.records(), strict=True):
            for k in _kept(type(mine)):
                getattr(mine, k)[idx] = getattr(theirs, k)


@cache
def _kept(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record) if f.name not in getattr(record, "INTERNAL", ()))


@cache
def _none(record: type) -> dict[str, None]:
    return dict.fromkeys(getattr(record, "INTERNAL", ()))
