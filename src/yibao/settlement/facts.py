"""Store adapter: what a settlement needs about a person, and their accumulators, read and written.

Concurrency: :func:`lock_person` takes a row lock on the person (PostgreSQL ``FOR NO KEY UPDATE``;
SQLite write transactions are already serial), so two settlements of one person — in any
year, insutype or account — never interleave.

Lock order (PostgreSQL), the same in every unit of work so that none waits in a cycle: the patient's person row,
then the visit, then the one personal account that pays (the patient's own, or a 共济 relative's: only its
account row, never the relative's person row), and the audit chain's head last, at commit (every unit of work
defers its audit rows: :func:`yibao.store.db.unit_of_work`). Work that touches several accounts takes them in
``psn_no`` order and takes no person's row after them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.errors import NotFound, SettlementError
from yibao.settlement.inputs import Dated, PersonFacts
from yibao.store.db import Fast, FastRows
from yibao.store.tables import (
    Accumulator,
    AccumulatorYear,
    ChronicRegistration,
    Enrollment,
    Identity,
    Person,
    PersonalAccount,
    SupplementaryEnrollment,
)

INSU_STATUS = {"0": "未参保", "1": "正常", "2": "暂停", "3": "无效", "4": "终止"}


def lock_person(session: Session, psn_no: str) -> Person:
    person = session.execute(
        select(Person).where(Person.psn_no == psn_no).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if person is None:
        raise NotFound(f"psn_no: 人员不存在 {psn_no}")
    return person


def enrollment_on(session: Session, psn_no: str, insutype: str | None, day: date) -> Enrollment:
    """The basic-insurance enrollment in force on ``day``, or a precise reason why there is none."""
    q = select(Enrollment).where(Enrollment.psn_no == psn_no, Enrollment.begndate <= day)
    if insutype:
        q = q.where(Enrollment.insutype == insutype)
    return choose_enrollment(session.scalars(q.order_by(Enrollment.begndate.desc())), psn_no, insutype, day)


def status_on(enr, day: date) -> str:
    """psn_insu_stas as it was on ``day``: a visit before a later suspension (暂停 from ``paus_insu_date``)
    or a termination (终止 after ``enddate``, e.g. 死亡出院) is settled as the status then allowed."""
    if enr.psn_insu_stas not in ("2", "4"):
        return enr.psn_insu_stas
    if enr.paus_insu_date is not None and day >= enr.paus_insu_date:
        return "2"
    if enr.psn_insu_stas == "4" and enr.enddate is not None and day > enr.enddate:
        return "4"
    return "1"


def choose_enrollment(rows, psn_no: str, insutype: str | None, day: date):
    """Of a person's enrollments begun by ``day`` (latest first), the one in force, or why there is none."""
    rows = [e for e in rows if e.enddate is None or e.enddate >= day]
    if not rows:
        raise SettlementError(
            f"insutype: 人员 {psn_no} 在 {day} 未参加险种 {insutype or '(any)'} (not enrolled)"
        )
    enr = rows[0]
    stas = status_on(enr, day)
    if stas != "1":
        status = INSU_STATUS.get(stas, stas)
        raise SettlementError(f"psn_insu_stas: 参保状态为 {stas} {status}，不能享受待遇")
    if enr.wait_until is not None and day < enr.wait_until:
        raise SettlementError(f"wait_until: 待遇等待期至 {enr.wait_until}，{day} 不能享受待遇")
    return enr


def check_alive(person, day: date) -> None:
    if person.death_date is not None and person.death_date < day:
        raise SettlementError(f"psn_no: 人员已于 {person.death_date} 死亡")


