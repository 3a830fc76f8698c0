"""The 付费结算 pages in a real browser (Debian's Chromium driven by Playwright) over the demo's year of case
payment (budgets, twelve month runs and the clearing): each page shows the database's own figures — a budget,
a month's 核定金额, the clearing's total, a hospital's statement and its cases, the indicators of the year —
the statement and the indicators export to Excel, a 局长 may read but not run, and a 基金管理 reruns a month
as a background job after confirming a new version."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook

from tests.e2e.test_console_browser import ARTIFACTS, CHROMIUM, FLAGS, REPO, demo_server, login
from yibao.console.display import yuan

pytestmark = pytest.mark.browser

# the year of case payment, unless the demo made it already (``yibao demo`` runs it)
PREPARE = """
from yibao.cli import main
from yibao.console.queries_overview import latest_year
from yibao.console.queries_payment_runs import posted
from yibao.store.db import get_engine, unit_of_work

with unit_of_work(get_engine(), write=False) as s:
    year = latest_year(s)
    cleared = posted(s, year, 0) is not None
if not cleared:
    steps = [["history", "synthetic", "--year", str(year)], ["budget", "--year", str(year)]]
    steps += [["month", "--year", str(year), "--month", str(m)] for m in range(1, 13)]
    for step in [*steps, ["clear", "--year", str(year)]]:
        assert main(["payment", *step]) == 0, step
