"""事后审核 (post-settlement audit run): the rule library over every settled line of a period, its findings
written as suspicions (疑点) for the institutions to answer (supervision.md §2.2, issue 23).

The steps, one function each: choose the rules (:func:`choose_rules`); write the period's snapshot, its
settled visits and the persons' history that online checks would read (:func:`take_snapshot`); run the
engine over it (:func:`execute`: DuckDB, or the online engine's SQLite for a small period or to verify);
keep the findings about the period's visits and the institution-level ones (:func:`in_scope`); store the run
and a suspicion for every finding not exempt and not already stored (:func:`store_run`). A re-run over the
same period finds the same fingerprints and adds nothing."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from yibao.audit_actions import Action
from yibao.errors import InputError, quote
from yibao.store import audit, audit_rules, audit_runs, audit_view
from yibao.store.db import unit_of_work
from yibao.supervision.batch import BatchEngine
from yibao.supervision.findings import Finding
from yibao.supervision.frame import EPOCH
from yibao.supervision.library import KnowledgeRow, Library, Rule
from yibao.supervision.online import OnlineEngine

ENGINES = ("duckdb", "sqlite")
THREADS, MEMORY_LIMIT = 2, "3GB"  # DuckDB's defaults here (settings: YIBAO_AUDIT_THREADS, _MEMORY_LIMIT)
# progress(what is being done, steps done, steps in all): the snapshot, one step per kind, the write
Progress = Callable[[str, int, int], None]


def _no_progress(_what: str, _done: int, _total: int) -> None:
    pass


@dataclass
class RuleCount:
    """One rule's part of a run: findings about the period, new suspicions, those already stored, the
    exempt ones (suppressed, not stored) and the amount at stake of the findings not exempt."""

    name: str
    findings: int = 0
    new: int = 0
    existing: int = 0
    suppressed: int = 0
    amount_fen: int = 0


@dataclass
class RunResult:
    run_id: int
    date_from: date
    date_to: date
    engine: str
    library_version: str
    lines: int
    visits: int
    new_suspicions: int
    existing: int
    suppressed: int
    amount_fen: int
    seconds: float
    findings: list[Finding] = field(default_factory=list)  # in scope, exempt ones included
    per_rule: dict[str, RuleCount] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # rules the engine cannot run (sqlite: period kinds)


def run_audit(
    date_from: date,
    date_to: date,
    rules: Iterable[str] | None = None,
    engine: str = "duckdb",
    *,
    actor: str,
    progress: Progress | None = None,
    bind: Engine | None = None,
    now: datetime | None = None,
    work_dir: Path | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> RunResult:
    """Audit the settlements of [``date_from``, ``date_to``] with ``rules`` (codes; None: every enabled
    post-stage rule) on ``engine``; the stored run and what it found."""
    progress = progress or _no_progress
    started, t0 = now or datetime.now(), time.perf_counter()
    rules = None if rules is None else list(rules)
    if engine not in ENGINES:
        raise InputError(f"--engine: 须为 {' / '.join(ENGINES)}，实为 {quote(engine)}")
    if date_from > date_to:
        raise InputError(f"--from: {date_from} 晚于 --to {date_to}")
    with tempfile.TemporaryDirectory(prefix="yibao-audit-", dir=work_dir) as tmp:
        with unit_of_work(bind, write=False) as s:  # the database only while the snapshot is taken
            library, skipped = choose_rules(audit_rules.load_library(s), rules, engine)
            snapshot = take_snapshot(s, library, engine, (date_from, date_to), Path(tmp), progress)
        limits = (threads or THREADS, memory_limit or MEMORY_LIMIT)
        found, ran = execute(library, snapshot, engine, progress, limits)
        days = _visit_days(snapshot, {f.mdtrt_id for f in found if f.mdtrt_id})
    found = in_scope(found, snapshot.scope)
    total = _steps(library, engine)
    progress("写入疑点 storing suspicions", total - 1, total)
    try:
        with unit_of_work(bind) as s:
            result = store_run(
                s,
                ran,
                found,
                days,
                period=(date_from, date_to),
                rules=sorted(rules) if rules is not None else None,
                engine=engine,
                snapshot=snapshot,
                actor=actor,
                started=started,
                seconds=time.perf_counter() - t0,
            )
    except IntegrityError:  # a run over an overlapping period stored one of these suspicions meanwhile
        raise InputError("另一审核批次刚写入了相同的疑点，本次未保存；请重新运行 (nothing stored)") from None
    result.skipped = skipped
    progress("完成 done", total, total)
    return result


def choose_rules(library: Library, codes: Iterable[str] | None, engine: str) -> tuple[Library, list[str]]:
    """The enabled post-stage rules (of ``codes`` when given: each must exist and be one of them); on SQLite
    the rules that need the whole period (statistical indicators) are set aside and named."""
    post = {r.rule_code: r for r in library.active("post")}
    if codes is not None:
        wanted = sorted(set(codes))
        for code in wanted:
            if code not in library.rules:
                raise InputError(f"--rules: 规则不存在 {quote(code)}")
            if code not in post:
                raise InputError(f"--rules: 规则 {code} 已停用或不用于事后审核 (stages 无 post)")
        post = {c: post[c] for c in wanted}
    skipped = sorted(c for c, r in post.items() if engine == "sqlite" and not r.spec.online)
    chosen = [r for c, r in sorted(post.items()) if c not in skipped]
    if not chosen:
        raise InputError("没有可运行的规则: 规则库为空、全部停用，或所选规则只能用 --engine duckdb 运行")
    return library.select(chosen), skipped


def _steps(library: Library, engine: str) -> int:
    """Progress steps: the snapshot, each statement of the engine, the write."""
    if engine == "sqlite":
        return 3
    per_rule = sum(1 for r in library.rules.values() if r.spec.per_rule)
    kinds = {r.kind for r in library.rules.values() if not r.spec.per_rule}
    return 2 + len(kinds) + per_rule


def take_snapshot(
    s, library: Library, engine: str, period: tuple[date, date], out_dir: Path, progress: Progress
) -> audit_view.Snapshot:
    """The period's raw tables as Parquet, with the history the chosen rules look back on."""
    total = _steps(library, engine)
    counts = {"visits": 0, "lines": 0}

    def step(what: str, n: int) -> None:
        counts[what] += n
        progress(f"快照 snapshot: 就诊 {counts['visits']:,} 明细 {counts['lines']:,}", 0, total)

    progress("快照 snapshot", 0, total)
    return audit_view.snapshot_period(
        s, *period, out_dir, library.lookback_days(), library.cross_codes(), step
    )