def person_facts(
    session: Session,
    person: Person,
    enrollment: Enrollment,
    day: date,
    account: PersonalAccount | bool | None = False,
) -> PersonFacts:
    """Identities, chronic registrations, 惠民保 years; ``account`` may be passed when already loaded."""
    check_alive(person, day)
    ids = [
        Dated(i.psn_idet_type, i.begntime, i.endtime)
        for i in session.scalars(select(Identity).where(Identity.psn_no == person.psn_no))
    ]
    chronic = [
        Dated(c.opsp_dise_code, c.begndate, c.enddate)
        for c in session.scalars(
            select(ChronicRegistration).where(
                ChronicRegistration.psn_no == person.psn_no, ChronicRegistration.status == "approved"
            )
        )
    ]
    years = set(
        session.scalars(
            select(SupplementaryEnrollment.year).where(SupplementaryEnrollment.psn_no == person.psn_no)
        )
    )
    if account is False:
        account = session.get(PersonalAccount, person.psn_no)
    return PersonFacts(
        enrollment.insutype, enrollment.psn_type, ids, chronic, years, has_account=account is not None
    )


def lock_account(session: Session, psn_no: str) -> PersonalAccount | None:
    return session.get(PersonalAccount, psn_no, with_for_update=True)


def account_balance(session: Session, psn_no: str) -> int:
    acct = lock_account(session, psn_no)
    return acct.balance if acct is not None else 0


def set_account_balance(session: Session, psn_no: str, balance: int) -> None:
    session.execute(update(PersonalAccount).where(PersonalAccount.psn_no == psn_no).values(balance=balance))


def load_accumulators(session: Session, psn_no: str, year: int, insutype: str) -> dict[str, int]:
    rows = session.execute(
        select(Accumulator.acc_key, Accumulator.value).where(
            Accumulator.psn_no == psn_no, Accumulator.year == year, Accumulator.insutype == insutype
        )
    )
    return {k: v for k, v in rows if v}


_ACC, _ACC_YEAR = Accumulator.__table__, AccumulatorYear.__table__
_ACC_KEY = (
    (_ACC.c.psn_no == bindparam("k_psn_no"))
    & (_ACC.c.year == bindparam("k_year"))
    & (_ACC.c.insutype == bindparam("k_insutype"))
    & (_ACC.c.acc_key == bindparam("k_acc_key"))
)
_ACC_DELETE = Fast(delete(_ACC).where(_ACC_KEY))


def _set_values(dialect_insert) -> FastRows:
    """New and changed values in one statement (on PostgreSQL it then joins the settlement's other writes)."""
    stmt = dialect_insert(_ACC)
    upsert = stmt.on_conflict_do_update(
        index_elements=list(_ACC.primary_key.columns), set_={"value": stmt.excluded.value}
    )
    return FastRows(_ACC, ("psn_no", "year", "insutype", "acc_key", "value"), update=("value",), core=upsert)


_ACC_SET = {"postgresql": _set_values(pg_insert), "sqlite": _set_values(sqlite_insert)}
# The header row: created at the first settlement of the year, its revision bumped by every later one.
_YEAR_BUMP = {
    name: Fast(
        dialect_insert(_ACC_YEAR)
        .values(revision=1)
        .on_conflict_do_update(
            index_elements=[_ACC_YEAR.c.psn_no, _ACC_YEAR.c.year, _ACC_YEAR.c.insutype],
            set_={"revision": _ACC_YEAR.c.revision + 1},
        ),
        keys=("psn_no", "year", "insutype"),
    )
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def save_accumulators(
    session: Session, psn_no: str, year: int, insutype: str, old: dict[str, int], new: dict[str, int]
) -> None:
    """Write only what changed; bump the header's revision (a cheap change marker for readers).

    The writes are queued (:meth:`yibao.store.db.Fast.queue`): on PostgreSQL they travel with the
    transaction's next round trip."""
    deletes, values = [], []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, 0), new.get(key, 0)
        if before == after:
            continue
        if after == 0:
            deletes.append({"k_psn_no": psn_no, "k_year": year, "k_insutype": insutype, "k_acc_key": key})
        else:
            values.append(
                {"psn_no": psn_no, "year": year, "insutype": insutype, "acc_key": key, "value": after}
            )
    session.flush()
    dialect = session.connection().dialect.name
    if deletes:
        _ACC_DELETE.queue(session, deletes)
    if values:
        _ACC_SET[dialect].queue(session, values)
    _YEAR_BUMP[dialect].queue(session, {"psn_no": psn_no, "year": year, "insutype": insutype})
