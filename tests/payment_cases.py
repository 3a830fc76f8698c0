"""Grouped settlement lists for the 付费 console tests, written with the store function (as 4101 stores them,
through the same steps: principal first, the stay, the scheme of the discharge date, the grouper)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yibao.payment import settlement_list as sl
from yibao.payment.packs import load_drg_pack, registered_schemes
from yibao.store import settlement_lists as lists
from yibao.store.tables import Settlement, Visit

APPENDIX = (("K35.200", "1"), ("J18.900", "0"), ("E11.900", "0"))  # with 47.0901: GD13 (J18.900 a CC)
APPENDIX_ONLY = (("K35.200", "1"),)  # with 47.0901: GD15
APPENDECTOMY = (("47.0901", "1"),)
HIP = (("81.5100", "1"),)  # with K35.200: an OR procedure no MDCG ADRG takes — GQY
HEAD_INJURY = (("S06.500x007", "1"),)  # only on the MDCZ list, one site: 未入组


def settled(
    s: Session,
    setl_id: str,
    psn_no: str,
    fixmedins_code: str,
    insutype: str,
    medfee_fen: int,
    discharged: datetime,
    *,
    dept_code: str | None = None,
    days: int = 5,
) -> None:
    """A settled inpatient visit and its settlement (paid by the person: the amounts only need to add up)."""
    mdtrt_id = f"M{setl_id}"
    admitted = discharged - timedelta(days=days)
    s.add(
        Visit(
            mdtrt_id=mdtrt_id,
            psn_no=psn_no,
            fixmedins_code=fixmedins_code,
            insutype=insutype,
            med_type="21",
            begntime=admitted,
            endtime=discharged,
            dept_code=dept_code,
            status="settled",
            dscg_way="1",
        )
    )
    s.flush()
    s.add(
        Settlement(
            setl_id=setl_id,
            mdtrt_id=mdtrt_id,
            psn_no=psn_no,
            fixmedins_code=fixmedins_code,
            insutype=insutype,
            psn_type="15",
            med_type="21",
            setl_time=discharged,
            begndate=admitted.date(),
            enddate=discharged.date(),
            year=discharged.year,
            medfee_sumamt=medfee_fen,
            inscp_scp_amt=medfee_fen,
            psn_part_amt=medfee_fen,
            psn_cash_pay=medfee_fen,
            policy_version="test",
            policy_hash="0" * 64,
        )
    )
    s.flush()


def upload(
    s: Session,
    setl_id: str,
    diagnoses=APPENDIX,
    procedures=APPENDECTOMY,
    *,
    setl_list_id: str | None = None,
    now: datetime | None = None,
) -> lists.NewList:
    """Group and store a list of the settlement ``setl_id`` (diagnoses and procedures as (code, main flag))."""
    stay_row = lists.settled_stay(s, setl_id)
    assert stay_row is not None, setl_id
    lst = sl.SettlementList(
        setl_id=setl_id,
        mdtrt_id=stay_row.mdtrt_id,
        psn_no=stay_row.psn_no,
        gend=stay_row.gend,
        age=None,
        nwb_age=None,
        weight_g=None,
        adm_time=None,
        dscg_time=None,
        act_ipt_days=None,
        dscg_way=None,
        hi_paymtd="1",
        diagnoses=tuple(
            sl.Diagnosis(i, code, f"上传的诊断 {code}", maindiag_flag=flag)
            for i, (code, flag) in enumerate(diagnoses)
        ),
        procedures=tuple(
            sl.Procedure(i, code, f"上传的手术 {code}", oprn_oprt_type=kind)
            for i, (code, kind) in enumerate(procedures)
        ),
    )
    dx, px = sl.principal_first(lst)
    stay = sl.stay_of(lst, stay_row)
    scheme = sl.drg_scheme_on(registered_schemes(), stay.dscg_time.date())
    pack = load_drg_pack(scheme.name)
    list_id = setl_list_id or f"L{setl_id}"
    case = sl.case_of(list_id, stay, dx, px)
    new = lists.NewList(
        setl_list_id=list_id,
        settled=stay_row,
        stay=stay,
        diagnoses=dx,
        other_diagnoses=(),
        procedures=px,
        hi_paymtd="1",
        grouped=sl.group_list(case, pack, scheme),
        content=json.dumps({"setlinfo": {"setl_id": setl_id}}),
    )
    lists.add_list(s, new, actor="test", msgid=None, now=now or datetime(2025, 6, 1, 9, 0))
    return new
