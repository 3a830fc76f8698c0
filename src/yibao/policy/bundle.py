"""The compiled policy (政策包): the kernel's read-only input, arrays along named axes.

The settlement kernel never reads YAML: it indexes these arrays with per-visit integer
indices (version, insutype, class, person category, level, disease …), so a million
visits look up their parameters with a handful of NumPy gathers. ``policy/compiler.py``
builds the bundle and declares every array with the axes it spans; ``INF`` marks an
unlimited cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from yibao.policy.explain import explain
from yibao.policy.schema import PolicyVersion

INF = np.int64(1 << 62)  # "unlimited": larger than any sum of fen we will meet
DEDC_NONE, DEDC_ANNUAL, DEDC_PER_ADMISSION, DEDC_PER_VISIT, DEDC_THRESHOLD = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Axes:
    """The size of each named axis of the bundle's arrays.

    An axis whose policy lists nothing (no chronic disease, no cap, no assistance category) keeps one
    slot that no visit reaches, so that every array has a shape.
    """

    version: int
    insutype: int
    benefit_class: int
    category: int  # person category: (insutype, psn_type prefix)
    level: int  # dedc_hosp_lv 1..3, and 0 = not given
    cap_group: int  # annual caps on pool pay, shared by the classes that name them
    disease: int  # chronic diseases (门诊慢特病)
    segment: int  # 大病 segments
    tilt: int  # 0: the ordinary terms, k ≥ 1: the k-th tilt (大病: as many as the policy lists; 惠民保: one)
    assistance: int  # assistance categories (psn_idet_type), in policy order

    def shape(self, axes: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(getattr(self, a) for a in axes)


@dataclass(frozen=True, eq=False)
class PolicyBundle:
    """Everything the kernel needs from a region's policy, as arrays (read-only)."""

    region: str
    hash: str
    policies: tuple[PolicyVersion, ...]
    versions: tuple[str, ...]
    starts: np.ndarray  # first day (ordinal) per version
    ends: np.ndarray  # last day (ordinal, inclusive) per version
    insutypes: tuple[str, ...]
    classes: tuple[str, ...]
    categories: tuple[tuple[str, str], ...]  # (insutype, psn_type prefix) per category index
    diseases: tuple[str, ...]
    groups: tuple[str, ...]  # cap group names
    assistance_codes: tuple[str, ...]  # assistance categories (psn_idet_type) in policy order
    identity_codes: tuple[str, ...]  # every identity code that matters; bit i of an identity mask
    medtype_class: tuple[dict[str, int], ...]  # per version: med_type → class index
    arrays: dict[str, np.ndarray] = field(repr=False)
    names: dict[str, tuple] = field(repr=False)  # fund_pay_type codes per version, or (version, insutype)
    axes: Axes = field(repr=False)
    declared: dict[str, tuple[str, ...]] = field(repr=False)  # the axes of every array and of every name

    def __post_init__(self) -> None:
        for arr in self.arrays.values():
            arr.setflags(write=False)
        object.__setattr__(self, "_ins_idx", {c: i for i, c in enumerate(self.insutypes)})
        object.__setattr__(self, "_cls_idx", {c: i for i, c in enumerate(self.classes)})
        object.__setattr__(self, "_dis_idx", {c: i for i, c in enumerate(self.diseases)})
        object.__setattr__(self, "_id_bit", {c: i for i, c in enumerate(self.identity_codes)})
        by_ins: dict[str, list[tuple[str, int]]] = {}
        for i, (ins, prefix) in enumerate(self.categories):
            by_ins.setdefault(ins, []).append((prefix, i))
        for v in by_ins.values():
            v.sort(key=lambda t: -len(t[0]))  # longest prefix wins
        object.__setattr__(self, "_cats_by_ins", by_ins)
        object.__setattr__(self, "_cat_cache", {})
        dx_lists = [  # per version: the assistance categories for listed diagnoses only, with their codes
            [
                (c, tuple(cat.diagnoses))
                for c, cat in (p.assistance.categories if p.assistance else {}).items()
                if cat.diagnoses
            ]
            for p in self.policies
        ]
        object.__setattr__(self, "_dx_lists", dx_lists)
        object.__setattr__(self, "_explain_cache", {})

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    # --- index lookups (Python, used while preparing inputs) ---------------------------------
    def version_index(self, day: date) -> int | None:
        ordinal = day.toordinal()
        i = int(np.searchsorted(self.starts, ordinal, side="right")) - 1
        if i < 0 or ordinal > self.ends[i]:
            return None
        return i

    def insutype_index(self, insutype: str) -> int | None:
        return self._ins_idx.get(insutype)

    def class_index(self, version: int, med_type: str) -> int | None:
        return self.medtype_class[version].get(med_type)

    def category_index(self, insutype: str, psn_type: str) -> int | None:
        key = (insutype, psn_type)
        cache = self._cat_cache
        if key not in cache:
            cache[key] = next(
                (i for prefix, i in self._cats_by_ins.get(insutype, ()) if psn_type.startswith(prefix)), None
            )
        return cache[key]

    def disease_index(self, code: str) -> int | None:
        return self._dis_idx.get(code)

    def identity_mask(self, codes) -> int:
        mask = 0
        for c in codes:
            bit = self._id_bit.get(c)
            if bit is not None:
                mask |= 1 << bit
        return mask

    def condition_mask(self, ver: int, held: list[tuple[str, str | None]], diagnoses: list[str]) -> int:
        """The visit's condition mask: the identities held (code, grade) on the visit date, each also as
        ``code#grade``, and each assistance category whose diagnosis list one of ``diagnoses`` starts with."""
        codes = [c for c, _ in held] + [f"{c}#{g}" for c, g in held if g]
        for code, prefixes in self._dx_lists[ver]:
            if any(d.startswith(prefixes) for d in diagnoses):
                codes.append(f"dx:{code}")
        return self.identity_mask(codes)

    def class_name(self, ci: int) -> str:
        return self.classes[ci]

    # --- fund_pay_type codes (setldetail) --------------------------------------------------------
    def fund_pay_type(self, name: str, ver: int, ins: int) -> str | None:
        """The code of ``names[name]`` for one visit: declared per version, or per (version, insutype)."""
        row = self.names[name][ver]
        return row[ins] if "insutype" in self.declared[name] else row

    def fund_pay_types(self, name: str, ver: np.ndarray, ins: np.ndarray) -> np.ndarray:
        """The same for many visits, as a string array ("" where the fund does not exist)."""
        rows = self.names[name]
        if "insutype" in self.declared[name]:
            return np.array([[c or "" for c in row] for row in rows], dtype="U10")[ver, ins]
        return np.array([c or "" for c in rows], dtype="U10")[ver]

    # --- explanation (trace) ---------------------------------------------------------------------
    def explain(
        self,
        vi: int,
        ii: int,
        ci: int,
        pi: int,
        level: int,
        di: int,
        *,
        ci_tilt: int,
        sp_on: bool,
        sp_tilt: bool,
        acat: int,
    ) -> list[dict[str, str]]:
        """The parameters one settlement read, each with its policy path and value (as written).

        ``ci`` is the visit's row (a class or a disease group's row), ``ci_tilt`` the 大病 tilt applied (0: none).

        Depends only on its arguments, so it is computed once per combination and shared (read-only).
        """
        key = (vi, ii, ci, pi, level, di, ci_tilt, sp_on, sp_tilt, acat)
        cached = self._explain_cache.get(key)
        if cached is None:
            cached = self._explain_cache[key] = tuple(explain(self, *key))
        return cached
