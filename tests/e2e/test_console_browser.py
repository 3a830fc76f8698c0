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
from collections.abc import Iterator
from datetime import datetime
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


def demo_server(tmp_path_factory, name: str = "console", prepare=None) -> Iterator[tuple[str, dict]]:
    """A demo database (400 persons), ``prepare(database_url)`` run on it if given, and ``yibao serve`` on a
    free port: yields (base URL, environment). Skips, or fails in CI, without Chromium."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("YIBAO_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI installs Debian's chromium)", pytrace=False)
        pytest.skip("Chromium not installed (apt-get install chromium)")
    work = tmp_path_factory.mktemp(name)
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
    if prepare is not None:
        prepare(env["YIBAO_DATABASE_URL"])
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory)


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
    assert pg.get_by_text("基金支付（元）").is_visible()
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
    pg.get_by_text("共 1 人").wait_for(timeout=20_000)
    row = pg.locator(".ag-center-cols-container .ag-row").first
    assert "*" in row.locator("[col-id='certno']").inner_text()  # ID numbers are masked
    row.locator("[col-id='psn_name']").click()
    pg.get_by_text("门诊慢特病备案").wait_for(timeout=20_000)  # the person page
    pg.screenshot(path=ARTIFACTS / "console-person.png", full_page=True)
    settlements = pg.locator("tbody tr").filter(has_text="990100S")
    if settlements.count() == 0:
        pytest.skip("this person had no settlement in the generated year")
    settlements.first.click()
    pg.get_by_text("结算信息", exact=True).wait_for(timeout=20_000)
    # words, not field names: the setlinfo items, the funds and the trace in Chinese
    assert pg.get_by_text("医疗费总额", exact=True).first.is_visible()
    assert pg.get_by_text("读取的政策参数").is_visible()
    assert pg.get_by_text("medfee_sumamt").count() == 0 and pg.get_by_text("fund_pay_type").count() == 0
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
    # the export runs in the background: a progress card, then the file downloads by itself
    with pg.expect_download(timeout=60_000) as dl:
        pg.get_by_role("button", name="导出 Excel").click()
        pg.get_by_text(re.compile(r"导出结算: (进行中|已完成|排队中)")).wait_for(timeout=20_000)
    target = tmp_path / "settlements.xlsx"
    dl.value.save_as(target)
    ws = load_workbook(target).active
    rows = list(ws.iter_rows(values_only=True))
    assert (
        rows[0][0].startswith("结算") and "医疗费总额 1000.00 至 … 元" in rows[0][0]
    )  # the title row: the filter
    assert rows[1][0] == "结算ID" and len(rows) - 2 == shown > 0 and ws.freeze_panes == "A3"
    amount_col = rows[1].index("医疗费总额")
    assert all(r[amount_col] >= 1000 for r in rows[2:])
    assert ws.cell(3, amount_col + 1).number_format == "#,##0.00"  # a number cell, not text
    assert isinstance(rows[2][rows[1].index("结算时间")], datetime)  # a date cell
    pg.screenshot(path=ARTIFACTS / "console-settlements.png", full_page=True)


def _db_count(env: dict, sql: str, **params) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def test_register_a_person_and_an_enrollment_through_the_forms(page, server):
    """参保登记: a wrong ID number is refused inline and nothing is saved; the corrected one registers the
    person, the enrollment form takes over the psn_no, a missing date is refused, then the enrollment is made
    and the person page shows it; a suspension from the person page changes its status."""
    from yibao.validation import id_check_char

    pg, base = page
    env = server[1]
    body = "99010219880808123"
    good = body + id_check_char(body)
    bad = body + ("0" if good[-1] != "0" else "1")
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/enrollment")
    pg.get_by_label("证件号码（居民身份证）").fill(bad)
    pg.get_by_label("姓名").fill("测试参保人")
    pg.get_by_role("button", name="保存人员").click()
    pg.get_by_text(f"校验位错误（末位应为 {good[-1]}）").wait_for(timeout=10_000)  # under the field
    assert pg.get_by_text("请更正标红的字段（未保存）").is_visible()
    pg.screenshot(path=ARTIFACTS / "console-enrollment-invalid.png", full_page=True)
    assert _db_count(env, "select count(*) from person where psn_name = :n", n="测试参保人") == 0

    pg.get_by_label("证件号码（居民身份证）").fill(good)
    pg.get_by_role("button", name="保存人员").click()
    saved = pg.get_by_text(re.compile(r"已登记人员 测试参保人，人员编号 \d+"))
    saved.wait_for(timeout=10_000)
    psn_no = saved.inner_text().rsplit(" ", 1)[1]
    assert _db_count(env, "select count(*) from person where psn_no = :p", p=psn_no) == 1
    assert pg.get_by_label("人员编号", exact=True).input_value() == psn_no

    pg.get_by_label("参保类型").click()
    pg.get_by_role("option", name="城乡居民").click()
    pg.get_by_label("人员类别", exact=True).click()
    pg.get_by_role("option", name="15 城乡居民（成年）").click()
    pg.get_by_label("办理日期").fill("2025-11-01")  # inside the window for 2026: no waiting period
    pg.get_by_role("button", name="办理参保").click()
    pg.get_by_text("请更正标红的字段（未保存）").nth(0).wait_for(timeout=10_000)
    assert pg.get_by_text("必填").first.is_visible()  # 参保日期 is missing
    assert _db_count(env, "select count(*) from enrollment where psn_no = :p", p=psn_no) == 0
    pg.get_by_label("参保日期", exact=True).fill("2026-01-01")
    pg.get_by_role("button", name="办理参保").click()
    pg.get_by_text(re.compile(rf"已办理参保登记 #\d+（人员 {psn_no}）")).wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-enrollment.png", full_page=True)
    assert (
        _db_count(env, "select count(*) from enrollment where psn_no = :p and insutype = '390'", p=psn_no)
        == 1
    )

    pg.get_by_role("button", name=f"查看参保人 {psn_no}").click()
    pg.get_by_text("参保变更").wait_for(timeout=20_000)
    enrollments = pg.locator(".q-table__container", has_text="登记号")
    assert "390 居民" in enrollments.inner_text() and "1 正常" in enrollments.inner_text()
    pg.get_by_label("生效日期").fill("2026-03-01")
    pg.get_by_label("原因", exact=True).fill("停保")
    pg.get_by_role("button", name="执行").click()
    pg.get_by_text("已暂停：参保登记").wait_for(timeout=10_000)
    pg.locator(".q-table__container", has_text="登记号").get_by_text("2 暂停").wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-person-enrollment.png", full_page=True)
    assert (
        _db_count(env, "select count(*) from enrollment where psn_no = :p and psn_insu_stas = '2'", p=psn_no)
        == 1
    )


def test_coverage_chart_on_the_home_page(page):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    card = pg.locator(".q-card", has_text="参保率（按区县")
    card.locator("canvas").wait_for(timeout=20_000)  # the chart was drawn
    # a percentage with at most two places
    m = re.search(r"全市 (\d+(?:\.\d{1,2})?)%（参保 ([\d,]+) 人 / 常住人口 ([\d,]+) 人）", card.inner_text())
    assert m, card.inner_text()
    # the demo's census matches its population: about 95.5 % insured (generator parameter coverage_share)
    insured, population = (int(g.replace(",", "")) for g in m.group(2, 3))
    assert 90 <= float(m.group(1)) <= 100 and insured <= population < insured * 1.1
    assert pg.get_by_text("参保率", exact=True).is_visible()  # the key-figure card
    card.scroll_into_view_if_needed()
    pg.wait_for_timeout(1000)
    card.screenshot(path=ARTIFACTS / "console-coverage.png")


def test_employer_contributions_and_export(page, server, tmp_path):
    """单位: a wage declaration (through the REST API, for the month after the last one on file) shows on the
    employer page by month, and the list by month exports to Excel in the background."""
    import httpx

    pg, base = page
    with httpx.Client(base_url=base, timeout=30) as api:
        tok = api.post("/api/token", data={"username": "jingban", "password": "demo-jingban-2025"})
        api.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        emp = api.get("/api/employers", params={"size": 1}).json()["items"][0]["emp_no"]
        detail = api.get(f"/api/employers/{emp}").json()
        staff = [
            e["psn_no"] for e in detail["employees"] if e["psn_type"] == "11" and e["psn_insu_stas"] == "1"
        ][:2]
        on_file = [m["period"] for m in detail["contributions"]["by_month"]]
        y, m = (int(x) for x in max(on_file, default="2025-02").split("-"))
        month = f"{y + m // 12}-{m % 12 + 1:02d}"  # (the demo may have filled the year already)
        declared = api.post(
            f"/api/employers/{emp}/wages",
            json={"month": month, "wages": [{"psn_no": p, "wage": "8000.00"} for p in staff]},
        )
        assert declared.status_code == 200 and declared.json()["totals"]["due"] == "1600.00", declared.text
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/employers")
    pg.locator(".ag-row", has_text=emp).locator("[col-id='emp_name']").click()
    pg.get_by_text("按月缴费").wait_for(timeout=20_000)
    months = pg.locator(".ag-root-wrapper", has_text="缴费期")
    latest = months.locator(".ag-row[row-index='0']")  # (the latest month first)
    latest.get_by_text(month).wait_for(timeout=10_000)
    assert "1,600.00" in latest.inner_text()
    with pg.expect_download(timeout=60_000) as dl:  # the list by month, as a background job
        pg.get_by_role("button", name="导出 Excel").first.click()
    target = tmp_path / "months.xlsx"
    dl.value.save_as(target)
    rows = list(load_workbook(target).active.iter_rows(values_only=True))[1:]  # (after the title row)
    assert rows[0][:3] == ("缴费期", "人数", "应缴（元）") and len(rows) - 1 == len(on_file) + 1
    assert rows[1][:3] == (month, 2, 1600)
    pg.screenshot(path=ARTIFACTS / "console-employer.png", full_page=True)


def test_transfer_in_through_the_form(page, server):
    """职工转入: a transfer from the region itself is refused under its field and nothing is saved; a transfer
    from another region enrolls the person with the months contributed there and credits the moved balance."""
    from yibao.validation import id_check_char

    pg, base = page
    env = server[1]
    body = "99010319600505123"
    cert = body + id_check_char(body)
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/enrollment")
    pg.get_by_label("证件号码（居民身份证）").fill(cert)
    pg.get_by_label("姓名").fill("转入参保人")
    pg.get_by_role("button", name="保存人员").click()
    saved = pg.get_by_text(re.compile(r"已登记人员 转入参保人，人员编号 \d+"))
    saved.wait_for(timeout=10_000)
    psn_no = saved.inner_text().rsplit(" ", 1)[1]

    pg.get_by_label("转入人员编号").fill(psn_no)
    pg.get_by_label("转入人员类别").click()
    pg.get_by_role("option", name="12 退休").click()
    pg.get_by_label("转出地统筹区（6 位区划代码）").fill("990100")  # the region itself: refused
    pg.get_by_label("转入参保日期").fill("2025-07-01")
    pg.get_by_label("转入缴费月数").fill("300")
    pg.get_by_label("转入个人账户余额（元）").fill("1234.56")
    pg.get_by_role("button", name="办理转入").click()
    pg.get_by_text("转出地与参保地相同").first.wait_for(timeout=10_000)
    assert _db_count(env, "select count(*) from enrollment where psn_no = :p", p=psn_no) == 0

    pg.get_by_label("转出地统筹区（6 位区划代码）").fill("350100")
    pg.get_by_role("button", name="办理转入").click()
    pg.get_by_text(re.compile(rf"已办理转入 #\d+（人员 {psn_no}）")).wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-transfer-in.png", full_page=True)
    assert (
        _db_count(
            env,
            "select count(*) from enrollment where psn_no = :p and insutype = '310' and contrib_months = 300",
            p=psn_no,
        )
        == 1
    )
    assert _db_count(env, "select balance from personal_account where psn_no = :p", p=psn_no) == 123456


def test_register_an_employer_through_the_form(page, server):
    """单位登记: the credit code is registered once; the same code again is refused under its field by the
    service, and nothing more is saved."""
    from yibao.synth.population import uscc

    pg, base = page
    env = server[1]
    code = uscc("990103", 77_000_001)
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/enrollment")
    pg.get_by_label("统一社会信用代码").fill(code)
    pg.get_by_label("单位名称").fill("测试登记单位")
    pg.get_by_role("button", name="保存单位").click()
    pg.get_by_text(re.compile(r"已登记单位 测试登记单位，单位编号 \S+")).wait_for(timeout=10_000)
    pg.get_by_role("button", name="保存单位").click()
    # (wait for the refusal itself: "已登记" alone also matches the success message already on the page)
    refused = pg.get_by_text(re.compile(r"未保存：统一社会信用代码 .* 已登记"))
    refused.wait_for(timeout=10_000)
    assert refused.is_visible()
    assert _db_count(env, "select count(*) from employer where uscc = :c", c=code) == 1


def test_an_identity_recognised_on_the_person_page(page, server):
    """待遇资格 on the person page: a 残疾 identity without its grade is refused under the grade and nothing is
    saved; with the grade it is recognised, shown with the dictionary's name and its grade, and audited."""
    pg, base = page
    env = server[1]
    psn = "9901000000000011"
    assert _db_count(env, "select count(*) from person where psn_no = :p", p=psn) == 1
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/person/{psn}")
    card = pg.locator(".q-card", has_text="待遇资格办理")
    card.wait_for(timeout=20_000)
    card.get_by_label("身份类别").click()
    pg.get_by_role("option", name="25 残疾人员").click()
    card.get_by_label("开始日期").fill("2025-01-01")
    card.get_by_label("认定机构").fill("示例市残联")
    card.get_by_role("button", name="确认办理").click()
    card.get_by_text("残疾人员须填残疾等级").first.wait_for(timeout=10_000)
    where = "select count(*) from identity where psn_no = :p and psn_idet_type = '25'"
    assert _db_count(env, where, p=psn) == 0
    card.get_by_label("等级（残疾 1–4）").fill("二级")
    card.get_by_role("button", name="确认办理").click()
    table = pg.locator(".q-table__container", has_text="认定机构")
    table.get_by_text("25 残疾人员").wait_for(timeout=10_000)
    assert "二级" in table.inner_text() and "示例市残联" in table.inner_text()
    assert _db_count(env, where + " and psn_type_lv = '2'", p=psn) == 1
    assert (
        _db_count(env, "select count(*) from audit_log where entity = 'identity' and actor = 'jingban'") == 1
    )
    pg.screenshot(path=ARTIFACTS / "console-person-entitlements.png", full_page=True)


