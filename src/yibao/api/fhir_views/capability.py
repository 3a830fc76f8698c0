"""The CapabilityStatement (``GET /fhir/metadata``): what this server answers, from one table.

The endpoints in ``routes_fhir`` implement exactly :data:`RESOURCES`; a test reads the statement back and
calls every interaction and search parameter it declares, and checks that every FHIR route is declared.
"""

from __future__ import annotations

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from yibao import __version__
from yibao.api.fhir_views.common import valid

HL7_SP = "http://hl7.org/fhir/SearchParameter"
# when the statement last changed (CapabilityStatement.date): change it with the table
STATEMENT_DATE = "2026-12-03"
MAX_COUNT = 100  # _count above this is served as this many per page (FHIR lets the server return fewer)
DEFAULT_COUNT = 20

# resource type → (permission a read or search needs, search parameters: name → (type, documentation))
RESOURCES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "Patient": (
        "person.read",
        {"identifier": ("token", "人员编号 psn_no: <value> 或 {system}|<value> (system 为 psn_no 命名空间)")},
    ),
    "Coverage": (
        "person.read",
        {"patient": ("reference", "参保人: <psn_no> 或 Patient/<psn_no>；该人全部参保登记")},
    ),
    "Organization": ("settlement.read", {}),
    "ClaimResponse": (
        "settlement.read",
        {"patient": ("reference", f"参保人的结算（含撤销），新者在前；_count 每页条数（至多 {MAX_COUNT}）")},
    ),
    "ExplanationOfBenefit": (
        "settlement.read",
        {"patient": ("reference", f"参保人的结算（含撤销），新者在前；_count 每页条数（至多 {MAX_COUNT}）")},
    ),
}


def _param(resource_type: str, name: str, kind: str, doc: str) -> dict:
    return {
        "name": name,
        "definition": f"{HL7_SP}/{resource_type}-{name}",
        "type": kind,
        "documentation": doc,
    }


def _resource(resource_type: str, permission: str, params: dict[str, tuple[str, str]]) -> dict:
    return {
        "type": resource_type,
        "documentation": f"需要权限 {permission}",
        "interaction": [{"code": "read"}, *([{"code": "search-type"}] if params else [])],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "referencePolicy": ["literal", "logical", "local"],
        **(
            {"searchParam": [_param(resource_type, name, *p) for name, p in params.items()]} if params else {}
        ),
    }


def statement(base: str) -> dict:
    """What a FHIR client reads first (anonymously, as clients do: it names no person)."""
    return valid(
        CapabilityStatement,
        {
            "resourceType": "CapabilityStatement",
            "name": "YibaoFhirViews",
            "title": "yibao 医保 FHIR R4 视图",
            "status": "active",
            "date": STATEMENT_DATE,
            "publisher": "yibao",
            "kind": "instance",
            "software": {"name": "yibao", "version": __version__},
            "implementation": {"description": "yibao 医保 FHIR R4 视图（只读）", "url": base},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "只读视图：参保人、参保登记、定点医药机构与医保局、结算。"
                        "除本声明外，请求须带 Bearer 令牌 (POST /api/token)。"
                    ),
                    "security": {
                        "description": "Authorization: Bearer <token>，令牌由 POST /api/token 签发，按资源要求权限",
                    },
                    "resource": [_resource(t, perm, params) for t, (perm, params) in RESOURCES.items()],
                }
            ],
        },
    )
