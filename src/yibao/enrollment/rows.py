"""What the enrollment use cases share: a stored person or enrollment by key (a missing one refused, naming
the key), a row's fields as an audit snapshot, and a national code checked with the field named."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yibao import validation as v
from yibao.errors import InputError, NotFound
from yibao.store.tables import Enrollment, Person


def snapshot(row: Any, fields: tuple[str, ...]) -> dict:
    return {f: getattr(row, f) for f in fields}


# the label a form gives each field a refusal may name (the message starts with the key, then the label)
LABELS = {
    "certno": "居民身份证号码",
    "psn_name": "姓名",
    "uscc": "统一社会信用代码",
    "emp_name": "单位名称",
    "admdvs": "所在区县",
    "insuplc_admdvs": "参保地",
    "to_admdvs": "转入地",
    "from_admdvs": "转出地",
}


def checked(field: str, check, value: str) -> str:
    """A value validated, the refusal naming the field and its label (``certno: 居民身份证号码校验位错误…``)."""
    try:
        return check(value)
    except v.ValidationError as exc:
        raise InputError(f"{field}: {LABELS.get(field, '')}{exc.message}") from None


def get_person(s: Session, psn_no: str) -> Person:
    p = s.get(Person, psn_no)
    if p is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return p


def get_enrollment(s: Session, enrollment_id: int) -> Enrollment:
    """The enrollment, locked for the change the caller makes."""
    e = s.get(Enrollment, enrollment_id, with_for_update=True)
    if e is None:
        raise NotFound(f"enrollment: 参保登记不存在 {enrollment_id}")
    return e
