"""The staff console in a real browser (Debian's Chromium driven by Playwright): log in, search a person,
open a settlement, see charts drawn, export a filtered list and read the .xlsx back. Screenshots are kept
in test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("YIBAO_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI installs Debian's chromium)", pytrace=False)
        pytest.skip("Chromium not installed (apt-get install chromium)")
    work = tmp_path_factory.mktemp("console")
    env = {
        **os.environ,
        "YIBAO_MODE": "demo",
        "YIBAO_DATABASE_URL": f"sqlite:///{work}/demo.db",
        "YIBAO_DATA_DIR": str(work / "data"),
        "YIBAO_REGIONS_DIR": str(REPO / "regions"),
    }
    env.pop("YIBAO_TEST_DATABASE_URL", None)
    yibao = [sys.executable, "-m", "yibao.cli"]
    subprocess.run(
        [*yibao, "demo", "--persons", "400", "--seed", "3"], env=env, check=True, capture_output=True
    )
    port = _free_port()
    proc = subprocess.Popen(
        [*yibao, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", env
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(
            accept_downloads=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
        )
        yield context.new_page(), server[0]
        browser.close()


def login(pg, base: str, user: str = "jingban", password: str = "demo-jingban-2025") -> None:
    pg.goto(f"{base}/console/")
    pg.wait_for_url("**/console/login**")
    pg.get_by_label("用户名").fill(user)
    pg.get_by_label("密码").fill(password)
    pg.get_by_role("button", name="登录").click()


def test_login_refuses_a_wrong_password_then_shows_the_dashboard(page):
    pg, base = page
    login(pg, base, password="not-the-password")
    pg.get_by_text("用户名或密码错误").wait_for()
    pg.get_by_label("密码").fill("demo-jingban-2025")
    pg.get_by_role("button", name="登录").click()
    pg.get_by_text("欢迎，王经办").wait_for(timeout=20_000)
    pg.locator("canvas").first.wait_for(timeout=20_000)  # an ECharts chart was drawn
    assert pg.locator("canvas").count() >= 3
    assert pg.get_by_text("基金支付 (元)").is_visible()
    pg.wait_for_timeout(1500)  # let the charts lay out before the picture
    pg.screenshot(path=ARTIFACTS / "console-home.png", full_page=True)
    pg.get_by_role("button", name="退出登录").click()
    pg.wait_for_url("**/console/login**")


def test_search_a_person_and_open_a_settlement(page):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/persons")
    pg.get_by_label("姓名 / 证件号码 / 人员编号").fill("9901000000000007")
    pg.get_by_role("button", name="查询").click()
    row = pg.locator("tbody tr").first
    row.wait_for()
    assert "*" in row.inner_text()  # ID numbers are masked
    row.click()
    pg.get_by_text("参保登记").wait_for(timeout=20_000)
    pg.screenshot(path=ARTIFACTS / "console-person.png", full_page=True)
    settlements = pg.locator("tbody tr").filter(has_text="990100S")
    if settlements.count() == 0:
        pytest.skip("this person had no settlement in the generated year")
    settlements.first.click()
    pg.get_by_text("结算信息 setlinfo").wait_for(timeout=20_000)
    assert pg.get_by_text("medfee_sumamt").is_visible() and pg.get_by_text("政策参数 trace").is_visible()
    pg.screenshot(path=ARTIFACTS / "console-settlement.png", full_page=True)


def test_filter_settlements_and_export_to_excel(page, tmp_path):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/settlements")
    status_text = re.compile(r"^共 [\d,]+ 笔")
    pg.get_by_text(status_text).wait_for(timeout=20_000)
    pg.get_by_label("金额 ≥").fill("1000")
    pg.get_by_role("button", name="查询").click()
    pg.wait_for_timeout(1500)
    status = pg.get_by_text(status_text).inner_text()
    shown = int(status.split("共 ")[1].split(" 笔")[0].replace(",", ""))
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="导出 Excel").click()
    target = tmp_path / "settlements.xlsx"
    dl.value.save_as(target)
    ws = load_workbook(target).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "结算ID" and len(rows) - 1 == shown > 0
    amount_col = rows[0].index("医疗费总额")
    assert all(r[amount_col] >= 1000 for r in rows[1:])
    pg.screenshot(path=ARTIFACTS / "console-settlements.png", full_page=True)
