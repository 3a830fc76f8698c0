"""Read models of the console (查询): plain dicts for pages and exports, all amounts in fen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import case, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from yibao.console.display import yuan
from yibao.money import fen_to_decimal, fmt_fen
from yibao.store.tables import (
    Accumulator,
    Enrollment,
    FeeLine,
    Institution,
    Person,
    Settlement,
)

MED_TYPES = {
    "11": "普通门诊",
    "13": "急诊",
    "14": "门诊慢特病",
    "21": "普通住院",
    "22": "外伤住院",
    "23": "转外诊治住院",
    "24": "急诊转住院",
    "28": "日间手术",
    "41": "定点药店购药",
}
INPATIENT = "2"  # a filter value: every 住院 医疗类别 (21–28), as 住院人次 counts them
MED_TYPE_CHOICES = {**MED_TYPES, INPATIENT: "住院（全部）"}  # what the 结算 filter offers
INSUTYPES = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}


def mask_certno(certno: str) -> str:
    """3505**********123X: never show a whole ID number in the console."""
    return certno if len(certno) < 9 else certno[:4] + "*" * (len(certno) - 8) + certno[-4:]


def paged(
    q,
    columns: dict,
    order: tuple[str | None, bool],
    default: str,
    *tiebreak,
    offset: int = 0,
    limit: int | None = None,
    default_desc: bool = False,
):
    """``q`` ordered by one list column (``columns[key]``: a column, or a tuple of columns that order it
    together; ``default`` in its ``default_desc`` direction when none is asked for), then by the
    ``tiebreak`` columns so that pages never overlap, and cut to one page. Every console list pages and
    sorts through here, in the database."""
    key, desc = order
    if key not in columns:  # (no column chosen, or one the list cannot order by)
        key, desc = default, default_desc
    chosen = columns[key]
    terms = [c.desc() if desc else c.asc() for c in (chosen if isinstance(chosen, tuple) else (chosen,))]
    q = q.order_by(*terms, *tiebreak)
    if offset:
        q = q.offset(offset)
    return q.limit(limit) if limit else q


@dataclass
class PersonFilter:
    """参保人 search: a name (or part of it), a whole ID number or its last digits (4 or more), or a psn_no;
    nothing typed lists everyone."""

    text: str = ""

    def where(self) -> list:
        t = (self.text or "").strip()
        if not t:
            return []
        return [
            or_(
                Person.psn_no == t,
                Person.certno == t.upper(),
                Person.psn_name.like(f"%{t}%"),
                Person.certno.like(f"%{t.upper()}") if len(t) >= 4 else false(),
            )
        ]

    def describe(self) -> list[str]:
        t = (self.text or "").strip()
        return [f"查询 “{t}”"] if t else []


PERSON_COLUMNS = [
    ("psn_no", "人员编号"),
    ("psn_name", "姓名"),
    ("certno", "证件号码"),
    ("gend", "性别"),
    ("brdy", "出生日期"),
    ("insutype", "险种"),
    ("psn_type", "人员类别"),
]


def _current_enrollment():
    """The enrollment a list shows beside a person: one in force (正常, then 暂停) before ended ones, the
    latest first (a correlated subquery, so the database can order the whole list by its 险种 or 人员类别)."""
    e = aliased(Enrollment)
    standing = case((e.psn_insu_stas == "1", 0), (e.psn_insu_stas == "2", 1), else_=2)
    return (
        select(e.id)
        .where(e.psn_no == Person.psn_no)
        .order_by(standing, e.begndate.desc(), e.id.desc())
        .limit(1)
        .correlate(Person)
        .scalar_subquery()
    )


# the columns a list of persons may be ordered by (dictionary columns by their codes; not the ID number,
# whose order would tell the digits the mask hides)
PERSON_ORDER = {
    "psn_no": Person.psn_no,
    "psn_name": Person.psn_name,
    "gend": Person.gend,
    "brdy": Person.brdy,
    "insutype": Enrollment.insutype,
    "psn_type": Enrollment.psn_type,
}


def person_count(s: Session, f: PersonFilter) -> int:
    return s.scalar(select(func.count()).select_from(Person).where(*f.where())) or 0


def person_records(
    s: Session,
    f: PersonFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> Iterator[dict]:
    """The persons found, in the ``order`` asked for (a key of ``PERSON_ORDER``; by psn_no by default), with
    the 险种 and 人员类别 of their current enrollment named from the dictionary, ID numbers masked, the
    birth date a ``date``; streamed in chunks."""
    from yibao.console.display import names

    n = names(s)
    q = (
        select(Person, Enrollment.insutype, Enrollment.psn_type)
        .outerjoin(Enrollment, Enrollment.id == _current_enrollment())
        .where(*f.where())
        .execution_options(yield_per=2_000)
    )
    q = paged(q, PERSON_ORDER, order, "psn_no", Person.psn_no, offset=offset, limit=limit)
    for p, insutype, psn_type in s.execute(q):
        yield {
            "psn_no": p.psn_no,
            "psn_name": p.psn_name,
            "certno": mask_certno(p.certno),
            "gend": n.of("gend", p.gend),
            "brdy": p.brdy,
            "insutype": n.of("insutype", insutype),
            "psn_type": n.of("psn_type", psn_type),
        }


def person_detail(s: Session, psn_no: str) -> dict | None:
    p = s.get(Person, psn_no)
    if p is None:
        return None
    acc: dict[int, list[tuple[str, str, int]]] = {}  # year → (险种, accumulator key, value)
    for year, ins, key, value in s.execute(
        select(Accumulator.year, Accumulator.insutype, Accumulator.acc_key, Accumulator.value)
        .where(Accumulator.psn_no == psn_no, Accumulator.value != 0)
        .order_by(Accumulator.year.desc(), Accumulator.insutype, Accumulator.acc_key)
    ):
        acc.setdefault(year, []).append((ins, key, int(value)))
    return {
        "person": {
            "psn_no": p.psn_no,
            "psn_name": p.psn_name,
            "certno": mask_certno(p.certno),
            "gend": "男" if p.gend == "1" else "女",
            "brdy": p.brdy.isoformat(),
            "admdvs": p.admdvs or "",
        },
        "enrollments": [
            {
                "insutype": f"{e.insutype} {INSUTYPES.get(e.insutype, '')}",
                "psn_type": e.psn_type,
                "psn_insu_stas": e.psn_insu_stas,
                "begndate": e.begndate.isoformat(),
                "enddate": e.enddate.isoformat() if e.enddate else "",
                "emp_name": e.emp_name or "",
            }
            for e in s.scalars(select(Enrollment).where(Enrollment.psn_no == psn_no))
        ],
        "accumulators": acc,
    }


@dataclass
class SettlementFilter:
    date_from: date | None = None
    date_to: date | None = None
    fixmedins_code: str | None = None
    med_type: str | None = None
    insutype: str | None = None
    min_amount: int | None = None  # fen
    max_amount: int | None = None
    psn_no: str | None = None

    def where(self) -> list:
        c = []
        if self.date_from:
            c.append(Settlement.setl_time >= datetime.combine(self.date_from, time.min))
        if self.date_to:
            c.append(Settlement.setl_time <= datetime.combine(self.date_to, time.max))
        if self.med_type == INPATIENT:
            c.append(Settlement.med_type.like("2%"))
        for col, v in (
            (Settlement.fixmedins_code, self.fixmedins_code),
            (Settlement.med_type, None if self.med_type == INPATIENT else self.med_type),
            (Settlement.insutype, self.insutype),
            (Settlement.psn_no, self.psn_no),
        ):
            if v:
                c.append(col == v)
        if self.min_amount is not None:
            c.append(Settlement.medfee_sumamt >= self.min_amount)
        if self.max_amount is not None:
            c.append(Settlement.medfee_sumamt <= self.max_amount)
        return c

    def describe(self, institutions: dict[str, str] | None = None) -> list[str]:
        """The filter in words, for an export's title row (``结算日期 2025-01-01 至 2025-03-31`` …)."""
        out = []
        if self.date_from or self.date_to:
            out.append(f"结算日期 {self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.fixmedins_code:
            out.append(f"定点机构 {(institutions or {}).get(self.fixmedins_code, self.fixmedins_code)}")
        if self.med_type:
            out.append(f"医疗类别 {MED_TYPE_CHOICES.get(self.med_type, self.med_type)}")
        if self.insutype:
            out.append(f"险种 {INSUTYPES.get(self.insutype, self.insutype)}")
        if self.min_amount is not None or self.max_amount is not None:
            lo = "…" if self.min_amount is None else fmt_fen(self.min_amount)
            hi = "…" if self.max_amount is None else fmt_fen(self.max_amount)
            out.append(f"医疗费总额 {lo} 至 {hi} 元")
        if self.psn_no:
            out.append(f"人员编号 {self.psn_no}")
        return out


SETTLEMENT_COLUMNS = [
    ("setl_id", "结算ID"),
    ("setl_time", "结算时间"),
    ("psn_no", "人员编号"),
    ("fixmedins_name", "定点机构"),
    ("med_type", "医疗类别"),
    ("insutype", "险种"),
    ("medfee_sumamt", "医疗费总额"),
    ("fund_pay_sumamt", "基金支付"),
    ("acct_pay", "个人账户"),
    ("psn_cash_pay", "现金"),
    ("status", "状态"),
]


def settlement_count(s: Session, f: SettlementFilter) -> int:
    return s.scalar(select(func.count()).select_from(Settlement).where(*f.where())) or 0


def settlement_records(
    s: Session,
    f: SettlementFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, True),
) -> Iterator[dict]:
    """The filtered settlements, typed (amounts exact ``Decimal`` yuan, times ``datetime``), in the ``order``
    asked for (a column of ``SETTLEMENT_ORDER``, descending or not; by default the latest first), streamed from
    the database in chunks (an export of the whole table holds one chunk at a time)."""
    key, desc = order
    column = SETTLEMENT_ORDER.get(key or "setl_time", Settlement.setl_time)
    q = (
        select(Settlement, Institution.fixmedins_name)
        .join(Institution, Institution.fixmedins_code == Settlement.fixmedins_code)
        .where(*f.where())
        .order_by(column.desc() if desc else column.asc(), Settlement.setl_id)
        .execution_options(yield_per=2_000)
    )
    if offset:
        q = q.offset(offset)
    if limit:
        q = q.limit(limit)
    for r, name in s.execute(q):
        status = "撤销记录" if r.refd_setl_flag == "1" else ("已撤销" if r.reversed_by else "正常")
        yield {
            "setl_id": r.setl_id,
            "setl_time": r.setl_time.replace(second=0, microsecond=0),
            "psn_no": r.psn_no,
            "fixmedins_name": name,
            "med_type": MED_TYPES.get(r.med_type, r.med_type),
            "insutype": INSUTYPES.get(r.insutype, r.insutype),
            **{k: fen_to_decimal(getattr(r, k)) for k in SETTLEMENT_AMOUNTS},
            "status": status,
        }


