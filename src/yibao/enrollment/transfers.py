"""转移接续 (moving insurance between regions): a transfer out ends the enrollment and sends the account
balance to the transfer clearing account; a transfer in enrolls with the months contributed elsewhere and
credits the balance brought along."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.audit_actions import Action
from yibao.enrollment.accounts import credit_account
from yibao.enrollment.rows import checked, get_enrollment
from yibao.enrollment.service import Enrolled, change_status, enroll
from yibao.errors import InputError
from yibao.funds import ledger
from yibao.funds.journal import post
from yibao.money import fmt_fen
from yibao.policy.compiler import PolicyBundle
from yibao.store import audit
from yibao.store.tables import PersonalAccount


def transfer_out(
    s: Session, enrollment_id: int, day: date, to_admdvs: str, *, actor: str, today: date | None = None
) -> dict:
    """转出: terminate the enrollment; contribution months and the account balance leave with the person
    (the balance moves to the transfer clearing account, to be paid to the new region).

    A 转出 may be dated ahead (预约): the enrollment is insured up to its date; but the balance leaves when
    the certificate is issued, so a transfer out with an account balance is dated today or earlier."""
    today = today or date.today()
    enr = get_enrollment(s, enrollment_id)
    checked("to_admdvs", v.admdvs, to_admdvs)
    if to_admdvs == enr.insuplc_admdvs:
        raise InputError(f"to_admdvs: 转入地与参保地相同（{to_admdvs}）")
    held = s.get(PersonalAccount, enr.psn_no)
    if day > today and held is not None and held.balance:
        raise InputError(
            f"date: 转出日期不能晚于今天（{today}）：个人账户余额 {fmt_fen(held.balance)} 元于办理时转出"
        )
    change_status(s, enrollment_id, Action.TRANSFER_OUT, day, actor=actor, reason="transfer_out", today=today)
    balance = 0
    acct = s.get(PersonalAccount, enr.psn_no, with_for_update=True)
    if acct is not None and acct.balance:
        balance = acct.balance
        post(
            s,
            "transfer_out",
            ledger.account_debit_postings(enr.psn_no, balance, ledger.TRANSFER_CLEARING),
            when=datetime.combine(day, datetime.min.time()),
            psn_no=enr.psn_no,
            memo=f"转出至 {to_admdvs}",
        )
        acct.balance = 0
    certificate = {
        "psn_no": enr.psn_no,
        "insutype": enr.insutype,
        "contrib_months": enr.contrib_months,
        "balance": fmt_fen(balance),
        "from_admdvs": enr.insuplc_admdvs,
        "to_admdvs": to_admdvs,
        "date": day.isoformat(),
    }
    audit.record(
        s,
        actor=actor,
        action=Action.TRANSFER_OUT_CERTIFICATE,
        entity="enrollment",
        entity_id=str(enrollment_id),
        before={"balance": fmt_fen(balance)},
        after=certificate | {"balance_after": "0.00"},
    )
    return certificate


def transfer_in(
    s: Session,
    bundle: PolicyBundle,
    *,
    psn_no: str,
    psn_type: str,
    begndate: date,
    insuplc_admdvs: str,
    from_admdvs: str,
    contrib_months: int,
    balance: int,
    actor: str,
    emp_no: str | None = None,
    flexible_base: int | None = None,
) -> Enrolled:
    """转入: a 职工 enrollment that carries the months contributed elsewhere and credits the moved balance."""
    checked("from_admdvs", v.admdvs, from_admdvs)
    if from_admdvs == insuplc_admdvs:
        raise InputError(f"from_admdvs: 转出地与参保地相同（{from_admdvs}）")
    if contrib_months < 0:
        raise InputError(f"contrib_months: 转入缴费月数不能为负（填写的是 {contrib_months}）")
    if balance < 0:
        raise InputError("balance: 转入个人账户余额不能为负")
    if balance and flexible_base is not None:
        raise InputError("balance: 灵活就业人员没有个人账户，余额不能转入")
    done = enroll(
        s,
        bundle,
        psn_no=psn_no,
        insutype="310",
        psn_type=psn_type,
        begndate=begndate,
        insuplc_admdvs=insuplc_admdvs,
        emp_no=emp_no,
        flexible_base=flexible_base,
        actor=actor,
        contrib_months=contrib_months,
        registered=begndate,
    )
    if balance:
        credit_account(
            s,
            psn_no,
            balance,
            ledger.TRANSFER_CLEARING,
            when=datetime.combine(begndate, datetime.min.time()),
            memo=f"自 {from_admdvs} 转入",
            actor=actor,
        )
    audit.record(
        s,
        actor=actor,
        action=Action.TRANSFER_IN,
        entity="enrollment",
        entity_id=str(done.enrollment.id),
        before={"from_admdvs": from_admdvs},
        after={
            "psn_no": psn_no,
            "contrib_months": contrib_months,
            "balance": fmt_fen(balance),
            "insuplc_admdvs": insuplc_admdvs,
        },
    )
    return done
