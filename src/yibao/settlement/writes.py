"""Every write the settlement path makes, declared once (结算的写入语句), with named parameters; its reads are in
:mod:`yibao.settlement.queries`. Update parameters are named ``k_*`` (a column's own name is its SET value's).
"""

from __future__ import annotations

from sqlalchemy import ARRAY, BigInteger, String, any_, bindparam, delete, func, literal, update

from yibao.settlement.result import SETLINFO_AMOUNTS
from yibao.store.statements import Write
from yibao.store.tables import (
    Accumulator,
    AccumulatorYear,
    FeeLine,
    PersonalAccount,
    Settlement,
    SettlementDetail,
    Visit,
)

_VIS, _FEE, _ACCT = Visit.__table__, FeeLine.__table__, PersonalAccount.__table__
_ACC, _ACC_YEAR, _SETL, _DETAIL = (
    t.__table__ for t in (Accumulator, AccumulatorYear, Settlement, SettlementDetail)
)


VISIT_KEYS = (
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "insutype",
    "med_type",
    "begntime",
    "status",
    "atddr_no",
    "dept_code",
    "dise_codg",
    "dise_name",
)

INSERT_VISIT = Write.insert("insert_visit", _VIS, VISIT_KEYS)

SET_VISIT_STATUS = Write(
    "set_visit_status",
    update(_VIS).where(_VIS.c.mdtrt_id == bindparam("k_mdtrt_id")).values(status=bindparam("k_status")),
)

# 2203 / 2403: what is given changes, what is not keeps its value
UPDATE_VISIT = Write(
    "update_visit",
    update(_VIS)
    .where(_VIS.c.mdtrt_id == bindparam("k_mdtrt_id"))
    .values(
        {
            c: func.coalesce(bindparam(f"k_{c}", type_=_VIS.c[c].type), _VIS.c[c])
            for c in ("med_type", "opsp_dise_code", "dise_codg", "dise_name")
        }
    ),
)

DISCHARGE = Write(
    "discharge",
    update(_VIS)
    .where(_VIS.c.mdtrt_id == bindparam("k_mdtrt_id"))
    .values(
        status=bindparam("k_status"),
        endtime=bindparam("k_endtime"),
        dscg_way=bindparam("k_dscg_way"),
        dise_codg=func.coalesce(bindparam("k_dise_codg", type_=String), _VIS.c.dise_codg),
        dise_name=func.coalesce(bindparam("k_dise_name", type_=String), _VIS.c.dise_name),
    ),
)

UNDO_DISCHARGE = Write(
    "undo_discharge",
    update(_VIS)
    .where(_VIS.c.mdtrt_id == bindparam("k_mdtrt_id"))
    .values(status=bindparam("k_status"), endtime=None),
)

FEE_KEYS = (
    "mdtrt_id",
    "feedetl_sn",
    "chrg_bchno",
    "med_list_codg",
    "medins_list_codg",
    "med_chrgitm_type",
    "fee_ocur_time",
    "pric",
    "cnt",
    "det_item_fee_sumamt",
    "chrgitm_lv",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "hosp_appr_flag",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
    "bilg_dr_codg",
    "init_feedetl_sn",
    "setl_id",
    "status",
)

INSERT_FEES = Write.rows("insert_fees", _FEE, FEE_KEYS)

CANCEL_OPEN_LINES = Write(
    "cancel_open_lines",
    update(_FEE)
    .where(_FEE.c.mdtrt_id == bindparam("k_mdtrt_id"), _FEE.c.status == literal("open"))
    .values(status=literal("cancelled")),
)


def _lines_by_id(values: dict):
    return tuple(
        update(_FEE).where(_FEE.c.mdtrt_id == bindparam("k_mdtrt_id"), ids).values(values)
        for ids in (
            _FEE.c.id.in_(bindparam("ids", expanding=True)),
            _FEE.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))),
        )
    )


# (the visit's key too: the index on it serves even a plan PostgreSQL cached while the table was tiny)
_core, _pg = _lines_by_id({"status": literal("settled"), "setl_id": bindparam("k_setl_id")})

SETTLE_LINES = Write("settle_lines", _core, pg=_pg)

_core, _pg = _lines_by_id({"status": literal("cancelled")})

CANCEL_LINES = Write("cancel_lines", _core, pg=_pg)

# a reversal gives its settlement's lines back to the visit
REOPEN_LINES = Write(
    "reopen_lines",
    update(_FEE)
    .where(_FEE.c.mdtrt_id == bindparam("k_mdtrt_id"), _FEE.c.setl_id == bindparam("k_setl_id"))
    .values(status=literal("open"), setl_id=None),
)

SET_BALANCE = Write(
    "set_balance",
    update(_ACCT).where(_ACCT.c.psn_no == bindparam("k_psn_no")).values(balance=bindparam("k_balance")),
)

DELETE_ACCUMULATOR = Write(
    "delete_accumulator",
    delete(_ACC).where(
        _ACC.c.psn_no == bindparam("k_psn_no"),
        _ACC.c.year == bindparam("k_year"),
        _ACC.c.insutype == bindparam("k_insutype"),
        _ACC.c.acc_key == bindparam("k_acc_key"),
    ),
)

SET_ACCUMULATORS = Write.rows(
    "set_accumulators", _ACC, ("psn_no", "year", "insutype", "acc_key", "value"), update=("value",)
)

# the header row: created at the first settlement of the year, its revision bumped by every later one
BUMP_ACCUMULATOR_YEAR = Write.upsert(
    "bump_accumulator_year",
    _ACC_YEAR,
    ("psn_no", "year", "insutype", "revision"),
    index=[_ACC_YEAR.c.psn_no, _ACC_YEAR.c.year, _ACC_YEAR.c.insutype],
    set_={"revision": _ACC_YEAR.c.revision + 1},
)

MARK_REVERSED = Write(
    "mark_reversed",
    update(_SETL)
    .where(_SETL.c.setl_id == bindparam("k_setl_id"))
    .values(reversed_by=bindparam("k_reversed_by")),
)

SETTLEMENT_KEYS = (
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
    "supplement_of",
    "medins_setl_id",
    "policy_version",
    "policy_hash",
    "trace",
    "accum_delta",
    *SETLINFO_AMOUNTS,
)

INSERT_SETTLEMENT = Write.insert("insert_settlement", _SETL, SETTLEMENT_KEYS, json=("trace", "accum_delta"))

DETAIL_KEYS = (
    "setl_id",
    "fund_pay_type",
    "inscp_scp_amt",
    "crt_payb_lmt_amt",
    "fund_payamt",
    "setl_proc_info",
)

INSERT_DETAILS = Write.rows("insert_details", _DETAIL, DETAIL_KEYS)
