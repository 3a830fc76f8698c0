"""Read models over persons, enrollments and personal accounts, shared by the REST resources and the console
(参保查询): a person's enrollments and 共济 family, account balances, 参保率 by district, duplicate
enrollments. Contributions and employers are in :mod:`yibao.store.contribution_reads`. Plain dicts; amounts in
integer fen (the callers format them); nothing here writes.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from yibao.enrollment import rules
from yibao.errors import NotFound
from yibao.store.tables import (
    Enrollment,
    FamilyBinding,
    Person,
    PersonalAccount,
    Region,
)

RELATIONS = {"spouse": "配偶", "parent": "父母", "child": "子女"}
FAR = date(9999, 12, 31)


def mask_certno(certno: str) -> str:
    """3505**********123X: a whole ID number is never shown or returned."""
    return certno if len(certno) < 9 else certno[:4] + "*" * (len(certno) - 8) + certno[-4:]


# --- persons, enrollments, accounts, family -----------------------------------------------------------


def enrollment_row(e: Enrollment) -> dict:
    return {
        "id": e.id,
        "psn_no": e.psn_no,
        "insutype": e.insutype,
        "psn_type": e.psn_type,
        "psn_insu_stas": e.psn_insu_stas,
        "psn_insu_stas_name": rules.STATUS.get(e.psn_insu_stas, ""),
        "begndate": e.begndate,
        "enddate": e.enddate,
        "paus_insu_date": e.paus_insu_date,
        "insuplc_admdvs": e.insuplc_admdvs,
        "emp_no": e.emp_no,
        "emp_name": e.emp_name,
        "flxempe_flag": e.flxempe_flag,
        "flexible_base": e.flexible_base,
        "wait_until": e.wait_until,
        "contrib_months": e.contrib_months,
        "end_reason": e.end_reason,
    }


def person_enrollments(s: Session, psn_no: str) -> list[dict]:
    return [
        enrollment_row(e)
        for e in s.scalars(
            select(Enrollment).where(Enrollment.psn_no == psn_no).order_by(Enrollment.begndate, Enrollment.id)
        )
    ]


def family(s: Session, psn_no: str) -> dict[str, list[dict]]:
    """共济: who may use this person's account (members), and whose account this person may use."""
    names = {}

    def rows(cond, other) -> list[dict]:
        out = []
        for b in s.scalars(
            select(FamilyBinding).where(cond).order_by(FamilyBinding.begndate, FamilyBinding.id)
        ):
            who = getattr(b, other)
            if who not in names:
                names[who] = s.scalar(select(Person.psn_name).where(Person.psn_no == who))
            out.append(
                {
                    "id": b.id,
                    "owner_psn_no": b.owner_psn_no,
                    "member_psn_no": b.member_psn_no,
                    "psn_name": names[who],
                    "relation": b.relation,
                    "relation_name": RELATIONS.get(b.relation, b.relation),
                    "begndate": b.begndate,
                    "enddate": b.enddate,
                }
            )
        return out

    return {
        "members": rows(FamilyBinding.owner_psn_no == psn_no, "member_psn_no"),
        "uses": rows(FamilyBinding.member_psn_no == psn_no, "owner_psn_no"),
    }


def account_balance(s: Session, psn_no: str) -> int | None:
    acct = s.get(PersonalAccount, psn_no)
    return None if acct is None else int(acct.balance)


# --- reports ------------------------------------------------------------------------------------------


def districts(s: Session, admdvs: str) -> tuple[str, list[tuple[str, str, int]]]:
    """(region name, [(district admdvs, name, resident population)]) as loaded by ``yibao region load``
    (the census of ``region.yaml``) or written by the demo generator (a census matching its population)."""
    region = s.get(Region, admdvs)
    if region is None:
        raise NotFound(f"admdvs: 统筹区 {admdvs} 未载入 (yibao region load {admdvs})")
    rows = s.execute(
        select(Region.admdvs, Region.name, Region.population)
        .where(Region.parent_admdvs == admdvs, Region.level == "district")
        .order_by(Region.admdvs)
    )
    return region.name, [(adm, name, int(pop or 0)) for adm, name, pop in rows]


