"""Fee lines that keep to the rule library's knowledge rows (知识库, ``regions/<admdvs>/rules/knowledge``).

The generator (:mod:`~yibao.synth.claims`) draws drugs, services and materials by price alone, so left to
itself the year bills 替格瑞洛 for a cold, 坦索罗辛 to women, 骨肽注射液 to 职工 outside 工伤 and 住院诊查费 ten times on
one day, and the yearly audit finds a policy limit broken on about 8 % of the visits; real regions see such
findings on well under 1 %. :func:`respect` mends the year after it is drawn, from the same rows the audit
reads (the stored library, :func:`rows_in_force`):

* a line whose code the visit may not bill — 限性别, 限年龄 (allow and forbid), 限险种, 限医疗机构级别, 限就医方式,
  限科室, 限适应症 (none of the visit's diagnoses fits), the ``code`` of a 重复收费 / 相互作用 pair billed with its
  ``with_code`` in the visit, the components of a 分解收费 bundle past ``min_parts − 1``, a 周期超频次 line inside
  the person's cycle — becomes an item of the same ``med_chrgitm_type`` that no such row (nor a quantity or
  course limit) names, one of the :data:`NEAREST` nearest in price (and not :data:`SPREAD` times further off
  than the nearest), with its count kept and its price and amount recomputed as the generator prices
  (:func:`~yibao.synth.stays.prices`);
* a quantity above a 限定数量 row is capped for the visit (outpatient, and ``period: visit``); a stay's line of a
  per-day limit (住院诊查费 billed as one line of count = length of stay) is split into lines of at most the
  limit, one a day (the store dates a stay's lines over its days in turn), so the stay costs what it did.

A deliberate residual: about :data:`RESIDUAL` of the year's visits keep their violating lines untouched (the
visits with a violation are kept with probability RESIDUAL ÷ their share), so every rule class still has
findings for 智能监管 to show. A rule's exemptions by ``med_type`` and ``fixmedins_code`` are honoured on
their days (an exempt line is no violation). 限科室 has nothing to judge while the demo records no departments;
诊断与性别 / 年龄 and 手术操作与性别 are the coder's (:mod:`~yibao.synth.coding`), not the lines'. Deterministic
from the seed: its own random stream (:data:`COMPLIANCE_STREAM`), so the other draws stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from sqlalchemy import Engine

from yibao.settlement.lines import product_fen
from yibao.supervision.frame import day_number
from yibao.supervision.library import Library
from yibao.synth.claims import Claims, Reference
from yibao.synth.params import Params
from yibao.synth.population import Population
from yibao.synth.stays import prices

COMPLIANCE_STREAM = 6  # (claims.py: 3 coding, 4 costs, 5 times of day)
RESIDUAL = 0.005  # about this share of the visits keep their violating lines
NEAREST, SPREAD = (
    3,
    1.5,
)  # a replacement: one of the 3 permitted items nearest in price, within ×1.5 of the nearest
APPROVED = (
    0.7  # a restricted (限定支付) replacement is approved on this share of its lines, as drawn lines are
)
# kinds whose rows say which lines a visit may bill: their codes are never a replacement
ITEM_KINDS = (
    "sex_limit",
    "age_limit",
    "insutype_limit",
    "level_limit",
    "visit_type_limit",
    "dept_limit",
    "indication",
    "pair_conflict",
    "bundle_split",
    "cycle_frequency",
)

Rows = dict[
    str, list[dict]
]  # kind → its knowledge rows (columns and the rule's parameters, as the engines read)


def comply(engine: Engine, p: Params, pop: Population, ref: Reference, cl: Claims) -> Claims:
    """The year's claims mended to the stored rule library (none stored: as they are)."""
    from yibao.store import audit_rules
    from yibao.store.db import unit_of_work

    with unit_of_work(engine, write=False) as s:
        library = audit_rules.load_library(s)
    return respect(
        np.random.default_rng([p.seed, COMPLIANCE_STREAM]), rows_in_force(library, p.year), pop, ref, cl
    )


