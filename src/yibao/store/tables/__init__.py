"""All tables, imported so that ``Base.metadata`` is complete (Alembic and tests read it)."""

from yibao.store.base import Base
from yibao.store.tables.enrollment import Contribution, FamilyBinding
from yibao.store.tables.payment import (
    PaymentBudget,
    PaymentCase,
    PaymentHistory,
    PaymentLine,
    PaymentNorm,
    PaymentRun,
    SpecialReview,
)
from yibao.store.tables.people import (
    ChronicRegistration,
    Employer,
    Enrollment,
    Identity,
    Person,
    PersonalAccount,
    SupplementaryEnrollment,
)
from yibao.store.tables.reference import (
    NATIONAL,
    CatalogueItem,
    ClinicalCode,
    Department,
    Dictionary,
    Institution,
    Practitioner,
    Region,
)
from yibao.store.tables.review import ReviewRequest
from yibao.store.tables.security import ApiClient, AuditHead, AuditLog, Role, StaffUser, UserRole
from yibao.store.tables.settlement import (
    Accumulator,
    AccumulatorYear,
    FeeLine,
    LedgerEntry,
    LedgerPosting,
    MessageLog,
    Settlement,
    SettlementDetail,
    Visit,
)
from yibao.store.tables.settlement_list import (
    SettlementList,
    SettlementListDiagnosis,
    SettlementListGroup,
    SettlementListProcedure,
)
from yibao.store.tables.supervision import (
    AuditAttachment,
    AuditKnowledge,
    AuditRule,
    AuditRuleVersion,
    AuditRun,
    AuditSuspicion,
    AuditWarning,
)

metadata = Base.metadata

__all__ = [
    "NATIONAL",
    "Accumulator",
    "AccumulatorYear",
    "ApiClient",
    "AuditAttachment",
    "AuditHead",
    "AuditKnowledge",
    "AuditLog",
    "AuditRule",
    "AuditRuleVersion",
    "AuditRun",
    "AuditSuspicion",
    "AuditWarning",
    "Base",
    "CatalogueItem",
    "ChronicRegistration",
    "ClinicalCode",
    "Contribution",
    "Department",
    "Dictionary",
    "Employer",
    "Enrollment",
    "FamilyBinding",
    "FeeLine",
    "Identity",
    "Institution",
    "LedgerEntry",
    "LedgerPosting",
    "MessageLog",
    "PaymentBudget",
    "PaymentCase",
    "PaymentHistory",
    "PaymentLine",
    "PaymentNorm",
    "PaymentRun",
    "Person",
    "PersonalAccount",
    "Practitioner",
    "Region",
    "ReviewRequest",
    "Role",
    "Settlement",
    "SettlementDetail",
    "SettlementList",
    "SettlementListDiagnosis",
    "SettlementListGroup",
    "SettlementListProcedure",
    "SpecialReview",
    "StaffUser",
    "SupplementaryEnrollment",
    "UserRole",
    "Visit",
    "metadata",
]