SETTLEMENT_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")
# the columns a list of settlements may be ordered by (the database orders the whole list)
SETTLEMENT_ORDER = {
    "setl_time": Settlement.setl_time,
    "setl_id": Settlement.setl_id,
    "psn_no": Settlement.psn_no,
    "fixmedins_name": Institution.fixmedins_name,
    "med_type": Settlement.med_type,
    "insutype": Settlement.insutype,
    **{k: getattr(Settlement, k) for k in SETTLEMENT_AMOUNTS},
}


def shown(record: dict) -> dict:
    """A typed record as a list shows it: times to the minute, dates ISO, amounts with separators and two places."""
    return {k: _shown(v) for k, v in record.items()}


def _shown(v):
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, date):
        return v.isoformat()
    return f"{v:,.2f}" if isinstance(v, Decimal) else v


def settlements(s: Session, f: SettlementFilter, limit: int | None = 5_000) -> tuple[int, list[dict]]:
    """The count and the first ``limit`` settlements, as shown."""
    return settlement_count(s, f), [shown(r) for r in settlement_records(s, f, limit)]


def settlement_lines(s: Session, setl_id: str, mdtrt_id: str) -> list[dict]:
    """A settlement's fee lines with the catalogue item's name and the 甲/乙/丙 class in words."""
    from yibao.console.display import item_names, names

    lines = list(
        s.scalars(
            select(FeeLine)
            .where(FeeLine.mdtrt_id == mdtrt_id, FeeLine.setl_id == setl_id)
            .order_by(FeeLine.id)
        )
    )
    words, items = names(s), item_names(s, (ln.med_list_codg for ln in lines))
    return [
        {
            "feedetl_sn": ln.feedetl_sn,
            "med_list_codg": ln.med_list_codg or "",
            "med_list_name": items.get(ln.med_list_codg or "", "（目录中没有）"),
            "chrgitm_lv": words.of("chrgitm_lv", ln.chrgitm_lv),
            "det_item_fee_sumamt": yuan(ln.det_item_fee_sumamt),
            "fulamt_ownpay_amt": yuan(ln.fulamt_ownpay_amt),
            "overlmt_amt": yuan(ln.overlmt_amt),
            "preselfpay_amt": yuan(ln.preselfpay_amt),
            "inscp_scp_amt": yuan(ln.inscp_scp_amt),
        }
        for ln in lines
    ]
