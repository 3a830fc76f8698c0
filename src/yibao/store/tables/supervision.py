"""Smart audit (智能审核): the rule library with its versions and knowledge rows, batch runs and their
suspicions (疑点) with the institutions' answers and the reviewers' decisions, and the 事前/事中 warnings of
3101/3102 with the 3103 feedback (supervision.md §2.2–§4)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Fen, money


class AuditRule(Base):
    """A rule of the library as now in force: its header (规则头), parameters, exemptions and test set; its
    knowledge rows are :class:`AuditKnowledge` of ``knowledge_version``. Every change makes a new
    :class:`AuditRuleVersion` and an audit-log row."""

    __tablename__ = "audit_rule"
    rule_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    class_l1: Mapped[str] = mapped_column(String(20), default="")
    class_l2: Mapped[str] = mapped_column(String(40), default="")
    result_type: Mapped[str] = mapped_column(String(4))  # 违规 | 可疑
    sev_deg: Mapped[str] = mapped_column(String(1))
    stages: Mapped[str] = mapped_column(String(20))  # pre,mid,post
    actions: Mapped[dict] = mapped_column(JSON)  # upload/settle → warn | block
    params: Mapped[dict] = mapped_column(JSON)
    exemptions: Mapped[list] = mapped_column(JSON)
    tests: Mapped[list] = mapped_column(JSON)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str | None] = mapped_column(String(400))
    amount: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    version: Mapped[int] = mapped_column(Integer, default=1)
    knowledge_version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(40))


class AuditRuleVersion(Base):
    """One version of a rule: the whole header as it was, the knowledge version it used, who changed what
    and why (import, enable, disable, edit)."""

    __tablename__ = "audit_rule_version"
    __table_args__ = (UniqueConstraint("rule_code", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_code: Mapped[str] = mapped_column(ForeignKey("audit_rule.rule_code"))
    version: Mapped[int] = mapped_column(Integer)
    knowledge_version: Mapped[int] = mapped_column(Integer)
    header: Mapped[dict] = mapped_column(JSON)
    change: Mapped[str] = mapped_column(String(12))  # import | enable | disable | edit
    reason: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    changed_by: Mapped[str] = mapped_column(String(40))


class AuditKnowledge(Base):
    """知识点: one knowledge row of a rule, in the version of the rule's knowledge it was imported with."""

    __tablename__ = "audit_knowledge"
    __table_args__ = (Index("ix_audit_knowledge_rule", "rule_code", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_code: Mapped[str] = mapped_column(ForeignKey("audit_rule.rule_code"))
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)
    begndate: Mapped[date | None] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    row_key: Mapped[str | None] = mapped_column(String(40))
    supersedes: Mapped[str | None] = mapped_column(String(40))
    source_batch: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(200), default="")  # file and row it came from


class AuditRun(Base):
    """A 事后 batch run: period, rules, engine, library version, counts and timing."""

    __tablename__ = "audit_run"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    rules: Mapped[list | None] = mapped_column(JSON)  # null = the whole library
    engine: Mapped[str] = mapped_column(String(10))
    library_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # running | done | failed
    lines: Mapped[int] = mapped_column(Fen, default=0)
    visits: Mapped[int] = mapped_column(Fen, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    new_suspicions: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = money()
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_by: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(400))