def rows_in_force(library: Library, year: int) -> Rows:
    """The enabled rules' knowledge rows in force on some day of ``year``, by kind, each a dict of the kind's
    columns and parameters with ``rule_code``; a rule's exemptions by med_type or institution as ``_exempt``
    rows (field, value, from_day, to_day)."""
    first, last = day_number(date(year, 1, 1)), day_number(date(year, 12, 31))
    out: Rows = {}
    for kind, (names, rows) in library.tables().items():
        live = [dict(zip(names, r, strict=True)) for r in rows]
        out[kind] = [r for r in live if r["from_day"] <= last and r["to_day"] >= first]
    out["_exempt"] = [
        {"rule_code": code, "field": f, "value": v, "from_day": begin, "to_day": end}
        for code, f, v, _, begin, end in library.exemption_rows()
        if f in ("med_type", "fixmedins_code") and begin <= last and end >= first
    ]
    return out


@dataclass
class _Year:
    """What the rows test, per line (``v`` its visit): the visit's sex, age, 险种, grade, med_type, institution,
    diagnoses, and each line's day (a stay's lines dated over its days in turn, as the store writes them)."""

    cl: Claims
    v: np.ndarray
    gend: np.ndarray
    age_y: np.ndarray
    age_d: np.ndarray
    insutype: np.ndarray
    grade: np.ndarray
    med_type: np.ndarray
    inst: np.ndarray
    fee_day: np.ndarray
    person: np.ndarray

    @classmethod
    def of(cls, cl: Claims, pop: Population, ref: Reference) -> _Year:
        v = cl.line_visit
        day = cl.day.astype("datetime64[D]")
        brdy = pop.brdy[cl.person].astype("datetime64[D]")
        year = day.astype("datetime64[Y]").astype(np.int64)
        byear = brdy.astype("datetime64[Y]").astype(np.int64)
        age_y = year - byear - (_month_day(day) < _month_day(brdy))
        seq = np.arange(v.size) - np.searchsorted(v, v, side="left")
        los = cl.los[v]
        offset = np.where(los > 0, seq % np.maximum(los, 1), 0)
        return cls(
            cl=cl,
            v=v,
            gend=np.where(pop.male[cl.person], "1", "2")[v],
            age_y=age_y[v],
            age_d=(day - brdy).astype(np.int64)[v],
            insutype=pop.insutype[cl.person].astype(str)[v],
            grade=ref.inst_level[cl.inst].astype(np.int64)[v],
            med_type=cl.med_type.astype(str)[v],
            inst=ref.inst_code[cl.inst].astype(str)[v],
            fee_day=day.astype(np.int64)[v] + offset,
            person=cl.person[v],
        )

    def diagnoses(self, visit: int) -> tuple[str, ...]:
        """The visit's diagnoses as the audit reads them: a stay's coded list, else its principal."""
        coded = self.cl.coded[visit]
        return tuple(coded.diagnoses) if coded is not None else (str(self.cl.dise[visit]),)


def _month_day(day: np.ndarray) -> np.ndarray:
    month = day.astype("datetime64[M]")
    return month.astype(np.int64) % 12 * 100 + (day - month.astype("datetime64[D]")).astype(np.int64)


class _Lines:
    """The lines of each catalogue item (indices in line order) and the exemptions by rule."""

    def __init__(self, item: np.ndarray, ref: Reference, rows: Rows, at: _Year):
        self.order = np.argsort(item, kind="stable")
        self.bounds = np.searchsorted(item[self.order], np.arange(ref.item_code.size + 1))
        self.index = {c: i for i, c in enumerate(ref.item_code.tolist())}
        self.at = at
        self.exempt: dict[str, list[dict]] = {}
        for x in rows.get("_exempt", []):
            self.exempt.setdefault(x["rule_code"], []).append(x)

    def of(self, code: str, rule_code: str | None = None) -> np.ndarray:
        """The lines billing ``code``, those exempt from ``rule_code`` left out."""
        i = self.index.get(code)
        if i is None:
            return np.zeros(0, dtype=np.int64)
        ls = self.order[self.bounds[i] : self.bounds[i + 1]]
        for x in self.exempt.get(rule_code, ()):
            day = self.at.fee_day[ls]
            hit = (day >= x.get("from_day", day)) & (day <= x.get("to_day", day))
            if x["field"] == "med_type":
                hit &= np.char.startswith(self.at.med_type[ls], x["value"])
            else:
                hit &= self.at.inst[ls] == x["value"]
            ls = ls[~hit]
        return ls