def execute(
    library: Library,
    snapshot: audit_view.Snapshot,
    engine: str,
    progress: Progress,
    limits: tuple[int, str] = (THREADS, MEMORY_LIMIT),
) -> tuple[list[Finding], Library]:
    """Every finding over the snapshot, and the library the engine ran (its knowledge-row numbering)."""
    total = _steps(library, engine)
    if engine == "sqlite":
        progress("SQLite (online engine)", 1, total)
        online = OnlineEngine(library)
        return online.check(audit_view.frame_of(snapshot), stage=None), online.library
    batch = BatchEngine(library, threads=limits[0], memory_limit=limits[1])
    batch.load(snapshot.path, scope=snapshot.scope)
    done = [1]

    def step(label: str) -> None:
        done[0] += 1
        progress(f"规则 {label}", done[0], total)

    progress("规则 rules", 1, total)
    return batch.run(step), batch.library


def in_scope(findings: list[Finding], scope: frozenset[str]) -> list[Finding]:
    """Findings about the period's visits, and institution-level ones (the history visits' are not the
    period's: they were, or will be, audited with their own)."""
    return [f for f in findings if f.mdtrt_id is None or f.mdtrt_id in scope]


def _visit_days(snapshot: audit_view.Snapshot, ids: set[str]) -> dict[str, date]:
    """The first day of each visit of ``ids`` (a suspicion's service date)."""
    if not ids:
        return {}
    table = pq.read_table(snapshot.path / "raw_visits.parquet", columns=["mdtrt_id", "begn_day"])
    table = table.filter(pc.is_in(table["mdtrt_id"], value_set=pa.array(sorted(ids), pa.string())))
    return {
        m: date.fromordinal(EPOCH + d)
        for m, d in zip(table["mdtrt_id"].to_pylist(), table["begn_day"].to_pylist(), strict=True)
        if d is not None
    }


def knowledge_index(library: Library) -> dict[int, tuple[str, KnowledgeRow]]:
    """``k_id`` → (rule code, knowledge row), numbered as :meth:`Library.tables` numbers them: the enabled
    rules in code order, each rule's rows in order (a kind without knowledge columns: one row of
    parameters, not a knowledge point)."""
    out: dict[int, tuple[str, KnowledgeRow]] = {}
    k_id = 0
    for rule in sorted(library.rules.values(), key=lambda r: r.rule_code):
        if not rule.enabled:
            continue
        rows = rule.knowledge if rule.spec.columns else (None,)
        for row in rows:
            k_id += 1
            if row is not None:
                out[k_id] = (rule.rule_code, row)
    return out