def coverage(s: Session, table: list[tuple[str, str, int]], on: date) -> dict:
    """参保率 by district on ``on``: persons (by their 户籍/常住 district) holding a basic insurance in force
    on the day (status 正常 or 暂停 — a suspension keeps the person enrolled — and a period covering the day),
    ÷ the district's resident population. Persons of no listed district are counted apart (``elsewhere``),
    never in a district's rate."""
    covered = and_(
        Enrollment.insutype.in_(rules.BASIC),
        Enrollment.psn_insu_stas.in_(("1", "2")),
        Enrollment.begndate <= on,
        or_(Enrollment.enddate.is_(None), Enrollment.enddate >= on),
    )
    counts = {
        adm: int(n)
        for adm, n in s.execute(
            select(Person.admdvs, func.count(func.distinct(Person.psn_no)))
            .join(Enrollment, Enrollment.psn_no == Person.psn_no)
            .where(covered)
            .group_by(Person.admdvs)
        )
    }
    rows = [
        {"admdvs": adm, "name": name, "insured": counts.pop(adm, 0), "population": pop}
        for adm, name, pop in table
    ]
    return {
        "on": on,
        "districts": rows,
        "insured": sum(r["insured"] for r in rows),
        "population": sum(r["population"] for r in rows),
        "elsewhere": sum(counts.values()),
    }


def in_force_on(day: date):
    """SQL twin of ``rules.status_on(e, day) == "1"`` for an enrollment begun by ``day``: 正常 that day — a
    suspension dated later (暂停已预约) or a termination after the day does not count yet."""
    e = Enrollment
    return and_(
        e.begndate <= day,
        or_(e.enddate.is_(None), e.enddate >= day),
        or_(
            e.psn_insu_stas == "1",
            and_(e.psn_insu_stas == "2", e.paus_insu_date > day),
            and_(e.psn_insu_stas == "4", e.enddate >= day),
        ),
    )


def overlap_pairs():
    """(a, b, the query of the pairs): basic enrollments (310/390) of one person whose periods overlap —
    正常, 暂停 or 终止 alike (an ended enrollment still covered its days; 无效 ones are void). The one
    definition of a 重复参保 pair: the REST report and the console's paged list both read it."""
    a, b = aliased(Enrollment), aliased(Enrollment)
    counted = ("1", "2", "4")
    q = (
        select(Person.psn_no, Person.psn_name, Person.certno, a, b)
        .join(b, and_(b.psn_no == a.psn_no, b.id > a.id))
        .join(Person, Person.psn_no == a.psn_no)
        .where(
            a.insutype.in_(rules.BASIC),
            b.insutype.in_(rules.BASIC),
            a.psn_insu_stas.in_(counted),
            b.psn_insu_stas.in_(counted),
            a.begndate <= func.coalesce(b.enddate, FAR),
            b.begndate <= func.coalesce(a.enddate, FAR),
        )
    )
    return a, b, q


def shared_certno_keys():
    """(the compared ID number, the query of the numbers held under two or more psn_no) — compared
    case-blind (an 'x' check character is an 'X')."""
    key = func.upper(func.trim(Person.certno))
    return key, select(key).group_by(key).having(func.count(func.distinct(Person.psn_no)) > 1)


def duplicate_enrollments(s: Session) -> dict[str, list[dict]]:
    """重复参保: (1) pairs of basic enrollments (310/390) of one person whose periods overlap — 正常,
    暂停 or 终止 alike (an ended enrollment still covered its days; 无效 ones are void); (2) one ID number
    under two or more psn_no (compared case-blind: an 'x' check character is an 'X')."""
    a, b, pairs = overlap_pairs()
    overlaps = []
    for psn_no, name, certno, ea, eb in s.execute(pairs.order_by(Person.psn_no, a.id, b.id)):
        start = max(ea.begndate, eb.begndate)
        end = min(ea.enddate or FAR, eb.enddate or FAR)
        overlaps.append(
            {
                "psn_no": psn_no,
                "psn_name": name,
                "certno": mask_certno(certno),
                "enrollments": [enrollment_row(ea), enrollment_row(eb)],
                "overlap_from": start,
                "overlap_to": None if end == FAR else end,
            }
        )
    key, shared = shared_certno_keys()
    dup_keys = list(s.scalars(shared))
    same_certno = []
    if dup_keys:
        groups: dict[str, list[dict]] = {}
        for p in s.scalars(select(Person).where(key.in_(dup_keys)).order_by(Person.psn_no)):
            groups.setdefault(p.certno.strip().upper(), []).append(
                {
                    "psn_no": p.psn_no,
                    "psn_name": p.psn_name,
                    "psn_cert_type": p.psn_cert_type,
                    "enrollments": person_enrollments(s, p.psn_no),
                }
            )
        same_certno = [
            {"certno": mask_certno(k), "persons": v} for k, v in sorted(groups.items(), key=lambda kv: kv[0])
        ]
    return {"overlaps": overlaps, "same_certno": same_certno}
