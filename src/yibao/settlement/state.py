"""Accumulators (累计) as arrays: one row per slot (person × year × insutype), one balance per account.

The kernel reads and writes these arrays; the store keeps the same numbers as
named rows (``cap:inpatient``, ``disease:M03900`` …) so they stay readable and
survive policy versions that add classes or diseases.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from yibao.policy.compiler import PolicyBundle

# Scalar accumulators per slot: attribute name → stored key.
SCALARS = {
    "le": "large_expense:paid",
    "ci_base": "critical:base",
    "ci_paid": "critical:paid",
    "sp_base": "supplementary:base",
    "sp_paid": "supplementary:paid",
    "as_total": "assistance:paid",
}


@dataclass
class AccumState:
    dedc: np.ndarray  # [slot, class]  annual deductible consumed
    adm: np.ndarray  # [slot, class]   admissions counted
    cap: np.ndarray  # [slot, group]   pool pay under each annual cap
    dis: np.ndarray  # [slot, disease] pool pay per chronic disease
    le: np.ndarray  # [slot]           大额 paid
    ci_base: np.ndarray  # [slot]      大病 cumulative base
    ci_paid: np.ndarray  # [slot]      大病 paid
    sp_base: np.ndarray  # [slot]      惠民保 cumulative base
    sp_paid: np.ndarray  # [slot]      惠民保 paid
    as_total: np.ndarray  # [slot]     assistance paid (all classes)
    as_class: np.ndarray  # [slot, class] assistance paid per class
    bal: np.ndarray  # [account]       personal account balance

    @classmethod
    def zeros(cls, bundle: PolicyBundle, n_slots: int, n_accounts: int = 0) -> AccumState:
        C, G, D = len(bundle.classes), max(len(bundle.groups), 1), max(len(bundle.diseases), 1)

        def z(*shape):
            return np.zeros(shape, dtype=np.int64)

        return cls(
            dedc=z(n_slots, C),
            adm=z(n_slots, C),
            cap=z(n_slots, G),
            dis=z(n_slots, D),
            le=z(n_slots),
            ci_base=z(n_slots),
            ci_paid=z(n_slots),
            sp_base=z(n_slots),
            sp_paid=z(n_slots),
            as_total=z(n_slots),
            as_class=z(n_slots, C),
            bal=z(max(n_accounts, 1)),
        )

    def copy(self) -> AccumState:
        return AccumState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    # --- named form (store, scenarios, reversal) -------------------------------------------------
    def slot_values(self, bundle: PolicyBundle, slot: int = 0) -> dict[str, int]:
        """Non-zero accumulators of one slot by name."""
        out: dict[str, int] = {}
        for ci, name in enumerate(bundle.classes):
            out[f"dedc:{name}"] = int(self.dedc[slot, ci])
            out[f"admissions:{name}"] = int(self.adm[slot, ci])
            out[f"assistance:{name}"] = int(self.as_class[slot, ci])
        for gi, name in enumerate(bundle.groups):
            out[f"cap:{name}"] = int(self.cap[slot, gi])
        for di, code in enumerate(bundle.diseases):
            out[f"disease:{code}"] = int(self.dis[slot, di])
        for attr, key in SCALARS.items():
            out[key] = int(getattr(self, attr)[slot])
        return {k: v for k, v in out.items() if v}

    def load_slot(self, bundle: PolicyBundle, values: dict[str, int], slot: int = 0) -> None:
        """Set one slot from named values; unknown names are refused (they would be silently lost)."""
        cls_idx = {n: i for i, n in enumerate(bundle.classes)}
        grp_idx = {n: i for i, n in enumerate(bundle.groups)}
        dis_idx = {n: i for i, n in enumerate(bundle.diseases)}
        by_key = {v: k for k, v in SCALARS.items()}
        for key, value in values.items():
            kind, _, name = key.partition(":")
            if key in by_key:
                getattr(self, by_key[key])[slot] = value
            elif kind == "dedc" and name in cls_idx:
                self.dedc[slot, cls_idx[name]] = value
            elif kind == "admissions" and name in cls_idx:
                self.adm[slot, cls_idx[name]] = value
            elif kind == "assistance" and name in cls_idx:
                self.as_class[slot, cls_idx[name]] = value
            elif kind == "cap" and name in grp_idx:
                self.cap[slot, grp_idx[name]] = value
            elif kind == "disease" and name in dis_idx:
                self.dis[slot, dis_idx[name]] = value
            else:
                raise KeyError(f"accumulator '{key}' is not known to this policy")
