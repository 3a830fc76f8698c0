"""Every console list on the database-paged grid, in a real browser (Debian's Chromium driven by Playwright):
the 参保人 search counts every match (no 200 cap) under its search box and pages through them, an amount
column of 定点机构 orders as numbers over the whole table, a 基金管理 user opens 参保人 and sees only the
menu items of its role, and a background export holds every person found. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.e2e import test_console_browser as browser
from tests.e2e.test_console_browser import ARTIFACTS, demo_server, login

page = browser.page  # (the fixture: a Chromium page on this module's server)
pytestmark = pytest.mark.browser
FOUND = 260  # persons the search finds: more than the 200 the old search stopped at


def _add_persons(url: str) -> None:
    """``FOUND`` persons called 网格测试… beside the demo's, each a 居民 (so the list can name the scheme)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from yibao.store.tables import Enrollment, Person

    engine = create_engine(url)
    try:
        with Session(engine) as s, s.begin():
            for i in range(FOUND):
                s.add(
                    Person(
                        psn_no=f"T{i:05d}",
                        certno=f"99010219900101{i:04d}",
                        psn_name=f"网格测试{i:03d}",
                        gend="1" if i % 2 else "2",
                        brdy=date(1950 + i % 60, 1 + i % 12, 1 + i % 28),
                    )
                )
            s.flush()
            for i in range(FOUND):
                s.add(
                    Enrollment(
                        psn_no=f"T{i:05d}",
                        insutype="390",
                        psn_type="15",
                        begndate=date(2020, 1, 1),
                        insuplc_admdvs="990100",
                    )
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "grids", _add_persons)  # (more than 200 persons to find)


def _column(pg, col: str) -> list[str]:
    """The page's grid's cells of one column in display order (AG Grid's rows are not in DOM order)."""
    return pg.eval_on_selector_all(
        ".ag-center-cols-container .ag-row",
        "rows => rows.sort((a, b) => a.getAttribute('row-index') - b.getAttribute('row-index'))"
        f".map(r => r.querySelector(\"[col-id='{col}']\").innerText)",
    )


def _count(pg, unit: str) -> int:
    label = pg.get_by_text(re.compile(rf"^共 [\d,]+ {unit}$"))
    label.wait_for(timeout=20_000)
    return int(label.inner_text()[2 : -len(unit) - 1].replace(",", ""))


