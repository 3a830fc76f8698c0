"""The 智能监管 read models on a small hand-made library and a few suspicions and warnings: the rule list in
words (severity, stages, the inline action per scene, status, knowledge count), filtered and ordered by the
database; one rule with its parameters, knowledge rows and exemptions named (catalogue, ICD, institution) and
its versions after a switch and an edit (who, what, why); every field of every rule kind has a Chinese
label; the suspicion worklist's filters, order, names and total, one suspicion's lines, evidence and workflow
history, the buttons the workflow allows each person; the warnings with their 3103 answers; the runs; and
the background exports' workbooks.

The library (``LIBRARY`` below)::

    T-SEX   限性别  违规  sev 1  事前、事中、事后  upload block · settle warn   knowledge: B1 女, A1 男
    T-POST  限性别  违规  sev 1  事后 only                              knowledge: B2 女 (not checked inline)
    T-STAY  计费日期与住院时间不符 违规 事后 only                     no knowledge (the kind has none)
    T-READM 分解住院 可疑  sev 2  事后                                   window 15 days, same institution
    T-DXSEX 诊断与性别不符 违规 sev 1 事中、事后  停用 (enabled: false)      knowledge: N76 女, O 女
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests import world
from yibao.console import queries_supervision as qs
from yibao.console import queries_supervision_cases as qc
from yibao.console import queries_supervision_rule as qr
from yibao.console import queries_supervision_suspicion as qd
from yibao.console import queries_supervision_warnings as qw
from yibao.console.export import export_list
from yibao.errors import InputError
from yibao.settlement.review import Staff
from yibao.store import audit_rules
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditRun, AuditSuspicion, AuditWarning, ClinicalCode, StaffUser
from yibao.supervision.kinds import KINDS
from yibao.supervision.library_files import load_library

H2, H3 = world.HOSP2, world.HOSP3  # 示例市第二人民医院, 示例市第一人民医院
LIBRARY = f"""
rules:
  - rule_code: T-SEX
    name: 药品限女性使用
    kind: sex_limit
    class_l1: 政策类
    class_l2: 药品政策限定
    result_type: 违规
    stages: [pre, mid, post]
    actions: {{upload: block, settle: warn}}
    effective_from: 2025-01-01
    legal_basis: 《医疗保障基金使用监督管理条例》第三十八条
    knowledge:
      - {{code: B1, gend: "2", source_batch: "第1批"}}
      - {{code: A1, gend: "1"}}
    exemptions:
      - {{field: fixmedins_code, value: {H2}, reason: 妇产专科试点}}
    tests:
      - name: 男性患者使用限女性用药
        expect: hit
        person: {{gend: "1"}}
        visits: [{{id: V1, lines: [[1, B1, 1, "12.50"]]}}]
      - name: 女性患者使用
        expect: miss
        person: {{gend: "2"}}
        visits: [{{id: V1, lines: [[1, B1, 1, "12.50"]]}}]
  - rule_code: T-POST
    name: 耗材限女性使用
    kind: sex_limit
    class_l1: 政策类
    class_l2: 医用耗材政策限定
    result_type: 违规
    stages: [post]
    effective_from: 2025-01-01
    knowledge:
      - {{code: B2, gend: "2"}}
  - rule_code: T-STAY
    name: 计费日期与住院时间不符
    kind: fee_outside_stay
    class_l1: 政策类
    class_l2: 医疗服务项目政策限定
    result_type: 违规
    stages: [post]
    effective_from: 2025-01-01
  - rule_code: T-READM
    name: 十五日内再次住院
    kind: readmission
    class_l1: 管理类
    class_l2: 行为主体监管
    result_type: 可疑
    sev_deg: "2"
    stages: [post]
    params: {{window_days: 15, same_institution: "yes"}}
    effective_from: 2025-01-01
  - rule_code: T-DXSEX
    name: 女性诊断用于男性
    kind: diagnosis_sex
    class_l1: 管理类
    class_l2: 行为主体监管
    result_type: 违规
    stages: [mid, post]
    enabled: false
    effective_from: 2025-01-01
    effective_to: 2026-12-31
    knowledge:
      - {{dise_prefix: N76, gend: "2"}}
      - {{dise_prefix: O, gend: "2"}}
