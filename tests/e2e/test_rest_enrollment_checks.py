"""The business checks through REST (the same domain services as the console): the issue's implausible inputs
refused as 422 in the usual envelope, each message Chinese after the field key; a suspension dated ahead
answered as scheduled, with the actions that still apply."""

from __future__ import annotations

from datetime import date, timedelta

from tests.e2e.test_rest_enrollment import WORKERS, api, certno, employer, enroll, person  # noqa: F401
from tests.rest import ok, refused


def test_implausible_inputs_are_refused_in_chinese(api):  # noqa: F811
    c = api
    emp = employer(c, 101, "示例市科技有限公司")
    bad = c.post(
        "/api/persons",
        json={"certno": certno(WORKERS, "19850505", "002"), "psn_name": "Test123<script>", "admdvs": WORKERS},
    )
    assert refused(bad) == "psn_name: 姓名不能含数字"
    li = person(c, certno(WORKERS, "19850505", "002"), "李四")["psn_no"]
    assert refused(
        c.post("/api/employers", json={"uscc": "x", "emp_name": "某", "admdvs": WORKERS})
    ).startswith("uscc: 统一社会信用代码无效：长度应为18位")
    cases = [
        ({"begndate": "2030-01-01", "emp_no": emp["emp_no"]}, "begndate: 参保日期不能晚于"),
        (
            {"begndate": "1980-01-01", "emp_no": emp["emp_no"]},
            "begndate: 参保日期不能早于出生日期（1985-05-05）",
        ),
        ({"insutype": "390", "psn_type": "1401"}, "psn_type: 人员类别「1401 新生儿」适用于不满 1 周岁的人员"),
        (
            {"insutype": "390", "psn_type": "16"},
            "psn_type: 人员类别「16 城乡居民（老年）」适用于60 周岁及以上的人员",
        ),
    ]
    for body, message in cases:
        body = {"psn_no": li, "insutype": "310", "psn_type": "11", "begndate": "2025-01-01", **body}
        assert refused(
            c.post("/api/enrollments", json={"insuplc_admdvs": "990100", "registered": "2024-12-01", **body})
        ).startswith(message)


def test_a_suspension_dated_ahead_is_answered_as_scheduled(api):  # noqa: F811
    c = api
    emp = employer(c, 101, "示例市科技有限公司")
    wang = person(c, certno(WORKERS, "19650301", "001"), "老王")["psn_no"]
    e = enroll(c, psn_no=wang, insutype="310", psn_type="11", emp_no=emp["emp_no"])
    assert e["status_text"] == "正常" and e["actions"] == ["suspend", "terminate", "transfer_out", "retire"]
    assert e["scheduled"] is None
    far = refused(c.post(f"/api/enrollments/{e['id']}/suspend", json={"date": "2031-01-01"}))
    assert far.startswith("date: 暂停日期不能晚于")
    ahead = date.today() + timedelta(days=30)
    s = ok(c.post(f"/api/enrollments/{e['id']}/suspend", json={"date": ahead.isoformat()}))
    assert (s["psn_insu_stas"], s["paus_insu_date"]) == ("2", ahead.isoformat())
    assert (
        s["status_text"] == f"正常（暂停已预约，{ahead} 生效）"
        and s["scheduled"] == f"暂停已预约，{ahead} 生效"
    )
    assert s["actions"] == ["resume", "terminate", "transfer_out"]
    # while the suspension is scheduled, a category change is refused saying so (the clerk sees 正常)
    retire = c.post(
        f"/api/enrollments/{e['id']}/category", json={"psn_type": "12", "date": date.today().isoformat()}
    )
    assert refused(retire) == (
        f"psn_insu_stas: 已预约 {ahead} 起暂停，不能变更人员类别；请先撤销预约的暂停（恢复）"
    )
    cancelled = ok(c.post(f"/api/enrollments/{e['id']}/resume", json={"date": date.today().isoformat()}))
    assert (cancelled["psn_insu_stas"], cancelled["paus_insu_date"], cancelled["wait_until"]) == (
        "1",
        None,
        None,
    )
