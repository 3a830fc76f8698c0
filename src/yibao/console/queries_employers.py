"""单位 as the console lists them (查询): employers with what they owe — 应缴 / 已缴 / 未缴 / 欠缴 — and an
employer's 按月缴费, 按职工缴费 and 参保职工, each as a query pair ``*_count(s, f)`` and
``*_records(s, f, limit, offset=, order=)`` paged and ordered by the database, rows typed (amounts exact
``Decimal`` yuan, dates ``date``) for the grid and the Excel export alike."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.console.display import names
from yibao.console.queries import paged
from yibao.console.queries_enrollment import districts
from yibao.money import fen_to_decimal
from yibao.store import contribution_reads as reads
from yibao.store.tables import Contribution, Employer, Enrollment, Person

EMPLOYER_COLUMNS = [
    ("emp_no", "单位编号"),
    ("emp_name", "单位名称"),
    ("uscc", "统一社会信用代码"),
    ("district", "区县"),
    ("employees", "在册职工"),
    ("due", "应缴"),
    ("paid", "已缴"),
    ("unpaid", "未缴"),
    ("arrears", "欠缴"),
]
MONEY = {"due", "paid", "unpaid", "arrears", "last_wage", "last_base"}
IN_FORCE = ("1", "2")  # 正常 or 暂停: an employee still on the employer's books
SUMS = {
    "employees",
    "due",
    "paid",
    "unpaid",
    "arrears",
}  # an employer list's columns summed over other tables


def _amounts(row) -> dict:
    """应缴/已缴/未缴/欠缴 of a row of ``reads.contribution_sums`` labels, as exact ``Decimal`` yuan."""
    return {k: fen_to_decimal(int(getattr(row, k) or 0)) for k in ("due", "paid", "unpaid", "arrears")}


def _sums(as_of: date) -> list:
    """The four amounts (``reads.contribution_sums``, declared there once) labelled for a list's columns."""
    return [
        x.label(k)
        for x, k in zip(reads.contribution_sums(as_of), ("due", "paid", "unpaid", "arrears"), strict=True)
    ]


@dataclass
class EmployerFilter:
    """单位: by name (part of it), emp_no or 统一社会信用代码, by district; amounts as of a day (today)."""

    text: str = ""
    admdvs: str | None = None
    as_of: date | None = None

    def where(self) -> list:
        c = []
        t = (self.text or "").strip()
        if t:
            c.append(or_(Employer.emp_no == t, Employer.uscc == t.upper(), Employer.emp_name.like(f"%{t}%")))
        if self.admdvs:
            c.append(Employer.admdvs == self.admdvs)
        return c

    def describe(self, district_names: dict[str, str] | None = None) -> list[str]:
        out = []
        if (self.text or "").strip():
            out.append(f"查询 “{self.text.strip()}”")
        if self.admdvs:
            out.append(f"区县 {(district_names or {}).get(self.admdvs, self.admdvs)}")
        out.append(f"欠缴按 {self.as_of or date.today()} 计")
        return out


def employer_count(s: Session, f: EmployerFilter) -> int:
    return s.scalar(select(func.count()).select_from(Employer).where(*f.where())) or 0