"""


@pytest.fixture
def library(engine, tmp_path):
    world.build(engine)
    (tmp_path / "rules.yaml").write_text(LIBRARY, encoding="utf-8")
    with unit_of_work(engine) as s:
        s.add(ClinicalCode(system="icd10", code="N76", name="阴道和外阴的其他炎症"))
        s.add(ClinicalCode(system="icd10", code="O80.000", name="单胎顺产"))
        s.add(StaffUser(username="jicha", display_name="稽查甲", password_hash="-", active=True))
        s.add(StaffUser(username="jingban", display_name="王经办", password_hash="-", active=True))
        audit_rules.import_library(s, load_library(tmp_path), actor="jicha", reason="首批规则")
    return engine


def rows(s, f=None, **order) -> list[dict]:
    return list(qs.rule_records(s, f or qs.RuleFilter(), order=order.get("order", (None, False))))


# --- 规则库 -------------------------------------------------------------------------------------------------------


def test_the_library_in_words(library):
    with unit_of_work(library, write=False) as s:
        listed = {r["rule_code"]: r for r in rows(s)}
        assert qs.rule_count(s, qs.RuleFilter()) == 5
    sex = listed["T-SEX"]
    assert sex["kind"] == "限性别" and sex["sev_deg"] == "明确违规" and sex["stages"] == "事前、事中、事后"
    assert (sex["upload"], sex["settle"]) == ("拦截", "提醒")  # per scene, as the header says
    assert sex["status"] == "启用" and sex["version"] == 1 and sex["knowledge"] == 2
    assert sex["effective_from"] == date(2025, 1, 1) and sex["effective_to"] is None
    # a 事后-only rule is not checked inline at all: neither 拦截 nor 提醒
    assert (listed["T-POST"]["upload"], listed["T-POST"]["settle"]) == ("—", "—")
    assert listed["T-STAY"]["knowledge"] == 0 and listed["T-STAY"]["kind"] == "计费日期与住院时间不符"
    assert listed["T-READM"]["sev_deg"] == "高度可疑" and listed["T-READM"]["result_type"] == "可疑"
    assert listed["T-DXSEX"]["status"] == "停用" and listed["T-DXSEX"]["effective_to"] == date(2026, 12, 31)


def test_the_library_filters_and_orders_in_the_database(library):
    with unit_of_work(library, write=False) as s:
        assert [r["rule_code"] for r in rows(s, qs.RuleFilter(status="disabled"))] == ["T-DXSEX"]
        assert [r["rule_code"] for r in rows(s, qs.RuleFilter(class_l1="管理类"))] == ["T-DXSEX", "T-READM"]
        assert [r["rule_code"] for r in rows(s, qs.RuleFilter(kind="fee_outside_stay"))] == ["T-STAY"]
        assert [r["rule_code"] for r in rows(s, qs.RuleFilter(text="女性"))] == ["T-DXSEX", "T-POST", "T-SEX"]
        assert qs.rule_count(s, qs.RuleFilter(text="女性", status="enabled")) == 2
        by_knowledge = [r["knowledge"] for r in rows(s, order=("knowledge", True))]
        assert by_knowledge == [2, 2, 1, 0, 0]
        page = list(qs.rule_records(s, qs.RuleFilter(), 2, offset=2))
        assert [r["rule_code"] for r in page] == ["T-READM", "T-SEX"]
        choices = qs.filter_choices(s)
    assert choices["class_l1"] == {"政策类": "政策类", "管理类": "管理类"}
    assert choices["kind"]["sex_limit"] == "限性别" and "readmission" in choices["kind"]
    assert qs.RuleFilter(kind="sex_limit", status="enabled").describe() == "规则类型 限性别，启用"


def test_every_field_of_every_kind_has_a_chinese_label():
    for kind in KINDS.values():
        for f in kind.fields:
            label = qr.field_label(f)
            assert not label.isascii(), f"{kind.name}.{f.name}: {label}"
            assert not re.search(r"[a-z]+_[a-z]+", label), label  # (no internal names like med_list_codg)


def test_a_rule_in_words_with_its_codes_named(library):
    with unit_of_work(library, write=False) as s:
        r = qr.rule_detail(s, "T-SEX")
        dx = qr.rule_detail(s, "T-DXSEX")
        readm = qr.rule_detail(s, "T-READM")
        assert qr.rule_detail(s, "NOPE") is None
    facts = dict(r["facts"])
    assert facts["类别"] == "政策类 › 药品政策限定" and facts["严重程度"] == "明确违规"
    assert facts["拦截 / 提醒"] == "上传明细时拦截；结算时提醒"
    assert facts["政策依据"].startswith("《医疗保障基金使用监督管理条例》")
    assert r["knowledge_columns"][:2] == [("k_code", "药品 / 项目 / 耗材"), ("k_gend", "限定性别")]
    assert r["knowledge"][0]["k_code"] == "乙类药（B1）" and r["knowledge"][0]["k_gend"] == "女"
    assert r["knowledge"][0]["k_batch"] == "第1批" and r["knowledge"][1]["k_gend"] == "男"
    assert r["exemptions"] == [
        {
            "field": "定点机构",
            "value": f"示例市第二人民医院（{H2}）",
            "reason": "妇产专科试点",
            "from": "",
            "to": "",
        }
    ]
    assert [(t["name"], t["expect"]) for t in r["tests"]] == [
        ("男性患者使用限女性用药", "应命中"),
        ("女性患者使用", "不应命中"),
    ]
    assert dx["knowledge"][0]["k_dise_prefix"] == "阴道和外阴的其他炎症（N76）"
    assert dx["knowledge"][1]["k_dise_prefix"] == "O 开头（单胎顺产 等）"  # (a prefix: what it covers)
    assert dict(readm["facts"])["拦截 / 提醒"] == "上传明细时—；结算时—"
    params = {p["label"]: p["value"] for p in readm["params"]}
    assert params["出院后再入院的天数"] == "15" and params["限同一定点机构"] == "是"
    assert params["比较主诊断的前几位"] == "3"  # (the kind's default)
    assert r["versions"][0]["what"].startswith("首次导入") and r["versions"][0]["by"] == "稽查甲（jicha）"


def test_switching_and_editing_a_rule_are_versions_with_who_what_why(library):
    with unit_of_work(library) as s:
        audit_rules.set_enabled(s, "T-SEX", False, "jicha", "知识点待更新")
    with unit_of_work(library) as s:
        audit_rules.edit_rule(
            s, "T-SEX", {"sev_deg": "2", "actions": {"upload": "warn", "settle": "warn"}}, "jingban", "试运行"
        )
    with pytest.raises(InputError, match="须说明原因"), unit_of_work(library) as s:
        audit_rules.set_enabled(s, "T-SEX", True, "jicha", " ")
    with unit_of_work(library, write=False) as s:
        r = qr.rule_detail(s, "T-SEX")
        listed = rows(s, qs.RuleFilter(text="T-SEX"))[0]
    assert listed["status"] == "停用" and listed["version"] == 3 and listed["upload"] == "提醒"
    disable, edit = r["versions"][1], r["versions"][2]
    assert (disable["change"], disable["by"], disable["reason"]) == (
        "停用",
        "稽查甲（jicha）",
        "知识点待更新",
    )
    assert disable["what"] == "状态：启用 → 停用"
    assert (edit["change"], edit["by"], edit["reason"]) == ("修改", "王经办（jingban）", "试运行")
    assert "严重程度：明确违规 → 高度可疑" in edit["what"]
    assert "拦截 / 提醒：结算时提醒、上传明细时拦截 → 结算时提醒、上传明细时提醒" in edit["what"]


# --- 疑点 -------------------------------------------------------------------------------------------------------------


def _run(s, **kw) -> AuditRun:
    run = AuditRun(
        date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), rules=kw.get("rules"), engine="duckdb",
        library_version="4.4.x", status="done", lines=1200, visits=300, findings=5, new_suspicions=4,
        suppressed=1, amount_fen=123_456, seconds=3, started_at=datetime(2026, 1, 5, 9), started_by="jicha",
    )  # fmt: skip
    s.add(run)
    s.flush()
    return run


def _suspicion(s, run: AuditRun, n: int, **kw) -> AuditSuspicion:
    values = {
        "fingerprint": f"fp{n}",
        "run_id": run.id,
        "rule_code": "T-SEX",
        "rule_name": "药品限女性使用",
        "rule_version": 1,
        "result_type": "违规",
        "sev_deg": "1",
        "vola_bhvr_type": "2",
        "fixmedins_code": H3,
        "mdtrt_id": f"M{n}",
        "psn_no": world.WORKER,
        "setl_id": f"S{n}",
        "service_date": date(2025, 3, n),
        "vola_amt": 10_000 * n,
        "vola_cont": f"药品限女性使用: B1 限女性使用，患者为男性，涉及金额 {100 * n}.00 元",
        "evidence": {
            "observed": "1",
            "limit": "2",
            "kind": "sex_limit",
            "params": {},
            "knowledge": [
                {"values": {"code": "B1", "gend": "2"}, "source_batch": "第1批", "from": None, "to": None}
            ],
            "legal_basis": "《医疗保障基金使用监督管理条例》第三十八条",
            "rule_version": 1,
            "period": ["2025-01-01", "2025-12-31"],
        },
        "lines": [
            {"line_id": None, "feedetl_sn": "1", "med_list_codg": "B1", "role": "1", "amt": 10_000 * n},
            {"line_id": None, "feedetl_sn": "2", "med_list_codg": "S1", "role": "2", "amt": 500},
        ],
        "status": "open",
        "created_at": datetime(2026, 1, 5, 9, 1),
        "deducted_fen": 0,
    } | kw
    row = AuditSuspicion(**values)
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def cases(library):
    """Five suspicions: #1 open (100.00, H3), #2 notified and overdue, #3 notified due in ten days (H2),
    #4 可疑 open (400.00), #5 dismissed."""
    today = date.today()
    with unit_of_work(library) as s:
        run = _run(s)
        _suspicion(s, run, 1)
        _suspicion(s, run, 2, status="notified", notified_by="jicha", due_date=today - timedelta(days=1))
        _suspicion(
            s,
            run,
            3,
            status="notified",
            notified_by="jicha",
            due_date=today + timedelta(days=10),
            fixmedins_code=H2,
            psn_no=world.RESIDENT,
        )
        _suspicion(
            s,
            run,
            4,
            rule_code="T-READM",
            rule_name="十五日内再次住院",
            result_type="可疑",
            sev_deg="2",
            lines=[],
        )
        _suspicion(s, run, 5, status="dismissed")
        ids = {n: i for n, i in zip(range(1, 6), s.scalars(AuditSuspicion.__table__.select().with_only_columns(AuditSuspicion.id).order_by(AuditSuspicion.id)), strict=True)}  # fmt: skip
    return library, ids


