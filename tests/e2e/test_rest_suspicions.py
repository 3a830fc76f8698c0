"""The suspicion workflow (疑点处理) end to end through REST, on both databases: a settled outpatient visit at a
hospital, two suspicions of it written as a batch run writes them; a reviewer (稽核) notifies them — the
可疑 one only once confirmed, one in bulk by filter; a handler (经办) appeals the first for the hospital
with a PDF (multipart) and accepts the second; a second reviewer upholds the appeal for less; the month's
deduction posts one balanced entry each and, run again, none; the ledger check passes with the settlement
beside them; the appeal's file comes back byte for byte. Refusals: 403 for the four-eyes rules and missing
permissions, 422 naming the field, 404 for what does not exist; every step one audit row."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tests.e2e.test_review_reversal import api, as_  # noqa: F401 - fixture
from tests.integration.test_suspicion_workflow import PDF, add_suspicions, entries, trail
from tests.rest import bearer, ok, refused
from tests.world import HOSP2, HOSP3, His, settle_outpatient
from yibao.funds.check import check_ledger
from yibao.security import create_user
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog

URL = "/api/supervision/suspicions"
INSPECTORS = {"jc1": "pass-word-5", "jc2": "pass-word-6"}  # 稽核 (supervision.write)


@pytest.fixture
def rest(api, engine):  # noqa: F811
    with unit_of_work(engine) as s:
        for username, password in INSPECTORS.items():
            create_user(s, username, f"稽核{username[-1]}", ["inspector"], password, actor="test")
    api.auth_headers.update({u: bearer(api, u, p) for u, p in INSPECTORS.items()})
    return api


def test_the_workflow_through_rest(rest, engine):
    his = His(rest, HOSP2)
    mdtrt, setl = settle_outpatient(his, "2025-03-05", "300.00")
    appealed, accepted = add_suspicions(
        engine,
        {"fixmedins_code": HOSP2, "mdtrt_id": mdtrt, "setl_id": setl["setl_id"], "vola_amt": 20_000},
        {"fixmedins_code": HOSP2, "result_type": "可疑", "vola_amt": 5_000, "rule_code": "GZ1000030200101"},
    )
    post = lambda path, user, **kw: rest.post(f"{URL}{path}", headers=as_(rest, user), **kw)  # noqa: E731

    # 告知: a handler may not; a 可疑 finding not before its 初审确认
    assert refused(post(f"/{appealed}/notify", "jb"), 403) == "无权限: 需要 supervision.write"
    assert "可疑疑点须经初审确认后方可告知机构" in refused(post(f"/{accepted}/notify", "jc1"))
    one = ok(post(f"/{appealed}/notify", "jc1"))
    assert (one["status"], one["status_name"], one["notified_by"], one["vola_amt"]) == (
        "notified",
        "已告知机构",
        "jc1",
        "200.00",
    )
    ok(post(f"/{accepted}/confirm", "jc1", json={"reason": "抽查病历，无指征"}))
    bulk = ok(post("/notify", "jc1", json={"fixmedins_code": HOSP2, "rule_code": "GZ1000030200101"}))
    assert bulk == {"notified": 1, "ids": [accepted], "amount": "50.00", "skipped": {}}
    assert "须至少给出一个筛选条件" in refused(post("/notify", "jc1", json={}))
    assert refused(post("/99999/notify", "jc1"), 404) == "suspicion: 疑点不存在 #99999"

    # 申诉 for the hospital (multipart), by a handler who names it; the file kept with its digest
    form = {"fixmedins_code": HOSP2, "reason": "系医嘱所需，附病程记录"}
    files = [("files", ("病程记录.pdf", PDF, "application/pdf"))]
    assert refused(post(f"/{appealed}/appeal", "jc1", data=form, files=files), 403)  # not 稽核
    bad = [("files", ("病程记录.pdf", b"MZ\x90\x00", "application/pdf"))]
    assert "的内容不是 pdf 文件" in refused(post(f"/{appealed}/appeal", "jb", data=form, files=bad))
    assert f"属于定点机构 {HOSP2}，不能代 {HOSP3} 答复" in refused(
        post(f"/{appealed}/appeal", "jb", data=form | {"fixmedins_code": HOSP3}, files=files)
    )
    answered = ok(post(f"/{appealed}/appeal", "jb", data=form, files=files))
    assert (answered["status"], answered["response"], answered["responded_by"]) == (
        "appealed",
        "appeal",
        "jb",
    )
    [attached] = answered["attachments"]
    assert (attached["filename"], attached["size"], attached["sha256"]) == (
        "病程记录.pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
    )
    got = rest.get(f"{URL}/{appealed}/attachments/{attached['id']}", headers=as_(rest, "sh"))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E7%97%85" in got.headers["content-disposition"]
    assert got.headers["x-content-sha256"] == attached["sha256"]
    assert (
        rest.get(f"{URL}/{accepted}/attachments/{attached['id']}", headers=as_(rest, "jc1")).status_code
        == 404
    )
    assert ok(rest.get(f"{URL}/{appealed}/attachments", headers=as_(rest, "jb")))[0]["id"] == attached["id"]

    # 认可 for the hospital: upheld at once
    acc = ok(post(f"/{accepted}/accept", "jb", json={"fixmedins_code": HOSP2}))
    assert (acc["status"], acc["decision"], acc["decided_by"], acc["upheld_amount"]) == (
        "upheld",
        "upheld",
        "system",
        "50.00",
    )

    # 复核: not by who notified it; a reason for upholding an appeal; an amount within vola_amt
    decide = {"decision": "uphold", "reason": "病程记录未载明第二次诊查", "amount": "150.00"}
    assert "不能复核维持" in refused(post(f"/{appealed}/decide", "jc1", json=decide), 403)
    assert refused(post(f"/{appealed}/decide", "jc2", json=decide | {"reason": ""})) == "reason: 必须填写理由"
    assert "超过疑点金额 200.00 元" in refused(
        post(f"/{appealed}/decide", "jc2", json=decide | {"amount": "200.01"})
    )
    upheld = ok(post(f"/{appealed}/decide", "jc2", json=decide))
    assert (upheld["status_name"], upheld["upheld_amount"], upheld["decided_by"]) == (
        "复核维持",
        "150.00",
        "jc2",
    )

    # 扣款 of the month: two entries; again: none
    assert refused(post("/deduct", "jc2", json={"month": "2025-13"})).startswith(
        "month: 扣款月份应为 YYYY-MM"
    )
    month = ok(post("/deduct", "jc2", json={"month": "2025-04"}))
    assert (month["deducted"], month["ids"], month["amount"]) == (2, [appealed, accepted], "200.00")
    assert month["by_institution"] == {HOSP2: {"count": 2, "amount": "200.00"}}
    assert ok(post("/deduct", "jc2", json={"month": "2025-04"}))["deducted"] == 0
    assert refused(post(f"/{appealed}/deduct", "jc2", json={})) == "status: 疑点已扣款，不能扣款"
    legs = entries(engine)
    assert [(acct, fund, code, amt) for _, acct, fund, code, amt in legs] == [
        ("institution_payable", "390100", HOSP2, 15_000),
        ("audit_recovery", "390100", HOSP2, -15_000),
        ("institution_payable", None, HOSP2, 5_000),  # (no settlement named: no fund)
        ("audit_recovery", None, HOSP2, -5_000),
    ]
    shown = ok(rest.get(f"{URL}/{appealed}", headers=as_(rest, "jc1")))
    assert shown["status"] == "deducted"
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
        assert report.ok and report.settlements == 1, report.problems
        assert audit.verify(s).ok
        actors = s.scalars(
            select(AuditLog.actor).where(AuditLog.entity == "audit_suspicion").order_by(AuditLog.seq)
        ).all()
    assert trail(engine, appealed) == [
        ("notify", "jc1", "open", "notified"),
        ("appeal", "jb", "notified", "appealed"),
        ("uphold", "jc2", "appealed", "upheld"),
        ("deduct", "jc2", "upheld", "deducted"),
    ]
    assert [t[0] for t in trail(engine, accepted)] == ["confirm", "notify", "accept", "uphold", "deduct"]
    assert len(actors) == 9
