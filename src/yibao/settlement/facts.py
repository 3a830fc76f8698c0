"""Store adapter: what a settlement needs about a person, and their accumulators, read and written.

Concurrency: a settlement or reversal first locks the person (:data:`yibao.settlement.queries.LOCK_PERSON`,
PostgreSQL ``FOR NO KEY UPDATE``; SQLite write transactions are already serial), so two settlements of one
person — in any year, insutype or account — never interleave.

Lock order (PostgreSQL), the same in every unit of work so that none waits in a cycle: the patient's person row,
then the visit, then the one personal account that pays (the patient's own, or a 共济 relative's: only its
account row, never the relative's person row), and the audit chain's head last, at commit (every unit of work
defers its audit rows: :func:`yibao.store.db.unit_of_work`). Work that touches several accounts takes them in
``psn_no`` order and takes no person's row after them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.enrollment.rules import choose_enrollment
from yibao.errors import SettlementError
from yibao.settlement import writes as w
from yibao.settlement.inputs import Dated, PersonFacts
from yibao.store.tables import (
    ChronicRegistration,
    Enrollment,
    Identity,
    Person,
    PersonalAccount,
    SupplementaryEnrollment,
)
from yibao.store.uow import UnitOfWork


def enrollment_on(session: Session, psn_no: str, insutype: str | None, day: date) -> Enrollment:
    """The basic-insurance enrollment in force on ``day``, or a precise reason why there is none."""
    q = select(Enrollment).where(Enrollment.psn_no == psn_no, Enrollment.begndate <= day)
    if insutype:
        q = q.where(Enrollment.insutype == insutype)
    return choose_enrollment(session.scalars(q.order_by(Enrollment.begndate.desc())), psn_no, insutype, day)


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
        Dated(i.psn_idet_type, i.begntime, i.endtime, i.psn_type_lv)
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


def save_accumulators(
    uow: UnitOfWork, psn_no: str, year: int, insutype: str, old: dict[str, int], new: dict[str, int]
) -> None:
    """Write only what changed (values that fall to 0 are deleted); bump the year's header revision (a cheap
    change marker for readers). The unit of work's next writes."""
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
    if deletes:
        uow.write(w.DELETE_ACCUMULATOR, deletes)
    if values:
        uow.write(w.SET_ACCUMULATORS, values)
    uow.write(w.BUMP_ACCUMULATOR_YEAR, {"psn_no": psn_no, "year": year, "insutype": insutype, "revision": 1})
