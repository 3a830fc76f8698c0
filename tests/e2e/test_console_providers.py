"""定点管理 in a real browser (Debian's Chromium driven by Playwright) over the demo: a clerk (经办) enters a new
hospital's application at the counter, accepts it (the evaluation clock starts), appoints the panel — a
supervisor who works for the hospital is refused (回避) under the form — enters every member's sheet (pasted
as a row from a spreadsheet), concludes (passed), signs; the agreement is listed with its PDF (downloaded,
its SHA-256 the one stored) and the hospital is on the public list (定点名单) of the day and in its CSV. Then
every page of the menu opens at 1440 and 1024 px without English grid words, raw keys or "None", and fits.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest

from tests.e2e.test_console_browser import ARTIFACTS, CHROMIUM, FLAGS, REPO, demo_server, login
from yibao.providers.scheme import load_scheme
from yibao.validation import org_check_char, uscc_check_char

pytestmark = pytest.mark.browser

SCHEME = load_scheme(REPO / "regions" / "990100" / "providers")
NAME = "示例市浏览器测试康复医院"
FORBIDDEN = ("Page Size", "Contains", "None", "EXCEL", "undefined", "fixmedins", "appl_no", "supplementing")


def _uscc() -> str:
    first16 = f"52990102{'24682468'}{org_check_char('24682468')}"
    return first16 + uscc_check_char(first16)


USCC = _uscc()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "providers")


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
    pg.wait_for_timeout(500)
    pg.screenshot(path=ARTIFACTS / f"console-providers-{name}.png", full_page=True)


def _chinese(pg) -> None:
    body = pg.locator("body").inner_text()
    for raw in FORBIDDEN:
        assert raw not in body, raw


def _pick(pg, label: str, *options: str) -> None:
    pg.get_by_label(label, exact=True).click()
    for option in options:
        pg.get_by_role("option", name=option, exact=True).click()
    pg.keyboard.press("Escape")


def _sheet(share: str) -> str:
    """A row of scores at ``share`` of each indicator's full marks, in the scale's order."""
    f = Decimal(share)
    return "\t".join(
        str((i.max_points * f).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
        for i in SCHEME.evaluation.indicators
    )


def test_application_evaluation_and_signing(server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, env = server
    today = date.today()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(
            accept_downloads=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
        )
        pg = context.new_page()
        login(pg, base, "jingban", "demo-jingban-2025")
        pg.get_by_text("欢迎").wait_for(timeout=20_000)

        # 申请受理: the worklist, then the counter's form
        pg.get_by_role("complementary").get_by_text("定点管理", exact=True).click()
        pg.get_by_text(re.compile(r"共 \d+ 件")).wait_for(timeout=20_000)
        _chinese(pg)
        _shot(pg, "worklist")
        pg.get_by_role("button", name="录入新申请").click()
        pg.get_by_label("机构名称").fill(NAME)
        pg.get_by_label("统一社会信用代码").fill(USCC)
        pg.get_by_label("核定床位").fill("80")
        pg.get_by_label("开业日期").fill((today - timedelta(days=200)).isoformat())
        pg.get_by_label("执业许可证 / 药品经营许可证号").fill("PDY24682468X99010217A1001")
        pg.get_by_label("许可证有效期起").fill((today - timedelta(days=220)).isoformat())
        pg.get_by_label("许可证有效期止").fill((today + timedelta(days=1500)).isoformat())
        pg.get_by_label("法定代表人").fill("钱院长")
        pg.get_by_label("地址").fill("示例市东城区测试路 8 号")
        pg.get_by_label("科室设置（用顿号分隔）").fill("内科、康复医学科")
        pg.get_by_label("人员名单（每行一人：姓名 资质）").fill("李医生 执业医师\n周护士 执业护士")
        pg.get_by_text("信息系统已与医保信息平台对接").click()
        _pick(pg, "申请的服务类别", "住院", "门诊统筹")
        pg.get_by_text("全部已提交").click()
        _shot(pg, "new")
        pg.get_by_role("button", name="提交申请").click()

        # the application: 受理 runs the checks; the clock starts
        pg.get_by_role("button", name="受理", exact=True).wait_for(timeout=20_000)
        appl_no = pg.url.rsplit("/", 1)[-1]
        assert pg.get_by_text("已提交", exact=True).count() >= 1
        pg.get_by_role("button", name="受理", exact=True).click()
        pg.get_by_text(re.compile(r"评估计时：剩 \d+ 天")).wait_for(timeout=20_000)
        body = pg.locator("body").inner_text()
        assert "已受理" in body and NAME in body and "住院、门诊统筹" in body
        _chinese(pg)
        _shot(pg, "application")

        # 评估: the panel — a supervisor working for the hospital is refused, then the panel without him
        pg.get_by_role("button", name="评估", exact=True).last.click()
        pg.get_by_text("组织评估：确定评估人员").wait_for(timeout=20_000)
        for n, who in enumerate(("周专家", "吴专家", "郑专家", "冯代表"), 1):
            pg.get_by_label(f"第 {n} 人 姓名").fill(who)
        pg.get_by_label("任职单位（机构编号或信用代码）").nth(3).fill(USCC)
        pg.get_by_role("button", name="确定评估人员").click()
        refusal = pg.get_by_text(re.compile("未办理：冯代表 任职于被评估机构.*须回避"))
        refusal.wait_for(timeout=20_000)
        assert "works for" not in refusal.inner_text()
        _shot(pg, "panel-refused")
        assert _rows(env, "select status from provider_application where appl_no = :n", n=appl_no) == [
            ("accepted",)
        ]
        pg.get_by_label("任职单位（机构编号或信用代码）").nth(3).fill("")
        pg.get_by_role("button", name="确定评估人员").click()
        pg.get_by_text("录入评分表").wait_for(timeout=20_000)

        # every member's sheet, pasted as a row; the conclusion
        members = [
            "周专家（专家 · 医保管理）",
            "吴专家（专家 · 信息技术）",
            "郑专家（专家 · 医疗质控）",
            "冯代表（社会监督代表 · 人大代表）",
        ]
        for who, share in zip(members, ("0.8", "0.7", "0.75", "0.9"), strict=True):
            pg.get_by_label("评估人员", exact=True).click()
            pg.get_by_role("option", name=who, exact=True).click()
            pg.get_by_label("粘贴一行分数（按量表顺序，可从表格复制）").fill(_sheet(share))
            pg.get_by_role("button", name="填入").click()
            pg.get_by_role("button", name="保存评分表").click()
            name = who.split("（")[0]
            row = pg.locator("[data-testid=eval-panel] tr, .q-table tr").filter(has_text=name).first
            try:
                pg.wait_for_function(
                    "n => [...document.querySelectorAll('tr')].some(r => r.innerText.includes(n) && !r.innerText.includes('未录入'))",
                    arg=name,
                    timeout=20_000,
                )
            except Exception:
                _shot(pg, "sheet-failed")
                raise
            assert "未录入" not in row.inner_text()
        pg.get_by_text("全部评分表已录入").wait_for(timeout=20_000)
        _chinese(pg)
        _shot(pg, "evaluation")
        pg.get_by_role("button", name="作出评估结论").click()
        # trimmed mean of 80, 70, 75, 90 (drop the highest and lowest): 77.5 — the sheets round down a little
        result = pg.get_by_text(re.compile(r"评估结论：7\d\.\d\d 分，通过"))
        result.wait_for(timeout=20_000)

        # 签约: the agreement and its document
        pg.get_by_role("button", name="办理签约").click()
        pg.get_by_role("button", name="签约", exact=True).click()
        pg.get_by_text("下载协议文本（PDF").wait_for(timeout=20_000)
        agreement_no = pg.url.rsplit("/", 1)[-1]
        [(code, sha, services)] = _rows(
            env,
            "select fixmedins_code, document_sha256, services from provider_agreement where agreement_no = :n",
            n=agreement_no,
        )
        body = pg.locator("body").inner_text()
        assert sha in body and "住院、门诊统筹" in body and NAME in body and "签约" in body
        with pg.expect_download() as got:
            pg.get_by_role("button", name=re.compile("下载协议文本")).click()
        pdf = got.value.path().read_bytes()
        assert pdf[:5] == b"%PDF-" and hashlib.sha256(pdf).hexdigest() == sha
        _chinese(pg)
        _shot(pg, "agreement")

        # 协议: listed; 定点名单 of today: the hospital, and in the CSV
        pg.get_by_role("button", name="协议", exact=True).click()
        pg.get_by_label("机构名称 / 编号 / 协议编号").fill(NAME)
        pg.get_by_role("button", name="查询").click()
        pg.get_by_text("共 1 份").wait_for(timeout=20_000)
        row = pg.locator(".ag-center-cols-container").inner_text()
        assert agreement_no in row and "正常" in row and "住院、门诊统筹" in row
        pg.get_by_role("button", name="定点名单", exact=True).click()
        pg.get_by_text(re.compile(rf"{today} 定点医药机构共 [\d,]+ 家")).wait_for(timeout=20_000)
        pg.get_by_text(NAME).first.wait_for(timeout=20_000)
        with pg.expect_download() as got:
            pg.get_by_role("button", name="下载 CSV").click()
        csv_text = got.value.path().read_bytes().decode("utf-8-sig")
        assert NAME in csv_text and code in csv_text and "住院、门诊统筹" in csv_text
        _chinese(pg)
        _shot(pg, "public")
        browser.close()
    assert services == '["S01", "S04"]' or services == ["S01", "S04"]
    assert _rows(env, "select status from provider_application where appl_no = :n", n=appl_no) == [
        ("signed",)
    ]


@pytest.mark.parametrize("width", (1440, 1024))
def test_every_provider_page_fits(server, width):
    """Each page of the menu opens without an error page, shows no English grid words or raw keys, and fits."""
    from playwright.sync_api import sync_playwright

    base, env = server
    [(appl_no,)] = _rows(env, "select appl_no from provider_application where status = 'evaluating' limit 1")
    [(agreement_no, code)] = _rows(
        env, "select agreement_no, fixmedins_code from provider_agreement where document is not null limit 1"
    )
    [(year,)] = _rows(env, "select max(year) from provider_assessment")
    [(sheet_code,)] = _rows(env, "select min(fixmedins_code) from provider_assessment_sheet")
    [(gone,)] = _rows(env, "select fixmedins_code from provider_application where kind = 'terminate'")
    pages = [
        ("/providers", "共 "),
        ("/providers/new", "提交申请"),
        (f"/providers/application/{appl_no}", "办理记录"),
        ("/providers/evaluation", "共 "),
        (f"/providers/evaluation/{appl_no}", "评估人员与评分表"),
        ("/providers/agreements", "共 "),
        (f"/providers/agreement/{agreement_no}", "状态记录"),
        ("/providers/institutions", "共 "),
        (f"/providers/institution/{code}", "医保医师备案"),
        (f"/providers/institution/{gone}", "退出清算"),
        ("/providers/assessment", "等次分布"),
        (f"/providers/assessment/{year}/{sheet_code}", "考核结果的运用"),
        ("/providers/public", "定点医药机构共"),
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
            name = "providers" + re.sub(r"[/?=&]", "-", path.removeprefix("/providers"))
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
