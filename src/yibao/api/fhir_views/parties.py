"""Patient (参保人) and Organization (定点医药机构, 医疗保障局) views."""

from __future__ import annotations

from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient

from yibao.api.fhir_views.common import (
    ADMDVS,
    BUREAU_PREFIX,
    FIXMEDINS,
    ORG_TYPE,
    PSN_NO,
    YB,
    bureau_name,
    valid,
)
from yibao.store.enrollment_reads import mask_certno
from yibao.store.tables import Institution, Person

CERT_TYPE_CS = f"{YB}/CodeSystem/psn_cert_type"
CERTNO_MASKED = f"{YB}/sid/certno-masked"  # not the ID number's namespace: a masked value matches nothing
FIXMEDINS_TYPE_CS = f"{YB}/CodeSystem/fixmedins_type"
USCC = f"{YB}/sid/uscc"  # 统一社会信用代码
GENDER = {"1": "male", "2": "female", "0": "unknown", "9": "unknown"}  # GB/T 2261.1; 9 未说明


def patient(p: Person) -> dict:
    """The insured person. The ID number is masked as the REST resources and the console show it, and the
    resource carries the MASKED security label so that no client takes it for the whole number."""
    return valid(
        Patient,
        {
            "resourceType": "Patient",
            "id": p.psn_no,
            "meta": {
                "security": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                        "code": "MASKED",
                        "display": "masked",
                    }
                ]
            },
            "identifier": [
                {"use": "official", "system": PSN_NO, "value": p.psn_no, "type": {"text": "人员编号"}},
                {
                    "use": "secondary",
                    "type": {
                        "coding": [{"system": CERT_TYPE_CS, "code": p.psn_cert_type}],
                        "text": "证件号码（已脱敏）",
                    },
                    "system": CERTNO_MASKED,
                    "value": mask_certno(p.certno),
                },
            ],
            "name": [{"use": "official", "text": p.psn_name}],
            "gender": GENDER.get(p.gend, "unknown"),
            "birthDate": p.brdy.isoformat(),
            **({"deceasedDateTime": p.death_date.isoformat()} if p.death_date else {}),
        },
    )


def institution(i: Institution) -> dict:
    """A designated hospital, clinic or pharmacy; ``active`` while its agreement is (not suspended or
    exited)."""
    return valid(
        Organization,
        {
            "resourceType": "Organization",
            "id": i.fixmedins_code,
            "identifier": [
                {"system": FIXMEDINS, "value": i.fixmedins_code},
                *([{"system": USCC, "value": i.uscc}] if i.uscc else []),
            ],
            "active": i.status == "active",
            "type": [
                {
                    "coding": [
                        {"system": ORG_TYPE, "code": "prov", "display": "Healthcare Provider"},
                        {"system": FIXMEDINS_TYPE_CS, "code": i.fixmedins_type},
                    ]
                }
            ],
            "name": i.fixmedins_name,
            **({"address": [{"text": i.address}]} if i.address else {}),
        },
    )


def bureau(admdvs: str, region_name: str) -> dict:
    """The medical security bureau of a region: the insurer of its settlements, the payor of its
    enrollments."""
    return valid(
        Organization,
        {
            "resourceType": "Organization",
            "id": BUREAU_PREFIX + admdvs,
            "identifier": [{"system": ADMDVS, "value": admdvs}],
            "active": True,
            "type": [
                {
                    "coding": [
                        {"system": ORG_TYPE, "code": "pay", "display": "Payer"},
                        {"system": ORG_TYPE, "code": "govt", "display": "Government"},
                    ]
                }
            ],
            "name": bureau_name(region_name),
        },
    )
