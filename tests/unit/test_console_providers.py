"""The 定点管理 read models over the test world and the provider services: the applications worklist (filters
by status in words, kind, institution and date; the evaluation clock's days left and its tone near and past
the deadline and while stopped), an application in words (materials against those required, a refusal's
reasons in Chinese only, its history by name), an evaluation's scale, panel and sheets, a pasted row of
scores, the agreements list and one agreement with its document, an institution's status after a sanction,
the public list as of a day, the year's assessment (distribution, sheets ordered by total, one sheet) and
the background exports' workbooks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests import world
from tests.providers.helpers import (
    ADMDVS,
    DAY,
    SCHEME,
    STAFF,
    accepted_application,
    at,
    build,
    hospital_org,
    panel,
    passed_application,
    scores,
)
from yibao.console import queries_providers as qp
from yibao.console import queries_providers_agreements as qa
from yibao.console import queries_providers_application as qd
from yibao.console import queries_providers_assess as qs
from yibao.console import queries_providers_evaluation as qe
from yibao.console import queries_providers_status as qt
from yibao.providers.service import agreements, applications, assessments, evaluations, staff, status
from yibao.store.db import unit_of_work

H2 = world.HOSP2


@pytest.fixture
def db(engine):
    build(engine)
    return engine


def test_the_clock_in_words():
    months = 3
    accepted = date(2025, 1, 10)  # deadline 2025-04-10
    assert qp.clock("accepted", "apply", accepted, [], months, date(2025, 1, 10))["tone"] == "ok"
    near = qp.clock("evaluating", "apply", accepted, [], months, date(2025, 3, 20))
    assert (near["text"], near["tone"], near["deadline"]) == ("剩 21 天", "near", date(2025, 4, 10))
    over = qp.clock("evaluating", "apply", accepted, [], months, date(2025, 4, 15))
    assert (over["text"], over["tone"]) == ("已超期 5 天", "over")
    paused = qp.clock(
        "supplementing", "apply", accepted, [(date(2025, 2, 1), None)], months, date(2025, 5, 1)
    )
    assert (paused["text"], paused["tone"], paused["deadline"]) == ("补充材料中，计时暂停", "paused", None)
    resumed = qp.clock("accepted", "apply", accepted, [(date(2025, 2, 1), date(2025, 2, 11))], months, DAY)
    assert resumed["deadline"] == date(2025, 4, 20)
    assert qp.clock("signed", "apply", accepted, [], months, DAY)["text"] == "—"
    assert qp.clock("accepted", "renew", accepted, [], months, DAY)["tone"] == "none"


def test_problem_text_keeps_the_chinese_reason_only():
    assert qp.problem_text("opened_on: 自 2025-01-01 起正式运营 1 个月 (operated 1 months; 3 required)") == (
        "自 2025-01-01 起正式运营 1 个月"
    )
    assert qp.problem_text("K01 结算合规率: 2025 年无结算 (no settlement in the year)，得 0 分") == (
        "K01 结算合规率: 2025 年无结算，得 0 分"
    )
    assert qp.problem_text("请补充床位清单") == "请补充床位清单"


def test_the_worklist_filters_and_its_clock(db):
    accepted = accepted_application(db)
    with unit_of_work(db) as s:
        young = applications.submit(
            s,
            kind="apply",
            admdvs=ADMDVS,
            org=hospital_org(opened_on=DAY - timedelta(days=30), name="新开医院"),
            services=["S01"],
            actor="counter",
            now=at(DAY),
        )
        applications.accept(s, young.appl_no, actor=STAFF, now=at(DAY))
        waiting = applications.submit(
            s,
            kind="apply",
            admdvs=ADMDVS,
            org=hospital_org(name="待受理诊所医院"),
            services=["S04"],
            actor="counter",
            now=at(DAY + timedelta(days=5)),
        )
    near = DAY + timedelta(days=80)  # the deadline of an application accepted on DAY: 2025-06-03
    with unit_of_work(db, write=False) as s:
        everything = qp.ApplicationFilter(status="", today=near)
        assert qp.application_count(s, everything) == 3
        rows = {r["appl_no"]: r for r in qp.application_records(s, everything, 50)}
        row = rows[accepted]
        assert (row["status"], row["kind"], row["cls"], row["clock"], row["tone"]) == (
            "已受理",
            "申请定点",
            "医院",
            "剩 12 天",
            "near",
        )
        assert row["deadline"] == date(2025, 6, 3) and row["services"] == "住院、门诊统筹、门诊特殊疾病"
        assert rows[young.appl_no]["status"] == "不予受理" and rows[young.appl_no]["clock"] == "—"
        assert rows[waiting.appl_no]["status"] == "已提交"
        # open ones only (the default); by status, kind, text and date
        assert {r["appl_no"] for r in qp.application_records(s, qp.ApplicationFilter(today=near))} == {
            accepted,
            waiting.appl_no,
        }
        assert qp.application_count(s, qp.ApplicationFilter(status="refused")) == 1
        assert qp.application_count(s, qp.ApplicationFilter(status="", kind="renew")) == 0
        assert qp.application_count(s, qp.ApplicationFilter(status="", text="待受理")) == 1
        late = qp.ApplicationFilter(status="", date_from=DAY + timedelta(days=1))
        assert [r["appl_no"] for r in qp.application_records(s, late)] == [waiting.appl_no]
        assert "状态：不予受理" in qp.ApplicationFilter(status="refused").describe()
        # the 评估 tab: accepted applies only
        stage = qp.ApplicationFilter(status="", stage="evaluation", today=DAY + timedelta(days=100))
        [only] = qp.application_records(s, stage)
        assert (only["appl_no"], only["clock"], only["tone"]) == (accepted, "已超期 8 天", "over")
        # ordered by the database: by name
        names = [r["name"] for r in qp.application_records(s, everything, order=("name", False))]
        assert names == sorted(names)


def test_an_application_in_words(db):
    with unit_of_work(db) as s:
        org = hospital_org(opened_on=DAY - timedelta(days=30))
        org["materials"] = org["materials"][:-1]  # (信息系统对接承诺 missing)
        app = applications.submit(
            s, kind="apply", admdvs=ADMDVS, org=org, services=["S01"], actor=STAFF, now=at(DAY)
        )
        applications.accept(s, app.appl_no, actor=STAFF, now=at(DAY))
    with unit_of_work(db, write=False) as s:
        d = qd.application_detail(s, app.appl_no, today=DAY)
        facts = dict(d["facts"])
        assert (
            facts["状态"] == "不予受理"
            and facts["机构类别"] == "医院"
            and facts["机构编号"] == "（签约后赋码）"
        )
        assert facts["科室设置"] == "内科、康复医学科" and facts["人员名单"] == "李医生 执业医师"
        assert {m["material"]: m["filed"] for m in d["materials"]}["信息系统对接承诺"] == "缺"
        assert any(p.startswith("自 ") and "须满 3 个月" in p for p in d["problems"])
        assert all("(" not in p for p in d["problems"]) and any(
            "缺少申请材料 信息系统对接承诺" in p for p in d["problems"]
        )
        assert [h["step"] for h in d["history"]] == ["提交申请", "不予受理 / 不同意"]
        assert d["history"][1]["status"] == "不予受理" and "须满 3 个月" in d["history"][1]["note"]
        assert qd.application_detail(s, "SQ-NONE") is None


def test_an_evaluation_its_panel_and_sheets(db):
    appl_no = accepted_application(db)
    with unit_of_work(db) as s:
        evaluations.appoint_panel(s, appl_no, scorers=panel(), actor=STAFF, now=at(DAY))
        evaluations.record_sheet(s, appl_no, scorer_id="E1", scores=scores("0.8"), actor=STAFF, now=at(DAY))
    with unit_of_work(db, write=False) as s:
        e = qe.evaluation_detail(s, appl_no)
        assert list(e["groups"]) == ["基础管理", "服务能力", "信息建设"]
        assert sum(len(g) for g in e["groups"].values()) == 25
        assert sum(i["max"] for g in e["groups"].values() for i in g) == 100
        rows = {m["scorer_id"]: m for m in e["panel"]}
        assert (rows["E1"]["role"], rows["E1"]["field"], rows["E1"]["total"]) == ("专家", "医保管理", "80.00")
        assert rows["S1"]["role"] == "社会监督代表" and rows["S2"]["total"] == "未录入"
        assert (e["status"], e["result"], e["pass_mark"], e["method"]) == (
            "evaluating",
            None,
            Decimal("60"),
            "去掉最高分和最低分后取平均",
        )
        assert qe.evaluation_counts(s) == {"evaluating": 1}
    codes = [i.code for i in SCHEME.evaluation.indicators]
    assert qe.parse_scores("\t".join(["2"] * 25), codes) == ["2"] * 25
    assert qe.parse_scores("、".join(["1.5"] * 25), codes)[0] == "1.5"
    with pytest.raises(ValueError, match="粘贴了 3 个分数，评估量表有 25 项指标"):
        qe.parse_scores("1 2 3", codes)
    with pytest.raises(ValueError, match="“x”不是分数"):
        qe.parse_scores(" ".join(["1"] * 24 + ["x"]), codes)


def test_the_agreements_list_and_one_agreement(db):
    appl_no = passed_application(db)
    with unit_of_work(db) as s:
        main = agreements.sign(s, appl_no, actor=STAFF, now=at(DAY))
        no, code = main.agreement_no, main.fixmedins_code
    with unit_of_work(db, write=False) as s:
        f = qa.AgreementFilter(text="示例康复医院")
        [row] = qa.agreement_records(s, f)
        assert (row["agreement_no"], row["kind"], row["status"], row["cls"]) == (no, "主协议", "正常", "医院")
        assert row["services"] == "住院、门诊统筹、门诊特殊疾病" and row["template"].startswith(
            "main_hospital 第 "
        )
        assert (
            qa.agreement_count(s, qa.AgreementFilter(text="示例康复医院", kind="")) == 2
        )  # (and its 补充协议)
        assert qa.agreement_count(s, qa.AgreementFilter(on=DAY - timedelta(days=1), text="示例康复医院")) == 0
        d = qa.agreement_detail(s, no)
        facts = dict(d["facts"])
        assert (
            facts["协议期限"] == "2025-03-03 至 2026-03-02" and facts["文本 SHA-256"] == main.document_sha256
        )
        assert d["has_document"] and d["renewable"] and [r["kind"] for r in d["related"]] == ["补充协议"]
        pdf, name = qa.agreement_document(s, no)
        assert pdf[:5] == b"%PDF-" and name == f"{no}.pdf"
        # the public list of the signing day has it; the day before does not
        listed = {r["机构编码"]: r for r in qt.public_rows(s, DAY)}
        assert listed[code]["开通服务"] == "住院、门诊统筹、门诊特殊疾病" and listed[code]["状态"] == "正常"
        assert code not in {r["机构编码"] for r in qt.public_rows(s, DAY - timedelta(days=1))}
        assert all(r["类别"] == "零售药店" for r in qt.public_rows(s, DAY, "pharmacy"))


def test_an_institution_after_a_sanction(db):
    with unit_of_work(db) as s:
        staff.record_measure(
            s,
            H2,
            code="M2",
            reason="病历书写不规范",
            actor=STAFF,
            day=DAY,
            deadline=DAY + timedelta(days=30),
            now=at(DAY),
        )
        staff.record_measure(
            s, H2, code="M7", reason="串换药品", actor=STAFF, day=DAY, months=1, red_line="R03", now=at(DAY)
        )
    with unit_of_work(db, write=False) as s:
        x = qt.institution_status(s, H2, today=DAY)
        assert (x["today"], x["today_reason"], x["cls"]) == ("中止", "串换药品", "医院")
        assert [m["name"] for m in x["measures"]] == ["中止医保协议", "限期整改"]
        assert x["measures"][1]["deadline"] == str(DAY + timedelta(days=30))
        ev = x["events"][0]
        assert (ev["change"], ev["by"], ev["period"]) == (
            "正常 → 中止",
            "违约处理",
            "2025-03-03 至 2025-04-02",
        )
        assert ev["red_line"].startswith("R03 ")
        assert [i["status"] for i in x["intervals"]] == ["正常", "中止", "正常"]
        assert x["intervals"][0]["note"].startswith("开通：") and "普通门诊" not in x["intervals"][1]["note"]
        f = qt.InstitutionFilter(on_day="suspended", day=DAY)
        suspended = {r["fixmedins_code"]: r for r in qt.institution_records(s, f)}
        assert suspended[H2]["on_day"] == "中止" and suspended[H2]["reason"] == "串换药品"
        assert H2 not in {
            r["fixmedins_code"]
            for r in qt.institution_records(s, qt.InstitutionFilter(on_day="active", day=DAY))
        }
        assert qt.institution_count(s, qt.InstitutionFilter(text=H2, day=DAY + timedelta(days=60))) == 1
        assert (
            qt.institution_records(s, qt.InstitutionFilter(text=H2, day=DAY + timedelta(days=60)))[0][
                "on_day"
            ]
            == "正常"
        )
        listed = {r["机构编码"]: r["状态"] for r in qt.public_rows(s, DAY)}
        assert listed[H2] == "中止"


def test_an_institution_that_left_in_words(db):
    with unit_of_work(db) as s:
        m = staff.record_measure(s, H2, code="M2", reason="病历书写不规范", actor=STAFF, day=DAY,
                                 deadline=DAY + timedelta(days=30), now=at(DAY))  # fmt: skip
        staff.register_practitioner(
            s, H2, prac_code="D990100000031", prac_name="孙医生", actor=STAFF, day=DAY
        )
        staff.close_measure(s, m.id, note="已整改", actor=STAFF, day=DAY + timedelta(days=20))
    with unit_of_work(db, write=False) as s:
        x = qt.institution_status(s, H2, today=DAY)
        assert x["exit"] is None
        assert (x["measures"][0]["status"], x["measures"][0]["open"]) == ("已办结", False)
        assert (x["practitioners"][0]["status"], x["practitioners"][0]["standing"]) == ("已备案", True)
    with unit_of_work(db) as s:
        status.terminate(s, H2, day=DAY + timedelta(days=40), by="staff", reason="机构歇业", actor=STAFF,
                         today=DAY)  # fmt: skip
    with unit_of_work(db, write=False) as s:
        x = qt.institution_status(s, H2, today=DAY + timedelta(days=50))
        assert x["today"] == "无有效协议" and x["exit"]["exit_date"] == DAY + timedelta(days=40)
        assert x["exit"]["settled"] and x["exit"]["reason"] == "机构歇业"
        assert x["practitioners"][0]["status"] == f"已注销（{DAY + timedelta(days=39)}）"


def test_the_year_assessment_in_words_and_the_exports(db, tmp_path):
    with unit_of_work(db) as s:
        assessments.assess_year(s, ADMDVS, 2025, actor=STAFF, manual={H2: {"K07": "95"}})
    with unit_of_work(db, write=False) as s:
        assert qs.years(s) == [2025]
        summary = qs.summary(s, 2025)
        assert [b["name"] for b in summary["bands"]] == ["优秀", "合格", "基本合格", "不合格"]
        assert summary["total"] == qs.sheet_count(s, qs.SheetFilter(2025)) > 0
        chart = qs.chart(summary["bands"])
        assert chart["xAxis"]["data"] == ["优秀", "合格", "基本合格", "不合格"]
        rows = qs.sheet_records(s, qs.SheetFilter(2025))
        totals = [r["total"] for r in rows]
        assert totals == sorted(totals)  # (lowest first: the ones to look at)
        d = qs.sheet_detail(s, 2025, H2)
        k07 = next(line for line in d["lines"] if line["code"] == "K07")
        assert (k07["source"], k07["value"], k07["entered"]) == ("录入", "95", "95")
        assert (
            d["grade"] in summary["bands"][0]["name"] + "合格基本合格不合格"
            and "质量保证金返还" in d["outcome"]
        )
        assert all("(" not in n for n in d["notes"])
        assert qs.entered(s, 2025, {H2}) == {H2: {"K07": "95"}}
        assert qs.sheet_detail(s, 2024, H2) is None
    accepted_application(db)
    for name, flt, title in (
        ("provider_applications", qp.ApplicationFilter(status=""), "定点申请"),
        ("provider_assessment", qs.SheetFilter(2025), "年度考核"),
        ("provider_institutions", qt.InstitutionFilter(day=DAY), "定点医药机构状态"),
        ("provider_agreements", qa.AgreementFilter(), "医保服务协议"),
    ):
        seen = []
        path, filename = qt.export_work(
            lambda done, total=None, seen=seen: seen.append((done, total)),
            name=name,
            flt=flt,
            path=str(tmp_path / f"{name}.xlsx"),
            note=flt.describe(),
        )
        ws = load_workbook(path).active
        assert ws["A1"].value.startswith(title) and filename.endswith(".xlsx")
        header = [c.value for c in ws[2]]
        assert header == [label for _, label in qt.exports()[name].columns]
        assert ws.max_row - 2 == seen[0][1] > 0
