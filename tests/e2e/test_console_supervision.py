"""智能监管 in a real browser (Debian's Chromium driven by Playwright) over the demo: a 稽核 opens 规则库, finds a
rule, disables it with a reason (a missing reason is refused under the form) and sees the change in its
versions; starts a 事后 run of one rule as a background job and sees it listed; opens 疑点管理 over suspicions
written directly to the database, filters them by institution, opens one — rule, institution, person and
lines by name — and notifies the institution; a handler (经办) then records the institution's appeal. Every page
is Chinese: no raw status keys, field names or "None". Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.e2e.test_console_browser import ARTIFACTS, CHROMIUM, FLAGS, demo_server, login

pytestmark = pytest.mark.browser

# a rule of our own beside whatever library the demo region ships, and suspicions and warnings written directly
PREPARE = r'''
import json
from datetime import date, datetime, timedelta
from pathlib import Path
import tempfile

from sqlalchemy import func, select

from yibao.store import audit_rules
from yibao.store.db import get_engine, unit_of_work
from yibao.store.tables import AuditRun, AuditSuspicion, AuditWarning, CatalogueItem, FeeLine, Institution, Person, Settlement, Visit
from yibao.supervision.library_files import load_library

LIBRARY = """
rules:
  - rule_code: E2E-SEX
    name: 降压药限男性使用（演示）
    kind: sex_limit
    class_l1: 政策类
    class_l2: 药品政策限定
    result_type: 违规
    stages: [pre, mid, post]
    actions: {upload: block, settle: warn}
    effective_from: 2025-01-01
    legal_basis: 《医疗保障基金使用监督管理条例》第三十八条
    knowledge:
      - {code: XC08CAA010A001995102630, gend: "1", source_batch: 演示批次}
    tests:
      - {name: 女性患者使用, expect: hit, person: {gend: "2"}, visits: [{lines: [[1, XC08CAA010A001995102630, 1, "3.52"]]}]}
      - {name: 男性患者使用, expect: miss, person: {gend: "1"}, visits: [{lines: [[1, XC08CAA010A001995102630, 1, "3.52"]]}]}
  - rule_code: E2E-RUN
    name: 常用项目限女性使用（演示）
    kind: sex_limit
    class_l1: 政策类
    class_l2: 医疗服务项目政策限定
    result_type: 违规
    stages: [post]
    effective_from: 2025-01-01
    knowledge:
      - {code: "@COMMON@", gend: "2"}
