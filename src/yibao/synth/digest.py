"""A digest of the generated data: equal seeds must give equal digests (determinism test, 数据指纹)."""

from __future__ import annotations

import hashlib

from sqlalchemy import JSON, Engine, select

from yibao.store.tables import (
    Accumulator,
    ChronicRegistration,
    Contribution,
    Employer,
    Enrollment,
    FamilyBinding,
    FeeLine,
    Identity,
    LedgerPosting,
    Person,
    PersonalAccount,
    Settlement,
    SettlementDetail,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
    Visit,
)

# columns whose values depend on the wall clock or on insert order, not on the seed
VOLATILE = {"created_at", "updated_at", "id", "entry_id"}
TABLES = (
    Employer,
    Person,
    Enrollment,
    Identity,
    ChronicRegistration,
    PersonalAccount,
    Contribution,
    FamilyBinding,
    Visit,
    FeeLine,
    Settlement,
    SettlementDetail,
    Accumulator,
    LedgerPosting,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListProcedure,
    SettlementListGroup,
)


def database_digest(engine: Engine) -> str:
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in TABLES:
            cols = [c for c in table.__table__.columns if c.name not in VOLATILE]
            order = [c for c in cols if not isinstance(c.type, JSON)]  # JSON has no ordering operator
            h.update(table.__tablename__.encode())
            for row in conn.execute(select(*cols).order_by(*order)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()
