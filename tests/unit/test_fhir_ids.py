"""Coverage ids and the enrollment a settlement applied: pure rules over a person's enrollments."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from yibao.api.fhir_views.coverage import applied_enrollment, coverage_ids, psn_no_candidates


def enr(id_: int, begn: date, end: date | None = None, insutype: str = "390", psn_no: str = "P0003"):
    return SimpleNamespace(id=id_, psn_no=psn_no, insutype=insutype, begndate=begn, enddate=end)


def test_ids_are_person_type_and_start_and_a_same_day_successor_is_numbered():
    first = enr(7, date(2020, 1, 1), date(2025, 3, 1))
    again = enr(9, date(2025, 3, 1))  # ended and begun again on 2025-03-01
    same_day = enr(8, date(2025, 3, 1), date(2025, 3, 1))  # registered before `again`
    employee = enr(3, date(2019, 5, 1), date(2019, 12, 31), insutype="310")
    ids = coverage_ids([again, first, same_day, employee])  # (any order in, registration order counts)
    assert ids == {
        3: "P0003-310-20190501",
        7: "P0003-390-20200101",
        8: "P0003-390-20250301",
        9: "P0003-390-20250301-2",
    }
    assert coverage_ids([same_day])[8] == ids[8]  # a later enrollment does not renumber an earlier one
    for coverage_id in ids.values():
        assert "P0003" in psn_no_candidates(coverage_id)


def test_the_applied_enrollment_is_the_one_in_force_on_the_visit_day():
    old = enr(1, date(2020, 1, 1), date(2025, 2, 28))
    new = enr(2, date(2025, 3, 1))
    both = [old, new, enr(3, date(2020, 1, 1), insutype="310")]
    assert applied_enrollment(both, "390", date(2025, 2, 10)) is old
    assert applied_enrollment(both, "390", date(2025, 2, 28)) is old  # its last day
    assert applied_enrollment(both, "390", date(2025, 3, 1)) is new
    assert applied_enrollment(both, "390", date(2019, 12, 31)) is None  # nothing begun yet
    assert applied_enrollment(both, "310", date(2025, 3, 1)).id == 3  # the visit's insurance type
    # ended afterwards with an earlier date (a termination recorded after the settlement): still the one
    assert applied_enrollment([enr(1, date(2020, 1, 1), date(2025, 1, 31))], "390", date(2025, 2, 10)).id == 1
    # begun the same day: the later registered
    assert (
        applied_enrollment([enr(4, date(2025, 3, 1)), enr(5, date(2025, 3, 1))], "390", date(2025, 3, 2)).id
        == 5
    )
