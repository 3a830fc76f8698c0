"""The region's past and the year's events (参保史与年度事件), planned as arrays before anything is written:

* 参保日期 and the 职工 contribution months before the year, plausible for each person's age and category
  (never before birth; a category's age band holds on the date: 在职 from 18, 退休 from retirement, 中小学生
  from 5, 成年居民 from 18, 老年居民 from 60; 新生儿 and 学龄前 from birth);
* employers late with their wage declarations (欠缴, some paid back later) and the July wage rise;
* 转入 (在职 employees arriving from another region on the first of a month) and 转出 (退休 leaving);
* 重复参保: 职工 also holding a 居民 enrollment, and ID numbers held by a second psn_no (a person generated
  as someone else's legacy record, the check character in lower case);
* 共济 bindings of a relative to a 职工's account;
* visits reversed and settled again (:func:`reversals`, once the visits exist).

Its own random streams leave the population and the visits drawn as before. Pure: nothing here reads or writes
the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from yibao.synth.claims import INPAT, OUT, Claims
from yibao.synth.params import Params
from yibao.synth.population import Population

REFORM = np.datetime64("2000-01-01")  # 职工医保 enrollment starts here (the 1998 reform reached the city)
RESIDENT_SCHEME = np.datetime64("2008-01-01")  # 城镇居民 / 新农合 records start here
# the youngest age (周岁) of each 居民 category on its 参保日期; None: enrolled at birth
RESIDENT_FROM = {"1401": None, "1402": None, "1403": 5, "15": 18, "16": 60}
# other regions people move from and to (转移接续)
ELSEWHERE = ("110105", "310115", "440305", "330106", "510107", "420106", "320102", "370202")
WAGE_RISE_MONTH, WAGE_RISE_PERCENT = 7, 4  # 缴费基数 adjusted each July


@dataclass
class History:
    begndate: (
        np.ndarray
    )  # datetime64[D]: 参保日期 of each person's basic enrollment (转入: the day of arrival)
    contrib_months: np.ndarray  # 职工 months before the year (转入: those brought along)
    late: dict[int, int] = field(default_factory=dict)  # employer → months it declared late (1 … k)
    repaid: dict[int, int] = field(default_factory=dict)  # employer → back months it pays in the year (1 … j)
    transfer_in: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    transfer_in_from: list[str] = field(default_factory=list)
    transfer_out: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    transfer_out_day: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))
    transfer_out_to: list[str] = field(default_factory=list)
    overlap: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 职工 also enrolled as 居民
    overlap_begndate: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))
    twin: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # a legacy record of another ID
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 共济: the account's owner
    member: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )  # … and the relative who uses it
    relation: list[str] = field(default_factory=list)
    bind_day: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))

    def special(self, n: int) -> np.ndarray:
        """Persons some event already concerns (each person takes part in one at most)."""
        m = np.zeros(n, dtype=bool)
        for a in (self.transfer_in, self.transfer_out, self.overlap, self.twin, self.owner, self.member):
            m[a] = True
        return m

    def wage(self, wage: int, month: int) -> int:
        """The month's declared wage (fen): the July rise in whole percent, rounded down to the fen."""
        return wage * (100 + WAGE_RISE_PERCENT) // 100 if month >= WAGE_RISE_MONTH else wage


def years_after(d: np.ndarray, years) -> np.ndarray:
    """The day ``years`` after ``d`` (29 February's anniversary falls on 1 March, as 周岁 counts it)."""
    month = d.astype("datetime64[M]")
    offset = d - month.astype("datetime64[D]")
    return (month + np.asarray(years, dtype=np.int64) * 12).astype("datetime64[D]") + offset


