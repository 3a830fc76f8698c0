"""Business checks in the staff console (Chromium driven by Playwright, the console started as in
test_console_browser): the enrollment form refuses each implausible input of the issue with a Chinese message
under its field and saves nothing; the person page offers only the actions that apply, shows a suspension
dated ahead as scheduled, and settlement does not see it before its date. Screenshots in test-artifacts/."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.e2e.test_console_browser import ARTIFACTS, _db_count, login, page, server  # noqa: F401 (fixtures)
from yibao.validation import id_check_char

pytestmark = pytest.mark.browser


def under(pg, label: str, reason: str):
    """The error shown under the form field ``label`` (Quasar puts it inside the field, which turns red)."""
    return pg.locator(".q-field--error", has=pg.get_by_label(label, exact=True)).filter(has_text=reason)


def register(pg, base: str, cert: str, name: str) -> str:
    pg.goto(f"{base}/console/enrollment")
    pg.get_by_label("证件号码（居民身份证）").fill(cert)
    pg.get_by_label("姓名").fill(name)
    pg.get_by_role("button", name="保存人员").click()
    saved = pg.get_by_text(re.compile(rf"已登记人员 {name}，人员编号 \d+"))
    saved.wait_for(timeout=10_000)
    return saved.inner_text().rsplit(" ", 1)[1]


def test_the_form_refuses_each_implausible_input_under_its_field(page, server):  # noqa: F811
    pg, base = page
    env = server[1]
    body = "99010219850505246"  # a woman born 1985-05-05
    cert = body + id_check_char(body)
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    pg.goto(f"{base}/console/enrollment")

    # 姓名 "Test123<script>": refused under the field, nothing saved
    pg.get_by_label("证件号码（居民身份证）").fill(cert)
    pg.get_by_label("姓名").fill("Test123<script>")
    pg.get_by_role("button", name="保存人员").click()
    under(pg, "姓名", "姓名不能含数字").wait_for(timeout=10_000)
    assert _db_count(env, "select count(*) from person where certno = :c", c=cert) == 0
    psn_no = register(pg, base, cert, "校验测试")

    pg.get_by_label("人员编号", exact=True).fill(psn_no)
    pg.get_by_label("参保类型").click()
    pg.get_by_role("option", name="城乡居民").click()
    # the category a 居民 form suggests follows the age: an adult is 成年, never 新生儿 by default
    type_field = pg.locator(".q-field", has=pg.get_by_label("人员类别", exact=True))
    # (the suggestion arrives from the server after the choice: wait for it rather than read at once)
    type_field.filter(has_text="15 城乡居民（成年）").wait_for(timeout=10_000)
    pg.get_by_label("办理日期").fill("2025-11-01")

    # 参保日期 in 2030: beyond the lead time, refused under the field before the service is asked
    pg.get_by_label("参保日期", exact=True).fill("2030-01-01")
    pg.get_by_role("button", name="办理参保").click()
    under(pg, "参保日期", "参保日期不能晚于").wait_for(timeout=10_000)
    # 参保日期 before the birth: the service refuses, the message goes under the field
    pg.get_by_label("参保日期", exact=True).fill("1980-01-01")
    pg.get_by_role("button", name="办理参保").click()
    under(pg, "参保日期", "参保日期不能早于出生日期（1985-05-05）").wait_for(timeout=10_000)
    # a 40-year-old as 1401 新生儿
    pg.get_by_label("参保日期", exact=True).fill("2026-01-01")
    pg.get_by_label("人员类别", exact=True).click()
    pg.get_by_role("option", name="1401 新生儿").click()
    pg.get_by_role("button", name="办理参保").click()
    under(pg, "人员类别", "人员类别「1401 新生儿」适用于不满 1 周岁的人员").wait_for(timeout=10_000)
    pg.get_by_text("未保存：人员类别「1401 新生儿」").wait_for()  # the field's label, not its key
    pg.screenshot(path=ARTIFACTS / "console-enrollment-checks.png", full_page=True)
    assert _db_count(env, "select count(*) from enrollment where psn_no = :p", p=psn_no) == 0

    pg.get_by_label("人员类别", exact=True).click()
    pg.get_by_role("option", name="15 城乡居民（成年）").click()
    pg.get_by_role("button", name="办理参保").click()
    pg.get_by_text(re.compile(rf"已办理参保登记 #\d+（人员 {psn_no}）")).wait_for(timeout=10_000)
    assert _db_count(env, "select count(*) from enrollment where psn_no = :p", p=psn_no) == 1


def test_a_scheduled_suspension_is_shown_and_not_in_force_before_its_date(page, server):  # noqa: F811
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from yibao.errors import SettlementError
    from yibao.settlement import facts

    pg, base = page
    env = server[1]
    body = "99010319700707247"  # a man born 1970
    cert = body + id_check_char(body)
    login(pg, base)
    pg.get_by_text("欢迎").wait_for(timeout=20_000)
    psn_no = register(pg, base, cert, "预约暂停")
    pg.get_by_label("人员编号", exact=True).fill(psn_no)
    pg.get_by_label("参保类型").click()
    pg.get_by_role("option", name="城乡居民").click()
    pg.get_by_label("办理日期").fill("2025-11-01")
    pg.get_by_label("参保日期", exact=True).fill("2026-01-01")
    pg.get_by_role("button", name="办理参保").click()
    pg.get_by_text(re.compile(rf"已办理参保登记 #\d+（人员 {psn_no}）")).wait_for(timeout=10_000)

    pg.goto(f"{base}/console/person/{psn_no}")
    pg.get_by_text("参保变更").wait_for(timeout=20_000)
    # a 居民 enrollment in force: 暂停 / 终止 / 转出, never 在职 → 退休 nor 恢复
    actions = pg.locator(".q-card").filter(has=pg.get_by_text("参保变更", exact=True)).last
    actions.get_by_label("操作").click()
    pg.get_by_role("option", name="暂停").wait_for()
    offered = [o.inner_text() for o in pg.get_by_role("option").all()]
    assert offered == ["暂停", "终止", "转出（转移接续）"], offered
    pg.get_by_role("option", name="暂停").click()

    # 2031: beyond the lead time, refused under 生效日期
    actions.get_by_label("生效日期").fill("2031-01-01")
    pg.get_by_role("button", name="执行").click()
    under(pg, "生效日期", "暂停日期不能晚于").wait_for(timeout=10_000)
    pg.get_by_text("未执行：暂停日期不能晚于").wait_for()  # the field's label, not "date:"

    ahead = date.today() + timedelta(days=30)
    actions.get_by_label("生效日期").fill(ahead.isoformat())
    actions.get_by_label("原因", exact=True).fill("外出务工")
    pg.get_by_role("button", name="执行").click()
    table = pg.locator(".q-table__container", has_text="登记号")
    table.get_by_text(f"正常（暂停已预约，{ahead} 生效）").wait_for(timeout=10_000)
    pg.screenshot(path=ARTIFACTS / "console-person-scheduled.png", full_page=True)
    # scheduled, the action left is to cancel it
    actions = pg.locator(".q-card").filter(has=pg.get_by_text("参保变更", exact=True)).last
    actions.get_by_label("操作").click()
    pg.get_by_role("option", name="撤销预约的暂停").wait_for()
    assert [o.inner_text() for o in pg.get_by_role("option").all()] == [
        "撤销预约的暂停",
        "终止",
        "转出（转移接续）",
    ]
    pg.keyboard.press("Escape")

    engine = create_engine(env["YIBAO_DATABASE_URL"])
    try:
        with Session(engine) as s:
            before = facts.enrollment_on(s, psn_no, "390", ahead - timedelta(days=1))
            assert before.psn_insu_stas == "2" and before.paus_insu_date == ahead  # stored now …
            with pytest.raises(SettlementError, match="暂停"):  # … in force from its date
                facts.enrollment_on(s, psn_no, "390", ahead)
    finally:
        engine.dispose()
