"""Inpatient history in the store (历史数据, ``payment_history``): replacing a load, reading it back, and a
settled year's cases grouped as the history counts them.

Nothing here commits: every function works in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.payment import settlement_list as sl
from yibao.payment.dip import group_dip_case
from yibao.payment.dip_catalogue import DipCatalogue
from yibao.payment.drg import group_case
from yibao.payment.history import DIP, DRG, CaseRecord, Grouper, HistoryRow, records_of
from yibao.payment.packs import Scheme, load_drg_pack, registered_schemes
from yibao.store import audit
from yibao.store.payment_cases import settled_cases
from yibao.store.tables import Institution, PaymentHistory

SchemeForKind = Callable[[str, date], Grouper | None]
"""(kind, discharge date) → the grouper of the scheme of that kind in effect that day, or None: none."""
ENTITY = "payment_history"
PROGRESS_EVERY = 1_000


def replace_history(
    s: Session, rows: Iterable[HistoryRow], source: str, now: datetime, *, actor: str = "cli"
) -> int:
    """Store ``rows`` in place of every row of their years (whatever loaded those before: a year holds one
    load, so loading the same file again changes nothing); one audit row. Returns the rows written."""
    rows = list(rows)
    years = sorted({r.year for r in rows})
    if not years:
        return 0
    before = {
        source: n
        for source, n in s.execute(
            select(PaymentHistory.source, func.count())
            .where(PaymentHistory.year.in_(years))
            .group_by(PaymentHistory.source)
        )
    }
    s.execute(delete(PaymentHistory).where(PaymentHistory.year.in_(years)))
    s.execute(insert(PaymentHistory), [{**r._asdict(), "source": source, "loaded_at": now} for r in rows])
    audit.record(
        s,
        actor=actor,
        action=Action.REPLACE,
        entity=ENTITY,
        entity_id=",".join(map(str, years)),
        before={"rows": before} if before else None,
        after={
            "rows": {source: len(rows)},
            "cases": sum(r.cases for r in rows),
            "cost_fen": sum(r.cost_fen for r in rows),
        },
    )
    return len(rows)


def history_rows(s: Session, years: Collection[int] | None = None) -> list[HistoryRow]:
    """The stored rows of ``years`` (None: every year), in key order."""
    stmt = select(
        PaymentHistory.year,
        PaymentHistory.pool,
        PaymentHistory.fixmedins_code,
        PaymentHistory.level,
        PaymentHistory.kind,
        PaymentHistory.group_code,
        PaymentHistory.cases,
        PaymentHistory.cost_fen,
        PaymentHistory.los_days,
        PaymentHistory.deaths,
    )
    if years is not None:
        stmt = stmt.where(PaymentHistory.year.in_(sorted(years)))
    stmt = stmt.order_by(
        PaymentHistory.year,
        PaymentHistory.pool,
        PaymentHistory.fixmedins_code,
        PaymentHistory.kind,
        PaymentHistory.group_code,
    )
    return [HistoryRow(*row) for row in s.execute(stmt)]


def history_sources(s: Session) -> dict[int, tuple[str, datetime]]:
    """Each stored year's source (import, synthetic, settled) and when it was loaded."""
    rows = s.execute(
        select(PaymentHistory.year, PaymentHistory.source, func.max(PaymentHistory.loaded_at)).group_by(
            PaymentHistory.year, PaymentHistory.source
        )
    )
    return {year: (source, at) for year, source, at in rows}


def institution_levels(s: Session) -> dict[str, int]:
    """The institution register's hospital levels (dedc_hosp_lv) by fixmedins_code (empty: no register)."""
    rows = s.execute(select(Institution.fixmedins_code, Institution.dedc_hosp_lv))
    return {code: level for code, level in rows}


def schemes_in_effect(dip: DipCatalogue | None, schemes: dict[str, Scheme] | None = None) -> SchemeForKind:
    """The groupers of a day, as 4101 groups a list: the registered DRG scheme in effect, and the region's
    DIP catalogue ``dip`` where a DIP scheme is registered for the day or the catalogue's own period
    (``dip.yaml``) holds it."""
    schemes = registered_schemes() if schemes is None else schemes
    found: dict[tuple[str, date], Grouper | None] = {}

    def drg_on(day: date) -> Grouper | None:
        scheme = sl.drg_scheme_on(schemes, day)
        if scheme is None:
            return None
        pack = load_drg_pack(scheme.name)

        def grouper(case) -> tuple[str, str]:
            g = group_case(case, pack)
            return g.status, g.drg

        return grouper

    def dip_on(day: date) -> Grouper | None:
        if dip is None or not (
            sl.dip_scheme_on(schemes, day) is not None
            or sl.period_holds(dip.params.effective_from, dip.params.effective_to, day)
        ):
            return None

        def grouper(case) -> tuple[str, str]:
            g = group_dip_case(case, dip)
            return g.status, g.dip_code

        return grouper

    def for_kind(kind: str, day: date) -> Grouper | None:
        if (kind, day) not in found:
            found[(kind, day)] = drg_on(day) if kind == DRG else dip_on(day) if kind == DIP else None
        return found[(kind, day)]

    return for_kind


def settled_year_cases(
    s: Session,
    year: int,
    pools: Collection[str] | None,
    scheme_for_kind: SchemeForKind,
    *,
    progress: Callable[[int], None] = lambda n: None,
) -> list[CaseRecord]:
    """The cases discharged in ``year`` whose valid settlement list's stay stands (not reversed; the
    settlements of :func:`yibao.store.payment_cases.settled_cases`, so the history's cost is the cost pricing
    compares a case with), of ``pools`` (insutype; None: every pool), each grouped in memory by every scheme
    in effect on its discharge date: one record per case and kind, a case not grouped with its status."""
    out: list[CaseRecord] = []
    for n, c in enumerate(settled_cases(s, date(year, 1, 1), date(year + 1, 1, 1)), 1):
        if n % PROGRESS_EVERY == 0:
            progress(n)
        if pools is not None and c.insutype not in pools:
            continue
        groupers = {kind: g for kind in (DRG, DIP) if (g := scheme_for_kind(kind, c.dscg_date)) is not None}
        out.extend(
            records_of(
                c.case,
                groupers,
                year=year,
                pool=c.insutype,
                fixmedins_code=c.fixmedins_code,
                level=c.level,
                cost_fen=c.cost_fen,
            )
        )
    return out