def listed(s, f=qc.SuspicionQuery(), order=(None, False)) -> list[dict]:
    return list(qc.suspicion_records(s, f, order=order))


def test_the_worklist_names_and_orders_by_due_date_then_amount(cases):
    engine, ids = cases
    with unit_of_work(engine, write=False) as s:
        rows_ = listed(s)
        by_amount = [r["id"] for r in listed(s, order=("vola_amt", True))]
        total = qc.suspicion_total(s, qc.SuspicionQuery())
    # soonest due first (#2 overdue, then #3), then the rest by the larger amount
    assert [r["id"] for r in rows_] == [ids[2], ids[3], ids[5], ids[4], ids[1]]
    assert by_amount == [ids[5], ids[4], ids[3], ids[2], ids[1]]
    first = rows_[0]
    assert first["fixmedins_name"] == "示例市第一人民医院" and first["psn_name"] == "张三"
    assert first["status"] == "已告知机构" and first["sev_deg"] == "明确违规"
    assert first["vola_amt"] == Decimal("200.00") and total == 150_000
    assert rows_[1]["fixmedins_name"] == "示例市第二人民医院" and rows_[1]["psn_name"] == "王五"


def test_the_worklist_filters(cases):
    engine, ids = cases
    with unit_of_work(engine, write=False) as s:

        def found(**kw) -> list[int]:
            return sorted(r["id"] for r in listed(s, qc.SuspicionQuery(**kw)))

        assert found(rule_code="T-READM") == [ids[4]]
        assert found(fixmedins_code=H2) == [ids[3]]
        assert found(status="open") == [ids[1], ids[4]]
        assert found(status="overdue") == [ids[2]]  # a notice past its due date, not yet marked
        assert found(min_fen=30_000) == [ids[3], ids[4], ids[5]]
        assert found(due_to=date.today()) == [ids[2]]
        assert found(run_id=999) == []
        assert qc.suspicion_count(s, qc.SuspicionQuery(status="notified")) == 2
        choices = qc.suspicion_choices(s)
        note = qc.SuspicionQuery(fixmedins_code=H2, status="open", min_fen=100_000).describe(s)
    assert choices["rule"] == {"T-READM": "十五日内再次住院（T-READM）", "T-SEX": "药品限女性使用（T-SEX）"}
    assert choices["institution"] == {H3: "示例市第一人民医院", H2: "示例市第二人民医院"}
    assert note == "机构 示例市第二人民医院，状态 初审待办，金额 ≥ 1,000.00 元"


