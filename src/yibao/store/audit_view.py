"""Store reads of the audit view (审核视图): the raw tables of :mod:`yibao.supervision.frame`, for one visit
and its person's history (事前 / 事中) or for every settled line of a period (事后, as Parquet).

Both read the same columns with the same history, so a rule sees the same facts either way: a visit's
history is the person's visits begun in the ``lookback`` days before it, the stays still open then, and of
their lines only the codes a cross-visit rule counts (``cross_codes``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yibao.store.bulk import in_
from yibao.store.tables import (
    CatalogueItem,
    FeeLine,
    Institution,
    Person,
    Settlement,
    SettlementList,
    SettlementListDiagnosis,
    SettlementListProcedure,
    Visit,
)
from yibao.supervision.frame import (
    DIAGNOSIS_SCHEMA,
    LINE_SCHEMA,
    OPERATION_SCHEMA,
    VISIT_SCHEMA,
    Frame,
    codes_table,
    lines_table,
    rows_to_columns,
    visits_table,
)

PAGE = 5000
LINE_CHUNK = 500_000
_VISIT_NAMES = [*VISIT_SCHEMA.names, "begntime", "endtime", "brdy", "death_date"]
_LINE_NAMES = [*LINE_SCHEMA.names, "fee_ocur_time"]


def _live_setl_id():
    """The visit's latest standing settlement (null before settling)."""
    return (
        select(func.max(Settlement.setl_id))
        .where(
            Settlement.mdtrt_id == Visit.mdtrt_id,
            Settlement.refd_setl_flag == "0",
            Settlement.reversed_by.is_(None),
            Settlement.supplement_of.is_(None),
        )
        .scalar_subquery()
    )


def _visit_select():
    return (
        select(
            Visit.mdtrt_id,
            Visit.psn_no,
            Visit.fixmedins_code,
            Visit.insutype,
            Visit.med_type,
            Visit.begntime,
            Visit.endtime,
            Person.gend,
            Person.brdy,
            Person.death_date,
            Institution.dedc_hosp_lv.label("inst_grade"),
            Institution.fixmedins_type.label("inst_type"),
            Visit.dept_code,
            Visit.atddr_no,
            Visit.dise_codg,
            Visit.oprn_codg,
            _live_setl_id().label("setl_id"),
        )
        .join(Person, Person.psn_no == Visit.psn_no)
        .join(Institution, Institution.fixmedins_code == Visit.fixmedins_code)
        .where(Visit.status != "cancelled")
    )


def _line_select():
    return select(
        FeeLine.id.label("line_id"),
        FeeLine.mdtrt_id,
        FeeLine.feedetl_sn,
        FeeLine.med_list_codg,
        FeeLine.med_chrgitm_type,
        FeeLine.fee_ocur_time,
        FeeLine.cnt,
        FeeLine.pric,
        FeeLine.det_item_fee_sumamt.label("amt"),
        FeeLine.pric_uplmt_amt.label("pric_uplmt"),
        FeeLine.bilg_dr_codg.label("dr_code"),
    ).where(FeeLine.status != "cancelled")


def list_types(session: Session) -> dict[str, str]:
    """Catalogue code → list_type (101 药品 …); a code's type does not change between its versions."""
    return dict(session.execute(select(CatalogueItem.med_list_codg, CatalogueItem.list_type)).all())


def _line_dict(row, begn: dict[str, datetime], types: dict[str, str]) -> dict:
    d = row._asdict()
    d["list_type"] = types.get(d["med_list_codg"])
    if d["fee_ocur_time"] is None:  # an upload without a time is dated on the visit's first day
        d["fee_ocur_time"] = begn.get(d["mdtrt_id"])
    return d


def _history_filter(psn_filter, start: datetime, before: datetime):
    """Visits begun in [start, before), or inpatient stays begun earlier and still open at ``start``."""
    return and_(
        psn_filter,
        or_(
            and_(Visit.begntime >= start, Visit.begntime < before),
            and_(
                Visit.begntime < start,
                Visit.med_type.like("2%"),
                or_(Visit.endtime.is_(None), Visit.endtime >= start - timedelta(days=1)),
            ),
        ),
    )


