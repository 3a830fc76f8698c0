"""Console read models of enrollment (参保登记、个人账户、参保率、重复参保): the shared reads of
``yibao.store.enrollment_reads`` formatted for tables (amounts as yuan strings, dates ISO), and the 重复参保
lists as query pairs ``*_count(s, f)`` and ``*_records(s, f, limit, offset=, order=)`` paged and ordered by
the database (``queries.paged``). 单位 and their contributions are in ``queries_employers``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yibao.config import get_settings
from yibao.console.display import names, yuan
from yibao.console.queries import paged
from yibao.enrollment import rules
from yibao.enrollment.accounts import statement
from yibao.errors import NotFound
from yibao.store import enrollment_reads as reads
from yibao.store.tables import Employer, Person
from yibao.yamlio import load_yaml

INSUTYPES = {"310": "职工", "390": "居民"}
END_REASONS = {k: v for k, v in rules.END_REASONS.items() if k != "transfer_out"}
ENTRY_KINDS = {
    "contribution": "缴费划入",
    "retiree_credit": "退休人员划入",
    "account_credit": "账户入账",
    "transfer_out": "转出",
    "settlement": "结算支付",
    "reversal": "结算撤销",
    "opening": "期初余额",
}
STATUS_NAMES = {"due": "未缴", "paid": "已缴", "arrears": "欠缴"}


def _d(value) -> str:
    return value.isoformat() if value else ""


@lru_cache(maxsize=4)
def _psn_types(regions_dir: str) -> dict[str, str]:
    try:
        spec = load_yaml(f"{regions_dir}/000000/dictionaries/psn_type.yaml")
        return {str(v["code"]): str(v["name"]) for v in spec["values"]}
    except Exception:  # a missing dictionary only costs the names
        return {}


def psn_type_name(code: str) -> str:
    name = _psn_types(str(get_settings().regions_dir)).get(code)
    return f"{code} {name}" if name else code


def psn_types_of(insutype: str, flexible: bool = False) -> dict[str, str]:
    """The categories a form offers for a scheme (职工 在职/退休; 居民 by age; 灵活就业 在职 only)."""
    if insutype == "310":
        codes = ["11"] if flexible else ["11", "12"]
    else:
        codes = ["1401", "1402", "1403", "1404", "1405", "15", "16"]
    return {c: psn_type_name(c) for c in codes}


def districts(s: Session) -> list[tuple[str, str, int]]:
    try:
        return reads.districts(s, get_settings().region)[1]
    except NotFound:  # the region is not loaded yet: no districts to offer or chart
        return []


def district_options(s: Session) -> dict[str, str]:
    return {adm: f"{adm} {name}" for adm, name, _ in districts(s)}


def employer_options(s: Session) -> dict[str, str]:
    return {
        e.emp_no: f"{e.emp_no} {e.emp_name}"
        for e in s.scalars(select(Employer).where(Employer.status == "active").order_by(Employer.emp_no))
    }


def enrollment_label(e: dict) -> str:
    return (
        f"#{e['id']} {INSUTYPES.get(e['insutype'], e['insutype'])} {psn_type_name(e['psn_type'])}"
        f" {e['psn_insu_stas_name']} 自 {_d(e['begndate'])}"
        + (f" 至 {_d(e['enddate'])}" if e["enddate"] else "")
    )


def enrollments(s: Session, psn_no: str) -> list[dict]:
    """A person's enrollments for the person page (raw rows keep what the action form needs)."""
    out = []
    for e in reads.person_enrollments(s, psn_no):
        out.append(
            {
                **e,
                "label": enrollment_label(e),
                "insutype_name": f"{e['insutype']} {INSUTYPES.get(e['insutype'], '')}",
                "psn_type_name": psn_type_name(e["psn_type"]),
                "status_name": f"{e['psn_insu_stas']} {e['psn_insu_stas_name']}",
                "begndate_s": _d(e["begndate"]),
                "enddate_s": _d(e["enddate"]),
                "wait_until_s": _d(e["wait_until"]),
                "emp_name_s": e["emp_name"] or ("灵活就业" if e["flxempe_flag"] == "1" else ""),
            }
        )
    return out


STATEMENT_COLUMNS = [
    ("time", "时间"),
    ("kind", "类型"),
    ("memo", "摘要"),
    ("setl_id", "结算ID"),
    ("amount", "金额"),
    ("balance", "余额"),
]