def test_the_person_search_counts_every_match_and_pages_through_them(page, server):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/persons")
    everyone = browser._db_count(server[1], "select count(*) from person")
    assert _count(pg, "人") == everyone > 400 + FOUND - 10  # nothing typed: everyone
    box = pg.get_by_label("姓名 / 证件号码 / 人员编号")
    box.fill("网格测试")
    box.press("Enter")
    pg.get_by_text(f"共 {FOUND} 人").wait_for(timeout=20_000)
    pages = -(-FOUND // 50)
    assert pg.get_by_text(f"第 1 / {pages} 页").is_visible()
    grid = pg.locator(".ag-root-wrapper")
    assert box.bounding_box()["y"] < grid.bounding_box()["y"]  # the search box stays on top
    pg.wait_for_timeout(500)
    first = _column(pg, "psn_no")
    assert first[0] == "T00000" and first == sorted(first)
    scheme = _column(pg, "insutype")
    assert set(scheme) == {"城乡居民基本医疗保险"}  # names, not 390
    assert set(_column(pg, "psn_type")) == {"城乡居民（成年）"}
    assert set(_column(pg, "gend")) == {"男", "女"}
    assert all("*" in c for c in _column(pg, "certno"))  # ID numbers masked
    pg.get_by_role("button", name="末页").click()
    pg.get_by_text(f"第 {pages} / {pages} 页").wait_for(timeout=10_000)
    pg.wait_for_timeout(500)
    last = _column(pg, "psn_no")
    assert len(last) == FOUND - (pages - 1) * 50 and last[-1] == f"T{FOUND - 1:05d}"
    pg.locator(".ag-header-cell", has_text="出生日期").click()  # ascending, over all 260
    pg.get_by_text(f"第 1 / {pages} 页").wait_for(timeout=10_000)
    pg.wait_for_timeout(1000)
    born = _column(pg, "brdy")
    assert born == sorted(born) and born[0].startswith("1950-")
    pg.screenshot(path=ARTIFACTS / "console-person-search.png", full_page=True)
    pg.locator(".ag-center-cols-container .ag-row[row-index='0'] [col-id='psn_name']").click()
    pg.wait_for_url(re.compile(r".*/console/person/T\d{5}$"), timeout=20_000)


def test_an_amount_column_of_institutions_orders_as_numbers_over_the_whole_table(page):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/institutions")
    total = _count(pg, "家")
    assert total > 50  # more than a page
    assert pg.locator(".ag-checkbox-input, .ag-selection-checkbox").count() == 0

    def amounts() -> list[float]:
        return [float(t.replace(",", "")) for t in _column(pg, "medfee")]

    header = pg.locator(".ag-header-cell", has_text="医疗费总额（元）")
    header.click()
    pg.wait_for_timeout(1000)
    header.click()  # descending
    pg.wait_for_timeout(1500)
    first = amounts()
    assert first == sorted(first, reverse=True) and len(first) >= 10
    kinds = set(_column(pg, "kind"))
    assert kinds <= {"定点医疗机构", "定点零售药店"} and kinds  # names, not 1/2
    assert set(_column(pg, "level")) <= {"一级及以下", "二级", "三级"}
    pg.get_by_role("button", name="末页").click()
    pg.get_by_text(re.compile(r"^第 2 / 2 页$")).wait_for(timeout=10_000)
    pg.wait_for_timeout(1000)
    last = amounts()
    assert last == sorted(last, reverse=True) and max(last) <= min(first)  # numbers, not text
    pg.screenshot(path=ARTIFACTS / "console-institutions.png", full_page=True)


def test_a_fund_manager_opens_persons_and_sees_only_its_menu(page, server):
    pg, base = page
    login(pg, base, "jijin", "demo-jijin-2025")
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    menu = pg.locator(".q-drawer").inner_text()
    for item in ("参保人", "单位", "重复参保", "结算", "定点机构"):
        assert item in menu
    for item in ("参保登记", "即将推出", "监管"):  # a handler's form; modules not built yet
        assert item not in menu
    pg.locator(".q-drawer").get_by_text("参保人", exact=True).click()
    assert _count(pg, "人") == browser._db_count(server[1], "select count(*) from person")
    export = pg.get_by_role("button", name="导出 Excel")
    assert export.inner_text() == "导出 Excel"  # as written, not 导出 EXCEL
    pg.goto(f"{base}/console/enrollment")
    refusal = pg.get_by_text("您没有")
    refusal.wait_for(timeout=20_000)
    text = refusal.inner_text()
    assert "办理参保登记" in text and "经办" in text and "enrollment" not in text
    pg.screenshot(path=ARTIFACTS / "console-fund-manager.png", full_page=True)


def test_a_background_export_holds_every_person_found(page, tmp_path):
    pg, base = page
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/persons?q_text=网格测试")
    pg.get_by_text(f"共 {FOUND} 人").wait_for(timeout=20_000)
    with pg.expect_download(timeout=60_000) as dl:
        pg.get_by_role("button", name="导出 Excel").click()
        pg.get_by_text(re.compile(r"导出参保人: (进行中|已完成|排队中)")).wait_for(timeout=20_000)
    target = tmp_path / "persons.xlsx"
    dl.value.save_as(target)
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][0].startswith("参保人") and "网格测试" in rows[0][0]  # the title row: the filter
    assert rows[1][:3] == ("人员编号", "姓名", "证件号码")
    assert len(rows) - 2 == FOUND and {r[0] for r in rows[2:]} == {f"T{i:05d}" for i in range(FOUND)}
    assert all("*" in r[2] for r in rows[2:])  # masked there too
    assert rows[2][rows[1].index("险种")] == "城乡居民基本医疗保险"