def _codes(session: Session, mdtrt_ids: list[str]) -> tuple[list[tuple], list[tuple]]:
    """Diagnoses and procedures from the visits' valid settlement lists (清单), in the list's order (``seq`` 0
    the principal)."""
    if not mdtrt_ids:
        return [], []
    dx = session.execute(
        select(SettlementList.mdtrt_id, SettlementListDiagnosis.diag_code, SettlementListDiagnosis.seq)
        .join(SettlementListDiagnosis, SettlementListDiagnosis.setl_list_id == SettlementList.setl_list_id)
        .where(in_(session, SettlementList.mdtrt_id, mdtrt_ids), SettlementList.vali_flag == "1")
    ).all()
    ops = session.execute(
        select(SettlementList.mdtrt_id, SettlementListProcedure.oprn_oprt_code, SettlementListProcedure.seq)
        .join(SettlementListProcedure, SettlementListProcedure.setl_list_id == SettlementList.setl_list_id)
        .where(in_(session, SettlementList.mdtrt_id, mdtrt_ids), SettlementList.vali_flag == "1")
    ).all()
    return [(m, c, 1 if q == 0 else 0) for m, c, q in dx], [(m, c, 1 if q == 0 else 0) for m, c, q in ops]


def _merged(visits: Iterable[dict], listed: list[tuple], column: str) -> list[tuple]:
    """A visit's codes: its list's when it has one (the list is the coded record of a stay), else the
    principal the visit carries (2203 / 2401)."""
    have = {m for m, _, _ in listed}
    own = [(v["mdtrt_id"], v[column], 1) for v in visits if v.get(column) and v["mdtrt_id"] not in have]
    return sorted({*own, *listed})


@dataclass
class VisitContext:
    """What online checks read of one visit: its row, its stored lines, and the person's history."""

    visit: dict
    lines: list[dict]
    history: list[dict]
    history_lines: list[dict]
    diagnoses: list[tuple]
    operations: list[tuple]

    def frame(self, new_lines: Iterable[dict] = (), diagnoses: Iterable[tuple] | None = None) -> Frame:
        """The frame of the visit with ``new_lines`` added (an upload being checked); ``diagnoses`` replace the
        visit's own when a request carries them (3101/3102)."""
        dx = (
            list(diagnoses)
            if diagnoses is not None
            else [d for d in self.diagnoses if d[0] == self.visit["mdtrt_id"]]
        )
        others = [d for d in self.diagnoses if d[0] != self.visit["mdtrt_id"]]
        return Frame(
            visits_table(rows_to_columns([self.visit, *self.history], _VISIT_NAMES)),
            lines_table(rows_to_columns([*self.lines, *new_lines, *self.history_lines], _LINE_NAMES)),
            codes_table(DIAGNOSIS_SCHEMA, [*dx, *others]),
            codes_table(OPERATION_SCHEMA, self.operations),
        )


def visit_context(
    session: Session,
    mdtrt_id: str,
    lookback_days: int,
    cross_codes: set[str],
    types: dict[str, str] | None = None,
) -> VisitContext | None:
    """The visit, its lines (not cancelled) and its person's history before it."""
    row = session.execute(_visit_select().where(Visit.mdtrt_id == mdtrt_id)).first()
    if row is None:
        return None
    visit = row._asdict()
    types = types if types is not None else list_types(session)
    start = visit["begntime"] - timedelta(days=lookback_days)
    history = [
        r._asdict()
        for r in session.execute(
            _visit_select().where(
                _history_filter(
                    Visit.psn_no == visit["psn_no"], start, visit["begntime"] + timedelta(seconds=1)
                ),
                Visit.mdtrt_id != mdtrt_id,
            )
        )
    ]
    begn = {v["mdtrt_id"]: v["begntime"] for v in [visit, *history]}
    lines = [
        _line_dict(r, begn, types)
        for r in session.execute(_line_select().where(FeeLine.mdtrt_id == mdtrt_id))
    ]
    history_lines = []
    ids = [v["mdtrt_id"] for v in history]
    if ids and cross_codes:
        history_lines = [
            _line_dict(r, begn, types)
            for r in session.execute(
                _line_select().where(
                    in_(session, FeeLine.mdtrt_id, ids),
                    in_(session, FeeLine.med_list_codg, sorted(cross_codes)),
                )
            )
        ]
    listed_dx, listed_ops = _codes(session, [mdtrt_id])  # rules read the codes of the visit judged only
    dx, ops = _merged([visit], listed_dx, "dise_codg"), _merged([visit], listed_ops, "oprn_codg")
    return VisitContext(visit, lines, history, history_lines, dx, ops)


# --- a period, in batch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A period's raw tables written as Parquet, and which visits are in it (the rest are history)."""

    path: Path
    scope: frozenset[str]
    visits: int
    lines: int