def test_one_suspicion_in_words(cases):
    engine, ids = cases
    with unit_of_work(engine, write=False) as s:
        d = qd.suspicion_detail(s, ids[1])
        assert qd.suspicion_detail(s, 10**9) is None
    facts = dict(d["facts"])
    assert facts["规则"] == "药品限女性使用（T-SEX，第 1 版）"
    assert facts["结果类型"] == "违规 · 明确违规 · 项目类"
    assert facts["定点机构"] == f"示例市第一人民医院（{H3}）" and facts["参保人"] == f"张三（{world.WORKER}）"
    assert facts["涉及金额（元）"] == "100.00" and facts["违规内容"].startswith("药品限女性使用")
    evidence = dict(d["evidence"]["facts"])
    assert (evidence["规则类型"], evidence["观察值"], evidence["限定值"]) == ("限性别", "男", "女")
    assert evidence["审核期间"] == "2025-01-01 至 2025-12-31"
    assert d["evidence"]["rows"] == [
        {"k_code": "乙类药（B1）", "k_gend": "女", "k_span": "— 至 长期", "k_batch": "第1批"}
    ]
    assert [(x["item"], x["med_list_codg"], x["role"], x["amt"]) for x in d["lines"]] == [
        ("乙类药", "B1", "违规项", "100.00"),
        ("诊查费", "S1", "涉及项", "5.00"),
    ]
    assert d["history"][0]["step"] == "发现疑点" and d["status_name"] == "初审待办"


