"""Store adapter: write a settlement (or its reversal) with its detail rows, ledger entry and audit row.

Called inside the caller's unit of work, after the kernel ran; everything here commits or
rolls back with the accumulators and the account balance the caller also writes.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from yibao.funds.journal import write_entry
from yibao.funds.ledger import settlement_postings
from yibao.money import fmt_fen
from yibao.settlement.result import SETLINFO_AMOUNTS, Settled
from yibao.store import audit
from yibao.store.tables import Settlement, SettlementDetail


def new_id(admdvs: str, kind: str, now: datetime | None = None) -> str:
    """A platform id (opaque to HIS): admdvs + kind letter + time + 8 random digits (≤ 30 chars)."""
    now = now or datetime.now()
    return f"{admdvs[:6]}{kind}{now:%y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def clr_type_for(med_type: str) -> str:
    """清算类别 from the visit type: 门诊 11, 住院 21, 药店 41."""
    if med_type.startswith("2"):
        return "21"
    if med_type == "41":
        return "41"
    return "11"


def record_settlement(
    session: Session,
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
) -> Settlement:
    settled.check_identities()
    info = settled.setlinfo
    row = Settlement(
        setl_id=setl_id,
        mdtrt_id=mdtrt_id,
        psn_no=psn_no,
        fixmedins_code=fixmedins_code,
        insutype=settled.insutype,
        psn_type=psn_type,
        med_type=med_type,
        setl_time=setl_time,
        begndate=begndate,
        enddate=enddate,
        year=settled.year,
        dedc_hosp_lv=dedc_hosp_lv,
        pool_prop_selfpay=info["pool_prop_selfpay"],
        clr_type=clr_type_for(med_type),
        clr_way="1",
        clr_optins=clr_optins,
        refd_setl_flag="1" if settled.reversal else "0",
        orig_setl_id=orig_setl_id,
        mid_setl_flag=mid_setl_flag,
        medins_setl_id=msgid,
        policy_version=settled.policy_version,
        policy_hash=settled.policy_hash,
        trace={
            "params": list(settled.trace),
            "assistance_category": settled.assistance_category,
            "account_owner": account_owner,
        },
        accum_delta=settled.delta,
        **{k: info[k] for k in SETLINFO_AMOUNTS},
    )
    session.add(row)
    session.flush()  # the settlement row must exist before rows that reference it
    if settled.setldetail:  # one executemany, not an ORM object per row
        session.execute(
            insert(SettlementDetail),
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
    post_ledger(
        session,
        settled,
        setl_id=setl_id,
        fixmedins_code=fixmedins_code,
        psn_no=psn_no,
        when=setl_time,
        account_owner=account_owner,
    )
    audit.record(
        session,
        actor=actor,
        action="reverse" if settled.reversal else "settle",
        entity="settlement",
        entity_id=setl_id,
        after={
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "orig_setl_id": orig_setl_id,
            "medfee_sumamt": fmt_fen(info["medfee_sumamt"]),
            "fund_pay_sumamt": fmt_fen(info["fund_pay_sumamt"]),
            "acct_pay": fmt_fen(info["acct_pay"]),
            "policy": f"{settled.policy_version} {settled.policy_hash[:12]}",
        },
        at=setl_time,
    )
    return row


def post_ledger(
    session: Session,
    settled: Settled,
    *,
    setl_id: str,
    fixmedins_code: str,
    psn_no: str,
    when: datetime,
    account_owner: str | None = None,
) -> None:
    legs = settlement_postings(
        settled.setlinfo,
        [(d.fund_pay_type, d.fund_payamt) for d in settled.setldetail],
        fixmedins_code=fixmedins_code,
        psn_no=psn_no,
        account_owner=account_owner,
    )
    write_entry(
        session,
        "reversal" if settled.reversal else "settlement",
        legs,
        when=when,
        setl_id=setl_id,
        fixmedins_code=fixmedins_code,
        psn_no=psn_no,
    )