def respect(rng: np.random.Generator, rows: Rows, pop: Population, ref: Reference, cl: Claims) -> Claims:
    """``cl`` with its lines mended to ``rows`` (:func:`rows_in_force`) but on about :data:`RESIDUAL` of the
    visits; the visits as they were."""
    if cl.line_visit.size == 0 or not any(rows.get(k) for k in (*ITEM_KINDS, "max_quantity")):
        return cl
    at = _Year.of(cl, pop, ref)
    lines = _Lines(cl.line_item, ref, rows, at)
    bad = _forbidden(rows, at, lines)
    over = _over(rows, at, lines, cl.line_cnt)
    violating = np.zeros(len(cl), dtype=bool)
    violating[cl.line_visit[bad | over]] = True
    share = violating.mean()
    kept = violating & (rng.random(len(cl)) < RESIDUAL / share) if share else violating
    fix = bad & ~kept[cl.line_visit]
    item = cl.line_item.copy()
    item[fix] = _replacements(rng, ref, item[fix], _permitted(rows, ref))
    changed = item != cl.line_item
    appr = cl.line_appr.copy()
    appr[changed] = np.where(ref.item_lmt[item[changed]] == 1, rng.random(changed.sum()) < APPROVED, 0)
    pric = cl.line_pric.copy()
    pric[changed] = prices(ref, item[changed], cl.level[cl.line_visit[changed]])
    cnt, parts = _quantities(rows, at, _Lines(item, ref, rows, at), cl.line_cnt, kept)
    return _expanded(cl, item, pric, cnt, parts, appr)


def _forbidden(rows: Rows, at: _Year, lines: _Lines) -> np.ndarray:
    """The lines a row forbids the visit (their item to be replaced)."""
    bad = np.zeros(at.v.size, dtype=bool)
    for r in rows.get("sex_limit", []):
        ls = lines.of(r["code"], r["rule_code"])
        bad[ls[at.gend[ls] != r["gend"]]] = True
    for r in rows.get("age_limit", []):
        ls = lines.of(r["code"], r["rule_code"])
        age = at.age_d[ls] if r["unit"] == "d" else at.age_y[ls]
        inside = np.ones(ls.size, dtype=bool)
        if r["min_age"] is not None:
            inside &= age >= r["min_age"]
        if r["max_age"] is not None:
            inside &= age <= r["max_age"]
        bad[ls[inside != (r["mode"] == "allow")]] = True
    for r in rows.get("level_limit", []):
        ls = lines.of(r["code"], r["rule_code"])
        bad[ls[at.grade[ls] < r["min_grade"]]] = True
    for (rule, code), allowed in _grouped(rows.get("insutype_limit", []), "insutype").items():
        ls = lines.of(code, rule)
        bad[ls[~np.isin(at.insutype[ls], allowed)]] = True
    for (rule, code), prefixes in _grouped(rows.get("visit_type_limit", []), "med_type").items():
        ls = lines.of(code, rule)
        fits = np.zeros(ls.size, dtype=bool)
        for prefix in prefixes:
            fits |= np.char.startswith(at.med_type[ls], prefix)
        bad[ls[~fits]] = True
    for (rule, code), prefixes in _grouped(rows.get("indication", []), "dise_prefix").items():
        ls = lines.of(code, rule)
        dx = [at.diagnoses(k) for k in at.v[ls].tolist()]
        fits = np.array([any(d.startswith(prefixes) for d in ds) for ds in dx], dtype=bool)
        bad[ls[~fits]] = True
    for r in rows.get("pair_conflict", []):
        ls = lines.of(r["code"], r["rule_code"])
        bad[ls[np.isin(at.v[ls], at.v[lines.of(r["with_code"])])]] = True
    _bundles(rows, at, lines, bad)
    _cycles(rows, at, lines, bad)
    return bad


