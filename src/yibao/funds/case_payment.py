"""Double-entry postings of case-based payment (按病例付费记账), pure.

A settlement books what the funds owe a hospital for a visit as charged (Dr ``fund_expense`` / Cr
``institution_payable`` per fund). Under DRG, DIP, per-diem or capitation the fund owes what the payment
method says instead, so a month's pre-settlement of one hospital, pool and method:

* takes the as-charged liability of its cases back, per fund: Dr ``institution_payable`` F / Cr
  ``case_payment_adjustment`` F;
* books what the method says the fund owes: Dr ``case_payment_adjustment`` (pool fund) / Cr ``case_payable``;
* pays the payout share from the fund's bank account and withholds the quality deposit (质量保证金):
  Dr ``case_payable`` / Cr ``fund_bank`` and Dr ``case_payable`` / Cr ``quality_deposit``.

``case_payable`` is empty again after every run; ``case_payment_adjustment`` nets to the difference between
case payment and as-charged payment (the fund's gain or loss from the method). The year-end clearing books
the rest of the year's liability, releases the deposits and pays the balance the same way. Amounts are
signed: a negative amount turns a leg round (the fund recovers)."""

from __future__ import annotations

from collections.abc import Iterable

from yibao.funds.ledger import FUND_BANK, INSTITUTION_PAYABLE, Posting
from yibao.money import Fen

CASE_PAYMENT_ADJUSTMENT = "case_payment_adjustment"
CASE_PAYABLE = "case_payable"
QUALITY_DEPOSIT = "quality_deposit"


def _pair(debit: str, credit: str, amount: Fen, code: str, debit_fpt: str | None, credit_fpt: str | None):
    if not amount:
        return []
    return [Posting(debit, amount, debit_fpt, code), Posting(credit, -amount, credit_fpt, code)]


def as_charged_back(code: str, funds: Iterable[tuple[str, Fen]]) -> list[Posting]:
    """The as-charged liability of the cases, per fund, taken back."""
    legs: list[Posting] = []
    for fpt, fen in funds:
        legs += _pair(INSTITUTION_PAYABLE, CASE_PAYMENT_ADJUSTMENT, fen, code, fpt, fpt)
    return legs


def month_postings(
    code: str, pool_fpt: str, funds: Iterable[tuple[str, Fen]], owed: Fen, paid: Fen, deposit: Fen
) -> list[Posting]:
    """One hospital line of a month run (see the module docstring)."""
    return [
        *as_charged_back(code, funds),
        *_pair(CASE_PAYMENT_ADJUSTMENT, CASE_PAYABLE, owed, code, pool_fpt, pool_fpt),
        *_pair(CASE_PAYABLE, FUND_BANK, paid, code, pool_fpt, None),
        *_pair(CASE_PAYABLE, QUALITY_DEPOSIT, deposit, code, pool_fpt, pool_fpt),
    ]


def clearing_postings(
    code: str,
    pool_fpt: str,
    funds: Iterable[tuple[str, Fen]],
    recognised: Fen,
    deposits: Fen,
    paid: Fen,
) -> list[Posting]:
    """One hospital line of a year's clearing: the as-charged liability not yet taken back (cases no month
    run saw, settlements reversed since), the rest of the year's liability (``recognised`` = year owed − the
    months' owed), the year's deposits released, and the clearing balance paid (negative: recovered)."""
    return [
        *as_charged_back(code, funds),
        *_pair(CASE_PAYMENT_ADJUSTMENT, CASE_PAYABLE, recognised, code, pool_fpt, pool_fpt),
        *_pair(QUALITY_DEPOSIT, CASE_PAYABLE, deposits, code, pool_fpt, pool_fpt),
        *_pair(CASE_PAYABLE, FUND_BANK, paid, code, pool_fpt, None),
    ]
