"""REST resources for staff and other systems (``/api/…``): settlements, accumulators, ledger balances."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from yibao.api.auth import authenticate, issue, require
from yibao.errors import NotFound
from yibao.money import AmountError, fmt_bp, fmt_count, fmt_fen, fmt_price, parse_amount
from yibao.settlement.result import SETLINFO_AMOUNTS
from yibao.settlement.settle import load_settled
from yibao.store.db import unit_of_work
from yibao.store.tables import Accumulator, FeeLine, LedgerEntry, LedgerPosting, Settlement

router = APIRouter(prefix="/api", tags=["REST"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/token", response_model=Token, summary="登录取令牌 (staff or system user)")
def token(
    username: Annotated[str, Form(max_length=40)], password: Annotated[str, Form(max_length=200)]
) -> Token:
    who = authenticate(username, password)
    if who is None:
        raise HTTPException(401, "用户名或密码错误")
    from yibao.api.auth import TTL_SECONDS

    return Token(access_token=issue(*who), expires_in=TTL_SECONDS)


class SettlementSummary(BaseModel):
    setl_id: str
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    insutype: str
    med_type: str
    setl_time: datetime
    medfee_sumamt: str
    fund_pay_sumamt: str
    psn_part_amt: str
    refd_setl_flag: str
    reversed_by: str | None


class SettlementPage(BaseModel):
    items: list[SettlementSummary]
    total: int
    page: int
    size: int


def _amount(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


@router.get("/settlements", response_model=SettlementPage, summary="结算列表 (filters, paging)")
def list_settlements(
    _: Annotated[dict, Depends(require("settlement.read"))],
    psn_no: str | None = Query(None, max_length=30),
    fixmedins_code: str | None = Query(None, max_length=12),
    med_type: str | None = Query(None, max_length=6),
    insutype: str | None = Query(None, max_length=6),
    date_from: date | None = Query(None, alias="from"),
    date_to: date | None = Query(None, alias="to"),
    min_amount: str | None = Query(None, max_length=20, description="medfee_sumamt ≥ (yuan)"),
    max_amount: str | None = Query(None, max_length=20, description="medfee_sumamt ≤ (yuan)"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
) -> SettlementPage:
    conds = []
    for col, val in (
        (Settlement.psn_no, psn_no),
        (Settlement.fixmedins_code, fixmedins_code),
        (Settlement.med_type, med_type),
        (Settlement.insutype, insutype),
    ):
        if val:
            conds.append(col == val)
    if date_from:
        conds.append(Settlement.setl_time >= datetime.combine(date_from, time.min))
    if date_to:
        conds.append(Settlement.setl_time <= datetime.combine(date_to, time.max))
    lo, hi = _amount(min_amount, "min_amount"), _amount(max_amount, "max_amount")
    if lo is not None:
        conds.append(Settlement.medfee_sumamt >= lo)
    if hi is not None:
        conds.append(Settlement.medfee_sumamt <= hi)
    with unit_of_work(write=False) as s:
        total = s.scalar(select(func.count()).select_from(Settlement).where(*conds)) or 0
        rows = s.scalars(
            select(Settlement)
            .where(*conds)
            .order_by(Settlement.setl_time.desc(), Settlement.setl_id)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        items = [
            SettlementSummary(
                setl_id=r.setl_id,
                mdtrt_id=r.mdtrt_id,
                psn_no=r.psn_no,
                fixmedins_code=r.fixmedins_code,
                insutype=r.insutype,
                med_type=r.med_type,
                setl_time=r.setl_time,
                medfee_sumamt=fmt_fen(r.medfee_sumamt),
                fund_pay_sumamt=fmt_fen(r.fund_pay_sumamt),
                psn_part_amt=fmt_fen(r.psn_part_amt),
                refd_setl_flag=r.refd_setl_flag,
                reversed_by=r.reversed_by,
            )
            for r in rows
        ]
    return SettlementPage(items=items, total=total, page=page, size=size)


@router.get("/settlements/{setl_id}", summary="结算详情: setlinfo, setldetail, 费用明细与分割, 政策参数")
def settlement_detail(
    setl_id: Annotated[str, Field(max_length=30)], _: Annotated[dict, Depends(require("settlement.read"))]
) -> dict:
    with unit_of_work(write=False) as s:
        try:
            row, settled = load_settled(s, setl_id)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from None
        lines_of = row.orig_setl_id or row.setl_id
        lines = s.scalars(select(FeeLine).where(FeeLine.mdtrt_id == row.mdtrt_id).order_by(FeeLine.id)).all()
        info = {k: fmt_fen(settled.setlinfo[k]) for k in SETLINFO_AMOUNTS}
        info["pool_prop_selfpay"] = fmt_bp(settled.setlinfo["pool_prop_selfpay"])
        return {
            "setl_id": row.setl_id,
            "mdtrt_id": row.mdtrt_id,
            "psn_no": row.psn_no,
            "fixmedins_code": row.fixmedins_code,
            "insutype": row.insutype,
            "psn_type": row.psn_type,
            "med_type": row.med_type,
            "setl_time": row.setl_time,
            "begndate": row.begndate,
            "refd_setl_flag": row.refd_setl_flag,
            "orig_setl_id": row.orig_setl_id,
            "reversed_by": row.reversed_by,
            "policy_version": row.policy_version,
            "policy_hash": row.policy_hash,
            "setlinfo": info,
            "setldetail": settled.setldetail_json(),
            "accumulator_delta": {
                k: v if k.startswith("admissions:") else fmt_fen(v) for k, v in settled.delta.items()
            },
            "trace": settled.trace,
            "fee_lines": [
                {
                    "feedetl_sn": ln.feedetl_sn,
                    "med_list_codg": ln.med_list_codg,
                    "chrgitm_lv": ln.chrgitm_lv,
                    "pric": fmt_price(ln.pric),
                    "cnt": fmt_count(ln.cnt),
                    "det_item_fee_sumamt": fmt_fen(ln.det_item_fee_sumamt),
                    "fulamt_ownpay_amt": fmt_fen(ln.fulamt_ownpay_amt),
                    "overlmt_amt": fmt_fen(ln.overlmt_amt),
                    "preselfpay_amt": fmt_fen(ln.preselfpay_amt),
                    "inscp_scp_amt": fmt_fen(ln.inscp_scp_amt),
                    "status": ln.status,
                }
                for ln in lines
                if ln.setl_id in (lines_of, None) or row.refd_setl_flag == "1"
            ],
        }


@router.get("/persons/{psn_no}/accumulators", summary="人员年度累计")
def person_accumulators(
    psn_no: Annotated[str, Field(max_length=30)],
    _: Annotated[dict, Depends(require("person.read"))],
    year: int = Query(..., ge=1990, le=2100),
) -> dict:
    with unit_of_work(write=False) as s:
        rows = s.execute(
            select(Accumulator.insutype, Accumulator.acc_key, Accumulator.value)
            .where(Accumulator.psn_no == psn_no, Accumulator.year == year)
            .order_by(Accumulator.insutype, Accumulator.acc_key)
        )
        out: dict[str, dict[str, str | int]] = {}
        for insutype, key, value in rows:
            out.setdefault(insutype, {})[key] = value if key.startswith("admissions:") else fmt_fen(value)
    return {"psn_no": psn_no, "year": year, "accumulators": out}


@router.get("/ledger/balances", summary="基金账务余额 (by account, fund and institution)")
def ledger_balances(
    _: Annotated[dict, Depends(require("ledger.read"))],
    fund_pay_type: str | None = Query(None, max_length=10),
    fixmedins_code: str | None = Query(None, max_length=12),
    date_from: date | None = Query(None, alias="from"),
    date_to: date | None = Query(None, alias="to"),
) -> dict:
    conds = []
    if fund_pay_type:
        conds.append(LedgerPosting.fund_pay_type == fund_pay_type)
    if fixmedins_code:
        conds.append(LedgerPosting.fixmedins_code == fixmedins_code)
    if date_from:
        conds.append(LedgerEntry.book_date >= date_from)
    if date_to:
        conds.append(LedgerEntry.book_date <= date_to)
    with unit_of_work(write=False) as s:
        rows = s.execute(
            select(
                LedgerPosting.account,
                LedgerPosting.fund_pay_type,
                LedgerPosting.fixmedins_code,
                func.sum(LedgerPosting.amount),
                func.count(),
            )
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(*conds)
            .group_by(LedgerPosting.account, LedgerPosting.fund_pay_type, LedgerPosting.fixmedins_code)
            .order_by(LedgerPosting.account, LedgerPosting.fund_pay_type, LedgerPosting.fixmedins_code)
        ).all()
    balances = [
        {"account": a, "fund_pay_type": f, "fixmedins_code": i, "balance": fmt_fen(int(b)), "postings": n}
        for a, f, i, b, n in rows
    ]
    return {"balances": balances, "total": fmt_fen(sum(int(r[3]) for r in rows))}
