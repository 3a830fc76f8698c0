"""ClaimResponse and ExplanationOfBenefit of a settlement (结算) or its reversal.

Amounts map to adjudication categories: ``submitted`` (medfee_sumamt), ``eligible`` (inscp_scp_amt),
``deductible`` (act_pay_dedc), ``benefit`` once per fund (with a yibao code naming the fund),
``paidbypatientother`` (personal account), ``paidbypatientcash`` (cash), and ``noncovered`` split into
全自费 / 超限价 / 先行自付 with their own yibao codes. Both refer to the insured person, the institution,
the insurer (the bureau of the settlement's pooling region) and the Coverage of the enrollment the
settlement applied; the institution's request (no resource here) is named by its ``medins_setl_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from yibao.api.fhir_views.common import (
    MEDINS_SETL_ID,
    SETL_ID,
    YB,
    institution_ref,
    money,
    patient_ref,
    valid,
    when,
)
from yibao.api.fhir_views.coverage import coverage_ref
from yibao.settlement.result import Settled
from yibao.store.tables import Institution, Person, Settlement

ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
FUND_CS = f"{YB}/CodeSystem/fund-pay-type"
NONCOVERED_CS = f"{YB}/CodeSystem/noncovered"


@dataclass(frozen=True)
class SettlementView:
    """A settlement with what its views name: the person, the institution, the Coverage id of the
    enrollment it applied (None: none found) and a reference to its insurer."""

    row: Settlement
    settled: Settled
    person: Person
    institution: Institution
    coverage_id: str | None
    insurer: dict


def _adjudication(settled: Settled) -> list[dict]:
    info = settled.setlinfo
    out = [
        {
            "category": {"coding": [{"system": ADJ, "code": "submitted"}]},
            "amount": money(info["medfee_sumamt"]),
        },
        {
            "category": {"coding": [{"system": ADJ, "code": "eligible"}]},
            "amount": money(info["inscp_scp_amt"]),
        },
        {
            "category": {"coding": [{"system": ADJ, "code": "deductible"}]},
            "amount": money(info["act_pay_dedc"]),
        },
    ]
    for d in settled.setldetail:
        if d.fund_pay_type == "310200":
            continue
        out.append(
            {
                "category": {
                    "coding": [
                        {"system": ADJ, "code": "benefit"},
                        {"system": FUND_CS, "code": d.fund_pay_type},
                    ]
                },
                "amount": money(d.fund_payamt),
            }
        )
    out.append(
        {
            "category": {"coding": [{"system": ADJ, "code": "paidbypatientother", "display": "个人账户"}]},
            "amount": money(info["acct_pay"]),
        }
    )
    out.append(
        {
            "category": {"coding": [{"system": ADJ, "code": "paidbypatientcash"}]},
            "amount": money(info["psn_cash_pay"]),
        }
    )
    for code, field, label in (
        ("fulamt_ownpay", "fulamt_ownpay_amt", "全自费"),
        ("overlmt_selfpay", "overlmt_selfpay", "超限价自费"),
        ("preselfpay", "preselfpay_amt", "先行自付"),
    ):
        out.append(
            {
                "category": {
                    "coding": [
                        {"system": ADJ, "code": "noncovered"},
                        {"system": NONCOVERED_CS, "code": code, "display": label},
                    ]
                },
                "amount": money(info[field]),
            }
        )
    return out


def _common(v: SettlementView) -> dict:
    row = v.row
    return {
        "id": row.setl_id,
        "identifier": [{"system": SETL_ID, "value": row.setl_id}],
        "status": "cancelled" if row.reversed_by or row.refd_setl_flag == "1" else "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "institutional" if row.med_type.startswith("2") else "professional",
                }
            ]
        },
        "use": "claim",
        "patient": patient_ref(v.person.psn_no, v.person.psn_name),
        "created": when(row.setl_time),
        "insurer": v.insurer,
        "outcome": "complete",
        "disposition": ("结算撤销 (reversal of " + row.orig_setl_id + ")")
        if row.orig_setl_id
        else "结算完成",
    }


def _request(row: Settlement) -> dict:
    """The institution's settlement message, a Claim yibao does not keep as a resource: a logical
    reference by identifier."""
    if not row.medins_setl_id:
        return {}
    return {"identifier": {"system": MEDINS_SETL_ID, "value": row.medins_setl_id}, "display": "结算请求"}


def claim_response(v: SettlementView) -> dict:
    request = _request(v.row)
    return valid(
        ClaimResponse,
        {
            "resourceType": "ClaimResponse",
            **_common(v),
            **({"request": request} if request else {}),
            "requestor": institution_ref(v.institution.fixmedins_code, v.institution.fixmedins_name),
            "insurance": [
                {"sequence": 1, "focal": True, "coverage": coverage_ref(v.coverage_id, v.row.insutype)}
            ],
            "total": _adjudication(v.settled),
            "payment": {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype", "code": "complete"}
                    ]
                },
                "amount": money(v.settled.setlinfo["fund_pay_sumamt"]),
            },
        },
    )


def explanation_of_benefit(v: SettlementView) -> dict:
    row, request = v.row, _request(v.row)
    return valid(
        ExplanationOfBenefit,
        {
            "resourceType": "ExplanationOfBenefit",
            **_common(v),
            **({"claim": request} if request else {}),
            "provider": institution_ref(v.institution.fixmedins_code, v.institution.fixmedins_name),
            "billablePeriod": {
                "start": when(row.begndate),
                **({"end": when(row.enddate)} if row.enddate else {}),
            },
            "insurance": [{"focal": True, "coverage": coverage_ref(v.coverage_id, row.insutype)}],
            "total": _adjudication(v.settled),
            "payment": {"amount": money(v.settled.setlinfo["fund_pay_sumamt"])},
        },
    )
