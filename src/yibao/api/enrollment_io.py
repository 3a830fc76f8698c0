"""What the enrollment REST resources share (参保登记接口的输入输出): amounts as two-decimal yuan strings in and
out (integer fen inside), national codes checked so that a refusal names the field, the person and enrollment
as answered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import HTTPException
from pydantic import Field

from yibao import validation as v
from yibao.enrollment import rules
from yibao.enrollment.rows import LABELS as FIELD_LABELS
from yibao.errors import YibaoError
from yibao.money import AmountError, fmt_fen, parse_amount
from yibao.store import enrollment_reads as reads
from yibao.store.tables import Enrollment, Person

MAX_FEN = 10**14  # a trillion yuan: anything larger is a typing mistake (and would overflow SQLite)
AMOUNT_KEYS = frozenset(
    {
        "due",
        "paid",
        "unpaid",
        "arrears",
        "wage",
        "base",
        "last_wage",
        "last_base",
        "employer_amt",
        "employee_amt",
        "individual_amt",
        "assistance_amt",
        "subsidy_amt",
        "due_amt",
        "paid_amt",
        "flexible_base",
        "balance",
        "amount",
        "collected",
        "account_balance",
    }
)
Yuan = Annotated[
    str,
    Field(min_length=1, max_length=20, description="金额（元，最多两位小数的字符串）", examples=["8000.00"]),
]
Day = date  # field types, so that a field may be called "date"
Code6 = Annotated[str, Field(min_length=1, max_length=10, description="6位医保区划", examples=["990102"])]


def out(value: Any) -> Any:
    """Amounts (fen) → two-decimal strings, recursively; everything else unchanged."""
    if isinstance(value, dict):
        return {
            k: (None if x is None else fmt_fen(x))
            if k in AMOUNT_KEYS and (x is None or isinstance(x, int))
            else out(x)
            for k, x in value.items()
        }
    if isinstance(value, list):
        return [out(x) for x in value]
    return value


def fen(text: str | None, field: str, *, positive: bool = False) -> int | None:
    """A yuan string as integer fen, refused by the field's name when it is not an amount or out of range."""
    if text is None:
        return None
    try:
        amount = parse_amount(text)
    except AmountError:
        raise HTTPException(422, f"{field}: {label(field)}不是金额（元，最多两位小数，如 8000.00）") from None
    if amount < 0 or (positive and amount == 0):
        raise HTTPException(
            422, f"{field}: {label(field)}须{'大于' if positive else '不小于'} 0（填写的是 {text}）"
        )
    if amount > MAX_FEN:
        raise HTTPException(422, f"{field}: {label(field)}过大（填写的是 {text}）")
    return amount


LABELS = {
    **FIELD_LABELS,
    "admdvs": "医保区划",
    "flexible_base": "缴费基数",
    "balance": "个人账户余额",
    "wage": "工资",
    "amount": "金额",
}


def label(field: str) -> str:
    """The label of a field a refusal names (``wages[2].wage`` → 工资), or "" when it has none."""
    return LABELS.get(field.rsplit(".", 1)[-1], "")


def code(field: str, check: Callable[[str], str], value: str) -> str:
    """A national code checked before the service sees it, so that the refusal names the field."""
    try:
        return check(value)
    except v.ValidationError as exc:
        name = label(field)
        raise HTTPException(422, f"{field}: {name}{'无效：' if name else ''}{exc.message}") from None


def bundle(admdvs: str, field: str):
    from yibao.policy.registry import get_bundle

    try:
        return get_bundle(admdvs)
    except YibaoError as exc:
        raise HTTPException(422, f"{field}: {exc.message.split(': ', 1)[-1]}") from None


def person(s, psn_no: str) -> Person:
    p = s.get(Person, psn_no)
    if p is None:
        raise HTTPException(404, f"psn_no: 人员不存在 {psn_no}")
    return p


def person_out(s, p: Person) -> dict:
    return out(
        {
            "psn_no": p.psn_no,
            "psn_cert_type": p.psn_cert_type,
            "certno": reads.mask_certno(p.certno),
            "psn_name": p.psn_name,
            "gend": p.gend,
            "brdy": p.brdy,
            "naty": p.naty,
            "admdvs": p.admdvs,
            "death_date": p.death_date,
            "enrollments": reads.person_enrollments(s, p.psn_no),
            "account_balance": reads.account_balance(s, p.psn_no),
        }
    )


def enrollment_out(s, enrollment_id: int, warnings: list[str] | None = None) -> dict:
    """An enrollment as stored, with its status as of today in words (``status_text``: a change dated ahead
    shows as scheduled, 正常（暂停已预约，2027-03-01 生效）) and the lifecycle actions that apply to it."""
    e = s.get(Enrollment, enrollment_id)
    today = date.today()
    row = out(reads.enrollment_row(e))
    row["status_text"] = rules.status_text(e, today)
    row["scheduled"] = rules.scheduled_change(e, today)
    row["actions"] = rules.actions_for(e, today)
    if warnings is not None:
        row["warnings"] = warnings
    return row