class AuditSuspicion(Base):
    """疑点: a finding of a batch run about a visit (or an institution), with the lines and the amount at stake,
    and its workflow: the institution accepts it or appeals by ``due_date``; a reviewer upholds or dismisses
    it; an upheld amount is deducted from the institution's next payment (``deduction_entry_id``). The same
    finding found again by a later run is not a new suspicion (``fingerprint``)."""

    __tablename__ = "audit_suspicion"
    __table_args__ = (
        UniqueConstraint("fingerprint"),
        Index("ix_audit_suspicion_worklist", "status", "fixmedins_code", "due_date"),
        Index("ix_audit_suspicion_rule", "rule_code"),
        Index("ix_audit_suspicion_visit", "mdtrt_id"),
        Index("ix_audit_suspicion_deduction", "deduction_month", "fixmedins_code"),
        Index("ix_audit_suspicion_run", "run_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))
    rule_code: Mapped[str] = mapped_column(String(40))
    rule_name: Mapped[str] = mapped_column(String(100))
    rule_version: Mapped[int] = mapped_column(Integer)
    result_type: Mapped[str] = mapped_column(String(4))
    sev_deg: Mapped[str] = mapped_column(String(1))
    vola_bhvr_type: Mapped[str] = mapped_column(String(1))
    fixmedins_code: Mapped[str | None] = mapped_column(String(12))
    mdtrt_id: Mapped[str | None] = mapped_column(String(30))
    psn_no: Mapped[str | None] = mapped_column(String(30))
    setl_id: Mapped[str | None] = mapped_column(String(30))
    service_date: Mapped[date | None] = mapped_column(Date)
    vola_amt: Mapped[int] = money()
    vola_cont: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON)  # observed, limit, knowledge rows, legal basis
    lines: Mapped[list] = mapped_column(JSON)  # [{line_id, feedetl_sn, med_list_codg, role, amt}]
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_date: Mapped[date | None] = mapped_column(Date)
    response: Mapped[str | None] = mapped_column(String(10))  # accept | appeal
    response_reason: Mapped[str | None] = mapped_column(Text)
    responded_by: Mapped[str | None] = mapped_column(String(40))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision: Mapped[str | None] = mapped_column(String(10))  # upheld | dismissed
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    deducted_fen: Mapped[int] = money()
    deduction_entry_id: Mapped[int | None] = mapped_column(BigId)
    # the workflow's who and when beyond the answer and the decision (supervision/suspicion_states.py)
    confirmed_by: Mapped[str | None] = mapped_column(String(40))  # 初审确认 of a 可疑 finding
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    notified_by: Mapped[str | None] = mapped_column(String(40))  # not the one to answer or decide it
    upheld_fen: Mapped[int] = money()  # the amount upheld (≤ vola_amt), what the deduction takes
    deduction_month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM: the payment it is deducted from
    deducted_by: Mapped[str | None] = mapped_column(String(40))
    deducted_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditAttachment(Base):
    """A file an institution attached to its appeal (申诉材料)."""

    __tablename__ = "audit_attachment"
    __table_args__ = (Index("ix_audit_attachment_suspicion", "suspicion_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    suspicion_id: Mapped[int] = mapped_column(ForeignKey("audit_suspicion.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)


class AuditWarning(Base):
    """A 事前 (3101) or 事中 (3102, inline) finding given to an HIS (``jr_id``), and the institution's 3103
    answer: ``dspo_way`` 1 continue (with ``dspo_way_rea``) / 2 modify."""

    __tablename__ = "audit_warning"
    __table_args__ = (
        Index("ix_audit_warning_visit", "mdtrt_id"),
        Index("ix_audit_warning_institution", "fixmedins_code", "created_at"),
    )
    jr_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    msgid: Mapped[str] = mapped_column(String(40))
    infno: Mapped[str] = mapped_column(String(10))
    warn_type: Mapped[str] = mapped_column(String(1))  # 1 事前 / 2 事中
    fixmedins_code: Mapped[str] = mapped_column(String(12))
    psn_no: Mapped[str | None] = mapped_column(String(30))
    mdtrt_id: Mapped[str | None] = mapped_column(String(30))
    rule_code: Mapped[str] = mapped_column(String(40))
    sev_deg: Mapped[str] = mapped_column(String(1))
    action: Mapped[str] = mapped_column(String(6))  # warn | block
    vola_amt: Mapped[int] = money()
    vola_cont: Mapped[str] = mapped_column(Text)
    detail: Mapped[list] = mapped_column(JSON)  # judge_result_detail_dtos
    created_at: Mapped[datetime] = mapped_column(DateTime)
    dspo_way: Mapped[str | None] = mapped_column(String(1))
    dspo_way_rea: Mapped[str | None] = mapped_column(String(500))
    dspo_at: Mapped[datetime | None] = mapped_column(DateTime)


class ScreeningLead(Base):
    """A lead of the latest screening (筛查线索) of a year: an opened case or lead, or the head of a pattern's
    ranking (``opened`` false); ``data`` holds its signals with values and thresholds. A new screening of the
    year replaces the year's rows."""

    __tablename__ = "screening_lead"
    __table_args__ = (Index("ix_screening_lead_year", "year", "pattern", "rank"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    screened_at: Mapped[datetime] = mapped_column(DateTime)
    screened_by: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(30))
    entity_type: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer)
    opened: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict] = mapped_column(JSON)


class ScreeningLabel(Base):
    """Where the demo generator injected fraud or placed a decoy (欺诈注入标签, ``yibao demo --fraud``): read only
    by ``yibao screening evaluate``, never by screening itself."""

    __tablename__ = "screening_label"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "pattern"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seed: Mapped[int] = mapped_column(Integer)
    entity_type: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(40))
    pattern: Mapped[str] = mapped_column(String(30))
    decoy: Mapped[bool] = mapped_column(Boolean)
    injected_loss_fen: Mapped[int] = money()