"""


def _prepare(database_url: str) -> None:
    env = {
        **os.environ,
        "YIBAO_MODE": "demo",
        "YIBAO_DATABASE_URL": database_url,
        "YIBAO_REGIONS_DIR": str(REPO / "regions"),
    }
    subprocess.run([sys.executable, "-c", PREPARE], env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "payment-runs", prepare=_prepare)


def _rows(env: dict, sql: str, **params) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _browser(pw, user: str, password: str, base: str):
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    context = browser.new_context(
        accept_downloads=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
    )
    pg = context.new_page()
    login(pg, base, user, password)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    return browser, pg


def _year(env: dict) -> int:
    return _rows(env, "select max(year) from payment_run where kind = 'clear' and status = 'posted'")[0][0]


def _shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.wait_for_timeout(800)
    pg.screenshot(path=ARTIFACTS / f"console-{name}.png", full_page=True)


def test_every_page_shows_the_years_figures(server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, env = server
    year = _year(env)
    [(clear_id, clear_total)] = _rows(
        env,
        "select r.id, sum(l.paid_fen) from payment_run r join payment_line l on l.run_id = r.id"
        " where r.kind = 'clear' and r.status = 'posted' and r.year = :y group by r.id",
        y=year,
    )
    budget = _rows(env, "select fund_budget_fen from payment_budget where year = :y and is_current", y=year)
    [(march,)] = _rows(
        env,
        "select sum(l.entitlement_fen) from payment_line l join payment_run r on r.id = l.run_id"
        " where r.kind = 'month' and r.month = 3 and r.status = 'posted' and r.year = :y",
        y=year,
    )
    with sync_playwright() as pw:
        browser, pg = _browser(pw, "admin", "demo-admin-2025", base)
        pg.goto(f"{base}/console/")
        pg.get_by_role("complementary").get_by_text(
            "付费结算", exact=True
        ).click()  # the menu: the month runs
        pg.get_by_text("共 13 次").wait_for(timeout=20_000)
        assert pg.get_by_text(yuan(march), exact=True).count() == 1  # March's 核定金额, as the lines add up
        assert pg.get_by_role("button", name="计算", exact=True).is_visible()  # (系统管理员 may run)
        _shot(pg, "payment-runs")

        pg.get_by_role("button", name="预算", exact=True).click()
        pg.get_by_text("测算过程").wait_for(timeout=20_000)
        body = pg.locator("body").inner_text()
        assert budget and all(yuan(fen) in body for (fen,) in budget)
        assert "上年基金收入" in body and "元/权重" in body and "None" not in body
        _shot(pg, "payment-budget")

        pg.get_by_role("button", name="清算", exact=True).click()
        pg.get_by_text("各基金池的点值").wait_for(timeout=20_000)
        assert pg.get_by_text(yuan(clear_total), exact=True).count() == 1  # 清算合计
        _shot(pg, "payment-clearing")

        # a hospital's line opens its statement of the clearing
        pg.locator(".ag-root-wrapper").nth(1).locator(
            ".ag-center-cols-container .ag-row .ag-cell"
        ).first.click()
        pg.get_by_text(re.compile(r"年度清算结算单（第 \d+ 版）")).wait_for(timeout=20_000)
        title = pg.get_by_text(re.compile(r"年度清算结算单")).first.inner_text()
        code = title.split(" ")[0]
        cases = _rows(
            env,
            "select setl_id, amount_fen from payment_case where run_id = :r and fixmedins_code = :c"
            " order by dscg_date, setl_id",
            r=clear_id,
            c=code,
        )
        [(entitled,)] = _rows(
            env,
            "select sum(entitlement_fen) from payment_line where run_id = :r and fixmedins_code = :c",
            r=clear_id,
            c=code,
        )
        pg.get_by_text(f"共 {len(cases)} 例").wait_for(timeout=20_000)
        grid = pg.locator(".ag-root-wrapper").last
        if cases:
            assert grid.locator(".ag-row").first.locator("[col-id='setl_id']").inner_text() == cases[0][0]
        assert pg.get_by_text(yuan(entitled), exact=True).count() >= 1  # 合计 = Σ the lines' 核定金额
        _shot(pg, "payment-statement")
        with pg.expect_download(timeout=60_000) as dl:
            pg.get_by_role("button", name="导出 Excel").click()
        target = tmp_path / "statement.xlsx"
        dl.value.save_as(target)
        rows = list(load_workbook(target).active.iter_rows(values_only=True))
        assert rows[0][0].startswith("机构结算单") and code in rows[0][0]
        amount = rows[1].index("金额（元）")
        assert [r[1] for r in rows[2 : 2 + len(cases)]] == [c for c, _ in cases]
        assert [Decimal(str(r[amount])) for r in rows[2 : 2 + len(cases)]] == [
            Decimal(f) / 100 for _, f in cases
        ]
        total = next(r for r in rows if r[1] == "合计")
        assert Decimal(str(total[amount])) == Decimal(entitled) / 100

        pg.get_by_role("button", name="指标", exact=True).click()
        pg.get_by_text("数据来源").wait_for(timeout=20_000)
        pg.get_by_text("按月份").click()
        pg.get_by_text("全市", exact=True).wait_for(timeout=20_000)
        [(weights, drg_cases)] = _rows(
            env,
            "select sum(weight4), count(*) from payment_case where run_id = :r and method = 'drg'",
            r=clear_id,
        )
        cmi = (Decimal(weights) / drg_cases / 10_000).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        region = pg.locator(".ag-row", has_text="全市")
        assert region.locator("[col-id='cmi']").inner_text() == f"{cmi:,}"
        assert pg.locator("canvas").count() >= 2  # the payment ratio and CMI charts
        _shot(pg, "payment-indicators")
        with pg.expect_download(timeout=60_000) as dl:
            pg.get_by_role("button", name="导出 Excel").click()
        target = tmp_path / "indicators.xlsx"
        dl.value.save_as(target)
        rows = list(load_workbook(target).active.iter_rows(values_only=True))
        assert rows[1][0] == "月份" and rows[-1][0] == "全市" and rows[-1][rows[1].index("CMI")] == float(cmi)
        browser.close()


def test_a_director_reads_but_may_not_run(server):
    from playwright.sync_api import sync_playwright

    base, _ = server
    with sync_playwright() as pw:
        browser, pg = _browser(pw, "juzhang", "demo-juzhang-2025", base)
        pg.goto(f"{base}/console/payment/runs")
        pg.get_by_text("共 13 次").wait_for(timeout=20_000)
        assert pg.get_by_text("计算与重新计算需要“管理基金”权限").is_visible()
        assert pg.get_by_role("button", name="计算", exact=True).count() == 0
        browser.close()


def test_a_fund_manager_reruns_the_clearing_as_a_new_version(server):
    """A posted period is re-run only after a confirmation, as a new version (the demo's year is cleared, so
    its months are closed: the clearing is what can be re-run)."""
    from playwright.sync_api import sync_playwright

    base, env = server
    year = _year(env)
    with sync_playwright() as pw:
        browser, pg = _browser(pw, "jijin", "demo-jijin-2025", base)
        pg.goto(f"{base}/console/payment/runs?year={year}")
        pg.get_by_text("共 13 次").wait_for(timeout=20_000)
        pg.get_by_label("期间").click()
        pg.get_by_role("option", name="年度清算", exact=True).click()
        pg.get_by_role("button", name="计算", exact=True).click()
        pg.get_by_text(re.compile(r"年度清算已过账（第 1 版")).wait_for(timeout=10_000)
        assert pg.get_by_text("重新计算将生成第 2 版").is_visible()
        _shot(pg, "payment-rerun-dialog")
        pg.get_by_role("button", name="重新计算（新版本）", exact=True).click()
        pg.get_by_text(re.compile(r"年度清算（重新计算）: 已完成")).wait_for(timeout=90_000)
        pg.get_by_text("共 14 次").wait_for(timeout=10_000)
        assert pg.get_by_text("已被取代").count() == 1
        _shot(pg, "payment-rerun")
        browser.close()
    versions = _rows(
        env,
        "select version, status, created_by from payment_run where kind = 'clear' and year = :y order by version",
        y=year,
    )
    assert [(v, st) for v, st, _ in versions] == [(1, "superseded"), (2, "posted")]
    assert versions[1][2] == "jijin"  # the run's actor is the signed-in user
