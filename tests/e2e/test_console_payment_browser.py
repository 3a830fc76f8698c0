"""The 付费 pages in a real browser (Debian's Chromium driven by Playwright) over the demo: the grouped list
shows its true count and opens a case with its trace in Chinese; the worklist lists an ungrouped case with
its reason; the CMI page says how its weights were derived and shows them; a list exports to Excel.

Three of the demo's inpatient settlements get lists written with the store function (as 4101 stores them):
one grouped (GD13), one 歧义 (GQY), one 未入组 — beside whatever lists the demo made itself."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests import payment_cases as pc
from tests.e2e.test_console_browser import ARTIFACTS, CHROMIUM, FLAGS, login, server  # noqa: F401

pytestmark = pytest.mark.browser
COUNT = re.compile(r"^共 [\d,]+ 例")


def _lists(env: dict) -> dict[str, str]:
    """Lists for three standing inpatient settlements of the demo (voiding the demo's own, if it made any):
    outcome → setl_id."""
    from sqlalchemy import select

    from yibao.store import settlement_lists as lists
    from yibao.store.db import make_engine, unit_of_work
    from yibao.store.tables import Settlement, SettlementList, Visit

    engine = make_engine(env["YIBAO_DATABASE_URL"])
    try:
        with unit_of_work(engine) as s:
            setl_ids = s.scalars(
                select(Settlement.setl_id)
                .join(Visit, Visit.mdtrt_id == Settlement.mdtrt_id)
                .where(
                    Settlement.med_type == "21",
                    Settlement.refd_setl_flag == "0",
                    Settlement.reversed_by.is_(None),
                    Settlement.mid_setl_flag == "0",
                    Visit.endtime.is_not(None),
                )
                .order_by(Settlement.setl_id)
                .limit(3)
            ).all()
            assert len(setl_ids) == 3, "the demo has no inpatient settlements"
            out = {}
            for setl_id, outcome, dx, px in zip(
                setl_ids,
                ("ok", "qy", "ungrouped"),
                (pc.APPENDIX, pc.APPENDIX, pc.HEAD_INJURY),
                (pc.APPENDECTOMY, pc.HIP, ()),
                strict=True,
            ):
                if (valid := lists.valid_list_id(s, setl_id)) is not None:
                    lists.set_status(s, s.get(SettlementList, valid), "0", actor="test", now=datetime.now())
                new = pc.upload(s, setl_id, dx, px, setl_list_id=f"T{setl_id}"[:30])
                assert new.grouped.group.status == outcome, (setl_id, new.grouped.group)
                out[outcome] = setl_id
            assert lists.valid_list_id(s, out["ok"]) == f"T{out['ok']}"[:30]  # (the demo's own voided)
        return out
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cases(server):  # noqa: F811
    return _lists(server[1])


@pytest.fixture
def page(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(
            accept_downloads=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
        )
        pg = context.new_page()
        login(pg, server[0], "admin", "demo-admin-2025")
        pg.get_by_text("欢迎").wait_for(timeout=20_000)
        yield pg, server[0]
        browser.close()


def _count(pg) -> int:
    text = pg.get_by_text(COUNT).first.inner_text()
    return int(text.split("共 ")[1].split(" 例")[0].replace(",", ""))


def test_grouped_list_counts_and_opens_a_case_with_its_trace(page, cases, server):  # noqa: F811
    from tests.e2e.test_console_browser import _db_count

    pg, base = page
    valid = _db_count(
        server[1],
        "select count(*) from settlement_list l join settlement_list_group g on g.setl_list_id = l.setl_list_id"
        " join settlement st on st.setl_id = l.setl_id"
        " where l.vali_flag = '1' and g.kind = 'drg' and st.reversed_by is null",
    )
    pg.goto(f"{base}/console/payment")
    pg.get_by_text(COUNT).wait_for(timeout=20_000)
    assert _count(pg) == valid >= 3  # every valid list, not a page of them
    pg.get_by_label("DRG 编码（前几位）").fill("GD13")
    pg.get_by_role("button", name="查询").click()
    row = pg.locator(".ag-center-cols-container .ag-row", has_text=cases["ok"])
    row.wait_for(timeout=20_000)
    assert _count(pg) <= valid - 2  # (the 歧义 and 未入组 cases are not GD13)
    pg.screenshot(path=ARTIFACTS / "console-payment.png", full_page=True)
    row.locator("[col-id='setl_id']").click()
    pg.get_by_text("分组过程（为什么入此组）").wait_for(timeout=20_000)
    body = pg.locator("body").inner_text()
    assert "进入 MDCG 消化系统疾病及功能障碍" in body and "入 DRG GD13" in body
    assert "其他诊断 J18.900" in body and "计入" in body and "规则包哈希" in body
    assert "chs-drg-1.1" in body and "steps" not in body and "None" not in body
    pg.screenshot(path=ARTIFACTS / "console-payment-case.png", full_page=True)


def test_worklist_lists_an_ungrouped_case_with_its_reason(page, cases):
    pg, base = page
    pg.goto(f"{base}/console/payment/worklist")
    pg.get_by_text(COUNT).wait_for(timeout=20_000)
    row = pg.locator(".ag-center-cols-container .ag-row", has_text=cases["ungrouped"])
    row.wait_for(timeout=20_000)
    text = row.inner_text()
    assert "未入组" in text and "S06.500x007" in text
    assert "MDCZ" in row.locator("[col-id='reason']").inner_text()
    assert pg.locator(".ag-center-cols-container .ag-row", has_text=cases["qy"]).count() == 1
    assert pg.locator(".ag-center-cols-container .ag-row", has_text=cases["ok"]).count() == 0
    pg.screenshot(path=ARTIFACTS / "console-payment-worklist.png", full_page=True)


def test_cmi_page_and_an_export(page, cases, tmp_path):
    pg, base = page
    pg.goto(f"{base}/console/payment/cmi")
    pg.get_by_text("相对权重（RW）由本页所选期间").wait_for(timeout=20_000)
    pg.get_by_text(re.compile(r"入组病例 [\d,]+ 例")).wait_for(timeout=20_000)
    grid = pg.locator(".ag-root-wrapper").first
    grid.locator(".ag-row").first.wait_for(timeout=20_000)
    assert re.search(r"\d\.\d{4}", grid.inner_text())  # CMI with four places
    pg.screenshot(path=ARTIFACTS / "console-payment-cmi.png", full_page=True)
    with pg.expect_download(timeout=60_000) as dl:
        pg.get_by_role("button", name="导出 Excel").last.click()  # the DRG weights
    target = tmp_path / "weights.xlsx"
    dl.value.save_as(target)
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][0].startswith("DRG 相对权重") and rows[1][0] == "DRG"
    assert "GD13" in [r[0] for r in rows[2:]]
    rw = rows[1].index("相对权重")
    assert all(isinstance(r[rw], (int, float)) for r in rows[2:])  # numbers, not text