"""

with unit_of_work(get_engine()) as s:
    common = s.execute(  # the code billed most often: a 事后 rule on it finds something in the demo year
        select(FeeLine.med_list_codg).group_by(FeeLine.med_list_codg).order_by(func.count().desc()).limit(1)
    ).scalar()
    folder = Path(tempfile.mkdtemp())
    (folder / "e2e.yaml").write_text(LIBRARY.replace("@COMMON@", common), encoding="utf-8")
    audit_rules.import_library(s, load_library(folder), actor="admin", reason="浏览器测试")
    run = AuditRun(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), rules=["E2E-SEX"], engine="duckdb",
                   library_version="e2e", status="done", lines=11774, visits=3025, findings=3, new_suspicions=3,
                   suppressed=0, amount_fen=0, seconds=2, started_at=datetime(2026, 1, 5, 9), started_by="jihe")
    s.add(run)
    s.flush()
    picked = s.execute(
        select(FeeLine, Visit, Settlement.setl_id)
        .join(Visit, Visit.mdtrt_id == FeeLine.mdtrt_id)
        .join(Settlement, Settlement.mdtrt_id == Visit.mdtrt_id)
        .where(FeeLine.med_list_codg.in_(select(CatalogueItem.med_list_codg)), Settlement.refd_setl_flag == "0")
        .order_by(Visit.fixmedins_code, FeeLine.id)
    ).all()
    chosen, seen = [], set()
    for line, visit, setl_id in picked:
        if visit.fixmedins_code not in seen:
            seen.add(visit.fixmedins_code)
            chosen.append((line, visit, setl_id))
        if len(chosen) == 3:
            break
    for n, (line, visit, setl_id) in enumerate(chosen, 1):
        amount = 10_000 * n + 5_000
        s.add(AuditSuspicion(
            fingerprint=f"e2e{n}", run_id=run.id, rule_code="E2E-SEX", rule_name="降压药限男性使用（演示）",
            rule_version=1, result_type="违规", sev_deg="1", vola_bhvr_type="2", fixmedins_code=visit.fixmedins_code,
            mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, setl_id=setl_id, service_date=visit.begntime.date(),
            vola_amt=amount, vola_cont=f"降压药限男性使用（演示）: 限男性使用，患者为女性，涉及金额 {amount // 100}.00 元",
            evidence={"observed": "2", "limit": "1", "kind": "sex_limit", "params": {},
                      "knowledge": [{"values": {"code": "XC08CAA010A001995102630", "gend": "1"}, "source_batch": "演示批次"}],
                      "legal_basis": "《医疗保障基金使用监督管理条例》第三十八条", "rule_version": 1,
                      "period": ["2025-01-01", "2025-12-31"]},
            lines=[{"line_id": line.id, "feedetl_sn": line.feedetl_sn, "med_list_codg": line.med_list_codg,
                    "role": "1", "amt": amount}],
            status="open", created_at=datetime(2026, 1, 5, 9, 1), deducted_fen=0))
        s.add(AuditWarning(
            jr_id=f"E2EJR{n}", msgid=f"E2EMSG{n}", infno="3102", warn_type="2", fixmedins_code=visit.fixmedins_code,
            psn_no=visit.psn_no, mdtrt_id=visit.mdtrt_id, rule_code="E2E-SEX", sev_deg="1",
            action="block" if n == 1 else "warn", vola_amt=352, vola_cont="降压药限男性使用（演示）: 限男性使用",
            detail=[], created_at=datetime(2025, 6, n, 10), dspo_way="1" if n == 2 else None,
            dspo_way_rea="已告知患者自费" if n == 2 else None))
    print(json.dumps([visit.fixmedins_code for _, visit, _ in chosen]))
'''


def _prepare(database_url: str) -> None:
    env = {**os.environ, "YIBAO_MODE": "demo", "YIBAO_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-c", PREPARE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "supervision", prepare=_prepare)


def _rows(env: dict, sql: str, **params) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.wait_for_timeout(600)
    pg.screenshot(path=ARTIFACTS / f"console-{name}.png", full_page=True)


def _chinese(pg) -> None:
    """No raw keys, English grid words or 'None' on the page."""
    body = pg.locator("body").inner_text()
    for raw in (
        "None",
        "sev_deg",
        "vola_",
        "fixmedins",
        "med_list_codg",
        "Page Size",
        "notified",
        "sex_limit",
    ):
        assert raw not in body, raw


def _browser(pw, base: str, user: str, password: str):
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    context = browser.new_context(
        accept_downloads=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
    )
    pg = context.new_page()
    login(pg, base, user, password)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    return browser, pg


def test_rules_runs_and_suspicions(server):
    from playwright.sync_api import sync_playwright

    base, env = server
    rules = _rows(env, "select count(*) from audit_rule")[0][0]
    with sync_playwright() as pw:
        browser, pg = _browser(pw, base, "jihe", "demo-jihe-2025")
        # 规则库: the whole library, counted; a rule found by its name and opened
        pg.get_by_role("complementary").get_by_text("智能监管", exact=True).click()
        pg.get_by_text(f"共 {rules:,} 条").wait_for(timeout=20_000)
        _chinese(pg)
        _shot(pg, "supervision-rules")
        pg.get_by_label("规则编码 / 名称").fill("降压药")
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 1 条").wait_for(timeout=20_000)
        row = pg.locator("[col-id='name']").filter(has_text="降压药限男性使用（演示）")
        assert "拦截" in pg.locator(".ag-center-cols-container .ag-row").first.inner_text()
        row.first.click()
        pg.get_by_text("知识点（1 条）").wait_for(timeout=20_000)
        body = pg.locator("body").inner_text()
        assert "苯磺酸氨氯地平片（XC08CAA010A001995102630）" in body and "限定性别" in body
        assert "上传明细时拦截；结算时提醒" in body and "应命中" in body
        # 停用 without a reason is refused under the form; with one it is a new version
        pg.get_by_role("button", name="停用", exact=True).click()
        pg.get_by_text("未办理：启用或停用规则须说明原因").wait_for(timeout=20_000)
        pg.get_by_label("原因（必填）").fill("知识点待复核")
        pg.get_by_role("button", name="停用", exact=True).click()
        pg.get_by_role("button", name="启用", exact=True).wait_for(timeout=20_000)
        versions = pg.locator(".q-table").last.inner_text()
        assert "知识点待复核" in versions and "状态：启用 → 停用" in versions and "赵稽核（jihe）" in versions
        _chinese(pg)
        _shot(pg, "supervision-rule")
        assert _rows(env, "select enabled, version from audit_rule where rule_code = 'E2E-SEX'") == [(0, 2)]

        # 审核任务: one rule over the demo year, as a background job with its progress
        pg.get_by_role("button", name="返回规则库").click()
        pg.get_by_role("button", name="审核任务", exact=True).click()
        pg.get_by_text("发起事后审核").wait_for(timeout=20_000)
        pg.get_by_label("结算期间从").fill("2025-01-01")
        pg.get_by_label("到", exact=True).fill("2025-12-31")
        rules_box = pg.get_by_label("规则（不选为全部启用的事后规则）")
        rules_box.click()
        rules_box.fill("E2E-RUN")
        pg.get_by_role("option").filter(has_text="E2E-RUN").click()
        pg.keyboard.press("Escape")
        pg.get_by_role("button", name="开始审核").click()
        status = pg.get_by_text(re.compile("事后审核 2025-01-01 至 2025-12-31：(已完成|失败)")).first
        status.wait_for(timeout=120_000)
        assert "已完成" in status.inner_text(), status.inner_text()
        [(runs,)] = _rows(env, "select count(*) from audit_run")
        pg.get_by_text(f"共 {runs:,} 次").wait_for(timeout=20_000)
        [(run_id, found)] = _rows(
            env, "select id, new_suspicions from audit_run where rules like '%E2E-RUN%'"
        )
        assert (
            f"新增疑点 {found:,} 个"
            in pg.get_by_text("事后审核 2025-01-01 至 2025-12-31：已完成").first.inner_text()
        )
        _chinese(pg)
        _shot(pg, "supervision-runs")
        # the latest run, shown first (AG Grid keeps a row's element when its position changes: by index, not DOM order)
        pg.locator(".ag-center-cols-container .ag-row[row-index='0'] [col-id='period']").click()
        pg.get_by_text(f"审核任务 #{run_id} 发现的疑点").wait_for(timeout=20_000)
        pg.get_by_text(f"共 {found:,} 个疑点").wait_for(timeout=20_000)

        # 疑点管理: the three suspicions of our rule, filtered by institution, one opened and notified
        pg.get_by_role("button", name="疑点管理", exact=True).click()
        [(everything,)] = _rows(env, "select count(*) from audit_suspicion")
        pg.get_by_text(f"共 {everything:,} 个疑点").wait_for(timeout=20_000)
        pg.get_by_label("规则").click()
        pg.get_by_role("option", name="降压药限男性使用（演示）（E2E-SEX）", exact=True).click()
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 3 个疑点，涉及金额 750.00 元").wait_for(timeout=20_000)
        [(code, name, _amount)] = _rows(
            env,
            "select s.fixmedins_code, i.fixmedins_name, s.vola_amt from audit_suspicion s"
            " join institution i on i.fixmedins_code = s.fixmedins_code where s.fingerprint = 'e2e1'",
        )
        pg.get_by_label("定点机构").click()
        pg.get_by_role("option", name=name, exact=True).click()
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 1 个疑点，涉及金额 150.00 元").wait_for(timeout=20_000)
        grid_text = pg.locator(".ag-center-cols-container").inner_text()
        assert name in grid_text and "初审待办" in grid_text and "150.00" in grid_text
        _chinese(pg)
        _shot(pg, "supervision-suspicions")
        pg.locator(".ag-center-cols-container .ag-row [col-id='rule_name']").first.click()
        pg.get_by_text("涉及的费用明细（1 条）").wait_for(timeout=20_000)
        body = pg.locator("body").inner_text()
        [(psn_name, item)] = _rows(
            env,
            "select p.psn_name, c.med_list_name from audit_suspicion s join person p on p.psn_no = s.psn_no"
            " join catalogue_item c on c.med_list_codg = json_extract(s.lines, '$[0].med_list_codg')"
            " where s.fingerprint = 'e2e1' limit 1",
        )
        assert f"{name}（{code}）" in body and psn_name in body and item in body and "违规项" in body
        assert "观察值" in body and "女" in body and "初审待办" in body
        pg.get_by_role("button", name="告知机构", exact=True).click()
        pg.get_by_text("已告知机构").first.wait_for(timeout=20_000)
        history = pg.locator(".q-table").last.inner_text()
        assert "告知机构" in history and "赵稽核（jihe）" in history and "答复期限" in history
        assert pg.get_by_role("button", name="告知机构", exact=True).count() == 0  # (done: no longer offered)
        _chinese(pg)
        _shot(pg, "supervision-suspicion")
        suspicion_url = pg.url

        # 事前事中提醒
        pg.get_by_role("button", name="返回疑点管理").click()
        pg.get_by_role("button", name="事前事中提醒", exact=True).click()
        pg.get_by_text("共 3 条").wait_for(timeout=20_000)
        text = pg.locator(".ag-center-cols-container").inner_text()
        assert "拦截" in text and "提醒" in text and "继续" in text and "未反馈" in text and "事中" in text
        _chinese(pg)
        _shot(pg, "supervision-warnings")
        pg.get_by_label("机构反馈").click()
        pg.get_by_role("option", name="未反馈", exact=True).click()
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 2 条").wait_for(timeout=20_000)

        # 筛查线索: the year screened in the background; the head of a ranking opened with its signals and charts
        pg.get_by_role("button", name="筛查线索", exact=True).click()
        pg.get_by_role("button", name="运行筛查").click()
        pg.get_by_text("筛查时间").wait_for(timeout=120_000)
        pg.get_by_text("显示各模式排名前 10（含未达线索标准的）").click()
        pg.get_by_text("单病种激增、住院同质").first.wait_for(timeout=20_000)
        pg.locator(".ag-center-cols-container .ag-row[row-index='0'] [col-id='entity']").click()
        pg.get_by_text("同类阈值").wait_for(timeout=20_000)
        pg.get_by_text("按月住院人次：本院与同级").wait_for(timeout=20_000)
        pg.locator("canvas").first.wait_for(timeout=20_000)  # (an ECharts chart drawn)
        _chinese(pg)
        _shot(pg, "supervision-screening")
        browser.close()

        # a handler records the institution's appeal, with a file
        browser, pg = _browser(pw, base, "jingban", "demo-jingban-2025")
        pg.get_by_role("complementary").get_by_text("智能监管", exact=True).click()
        pg.get_by_role("button", name="疑点管理", exact=True).click()
        pg.get_by_label("状态").click()
        pg.get_by_role("option", name="已告知机构", exact=True).click()
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 1 个疑点").wait_for(timeout=20_000)
        pg.goto(suspicion_url)
        pg.get_by_role("button", name="代机构申诉").wait_for(timeout=20_000)
        assert pg.get_by_role("button", name="告知机构").count() == 0
        pg.get_by_role("button", name="代机构申诉").click()
        pg.get_by_text("未办理：必须填写申诉理由").wait_for(timeout=20_000)
        pg.get_by_label("理由 / 意见").fill("患者为男性，性别登记有误，附身份证明")
        pg.locator("input[type=file]").set_input_files(
            files=[{"name": "证明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 demo"}]
        )
        pg.wait_for_timeout(1500)
        pg.get_by_role("button", name="代机构申诉").click()
        pg.get_by_text("机构申诉", exact=True).first.wait_for(timeout=20_000)
        body = pg.locator("body").inner_text()
        assert "证明.pdf" in body and "患者为男性，性别登记有误" in body
        _chinese(pg)
        browser.close()
    assert _rows(env, "select status, response from audit_suspicion where fingerprint = 'e2e1'") == [
        ("appealed", "appeal")
    ]


FORBIDDEN = ("Page Size", "Contains", "Filter…", "None", "EXCEL", "undefined", "sev_deg", "vola_amt")


@pytest.mark.parametrize("width", (1440, 1024))
def test_every_supervision_page_fits(server, width):
    """Each page of the menu opens without an error page, shows no English grid words or raw keys, and fits."""
    from playwright.sync_api import sync_playwright

    base, env = server
    [(suspicion,)] = _rows(env, "select id from audit_suspicion where fingerprint = 'e2e2'")
    pages = [
        ("/supervision", "共 "),
        ("/supervision/rule/E2E-SEX", "版本记录"),
        ("/supervision/runs", "共 "),
        ("/supervision/suspicions", "共 "),
        (f"/supervision/suspicion/{suspicion}", "处理记录"),
        ("/supervision/warnings", "共 "),
        ("/supervision/screening", "筛查"),
    ]
    folder = ARTIFACTS / "screens" / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        pg = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}).new_page()
        login(pg, base, "admin", "demo-admin-2025")
        pg.get_by_text("欢迎").wait_for(timeout=20_000)
        for path, ready in pages:
            pg.goto(f"{base}/console{path}")
            pg.get_by_text(ready).first.wait_for(timeout=20_000)
            pg.wait_for_timeout(800)
            name = "supervision" + path.removeprefix("/supervision").replace("/", "-")
            pg.screenshot(path=folder / f"{name}.png", full_page=True)
            text = pg.locator("body").inner_text()
            problems += [f"{path}: shows {word!r}" for word in FORBIDDEN if word in text]
            if "页面不存在" in text or "页面出错了" in text:
                problems.append(f"{path}: error page")
            overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 4:
                problems.append(f"{path}: {overflow} px wider than the window")
        browser.close()
    assert problems == []
