"""定点机构 as the console lists them (查询): each institution with the year's settlement totals, paged and
ordered by the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.money import fen_to_decimal
from yibao.store.tables import Institution, Settlement

INSTITUTION_STATUS = {"active": "正常", "suspended": "暂停", "exited": "退出"}


@dataclass
class InstitutionFilter:
    """定点机构 of a year's totals: by code or name (part of it), by type."""

    year: int
    text: str = ""
    fixmedins_type: str | None = None

    def where(self) -> list:
        c = []
        t = (self.text or "").strip()
        if t:
            c.append(or_(Institution.fixmedins_code == t.upper(), Institution.fixmedins_name.like(f"%{t}%")))
        if self.fixmedins_type:
            c.append(Institution.fixmedins_type == self.fixmedins_type)
        return c

    def describe(self, kinds: dict[str, str] | None = None) -> list[str]:
        out = [f"{self.year} 年"]
        if (self.text or "").strip():
            out.append(f"查询 “{self.text.strip()}”")
        if self.fixmedins_type:
            out.append(f"类型 {(kinds or {}).get(self.fixmedins_type, self.fixmedins_type)}")
        return out


INSTITUTION_COLUMNS = [  # (the year's totals first: what the list is read for)
    ("fixmedins_code", "机构编号"),
    ("fixmedins_name", "机构名称"),
    ("settlements", "结算笔数"),
    ("medfee", "医疗费总额"),
    ("fund_pay", "基金支付"),
    ("kind", "类型"),
    ("hosp_lv", "医院等级"),
    ("level", "起付线等级"),
    ("status", "状态"),
]
INSTITUTION_AMOUNTS = ("medfee", "fund_pay")


def _institution_totals(year: int):
    """The year's settlements by institution (reversal rows left out), a subquery the list joins."""
    return (
        select(
            Settlement.fixmedins_code.label("code"),
            func.count().label("settlements"),
            func.sum(Settlement.medfee_sumamt).label("medfee"),
            func.sum(Settlement.fund_pay_sumamt).label("fund_pay"),
        )
        .where(Settlement.year == year, Settlement.refd_setl_flag == "0")
        .group_by(Settlement.fixmedins_code)
        .subquery()
    )


def institution_count(s: Session, f: InstitutionFilter) -> int:
    return s.scalar(select(func.count()).select_from(Institution).where(*f.where())) or 0


def institution_records(
    s: Session,
    f: InstitutionFilter,
    limit: int | None = None,
    *,
    offset: int = 0,
    order: tuple[str | None, bool] = (None, False),
) -> Iterator[dict]:
    """The institutions with the year's totals, typed (amounts ``Decimal`` yuan, counts ``int``), ordered by
    the database over all of them (by code by default; totals as numbers, an institution without
    settlements as 0); 类型 and 医院等级 named from the dictionary."""
    from yibao.console.display import names

    n = names(s)
    t = _institution_totals(f.year)
    counted = func.coalesce(t.c.settlements, 0)
    medfee, fund = func.coalesce(t.c.medfee, 0), func.coalesce(t.c.fund_pay, 0)
    columns = {
        "fixmedins_code": Institution.fixmedins_code,
        "fixmedins_name": Institution.fixmedins_name,
        "kind": Institution.fixmedins_type,
        # codes 1 三级特等 … 14 一级无等: shorter first orders them as numbers (without a cast that could fail)
        "hosp_lv": (func.length(Institution.hosp_lv), Institution.hosp_lv),
        "level": Institution.dedc_hosp_lv,
        "status": Institution.status,
        "settlements": counted,
        "medfee": medfee,
        "fund_pay": fund,
    }
    q = (
        select(Institution, counted, medfee, fund)
        .outerjoin(t, t.c.code == Institution.fixmedins_code)
        .where(*f.where())
    )
    q = paged(q, columns, order, "fixmedins_code", Institution.fixmedins_code, offset=offset, limit=limit)
    for i, count, fee, paid in s.execute(q):
        yield {
            "fixmedins_code": i.fixmedins_code,
            "fixmedins_name": i.fixmedins_name,
            "kind": n.of("fixmedins_type", i.fixmedins_type),
            "hosp_lv": n.of("hosp_lv", i.hosp_lv),
            "level": n.of("dedc_hosp_lv", i.dedc_hosp_lv),
            "status": INSTITUTION_STATUS.get(i.status, i.status),
            "settlements": int(count),
            "medfee": fen_to_decimal(fee),
            "fund_pay": fen_to_decimal(paid),
        }