REVIEWER = Staff("jicha", frozenset({"supervision.read", "supervision.write"}))
OTHER_REVIEWER = Staff("jicha2", frozenset({"supervision.read", "supervision.write"}))
HANDLER = Staff("jingban", frozenset({"settlement.write"}))
ADMIN = Staff("jicha", frozenset({"*"}))


def test_the_buttons_are_what_the_workflow_allows_each_person(cases):
    engine, ids = cases
    today = date.today()
    with unit_of_work(engine, write=False) as s:
        d = {n: qd.suspicion_detail(s, ids[n]) for n in ids}
    assert qd.allowed(d[1], REVIEWER, today) == {
        "confirm": "初审确认",
        "notify": "告知机构",
        "dismiss": "初审排除",
    }
    assert qd.allowed(d[4], REVIEWER, today) == {
        "confirm": "初审确认",
        "dismiss": "初审排除",
    }  # 可疑: confirm first
    assert qd.allowed(d[1], HANDLER, today) == {}
    assert qd.allowed(d[3], HANDLER, today) == {"accept": "代机构认可", "appeal": "代机构申诉"}
    assert qd.allowed(d[3], REVIEWER, today) == {}
    # the one who notified may not answer for the institution (four eyes), and is told why
    assert qd.allowed(d[3], ADMIN, today) == {}
    assert "其他经办人员" in qd.barred(d[3], ADMIN)
    # past its due date the notice is decided as an overdue one, not by the one who notified it
    assert qd.allowed(d[2], HANDLER, today) == {}
    assert qd.allowed(d[2], OTHER_REVIEWER, today) == {"uphold": "逾期维持", "dismiss": "复核撤销"}
    assert qd.allowed(d[2], REVIEWER, today) == {}
    assert qd.allowed(d[5], ADMIN, today) == {}


