"""Coverage: one enrollment (参保登记), its id, and which enrollment a settlement applied."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from fhir.resources.R4B.coverage import Coverage

from yibao.api.fhir_views.common import ENROLLMENT, INSUTYPE_CS, bureau_ref, patient_ref, valid
from yibao.store.tables import Enrollment, Person

STATUS = {"1": "active", "2": "cancelled", "4": "cancelled"}  # psn_insu_stas; others are drafts


def coverage_ids(enrollments: Iterable[Enrollment]) -> dict[int, str]:
    """enrollment id → Coverage id, for all of one person's enrollments: ``<psn_no>-<insutype>-<YYYYMMDD>``
    of its begndate; a later enrollment of the same type begun the same day (one ended and another begun
    on one date) gets ``-2``, ``-3`` … in registration (id) order, so that an id once given never changes."""
    seen: Counter[str] = Counter()
    ids = {}
    for e in sorted(enrollments, key=lambda e: e.id):
        key = f"{e.psn_no}-{e.insutype}-{e.begndate:%Y%m%d}"
        seen[key] += 1
        ids[e.id] = key if seen[key] == 1 else f"{key}-{seen[key]}"
    return ids


def psn_no_candidates(coverage_id: str) -> list[str]:
    """Whose Coverage an id can be: the psn_no before ``-<insutype>-<date>`` and, for an id with a ``-n``
    ending, the one before that too (the caller compares the ids those persons' enrollments do have)."""
    parts = coverage_id.split("-")
    return ["-".join(parts[:-k]) for k in (2, 3) if len(parts) > k]


def applied_enrollment(enrollments: Iterable[Enrollment], insutype: str, day: date) -> Enrollment | None:
    """The enrollment a settlement of a visit on ``day`` applied, as ``enrollment.rules.choose_enrollment``
    chose it: of the person's enrollments of the visit's insurance type begun by that day, the latest begun
    that was in force on it. An enrollment ended since with an earlier end date (recorded after the
    settlement) still counts when none is in force on the day; of two begun the same day the later
    registered counts. None when the person has no enrollment of that type begun by the day."""
    begun = [e for e in enrollments if e.insutype == insutype and e.begndate <= day]
    if not begun:
        return None
    return max(begun, key=lambda e: (e.enddate is None or e.enddate >= day, e.begndate, e.id))


def coverage_ref(coverage_id: str | None, insutype: str) -> dict:
    if coverage_id is None:  # no enrollment found: say which insurance, claim no resource
        return {"display": f"险种 {insutype}（结算日无参保登记）"}
    return {"reference": f"Coverage/{coverage_id}", "display": f"险种 {insutype}"}


def coverage(e: Enrollment, coverage_id: str, person: Person, names: dict[str, str], regions) -> dict:
    beneficiary = patient_ref(person.psn_no, person.psn_name)
    return valid(
        Coverage,
        {
            "resourceType": "Coverage",
            "id": coverage_id,
            "identifier": [{"system": ENROLLMENT, "value": str(e.id)}],
            "status": STATUS.get(e.psn_insu_stas, "draft"),
            "type": {
                "coding": [
                    {
                        "system": INSUTYPE_CS,
                        "code": e.insutype,
                        **({"display": names[e.insutype]} if names.get(e.insutype) else {}),
                    }
                ]
            },
            "subscriber": beneficiary,
            "subscriberId": e.psn_no,
            "beneficiary": beneficiary,
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                        "code": "self",
                    }
                ]
            },
            "period": {
                "start": e.begndate.isoformat(),
                **({"end": e.enddate.isoformat()} if e.enddate else {}),
            },
            "payor": [bureau_ref(e.insuplc_admdvs, regions)],
            "class": [
                {
                    "type": {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}
                        ]
                    },
                    "value": e.psn_type,
                    "name": f"人员类别 {e.psn_type}",
                }
            ],
        },
    )