def account(s: Session, psn_no: str) -> dict | None:
    """余额 and 对账单 (newest first), or None for a person without a personal account."""
    balance = reads.account_balance(s, psn_no)
    if balance is None:
        return None
    rows = [
        {
            "n": i,
            "time": f"{r['time']:%Y-%m-%d %H:%M}",
            "kind": ENTRY_KINDS.get(r["kind"], r["kind"]),
            "memo": r["memo"],
            "setl_id": r["setl_id"] or "",
            "amount": yuan(r["amount"]),
            "balance": yuan(r["balance"]),
        }
        for i, r in enumerate(statement(s, psn_no))
    ]
    return {"balance": yuan(balance), "statement": rows[::-1]}


def family(s: Session, psn_no: str) -> list[dict]:
    f = reads.family(s, psn_no)
    return [
        {
            "id": b["id"],
            "role": role,
            "other": f"{b['psn_name'] or ''}（{b[key]}）",
            "relation": b["relation_name"],
            "begndate": _d(b["begndate"]),
            "enddate": _d(b["enddate"]),
        }
        for role, key, items in (
            ("使用本人账户", "member_psn_no", f["members"]),
            ("使用对方账户", "owner_psn_no", f["uses"]),
        )
        for b in items
    ]


def percent(insured: int, population: int) -> Decimal:
    """参保率 in percent, 4 decimals, half up (exact; the chart takes it as a number), as the REST report."""
    return Decimal(rules.coverage_rate(insured, population)[1] or 0)


def coverage(s: Session, on: date | None = None) -> dict:
    c = reads.coverage(s, districts(s), on or date.today())
    for r in c["districts"]:
        r["percent"] = percent(r["insured"], r["population"])
    c["percent"] = percent(c["insured"], c["population"])
    return c


OVERLAP_COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("certno", "证件号码"),
    ("first", "参保登记一"),
    ("second", "参保登记二"),
    ("overlap", "重叠期间"),
]
SAME_CERT_COLUMNS = [
    ("certno", "证件号码"),
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("psn_cert_type", "证件类型"),
    ("enrollments", "参保登记"),
]


@dataclass
class NoFilter:
    """A list without a filter (重复参保 reports every case)."""

    def describe(self) -> list[str]:
        return []


def overlap_count(s: Session, f: NoFilter | None = None) -> int:
    *_, q = reads.overlap_pairs()
    return s.scalar(select(func.count()).select_from(q.subquery())) or 0


def overlap_records(
    s: Session, f: NoFilter | None = None, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """参保期间重叠, one row a pair (by psn_no by default; 重叠期间 by the day it starts)."""
    a, b, q = reads.overlap_pairs()
    columns = {
        "psn_no": Person.psn_no,
        "psn_name": Person.psn_name,
        "first": a.begndate,
        "second": b.begndate,
        "overlap": case((a.begndate > b.begndate, a.begndate), else_=b.begndate),
    }
    q = paged(q, columns, order, "psn_no", Person.psn_no, a.id, b.id, offset=offset, limit=limit)
    for psn_no, name, certno, ea, eb in s.execute(q):
        start = max(ea.begndate, eb.begndate)
        end = min(ea.enddate or reads.FAR, eb.enddate or reads.FAR)
        yield {
            "key": f"{psn_no}-{ea.id}-{eb.id}",
            "psn_no": psn_no,
            "psn_name": name,
            "certno": reads.mask_certno(certno),
            "first": enrollment_label(reads.enrollment_row(ea)),
            "second": enrollment_label(reads.enrollment_row(eb)),
            "overlap": f"{_d(start)} 至 {'今' if end == reads.FAR else _d(end)}",
        }


def _same_certno():
    """(the compared ID number, persons whose ID number another psn_no also holds)."""
    key, shared = reads.shared_certno_keys()
    return key, select(Person).where(key.in_(shared))


def same_certno_count(s: Session, f: NoFilter | None = None) -> int:
    _, q = _same_certno()
    return s.scalar(select(func.count()).select_from(q.subquery())) or 0


def same_certno_records(
    s: Session, f: NoFilter | None = None, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """同一证件号码多个人员编号, one row a person (grouped by the ID number by default), with its enrollments."""
    key, q = _same_certno()
    columns = {
        "certno": key,
        "psn_no": Person.psn_no,
        "psn_name": Person.psn_name,
        "psn_cert_type": Person.psn_cert_type,
    }
    q = paged(q, columns, order, "certno", Person.psn_no, offset=offset, limit=limit)
    n = names(s)
    for p in s.scalars(q).all():
        yield {
            "key": p.psn_no,
            "certno": reads.mask_certno(p.certno.strip().upper()),
            "psn_no": p.psn_no,
            "psn_name": p.psn_name,
            "psn_cert_type": n.of("psn_cert_type", p.psn_cert_type),
            "enrollments": "；".join(enrollment_label(e) for e in reads.person_enrollments(s, p.psn_no))
            or "无",
        }