def _period_visits(session: Session, date_from: date, date_to: date) -> list[str]:
    """Visits with a standing settlement whose time falls in the period."""
    start, end = datetime.combine(date_from, time()), datetime.combine(date_to + timedelta(days=1), time())
    return [
        m
        for (m,) in session.execute(
            select(Settlement.mdtrt_id)
            .where(
                Settlement.setl_time >= start,
                Settlement.setl_time < end,
                Settlement.refd_setl_flag == "0",
                Settlement.reversed_by.is_(None),
                Settlement.supplement_of.is_(None),
            )
            .distinct()
        )
    ]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def snapshot_period(
    session: Session,
    date_from: date,
    date_to: date,
    out_dir: Path,
    lookback_days: int,
    cross_codes: set[str],
    progress: Callable[[str, int], None] | None = None,
) -> Snapshot:
    """Write the period's raw tables to ``out_dir`` (``raw_visits.parquet`` …): its settled visits with every
    line standing, and as history every other visit begun from ``lookback_days`` before the earliest of them
    to the period's end (and the stays open then) with their lines of ``cross_codes``. The history covers
    what :func:`visit_context` reads for each visit of the period (a stay settled in the period may have
    begun long before it; a stay not yet settled is still one an outpatient visit may fall into), so a rule
    sees at least the facts online sees."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scope = _period_visits(session, date_from, date_to)
    scope_set = frozenset(scope)
    visits: list[dict] = []
    for chunk in _chunks(scope, PAGE):
        visits.extend(
            r._asdict() for r in session.execute(_visit_select().where(in_(session, Visit.mdtrt_id, chunk)))
        )
        if progress:
            progress("visits", len(chunk))
    first = min([datetime.combine(date_from, time()), *(v["begntime"] for v in visits)])
    start = first - timedelta(days=lookback_days)
    end = datetime.combine(date_to + timedelta(days=1), time())
    history_ids = [
        m
        for (m,) in session.execute(
            select(Visit.mdtrt_id).where(_history_filter(Visit.status != "cancelled", start, end))
        )
        if m not in scope_set
    ]
    types = list_types(session)
    for chunk in _chunks(history_ids, PAGE):
        visits.extend(
            r._asdict() for r in session.execute(_visit_select().where(in_(session, Visit.mdtrt_id, chunk)))
        )
        if progress:
            progress("visits", len(chunk))
    begn = {v["mdtrt_id"]: v["begntime"] for v in visits}
    pq.write_table(visits_table(rows_to_columns(visits, _VISIT_NAMES)), out_dir / "raw_visits.parquet")
    listed_dx: list[tuple] = []
    listed_ops: list[tuple] = []
    for chunk in _chunks(scope, PAGE):
        more_dx, more_ops = _codes(session, chunk)
        listed_dx += more_dx
        listed_ops += more_ops
    in_scope = [v for v in visits if v["mdtrt_id"] in scope_set]
    dx, ops = _merged(in_scope, listed_dx, "dise_codg"), _merged(in_scope, listed_ops, "oprn_codg")
    pq.write_table(codes_table(DIAGNOSIS_SCHEMA, dx), out_dir / "diagnoses.parquet")
    pq.write_table(codes_table(OPERATION_SCHEMA, ops), out_dir / "operations.parquet")
    n_lines = 0
    with pq.ParquetWriter(out_dir / "raw_lines.parquet", LINE_SCHEMA) as writer:
        batches = [(chunk, None) for chunk in _chunks(scope, PAGE)]
        if cross_codes:
            batches += [(chunk, sorted(cross_codes)) for chunk in _chunks(history_ids, PAGE)]
        buffer: list[dict] = []
        for chunk, codes in batches:
            query = _line_select().where(in_(session, FeeLine.mdtrt_id, chunk))
            if codes is not None:
                query = query.where(in_(session, FeeLine.med_list_codg, codes))
            else:
                query = query.where(FeeLine.status == "settled")
            rows = [_line_dict(r, begn, types) for r in session.execute(query)]
            buffer.extend(rows)
            if progress:
                progress("lines", len(rows))
            if len(buffer) >= LINE_CHUNK:
                writer.write_table(lines_table(rows_to_columns(buffer, _LINE_NAMES)))
                n_lines += len(buffer)
                buffer = []
        if buffer or n_lines == 0:
            writer.write_table(lines_table(rows_to_columns(buffer, _LINE_NAMES)))
            n_lines += len(buffer)
    return Snapshot(out_dir, scope_set, len(scope), n_lines)


def frame_of(snapshot: Snapshot) -> Frame:
    """A snapshot read back whole (tests and small periods)."""
    return Frame(
        *(
            pq.read_table(snapshot.path / f"{name}.parquet")
            for name in ("raw_visits", "raw_lines", "diagnoses", "operations")
        )
    )


__all__ = ["Snapshot", "VisitContext", "frame_of", "list_types", "snapshot_period", "visit_context"]