def test_the_history_is_the_audit_log_in_words(cases, tmp_path):
    from yibao.supervision.service import suspicions as service

    engine, ids = cases
    now = datetime.now()
    with unit_of_work(engine) as s:
        due = service.notify(s, ids[1], staff=REVIEWER, now=now, regions_dir=tmp_path)
    with unit_of_work(engine) as s:
        service.appeal(s, ids[1], staff=HANDLER, fixmedins_code=H3, reason="患者为女性，性别登记有误", files=[("证明.pdf", b"%PDF-1.4 x")], now=now)  # fmt: skip
    with unit_of_work(engine, write=False) as s:
        d = qd.suspicion_detail(s, ids[1])
    steps = [(h["step"], h["actor"]) for h in d["history"]]
    assert steps == [
        ("发现疑点", "系统（事后审核）"),
        ("告知机构", "稽查甲（jicha）"),
        ("机构申诉", "王经办（jingban）"),
    ]
    assert f"答复期限 {due}" in d["history"][1]["note"]
    assert "患者为女性，性别登记有误" in d["history"][2]["note"] and "证明.pdf" in d["history"][2]["note"]
    assert d["status_name"] == "机构申诉" and d["attachments"][0]["filename"] == "证明.pdf"
    workflow = dict(d["workflow"])
    assert workflow["答复期限"] == due.isoformat() and workflow["答复理由"] == "患者为女性，性别登记有误"
    assert workflow["机构答复"].startswith("申诉")
    assert qd.allowed(d, OTHER_REVIEWER, now.date()) == {"uphold": "复核维持", "dismiss": "复核撤销"}
    assert "四眼原则" in qd.barred(d, REVIEWER)


# --- 事前事中提醒 and runs -----------------------------------------------------------------------------------------


def _warning(s, n: int, **kw) -> None:
    s.add(
        AuditWarning(
            **{
                "jr_id": f"JR{n}", "msgid": f"MSG{n}", "infno": "3102", "warn_type": "2", "fixmedins_code": H3,
                "psn_no": world.WORKER, "mdtrt_id": f"M{n}", "rule_code": "T-SEX", "sev_deg": "1",
                "action": "block", "vola_amt": 1250, "vola_cont": "药品限女性使用: B1 限女性使用，患者为男性",
                "detail": [], "created_at": datetime(2025, 3, n, 10),
            }
            | kw
        )
    )  # fmt: skip


def test_warnings_with_their_answers(library):
    with unit_of_work(library) as s:
        _warning(s, 1)
        _warning(
            s, 2, infno="3101", warn_type="1", action="warn", dspo_way="1", dspo_way_rea="已告知患者自费"
        )
        _warning(s, 3, fixmedins_code=H2, dspo_way="2")
    with unit_of_work(library, write=False) as s:
        all_ = list(qw.warning_records(s, qw.WarningFilter()))
        unanswered = list(qw.warning_records(s, qw.WarningFilter(answer="none")))
        kept_on = list(qw.warning_records(s, qw.WarningFilter(answer="1")))
        march2 = qw.warning_count(s, qw.WarningFilter(date_from=date(2025, 3, 2), date_to=date(2025, 3, 2)))
        blocks = qw.warning_count(s, qw.WarningFilter(action="block", fixmedins_code=H3))
        choices = qw.warning_choices(s)
    assert [w["mdtrt_id"] for w in all_] == ["M3", "M2", "M1"]  # the latest first
    assert [w["mdtrt_id"] for w in unanswered] == ["M1"] and unanswered[0]["dspo_way"] == "未反馈"
    w = kept_on[0]
    assert (w["warn_type"], w["infno"], w["action"], w["dspo_way"]) == (
        "事前",
        "3101 事前分析",
        "提醒",
        "继续",
    )
    assert w["dspo_way_rea"] == "已告知患者自费" and w["rule_name"] == "药品限女性使用"
    assert (
        w["fixmedins_name"] == "示例市第一人民医院"
        and w["psn_name"] == "张三"
        and w["vola_amt"] == Decimal("12.50")
    )
    assert march2 == 1 and blocks == 1
    assert choices["rule"] == {"T-SEX": "药品限女性使用（T-SEX）"}


