"""Store reads of case-based payment: the settled discharges of a period with what pricing needs of them.

A case is a valid settlement list (医保结算清单) whose stay stands: its money is every standing settlement of
the visit (the 中途结算 ones and the discharge one; not reversals, not reversed ones, not look-back
supplements), as the patient side recorded it. The list gives what grouping reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.payment.cases import DrgCase
from yibao.payment.settlement_list import case_of
from yibao.store.bulk import in_
from yibao.store.settlement_lists import StoredList, lists_discharged
from yibao.store.tables import Institution, Settlement, SettlementDetail

ACCOUNT_FPT = "310200"  # the personal account's row of setldetail: the person's money, not a fund's
PAGE = 2000


@dataclass(frozen=True)
class SettledCase:
    """One discharge as case payment sees it (money in fen)."""

    setl_id: str
    mdtrt_id: str
    fixmedins_code: str
    level: int  # dedc_hosp_lv 1/2/3
    insutype: str
    dscg_date: date
    los: int
    died: bool
    cost_fen: int  # 医疗费总额 (FFS-valued charges)
    personal_fen: int  # psn_part_amt
    fund_fen: int  # fund_pay_sumamt
    funds: tuple[tuple[str, int], ...]  # (fund_pay_type, fen) of the funds, for the ledger
    case: DrgCase


def _standing(s: Session, mdtrt_ids: list[str]):
    return (
        in_(s, Settlement.mdtrt_id, mdtrt_ids),
        Settlement.refd_setl_flag == "0",
        Settlement.reversed_by.is_(None),
        Settlement.supplement_of.is_(None),
    )


def _money(s: Session, mdtrt_ids: list[str]) -> tuple[dict, dict]:
    totals = {
        m: (ins, cost, psn, fund)
        for m, ins, cost, psn, fund in s.execute(
            select(
                Settlement.mdtrt_id,
                func.max(Settlement.insutype),
                func.sum(Settlement.medfee_sumamt),
                func.sum(Settlement.psn_part_amt),
                func.sum(Settlement.fund_pay_sumamt),
            )
            .where(*_standing(s, mdtrt_ids))
            .group_by(Settlement.mdtrt_id)
        )
    }
    funds: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for m, fpt, fen in s.execute(
        select(Settlement.mdtrt_id, SettlementDetail.fund_pay_type, func.sum(SettlementDetail.fund_payamt))
        .join(SettlementDetail, SettlementDetail.setl_id == Settlement.setl_id)
        .where(*_standing(s, mdtrt_ids), SettlementDetail.fund_pay_type != ACCOUNT_FPT)
        .group_by(Settlement.mdtrt_id, SettlementDetail.fund_pay_type)
        .order_by(Settlement.mdtrt_id, SettlementDetail.fund_pay_type)
    ):
        if fen:
            funds[m].append((fpt, int(fen)))
    return totals, funds


def _levels(s: Session) -> dict[str, int]:
    return {code: lv for code, lv in s.execute(select(Institution.fixmedins_code, Institution.dedc_hosp_lv))}


def settled_cases(s: Session, start: date, end: date) -> Iterator[SettledCase]:
    """The cases discharged in [start, end), by list id, a page at a time (a year is ~10⁵–10⁶ cases)."""
    levels = _levels(s)
    lo, hi = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    after = ""
    while page := lists_discharged(s, lo, hi, after=after, limit=PAGE):
        after = page[-1].setl_list_id
        totals, funds = _money(s, [lst.mdtrt_id for lst in page])
        for lst in page:
            money = totals.get(lst.mdtrt_id)
            if money is None:  # its settlement was reversed after the list was uploaded
                continue
            yield _case(lst, money, funds.get(lst.mdtrt_id, ()), levels)


def _case(lst: StoredList, money: tuple, funds, levels: dict[str, int]) -> SettledCase:
    insutype, cost, personal, fund = money
    return SettledCase(
        setl_id=lst.setl_id,
        mdtrt_id=lst.mdtrt_id,
        fixmedins_code=lst.fixmedins_code,
        level=levels.get(lst.fixmedins_code, 1),
        insutype=insutype,
        dscg_date=lst.stay.dscg_time.date(),
        los=lst.stay.los,
        died=lst.stay.dscg_way == "5",
        cost_fen=int(cost),
        personal_fen=int(personal),
        fund_fen=int(fund),
        funds=tuple(funds),
        case=case_of(lst.setl_id, lst.stay, lst.diagnoses, lst.procedures),
    )


def capitated_visits(
    s: Session, start: date, end: date, med_types, pool_of, institutions=None
) -> dict[tuple[str, str], tuple]:
    """The standing settlements of ``med_types`` settled in [start, end) per (hospital, pool): cost, personal
    part, fund part and the fund split by fund_pay_type (what capitation replaces, §6); of ``institutions``
    only when given (the contracted ones: the per-institution index serves the read)."""
    lo, hi = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    where = (
        *(() if institutions is None else (Settlement.fixmedins_code.in_(sorted(set(institutions))),)),
        Settlement.setl_time >= lo,
        Settlement.setl_time < hi,
        Settlement.med_type.in_(list(med_types)),
        Settlement.refd_setl_flag == "0",
        Settlement.reversed_by.is_(None),
        Settlement.supplement_of.is_(None),
    )
    out: dict[tuple[str, str], list] = {}
    for code, insutype, cost, psn, fund in s.execute(
        select(
            Settlement.fixmedins_code,
            Settlement.insutype,
            func.sum(Settlement.medfee_sumamt),
            func.sum(Settlement.psn_part_amt),
            func.sum(Settlement.fund_pay_sumamt),
        )
        .where(*where)
        .group_by(Settlement.fixmedins_code, Settlement.insutype)
    ):
        row = out.setdefault((code, pool_of(insutype)), [0, 0, 0, defaultdict(int)])
        row[0] += int(cost)
        row[1] += int(psn)
        row[2] += int(fund)
    for code, insutype, fpt, fen in s.execute(
        select(
            Settlement.fixmedins_code,
            Settlement.insutype,
            SettlementDetail.fund_pay_type,
            func.sum(SettlementDetail.fund_payamt),
        )
        .join(SettlementDetail, SettlementDetail.setl_id == Settlement.setl_id)
        .where(*where, SettlementDetail.fund_pay_type != ACCOUNT_FPT)
        .group_by(Settlement.fixmedins_code, Settlement.insutype, SettlementDetail.fund_pay_type)
    ):
        out[(code, pool_of(insutype))][3][fpt] += int(fen)
    return {
        k: (c, p, f, tuple(sorted((x, y) for x, y in split.items() if y)))
        for k, (c, p, f, split) in out.items()
    }
