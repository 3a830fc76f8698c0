"""个人账户 (personal accounts of 职工): opened, credited from outside settlement, read as a statement. Every
credit moves the balance, posts to the fund ledger and writes its audit row (before and after) in the
caller's unit of work; settlement's debits are the settlement's own (yibao.settlement)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment.periods import CHUNK, in_force, period_span
from yibao.enrollment.rows import get_person
from yibao.errors import InputError, NotFound
from yibao.funds import ledger
from yibao.funds.journal import post, post_many
from yibao.money import Fen, fmt_fen
from yibao.store import audit
from yibao.store.bulk import in_, insert_rows
from yibao.store.tables import Contribution, Enrollment, LedgerEntry, LedgerPosting, PersonalAccount


def ensure_account(s: Session, psn_no: str) -> PersonalAccount:
    """The person's account, opened (balance 0) if they have none yet."""
    acct = s.get(PersonalAccount, psn_no)
    if acct is None:
        acct = PersonalAccount(psn_no=psn_no, balance=0, status="active")
        s.add(acct)
    return acct


def open_missing_accounts(s: Session, persons: list[str]) -> None:
    """A 职工 whose account row is missing (e.g. loaded by an older import) gets one before a credit."""
    for k in range(0, len(persons), CHUNK):
        part = persons[k : k + CHUNK]
        have = set(s.scalars(select(PersonalAccount.psn_no).where(in_(s, PersonalAccount.psn_no, part))))
        missing = [p for p in dict.fromkeys(part) if p not in have]
        insert_rows(s, PersonalAccount, [{"psn_no": p, "balance": 0, "status": "active"} for p in missing])


def _account(s: Session, psn_no: str) -> PersonalAccount:
    acct = s.get(PersonalAccount, psn_no, with_for_update=True)
    if acct is None:
        raise NotFound(f"psn_no: 人员 {psn_no} 没有个人账户")
    return acct


def _audit_credit(
    s: Session, psn_no: str, amount: Fen, balance: Fen, *, actor: str, source: str, memo: str
) -> None:
    """The audit row of money credited to a personal account: the amount, where it came from, and the
    balance before and after (``balance`` is the balance after the credit)."""
    audit.record(
        s,
        actor=actor,
        action=Action.ACCOUNT_CREDIT,
        entity="personal_account",
        entity_id=psn_no,
        before={"balance": fmt_fen(balance - amount)},
        after={"balance": fmt_fen(balance), "amount": fmt_fen(amount), "source": source, "memo": memo},
    )


def credit_account(
    s: Session,
    psn_no: str,
    amount: Fen,
    source: str,
    *,
    when: datetime,
    memo: str,
    actor: str,
    source_fpt: str | None = None,
) -> Fen:
    """个人账户入账: ``amount`` from ``source`` (a ledger account: transfer clearing, opening balance …) onto
    the person's account — the balance, the journal entry and the audit row, in the caller's unit of work.
    Returns the new balance."""
    if amount <= 0:
        raise InputError(f"amount: 入账金额须大于 0（填写的是 {fmt_fen(amount)}）")
    acct = _account(s, psn_no)
    acct.balance += amount
    post(
        s,
        "account_credit",
        ledger.account_credit_postings(psn_no, amount, source, source_fpt=source_fpt),
        when=when,
        psn_no=psn_no,
        memo=memo,
    )
    _audit_credit(s, psn_no, amount, acct.balance, actor=actor, source=source, memo=memo)
    return acct.balance


def credit_employee_share(s: Session, c: Contribution, actor: str) -> None:
    """The employee share of a 职工 contribution onto the person's account (opened if missing), audited."""
    ensure_account(s, c.psn_no)
    s.flush()
    balance = s.execute(
        update(PersonalAccount)
        .where(PersonalAccount.psn_no == c.psn_no)
        .values(balance=PersonalAccount.balance + c.employee_amt)
        .returning(PersonalAccount.balance)
    ).scalar_one()
    memo = f"{c.kind} {c.period}"
    _audit_credit(s, c.psn_no, c.employee_amt, balance, actor=actor, source=ledger.FUND_BANK, memo=memo)


