"""Every console page at the two widths staff use (1440 and 1024 px), as screenshots kept in
test-artifacts/screens/: each page opens without an error page, shows no English grid words, no raw field
names and no upper-cased buttons, and its content fits the width (nothing pushed past the right edge)."""

from __future__ import annotations

import pytest

from tests.e2e.test_console_browser import ARTIFACTS, CHROMIUM, FLAGS, _db_count, login, server  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = (1440, 1024)
# words that must not reach a clerk: AG Grid's English, internal field names, Python's None
FORBIDDEN = (
    "Page Size",
    "Contains",
    "Filter…",
    "fund_pay_type",
    "medfee_sumamt",
    "None",
    "EXCEL",
    "undefined",
)


def _first(env: dict, sql: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return str(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _pages(env: dict) -> list[tuple[str, str, str]]:
    """(file name, path, a text the page shows when it has loaded)."""
    setl_id = _first(
        env, "select setl_id from settlement where refd_setl_flag = '0' order by setl_id limit 1"
    )
    psn_no = _first(env, f"select psn_no from settlement where setl_id = '{setl_id}'")
    emp_no = _first(env, "select emp_no from employer order by emp_no limit 1")
    return [
        ("home", "/", "按月基金支付"),
        ("persons", f"/persons?q_text={psn_no}", "人员编号"),
        ("person", f"/person/{psn_no}", "年度累计"),
        ("enrollment", "/enrollment", "证件号码"),
        ("employers", "/employers", "单位"),
        ("employer", f"/employer/{emp_no}", "单位"),
        ("duplicates", "/duplicates", "重复参保"),
        ("settlements", "/settlements", "共 "),
        ("settlement", f"/settlement/{setl_id}", "读取的政策参数"),
        ("institutions", "/institutions", "定点机构"),
        ("review", "/review", "审核"),
        ("payment", "/payment", "共 "),
        ("payment-worklist", "/payment/worklist", "共 "),
        ("payment-cmi", "/payment/cmi", "相对权重"),
        ("payment-budget", "/payment/budget", "测算过程"),
        ("payment-runs", "/payment/runs", "共 "),
        ("payment-clearing", "/payment/clearing", "各基金池的点值"),
        ("payment-statement", "/payment/statement", "病例（金额"),
        ("payment-indicators", "/payment/indicators", "数据来源"),
        ("payment-reviews", "/payment/reviews", "共 "),
        ("not-found", "/no-such-page", "页面不存在"),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_at_each_width(server, width):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, env = server
    folder = ARTIFACTS / "screens" / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        pg = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}).new_page()
        login(pg, base, "admin", "demo-admin-2025")
        pg.get_by_text("欢迎").wait_for(timeout=20_000)
        for name, path, ready in _pages(env):
            pg.goto(f"{base}/console{path}")
            pg.get_by_text(ready).first.wait_for(timeout=20_000)
            pg.wait_for_timeout(1200)  # (charts and grids lay out)
            pg.screenshot(path=folder / f"{name}.png", full_page=True)
            text = pg.locator("body").inner_text()
            problems += [f"{name}: shows {word!r}" for word in FORBIDDEN if word in text]
            if (name != "not-found" and "页面不存在" in text) or "页面出错了" in text:
                problems.append(f"{name}: error page")
            overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 4:
                problems.append(f"{name}: {overflow} px wider than the window")
        browser.close()
    assert problems == []
