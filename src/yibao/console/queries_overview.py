"""首页 figures (查询): the year's key figures and the charts' series, all amounts in fen."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session

from yibao.store import enrollment_reads
from yibao.store.tables import ClinicalCode, Dictionary, Enrollment, Settlement, SettlementDetail, Visit


def latest_year(s: Session) -> int:
    return int(s.scalar(select(func.max(Settlement.year))) or date.today().year)


def overview(s: Session, year: int) -> dict:
    live = and_(Settlement.year == year)
    persons = (
        s.scalar(
            select(func.count(func.distinct(Enrollment.psn_no))).where(
                enrollment_reads.in_force_on(date.today())
            )
        )
        or 0
    )
    count, fund, medfee = s.execute(
        select(
            func.sum(case((Settlement.refd_setl_flag == "0", 1), else_=-1)),
            func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0),
            func.coalesce(func.sum(Settlement.medfee_sumamt), 0),
        ).where(live)
    ).one()
    admissions = (
        s.scalar(
            select(func.count())
            .select_from(Settlement)
            .where(
                live,
                Settlement.med_type.like("2%"),
                Settlement.refd_setl_flag == "0",
                Settlement.mid_setl_flag == "0",
            )
        )
        or 0
    )
    return {
        "persons": persons,
        "settlements": int(count or 0),
        "fund_pay": int(fund),
        "medfee": int(medfee),
        "admissions": admissions,
    }


def monthly_by_fund(s: Session, year: int) -> dict[str, list[int]]:
    month = cast(extract("month", Settlement.begndate), Integer)
    out: dict[str, list[int]] = {}
    for m, fpt, amount in s.execute(
        select(month, SettlementDetail.fund_pay_type, func.sum(SettlementDetail.fund_payamt))
        .join(Settlement, Settlement.setl_id == SettlementDetail.setl_id)
        .where(Settlement.year == year, SettlementDetail.fund_pay_type != "310200")
        .group_by(month, SettlementDetail.fund_pay_type)
    ):
        out.setdefault(fpt, [0] * 12)[int(m) - 1] += int(amount)
    return out


def by_level(s: Session, year: int) -> dict[int, int]:
    return {
        int(lv or 0): int(a)
        for lv, a in s.execute(
            select(Settlement.dedc_hosp_lv, func.sum(Settlement.fund_pay_sumamt))
            .where(Settlement.year == year)
            .group_by(Settlement.dedc_hosp_lv)
        )
    }


def top_diagnoses(s: Session, year: int, n: int = 10) -> list[tuple[str, str, int]]:
    rows = s.execute(
        select(Visit.dise_codg, func.sum(Settlement.medfee_sumamt).label("cost"))
        .join(Settlement, Settlement.mdtrt_id == Visit.mdtrt_id)
        .where(
            Settlement.year == year,
            Visit.dise_codg.is_not(None),
            # a chronic visit carries its 门诊慢特病 code, not an ICD diagnosis: not among diagnoses
            Visit.dise_codg.not_in(select(Dictionary.code).where(Dictionary.dic_type == "opsp_dise")),
        )
        .group_by(Visit.dise_codg)
        .order_by(func.sum(Settlement.medfee_sumamt).desc())
        .limit(n)
    ).all()
    codes = [r[0] for r in rows]
    names = dict(
        s.execute(select(ClinicalCode.code, ClinicalCode.name).where(ClinicalCode.code.in_(codes))).all()
    )
    return [(code, names.get(code, code), int(cost)) for code, cost in rows]
