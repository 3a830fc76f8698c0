"""The console's lists page and sort in the database: the count is every match (no cap), pages put together
are the whole list in order, amounts order as numbers, dictionary codes show as names."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests import world
from yibao.console import queries as q
from yibao.console import queries_employers as qm
from yibao.console import queries_enrollment as qe
from yibao.store.db import unit_of_work
from yibao.store.tables import Contribution, Dictionary, Employer, Enrollment, Person

MANY = 230  # more than the 200 the old search stopped at


def _people(engine) -> None:
    """``MANY`` persons called 网格… (born on different days, alternately 职工 and 居民), two employers with
    contributions whose amounts order differently as text and as numbers, and one overlapping pair."""
    world.build(engine)
    with unit_of_work(engine) as s:
        for dic_type, code, name in (("insutype", "310", "职工基本医疗保险"), ("psn_type", "11", "在职")):
            s.add(Dictionary(dic_type=dic_type, code=code, name=name, admdvs="000000"))
        for code, name in (("E1", "甲公司"), ("E2", "乙公司"), ("E3", "丙公司")):
            s.add(Employer(emp_no=code, uscc=f"91990102MA0000000{code[-1]}", emp_name=name, admdvs="990102"))
        for i in range(MANY):
            psn = f"G{i:05d}"
            s.add(
                Person(
                    psn_no=psn,
                    certno=f"99010219900101{i:04d}",
                    psn_name=f"网格{i:03d}",
                    gend="1" if i % 2 else "2",
                    brdy=date(1950 + i % 60, 1, 1 + i % 28),
                )
            )
        s.flush()
        for i in range(MANY):
            worker = i % 2 == 0
            s.add(
                Enrollment(
                    psn_no=f"G{i:05d}",
                    insutype="310" if worker else "390",
                    psn_type="11" if worker else "15",
                    begndate=date(2020, 1, 1),
                    insuplc_admdvs="990100",
                    emp_no="E1" if worker and i < 10 else None,
                )
            )
        # an ended 居民 enrollment before the 职工 one: the list shows the one in force
        s.add(
            Enrollment(
                psn_no="G00000",
                insutype="390",
                psn_type="15",
                psn_insu_stas="4",
                begndate=date(2010, 1, 1),
                enddate=date(2019, 12, 31),
                insuplc_admdvs="990100",
            )
        )
        # overlapping basic enrollments of one person (a 居民 one never ended beside the later 职工 one)
        s.add(
            Enrollment(
                psn_no="G00002",
                insutype="390",
                psn_type="15",
                begndate=date(2019, 1, 1),
                insuplc_admdvs="990100",
            )
        )
        # E1 owes 9.00 yuan, E2 100.00, E3 nothing: "9.00" > "100.00" as text, not as numbers
        for emp, psn, due in (("E1", "G00000", 900), ("E2", "G00004", 5_000), ("E2", "G00006", 5_000)):
            s.add(
                Contribution(
                    psn_no=psn,
                    emp_no=emp,
                    insutype="310",
                    kind="employee",
                    period=202501,
                    employer_amt=due,
                    due_amt=due,
                    due_date=date(2025, 2, 15),
                )
            )


def test_the_person_search_counts_every_match_and_pages_in_the_database(engine):
    _people(engine)
    with unit_of_work(engine, write=False) as s:
        f = q.PersonFilter("网格")
        assert q.person_count(s, f) == MANY
        whole = [r["psn_no"] for r in q.person_records(s, f)]
        pages = [r["psn_no"] for k in range(0, MANY, 50) for r in q.person_records(s, f, 50, offset=k)]
        assert pages == whole == sorted(whole) and len(set(pages)) == MANY
        born = [r["brdy"] for r in q.person_records(s, f, order=("brdy", True))]
        assert born == sorted(born, reverse=True) and isinstance(born[0], date)
        first = next(q.person_records(s, f))
        assert first["insutype"] == "职工基本医疗保险" and first["psn_type"] == "在职"  # (the one in force)
        assert first["certno"].count("*") == 10
        by_scheme = [r["psn_no"] for r in q.person_records(s, f, 150, order=("insutype", True))]
        assert by_scheme[: MANY // 2] == whole[1::2][: MANY // 2]  # 390 before 310, each by psn_no
        assert q.person_count(s, q.PersonFilter("")) == MANY + 4  # nothing typed: everyone


def test_employers_order_by_what_they_owe_as_numbers(engine):
    _people(engine)
    with unit_of_work(engine, write=False) as s:
        f = qm.EmployerFilter(as_of=date(2025, 6, 1))
        assert qm.employer_count(s, f) == 3
        rows = list(qm.employer_records(s, f, order=("due", True)))
        assert [(r["emp_no"], r["due"], r["arrears"]) for r in rows] == [
            ("E2", Decimal("100.00"), Decimal("100.00")),
            ("E1", Decimal("9.00"), Decimal("9.00")),
            ("E3", Decimal("0.00"), Decimal("0.00")),
        ]
        assert [r["employees"] for r in rows] == [0, 5, 0]
        assert [r["emp_no"] for r in qm.employer_records(s, f, 1, offset=1, order=("due", False))] == ["E1"]
        assert [r["emp_no"] for r in qm.employer_records(s, qm.EmployerFilter("乙"))] == ["E2"]
        # by a column of their own: the page is chosen first, then only its employers are summed
        named = list(qm.employer_records(s, f, 2, offset=1, order=("emp_no", True)))
        assert [(r["emp_no"], r["due"], r["employees"]) for r in named] == [
            ("E2", Decimal("100.00"), 0),
            ("E1", Decimal("9.00"), 5),
        ]
        assert next(qm.employer_records(s, f, 1))["due"] == Decimal("9.00")
        of = qm.EmployerOf("E1", date(2025, 6, 1))
        assert qm.employer_staff_count(s, of) == 5
        staff = list(qm.employer_staff_records(s, of, 2, offset=1))
        assert [r["psn_no"] for r in staff] == ["G00002", "G00004"] and staff[0]["psn_type"] == "在职"
        two = qm.EmployerOf("E2", date(2025, 6, 1))
        assert qm.employer_employee_count(s, two) == 2 and qm.employer_month_count(s, two) == 1
        (month,) = qm.employer_month_records(s, two)
        assert (month["period"], month["employees"], month["due"]) == ("2025-01", 2, Decimal("100.00"))


def test_duplicate_enrollments_are_counted_and_paged(engine):
    _people(engine)
    with unit_of_work(engine, write=False) as s:
        assert qe.overlap_count(s) == 1
        (pair,) = qe.overlap_records(s)
        assert pair["psn_no"] == "G00002" and pair["overlap"] == "2020-01-01 至 今"
        assert qe.same_certno_count(s) == 0 and list(qe.same_certno_records(s)) == []
