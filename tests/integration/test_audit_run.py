"""事后审核 on a generated month: the batch run's verdicts equal the online engine's, visit by visit (one rule
definition, two executions: issue 23); DuckDB and SQLite over the same snapshot agree; a re-run stores no
duplicate suspicion; what a suspicion records (fingerprint, evidence, lines, service date)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.audit_library import HITTING, demo_year, plant_history, write_library
from yibao.errors import InputError
from yibao.store import audit_rules, audit_view
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, AuditRun, AuditSuspicion
from yibao.supervision.library_files import load_library
from yibao.supervision.online import OnlineEngine
from yibao.supervision.service import runs
from yibao.supervision.service.rules import import_rules

pytestmark = pytest.mark.slow
JUNE = (date(2025, 6, 1), date(2025, 6, 30))


@pytest.fixture
def audited_year(engine, tmp_path):
    demo_year(engine, tmp_path)
    with unit_of_work(engine) as s:
        import_rules(s, load_library(write_library(tmp_path / "rules", HITTING)), actor="test")
    return engine


def test_batch_findings_equal_the_online_engine_visit_by_visit(audited_year, tmp_path):
    engine = audited_year
    planted = plant_history(engine, *JUNE)
    result = runs.run_audit(*JUNE, actor="test", bind=engine)
    found = {(f.rule_code, f.mdtrt_id) for f in result.findings}
    assert set(planted.items()) <= found  # through the history each visit's own lines do not show
    by_rule = Counter(f.rule_code for f in result.findings)
    # the library hits the month with every kind that looks beyond one line (guards against a vacuous pass)
    for code in ("T-FREQ-M", "T-CYCLE", "T-SEX", "T-AGE", "T-LEVEL", "T-IND", "T-PAIR", "T-PRICE", "T-VARIETY",
                 "T-DXAGE", "T-RATIO"):  # fmt: skip
        assert by_rule[code] > 0, (code, by_rule)
    assert any(f.exempt for f in result.findings if f.rule_code == "T-SEX")
    with unit_of_work(engine, write=False) as s:
        library = audit_rules.load_library(s)
        online = OnlineEngine(library)
        scope = _scope(s)
        types = audit_view.list_types(s)
        lookback, cross = library.lookback_days(), library.cross_codes()
        compared = 0
        for mdtrt_id in sorted(scope):
            context = audit_view.visit_context(s, mdtrt_id, lookback, cross, types)
            got = sorted(f.signature() for f in online.check(context.frame(), {mdtrt_id}, stage=None))
            want = sorted(
                f.signature()
                for f in result.findings
                if f.mdtrt_id == mdtrt_id and library.rules[f.rule_code].spec.online
            )
            assert got == want, mdtrt_id
            compared += bool(want)
    assert len(scope) == result.visits > 200 and compared > 50


def _scope(s) -> set[str]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        snap = audit_view.snapshot_period(s, *JUNE, Path(tmp), 31, set())
    return set(snap.scope)


def test_sqlite_engine_gives_the_duckdb_findings_and_a_rerun_adds_no_duplicates(audited_year):
    engine = audited_year
    first = runs.run_audit(*JUNE, actor="test", bind=engine)
    assert first.new_suspicions == len([f for f in first.findings if not f.exempt]) > 100
    assert first.suppressed == sum(1 for f in first.findings if f.exempt) > 0 and first.existing == 0
    again = runs.run_audit(*JUNE, engine="sqlite", actor="test", bind=engine)
    assert again.skipped == ["T-RATIO"]  # a period indicator needs the whole period: DuckDB only
    batch = sorted(f.signature() for f in first.findings if f.rule_code != "T-RATIO")
    assert sorted(f.signature() for f in again.findings) == batch
    assert again.new_suspicions == 0 and again.existing == len([f for f in again.findings if not f.exempt])
    third = runs.run_audit(*JUNE, actor="test", bind=engine)
    assert third.new_suspicions == 0 and third.existing == first.new_suspicions
    with unit_of_work(engine, write=False) as s:
        stored = s.scalar(select(func.count()).select_from(AuditSuspicion))
        run_rows = s.execute(select(AuditRun.id, AuditRun.new_suspicions, AuditRun.engine)).all()
        audited = s.scalars(select(AuditLog.entity_id).where(AuditLog.action == "run_audit")).all()
    assert stored == first.new_suspicions
    assert sorted(run_rows) == [(first.run_id, stored, "duckdb"), (again.run_id, 0, "sqlite"),
                                (third.run_id, 0, "duckdb")]  # fmt: skip
    assert sorted(audited) == sorted(str(r) for r in (first.run_id, again.run_id, third.run_id))


def test_a_suspicion_records_its_finding_evidence_and_lines(audited_year):
    engine = audited_year
    result = runs.run_audit(*JUNE, rules=["T-SEX", "T-RATIO"], actor="test", bind=engine)
    assert set(result.per_rule) == {"T-SEX", "T-RATIO"}
    sex = result.per_rule["T-SEX"]
    assert sex.findings == sex.new + sex.suppressed and sex.suppressed > 0 and sex.amount_fen > 0
    with unit_of_work(engine, write=False) as s:
        row = s.scalars(select(AuditSuspicion).where(AuditSuspicion.rule_code == "T-SEX").limit(1)).one()
        ratio = s.scalars(select(AuditSuspicion).where(AuditSuspicion.rule_code == "T-RATIO").limit(1)).one()
    finding = next(f for f in result.findings if f.mdtrt_id == row.mdtrt_id and f.rule_code == "T-SEX")
    assert row.fingerprint == finding.key and row.status == "open" and row.vola_amt == finding.vola_amt
    assert (row.result_type, row.sev_deg, row.vola_bhvr_type, row.rule_version) == ("违规", "1", "2", 1)
    assert row.service_date <= JUNE[1]  # the visit's first day (settled in June, maybe begun before)
    assert row.lines == [{"line_id": x.line_id, "feedetl_sn": x.feedetl_sn, "med_list_codg": x.med_list_codg,
                          "role": x.role, "amt": x.amt} for x in finding.lines]  # fmt: skip
    ev = row.evidence
    assert (ev["observed"], ev["limit"], ev["kind"]) == ("1", "2", "sex_limit")
    assert ev["legal_basis"].startswith("《医疗保障基金使用监督管理条例》")
    assert ev["knowledge"] == [
        {
            "values": {"code": "001102000030000", "gend": "2"},
            "origin": ev["knowledge"][0]["origin"],
            "source_batch": "2025-1",
            "row_key": None,
            "from": None,
            "to": None,
        }
    ]
    assert ev["knowledge"][0]["origin"].endswith("T-SEX: knowledge[0]")
    assert ev["rule_version"] == 1 and ev["library_version"] == result.library_version
    # an institution-level finding is about its period: the next period's is a suspicion of its own
    assert ratio.mdtrt_id is None and ratio.fingerprint != next(f.key for f in result.findings
                                                                 if f.rule_code == "T-RATIO")  # fmt: skip


def test_refusals_name_the_option(audited_year):
    engine = audited_year
    for kwargs, words in [
        ({"rules": ["NOPE"]}, '--rules: 规则不存在 "NOPE"'),
        ({"engine": "spark"}, "--engine"),
        ({"rules": ["T-RATIO"], "engine": "sqlite"}, "只能用 --engine duckdb"),
    ]:
        with pytest.raises(InputError, match=words):
            runs.run_audit(*JUNE, actor="test", bind=engine, **kwargs)
    with pytest.raises(InputError, match="晚于"):
        runs.run_audit(JUNE[1], JUNE[0], actor="test", bind=engine)
    with unit_of_work(engine) as s:
        audit_rules.set_enabled(s, "T-SEX", False, "test", "试运行")
    with pytest.raises(InputError, match="已停用"):
        runs.run_audit(*JUNE, rules=["T-SEX"], actor="test", bind=engine)
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(AuditRun)) == 0


def test_the_knowledge_index_numbers_rows_as_the_engines_do(tmp_path):
    library = load_library(write_library(tmp_path, HITTING))
    index = runs.knowledge_index(library)
    for names, rows in library.tables().values():
        for row in rows:
            code, k_id = row[0], row[1]
            if k_id in index:
                rule_code, knowledge = index[k_id]
                assert rule_code == code
                values = dict(zip(names[4:], row[4:], strict=True))
                assert all(values[k] == v for k, v in knowledge.values.items())
