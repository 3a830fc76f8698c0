"""Ledger proofs (账务核对) over the store: entries balance, and the ledger agrees with settlements.

Aggregation happens in SQL (per day, institution and fund), so the check scales with the
number of days × institutions × funds, not with the number of settlements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from yibao.funds.ledger import FUND_EXPENSE, PATIENT_CASH, PERSONAL_ACCOUNT
from yibao.money import fmt_fen
from yibao.store.tables import LedgerEntry, LedgerPosting, PersonalAccount, Settlement, SettlementDetail


@dataclass
class LedgerReport:
    entries: int = 0
    postings: int = 0
    settlements: int = 0
    groups: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _day(session: Session, column):
    return func.date(column) if session.get_bind().dialect.name == "sqlite" else cast(column, Date)


def check_ledger(session: Session, limit: int = 50) -> LedgerReport:
    r = LedgerReport()
    r.entries = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    r.postings = session.scalar(select(func.count()).select_from(LedgerPosting)) or 0
    r.settlements = session.scalar(select(func.count()).select_from(Settlement)) or 0
    unbalanced = session.execute(
        select(LedgerPosting.entry_id, func.sum(LedgerPosting.amount))
        .group_by(LedgerPosting.entry_id)
        .having(func.sum(LedgerPosting.amount) != 0)
        .limit(limit)
    ).all()
    for entry_id, total in unbalanced:
        r.problems.append(f"凭证 {entry_id} 借贷不平: {fmt_fen(int(total))}")
    missing = (
        session.execute(
            select(Settlement.setl_id)
            .outerjoin(LedgerEntry, LedgerEntry.setl_id == Settlement.setl_id)
            .where(LedgerEntry.id.is_(None))
            .limit(limit)
        )
        .scalars()
        .all()
    )
    for setl_id in missing:
        r.problems.append(f"结算 {setl_id} 没有记账凭证")
    orphans = session.execute(
        select(LedgerEntry.id, LedgerEntry.setl_id)
        .outerjoin(Settlement, Settlement.setl_id == LedgerEntry.setl_id)
        .where(LedgerEntry.setl_id.is_not(None), Settlement.setl_id.is_(None))
        .limit(limit)
    ).all()
    for entry_id, setl_id in orphans:
        r.problems.append(f"凭证 {entry_id} 指向不存在的结算 {setl_id}")

    # Fund totals: setldetail of settlements vs fund_expense postings, per day × institution × fund.
    expected: dict[tuple, int] = defaultdict(int)
    sday = _day(session, Settlement.setl_time)
    for day, inst, fpt, amount in session.execute(
        select(
            sday,
            Settlement.fixmedins_code,
            SettlementDetail.fund_pay_type,
            func.sum(SettlementDetail.fund_payamt),
        )
        .join(SettlementDetail, SettlementDetail.setl_id == Settlement.setl_id)
        .group_by(sday, Settlement.fixmedins_code, SettlementDetail.fund_pay_type)
    ):
        expected[(str(day), inst, fpt)] += int(amount)
    for day, inst, cash, acct in session.execute(
        select(
            sday, Settlement.fixmedins_code, func.sum(Settlement.psn_cash_pay), func.sum(Settlement.acct_pay)
        ).group_by(sday, Settlement.fixmedins_code)
    ):
        expected[(str(day), inst, "cash")] += int(cash)
        expected[(str(day), inst, "account")] += int(acct)
    # the account row of setldetail (310200) is the personal account, posted on its own account
    account_fpts = {"310200"}
    actual: dict[tuple, int] = defaultdict(int)
    eday = _day(session, LedgerEntry.posted_at)
    # each posting's own institution (what the balances by institution report), the entry's if it has none
    pinst = func.coalesce(LedgerPosting.fixmedins_code, LedgerEntry.fixmedins_code)
    for day, inst, account, fpt, amount in session.execute(
        select(
            eday,
            pinst,
            LedgerPosting.account,
            LedgerPosting.fund_pay_type,
            func.sum(LedgerPosting.amount),
        )
        .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.entry_type.in_(("settlement", "reversal")),
            LedgerPosting.account.in_((FUND_EXPENSE, PERSONAL_ACCOUNT, PATIENT_CASH)),
        )
        .group_by(eday, pinst, LedgerPosting.account, LedgerPosting.fund_pay_type)
    ):
        key = "cash" if account == PATIENT_CASH else ("account" if account == PERSONAL_ACCOUNT else fpt)
        actual[(str(day), inst, key)] += int(amount)
    for key in sorted(set(expected) | set(actual)):
        if key[2] in account_fpts:
            continue
        want, got = expected.get(key, 0), actual.get(key, 0)
        if want != got:
            r.problems.append(
                f"{key[0]} {key[1]} {key[2]}: 结算合计 {fmt_fen(want)} ≠ 账务合计 {fmt_fen(got)}"
            )
    r.groups = len(set(expected) | set(actual))
    # every settlement's funds add up (I3 on the stored rows)
    bad = (
        session.execute(
            select(Settlement.setl_id)
            .where(
                Settlement.fund_pay_sumamt
                != Settlement.hifp_pay
                + Settlement.cvlserv_pay
                + Settlement.hifes_pay
                + Settlement.hifmi_pay
                + Settlement.hifob_pay
                + Settlement.hifdm_pay
                + Settlement.maf_pay
                + Settlement.oth_pay
            )
            .limit(limit)
        )
        .scalars()
        .all()
    )
    r.problems.extend(f"结算 {x}: fund_pay_sumamt 不等于各基金之和" for x in bad)
    # every settlement's setldetail agrees with its setlinfo: the fund rows sum to fund_pay_sumamt and the
    # account row (310200) is acct_pay — what 5203 returns to the HIS must be what was paid
    is_account = SettlementDetail.fund_pay_type.in_(account_fpts)
    detail = (
        select(
            SettlementDetail.setl_id,
            func.sum(case((is_account, 0), else_=SettlementDetail.fund_payamt)).label("funds"),
            func.sum(case((is_account, SettlementDetail.fund_payamt), else_=0)).label("account"),
        )
        .group_by(SettlementDetail.setl_id)
        .subquery()
    )
    funds, account = func.coalesce(detail.c.funds, 0), func.coalesce(detail.c.account, 0)
    for setl_id, fund_sum, fund_rows, acct, acct_rows in session.execute(
        select(Settlement.setl_id, Settlement.fund_pay_sumamt, funds, Settlement.acct_pay, account)
        .outerjoin(detail, detail.c.setl_id == Settlement.setl_id)
        .where((Settlement.fund_pay_sumamt != funds) | (Settlement.acct_pay != account))
        .limit(limit)
    ):
        if fund_sum != fund_rows:
            r.problems.append(
                f"结算 {setl_id}: 基金支付明细合计 {fmt_fen(int(fund_rows))} ≠ fund_pay_sumamt {fmt_fen(int(fund_sum))}"
            )
        if acct != acct_rows:
            r.problems.append(
                f"结算 {setl_id}: 个人账户明细 (310200) {fmt_fen(int(acct_rows))} ≠ acct_pay {fmt_fen(int(acct))}"
            )
    # every personal account's balance equals what its postings say (credits raise it, debits lower it)
    posted = (
        select(LedgerPosting.psn_no, (-func.sum(LedgerPosting.amount)).label("bal"))
        .where(LedgerPosting.account == PERSONAL_ACCOUNT)
        .group_by(LedgerPosting.psn_no)
        .subquery()
    )
    off = session.execute(
        select(PersonalAccount.psn_no, PersonalAccount.balance, func.coalesce(posted.c.bal, 0))
        .outerjoin(posted, posted.c.psn_no == PersonalAccount.psn_no)
        .where(PersonalAccount.balance != func.coalesce(posted.c.bal, 0))
        .limit(limit)
    ).all()
    r.problems.extend(f"个人账户 {psn}: 余额 {fmt_fen(int(b))} ≠ 账务 {fmt_fen(int(x))}" for psn, b, x in off)
    r.accounts = session.scalar(select(func.count()).select_from(PersonalAccount)) or 0
    return r
