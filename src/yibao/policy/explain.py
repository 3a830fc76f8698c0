"""The trace (政策参数追溯): which parameters of its policy version one settlement read, section by section.

Each policy section the compiler fills (``compiler.SECTIONS``) has one function here that names the
parameters a settlement of given coordinates read from it, with their policy path and value as written
(``insutype 310 › outpatient › ratio › 11 › 2 = 0.7000``). ``PolicyBundle.explain`` caches the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from yibao.money import fmt_bp, fmt_fen
from yibao.policy.loader import format_path
from yibao.policy.schema import ALL, UNLIMITED, InsutypePolicy, PolicyVersion

if TYPE_CHECKING:
    from collections.abc import Iterator

    from yibao.policy.bundle import PolicyBundle


def lookup(table: dict, psn_key: str, level: int | None = None):
    """Value and the concrete keys used, from a normalised {psn|*: {level|*: v}} table."""
    pk = psn_key if psn_key in table else ALL
    row = table[pk]
    if level is None:
        return row, (pk,)
    lk = str(level) if str(level) in row else ALL
    return row[lk], (pk, lk)


@dataclass(frozen=True)
class _Read:
    """One settlement's coordinates in a policy version, in the policy's own terms."""

    pol: PolicyVersion
    ins_code: str
    ins: InsutypePolicy
    cls: str
    group: str | None  # the disease group (病种组) of the class the visit's disease belongs to
    psn: str
    level: int
    disease: str | None
    ci_tilt: int  # 0: the ordinary 大病 terms, k: the k-th tilt
    sp_on: bool
    sp_tilt: bool
    assistance: str | None


def _amt(v: int | None) -> str:
    return UNLIMITED if v is None else fmt_fen(v)


def _trace_class(r: _Read) -> Iterator[tuple[tuple, str]]:
    yield ("benefit_classes", r.cls, "med_types"), ",".join(r.pol.benefit_classes[r.cls].med_types)


def _trace_pool(r: _Read) -> Iterator[tuple[tuple, str]]:
    cb, base = r.ins.classes[r.cls], ("insutype", r.ins_code, r.cls)
    if not cb.pool:
        yield (*base, "pool"), "false"
        return
    g = cb.groups[r.group] if r.group else None
    gloc = (*base, "groups", r.group)

    def term(key: str):  # the group's own term where it writes one, else the class's
        own = g is not None and getattr(g, key) is not None
        return (getattr(g, key), gloc) if own else (getattr(cb, key), base)

    if g is not None:
        yield (*gloc, "diseases"), ",".join(g.diseases)
    d, loc = term("deductible")
    yield (*loc, "deductible", "kind"), d.kind
    if g is not None and g.deductible_shared is not None:
        yield (*loc, "deductible_shared"), str(g.deductible_shared).lower()
    if d.amount is not None:
        v, keys = lookup(d.amount, r.psn, r.level)
        yield (*loc, "deductible", "amount", *keys), fmt_fen(v)
    if d.repeat_ratio is not None:
        yield (*loc, "deductible", "repeat_ratio"), fmt_bp(d.repeat_ratio)
    ratio, loc = term("ratio")
    v, keys = lookup(ratio, r.psn, r.level)
    yield (*loc, "ratio", *keys), fmt_bp(v)
    cap, loc = term("cap")
    if cap == UNLIMITED:
        yield (*loc, "cap"), UNLIMITED
    else:
        v, keys = lookup(r.ins.caps[cap], r.psn)
        yield ("insutype", r.ins_code, "caps", cap, *keys), _amt(v)
    if r.disease is not None and cb.disease_caps is not None:
        yield (*base, "disease_caps", r.disease), _amt(cb.disease_caps[r.disease])


def _trace_large_expense(r: _Read) -> Iterator[tuple[tuple, str]]:
    le = r.ins.large_expense
    if le is not None and r.cls in le.classes:
        yield ("insutype", r.ins_code, "large_expense", "ratio"), fmt_bp(le.ratio)
        yield ("insutype", r.ins_code, "large_expense", "cap"), _amt(le.cap)


def _trace_critical_illness(r: _Read) -> Iterator[tuple[tuple, str]]:
    cip, loc = r.ins.critical_illness, ("insutype", r.ins_code, "critical_illness")
    tilted = cip is not None and 0 < r.ci_tilt <= len(cip.tilts)
    extra = list(cip.tilts.values())[r.ci_tilt - 1].extra_classes if tilted else []
    if cip is None or (r.cls not in cip.classes and r.cls not in extra):
        return
    tilts = list(cip.tilts.items())
    if 0 < r.ci_tilt <= len(tilts):
        name, t = tilts[r.ci_tilt - 1]
        tloc = (*loc, "tilts", name)
        if t.deductible_share is not None:
            yield (*loc, "deductible"), fmt_fen(cip.deductible)
            yield (*tloc, "deductible_share"), fmt_bp(t.deductible_share)
        yield (*tloc, "deductible"), fmt_fen(t.deductible_of(cip.deductible))
        if t.ratio is not None:
            yield (*tloc, "ratio"), fmt_bp(t.ratio)
        else:
            yield (*tloc, "ratio_add"), fmt_bp(t.ratio_add)
        yield (*tloc, "cap"), _amt(t.cap)
        if t.extra_classes:
            yield (*tloc, "extra_classes"), ",".join(t.extra_classes)
    else:
        yield (*loc, "deductible"), fmt_fen(cip.deductible)
        yield (*loc, "cap"), _amt(cip.cap)
    for i, s in enumerate(cip.segments):
        yield (*loc, "segments", i), f"{'∞' if s.upto is None else fmt_fen(s.upto)} @ {fmt_bp(s.ratio)}"


def _trace_supplementary(r: _Read) -> Iterator[tuple[tuple, str]]:
    sp = r.pol.supplementary
    if sp is None or not r.sp_on or r.cls not in sp.classes or r.ins_code not in sp.insutypes:
        return
    terms = sp.tilt if r.sp_tilt and sp.tilt is not None else sp
    loc = ("supplementary", "tilt") if terms is not sp else ("supplementary",)
    yield (*loc, "deductible"), fmt_fen(terms.deductible)
    yield (*loc, "ratio"), fmt_bp(terms.ratio)
    yield (*loc, "cap"), _amt(terms.cap)


def _trace_assistance(r: _Read) -> Iterator[tuple[tuple, str]]:
    if r.pol.assistance is not None and r.assistance is not None:
        yield from assistance_terms(r.pol, r.assistance, r.cls)


def assistance_terms(pol: PolicyVersion, code: str, cls: str) -> Iterator[tuple[tuple, str]]:
    """The terms of one assistance category a settlement of class ``cls`` read (also a look-back's)."""
    cat, loc = pol.assistance.categories[code], ("assistance", "categories", code)
    yield (*loc, "ratio"), fmt_bp(cat.ratio)
    yield (*loc, "annual_limit"), _amt(cat.annual_limit)
    if cls in cat.class_limits:
        yield (*loc, "class_limits", cls), _amt(cat.class_limits[cls])
    if cat.grades:
        yield (*loc, "grades"), ",".join(cat.grades)
    if cat.diagnoses:
        yield (*loc, "diagnoses"), ",".join(cat.diagnoses)
    if cat.burden_cap is not None:
        yield (*loc, "burden_cap"), fmt_fen(cat.burden_cap)


TRACES = (
    _trace_class,
    _trace_pool,
    _trace_large_expense,
    _trace_critical_illness,
    _trace_supplementary,
    _trace_assistance,
)


def explain(
    b: PolicyBundle, vi, ii, ci, pi, level, di, ci_tilt, sp_on, sp_tilt, acat
) -> list[dict[str, str]]:
    """The parameters one settlement read, section by section, each as {param: its policy path, value}."""
    pol, ins_code = b.policies[vi], b.insutypes[ii]
    cls, _, group = b.classes[ci].partition("/")  # a disease group's row is named class/group
    r = _Read(
        pol=pol,
        ins_code=ins_code,
        ins=pol.insutype[ins_code],
        cls=cls,
        group=group or None,
        psn=b.categories[pi][1] if pi >= 0 else ALL,
        level=level,
        disease=b.diseases[di] if di >= 0 else None,
        ci_tilt=ci_tilt,
        sp_on=sp_on,
        sp_tilt=sp_tilt,
        assistance=b.assistance_codes[acat] if acat >= 0 else None,
    )
    return [{"param": format_path(loc), "value": value} for trace in TRACES for loc, value in trace(r)]
