"""What the enrollment REST resources share (参保登记接口的输入输出): amounts as two-decimal yuan strings in and
out (integer fen inside), national codes and the region's policy checked so that a refusal names the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import HTTPException
from pydantic import Field

from yibao import validation as v
from yibao.enrollment.rows import LABELS as FIELD_LABELS
from yibao.errors import YibaoError
from yibao.money import AmountError, fmt_fen, parse_amount

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
