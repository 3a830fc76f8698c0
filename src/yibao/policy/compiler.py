"""Compile validated policy versions into an immutable, hashed bundle of arrays.

The settlement kernel never reads YAML: it indexes these arrays with per-visit
integer indices (version, insutype, class, person category, level, disease …),
so a million visits look up their parameters with a handful of NumPy gathers.
``INF`` marks an unlimited cap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from yibao.policy.loader import effective_end, format_path
from yibao.policy.schema import ALL, UNLIMITED, ClassBenefit, PolicyVersion

if TYPE_CHECKING:
    from yibao.policy.loader import LoadedVersion

INF = np.int64(1 << 62)  # "unlimited": larger than any sum of fen we will meet
DEDC_NONE, DEDC_ANNUAL, DEDC_PER_ADMISSION = 0, 1, 2
_DEDC_KIND = {"none": DEDC_NONE, "annual": DEDC_ANNUAL, "per_admission": DEDC_PER_ADMISSION}
MAX_DATE_ORD = date(9999, 12, 31).toordinal()


def _lim(value: int | None) -> np.int64:
    return INF if value is None else np.int64(value)


def _lookup(table: dict, psn_key: str, level: int | None = None):
    """Value and the concrete keys used, from a normalised {psn|*: {level|*: v}} table."""
    pk = psn_key if psn_key in table else ALL
    row = table[pk]
    if level is None:
        return row, (pk,)
    lk = str(level) if str(level) in row else ALL
    return row[lk], (pk, lk)


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
    names: dict[str, tuple] = field(repr=False)  # fund_pay_type codes per (version, insutype) etc.

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

    def class_name(self, ci: int) -> str:
        return self.classes[ci]

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
        ci_tilt: bool,
        sp_on: bool,
        sp_tilt: bool,
        acat: int,
    ) -> list[dict[str, str]]:
        """The parameters one settlement read, each with its policy path and value (as written).

        Depends only on its arguments, so it is computed once per combination and shared (read-only).
        """
        key = (vi, ii, ci, pi, level, di, ci_tilt, sp_on, sp_tilt, acat)
        cached = self._explain_cache.get(key)
        if cached is None:
            cached = self._explain_cache[key] = tuple(self._explain(*key))
        return cached

    def _explain(self, vi, ii, ci, pi, level, di, ci_tilt, sp_on, sp_tilt, acat) -> list[dict[str, str]]:
        from yibao.money import fmt_bp, fmt_fen

        pol = self.policies[vi]
        ins_code, cls = self.insutypes[ii], self.classes[ci]
        ins = pol.insutype[ins_code]
        psn = self.categories[pi][1] if pi >= 0 else ALL
        out: list[dict[str, str]] = []

        def add(loc: tuple, value) -> None:
            out.append({"param": format_path(loc), "value": value})

        def amt(v):
            return UNLIMITED if v is None else fmt_fen(v)

        add(("benefit_classes", cls, "med_types"), ",".join(pol.benefit_classes[cls].med_types))
        cb: ClassBenefit = ins.classes[cls]
        base = ("insutype", ins_code, cls)
        if not cb.pool:
            add((*base, "pool"), "false")
        else:
            d = cb.deductible
            add((*base, "deductible", "kind"), d.kind)
            if d.amount is not None:
                v, keys = _lookup(d.amount, psn, level)
                add((*base, "deductible", "amount", *keys), fmt_fen(v))
            if d.repeat_ratio is not None:
                add((*base, "deductible", "repeat_ratio"), fmt_bp(d.repeat_ratio))
            v, keys = _lookup(cb.ratio, psn, level)
            add((*base, "ratio", *keys), fmt_bp(v))
            if cb.cap == UNLIMITED:
                add((*base, "cap"), UNLIMITED)
            else:
                v, keys = _lookup(ins.caps[cb.cap], psn)
                add(("insutype", ins_code, "caps", cb.cap, *keys), amt(v))
            if di >= 0 and cb.disease_caps is not None:
                dcode = self.diseases[di]
                add((*base, "disease_caps", dcode), amt(cb.disease_caps[dcode]))
        le = ins.large_expense
        if le is not None and cls in le.classes:
            add(("insutype", ins_code, "large_expense", "ratio"), fmt_bp(le.ratio))
            add(("insutype", ins_code, "large_expense", "cap"), amt(le.cap))
        cip = ins.critical_illness
        if cip is not None and cls in cip.classes:
            loc = ("insutype", ins_code, "critical_illness")
            if ci_tilt and cip.tilt is not None:
                add((*loc, "tilt", "deductible"), fmt_fen(cip.tilt.deductible))
                add((*loc, "tilt", "ratio_add"), fmt_bp(cip.tilt.ratio_add))
                add((*loc, "tilt", "cap"), amt(cip.tilt.cap))
            else:
                add((*loc, "deductible"), fmt_fen(cip.deductible))
                add((*loc, "cap"), amt(cip.cap))
            for i, s in enumerate(cip.segments):
                add(
                    (*loc, "segments", i), f"{'∞' if s.upto is None else fmt_fen(s.upto)} @ {fmt_bp(s.ratio)}"
                )
        sp = pol.supplementary
        if sp is not None and sp_on and cls in sp.classes and ins_code in sp.insutypes:
            if sp_tilt and sp.tilt is not None:
                add(("supplementary", "tilt", "deductible"), fmt_fen(sp.tilt.deductible))
                add(("supplementary", "tilt", "ratio"), fmt_bp(sp.tilt.ratio))
                add(("supplementary", "tilt", "cap"), amt(sp.tilt.cap))
            else:
                add(("supplementary", "deductible"), fmt_fen(sp.deductible))
                add(("supplementary", "ratio"), fmt_bp(sp.ratio))
                add(("supplementary", "cap"), amt(sp.cap))
        ap = pol.assistance
        if ap is not None and acat >= 0:
            code = self.assistance_codes[acat]
            cat = ap.categories[code]
            add(("assistance", "categories", code, "ratio"), fmt_bp(cat.ratio))
            add(("assistance", "categories", code, "annual_limit"), amt(cat.annual_limit))
            if cls in cat.class_limits:
                add(("assistance", "categories", code, "class_limits", cls), amt(cat.class_limits[cls]))
        return out


def policy_hash(policies: list[PolicyVersion]) -> str:
    canonical = json.dumps(
        [p.model_dump(mode="json") for p in policies],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _union(seqs) -> list[str]:
    out: list[str] = []
    for s in seqs:
        for x in s:
            if x not in out:
                out.append(x)
    return out


def compile_versions(loaded: list[LoadedVersion]) -> PolicyBundle:
    """Compile versions (ordered, already checked) into one bundle."""
    policies = [lv.policy for lv in loaded]
    V = len(policies)
    ins_codes = _union(p.insutype for p in policies)
    classes = _union(p.benefit_classes for p in policies)
    categories = _union([(c, t) for c, ins in p.insutype.items() for t in ins.psn_types] for p in policies)
    diseases = _union(p.chronic_diseases for p in policies)
    groups = _union([g for ins in p.insutype.values() for g in ins.caps] for p in policies)
    acodes = _union((p.assistance.categories if p.assistance else {}) for p in policies)
    tilt_ids = _union(
        [
            *[
                i
                for ins in p.insutype.values()
                if ins.critical_illness and ins.critical_illness.tilt
                for i in ins.critical_illness.tilt.identities
            ],
            *(p.supplementary.tilt.identities if p.supplementary and p.supplementary.tilt else []),
        ]
        for p in policies
    )
    identity_codes = _union([acodes, tilt_ids])
    if len(identity_codes) > 62:
        raise ValueError("more than 62 identity codes matter to this policy; widen the identity mask")
    I, C, P, D, G, A = len(ins_codes), len(classes), len(categories), len(diseases), len(groups), len(acodes)  # noqa: E741 - array dimensions
    S = max(
        [
            len(ins.critical_illness.segments)
            for p in policies
            for ins in p.insutype.values()
            if ins.critical_illness
        ]
        or [1]
    )
    bit = {c: 1 << i for i, c in enumerate(identity_codes)}

    def z(*shape, fill=0):
        return np.full(shape, fill, dtype=np.int64)

    a = {
        "pool_on": np.zeros((V, I, C), dtype=bool),
        "class_defined": np.zeros((V, I, C), dtype=bool),
        "requires_disease": np.zeros((V, C), dtype=bool),
        "dedc_kind": z(V, I, C),
        "dedc_amt": z(V, I, C, P, 4),
        "dedc_rep": z(V, I, C),
        "ratio": z(V, I, C, P, 4),
        "cap_group": z(V, I, C, fill=-1),
        "cap_amt": z(V, I, max(G, 1), P, fill=int(INF)),
        "dis_cap": z(V, I, max(D, 1), fill=int(INF)),
        "acct_on": np.zeros((V, I), dtype=bool),
        "le_on": np.zeros((V, I, C), dtype=bool),
        "le_ratio": z(V, I),
        "le_cap": z(V, I, fill=int(INF)),
        "ci_on": np.zeros((V, I, C), dtype=bool),
        "ci_tilt_mask": z(V, I),
        "ci_dedc": z(V, I, 2),
        "ci_upto": z(V, I, S, fill=int(INF)),
        "ci_ratio": z(V, I, 2, S),
        "ci_cap": z(V, I, 2, fill=int(INF)),
        "sp_on": np.zeros((V, I, C), dtype=bool),
        "sp_tilt_mask": z(V),
        "sp_dedc": z(V, 2),
        "sp_ratio": z(V, 2),
        "sp_cap": z(V, 2, fill=int(INF)),
        "as_on": np.zeros((V, I, C), dtype=bool),
        "as_bit": z(max(A, 1)),
        "as_ratio": z(V, max(A, 1)),
        "as_annual": z(V, max(A, 1), fill=int(INF)),
        "as_class_lim": z(V, max(A, 1), C, fill=int(INF)),
        "as_defined": np.zeros((V, max(A, 1)), dtype=bool),
    }
    for k, code in enumerate(acodes):
        a["as_bit"][k] = bit[code]
    names: dict[str, list] = {
        "pool_fpt": [],
        "acct_fpt": [],
        "le_fpt": [],
        "ci_fpt": [],
        "sp_fpt": [],
        "as_fpt": [],
    }
    medtype_class: list[dict[str, int]] = []
    for v, p in enumerate(policies):
        medtype_class.append(
            {mt: classes.index(c) for c, d in p.benefit_classes.items() for mt in d.med_types}
        )
        for c, d in p.benefit_classes.items():
            a["requires_disease"][v, classes.index(c)] = d.requires_disease
        row = {k: [None] * I for k in ("pool_fpt", "acct_fpt", "le_fpt", "ci_fpt")}
        for ins_code, ins in p.insutype.items():
            i = ins_codes.index(ins_code)
            row["pool_fpt"][i] = ins.pool_fund
            if ins.account is not None:
                a["acct_on"][v, i] = True
                row["acct_fpt"][i] = ins.account.fund_pay_type
            cats = [(categories.index((ins_code, t)), t) for t in ins.psn_types]
            for g, table in ins.caps.items():
                for pi, t in cats:
                    val, _ = _lookup(table, t)
                    a["cap_amt"][v, i, groups.index(g), pi] = _lim(val)
            for cname, cb in ins.classes.items():
                c = classes.index(cname)
                a["class_defined"][v, i, c] = True
                if not cb.pool:
                    continue
                a["pool_on"][v, i, c] = True
                a["dedc_kind"][v, i, c] = _DEDC_KIND[cb.deductible.kind]
                a["dedc_rep"][v, i, c] = cb.deductible.repeat_ratio or 0
                a["cap_group"][v, i, c] = -1 if cb.cap == UNLIMITED else groups.index(cb.cap)
                for pi, t in cats:
                    for lv in (1, 2, 3):
                        a["ratio"][v, i, c, pi, lv] = _lookup(cb.ratio, t, lv)[0]
                        if cb.deductible.amount is not None:
                            a["dedc_amt"][v, i, c, pi, lv] = _lookup(cb.deductible.amount, t, lv)[0]
                for dcode, cap in (cb.disease_caps or {}).items():
                    a["dis_cap"][v, i, diseases.index(dcode)] = _lim(cap)
            le = ins.large_expense
            if le is not None:
                row["le_fpt"][i] = le.fund_pay_type
                a["le_ratio"][v, i], a["le_cap"][v, i] = le.ratio, _lim(le.cap)
                for cname in le.classes:
                    a["le_on"][v, i, classes.index(cname)] = True
            cip = ins.critical_illness
            if cip is not None:
                row["ci_fpt"][i] = cip.fund_pay_type
                for cname in cip.classes:
                    a["ci_on"][v, i, classes.index(cname)] = True
                a["ci_dedc"][v, i, 0], a["ci_cap"][v, i, 0] = cip.deductible, _lim(cip.cap)
                for s, seg in enumerate(cip.segments):
                    a["ci_upto"][v, i, s] = INF if seg.upto is None else seg.upto
                    a["ci_ratio"][v, i, 0, s] = seg.ratio
                    a["ci_ratio"][v, i, 1, s] = seg.ratio
                a["ci_dedc"][v, i, 1], a["ci_cap"][v, i, 1] = cip.deductible, _lim(cip.cap)
                if cip.tilt is not None:
                    t = cip.tilt
                    a["ci_tilt_mask"][v, i] = sum(bit[x] for x in set(t.identities))
                    a["ci_dedc"][v, i, 1], a["ci_cap"][v, i, 1] = t.deductible, _lim(t.cap)
                    for s, seg in enumerate(cip.segments):
                        a["ci_ratio"][v, i, 1, s] = seg.ratio + t.ratio_add
        # 共济: a patient of an insutype without accounts may pay from a relative's account, which is an
        # account of the insutype that has them; its setldetail row carries that fund_pay_type
        own = next((f for f in row["acct_fpt"] if f), None)
        row["acct_fpt"] = [f or own for f in row["acct_fpt"]]
        for k in row:
            names[k].append(tuple(row[k]))
        sp = p.supplementary
        names["sp_fpt"].append(sp.fund_pay_type if sp else None)
        if sp is not None:
            for ins_code in sp.insutypes:
                for cname in sp.classes:
                    a["sp_on"][v, ins_codes.index(ins_code), classes.index(cname)] = True
            a["sp_dedc"][v, 0], a["sp_ratio"][v, 0], a["sp_cap"][v, 0] = sp.deductible, sp.ratio, _lim(sp.cap)
            a["sp_dedc"][v, 1], a["sp_ratio"][v, 1], a["sp_cap"][v, 1] = sp.deductible, sp.ratio, _lim(sp.cap)
            if sp.tilt is not None:
                a["sp_tilt_mask"][v] = sum(bit[x] for x in set(sp.tilt.identities))
                a["sp_dedc"][v, 1], a["sp_ratio"][v, 1], a["sp_cap"][v, 1] = (
                    sp.tilt.deductible,
                    sp.tilt.ratio,
                    _lim(sp.tilt.cap),
                )
        ap = p.assistance
        names["as_fpt"].append(ap.fund_pay_type if ap else None)
        if ap is not None:
            for ins_code in ap.insutypes:
                for cname in ap.classes:
                    a["as_on"][v, ins_codes.index(ins_code), classes.index(cname)] = True
            for code, cat in ap.categories.items():
                k = acodes.index(code)
                a["as_defined"][v, k] = True
                a["as_ratio"][v, k], a["as_annual"][v, k] = cat.ratio, _lim(cat.annual_limit)
                for cname, lim in cat.class_limits.items():
                    a["as_class_lim"][v, k, classes.index(cname)] = _lim(lim)
    starts = np.array([p.effective_from.toordinal() for p in policies], dtype=np.int64)
    ends = np.array(
        [(e.toordinal() if (e := effective_end(loaded, i)) else MAX_DATE_ORD) for i in range(V)],
        dtype=np.int64,
    )
    return PolicyBundle(
        region=policies[0].region,
        hash=policy_hash(policies),
        policies=tuple(policies),
        versions=tuple(p.version for p in policies),
        starts=starts,
        ends=ends,
        insutypes=tuple(ins_codes),
        classes=tuple(classes),
        categories=tuple(categories),
        diseases=tuple(diseases),
        groups=tuple(groups),
        assistance_codes=tuple(acodes),
        identity_codes=tuple(identity_codes),
        medtype_class=tuple(medtype_class),
        arrays=a,
        names={k: tuple(v) for k, v in names.items()},
    )