def employer_records(
    s: Session,
    f: EmployerFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> Iterator[dict]:
    """The employers found, each with its employees in force and what it owes (``Decimal`` yuan), ordered
    by the database over all of them (by emp_no by default; amounts as numbers, none as 0).

    Ordered by one of the employer's own columns, one page is chosen first and only its employers' staff
    and contributions are summed; ordered by a sum, every employer's is needed to order them."""
    own = {
        "emp_no": Employer.emp_no,
        "emp_name": Employer.emp_name,
        "uscc": Employer.uscc,
        "district": Employer.admdvs,
    }
    ids: list[str] | None = None
    if limit and order[0] not in SUMS:
        chosen = select(Employer.emp_no).where(*f.where())
        ids = s.scalars(
            paged(chosen, own, order, "emp_no", Employer.emp_no, offset=offset, limit=limit)
        ).all()
        offset = 0

    def within(column) -> list:
        return [] if ids is None else [column.in_(ids)]

    staff = (
        select(Enrollment.emp_no, func.count(func.distinct(Enrollment.psn_no)).label("employees"))
        .where(Enrollment.emp_no.is_not(None), Enrollment.psn_insu_stas.in_(IN_FORCE))
        .where(*within(Enrollment.emp_no))
        .group_by(Enrollment.emp_no)
        .subquery()
    )
    money = (
        select(Contribution.emp_no, *_sums(f.as_of or date.today()))
        .where(Contribution.emp_no.is_not(None))
        .where(*within(Contribution.emp_no))
        .group_by(Contribution.emp_no)
        .subquery()
    )
    amounts = {k: func.coalesce(money.c[k], 0).label(k) for k in ("due", "paid", "unpaid", "arrears")}
    employees = func.coalesce(staff.c.employees, 0).label("employees")
    columns = {**own, "employees": employees, **amounts}
    q = (
        select(Employer, employees, *amounts.values())
        .outerjoin(staff, staff.c.emp_no == Employer.emp_no)
        .outerjoin(money, money.c.emp_no == Employer.emp_no)
        .where(*f.where(), *within(Employer.emp_no))
    )
    q = paged(q, columns, order, "emp_no", Employer.emp_no, offset=offset, limit=limit)
    district_names = {adm: name for adm, name, _ in districts(s)}
    for row in s.execute(q):
        e = row[0]
        yield {
            "emp_no": e.emp_no,
            "emp_name": e.emp_name,
            "uscc": e.uscc,
            "district": district_names.get(e.admdvs, e.admdvs),
            "employees": int(row.employees),
            **_amounts(row),
        }


@dataclass
class EmployerOf:
    """The lists of one employer's page (按月缴费, 按职工缴费, 参保职工); amounts as of a day (today)."""

    emp_no: str
    as_of: date | None = None
    emp_name: str = ""

    def where(self) -> list:
        return [Contribution.emp_no == self.emp_no]

    def describe(self) -> list[str]:
        who = f"{self.emp_name}（{self.emp_no}）" if self.emp_name else self.emp_no
        return [f"单位 {who}", f"欠缴按 {self.as_of or date.today()} 计"]


def employer_summary(s: Session, emp_no: str, as_of: date | None = None) -> dict | None:
    """An employer's header and its totals 应缴/已缴/未缴/欠缴 (yuan strings), or None."""
    e = s.get(Employer, emp_no)
    if e is None:
        return None
    as_of = as_of or date.today()
    total = s.execute(select(*_sums(as_of)).where(Contribution.emp_no == emp_no)).one()
    return {
        "employer": {
            **reads.employer_row(e),
            "district": {a: n for a, n, _ in districts(s)}.get(e.admdvs, ""),
        },
        "total": {k: f"{v:,.2f}" for k, v in _amounts(total).items()},
        "as_of": as_of,
    }


MONTH_COLUMNS = [
    ("period", "缴费期"),
    ("employees", "人数"),
    ("due", "应缴"),
    ("paid", "已缴"),
    ("unpaid", "未缴"),
    ("arrears", "欠缴"),
]


def employer_month_count(s: Session, f: EmployerOf) -> int:
    return s.scalar(select(func.count(func.distinct(Contribution.period))).where(*f.where())) or 0


def employer_month_records(
    s: Session, f: EmployerOf, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """按月缴费: each period's payers and amounts (the latest period first by default)."""
    sums = _sums(f.as_of or date.today())
    employees = func.count(func.distinct(Contribution.psn_no)).label("employees")
    columns = {"period": Contribution.period, "employees": employees, **{c.name: c for c in sums}}
    q = select(Contribution.period, employees, *sums).where(*f.where()).group_by(Contribution.period)
    q = paged(q, columns, order, "period", Contribution.period, offset=offset, limit=limit, default_desc=True)
    for row in s.execute(q):
        yield {"period": reads.period_text(row.period), "employees": int(row.employees), **_amounts(row)}


PER_EMPLOYEE_COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("months", "缴费月数"),
    ("last_wage", "最近申报工资"),
    ("last_base", "最近缴费基数"),
    ("due", "应缴"),
    ("paid", "已缴"),
    ("unpaid", "未缴"),
    ("arrears", "欠缴"),
]
LAST_DECLARED = {"last_wage", "last_base"}  # (not sortable: read for the page's rows only)


def employer_employee_count(s: Session, f: EmployerOf) -> int:
    return s.scalar(select(func.count(func.distinct(Contribution.psn_no))).where(*f.where())) or 0


def employer_employee_records(
    s: Session, f: EmployerOf, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """按职工缴费: each employee's months and amounts with this employer, and the latest declared wage and
    base (by psn_no by default)."""
    sums = _sums(f.as_of or date.today())
    months = func.count(func.distinct(Contribution.period)).label("months")
    columns = {"psn_no": Contribution.psn_no, "psn_name": Person.psn_name, "months": months}
    columns.update({c.name: c for c in sums})
    q = (
        select(Contribution.psn_no, Person.psn_name, months, *sums)
        .join(Person, Person.psn_no == Contribution.psn_no)
        .where(*f.where())
        .group_by(Contribution.psn_no, Person.psn_name)
    )
    q = paged(q, columns, order, "psn_no", Contribution.psn_no, offset=offset, limit=limit)
    rows = iter(s.execute(q))
    while chunk := list(itertools.islice(rows, 1_000)):
        last = {  # each one's latest declared wage and base with this employer
            psn: (wage, base)
            for psn, wage, base in s.execute(
                select(Contribution.psn_no, Contribution.wage, Contribution.base)
                .where(*f.where(), Contribution.psn_no.in_([r.psn_no for r in chunk]))
                .order_by(Contribution.period)
            )
        }
        for row in chunk:
            wage, base = last.get(row.psn_no, (None, None))
            yield {
                "psn_no": row.psn_no,
                "psn_name": row.psn_name,
                "months": int(row.months),
                "last_wage": None if wage is None else fen_to_decimal(wage),
                "last_base": None if base is None else fen_to_decimal(base),
                **_amounts(row),
            }


STAFF_COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("psn_type", "人员类别"),
    ("status", "参保状态"),
    ("begndate", "参保日期"),
    ("enddate", "终止日期"),
    ("contrib_months", "缴费月数"),
]
STAFF_ORDER = {
    "psn_no": Enrollment.psn_no,
    "psn_name": Person.psn_name,
    "psn_type": Enrollment.psn_type,
    "status": Enrollment.psn_insu_stas,
    "begndate": Enrollment.begndate,
    "enddate": Enrollment.enddate,
    "contrib_months": Enrollment.contrib_months,
}


def employer_staff_count(s: Session, f: EmployerOf) -> int:
    return s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.emp_no == f.emp_no)) or 0


def employer_staff_records(
    s: Session, f: EmployerOf, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """参保职工: every enrollment naming the employer (by psn_no by default), categories and states named."""
    n = names(s)
    q = (
        select(Enrollment, Person.psn_name)
        .join(Person, Person.psn_no == Enrollment.psn_no)
        .where(Enrollment.emp_no == f.emp_no)
    )
    q = paged(q, STAFF_ORDER, order, "psn_no", Enrollment.psn_no, Enrollment.id, offset=offset, limit=limit)
    for e, name in s.execute(q):
        yield {
            "id": e.id,
            "psn_no": e.psn_no,
            "psn_name": name,
            "psn_type": n.of("psn_type", e.psn_type),
            "status": n.of("psn_insu_stas", e.psn_insu_stas),
            "begndate": e.begndate,
            "enddate": e.enddate,
            "contrib_months": e.contrib_months,
        }