def month_start(d: np.ndarray, *, up: bool) -> np.ndarray:
    """The first of ``d``'s month (``up``: the first of a month on or after ``d``)."""
    first = d.astype("datetime64[M]").astype("datetime64[D]")
    if not up:
        return first
    return np.where(first == d, d, (d.astype("datetime64[M]") + 1).astype("datetime64[D]"))


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform day in [lo, hi] (``lo`` where the range is empty)."""
    span = np.maximum((hi - lo).astype(np.int64), 0) + 1
    return lo + (rng.random(lo.size) * span).astype(np.int64).astype("timedelta64[D]")


def _january_after(rng: np.random.Generator, lo: np.ndarray, year: int) -> np.ndarray:
    """1 January of a year after ``lo``'s and up to ``year`` (居民 enroll by calendar year); ``lo`` itself where
    no such year is left."""
    first = lo.astype("datetime64[Y]").astype(np.int64) + 1970 + 1
    y = first + (rng.random(lo.size) * np.maximum(year - first + 1, 1)).astype(np.int64)
    jan = (y - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return np.where(first <= year, jan, lo)


def _months(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whole months from ``a`` to ``b`` (0 if ``b`` is earlier)."""
    return np.maximum(
        b.astype("datetime64[M]").astype(np.int64) - a.astype("datetime64[M]").astype(np.int64), 0
    )


