"""Store adapter: write a settlement (or its reversal) with its detail rows, ledger entry and audit row.

Called inside the caller's unit of work, after the kernel ran; everything here commits or rolls back with the
accumulators and the account balance the caller also writes.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from yibao import ids
from yibao.audit_actions import Action
from yibao.funds import journal
from yibao.funds.ledger import settlement_postings, supplement_postings
from yibao.money import fmt_fen
from yibao.settlement import writes as w
from yibao.settlement.result import SETLINFO_AMOUNTS, Settled
from yibao.store import audit
from yibao.store.uow import UnitOfWork


def new_id(admdvs: str, kind: str, now: datetime | None = None) -> str:
    """A platform id (opaque to HIS): admdvs + kind letter + time + 8 random digits (≤ 30 chars)."""
    now = now or datetime.now()
    return f"{admdvs[:6]}{kind}{now:%y%m%d%H%M%S}{ids.digits(8)}"


def clr_type_for(med_type: str) -> str:
    """清算类别 from the visit type: 门诊 11, 住院 21, 药店 41."""
    if med_type.startswith("2"):
        return "21"
    if med_type == "41":
        return "41"
    return "11"


def write_settlement(
    uow: UnitOfWork,
    settled: Settled,
    *,
    setl_id: str,
    mdtrt_id: str,
    psn_no: str,
    psn_type: str,
    fixmedins_code: str,
    med_type: str,
    begndate: date,
    enddate: date | None,
    setl_time: datetime,
    clr_optins: str,
    dedc_hosp_lv: int | None,
    msgid: str | None,
    actor: str,
    orig_setl_id: str | None = None,
    mid_setl_flag: str = "0",
    account_owner: str | None = None,
    supplement_of: str | None = None,
    supplement_kind: str | None = None,
) -> SimpleNamespace:
    """The settlement row, its setldetail and its balanced ledger entry, as the unit of work's next writes; the
    caller audits it with :func:`audit_settlement` once its other writes are done. Returns the settlement's
    columns as a plain record."""
    settled.check_identities()
    info = settled.setlinfo
    row = {
        "setl_id": setl_id,
        "mdtrt_id": mdtrt_id,
        "psn_no": psn_no,
        "fixmedins_code": fixmedins_code,
        "insutype": settled.insutype,
        "psn_type": psn_type,
        "med_type": med_type,
        "setl_time": setl_time,
        "begndate": begndate,
        "enddate": enddate,
        "year": settled.year,
        "dedc_hosp_lv": dedc_hosp_lv,
        "pool_prop_selfpay": info["pool_prop_selfpay"],
        "clr_type": clr_type_for(med_type),
        "clr_way": "1",
        "clr_optins": clr_optins,
        "refd_setl_flag": "1" if settled.reversal else "0",
        "orig_setl_id": orig_setl_id,
        "reversed_by": None,
        "mid_setl_flag": mid_setl_flag,
        "adm_dedc": None if settled.reversal else settled.admission_deductible,
        "supplement_of": supplement_of,
        "medins_setl_id": msgid,
        "policy_version": settled.policy_version,
        "policy_hash": settled.policy_hash,
        "trace": {
            "params": list(settled.trace),
            "assistance_category": settled.assistance_category,
            "account_owner": account_owner,
            **({"supplement": supplement_kind} if supplement_kind else {}),
        },
        "accum_delta": settled.delta,
        **{k: info[k] for k in SETLINFO_AMOUNTS},
    }
    uow.write(w.INSERT_SETTLEMENT, row)
    if settled.setldetail:
        uow.write(
            w.INSERT_DETAILS,
            [
                {
                    "setl_id": setl_id,
                    "fund_pay_type": d.fund_pay_type,
                    "inscp_scp_amt": d.inscp_scp_amt,
                    "crt_payb_lmt_amt": d.crt_payb_lmt_amt,
                    "fund_payamt": d.fund_payamt,
                    "setl_proc_info": None,
                }
                for d in settled.setldetail
            ],
        )
    detail = [(d.fund_pay_type, d.fund_payamt) for d in settled.setldetail]
    if supplement_of is not None:  # 补充救助: the fund pays the person
        legs = supplement_postings(detail, fixmedins_code=fixmedins_code, psn_no=psn_no)
    else:
        legs = settlement_postings(
            settled.setlinfo,
            detail,
            fixmedins_code=fixmedins_code,
            psn_no=psn_no,
            account_owner=account_owner,
        )
    entry_type = "reversal" if settled.reversal else "settlement"
    journal.post(
        uow, entry_type, legs, when=setl_time, setl_id=setl_id, fixmedins_code=fixmedins_code, psn_no=psn_no
    )
    return SimpleNamespace(**row)


def write_beside(
    uow: UnitOfWork,
    settled: Settled,
    original,
    *,
    setl_id: str,
    setl_time: datetime,
    actor: str,
    msgid: str | None = None,
    **extra,
) -> SimpleNamespace:
    """A settlement row recorded beside an existing one — its reversal, a supplement of it: the same visit,
    person, category, institution, dates and pooling region (:func:`write_settlement`'s ``extra`` as given)."""
    return write_settlement(
        uow,
        settled,
        setl_id=setl_id,
        mdtrt_id=original.mdtrt_id,
        psn_no=original.psn_no,
        psn_type=original.psn_type,
        fixmedins_code=original.fixmedins_code,
        med_type=original.med_type,
        begndate=original.begndate,
        enddate=original.enddate,
        setl_time=setl_time,
        clr_optins=original.clr_optins,
        dedc_hosp_lv=original.dedc_hosp_lv,
        msgid=msgid,
        actor=actor,
        **extra,
    )


def audit_settlement(uow: UnitOfWork, settled: Settled, row: SimpleNamespace, *, actor: str) -> None:
    info = settled.setlinfo
    audit.record(
        uow,
        actor=actor,
        action=Action.REVERSE if settled.reversal else Action.SETTLE,
        entity="settlement",
        entity_id=row.setl_id,
        after={
            "mdtrt_id": row.mdtrt_id,
            "psn_no": row.psn_no,
            "orig_setl_id": row.orig_setl_id,
            "medfee_sumamt": fmt_fen(info["medfee_sumamt"]),
            "fund_pay_sumamt": fmt_fen(info["fund_pay_sumamt"]),
            "acct_pay": fmt_fen(info["acct_pay"]),
            "policy": f"{settled.policy_version} {settled.policy_hash[:12]}",
        },
        at=row.setl_time,
    )