def test_runs_in_words(cases):
    engine, _ = cases
    with unit_of_work(engine) as s:
        _run(s, rules=["T-SEX", "T-READM"])
    with unit_of_work(engine, write=False) as s:
        runs = list(qc.run_records(s, qc.RunFilter()))
        assert qc.run_count(s, qc.RunFilter()) == 2
    latest = runs[0]
    assert latest["rules"] == "2 条：药品限女性使用、十五日内再次住院"
    assert runs[1]["rules"] == "全部启用的事后规则"
    assert latest["period"] == "2025-01-01 至 2025-12-31" and latest["engine"] == "DuckDB（批量）"
    assert latest["status"] == "已完成" and latest["started_by"] == "稽查甲（jicha）"
    assert latest["amount"] == Decimal("1234.56") and latest["lines"] == 1200


def _settle_b2(day: str) -> str:
    """An outpatient visit of 张三 (male) with 乙类耗材 B2 at 1,300.00 settled through the facade."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from yibao.api import routes_fsi
    from yibao.api.facade_route import FacadeFront

    app = FastAPI()
    app.include_router(routes_fsi.router)
    with TestClient(FacadeFront(app)) as client:
        his = world.His(client, H3)
        psn = {"psn_no": world.WORKER, "insutype": "310"}
        mdtrt = his.ok("2201", {"data": {**psn, "begntime": f"{day} 09:00:00"}})["data"]["mdtrt_id"]
        his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt, "psn_no": world.WORKER, "med_type": "11"}})
        his.ok("2204", {"feedetail": [world.line("1", "B2", "1300.00", mdtrt_id=mdtrt)]})
        his.ok("2207", {"data": {**psn, "mdtrt_id": mdtrt, "medfee_sumamt": "1300.00"}})
    return mdtrt


def test_the_run_job_runs_the_library_and_reports(library, tmp_path):
    mdtrt = _settle_b2("2025-03-10")
    reported, today = [], date.today()  # (a run takes what was settled in its period: today)
    path, _ = qc.run_job(
        lambda done, total=None: reported.append((done, total)),
        date_from=today.replace(day=1).isoformat(), date_to=today.isoformat(), rules=["T-POST"],
        engine="duckdb", actor="jicha",
        path=str(tmp_path / "run.json"),
    )  # fmt: skip
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["new_suspicions"] == 1 and report["amount"] == "1,300.00"
    assert reported and reported[-1][0] == reported[-1][1]  # (the last step: done)
    with unit_of_work(library, write=False) as s:
        [run] = list(qc.run_records(s, qc.RunFilter()))
        [found] = listed(s, qc.SuspicionQuery(run_id=report["run"]))
        d = qd.suspicion_detail(s, found["id"])
    assert (
        run["id"] == report["run"] and run["rules"] == "1 条：耗材限女性使用" and run["new_suspicions"] == 1
    )
    assert found["mdtrt_id"] == mdtrt and found["rule_name"] == "耗材限女性使用"
    evidence = dict(d["evidence"]["facts"])
    assert (evidence["观察值"], evidence["限定值"]) == ("男", "女")
    assert d["evidence"]["rows"][0]["k_code"] == "乙类耗材（B2）"
    assert [(x["item"], x["role"], x["amt"]) for x in d["lines"]] == [("乙类耗材", "违规项", "1,300.00")]


def test_the_exports_write_the_filtered_lists(cases, tmp_path):
    _engine, ids = cases
    ticks = []
    f = qc.SuspicionQuery(status="open")
    path, _name = export_list(
        lambda *a: ticks.append(a), name="supervision_suspicions", flt=f, path=str(tmp_path / "s.xlsx"), note="筛选：状态 初审待办"
    )  # fmt: skip
    sheet = load_workbook(path).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0].startswith("疑点") and "初审待办" in values[0][0]
    assert values[1][:6] == ("编号", "规则", "定点机构", "参保人", "就诊日期", "涉及金额（元）")
    assert [v[0] for v in values[2:]] == [ids[4], ids[1]]
    assert values[2][5] == Decimal("400") or values[2][5] == 400  # a number cell
    path, _ = export_list(
        lambda *a: None, name="supervision_rules", flt=qs.RuleFilter(), path=str(tmp_path / "r.xlsx")
    )
    rules = list(load_workbook(path).active.iter_rows(values_only=True))
    assert len(rules) == 2 + 5 and rules[1][0] == "规则编码" and "明确违规" in rules[2]