def enrollment_dates(rng: np.random.Generator, p: Params, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """参保日期 and 职工 months contributed before the year, by category (see the module docstring)."""
    n = len(pop)
    start = np.datetime64(date(p.year, 1, 1))
    begn = np.empty(n, dtype="datetime64[D]")
    months = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(pop.psn_type == "11")
    lo = np.maximum(years_after(pop.brdy[active], 18), REFORM)
    hired = month_start(_between(rng, lo, start - np.timedelta64(31, "D")), up=True)
    begn[active] = hired
    earlier = _months(years_after(pop.brdy[active], 20), hired)  # work before this employer, partly insured
    months[active] = _months(hired, start) + (rng.random(active.size) * earlier).astype(np.int64) // 2
    retired = np.flatnonzero(pop.psn_type == "12")
    age = np.where(pop.male[retired], 60, np.where(pop.age[retired] >= 55, 55, 50))
    at = np.clip(years_after(pop.brdy[retired], age), REFORM, start)
    begn[retired] = month_start(at, up=False)
    need = np.where(pop.male[retired], 240, 180)  # months for lifelong benefits (男 20, 女 15 years)
    months[retired] = need + rng.integers(0, 200, retired.size)
    for code, youngest in RESIDENT_FROM.items():
        idx = np.flatnonzero(pop.psn_type == code)
        if youngest is None:
            begn[idx] = pop.brdy[idx]
            continue
        lo = np.maximum(years_after(pop.brdy[idx], youngest), RESIDENT_SCHEME)
        begn[idx] = _january_after(rng, lo, p.year)
    return begn, months


def plan(rng: np.random.Generator, p: Params, pop: Population) -> History:
    """The history and the year's events. Mutates ``pop`` where an event changes a person: a 转入's balance is
    the one brought along; a child bound to a parent's account carries the parent's surname."""
    n = len(pop)
    begn, months = enrollment_dates(rng, p, pop)
    past = History(begndate=begn, contrib_months=months)
    _late_employers(rng, p, pop, past)
    _transfers(rng, p, pop, past)
    _duplicates(rng, p, pop, past)
    _bindings(rng, p, pop, past)
    assert not (np.bincount(np.concatenate([past.owner, past.member]), minlength=n) > 1).any()
    return past


def _count(n: int, share: float) -> int:
    return max(1, round(n * share)) if share > 0 else 0


def _late_employers(rng, p: Params, pop: Population, past: History) -> None:
    """Employers that declared their first months late (1 … k, k in 2–5); each pays back some of them (1 … j,
    j < k) later in the year and owes the rest (欠缴)."""
    k = _count(len(pop.employers), p.arrears_employer_share)
    for e in rng.choice(len(pop.employers), k, replace=False).tolist() if pop.employers else []:
        late = int(rng.integers(2, 6))
        past.late[e] = late
        past.repaid[e] = int(rng.integers(1, late))


def _pick(rng, pool: np.ndarray, k: int) -> np.ndarray:
    return np.sort(rng.choice(pool, min(k, pool.size), replace=False)) if pool.size else pool


def _transfers(rng, p: Params, pop: Population, past: History) -> None:
    """转入: 在职 employees aged 22–45 arrive on the first of a month (March–September) with
    the months and the balance they built elsewhere. 转出: 退休 aged 60–75 leave on a day of March–November."""
    n = len(pop)
    k = _count(n, p.transfer_share)
    pool = np.flatnonzero((pop.psn_type == "11") & (pop.age >= 22) & (pop.age <= 45))
    ti = _pick(rng, pool, k)
    month = rng.integers(3, 10, ti.size)
    past.begndate[ti] = np.array(
        [np.datetime64(date(p.year, int(m), 1)) for m in month], dtype="datetime64[D]"
    )
    past.contrib_months[ti] = rng.integers(12, 181, ti.size)
    pop.balance[ti] = rng.integers(500, 8_001, ti.size) * 100  # whole yuan, as fen
    past.transfer_in = ti
    past.transfer_in_from = [ELSEWHERE[int(x)] for x in rng.integers(0, len(ELSEWHERE), ti.size)]
    start = np.datetime64(date(p.year, 1, 1))
    pool = np.flatnonzero(
        (pop.psn_type == "12") & (pop.age >= 60) & (pop.age <= 75) & (past.begndate < start)
    )
    to = _pick(rng, pool, k)
    past.transfer_out = to
    past.transfer_out_day = np.datetime64(date(p.year, 3, 2)) + rng.integers(0, 260, to.size).astype(
        "timedelta64[D]"
    )
    month_end = (past.transfer_out_day.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    past.transfer_out_day = np.minimum(past.transfer_out_day, month_end - 1)  # before the month's 退休 credit
    past.transfer_out_to = [ELSEWHERE[int(x)] for x in rng.integers(0, len(ELSEWHERE), to.size)]


def _duplicates(rng, p: Params, pop: Population, past: History) -> None:
    """重复参保: 在职 employees who kept a 居民 enrollment (成年居民 from a January after they turned 18), and
    adult 居民 whose ID number a second, legacy record also holds (another generated adult 居民 of the same
    sex and category becomes it, so the number of persons stays as asked)."""
    n = len(pop)
    k = _count(n, p.duplicate_share)
    taken = past.special(n)
    pool = np.flatnonzero((pop.psn_type == "11") & ~taken)
    ov = _pick(rng, pool, k)
    past.overlap = ov
    past.overlap_begndate = _january_after(
        rng, np.maximum(years_after(pop.brdy[ov], 18), RESIDENT_SCHEME), p.year
    )
    adult = np.isin(pop.psn_type, ("15", "16")) & (pop.insutype == "390")
    ends_x = np.char.endswith(pop.certno.astype(str), "X")
    originals = _pick(rng, np.flatnonzero(adult & ends_x & ~past.special(n)), k)
    twins = []
    for a in originals.tolist():
        pool = adult & ~past.special(n) & (pop.psn_type == pop.psn_type[a]) & (pop.male == pop.male[a])
        pool[originals] = False
        pool[twins] = False
        candidates = np.flatnonzero(pool)
        if candidates.size:
            twins.append(int(candidates[rng.integers(0, candidates.size)]))
            _become_legacy_record(pop, twins[-1], a)
    past.twin = np.array(twins, dtype=np.int64)
    youngest = np.where(pop.psn_type[past.twin] == "16", 60, 18)
    past.begndate[past.twin] = _january_after(
        rng, np.maximum(years_after(pop.brdy[past.twin], youngest), RESIDENT_SCHEME), p.year - 1
    )


def _become_legacy_record(pop: Population, twin: int, of: int) -> None:
    """Person ``twin`` becomes an old record of person ``of`` (their name, birth, sex and district) whose ID
    number was keyed with a lower-case check character: the same number under a second psn_no."""
    pop.name[twin] = pop.name[of]
    pop.brdy[twin], pop.age[twin], pop.district[twin] = pop.brdy[of], pop.age[of], pop.district[of]
    pop.certno[twin] = pop.certno[of][:-1] + "x"


def _bindings(rng, p: Params, pop: Population, past: History) -> None:
    """共济: a 在职 employee (25–55, insured before the year) binds a child (under 18, 20–40 years younger), a
    parent (60+, 20–40 years older) or a spouse (an adult 居民 of the other sex within 6 years), from a day of
    January–May."""
    n = len(pop)
    start = np.datetime64(date(p.year, 1, 1))
    taken = past.special(n)
    owners = np.flatnonzero(
        (pop.psn_type == "11") & (pop.age >= 25) & (pop.age <= 55) & (past.begndate < start) & ~taken
    )
    residents = (pop.insutype == "390") & ~taken
    owner, member, relation = [], [], []
    for o in _pick(rng, owners, _count(n, p.family_binding_share)).tolist():
        age, free = int(pop.age[o]), residents.copy()
        free[member] = False
        gap = age - pop.age
        choices = {
            "child": free & (pop.age < 18) & (gap >= 20) & (gap <= 40),
            "parent": free & (pop.age >= 60) & (-gap >= 20) & (-gap <= 40),
            "spouse": free
            & (pop.age >= 18)
            & (pop.age < 60)
            & (pop.male != pop.male[o])
            & (np.abs(gap) <= 6),
        }
        kind = list(choices)[int(rng.integers(0, 3))]
        pool = np.flatnonzero(choices[kind])
        if pool.size == 0:
            continue
        m = int(pool[rng.integers(0, pool.size)])
        owner.append(o)
        member.append(m)
        relation.append(kind)
        if kind == "child":
            pop.name[m] = pop.name[o][0] + pop.name[m][1:]
    past.owner, past.member, past.relation = np.array(owner, np.int64), np.array(member, np.int64), relation
    past.bind_day = start + rng.integers(0, 150, len(owner)).astype("timedelta64[D]")
    past.bind_day = np.maximum(past.bind_day, past.begndate[past.member]) if len(owner) else past.bind_day


def visits_kept(past: History, pop: Population, cl: Claims) -> np.ndarray:
    """The visits that fall within the person's insurance here: none before their 参保日期 (births, 转入, a
    category's age reached during the year), none of a 转出 on or after the day they left."""
    day = cl.day.astype("datetime64[D]")
    keep = day >= past.begndate[cl.person]
    gone = np.full(len(pop), np.datetime64("9999-12-31"), dtype="datetime64[D]")
    gone[past.transfer_out] = past.transfer_out_day
    return keep & (day + cl.los.astype("timedelta64[D]") < gone[cl.person])


@dataclass
class Reversals:
    """Settlements reversed and settled again (结算撤销后重新结算), by visit: 职工 outpatient visits first settled
    in cash and settled again paying from the account; admissions settled again as they were."""

    outpatient: np.ndarray
    inpatient: np.ndarray

    @property
    def visits(self) -> np.ndarray:
        return np.concatenate([self.outpatient, self.inpatient])


def reversals(rng: np.random.Generator, p: Params, pop: Population, past: History, cl: Claims) -> Reversals:
    """Each chosen visit is its person's last of the year and alone on its day, so the accumulators the
    reversal and the new settlement read are those the visit left."""
    n = len(pop)
    order = np.lexsort((np.arange(len(cl)), cl.day, cl.person))
    last = np.zeros(len(cl), dtype=bool)
    person = cl.person[order]
    ends = np.flatnonzero(np.r_[person[1:] != person[:-1], True])
    last[order[ends]] = True
    same_day = np.zeros(len(cl), dtype=bool)
    key = cl.person[order].astype(np.int64) * 100_000 + cl.day[order].astype("datetime64[D]").astype(np.int64)
    dup = np.r_[key[1:] == key[:-1], False] | np.r_[False, key[1:] == key[:-1]]
    same_day[order] = dup
    free = ~past.special(n)[cl.person] & last & ~same_day
    k = _count(n, p.reversal_share)
    out = free & (cl.kind == OUT) & (cl.med_type == "11") & (pop.psn_type[cl.person] == "11")
    inpat = free & (cl.kind == INPAT) & (cl.med_type == "21")
    return Reversals(
        _pick(rng, np.flatnonzero(out), k), _pick(rng, np.flatnonzero(inpat), max(1, k // 2) if k else 0)
    )
