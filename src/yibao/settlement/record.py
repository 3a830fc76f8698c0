"""Store adapter: write a settlement (or its reversal) with its detail rows, ledger entry and audit row.

Called inside the caller's unit of work, after the kernel ran; everything here commits or
rolls back with the accumulators and the account balance the caller also writes.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from yibao import ids
from yibao.funds.ledger import settlement_postings
from yibao.money import fmt_fen
from yibao.settlement.result import SETLINFO_AMOUNTS, Settled
from yibao.store import audit
from yibao.store.db import Fast, FastRows, flush_writes
from yibao.store.tables import LedgerEntry, LedgerPosting, Settlement, SettlementDetail


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


_SETL, _DETAIL = Settlement.__table__, SettlementDetail.__table__
_ENTRY, _POSTING = LedgerEntry.__table__, LedgerPosting.__table__
_SETL_KEYS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "insutype",
    "psn_type",
    "med_type",
    "setl_time",
    "begndate",
    "enddate",
    "year",
    "dedc_hosp_lv",
    "pool_prop_selfpay",
    "clr_type",
    "clr_way",
    "clr_optins",
    "refd_setl_flag",
    "orig_setl_id",
    "reversed_by",
    "mid_setl_flag",
    "adm_dedc",
    "medins_setl_id",
    "policy_version",
    "policy_hash",
    "trace",
    "accum_delta",
    *SETLINFO_AMOUNTS,
)
_INSERT_SETL = Fast(insert(_SETL), keys=_SETL_KEYS, json=("trace", "accum_delta"))
_DETAIL_KEYS = (
    "setl_id",
    "fund_pay_type",
    "inscp_scp_amt",
    "crt_payb_lmt_amt",
    "fund_payamt",
    "setl_proc_info",
)
_INSERT_DETAIL = FastRows(_DETAIL, _DETAIL_KEYS)
_ENTRY_KEYS = ("entry_type", "setl_id", "fixmedins_code", "psn_no", "posted_at", "book_date", "memo")
_INSERT_ENTRY = insert(_ENTRY).returning(_ENTRY.c.id)
_INSERT_POSTINGS = insert(_POSTING)
# PostgreSQL: the entry and its legs in one statement (no round trip for the entry's id), so it can be
# queued with the settlement's other writes.
_INSERT_ENTRY_WITH_LEGS = Fast(
    text(
        """
WITH entry AS (
    INSERT INTO ledger_entry (entry_type, setl_id, fixmedins_code, psn_no, posted_at, book_date, memo)
    VALUES (:entry_type, :setl_id, :fixmedins_code, :psn_no, :posted_at, :book_date, :memo)
    RETURNING id
)
INSERT INTO ledger_posting (entry_id, account, fund_pay_type, fixmedins_code, psn_no, amount)
SELECT entry.id, leg.account, leg.fund_pay_type, leg.fixmedins_code, leg.psn_no, leg.amount
FROM entry, unnest(
    CAST(:accounts AS VARCHAR[]), CAST(:fund_pay_types AS VARCHAR[]), CAST(:leg_codes AS VARCHAR[]),
    CAST(:leg_psn_nos AS VARCHAR[]), CAST(:amounts AS BIGINT[])
) WITH ORDINALITY AS leg (account, fund_pay_type, fixmedins_code, psn_no, amount, n)
ORDER BY leg.n
"""
    )
)


def record_settlement(session: Session, settled: Settled, **kw) -> SimpleNamespace:
    """The settlement row, its setldetail, its ledger entry and its audit row (see :func:`write_settlement`)."""
    row = write_settlement(session, settled, **kw)
    audit_settlement(session, settled, row, actor=kw["actor"])
    return row


def write_settlement(
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
) -> SimpleNamespace:
    """The settlement row, its setldetail and its balanced ledger entry (Core statements on the unit of
    work's connection); the caller audits it with :func:`audit_settlement` once its other writes are done.
    Returns the settlement's columns as a plain record."""
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
        "medins_setl_id": msgid,
        "policy_version": settled.policy_version,
        "policy_hash": settled.policy_hash,
        "trace": {
            "params": list(settled.trace),
            "assistance_category": settled.assistance_category,
            "account_owner": account_owner,
        },
        "accum_delta": settled.delta,
        **{k: info[k] for k in SETLINFO_AMOUNTS},
    }
    session.flush()  # pending ORM changes of the caller first (the settlement may reference them)
    _INSERT_SETL.queue(session, row)
    if settled.setldetail:  # one executemany, not a statement per row
        _INSERT_DETAIL.queue(
            session,
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
    return SimpleNamespace(**row)


def audit_settlement(session: Session, settled: Settled, row: SimpleNamespace, *, actor: str) -> None:
    info = settled.setlinfo
    audit.record(
        session,
        actor=actor,
        action="reverse" if settled.reversal else "settle",
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
    """The settlement's journal entry (凭证) and its legs: what :func:`yibao.funds.journal.write_entry`
    writes, as two Core statements on the unit of work's connection."""
    legs = settlement_postings(
        settled.setlinfo,
        [(d.fund_pay_type, d.fund_payamt) for d in settled.setldetail],
        fixmedins_code=fixmedins_code,
        psn_no=psn_no,
        account_owner=account_owner,
    )
    entry_type = "reversal" if settled.reversal else "settlement"
    if sum(p.amount for p in legs) != 0:
        raise ValueError(f"unbalanced {entry_type} entry")
    entry = {
        "entry_type": entry_type,
        "setl_id": setl_id,
        "fixmedins_code": fixmedins_code,
        "psn_no": psn_no,
        "posted_at": when,
        "book_date": when.date(),
        "memo": None,
    }
    conn = session.connection()
    if conn.dialect.name == "postgresql" and legs:
        _INSERT_ENTRY_WITH_LEGS.queue(
            session,
            {
                **entry,
                "accounts": [p.account for p in legs],
                "fund_pay_types": [p.fund_pay_type for p in legs],
                "leg_codes": [p.fixmedins_code or fixmedins_code for p in legs],
                "leg_psn_nos": [p.psn_no for p in legs],
                "amounts": [p.amount for p in legs],
            },
        )
        return
    flush_writes(session)
    entry_id = conn.execute(_INSERT_ENTRY, entry).scalar_one()
    if legs:
        conn.execute(
            _INSERT_POSTINGS,
            [
                {
                    "entry_id": entry_id,
                    "account": p.account,
                    "fund_pay_type": p.fund_pay_type,
                    "fixmedins_code": p.fixmedins_code or fixmedins_code,
                    "psn_no": p.psn_no,
                    "amount": p.amount,
                }
                for p in legs
            ],
        )
