"""The reads and writes of the 事前 / 事中 warnings (3101, 3102, the inline checks) and their 3103 answers,
declared once: the person and the calling institution as a rule sees them, the catalogue's facts of the
orders' codes, the warnings given, and the feedback on one (supervision.md §4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ARRAY, String, and_, any_, bindparam, or_, select, update

from yibao.store.audit_view import (  # the audit view's own columns: one definition for every reader
    VisitContext,
    _line_dict,
    _line_select,
    _merged,
    _visit_select,
)
from yibao.store.statements import Query, Read, Write
from yibao.store.tables import (
    AuditWarning,
    CatalogueItem,
    Enrollment,
    FeeLine,
    Institution,
    Person,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListProcedure,
    Visit,
)

_WARN, _PSN, _ENR, _INST, _CAT = (
    t.__table__ for t in (AuditWarning, Person, Enrollment, Institution, CatalogueItem)
)

# the person named by patn_id: sex, birth and death dates, and the insurance types held (for an encounter the
# HIS has not registered, whose type the request may leave out)
PERSON = Query(
    "audit_person",
    select(_PSN.c.psn_no, _PSN.c.gend, _PSN.c.brdy, _PSN.c.death_date).where(
        _PSN.c.psn_no == bindparam("psn_no")
    ),
)
ENROLLMENTS = Query(
    "audit_person_enrollments",
    select(_ENR.c.insutype, _ENR.c.begndate, _ENR.c.enddate)
    .where(_ENR.c.psn_no == bindparam("psn_no"))
    .order_by(_ENR.c.begndate.desc(), _ENR.c.insutype),
)
INSTITUTION = Query(
    "audit_institution",
    select(_INST.c.fixmedins_type, _INST.c.dedc_hosp_lv).where(_INST.c.fixmedins_code == bindparam("code")),
)


def _catalogue(codes):
    return (
        select(
            _CAT.c.med_list_codg,
            _CAT.c.list_type,
            _CAT.c.med_chrgitm_type,
            _CAT.c.pric_uplmt_amt,
            _CAT.c.begndate,
            _CAT.c.enddate,
        )
        .where(codes)
        .order_by(_CAT.c.med_list_codg, _CAT.c.begndate)
    )


# every version of the orders' codes (the one in force on the order's day is chosen by the service)
CATALOGUE = Query(
    "audit_catalogue",
    _catalogue(_CAT.c.med_list_codg.in_(bindparam("codes", expanding=True))),
    pg=_catalogue(_CAT.c.med_list_codg == any_(bindparam("codes", type_=ARRAY(String)))),
)

WARNING_KEYS = (
    "jr_id",
    "msgid",
    "infno",
    "warn_type",
    "fixmedins_code",
    "psn_no",
    "mdtrt_id",
    "rule_code",
    "sev_deg",
    "action",
    "vola_amt",
    "vola_cont",
    "detail",
    "created_at",
)
INSERT_WARNINGS = Write.rows("insert_audit_warnings", _WARN, WARNING_KEYS)

# 3103: the warning answered, locked (two answers at once: the second sees the first)
WARNING_TO_ANSWER = Query(
    "audit_warning_to_answer",
    select(
        _WARN.c.jr_id,
        _WARN.c.fixmedins_code,
        _WARN.c.warn_type,
        _WARN.c.dspo_way,
        _WARN.c.dspo_way_rea,
        _WARN.c.dspo_at,
    )
    .where(_WARN.c.jr_id == bindparam("jr_id"))
    .with_for_update(),
)
SET_FEEDBACK = Write(
    "set_audit_warning_feedback",
    update(_WARN)
    .where(_WARN.c.jr_id == bindparam("k_jr_id"))
    .values(
        dspo_way=bindparam("k_dspo_way"),
        dspo_way_rea=bindparam("k_dspo_way_rea", type_=String),
        dspo_at=bindparam("k_dspo_at", type_=_WARN.c.dspo_at.type),
    ),
)


# --- one visit of the audit view, as declared reads ----------------------------------------------------------
# The reads of :func:`yibao.store.audit_view.visit_context` (the same columns, the same history), declared so a
# unit of work sends them together: a facade call pays one round trip for a visit and its history, not six.
# The history's bounds are parameters: visits of ``psn_no`` begun in [start, before), and inpatient stays begun
# earlier and still open on ``open_after`` (the day before ``start``), the visit itself (``mdtrt_id``) excluded.


def _history():
    return and_(
        Visit.psn_no == bindparam("psn_no"),
        Visit.mdtrt_id != bindparam("mdtrt_id"),
        or_(
            and_(Visit.begntime >= bindparam("start"), Visit.begntime < bindparam("before")),
            and_(
                Visit.begntime < bindparam("start"),
                Visit.med_type.like("2%"),
                or_(Visit.endtime.is_(None), Visit.endtime >= bindparam("open_after")),
            ),
        ),
    )


def _history_ids():
    return select(Visit.mdtrt_id).where(_history(), Visit.status != "cancelled")


def _in_codes(pg: bool):
    if pg:
        return FeeLine.med_list_codg == any_(bindparam("codes", type_=ARRAY(String)))
    return FeeLine.med_list_codg.in_(bindparam("codes", expanding=True))


def _history_lines(pg: bool):
    return _line_select().where(FeeLine.mdtrt_id.in_(_history_ids()), _in_codes(pg))


def _listed(table, code, seq):
    """The visit's codes on its valid settlement list (清单), with their order (``seq`` 0: the principal)."""
    return (
        select(SettlementList.mdtrt_id, code, seq)
        .join(table, table.setl_list_id == SettlementList.setl_list_id)
        .where(SettlementList.mdtrt_id == bindparam("mdtrt_id"), SettlementList.vali_flag == "1")
    )