def fingerprint(f: Finding, period: tuple[date, date]) -> str:
    """The finding's key; an institution-level finding (a statistical indicator) is about its period."""
    if f.mdtrt_id is not None:
        return f.key
    raw = f"{f.key}|{period[0].isoformat()}|{period[1].isoformat()}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def evidence(
    f: Finding,
    rule: Rule,
    rows: dict[int, tuple[str, KnowledgeRow]],
    version: int,
    library_version: str,
    period: tuple[date, date],
) -> dict:
    """What a reviewer and the institution see as the basis (vola_evid): observed value and limit, the
    knowledge rows with where they came from, the legal basis, the rule and library versions."""
    knowledge = []
    for k in f.k_ids:
        code, row = rows.get(k, (None, None))
        if row is None or code != f.rule_code:
            continue
        knowledge.append(
            audit_rules.plain(
                {
                    "values": row.values,
                    "origin": row.where,
                    "source_batch": row.source_batch,
                    "row_key": row.row_key,
                    "from": row.begin,
                    "to": row.end,
                }
            )
        )
    return {
        "observed": f.observed,
        "limit": f.lim,
        "kind": rule.kind,
        "params": audit_rules.plain(rule.params),
        "knowledge": knowledge,
        "legal_basis": rule.legal_basis,
        "rule_version": version,
        "library_version": library_version,
        "period": [period[0].isoformat(), period[1].isoformat()],
    }


def _lines(f: Finding) -> list[dict]:
    keys = ("line_id", "feedetl_sn", "med_list_codg", "role", "amt")
    return [{k: getattr(x, k) for k in keys} for x in f.lines]


def count_per_rule(
    library: Library, found: list[Finding], prints: dict[int, str], stored: set[str]
) -> dict[str, RuleCount]:
    """Each rule's findings, new suspicions, those already stored, exempt ones and amount."""
    per_rule = {code: RuleCount(rule.name) for code, rule in sorted(library.rules.items())}
    for f in found:
        count = per_rule[f.rule_code]
        count.findings += 1
        if f.exempt:
            count.suppressed += 1
            continue
        count.amount_fen += f.vola_amt
        if prints[id(f)] in stored:
            count.existing += 1
        else:
            count.new += 1
    return per_rule


def store_run(
    s,
    library: Library,
    found: list[Finding],
    days: dict[str, date],
    *,
    period: tuple[date, date],
    rules: list[str] | None,
    engine: str,
    snapshot: audit_view.Snapshot,
    actor: str,
    started: datetime,
    seconds: float,
) -> RunResult:
    """The run's row, its new suspicions in bulk, the counts per rule, and the audit row."""
    live = [f for f in found if not f.exempt]
    prints = {id(f): fingerprint(f, period) for f in live}
    stored = audit_runs.stored_fingerprints(s, prints.values())
    fresh = [f for f in live if prints[id(f)] not in stored]
    run = audit_runs.add_run(
        s,
        date_from=period[0], date_to=period[1], rules=rules, engine=engine,
        library_version=library.version[:64], status="done", lines=snapshot.lines, visits=snapshot.visits,
        findings=len(found), new_suspicions=len(fresh), suppressed=len(found) - len(live),
        amount_fen=sum(f.vola_amt for f in live), seconds=round(seconds), started_at=started,
        finished_at=started + timedelta(seconds=seconds), started_by=actor,
    )  # fmt: skip
    index, versions, now = knowledge_index(library), audit_runs.rule_versions(s), datetime.now()
    audit_runs.add_suspicions(
        s,
        [_suspicion(f, run.id, library, index, versions, days, prints[id(f)], period, now) for f in fresh],
    )
    result = RunResult(
        run.id, period[0], period[1], engine, library.version, snapshot.lines, snapshot.visits,
        len(fresh), len(live) - len(fresh), run.suppressed, run.amount_fen, seconds, found,
        count_per_rule(library, found, prints, stored),
    )  # fmt: skip
    audit.record(s, actor=actor, action=Action.RUN_AUDIT, entity=audit_runs.ENTITY, entity_id=str(run.id),
                 after={"from": period[0].isoformat(), "to": period[1].isoformat(), "rules": rules,
                        "engine": engine, "library_version": library.version, "findings": len(found),
                        "new_suspicions": len(fresh), "existing": result.existing,
                        "suppressed": result.suppressed})  # fmt: skip
    return result


def _suspicion(
    f: Finding,
    run_id: int,
    library: Library,
    index: dict[int, tuple[str, KnowledgeRow]],
    versions: dict[str, int],
    days: dict[str, date],
    print_: str,
    period: tuple[date, date],
    now: datetime,
) -> dict:
    rule = library.rules[f.rule_code]
    version = versions.get(f.rule_code, 0)
    return {
        "fingerprint": print_,
        "run_id": run_id,
        "rule_code": rule.rule_code,
        "rule_name": rule.name[:100],
        "rule_version": version,
        "result_type": rule.result_type,
        "sev_deg": rule.sev_deg,
        "vola_bhvr_type": rule.vola_bhvr_type,
        "fixmedins_code": f.fixmedins_code,
        "mdtrt_id": f.mdtrt_id,
        "psn_no": f.psn_no,
        "setl_id": f.setl_id,
        "service_date": days.get(f.mdtrt_id) if f.mdtrt_id else None,
        "vola_amt": f.vola_amt,
        "vola_cont": f.vola_cont,
        "evidence": evidence(f, rule, index, version, library.version, period),
        "lines": _lines(f),
        "status": "open",
        "created_at": now,
        "deducted_fen": 0,
    }
