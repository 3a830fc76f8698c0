"""Double-entry postings (记账) of a settlement, pure.

A settlement of ``medfee_sumamt`` is paid by the funds, the personal account, the
person's cash and (rarely) the institution itself. Each payer gets a pair of legs:

* each fund that paid (``fund_pay_type`` F):  Dr ``fund_expense`` F  /  Cr ``institution_payable`` F
* the personal account:                       Dr ``personal_account`` (the balance owed to the person falls)
                                              /  Cr ``institution_payable`` 310200
* the person's cash:                          Dr ``patient_cash``  /  Cr ``institution_cash``
* the amount the institution absorbs:         Dr ``hospital_absorbed``  /  Cr ``institution_cash``

Debits are positive, credits negative; every entry sums to zero. A reversal posts
the exact negation of every leg.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.money import Fen

FUND_EXPENSE = "fund_expense"
INSTITUTION_PAYABLE = "institution_payable"
PERSONAL_ACCOUNT = "personal_account"
PATIENT_CASH = "patient_cash"
INSTITUTION_CASH = "institution_cash"
HOSPITAL_ABSORBED = "hospital_absorbed"

# setlinfo fields whose amount is a fund payment, by the tier's setldetail row
FUND_FIELDS = (
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "oth_pay",
    "maf_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifdm_pay",
)


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Fen  # debit > 0, credit < 0
    fund_pay_type: str | None = None
    fixmedins_code: str | None = None
    psn_no: str | None = None


def settlement_postings(
    setlinfo: dict[str, Fen],
    detail: list[tuple[str, Fen]],
    *,
    fixmedins_code: str,
    psn_no: str,
    account_fund_pay_type: str = "310200",
    account_owner: str | None = None,
) -> list[Posting]:
    """Legs of one settlement (or, with negated amounts, of its reversal).

    ``detail`` holds (fund_pay_type, fund_payamt) of the funds; the account row, if any,
    is taken from ``acct_pay`` (its owner may be a relative under 共济).
    """
    legs: list[Posting] = []
    for fpt, amount in detail:
        if fpt == account_fund_pay_type or not amount:
            continue
        legs.append(Posting(FUND_EXPENSE, amount, fpt, fixmedins_code, psn_no))
        legs.append(Posting(INSTITUTION_PAYABLE, -amount, fpt, fixmedins_code, psn_no))
    acct = setlinfo["acct_pay"]
    if acct:
        legs.append(
            Posting(PERSONAL_ACCOUNT, acct, account_fund_pay_type, fixmedins_code, account_owner or psn_no)
        )
        legs.append(Posting(INSTITUTION_PAYABLE, -acct, account_fund_pay_type, fixmedins_code, psn_no))
    cash = setlinfo["psn_cash_pay"]
    if cash:
        legs.append(Posting(PATIENT_CASH, cash, None, fixmedins_code, psn_no))
        legs.append(Posting(INSTITUTION_CASH, -cash, None, fixmedins_code, psn_no))
    hosp = setlinfo.get("hosp_part_amt", 0)
    if hosp:
        legs.append(Posting(HOSPITAL_ABSORBED, hosp, None, fixmedins_code, psn_no))
        legs.append(Posting(INSTITUTION_CASH, -hosp, None, fixmedins_code, psn_no))
    funds = sum(a for f, a in detail if f != account_fund_pay_type)
    if funds != setlinfo["fund_pay_sumamt"]:
        raise ValueError(f"setldetail funds {funds} ≠ fund_pay_sumamt {setlinfo['fund_pay_sumamt']}")
    if sum(p.amount for p in legs) != 0:  # pairs by construction; kept as a guard against edits
        raise ValueError("unbalanced ledger entry")
    return legs


def supplement_postings(detail: list[tuple[str, Fen]], *, fixmedins_code: str, psn_no: str) -> list[Posting]:
    """Legs of a look-back assistance supplement (补充救助; negated, of its reversal): each fund pays the person
    directly — its expense against the patient's cash, no institution in between (the institution is kept on
    the legs as the visit's, for the reports by institution)."""
    legs: list[Posting] = []
    for fpt, amount in detail:
        if amount:
            legs.append(Posting(FUND_EXPENSE, amount, fpt, fixmedins_code, psn_no))
            legs.append(Posting(PATIENT_CASH, -amount, None, fixmedins_code, psn_no))
    return legs


# --- contributions and account movements (参保缴费、个人账户) ----------------------------------------------
FUND_BANK = "fund_bank"  # money received into the fund's bank account
FUND_INCOME = "fund_income"  # by fund_pay_type, credited
GOVERNMENT_SUBSIDY = "government_subsidy"  # the finance department's share of 居民 contributions
TRANSFER_CLEARING = "transfer_clearing"  # account balances moving between regions (转移接续)
OPENING_BALANCE = "opening_balance"  # balances that existed before the ledger


def _pair(debit: str, credit: str, amount: Fen, **where) -> list[Posting]:
    if not amount:
        return []
    debit_fpt = where.pop("debit_fpt", None)
    credit_fpt = where.pop("credit_fpt", None)
    psn = where.get("psn_no")
    return [Posting(debit, amount, debit_fpt, None, psn), Posting(credit, -amount, credit_fpt, None, psn)]


def employee_contribution_postings(
    psn_no: str, employer_amt: Fen, employee_amt: Fen, pool_fpt: str = "310100", account_fpt: str = "310200"
) -> list[Posting]:
    """职工 contribution collected: the employer share to the pool, the employee share to the account."""
    return [
        *_pair(FUND_BANK, FUND_INCOME, employer_amt, credit_fpt=pool_fpt, psn_no=psn_no),
        *_pair(FUND_BANK, PERSONAL_ACCOUNT, employee_amt, credit_fpt=account_fpt, psn_no=psn_no),
    ]


def flexible_contribution_postings(psn_no: str, amount: Fen, pool_fpt: str = "310100") -> list[Posting]:
    return _pair(FUND_BANK, FUND_INCOME, amount, credit_fpt=pool_fpt, psn_no=psn_no)


def resident_contribution_postings(
    psn_no: str,
    individual: Fen,
    assistance: Fen,
    subsidy: Fen,
    pool_fpt: str = "390100",
    assistance_fpt: str = "610100",
) -> list[Posting]:
    """居民 contribution: the person's part, 资助参保 from the assistance fund, the government subsidy."""
    return [
        *_pair(FUND_BANK, FUND_INCOME, individual, credit_fpt=pool_fpt, psn_no=psn_no),
        *_pair(
            FUND_EXPENSE,
            FUND_INCOME,
            assistance,
            debit_fpt=assistance_fpt,
            credit_fpt=pool_fpt,
            psn_no=psn_no,
        ),
        *_pair(GOVERNMENT_SUBSIDY, FUND_INCOME, subsidy, credit_fpt=pool_fpt, psn_no=psn_no),
    ]


def account_credit_postings(
    psn_no: str, amount: Fen, source: str, *, source_fpt: str | None = None, account_fpt: str = "310200"
) -> list[Posting]:
    """Credit a personal account from ``source`` (退休 credit from the pool, transfer in, opening balance)."""
    return _pair(
        source, PERSONAL_ACCOUNT, amount, debit_fpt=source_fpt, credit_fpt=account_fpt, psn_no=psn_no
    )


def account_debit_postings(
    psn_no: str, amount: Fen, target: str, account_fpt: str = "310200"
) -> list[Posting]:
    """Debit a personal account towards ``target`` (transfer out)."""
    return _pair(PERSONAL_ACCOUNT, target, amount, debit_fpt=account_fpt, psn_no=psn_no)
