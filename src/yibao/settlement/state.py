"""Accumulators (累计) as arrays: one row per slot (person × year × insutype), one balance per account.

The kernel reads and writes these arrays; the store keeps the same numbers as
named rows (``cap:inpatient``, ``disease:M03900`` …) so they stay readable and
survive policy versions that add classes or diseases. The pool's accumulators are
per class, cap and disease; every later fund tier has those ``tiers.FUNDS`` declares.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from yibao.policy.bundle import PolicyBundle
from yibao.settlement.tiers import FUNDS


@dataclass
class TierAccum:
    """What one fund tier accumulated per slot (settlement.md §3.5); None where the tier keeps no such total."""

    base: np.ndarray | None  # [slot]        cumulative base (大病, 惠民保)
    paid: np.ndarray | None  # [slot]        paid this year (its annual cap)
    burden: np.ndarray | None  # [slot]      the person's burden left under a burden cap (医疗救助)
    by_class: np.ndarray | None  # [slot, class] paid per benefit class (医疗救助's outpatient sub-limit)

    def copy(self) -> TierAccum:
        return TierAccum(*(None if (x := getattr(self, f.name)) is None else x.copy() for f in fields(self)))


@dataclass
class AccumState:
    dedc: np.ndarray  # [slot, class]  annual deductible consumed
    adm: np.ndarray  # [slot, class]   admissions counted
    cap: np.ndarray  # [slot, group]   pool pay under each annual cap
    dis: np.ndarray  # [slot, disease] pool pay per chronic disease
    tier: dict[str, TierAccum]  # the later tiers' accumulators, by tier (大额, 大病, 惠民保, 救助)
    bal: np.ndarray  # [account]       personal account balance

    @classmethod
    def zeros(cls, bundle: PolicyBundle, n_slots: int, n_accounts: int = 0) -> AccumState:
        ax = bundle.axes

        def z(*shape):
            return np.zeros(shape, dtype=np.int64)

        tiers = {
            f.tier: TierAccum(
                base=z(n_slots) if "base" in f.accumulates else None,
                paid=z(n_slots) if "paid" in f.accumulates else None,
                burden=z(n_slots) if "burden" in f.accumulates else None,
                by_class=z(n_slots, ax.benefit_class) if f.by_class else None,
            )
            for f in _TIERS
        }
        return cls(
            dedc=z(n_slots, ax.benefit_class),
            adm=z(n_slots, ax.benefit_class),
            cap=z(n_slots, ax.cap_group),
            dis=z(n_slots, ax.disease),
            tier=tiers,
            bal=z(max(n_accounts, 1)),
        )

    def copy(self) -> AccumState:
        return AccumState(
            self.dedc.copy(),
            self.adm.copy(),
            self.cap.copy(),
            self.dis.copy(),
            {k: t.copy() for k, t in self.tier.items()},
            self.bal.copy(),
        )

    # --- named form (store, scenarios, reversal) -------------------------------------------------
    def slot_values(self, bundle: PolicyBundle, slot: int = 0) -> dict[str, int]:
        """Non-zero accumulators of one slot by name."""
        out: dict[str, int] = {}
        dedc, adm = self.dedc[slot].tolist(), self.adm[slot].tolist()
        by_class = [(tier, self.tier[tier].by_class[slot].tolist()) for tier in _BY_CLASS]
        for ci, name in enumerate(bundle.classes):
            out[f"dedc:{name}"] = dedc[ci]
            out[f"admissions:{name}"] = adm[ci]
            for tier, paid in by_class:
                out[f"{tier}:{name}"] = paid[ci]
        for name, value in zip(bundle.groups, self.cap[slot].tolist(), strict=False):
            out[f"cap:{name}"] = value
        for code, value in zip(bundle.diseases, self.dis[slot].tolist(), strict=False):
            out[f"disease:{code}"] = value
        for key, tier, what in _TOTAL_KEYS:
            out[key] = getattr(self.tier[tier], what).item(slot)
        return {k: v for k, v in out.items() if v}

    def load_slot(self, bundle: PolicyBundle, values: dict[str, int], slot: int = 0) -> None:
        """Set one slot from named values; unknown names are refused (they would be silently lost)."""
        cls_idx = {n: i for i, n in enumerate(bundle.classes)}
        grp_idx = {n: i for i, n in enumerate(bundle.groups)}
        dis_idx = {n: i for i, n in enumerate(bundle.diseases)}
        for key, value in values.items():
            kind, _, name = key.partition(":")
            acc = self.tier.get(kind)
            if acc is not None and name in _TOTALS and getattr(acc, name) is not None:
                getattr(acc, name)[slot] = value
            elif acc is not None and acc.by_class is not None and name in cls_idx:
                acc.by_class[slot, cls_idx[name]] = value
            elif kind == "dedc" and name in cls_idx:
                self.dedc[slot, cls_idx[name]] = value
            elif kind == "admissions" and name in cls_idx:
                self.adm[slot, cls_idx[name]] = value
            elif kind == "cap" and name in grp_idx:
                self.cap[slot, grp_idx[name]] = value
            elif kind == "disease" and name in dis_idx:
                self.dis[slot, dis_idx[name]] = value
            else:
                raise KeyError(f"accumulator '{key}' is not known to this policy")


_TIERS = [f for f in FUNDS if f.accumulates or f.by_class]
_TOTALS = ("base", "paid", "burden")  # per-slot totals of a tier, in the order they are named
_TOTAL_KEYS = [
    (f"{f.tier}:{what}", f.tier, what) for f in _TIERS for what in _TOTALS if what in f.accumulates
]
_BY_CLASS = [f.tier for f in _TIERS if f.by_class]
