"""双人复核 in a real browser (the console's Chromium fixtures): a handler files the reversal of a settlement with
a reason — a blank reason is refused in the dialog — and a reviewer finds it in the 审核工作台, opens it and
approves it; the settlement is reversed. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_console_browser import ARTIFACTS, login, page, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
WHY = "收费项目重复录入，经核实应撤销后重新结算"


def _query(env: dict, sql: str, **params):
    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).first()
    finally:
        engine.dispose()


def _standing(env: dict, skip: int = 0) -> str:
    """An outpatient settlement that stands alone on its visit (nothing to reverse before it)."""
    return _query(
        env,
        "select setl_id from settlement s where refd_setl_flag = '0' and reversed_by is null"
        " and supplement_of is null and med_type = '11' and not exists (select 1 from settlement t"
        " where t.mdtrt_id = s.mdtrt_id and t.setl_id <> s.setl_id) order by setl_time desc, setl_id"
        " limit 1 offset :skip",
        skip=skip,
    )[0]


def test_a_handler_files_and_a_reviewer_approves_a_reversal(page, server):  # noqa: F811
    pg, base = page
    env = server[1]
    setl_id = _standing(env)

    login(pg, base)  # 王经办 (handler)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    assert pg.get_by_text("审核", exact=True).count() == 0  # the queue is not the handler's
    pg.goto(f"{base}/console/review/file/{setl_id}")
    pg.get_by_role("button", name="申请撤销").click()
    pg.get_by_role("button", name="提交申请").click()
    pg.get_by_text("未办理：必须填写撤销原因").wait_for(timeout=10_000)
    pg.get_by_label("撤销原因").fill(WHY)
    pg.wait_for_timeout(500)  # (the field's label floats up)
    pg.screenshot(path=ARTIFACTS / "console-review-file.png", full_page=True)
    pg.get_by_role("button", name="提交申请").click()
    pg.get_by_text(f"原因：{WHY}").wait_for(timeout=10_000)
    assert pg.get_by_text("待审核").first.is_visible()
    assert pg.get_by_role("button", name="申请撤销").count() == 0  # one request waits at a time
    request_id = _query(env, "select id from review_request where setl_id = :s", s=setl_id)[0]
    pg.get_by_role("button", name="退出登录").click()
    pg.wait_for_url("**/console/login**")

    login(pg, base, "shenhe", "demo-shenhe-2025")  # 李审核 (reviewer)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.get_by_text("审核", exact=True).click()
    pg.get_by_text(re.compile(r"^共 1 项")).wait_for(timeout=20_000)
    pg.get_by_text(WHY).wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-review-queue.png", full_page=True)
    assert not {"None", "undefined", "pending"} & set(pg.locator("body").inner_text().split())
    pg.get_by_text(setl_id).first.click()
    pg.get_by_text(f"撤销申请 #{request_id}").wait_for(timeout=20_000)
    assert pg.get_by_text("王经办（jingban）").is_visible()
    pg.get_by_label("审核意见").fill("经核实，同意撤销")
    pg.get_by_role("button", name="审核通过（撤销结算）").click()
    pg.get_by_text("撤销记录", exact=True).wait_for(timeout=20_000)
    assert pg.get_by_text("已通过").first.is_visible()
    pg.get_by_text("审计记录").scroll_into_view_if_needed()
    assert pg.locator(".q-table__container", has_text="提交申请").get_by_text("审核通过").is_visible()
    pg.screenshot(path=ARTIFACTS / "console-review-approved.png", full_page=True)
    assert not {"None", "undefined", "approved"} & set(pg.locator("body").inner_text().split())
    reversed_by = _query(env, "select reversed_by from settlement where setl_id = :s", s=setl_id)[0]
    assert reversed_by and _query(
        env, "select status, decided_by, result_setl_id from review_request where id = :i", i=request_id
    ) == ("approved", "shenhe", reversed_by)


def test_the_requester_withdraws_a_waiting_request(page, server):  # noqa: F811
    pg, base = page
    env = server[1]
    setl_id = _standing(env, skip=5)
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/review/file/{setl_id}")
    pg.get_by_role("button", name="申请撤销").click()
    pg.get_by_label("撤销原因").fill(WHY)
    pg.get_by_role("button", name="提交申请").click()
    pg.get_by_role("button", name="撤回申请").click()
    pg.get_by_text("已撤回", exact=True).wait_for(timeout=10_000)
    pg.get_by_role("button", name="申请撤销").wait_for(timeout=10_000)  # nothing waits: it may be filed again
    assert _query(env, "select status, decided_by from review_request where setl_id = :s", s=setl_id) == (
        "withdrawn",
        "jingban",
    )
    assert _query(env, "select reversed_by from settlement where setl_id = :s", s=setl_id)[0] is None
