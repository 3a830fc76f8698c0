"""Designated providers (定点医药机构协议管理): applications with their files and clock pauses, evaluations and
the scorers' sheets, agreements (main and supplementary) with their documents, the status history, the
designation intervals settlement reads, supervision measures, annual assessments and the registration of
医保医师 under an agreement. The rules are :mod:`yibao.providers`; the use cases
:mod:`yibao.providers.service`. Scores are decimal strings ("78.50"), never floats."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId


class ProviderApplication(Base):
    """申请: one of the online services (apply 定点申请, change 基本信息变更, suspend 申请中止, terminate 申请解除,
    renew 续签) with the institution's data as submitted (``org``), the service categories asked for, and where
    it stands. ``fixmedins_code`` is null for a new institution until it signs."""

    __tablename__ = "provider_application"
    __table_args__ = (
        Index("ix_provider_application_institution", "fixmedins_code", "submitted_on"),
        Index("ix_provider_application_status", "status", "submitted_on"),
    )
    appl_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # apply | change | suspend | terminate | renew
    admdvs: Mapped[str] = mapped_column(String(6))
    fixmedins_code: Mapped[str | None] = mapped_column(ForeignKey("institution.fixmedins_code"))
    org: Mapped[dict] = mapped_column(JSON)  # name, uscc, class, licence, level, beds, departments, staff …
    services: Mapped[list] = mapped_column(JSON)  # service category codes asked for
    details: Mapped[dict] = mapped_column(JSON)  # the change asked for, a suspension's dates, a reason …
    status: Mapped[str] = mapped_column(String(14))
    opened_on: Mapped[date | None] = mapped_column(Date)  # when the institution began operating
    submitted_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    problems: Mapped[list] = mapped_column(JSON)  # a refusal's or a supplement request's "field: 原因"
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderAttachment(Base):
    """A file attached to an application (申请材料): the material it stands for (执业许可证 …) and its bytes."""

    __tablename__ = "provider_attachment"
    __table_args__ = (Index("ix_provider_attachment_application", "appl_no"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appl_no: Mapped[str] = mapped_column(ForeignKey("provider_application.appl_no"))
    material: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderClockPause(Base):
    """补充材料: the evaluation clock stops from the request until the materials come (``enddate`` null while
    they are awaited)."""

    __tablename__ = "provider_clock_pause"
    __table_args__ = (Index("ix_provider_clock_pause_application", "appl_no"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appl_no: Mapped[str] = mapped_column(ForeignKey("provider_application.appl_no"))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    asked: Mapped[list] = mapped_column(JSON)  # what is missing, "field: 原因"
    requested_by: Mapped[str] = mapped_column(String(40))
    answered_by: Mapped[str | None] = mapped_column(String(40))


class ProviderEvaluation(Base):
    """评估: the panel appointed for an application and, once concluded, the aggregate and whether it passed."""

    __tablename__ = "provider_evaluation"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appl_no: Mapped[str] = mapped_column(ForeignKey("provider_application.appl_no"), unique=True)
    panel: Mapped[list] = mapped_column(JSON)  # the scorers (id, name, role, field, affiliation, conflict)
    appointed_on: Mapped[date] = mapped_column(Date)
    appointed_by: Mapped[str] = mapped_column(String(40))
    result: Mapped[str | None] = mapped_column(String(12))  # the aggregate, two decimals
    passed: Mapped[bool | None] = mapped_column()
    method: Mapped[str | None] = mapped_column(String(20))  # trimmed_mean | mean | median
    concluded_on: Mapped[date | None] = mapped_column(Date)
    concluded_by: Mapped[str | None] = mapped_column(String(40))


class ProviderEvaluationSheet(Base):
    """One scorer's sheet: a score per indicator of the region's scale and the total."""

    __tablename__ = "provider_evaluation_sheet"
    __table_args__ = (UniqueConstraint("evaluation_id", "scorer_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("provider_evaluation.id"))
    scorer_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(12))  # expert | supervisor
    field: Mapped[str] = mapped_column(String(40))
    affiliation: Mapped[str | None] = mapped_column(String(100))
    scores: Mapped[dict] = mapped_column(JSON)  # indicator code → decimal string
    total: Mapped[str] = mapped_column(String(12))
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderAgreement(Base):
    """医保服务协议: a main agreement (主协议) or a supplementary one (补充协议, for a service category that needs
    it), with its term, the service categories granted, its status and the signed document (its SHA-256)."""

    __tablename__ = "provider_agreement"
    __table_args__ = (Index("ix_provider_agreement_institution", "fixmedins_code", "begndate"),)
    agreement_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    kind: Mapped[str] = mapped_column(String(14))  # main | supplementary
    main_no: Mapped[str | None] = mapped_column(String(30))  # a supplementary agreement's main agreement
    supp_code: Mapped[str | None] = mapped_column(String(40))  # a supplementary agreement's template
    appl_no: Mapped[str | None] = mapped_column(ForeignKey("provider_application.appl_no"))
    template_code: Mapped[str] = mapped_column(String(40))
    template_version: Mapped[str] = mapped_column(String(20))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)  # last day covered
    services: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # active | suspended | terminated | expired
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_by: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderStatusEvent(Base):
    """The status history of an institution's agreement: 中止 / 恢复 / 解除 / 到期 / 续签 …, by application, by
    sanction (with a red-line code) or by expiry, and the dates it covers."""

    __tablename__ = "provider_status_event"
    __table_args__ = (Index("ix_provider_status_event_institution", "fixmedins_code", "begndate"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    agreement_no: Mapped[str | None] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    measure: Mapped[str] = mapped_column(String(12))  # application | sanction | expiry | staff | signing
    reason: Mapped[str] = mapped_column(String(400), default="")
    red_line: Mapped[str | None] = mapped_column(String(20))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime)


class Designation(Base):
    """定点: what settlement reads — an institution's intervals, each active (with the national med_types its
    granted services open, space-separated; null: every medical type) or suspended (with the reason).
    Rebuilt from the agreements on every change of one; ``enddate`` is the last day covered."""

    __tablename__ = "designation"
    __table_args__ = (Index("ix_designation_institution", "fixmedins_code", "begndate"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # active | suspended
    med_types: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(200), default="")
    agreement_no: Mapped[str | None] = mapped_column(String(30))


class ProviderMeasure(Base):
    """A supervision measure taken on an institution (supervision.md §6: 约谈, 限期整改, 暂停拨付 …), with its
    deadline when it has one."""

    __tablename__ = "provider_measure"
    __table_args__ = (Index("ix_provider_measure_institution", "fixmedins_code", "decided_on"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    code: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    effect: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(400))
    decided_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    suspicion_id: Mapped[int | None] = mapped_column(Integer)  # the 疑点 it answers, when one does
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | done
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderAssessment(Base):
    """年度考核: one year's assessment of a region's institutions (the run; each institution's sheet is a
    :class:`ProviderAssessmentSheet`)."""

    __tablename__ = "provider_assessment"
    __table_args__ = (UniqueConstraint("admdvs", "year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    admdvs: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    distribution: Mapped[dict] = mapped_column(JSON)  # grade → count
    assessed_by: Mapped[str] = mapped_column(String(40))
    assessed_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderAssessmentSheet(Base):
    """An institution's assessment of a year: the figures (computed and entered), each indicator's points,
    the total and the grade."""

    __tablename__ = "provider_assessment_sheet"
    __table_args__ = (
        UniqueConstraint("assessment_id", "fixmedins_code"),
        Index("ix_provider_assessment_sheet_institution", "fixmedins_code"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("provider_assessment.id"))
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    values: Mapped[dict] = mapped_column(JSON)  # indicator code → decimal string or null
    manual: Mapped[dict] = mapped_column(JSON)  # the figures entered by staff
    points: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[list] = mapped_column(JSON)
    total: Mapped[str] = mapped_column(String(12))
    grade: Mapped[str] = mapped_column(String(4))


class PractitionerRegistration(Base):
    """医保医师备案: a practitioner registered under an institution's agreement."""

    __tablename__ = "practitioner_registration"
    __table_args__ = (
        UniqueConstraint("prac_code", "agreement_no"),
        Index("ix_practitioner_registration_institution", "fixmedins_code"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prac_code: Mapped[str] = mapped_column(ForeignKey("practitioner.prac_code"))
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    agreement_no: Mapped[str] = mapped_column(ForeignKey("provider_agreement.agreement_no"))
    qualification: Mapped[str] = mapped_column(String(100), default="")
    registered_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # registered | ended
    registered_by: Mapped[str] = mapped_column(String(40))
