"""The year's settlement lists (医保结算清单) of the demo: every standing discharge settlement of an admission —
a re-settled visit's new settlement, not the reversed one — gets the list its hospital uploads by 4101 the day
after discharge, with the admission's coding (:mod:`yibao.synth.coding`), checked and grouped by the DRG
scheme of the discharge date, and stored as 4101 stores it (:func:`yibao.store.settlement_lists.add_lists`:
the same rows, grouping with scheme, pack hash, grouper version, status, reason and trace).

The steps are 4101's (:func:`yibao.api.fsi_lists.checked_and_grouped`); a list they refuse is counted, not
stored. The list ids follow the visits' (``…L25…``), so the same seed gives the same lists."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from yibao.payment import settlement_list as sl
from yibao.payment.cases import normalise_code
from yibao.payment.packs import load_drg_pack, registered_schemes
from yibao.store import settlement_lists as lists
from yibao.store.db import unit_of_work
from yibao.synth.claims import INPAT, Claims, Reference
from yibao.synth.coding import CodedStay
from yibao.synth.contributions import ACTOR
from yibao.synth.store import CHUNK, Progress

UPLOADED_AFTER = timedelta(days=1, hours=1)  # 4101 the day after discharge
ADMISSION_CONDITION = "1"  # 入院病情: 1 有


def list_id(admdvs: str, year: int, k: int) -> str:
    """The list of visit ``k`` (as its mdtrt_id and setl_id are named)."""
    return f"{admdvs}L{year % 100:02d}{k:010d}"


def write_lists(
    engine: Engine, year: int, admdvs: str, cl: Claims, ref: Reference, mdtrt_id, progress: Progress
) -> Counter:
    """A list for each standing inpatient settlement of the year; the counts by grouping status (and
    ``refused`` for a list the checks refuse)."""
    visit = {mdtrt_id(k): k for k in np.flatnonzero(cl.kind == INPAT).tolist() if cl.coded[k] is not None}
    with unit_of_work(engine, write=False) as s:
        stays = [st for st in lists.standing_stays(s, year) if st.mdtrt_id in visit]
        used = {c for k in visit.values() for c in cl.coded[k].diagnoses}
        grey = lists.grey_codes(s, used)
    counts: Counter = Counter()
    schemes = registered_schemes()
    for lo in range(0, len(stays), CHUNK):
        news = []
        for st in stays[lo : lo + CHUNK]:
            k = visit[st.mdtrt_id]
            try:
                new = checked_and_grouped(
                    list_of(st, cl.coded[k], ref), st, list_id(admdvs, year, k), schemes, grey
                )
            except sl.ListError:
                counts["refused"] += 1
                continue
            counts[new.grouped.group.status] += 1
            news.append((new, new.stay.dscg_time + UPLOADED_AFTER))
        with unit_of_work(engine) as s:
            lists.add_lists(s, news, actor=ACTOR)
        progress("结算清单 settlement lists", min(lo + CHUNK, len(stays)), len(stays))
    return counts


def list_of(st: sl.SettledStay, coded: CodedStay, ref: Reference) -> sl.SettlementList:
    """The list as the hospital sends it: the settlement's ids, sex, the coding with the code table's names."""
    adm = st.begntime
    diagnoses = tuple(
        sl.Diagnosis(
            index=i,
            diag_code=code,
            diag_name=ref.code_names.get(("icd10", code), ""),
            maindiag_flag="1" if i == 0 else "0",
            adm_cond_type=ADMISSION_CONDITION,
        )
        for i, code in enumerate(coded.diagnoses)
    )
    procedures = tuple(
        sl.Procedure(
            index=i,
            oprn_oprt_code=code,
            oprn_oprt_name=ref.code_names.get(("icd9cm3", code), ""),
            oprn_oprt_type=sl.MAIN_PROCEDURE if i == 0 else "2",
            oprn_oprt_date=adm + timedelta(days=1),
        )
        for i, code in enumerate(coded.procedures)
    )
    return sl.SettlementList(
        setl_id=st.setl_id,
        mdtrt_id=st.mdtrt_id,
        psn_no=st.psn_no,
        gend=st.gend,
        age=None,
        nwb_age=None,
        weight_g=coded.weight_g,
        adm_time=None,
        dscg_time=None,
        act_ipt_days=None,
        dscg_way=None,
        hi_paymtd="1",  # 按病种 (DRG)
        diagnoses=diagnoses,
        procedures=procedures,
    )


def checked_and_grouped(
    lst: sl.SettlementList, settled: sl.SettledStay, setl_list_id: str, schemes: dict, grey: frozenset[str]
) -> lists.NewList:
    """4101's steps: principal first, the stay, the scheme of the discharge date, codes, conflicts; grouped."""
    sl.check_settlement(lst, settled, settled.fixmedins_code)
    diagnoses, procedures = sl.principal_first(lst)
    stay = sl.stay_of(lst, settled)
    scheme = sl.drg_scheme_on(schemes, stay.dscg_time.date())
    if scheme is None:
        raise sl.ListError("setlinfo.dscg_time", f"出院日期 {stay.dscg_time.date()} 没有有效的 DRG 分组方案")
    pack = load_drg_pack(scheme.name)
    sl.check_codes(diagnoses, procedures, pack, grey)
    case = sl.case_of(setl_list_id, stay, diagnoses, procedures)
    sl.check_conflicts(case, diagnoses, pack)
    return lists.NewList(
        setl_list_id=setl_list_id,
        settled=settled,
        stay=stay,
        diagnoses=diagnoses,
        other_diagnoses=(),
        procedures=procedures,
        hi_paymtd=lst.hi_paymtd,
        grouped=sl.group_list(case, pack, scheme),
        content=content_of(lst, stay),
    )


def content_of(lst: sl.SettlementList, stay: sl.Stay) -> str:
    """The 4101 message's list nodes as uploaded (national names)."""
    message = {
        "setlinfo": {
            "setl_id": lst.setl_id,
            "mdtrt_id": lst.mdtrt_id,
            "psn_no": lst.psn_no,
            "gend": stay.gend,
            "age": stay.age,
            **({"nwb_age": stay.age_days, "nwb_bir_wt": stay.weight_g} if stay.weight_g else {}),
            "adm_time": _time(stay.adm_time),
            "dscg_time": _time(stay.dscg_time),
            "act_ipt_days": stay.los,
            "dscg_way": stay.dscg_way,
            "hi_paymtd": lst.hi_paymtd,
        },
        "diseinfo": [
            {
                "diag_type": d.diag_type,
                "diag_code": normalise_code(d.diag_code),
                "diag_name": d.diag_name,
                "maindiag_flag": d.maindiag_flag,
                "adm_cond_type": d.adm_cond_type,
            }
            for d in lst.diagnoses
        ],
        "oprninfo": [
            {
                "oprn_oprt_type": p.oprn_oprt_type,
                "oprn_oprt_code": p.oprn_oprt_code,
                "oprn_oprt_name": p.oprn_oprt_name,
                "oprn_oprt_date": _time(p.oprn_oprt_date),
            }
            for p in lst.procedures
        ],
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _time(t: datetime | None) -> str | None:
    return None if t is None else f"{t:%Y-%m-%d %H:%M:%S}"