def _grouped(rows: list[dict], column: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """Rows that allow by any of several values: (rule, code) → the values."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for r in rows:
        key = (r["rule_code"], r["code"])
        out[key] = (*out.get(key, ()), str(r[column]))
    return out


def _bundles(rows: Rows, at: _Year, lines: _Lines, bad: np.ndarray) -> None:
    """分解收费: of a bundle's components billed in one visit, those past the first ``min_parts − 1`` codes."""
    bundles: dict[tuple[str, str], tuple[list[str], int]] = {}
    for r in rows.get("bundle_split", []):
        codes, least = bundles.get((r["rule_code"], r["bundle"]), ([], r["min_parts"]))
        bundles[(r["rule_code"], r["bundle"])] = ([*codes, r["code"]], min(least, r["min_parts"]))
    for (rule, _), (codes, least) in bundles.items():
        ls = np.sort(np.concatenate([lines.of(c, rule) for c in codes]))
        if ls.size == 0:
            continue
        pair = at.v[ls].astype(np.int64) * (at.cl.line_item.max() + 1) + at.cl.line_item[ls]
        order = np.lexsort((ls, pair))
        pair, ls_sorted = pair[order], ls[order]
        first = np.r_[True, pair[1:] != pair[:-1]]
        visit = at.v[ls_sorted]
        new_visit = np.r_[True, visit[1:] != visit[:-1]]
        rank = np.cumsum(first) - np.maximum.accumulate(np.where(new_visit, np.cumsum(first), 0))
        bad[ls_sorted[rank >= least - 1]] = True


def _cycles(rows: Rows, at: _Year, lines: _Lines, bad: np.ndarray) -> None:
    """周期超频次: a person's lines of the code on more than ``max_in_cycle`` days of any ``cycle_days``-day
    window, in date order (those replaced no longer count)."""
    for r in rows.get("cycle_frequency", []):
        ls = lines.of(r["code"], r["rule_code"])
        order = ls[np.lexsort((ls, at.fee_day[ls], at.person[ls]))]
        held: dict[int, list[int]] = {}
        for k, person, day in zip(
            order.tolist(), at.person[order].tolist(), at.fee_day[order].tolist(), strict=True
        ):
            days = held.setdefault(person, [])
            if len({d for d in days if d > day - r["cycle_days"]} | {day}) > r["max_in_cycle"]:
                bad[k] = True
            else:
                days.append(day)


def _over(rows: Rows, at: _Year, lines: _Lines, cnt: np.ndarray) -> np.ndarray:
    """Lines of a visit's code above a 限定数量 row: a stay's line above a per-day limit, else the visit's
    total."""
    over = np.zeros(at.v.size, dtype=bool)
    for r in rows.get("max_quantity", []):
        ls = lines.of(r["code"], r["rule_code"])
        daily = (r["period"] == "day") & (at.cl.los[at.v[ls]] > 0)
        total = _group_total(at.v[ls], cnt[ls])
        over[ls[np.where(daily, cnt[ls], total) > r["max_cnt"]]] = True
    return over


def _group_total(group: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Each entry's group total (entries grouped in order)."""
    if group.size == 0:
        return amount
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    sums = np.add.reduceat(amount, first)
    return np.repeat(sums, np.diff(np.r_[first, group.size]))


def _permitted(rows: Rows, ref: Reference) -> np.ndarray:
    """Catalogue items no row of :data:`ITEM_KINDS` nor of a quantity or course limit names: what a forbidden
    line may become (住院诊查费 does not stand in for an outpatient's consultation)."""
    kinds = (*ITEM_KINDS, "max_quantity", "course_days")
    named = {r[c] for k in kinds for r in rows.get(k, []) for c in ("code", "with_code") if r.get(c)}
    return ~np.isin(ref.item_code, list(named))


def _replacements(rng: np.random.Generator, ref: Reference, items: np.ndarray, permitted: np.ndarray):
    """For each item, a permitted one of the same med_chrgitm_type (and self-paid 丙类 or not, when there is
    one) among the :data:`NEAREST` nearest in price, whose price ratio to it is within :data:`SPREAD` times
    the nearest's; the item itself when its type has none."""
    out = items.copy()
    third = ref.item_lv == 3
    logp = np.log(np.maximum(ref.item_pric, 1).astype(np.float64))
    for t in np.unique(ref.item_type[items]):
        for lv3 in (False, True):
            sel = np.flatnonzero((ref.item_type[items] == t) & (third[items] == lv3))
            pool = np.flatnonzero(permitted & (ref.item_type == t) & (third == lv3))
            if pool.size == 0:
                pool = np.flatnonzero(permitted & (ref.item_type == t))
            if sel.size == 0 or pool.size == 0:
                continue
            pool = pool[np.argsort(ref.item_pric[pool], kind="stable")]
            width = min(2 * NEAREST, pool.size)
            lo = np.clip(
                np.searchsorted(ref.item_pric[pool], ref.item_pric[items[sel]]) - NEAREST,
                0,
                pool.size - width,
            )
            window = lo[:, None] + np.arange(width)
            dist = np.abs(logp[pool[window]] - logp[items[sel]][:, None])
            near = np.argsort(dist, axis=1, kind="stable")[:, : min(NEAREST, width)]
            close = np.take_along_axis(dist, near, axis=1) <= dist.min(axis=1, keepdims=True) + np.log(SPREAD)
            pick = near[np.arange(sel.size), rng.integers(0, close.sum(axis=1))]
            out[sel] = pool[window[np.arange(sel.size), pick]]
    return out


def _quantities(rows: Rows, at: _Year, lines: _Lines, cnt: np.ndarray, kept: np.ndarray):
    """Each line's count and the number of lines it becomes (0: dropped, the visit had its fill): a visit's
    total capped at a row's ``max_cnt``; a stay's line of a per-day limit split into lines of at most it, at
    most one a day of the stay."""
    cnt, parts = cnt.copy(), np.ones(cnt.size, dtype=np.int64)
    for r in rows.get("max_quantity", []):
        ls = lines.of(r["code"], r["rule_code"])
        ls = ls[~kept[at.v[ls]]]
        los = at.cl.los[at.v[ls]]
        daily = (r["period"] == "day") & (los > 0)
        split, capped = ls[daily], ls[~daily]
        most = r["max_cnt"]
        parts[split] = np.clip(-(-cnt[split] // most), 1, los[daily])
        cnt[split] = np.minimum(cnt[split], most * parts[split])
        if capped.size:
            capped = np.sort(capped)
            before = np.cumsum(cnt[capped]) - cnt[capped]
            start = np.r_[0, np.flatnonzero(np.diff(at.v[capped])) + 1]
            before -= np.repeat(before[start], np.diff(np.r_[start, capped.size]))
            cnt[capped] = np.clip(most - before, 0, cnt[capped])
    parts[cnt == 0] = 0
    return cnt, parts


def _expanded(cl: Claims, item, pric, cnt, parts, appr) -> Claims:
    """The claims with each line ``parts`` times (its count shared out evenly), in order."""
    idx = np.repeat(np.arange(item.size), parts)
    nth = np.arange(idx.size) - np.repeat(np.cumsum(parts) - parts, parts)
    share, rest = cnt // np.maximum(parts, 1), cnt % np.maximum(parts, 1)
    line_cnt = share[idx] + (nth < rest[idx])
    changed = (item != cl.line_item) | (parts != 1) | (cnt != cl.line_cnt)
    amt = np.where(changed[idx], product_fen(pric[idx], line_cnt), cl.line_amt[idx])
    return replace(
        cl,
        line_visit=cl.line_visit[idx],
        line_item=item[idx],
        line_pric=pric[idx],
        line_cnt=line_cnt,
        line_amt=amt,
        line_appr=appr[idx],
    )
