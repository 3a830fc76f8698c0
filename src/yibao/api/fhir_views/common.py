"""What the FHIR views share: yibao's naming systems, money, times, references, search bundles and
OperationOutcome."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from yibao.money import fmt_fen

YB = "https://yibao.example.org/fhir"
PSN_NO = f"{YB}/sid/psn_no"
FIXMEDINS = f"{YB}/sid/fixmedins_code"
ADMDVS = f"{YB}/sid/admdvs"
SETL_ID = f"{YB}/sid/setl_id"
ENROLLMENT = f"{YB}/sid/enrollment"  # the enrollment's id in REST (/api/enrollments/{id})
MEDINS_SETL_ID = f"{YB}/sid/medins_setl_id"  # the institution's message that asked for the settlement
INSUTYPE_CS = f"{YB}/CodeSystem/insutype"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
BUREAU_PREFIX = "bureau-"

# FHIR's id datatype: at most 64 of these characters
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def is_fhir_id(text: str) -> bool:
    return _FHIR_ID.fullmatch(text) is not None


def money(fen: int) -> dict:
    return {"value": Decimal(fmt_fen(fen)), "currency": "CNY"}


def when(d: datetime | date) -> str:
    if not isinstance(d, datetime):
        d = datetime.combine(d, time())
    return f"{d:%Y-%m-%dT%H:%M:%S}+08:00"


def valid(model_cls, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with the FHIR model, then return the data itself: the model's own dump turns decimals into
    binary floats, and money must leave yibao exact."""
    model_cls.model_validate(data)
    return data


def reference(resource_type: str, rid: str, *, identifier: dict | None = None, display: str | None = None):
    """A literal reference to a resource this server serves (with its business identifier beside it, so a
    client that cannot follow the link still knows whom it names)."""
    return {
        "reference": f"{resource_type}/{rid}",
        **({"identifier": identifier} if identifier else {}),
        **({"display": display} if display else {}),
    }


def patient_ref(psn_no: str, psn_name: str | None) -> dict:
    return reference("Patient", psn_no, identifier={"system": PSN_NO, "value": psn_no}, display=psn_name)


def institution_ref(fixmedins_code: str, name: str | None) -> dict:
    return reference(
        "Organization",
        fixmedins_code,
        identifier={"system": FIXMEDINS, "value": fixmedins_code},
        display=name,
    )


def bureau_name(region_name: str) -> str:
    return f"{region_name}医疗保障局"


def bureau_ref(admdvs: str, regions: dict[str, str]) -> dict:
    """The bureau of a pooling region: a literal reference when the region is known here (it is then
    served as ``Organization/bureau-<admdvs>``), else by its admdvs only."""
    identifier = {"system": ADMDVS, "value": admdvs}
    if admdvs in regions:
        return reference(
            "Organization",
            BUREAU_PREFIX + admdvs,
            identifier=identifier,
            display=bureau_name(regions[admdvs]),
        )
    return {"identifier": identifier, "display": f"医疗保障局 ({admdvs})"}


def searchset(base: str, entries: list[dict], total: int, links: dict[str, str]) -> dict:
    """A search result: every entry with its absolute ``fullUrl``; ``total`` counts every match, also
    those on other pages; ``links`` maps relation (self, next …) to the query it stands for."""
    return valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": rel, "url": f"{base}/{query}"} for rel, query in links.items()],
            # (FHIR JSON has no empty arrays: an empty page has no entry at all)
            **({"entry": [_entry(base, r) for r in entries]} if entries else {}),
        },
    )


def _entry(base: str, resource: dict) -> dict:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": "match"},
    }


def query(resource_type: str, params: dict[str, str | int]) -> str:
    return f"{resource_type}?{urlencode(params)}"


# HTTP status → OperationOutcome issue type (http://hl7.org/fhir/issue-type)
ISSUE_TYPE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 422: "invalid"}


def outcome(code: str, diagnostics: str) -> dict:
    return valid(
        OperationOutcome,
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
        },
    )