def test_the_settlement_list_is_paged_and_sorted_by_the_database(page):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/settlements")
    count = pg.get_by_text(re.compile(r"^共 [\d,]+ 笔$"))
    count.wait_for(timeout=20_000)
    total = int(count.inner_text()[2:-2].replace(",", ""))
    pages = -(-total // 50)
    assert pg.get_by_text(f"第 1 / {pages:,} 页").is_visible()
    assert pg.locator(".ag-checkbox-input, .ag-selection-checkbox").count() == 0  # no stray selection boxes

    def amounts() -> list[float]:
        """The page's amounts in display order (AG Grid's rows are not in DOM order)."""
        texts = pg.eval_on_selector_all(
            ".ag-center-cols-container .ag-row",
            "rows => rows.sort((a, b) => a.getAttribute('row-index') - b.getAttribute('row-index'))"
            ".map(r => r.querySelector(\"[col-id='medfee_sumamt']\").innerText)",
        )
        return [float(t.replace(",", "")) for t in texts]

    header = pg.locator(".ag-header-cell", has_text="医疗费总额（元）")
    header.click()  # ascending, by the database over every settlement
    pg.wait_for_timeout(1500)
    lowest = amounts()
    assert lowest == sorted(lowest)
    header.click()  # descending
    pg.wait_for_timeout(1500)
    first = amounts()
    assert first == sorted(first, reverse=True) and len(first) >= 10  # (the rows in view)
    pg.get_by_role("button", name="末页").click()
    pg.get_by_text(f"第 {pages:,} / {pages:,} 页").wait_for(timeout=10_000)
    pg.wait_for_timeout(1000)
    last = amounts()
    assert last == sorted(last, reverse=True) and max(last) <= min(first)  # numbers, not text
    pg.get_by_label("金额 ≥").fill("1,000")
    pg.get_by_label("金额 ≤").fill("10")
    pg.get_by_role("button", name="查询").click()
    pg.get_by_text("“金额 ≥”大于“金额 ≤”").wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-settlements-sorted.png", full_page=True)