def pay_contributions(s: Session, ids: list[int], *, when: datetime, actor: str) -> int:
    """Record contributions as collected: ledger entries, account credits for employee shares, one more
    contribution month for each 职工 (the same effects as :func:`yibao.enrollment.collection.collect`, row by
    row)."""
    rows = s.scalars(
        select(Contribution)
        .where(Contribution.id.in_(ids), Contribution.status == "due")
        .order_by(
            Contribution.psn_no, Contribution.id
        )  # accounts in one global order: two runs never deadlock
        .with_for_update()
    ).all()
    for c in rows:
        if c.kind == "employee":
            legs = ledger.employee_contribution_postings(c.psn_no, c.employer_amt, c.employee_amt)
            if c.employee_amt:
                credit_employee_share(s, c, actor)
        elif c.kind == "flexible":
            legs = ledger.flexible_contribution_postings(c.psn_no, c.employee_amt)
        else:
            legs = ledger.resident_contribution_postings(
                c.psn_no, c.individual_amt, c.assistance_amt, c.subsidy_amt
            )
        if c.kind in ("employee", "flexible"):
            first, last = period_span(c.period)
            s.execute(
                update(Enrollment)
                .where(Enrollment.psn_no == c.psn_no, Enrollment.insutype == "310", in_force(first, last))
                .values(contrib_months=Enrollment.contrib_months + 1)
            )
        post(s, "contribution", legs, when=when, psn_no=c.psn_no, memo=f"{c.kind} {c.period}")
        c.status, c.paid_amt, c.paid_at = "paid", c.due_amt, when
    if rows:
        audit.record(
            s,
            actor=actor,
            action=Action.PAY,
            entity="contribution",
            entity_id=f"{len(rows)} rows",
            before={"status": "due"},
            after={
                "status": "paid",
                "ids": [c.id for c in rows][:50],
                "amount": fmt_fen(sum(c.due_amt for c in rows)),
            },
        )
    return len(rows)


def credit_retirees(s: Session, part: list[str], amount: Fen, period: int, last: date, actor: str) -> None:
    """One chunk of the month's 退休 credits, in the caller's unit of work: the paid rows that mark them done,
    the balances, the journal entry (a leg per account) and the audit row."""
    when = datetime.combine(last, datetime.min.time())
    insert_rows(
        s,
        Contribution,
        [
            {
                "psn_no": p,
                "emp_no": None,
                "insutype": "310",
                "kind": "retiree",
                "period": period,
                "wage": None,
                "base": 0,
                "employer_amt": 0,
                "employee_amt": amount,
                "individual_amt": 0,
                "assistance_amt": 0,
                "subsidy_amt": 0,
                "due_amt": amount,
                "paid_amt": amount,
                "status": "paid",
                "due_date": last,
                "paid_at": when,
            }
            for p in part
        ],
    )
    s.execute(
        update(PersonalAccount)
        .where(in_(s, PersonalAccount.psn_no, part))
        .values(balance=PersonalAccount.balance + amount)
        .execution_options(synchronize_session=False)
    )
    legs = [ledger.Posting(ledger.FUND_EXPENSE, amount * len(part), "310100")] + [
        ledger.Posting(ledger.PERSONAL_ACCOUNT, -amount, "310200", None, p) for p in part
    ]
    post_many(s, [("retiree_credit", legs, when, f"退休人员个人账户划入 {period}")])
    audit.record(
        s,
        actor=actor,
        action=Action.RETIREE_CREDIT,
        entity="contribution",
        entity_id=str(period),
        after={"kind": "retiree", "rows": len(part), "each": amount, "amount": amount * len(part)},
    )


def statement(s: Session, psn_no: str) -> list[dict]:
    """个人账户对账单: every posting on the person's account, oldest first, with the running balance
    (共济 payments for a bound relative appear on the owner's statement)."""
    get_person(s, psn_no)
    rows = s.execute(
        select(
            LedgerEntry.posted_at,
            LedgerEntry.entry_type,
            LedgerEntry.setl_id,
            LedgerEntry.memo,
            LedgerPosting.amount,
        )
        .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
        .where(LedgerPosting.account == ledger.PERSONAL_ACCOUNT, LedgerPosting.psn_no == psn_no)
        .order_by(LedgerEntry.posted_at, LedgerEntry.id)
    ).all()
    balance, out = 0, []
    for when, kind, setl_id, memo, amount in rows:
        balance -= amount  # the account is a liability: a credit (negative) raises the balance
        out.append(
            {
                "time": when,
                "kind": kind,
                "setl_id": setl_id,
                "memo": memo or "",
                "amount": -amount,
                "balance": balance,
            }
        )
    return out
