"""The rule library in the database: what is imported is what the engines get back; an unchanged re-import
makes no version, changed knowledge makes a knowledge version and keeps the old rows; enable, disable and
edit need a reason and are audited; a 可疑 rule never blocks; the region loader imports ``rules/`` and a bad
rule file refuses the load with every problem."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.audit_library import CHECKED, CHECKED_KNOWLEDGE, HITTING, regions_without_rules, write_library
from yibao.errors import InputError
from yibao.ingest.region import load_region
from yibao.store import audit_rule_reads, audit_rules
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditKnowledge, AuditLog, AuditRule, AuditRuleVersion
from yibao.supervision.library import LibraryError
from yibao.supervision.library_files import load_library
from yibao.supervision.service import rules as service


def _import(engine, folder, reason: str = "") -> audit_rules.ImportResult:
    with unit_of_work(engine) as s:
        return service.import_rules(s, service.read_files(folder), actor="tester", reason=reason)


def _stored(engine):
    with unit_of_work(engine, write=False) as s:
        return audit_rules.load_library(s)


def test_what_is_imported_is_what_the_engines_get_back(engine, tmp_path):
    folder = write_library(
        tmp_path / "a", HITTING + CHECKED.replace("rules:\n", ""), {"knowledge.csv": CHECKED_KNOWLEDGE}
    )
    files = load_library(folder)
    done = _import(engine, folder, "首次导入")
    assert done.added == sorted(files.rules) and not done.changed and not done.unchanged
    stored = _stored(engine)
    assert stored.tables() == files.tables()
    assert sorted(stored.exemption_rows()) == sorted(files.exemption_rows())
    assert stored.lookback_days() == files.lookback_days() and stored.cross_codes() == files.cross_codes()
    for code, rule in files.rules.items():
        back = stored.rules[code]
        for name in ("name", "kind", "class_l1", "class_l2", "result_type", "sev_deg", "stages", "actions",
                     "params", "effective_from", "effective_to", "legal_basis", "enabled", "exemptions"):  # fmt: skip
            assert getattr(back, name) == getattr(rule, name), (code, name)
        assert [(k.values, k.begin, k.end, k.source_batch, k.where) for k in back.knowledge] == [
            (k.values, k.begin, k.end, k.source_batch, k.where) for k in rule.knowledge
        ]
        assert len(back.tests) == len(rule.tests)
    with unit_of_work(engine, write=False) as s:
        sex = audit_rule_reads.rule(s, "C-SEX")
        listed = audit_rule_reads.rules(s, audit_rule_reads.RuleFilter(rule_class="政策类"))
    assert sex["knowledge_rows"] == 2 and [k["values"]["code"] for k in sex["knowledge"]] == [
        "XF001",
        "XF002",
    ]
    assert sex["knowledge"][1]["origin"].endswith("C-SEX: knowledge.csv row 3")
    assert [(v["version"], v["change"], v["reason"]) for v in sex["versions"]] == [(1, "import", "首次导入")]
    assert [r["rule_code"] for r in listed] == ["C-SEX"] and listed[0]["knowledge_rows"] == 2


def test_reimport_unchanged_makes_no_version_and_new_knowledge_keeps_the_old_rows(engine, tmp_path):
    folder = write_library(tmp_path / "a", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE})
    _import(engine, folder)
    again = _import(engine, folder)
    assert again.unchanged == ["C-FREQ", "C-SEX"] and not again.added and not again.changed
    moved = write_library(tmp_path / "elsewhere", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE})
    assert _import(engine, moved).unchanged == ["C-FREQ", "C-SEX"]  # where the files lie is no change
    # a national batch replaces one row: XF002 superseded from 2026-01-01 by XF003
    batch = "rule_code,code,gend,source_batch,row_key,supersedes,from\n" + "".join(
        [
            "C-SEX,XF001,2,2025-1,a,,\n",
            "C-SEX,XF002,2,2025-1,b,,\n",
            "C-SEX,XF003,2,2026-3,c,b,2026-01-01\n",
        ]
    )
    write_library(tmp_path / "a", CHECKED, {"knowledge.csv": batch})
    changed = _import(engine, folder, "2026 第 3 批")
    assert changed.changed == ["C-SEX"] and changed.unchanged == ["C-FREQ"]
    with unit_of_work(engine, write=False) as s:
        row = s.get(AuditRule, "C-SEX")
        old = s.scalar(
            select(func.count()).where(AuditKnowledge.rule_code == "C-SEX", AuditKnowledge.version == 1)
        )
        versions = s.execute(
            select(AuditRuleVersion.version, AuditRuleVersion.knowledge_version, AuditRuleVersion.reason)
            .where(AuditRuleVersion.rule_code == "C-SEX")
            .order_by(AuditRuleVersion.version)
        ).all()
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == "C-SEX").order_by(AuditLog.seq)
        ).all()
    assert (row.version, row.knowledge_version) == (2, 2) and old == 2
    assert versions == [(1, 1, ""), (2, 2, "2026 第 3 批")] and actions == ["import", "import_update"]
    rule = _stored(engine).rules["C-SEX"]
    assert [k.values["code"] for k in rule.knowledge] == ["XF001", "XF002", "XF003"]
    names, rows = _stored(engine).tables()["sex_limit"]
    ends = {r[names.index("code")]: r[names.index("to_day")] for r in rows}
    assert ends["XF002"] < ends["XF001"]  # ended the day before its successor starts


def test_enable_disable_and_edit_need_a_reason_and_are_audited(engine, tmp_path):
    _import(engine, write_library(tmp_path / "a", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE}))
    with unit_of_work(engine) as s:
        with pytest.raises(InputError, match="reason"):
            service.set_enabled(s, "C-SEX", False, actor="tester", reason=" ")
        with pytest.raises(InputError, match="reason"):
            service.edit(s, "C-SEX", {"sev_deg": "2"}, actor="tester", reason="")
    with unit_of_work(engine) as s:
        service.set_enabled(s, "C-SEX", False, actor="tester", reason="知识点待更新")
        service.set_enabled(s, "C-SEX", True, actor="tester", reason="已更新")
        service.edit(s, "C-SEX", {"actions": {"upload": "block"}, "effective_to": "2026-12-31"}, actor="tester",
                     reason="事中拦截")  # fmt: skip
    with unit_of_work(engine, write=False) as s:
        row = s.get(AuditRule, "C-SEX")
        log = s.execute(
            select(AuditLog.action, AuditLog.actor, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity_id == "C-SEX", AuditLog.action != "import")
            .order_by(AuditLog.seq)
        ).all()
        changes = s.scalars(
            select(AuditRuleVersion.change)
            .where(AuditRuleVersion.rule_code == "C-SEX")
            .order_by(AuditRuleVersion.version)
        ).all()
    assert row.enabled and row.actions == {"upload": "block"} and str(row.effective_to) == "2026-12-31"
    assert row.version == 4 and changes == ["import", "disable", "enable", "edit"]
    assert [(a, who) for a, who, _, _ in log] == [
        ("disable", "tester"),
        ("enable", "tester"),
        ("change", "tester"),
    ]
    assert (
        log[0][3]["reason"] == "知识点待更新"
        and log[2][2]["actions"] == {}
        and log[2][3]["reason"] == "事中拦截"
    )
    with unit_of_work(engine) as s, pytest.raises(Exception, match="规则不存在"):
        service.set_enabled(s, "NOPE", False, actor="tester", reason="x")


def test_a_suspicious_rule_never_blocks(engine, tmp_path):
    _import(engine, write_library(tmp_path / "a", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE}))
    with unit_of_work(engine) as s:
        with pytest.raises(InputError, match="可疑类规则只能提醒"):
            service.edit(s, "C-FREQ", {"actions": {"settle": "block"}}, actor="tester", reason="试")
        with pytest.raises(InputError, match="不能为 1"):
            service.edit(s, "C-FREQ", {"sev_deg": "1"}, actor="tester", reason="试")
    blocking = CHECKED.replace('    sev_deg: "3"\n', '    sev_deg: "3"\n    actions: {upload: block}\n')
    with pytest.raises(LibraryError) as refused:
        service.read_files(write_library(tmp_path / "b", blocking, {"knowledge.csv": CHECKED_KNOWLEDGE}))
    assert any("C-FREQ: actions.upload: 可疑类规则只能提醒" in p for p in refused.value.problems)
    assert _stored(engine).rules["C-FREQ"].actions == {}


def test_the_region_loader_imports_its_rules_and_refuses_a_bad_file_whole(engine, tmp_path):
    regions = regions_without_rules(tmp_path)
    write_library(regions / "990100" / "rules", CHECKED, {"knowledge.csv": CHECKED_KNOWLEDGE})
    first = {r.kind: r.counts() for r in load_region(engine, "990100", regions).imports}
    assert first["rules"] == {"read": 2, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    again = {r.kind: r.counts() for r in load_region(engine, "990100", regions).imports}
    assert again["rules"]["unchanged"] == 2 and again["rules"]["inserted"] == 0
    rule = _stored(engine).rules["C-SEX"]
    assert (
        rule.source == "990100/rules/rules.yaml"
    )  # named inside the regions folder, not by its place on disk
    with unit_of_work(engine, write=False) as s:
        assert s.scalars(select(AuditRuleVersion.reason)).all() == ["region load", "region load"]
    bad = CHECKED_KNOWLEDGE + "C-SEX,XF009,3,2025-1\n"
    write_library(regions / "990100" / "rules", CHECKED.replace("kind: visit_frequency", "kind: nonsense"),
                  {"knowledge.csv": bad})  # fmt: skip
    with unit_of_work(engine, write=False) as s:
        written = s.scalar(select(func.count()).select_from(AuditLog))
    with pytest.raises(LibraryError) as refused:
        load_region(engine, "990100", regions)
    problems = refused.value.problems
    assert any(p.startswith("990100/rules/rules.yaml: C-SEX: knowledge.csv row 4: gend:") for p in problems)
    assert any("C-FREQ: kind: 须为" in p for p in problems)
    assert all("\n" not in p for p in problems)
    with unit_of_work(engine, write=False) as s:  # refused before anything was written
        assert s.scalar(select(func.count()).select_from(AuditLog)) == written
