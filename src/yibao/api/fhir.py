"""FHIR R4 views (R4B models of ``fhir.resources``) of coverage and adjudication.

Amounts map to adjudication categories: ``submitted`` (medfee_sumamt), ``eligible`` (inscp_scp_amt),
``deductible`` (act_pay_dedc), ``benefit`` once per fund (with a yibao code naming the fund),
``paidbypatientother`` (personal account), ``paidbypatientcash`` (cash), and ``noncovered`` split into
全自费 / 超限价 / 先行自付 with their own yibao codes. Every resource is validated by its model before
it is returned.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from yibao.money import fmt_fen
from yibao.settlement.result import Settled
from yibao.store.tables import Enrollment, Institution, Person, Settlement

ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
YB = "https://yibao.example.org/fhir"
FUND_CS = f"{YB}/CodeSystem/fund-pay-type"
NONCOVERED_CS = f"{YB}/CodeSystem/noncovered"
INSUTYPE_CS = f"{YB}/CodeSystem/insutype"
PSN_NO = f"{YB}/sid/psn_no"
FIXMEDINS = f"{YB}/sid/fixmedins_code"
BUREAU = {"display": "示例市医疗保障局", "identifier": {"system": f"{YB}/sid/admdvs", "value": "990100"}}
FIELD_FUND = {
    "hifp_pay": None,
    "hifob_pay": "330100",
    "hifmi_pay": "390200",
    "oth_pay": "620100",
    "maf_pay": "610100",
}


def money(fen: int) -> dict:
    return {"value": Decimal(fmt_fen(fen)), "currency": "CNY"}


def _when(d: datetime | date) -> str:
    if not isinstance(d, datetime):
        d = datetime.combine(d, time())
    return f"{d:%Y-%m-%dT%H:%M:%S}+08:00"


def _valid(model_cls, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with the FHIR model, then return the data itself: the model's own dump turns decimals into
    binary floats, and money must leave yibao exact."""
    model_cls.model_validate(data)
    return data


def coverage(e: Enrollment, person: Person, names: dict[str, str]) -> dict:
    status = {"1": "active", "2": "cancelled", "4": "cancelled"}.get(e.psn_insu_stas, "draft")
    return _valid(
        Coverage,
        {
            "resourceType": "Coverage",
            "id": f"{e.psn_no}-{e.insutype}-{e.begndate:%Y%m%d}",
            "status": status,
            "type": {
                "coding": [
                    {
                        "system": INSUTYPE_CS,
                        "code": e.insutype,
                        **({"display": names[e.insutype]} if names.get(e.insutype) else {}),
                    }
                ]
            },
            "subscriberId": e.psn_no,
            "beneficiary": {
                "identifier": {"system": PSN_NO, "value": person.psn_no},
                "display": person.psn_name,
            },
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
            "payor": [BUREAU],
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


def coverage_bundle(entries: list[dict]) -> dict:
    return _valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in entries],
        },
    )


def _adjudication(row: Settlement, settled: Settled) -> list[dict]:
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


def _common(row: Settlement, person: Person, inst: Institution) -> dict:
    return {
        "id": row.setl_id,
        "identifier": [{"system": f"{YB}/sid/setl_id", "value": row.setl_id}],
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
        "patient": {"identifier": {"system": PSN_NO, "value": person.psn_no}, "display": person.psn_name},
        "created": _when(row.setl_time),
        "insurer": BUREAU,
        "outcome": "complete",
        "disposition": ("结算撤销 (reversal of " + row.orig_setl_id + ")")
        if row.orig_setl_id
        else "结算完成",
    }


def claim_response(row: Settlement, settled: Settled, person: Person, inst: Institution) -> dict:
    return _valid(
        ClaimResponse,
        {
            "resourceType": "ClaimResponse",
            **_common(row, person, inst),
            "requestor": {
                "identifier": {"system": FIXMEDINS, "value": inst.fixmedins_code},
                "display": inst.fixmedins_name,
            },
            "total": _adjudication(row, settled),
            "payment": {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype", "code": "complete"}
                    ]
                },
                "amount": money(settled.setlinfo["fund_pay_sumamt"]),
            },
        },
    )


def explanation_of_benefit(row: Settlement, settled: Settled, person: Person, inst: Institution) -> dict:
    return _valid(
        ExplanationOfBenefit,
        {
            "resourceType": "ExplanationOfBenefit",
            **_common(row, person, inst),
            "provider": {
                "identifier": {"system": FIXMEDINS, "value": inst.fixmedins_code},
                "display": inst.fixmedins_name,
            },
            "billablePeriod": {
                "start": _when(row.begndate),
                **({"end": _when(row.enddate)} if row.enddate else {}),
            },
            "insurance": [
                {
                    "focal": True,
                    "coverage": {
                        "reference": f"Coverage/{row.psn_no}-{row.insutype}",
                        "display": f"险种 {row.insutype}",
                    },
                }
            ],
            "total": _adjudication(row, settled),
            "payment": {"amount": money(settled.setlinfo["fund_pay_sumamt"])},
        },
    )
