"""Read models over contributions and employers, shared by the REST resources and the console (缴费查询):
contribution periods, contributions with filters and arrears, employers with what they owe. Plain dicts;
amounts in integer fen (the callers format them); nothing here writes.

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
from sqlalchemy.orm import Session

from yibao.errors import InputError, NotFound
from yibao.store.enrollment_reads import enrollment_row
from yibao.store.tables import Contribution, Employer, Enrollment, Person

KINDS = {"employee": "职工", "flexible": "灵活就业", "resident": "居民", "retiree": "退休划账"}


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
