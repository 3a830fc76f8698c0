"""Read models over enrollment, contributions and personal accounts, shared by the REST resources and the
console (查询): employers with what they owe, contributions with filters, 参保率 by district, duplicate
enrollments. Plain dicts; amounts in integer fen (the callers format them); nothing here writes.

Contribution amounts, in the words every page and resource uses:

* ``due``     应缴 — what the payer owes for the rows (``due_amt``), paid or not;
* ``paid``    已缴 — what was collected (``paid_amt``);
* ``unpaid``  未缴 — ``due`` of the rows not yet collected (status ``due``);
* ``arrears`` 欠缴 — the unpaid part whose ``due_date`` is before the as-of date (overdue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from yibao.enrollment import rules
from yibao.errors import InputError, NotFound
from yibao.store.tables import (
    Contribution,
    Employer,
    Enrollment,
    FamilyBinding,
    Person,
    PersonalAccount,
    Region,
)

KINDS = {"employee": "职工", "flexible": "灵活就业", "resident": "居民", "retiree": "退休划账"}
RELATIONS = {"spouse": "配偶", "parent": "父母", "child": "子女"}
FAR = date(9999, 12, 31)


def mask_certno(certno: str) -> str:
    """3505**********123X: a whole ID number is never shown or returned."""
    return certno if len(certno) < 9 else certno[:4] + "*" * (len(certno) - 8) + certno[-4:]


# --- periods ------------------------------------------------------------------------------------------


def parse_period(text: str, field: str = "period") -> int:
    """``2025-03`` → 202503 (a 职工 month); ``2025`` → 202500 (a 居民 year)."""
    t = (text or "").strip()
    try:
        if len(t) == 4 and t.isdigit():
            return int(t) * 100
        y, m = t.split("-")
        if len(y) == 4 and y.isdigit() and m.isdigit() and 1 <= int(m) <= 12 and len(m) == 2:
            return int(y) * 100 + int(m)
    except ValueError:
        pass
    raise InputError(f'{field}: "{text}" 不是缴费期 (YYYY-MM 或居民年度 YYYY)')


def period_text(period: int) -> str:
    y, m = divmod(int(period), 100)
    return f"{y}" if m == 0 else f"{y}-{m:02d}"


# --- contributions ------------------------------------------------------------------------------------


def contribution_sums(as_of: date):
    """The four amounts of the module docstring, as SQL aggregates over Contribution."""
    unpaid = Contribution.status == "due"
    return (
        func.coalesce(func.sum(Contribution.due_amt), 0),
        func.coalesce(func.sum(Contribution.paid_amt), 0),
        func.coalesce(func.sum(case((unpaid, Contribution.due_amt - Contribution.paid_amt), else_=0)), 0),
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(unpaid, Contribution.due_date < as_of),
                        Contribution.due_amt - Contribution.paid_amt,
                    ),
                    else_=0,
                )
            ),
            0,
        ),
    )


def _amounts(due, paid, unpaid, arrears) -> dict[str, int]:
    return {"due": int(due), "paid": int(paid), "unpaid": int(unpaid), "arrears": int(arrears)}


@dataclass
class ContributionFilter:
    period: int | None = None
    emp_no: str | None = None
    psn_no: str | None = None
    kind: str | None = None
    status: str | None = None  # due | paid | arrears
    as_of: date | None = None

    def where(self) -> list:
        c = []
        for col, v in (
            (Contribution.period, self.period),
            (Contribution.emp_no, self.emp_no),
            (Contribution.psn_no, self.psn_no),
            (Contribution.kind, self.kind),
        ):
            if v is not None and v != "":
                c.append(col == v)
        if not self.kind:  # 退休 account credits are rows of the table but not contributions anyone pays
            c.append(Contribution.kind != "retiree")
        if self.status == "arrears":
            c += [Contribution.status == "due", Contribution.due_date < (self.as_of or date.today())]
        elif self.status:
            c.append(Contribution.status == self.status)
        return c


def contribution_status(status: str, due_date: date, as_of: date) -> str:
    if status == "paid":
        return "paid"
    return "arrears" if due_date < as_of else "due"


def contributions(
    s: Session, f: ContributionFilter, *, offset: int = 0, limit: int | None = 50
) -> tuple[int, dict[str, int], list[dict]]:
    """(number of rows, their totals, one page of rows) for the filter."""
    as_of = f.as_of or date.today()
    conds = f.where()
    count, *amounts = s.execute(select(func.count(), *contribution_sums(as_of)).where(*conds)).one()
    q = (
        select(Contribution, Person.psn_name, Employer.emp_name)
        .join(Person, Person.psn_no == Contribution.psn_no)
        .outerjoin(Employer, Employer.emp_no == Contribution.emp_no)
        .where(*conds)
        .order_by(Contribution.period.desc(), Contribution.emp_no, Contribution.psn_no, Contribution.kind)
        .offset(offset)
    )
    if limit:
        q = q.limit(limit)
    rows = [
        {
            "id": c.id,
            "period": period_text(c.period),
            "psn_no": c.psn_no,
            "psn_name": name,
            "emp_no": c.emp_no,
            "emp_name": emp_name,
            "insutype": c.insutype,
            "kind": c.kind,
            "wage": c.wage,
            "base": c.base,
            "employer_amt": c.employer_amt,
            "employee_amt": c.employee_amt,
            "individual_amt": c.individual_amt,
            "assistance_amt": c.assistance_amt,
            "subsidy_amt": c.subsidy_amt,
            "due_amt": c.due_amt,
            "paid_amt": c.paid_amt,
            "status": contribution_status(c.status, c.due_date, as_of),
            "due_date": c.due_date,
            "paid_at": c.paid_at,
        }
        for c, name, emp_name in s.execute(q)
    ]
    return int(count), _amounts(*amounts), rows


def arrears(s: Session, as_of: date, emp_no: str | None = None) -> list[dict]:
    """欠缴 by payer: each employer (its employees' rows), and each person paying alone (灵活就业, 居民)."""
    overdue = [Contribution.status == "due", Contribution.due_date < as_of]
    if emp_no:
        overdue.append(Contribution.emp_no == emp_no)
    out = []
    for e_no, e_name, n, periods, amount, oldest in s.execute(
        select(
            Contribution.emp_no,
            Employer.emp_name,
            func.count(func.distinct(Contribution.psn_no)),
            func.count(func.distinct(Contribution.period)),
            func.sum(Contribution.due_amt - Contribution.paid_amt),
            func.min(Contribution.due_date),
        )
        .join(Employer, Employer.emp_no == Contribution.emp_no)
        .where(*overdue)
        .group_by(Contribution.emp_no, Employer.emp_name)
        .order_by(Contribution.emp_no)
    ):
        out.append(
            {
                "payer": "employer",
                "emp_no": e_no,
                "name": e_name,
                "persons": int(n),
                "periods": int(periods),
                "arrears": int(amount),
                "oldest_due_date": oldest,
            }
        )
    if emp_no:
        return out
    for psn_no, name, kind, periods, amount, oldest in s.execute(
        select(
            Contribution.psn_no,
            Person.psn_name,
            Contribution.kind,
            func.count(func.distinct(Contribution.period)),
            func.sum(Contribution.due_amt - Contribution.paid_amt),
            func.min(Contribution.due_date),
        )
        .join(Person, Person.psn_no == Contribution.psn_no)
        .where(*overdue, Contribution.emp_no.is_(None))
        .group_by(Contribution.psn_no, Person.psn_name, Contribution.kind)
        .order_by(Contribution.psn_no, Contribution.kind)
    ):
        out.append(
            {
                "payer": kind,
                "psn_no": psn_no,
                "name": name,
                "persons": 1,
                "periods": int(periods),
                "arrears": int(amount),
                "oldest_due_date": oldest,
            }
        )
    return out


# --- employers ----------------------------------------------------------------------------------------


def employer_row(e: Employer) -> dict:
    return {
        "emp_no": e.emp_no,
        "uscc": e.uscc,
        "emp_name": e.emp_name,
        "admdvs": e.admdvs,
        "status": e.status,
    }


def employers(
    s: Session,
    *,
    text: str | None = None,
    admdvs: str | None = None,
    as_of: date | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[dict]]:
    """(how many match, one page of them): employers filtered by name / code / district, each with its
    employees in force (正常 or 暂停) and what it owes."""
    as_of = as_of or date.today()
    conds = []
    if text and text.strip():
        t = text.strip()
        conds.append(or_(Employer.emp_no == t, Employer.uscc == t.upper(), Employer.emp_name.like(f"%{t}%")))
    if admdvs:
        conds.append(Employer.admdvs == admdvs)
    total = s.scalar(select(func.count()).select_from(Employer).where(*conds)) or 0
    q = select(Employer).where(*conds).order_by(Employer.emp_no).offset(offset)
    page = s.scalars(q.limit(limit) if limit else q).all()
    ids = [e.emp_no for e in page]
    staff, money = {}, {}
    for k in range(0, len(ids), 1_000):
        part = ids[k : k + 1_000]
        staff.update(
            s.execute(
                select(Enrollment.emp_no, func.count(func.distinct(Enrollment.psn_no)))
                .where(Enrollment.emp_no.in_(part), Enrollment.psn_insu_stas.in_(("1", "2")))
                .group_by(Enrollment.emp_no)
            ).all()
        )
        money.update(
            {
                row[0]: _amounts(*row[1:])
                for row in s.execute(
                    select(Contribution.emp_no, *contribution_sums(as_of))
                    .where(Contribution.emp_no.in_(part))
                    .group_by(Contribution.emp_no)
                )
            }
        )
    zero = _amounts(0, 0, 0, 0)
    return int(total), [
        {**employer_row(e), "employees": int(staff.get(e.emp_no, 0)), **money.get(e.emp_no, zero)}
        for e in page
    ]


def employer_detail(s: Session, emp_no: str, as_of: date | None = None) -> dict:
    """An employer, its employees (every enrollment naming it), and its contributions by month and per
    employee. Raises NotFound."""
    as_of = as_of or date.today()
    e = s.get(Employer, emp_no)
    if e is None:
        raise NotFound(f"emp_no: 单位不存在 {emp_no}")
    staff = [
        {**enrollment_row(enr), "psn_name": name}
        for enr, name in s.execute(
            select(Enrollment, Person.psn_name)
            .join(Person, Person.psn_no == Enrollment.psn_no)
            .where(Enrollment.emp_no == emp_no)
            .order_by(Enrollment.psn_no, Enrollment.begndate)
        )
    ]
    mine = Contribution.emp_no == emp_no
    total = _amounts(*s.execute(select(*contribution_sums(as_of)).where(mine)).one())
    by_month = [
        {"period": period_text(p), "employees": int(n), **_amounts(*rest)}
        for p, n, *rest in s.execute(
            select(
                Contribution.period, func.count(func.distinct(Contribution.psn_no)), *contribution_sums(as_of)
            )
            .where(mine)
            .group_by(Contribution.period)
            .order_by(Contribution.period.desc())
        )
    ]
    last = {  # each employee's latest declared wage and base with this employer
        psn: (wage, base)
        for psn, wage, base in s.execute(
            select(Contribution.psn_no, Contribution.wage, Contribution.base)
            .where(mine)
            .order_by(Contribution.period)
        )
    }
    by_employee = [
        {
            "psn_no": psn,
            "psn_name": name,
            "months": int(n),
            "last_wage": last.get(psn, (None, None))[0],
            "last_base": last.get(psn, (None, None))[1],
            **_amounts(*rest),
        }
        for psn, name, n, *rest in s.execute(
            select(
                Contribution.psn_no,
                Person.psn_name,
                func.count(func.distinct(Contribution.period)),
                *contribution_sums(as_of),
            )
            .join(Person, Person.psn_no == Contribution.psn_no)
            .where(mine)
            .group_by(Contribution.psn_no, Person.psn_name)
            .order_by(Contribution.psn_no)
        )
    ]
    return {
        "employer": employer_row(e),
        "employees": staff,
        "contributions": {"total": total, "by_month": by_month, "by_employee": by_employee},
        "as_of": as_of,
    }


# --- persons, enrollments, accounts, family -----------------------------------------------------------


def enrollment_row(e: Enrollment) -> dict:
    return {
        "id": e.id,
        "psn_no": e.psn_no,
        "insutype": e.insutype,
        "psn_type": e.psn_type,
        "psn_insu_stas": e.psn_insu_stas,
        "psn_insu_stas_name": rules.STATUS.get(e.psn_insu_stas, ""),
        "begndate": e.begndate,
        "enddate": e.enddate,
        "paus_insu_date": e.paus_insu_date,
        "insuplc_admdvs": e.insuplc_admdvs,
        "emp_no": e.emp_no,
        "emp_name": e.emp_name,
        "flxempe_flag": e.flxempe_flag,
        "flexible_base": e.flexible_base,
        "wait_until": e.wait_until,
        "contrib_months": e.contrib_months,
        "end_reason": e.end_reason,
    }


def person_enrollments(s: Session, psn_no: str) -> list[dict]:
    return [
        enrollment_row(e)
        for e in s.scalars(
            select(Enrollment).where(Enrollment.psn_no == psn_no).order_by(Enrollment.begndate, Enrollment.id)
        )
    ]


def family(s: Session, psn_no: str) -> dict[str, list[dict]]:
    """共济: who may use this person's account (members), and whose account this person may use."""
    names = {}

    def rows(cond, other) -> list[dict]:
        out = []
        for b in s.scalars(
            select(FamilyBinding).where(cond).order_by(FamilyBinding.begndate, FamilyBinding.id)
        ):
            who = getattr(b, other)
            if who not in names:
                names[who] = s.scalar(select(Person.psn_name).where(Person.psn_no == who))
            out.append(
                {
                    "id": b.id,
                    "owner_psn_no": b.owner_psn_no,
                    "member_psn_no": b.member_psn_no,
                    "psn_name": names[who],
                    "relation": b.relation,
                    "relation_name": RELATIONS.get(b.relation, b.relation),
                    "begndate": b.begndate,
                    "enddate": b.enddate,
                }
            )
        return out

    return {
        "members": rows(FamilyBinding.owner_psn_no == psn_no, "member_psn_no"),
        "uses": rows(FamilyBinding.member_psn_no == psn_no, "owner_psn_no"),
    }


def account_balance(s: Session, psn_no: str) -> int | None:
    acct = s.get(PersonalAccount, psn_no)
    return None if acct is None else int(acct.balance)


# --- reports ------------------------------------------------------------------------------------------


def districts(s: Session, admdvs: str) -> tuple[str, list[tuple[str, str, int]]]:
    """(region name, [(district admdvs, name, resident population)]) as loaded by ``yibao region load``
    (the census of ``region.yaml``) or written by the demo generator (a census matching its population)."""
    region = s.get(Region, admdvs)
    if region is None:
        raise NotFound(f"admdvs: 统筹区 {admdvs} 未载入 (yibao region load {admdvs})")
    rows = s.execute(
        select(Region.admdvs, Region.name, Region.population)
        .where(Region.parent_admdvs == admdvs, Region.level == "district")
        .order_by(Region.admdvs)
    )
    return region.name, [(adm, name, int(pop or 0)) for adm, name, pop in rows]


def coverage(s: Session, table: list[tuple[str, str, int]], on: date) -> dict:
    """参保率 by district on ``on``: persons (by their 户籍/常住 district) holding a basic insurance in force
    on the day (status 正常 or 暂停 — a suspension keeps the person enrolled — and a period covering the day),
    ÷ the district's resident population. Persons of no listed district are counted apart (``elsewhere``),
    never in a district's rate."""
    covered = and_(
        Enrollment.insutype.in_(rules.BASIC),
        Enrollment.psn_insu_stas.in_(("1", "2")),
        Enrollment.begndate <= on,
        or_(Enrollment.enddate.is_(None), Enrollment.enddate >= on),
    )
    counts = {
        adm: int(n)
        for adm, n in s.execute(
            select(Person.admdvs, func.count(func.distinct(Person.psn_no)))
            .join(Enrollment, Enrollment.psn_no == Person.psn_no)
            .where(covered)
            .group_by(Person.admdvs)
        )
    }
    rows = [
        {"admdvs": adm, "name": name, "insured": counts.pop(adm, 0), "population": pop}
        for adm, name, pop in table
    ]
    return {
        "on": on,
        "districts": rows,
        "insured": sum(r["insured"] for r in rows),
        "population": sum(r["population"] for r in rows),
        "elsewhere": sum(counts.values()),
    }


def in_force_on(day: date):
    """SQL twin of ``rules.status_on(e, day) == "1"`` for an enrollment begun by ``day``: 正常 that day — a
    suspension dated later (暂停已预约) or a termination after the day does not count yet."""
    e = Enrollment
    return and_(
        e.begndate <= day,
        or_(e.enddate.is_(None), e.enddate >= day),
        or_(
            e.psn_insu_stas == "1",
            and_(e.psn_insu_stas == "2", e.paus_insu_date > day),
            and_(e.psn_insu_stas == "4", e.enddate >= day),
        ),
    )


def overlap_pairs():
    """(a, b, the query of the pairs): basic enrollments (310/390) of one person whose periods overlap —
    正常, 暂停 or 终止 alike (an ended enrollment still covered its days; 无效 ones are void). The one
    definition of a 重复参保 pair: the REST report and the console's paged list both read it."""
    a, b = aliased(Enrollment), aliased(Enrollment)
    counted = ("1", "2", "4")
    q = (
        select(Person.psn_no, Person.psn_name, Person.certno, a, b)
        .join(b, and_(b.psn_no == a.psn_no, b.id > a.id))
        .join(Person, Person.psn_no == a.psn_no)
        .where(
            a.insutype.in_(rules.BASIC),
            b.insutype.in_(rules.BASIC),
            a.psn_insu_stas.in_(counted),
            b.psn_insu_stas.in_(counted),
            a.begndate <= func.coalesce(b.enddate, FAR),
            b.begndate <= func.coalesce(a.enddate, FAR),
        )
    )
    return a, b, q


def shared_certno_keys():
    """(the compared ID number, the query of the numbers held under two or more psn_no) — compared
    case-blind (an 'x' check character is an 'X')."""
    key = func.upper(func.trim(Person.certno))
    return key, select(key).group_by(key).having(func.count(func.distinct(Person.psn_no)) > 1)


def duplicate_enrollments(s: Session) -> dict[str, list[dict]]:
    """重复参保: (1) pairs of basic enrollments (310/390) of one person whose periods overlap — 正常,
    暂停 or 终止 alike (an ended enrollment still covered its days; 无效 ones are void); (2) one ID number
    under two or more psn_no (compared case-blind: an 'x' check character is an 'X')."""
    a, b, pairs = overlap_pairs()
    overlaps = []
    for psn_no, name, certno, ea, eb in s.execute(pairs.order_by(Person.psn_no, a.id, b.id)):
        start = max(ea.begndate, eb.begndate)
        end = min(ea.enddate or FAR, eb.enddate or FAR)
        overlaps.append(
            {
                "psn_no": psn_no,
                "psn_name": name,
                "certno": mask_certno(certno),
                "enrollments": [enrollment_row(ea), enrollment_row(eb)],
                "overlap_from": start,
                "overlap_to": None if end == FAR else end,
            }
        )
    key, shared = shared_certno_keys()
    dup_keys = list(s.scalars(shared))
    same_certno = []
    if dup_keys:
        groups: dict[str, list[dict]] = {}
        for p in s.scalars(select(Person).where(key.in_(dup_keys)).order_by(Person.psn_no)):
            groups.setdefault(p.certno.strip().upper(), []).append(
                {
                    "psn_no": p.psn_no,
                    "psn_name": p.psn_name,
                    "psn_cert_type": p.psn_cert_type,
                    "enrollments": person_enrollments(s, p.psn_no),
                }
            )
        same_certno = [
            {"certno": mask_certno(k), "persons": v} for k, v in sorted(groups.items(), key=lambda kv: kv[0])
        ]
    return {"overlaps": overlaps, "same_certno": same_certno}
