"""Read models of 智能监管 · 审核任务 and 疑点管理 (查询): the 事后 runs and the suspicion worklist — each
filtered, ordered and paged by the database with the names of institutions, persons, rules and staff beside
their codes — what a background job exports of the menu's lists (:func:`exports`), and the job that starts a
run (:func:`run_job`). One suspicion in words is ``queries_supervision_suspicion``, the 3101/3102 warnings
``queries_supervision_warnings``. Amounts are exact ``Decimal`` yuan, times and dates typed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.console.queries import paged
from yibao.console.queries_supervision import RULE_COLUMNS, rule_count, rule_records
from yibao.console.queries_supervision import severity as sev_words
from yibao.money import fen_to_decimal, fmt_yuan
from yibao.store.tables import (
    AuditRule,
    AuditRun,
    AuditSuspicion,
    Institution,
    Person,
    StaffUser,
)

RUN_STATUS = {"running": "进行中", "done": "已完成", "failed": "失败"}
ENGINES = {"duckdb": "DuckDB（批量）", "sqlite": "SQLite（逐次）"}
BEHAVIOUR = {"1": "就诊类", "2": "项目类"}  # vola_bhvr_type


def status_names() -> dict[str, str]:
    """The suspicion statuses in words (the workflow's own names)."""
    from yibao.supervision.suspicion_states import NAMES

    return {str(k): v for k, v in NAMES.items()}


def _staff_name():
    return (
        select(StaffUser.display_name)
        .where(StaffUser.username == AuditRun.started_by)
        .correlate(AuditRun)
        .scalar_subquery()
    )


# --- 审核任务 (事后 runs) -----------------------------------------------------------------------------------------

RUN_COLUMNS = [
    ("id", "编号"),
    ("period", "审核期间"),
    ("rules", "规则"),
    ("engine", "引擎"),
    ("status", "状态"),
    ("lines", "明细行数"),
    ("visits", "就诊数"),
    ("findings", "发现"),
    ("new_suspicions", "新增疑点"),
    ("suppressed", "豁免"),
    ("amount", "涉及金额"),
    ("seconds", "用时（秒）"),
    ("started_at", "开始时间"),
    ("started_by", "操作人"),
]
RUN_MONEY = ("amount",)
RUN_NUMBERS = ("id", "lines", "visits", "findings", "new_suspicions", "suppressed", "seconds")


@dataclass(frozen=True)
class RunFilter:
    """Every run (the list has no filter yet; a dataclass so that the list and its export take one)."""

    def describe(self) -> str:
        return "全部审核任务"


def run_count(s: Session, f: RunFilter) -> int:
    return s.scalar(select(func.count()).select_from(AuditRun)) or 0


def run_records(
    s: Session, f: RunFilter, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """The runs, newest first unless asked (amounts as numbers); the rules by name, the actor by name."""
    who = _staff_name()
    columns = {
        "id": AuditRun.id,
        "period": (AuditRun.date_from, AuditRun.date_to),
        "engine": AuditRun.engine,
        "status": AuditRun.status,
        "lines": AuditRun.lines,
        "visits": AuditRun.visits,
        "findings": AuditRun.findings,
        "new_suspicions": AuditRun.new_suspicions,
        "suppressed": AuditRun.suppressed,
        "amount": AuditRun.amount_fen,
        "seconds": AuditRun.seconds,
        "started_at": AuditRun.started_at,
        "started_by": AuditRun.started_by,
    }
    q = paged(
        select(AuditRun, who),
        columns,
        order,
        "id",
        AuditRun.id.desc(),
        offset=offset,
        limit=limit,
        default_desc=True,
    )
    rows = s.execute(q).all()
    rule_names = dict(s.execute(select(AuditRule.rule_code, AuditRule.name)).all()) if rows else {}
    for r, name in rows:
        yield {
            "id": r.id,
            "period": f"{r.date_from} 至 {r.date_to}",
            "rules": _rules_words(r.rules, rule_names),
            "engine": ENGINES.get(r.engine, r.engine),
            "status": RUN_STATUS.get(r.status, r.status)
            + (f"：{r.message}" if r.message and r.status == "failed" else ""),
            "lines": int(r.lines or 0),
            "visits": int(r.visits or 0),
            "findings": r.findings,
            "new_suspicions": r.new_suspicions,
            "suppressed": r.suppressed,
            "amount": fen_to_decimal(r.amount_fen or 0),
            "seconds": r.seconds,
            "started_at": r.started_at,
            "started_by": f"{name}（{r.started_by}）" if name else r.started_by,
        }


def _rules_words(codes: list | None, rule_names: dict[str, str]) -> str:
    if not codes:
        return "全部启用的事后规则"
    shown = "、".join(rule_names.get(c, c) for c in codes[:3])
    return f"{len(codes)} 条：{shown}" + ("等" if len(codes) > 3 else "")


def run_job(
    progress, *, date_from: str, date_to: str, rules: list[str] | None, engine: str, actor: str, path: str
) -> tuple[Path, str]:
    """(In the job's own process) a 事后 run over the period: the steps as they pass; the run's summary
    written to ``path``. A refusal (no rules, a reversed period) is the job's one-line failure."""
    from yibao.supervision.service.runs import run_audit

    def step(_what: str, done: int, total: int) -> None:
        progress(done, total)

    result = run_audit(
        date.fromisoformat(date_from),
        date.fromisoformat(date_to),
        rules or None,
        engine,
        actor=actor,
        progress=step,
    )
    report = {
        "run": result.run_id,
        "new_suspicions": result.new_suspicions,
        "existing": result.existing,
        "suppressed": result.suppressed,
        "amount": fmt_yuan(result.amount_fen),
        "skipped": list(result.skipped),
    }
    Path(path).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return Path(path), Path(path).name


# --- 疑点管理 (the suspicion worklist) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SuspicionQuery:
    """The worklist's filter as the page sets it: rule, institution, status, at least an amount (fen), due on
    or before a day. :meth:`workflow` is the workflow's own filter (``store.suspicion_workflow``), so the
    console counts what the service would lock (a notice past its due date is 逾期 whether marked or not)."""

    rule_code: str = ""
    fixmedins_code: str = ""
    status: str = ""
    min_fen: int | None = None
    due_to: date | None = None
    run_id: int | None = None

    def workflow(self):
        from yibao.store.suspicion_workflow import SuspicionFilter

        return SuspicionFilter(
            rule_code=self.rule_code or None,
            fixmedins_code=self.fixmedins_code or None,
            status=self.status or None,
            min_fen=self.min_fen,
            due_to=self.due_to,
            run_id=self.run_id,
        )

    def describe(self, s: Session | None = None) -> str:
        out = [f"审核任务 #{self.run_id}"] if self.run_id is not None else []
        if self.rule_code:
            out.append(f"规则 {self.rule_code}")
        if self.fixmedins_code:
            found = s.get(Institution, self.fixmedins_code) if s is not None else None
            out.append(f"机构 {found.fixmedins_name if found else self.fixmedins_code}")
        if self.status:
            out.append(f"状态 {status_names().get(self.status, self.status)}")
        if self.min_fen is not None:
            out.append(f"金额 ≥ {fmt_yuan(self.min_fen)} 元")
        if self.due_to is not None:
            out.append(f"答复期限不晚于 {self.due_to}")
        return "，".join(out) or "全部疑点"


SUSPICION_COLUMNS = [
    ("id", "编号"),
    ("rule_name", "规则"),
    ("fixmedins_name", "定点机构"),
    ("psn_name", "参保人"),
    ("service_date", "就诊日期"),
    ("vola_amt", "涉及金额"),
    ("sev_deg", "严重程度"),
    ("status", "状态"),
    ("due_date", "答复期限"),
    ("created_at", "发现时间"),
    ("mdtrt_id", "就诊ID"),
]
SUSPICION_MONEY = ("vola_amt",)


def _suspicion_select(f: SuspicionQuery):
    q = (
        select(AuditSuspicion, Institution.fixmedins_name, Person.psn_name)
        .outerjoin(Institution, Institution.fixmedins_code == AuditSuspicion.fixmedins_code)
        .outerjoin(Person, Person.psn_no == AuditSuspicion.psn_no)
    )
    return f.workflow().where(q)


def suspicion_count(s: Session, f: SuspicionQuery) -> int:
    return s.scalar(f.workflow().where(select(func.count()).select_from(AuditSuspicion))) or 0


def suspicion_total(s: Session, f: SuspicionQuery) -> int:
    """The amount at stake of the whole filtered list (fen)."""
    q = f.workflow().where(
        select(func.coalesce(func.sum(AuditSuspicion.vola_amt), 0)).select_from(AuditSuspicion)
    )
    return int(s.scalar(q) or 0)


def suspicion_records(
    s: Session, f: SuspicionQuery, limit: int | None = None, *, offset: int = 0, order=(None, False)
) -> Iterator[dict]:
    """The worklist, soonest due first (none last) then the larger amount unless asked; names, not codes."""
    t = AuditSuspicion
    columns = {
        "id": t.id,
        "rule_name": (t.rule_name, t.rule_code),
        "fixmedins_name": Institution.fixmedins_name,
        "psn_name": Person.psn_name,
        "service_date": t.service_date,
        "vola_amt": t.vola_amt,
        "sev_deg": t.sev_deg,
        "status": t.status,
        "due_date": (t.due_date.is_(None), t.due_date),
        "created_at": t.created_at,
        "mdtrt_id": t.mdtrt_id,
    }
    q = paged(
        _suspicion_select(f), columns, order, "due_date", t.vola_amt.desc(), t.id, offset=offset, limit=limit
    )
    statuses = status_names()
    for r, inst, psn in s.execute(q):
        yield {
            "id": r.id,
            "rule_name": r.rule_name,
            "fixmedins_name": inst or r.fixmedins_code or "",
            "psn_name": psn or r.psn_no or "",
            "service_date": r.service_date,
            "vola_amt": fen_to_decimal(r.vola_amt or 0),
            "sev_deg": sev_words(r.sev_deg),
            "status": statuses.get(r.status, r.status),
            "due_date": r.due_date,
            "created_at": r.created_at,
            "mdtrt_id": r.mdtrt_id or "",
        }


def suspicion_choices(s: Session) -> dict[str, dict[str, str]]:
    """The filter's options: the rules and institutions that have suspicions, by name."""
    rules = s.execute(
        select(AuditSuspicion.rule_code, func.min(AuditSuspicion.rule_name))
        .group_by(AuditSuspicion.rule_code)
        .order_by(AuditSuspicion.rule_code)
    ).all()
    insts = s.execute(
        select(Institution.fixmedins_code, Institution.fixmedins_name)
        .where(Institution.fixmedins_code.in_(select(AuditSuspicion.fixmedins_code).distinct()))
        .order_by(Institution.fixmedins_name)
    ).all()
    return {
        "rule": {c: f"{n}（{c}）" for c, n in rules},
        "institution": {c: n for c, n in insts},
    }


# --- exports -----------------------------------------------------------------------------------------------------


def exports() -> dict:
    """The lists a background job exports (``export.export_lists``): the library, runs, suspicions, warnings."""
    from yibao.console import queries_supervision_warnings as qw
    from yibao.console.export import ExportList

    def headed(columns, money):
        return [(k, f"{label}（元）" if k in money else label) for k, label in columns]

    return {
        "supervision_rules": ExportList("规则库", "audit-rules.xlsx", RULE_COLUMNS, rule_count, rule_records),
        "supervision_runs": ExportList(
            "审核任务", "audit-runs.xlsx", headed(RUN_COLUMNS, RUN_MONEY), run_count, run_records
        ),
        "supervision_suspicions": ExportList(
            "疑点",
            "audit-suspicions.xlsx",
            headed(SUSPICION_COLUMNS, SUSPICION_MONEY),
            suspicion_count,
            suspicion_records,
        ),
        "supervision_warnings": ExportList(
            "事前事中提醒",
            "audit-warnings.xlsx",
            headed(qw.WARNING_COLUMNS, qw.WARNING_MONEY),
            qw.warning_count,
            qw.warning_records,
        ),
    }