AUDIT_VISIT = Query("audit_visit", _visit_select().where(Visit.mdtrt_id == bindparam("mdtrt_id")))
AUDIT_HISTORY = Query("audit_history", _visit_select().where(_history()))
AUDIT_LINES = Query("audit_lines", _line_select().where(FeeLine.mdtrt_id == bindparam("mdtrt_id")))
AUDIT_HISTORY_LINES = Query("audit_history_lines", _history_lines(False), pg=_history_lines(True))
AUDIT_DIAGNOSES = Query(
    "audit_diagnoses",
    _listed(SettlementListDiagnosis, SettlementListDiagnosis.diag_code, SettlementListDiagnosis.seq),
)
AUDIT_OPERATIONS = Query(
    "audit_operations",
    _listed(SettlementListProcedure, SettlementListProcedure.oprn_oprt_code, SettlementListProcedure.seq),
)


def context_reads(
    mdtrt_id: str, psn_no: str, begntime: datetime, lookback_days: int, cross_codes: set[str], *, stored: bool
) -> dict[str, Read]:
    """The reads of a visit's context: its stored lines and its list's codes (``stored``: a registered visit),
    the person's history of ``lookback_days`` before ``begntime`` with its lines of ``cross_codes``."""
    start = begntime - timedelta(days=lookback_days)
    window = {
        "psn_no": psn_no,
        "mdtrt_id": mdtrt_id,
        "start": start,
        "before": begntime + timedelta(seconds=1),
        "open_after": start - timedelta(days=1),
    }
    reads = {"history": AUDIT_HISTORY(**window)}
    if stored:
        reads["lines"] = AUDIT_LINES(mdtrt_id=mdtrt_id)
        reads["diagnoses"] = AUDIT_DIAGNOSES(mdtrt_id=mdtrt_id)
        reads["operations"] = AUDIT_OPERATIONS(mdtrt_id=mdtrt_id)
    if cross_codes:
        reads["history_lines"] = AUDIT_HISTORY_LINES(**window, codes=sorted(cross_codes))
    return reads


def context(visit: dict, got: dict, types: dict[str, str]) -> VisitContext:
    """The visit's :class:`VisitContext` from the answers of :func:`context_reads` (``visit``: the stored row
    as a dict, or an encounter the HIS has not registered, in the same columns)."""
    history = [r._asdict() for r in got["history"]]
    begn = {v["mdtrt_id"]: v["begntime"] for v in [visit, *history]}
    lines = [_line_dict(r, begn, types) for r in got.get("lines", [])]
    history_lines = [_line_dict(r, begn, types) for r in got.get("history_lines", [])]
    # the visit's own codes only (rules read the history's principal from its visit rows), as audit_view reads them
    listed_dx = [(m, c, 1 if q == 0 else 0) for m, c, q in got.get("diagnoses", [])]
    listed_ops = [(m, c, 1 if q == 0 else 0) for m, c, q in got.get("operations", [])]
    dx, ops = _merged([visit], listed_dx, "dise_codg"), _merged([visit], listed_ops, "oprn_codg")
    return VisitContext(visit, lines, history, history_lines, dx, ops)
