"""双人复核 of a bureau-initiated settlement reversal through REST, on both databases: a handler files it with a
reason, a reviewer approves it — and the settlement is reversed exactly as the institution's 2208 reverses it:
the same negated settlement and fund details, the same ledger postings, the accumulators and the personal
account restored, the same audit row but for its actor. Nobody approves their own request; every refusal
leaves everything as it was."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import world
from tests.e2e.test_look_back import looking_back  # noqa: F401 - fixture
from tests.rest import bearer, ok, refused
from tests.world import HOSP2, PHARMACY, RESIDENT, WORKER, His, line
from yibao.api.app import create_app
from yibao.funds.check import check_ledger
from yibao.security import create_user
from yibao.settlement.result import SETLINFO_AMOUNTS
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Accumulator,
    AuditLog,
    FeeLine,
    LedgerEntry,
    LedgerPosting,
    PersonalAccount,
    ReviewRequest,
    Settlement,
    SettlementDetail,
    Visit,
)

WHY = "诊断与费用不符，经稽核确认应撤销重结"
USERS = {  # username → (name, roles, password)
    "jb": ("王经办", ["handler"], "pass-word-1"),
    "jb2": ("周经办", ["handler"], "pass-word-3"),
    "sh": ("李审核", ["reviewer"], "pass-word-2"),
    "both": ("兼岗人员", ["handler", "reviewer"], "pass-word-4"),
}


@pytest.fixture
def api(engine):
    world.build(engine)
    with unit_of_work(engine) as s:
        for username, (name, roles, password) in USERS.items():
            create_user(s, username, name, roles, password, actor="test")
    with TestClient(create_app(console=False)) as c:
        c.auth_headers = {u: bearer(c, u, USERS[u][2]) for u in USERS}
        yield c


def as_(api, user: str) -> dict:
    return api.auth_headers[user]


def settle_worker(his: His, day: str) -> tuple[str, str]:
    """A 普通门诊 visit of 张三 (职工) with a 甲类, an 乙类 over its price cap and a 丙类 line, the account paying:
    (mdtrt_id, setl_id)."""
    mdtrt = his.ok("2201", {"data": {"psn_no": WORKER, "insutype": "310", "begntime": f"{day} 09:00:00"}})[
        "data"
    ]["mdtrt_id"]
    lines = [line("1", "A1", "400.00"), line("2", "B2", "1500.00"), line("3", "C1", "100.00")]
    his.ok("2204", {"feedetail": [{**x, "mdtrt_id": mdtrt} for x in lines]})
    data = {"psn_no": WORKER, "mdtrt_id": mdtrt, "medfee_sumamt": "2000.00", "insutype": "310"}
    setl = his.ok("2207", {"data": {**data, "acct_used_flag": "1"}})["setlinfo"]
    return mdtrt, setl["setl_id"]


def person_state(engine, psn_no: str = WORKER) -> tuple[dict, int]:
    """The person's accumulators (key → value) and account balance."""
    with unit_of_work(engine, write=False) as s:
        accum = {
            (r.year, r.insutype, r.acc_key): r.value
            for r in s.scalars(select(Accumulator).where(Accumulator.psn_no == psn_no))
        }
        account = s.get(PersonalAccount, psn_no)
        return accum, account.balance if account else 0


def reversal_of(engine, setl_id: str) -> dict:
    """What a reversal left: its amounts and fund details, its ledger postings, its audit row (ids and actor
    aside), the visit's status and its lines."""
    with unit_of_work(engine, write=False) as s:
        orig = s.get(Settlement, setl_id)
        rev = s.get(Settlement, orig.reversed_by)
        details = s.execute(
            select(
                SettlementDetail.fund_pay_type, SettlementDetail.inscp_scp_amt, SettlementDetail.fund_payamt
            )
            .where(SettlementDetail.setl_id == rev.setl_id)
            .order_by(SettlementDetail.fund_pay_type)
        ).all()
        legs = s.execute(
            select(
                LedgerEntry.entry_type,
                LedgerPosting.account,
                LedgerPosting.fund_pay_type,
                LedgerPosting.fixmedins_code,
                LedgerPosting.psn_no,
                LedgerPosting.amount,
            )
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.setl_id == rev.setl_id)
        ).all()
        audits = s.scalars(
            select(AuditLog).where(AuditLog.entity == "settlement", AuditLog.entity_id == rev.setl_id)
        ).all()
        visit = s.get(Visit, orig.mdtrt_id)
        lines = s.execute(
            select(FeeLine.feedetl_sn, FeeLine.status, FeeLine.setl_id).where(
                FeeLine.mdtrt_id == orig.mdtrt_id
            )
        ).all()
        return {
            "amounts": {k: getattr(rev, k) for k in SETLINFO_AMOUNTS},
            "row": (
                rev.refd_setl_flag,
                rev.orig_setl_id == setl_id,
                rev.psn_no,
                rev.fixmedins_code,
                rev.year,
            ),
            "details": [tuple(d) for d in details],
            "ledger": sorted(tuple(x) for x in legs),
            "audit": [
                (a.action, {k: v for k, v in a.after.items() if k not in ("orig_setl_id", "mdtrt_id")})
                for a in audits
            ],
            "actors": [a.actor for a in audits],
            "visit": visit.status,
            "lines": sorted((sn, status, sid) for sn, status, sid in lines),
        }


def request_audit(engine, request_id: int) -> list[tuple]:
    with unit_of_work(engine, write=False) as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "review_request", AuditLog.entity_id == str(request_id))
            .order_by(AuditLog.seq)
        )
        return [(a.action, a.actor, (a.before or {}).get("status"), a.after.get("status")) for a in rows]


def test_an_approved_request_reverses_the_settlement_exactly_as_2208(api, engine):
    his = His(api, HOSP2)
    # the institution's own reversal of one visit …
    before_a = person_state(engine)
    _, by_his = settle_worker(his, "2025-03-01")
    his.ok("2208", {"data": {"psn_no": WORKER, "setl_id": by_his}})
    after_a = person_state(engine)
    assert after_a == before_a
    # … and the bureau's, of the same visit made again
    mdtrt_b, by_bureau = settle_worker(his, "2025-03-01")
    settled_b = person_state(engine)
    assert settled_b != after_a  # (the settlement moved the accumulators and paid from the account)
    req = ok(
        api.post(
            f"/api/settlements/{by_bureau}/reversal-requests",
            json={"reason": f"  {WHY} "},
            headers=as_(api, "jb"),
        ),
        201,
    )
    assert (req["status"], req["status_name"], req["reason"], req["requested_by_name"]) == (
        "pending",
        "待审核",
        WHY,
        "王经办",
    )
    assert (req["psn_name"], req["fixmedins_code"], req["medfee_sumamt"]) == ("张三", HOSP2, "2000.00")
    assert person_state(engine) == settled_b  # filing changes nothing but the request
    queue = ok(api.get("/api/reviews", headers=as_(api, "sh")))
    assert queue["total"] == 1 and queue["items"][0]["id"] == req["id"]
    done = ok(api.post(f"/api/reviews/{req['id']}/approve", json={"comment": "同意"}, headers=as_(api, "sh")))
    assert (done["status"], done["decided_by_name"], done["comment"]) == ("approved", "李审核", "同意")
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, by_bureau).reversed_by == done["result_setl_id"]

    assert person_state(engine) == after_a  # accumulators and account back where the 2208 left them
    by_2208, by_review = reversal_of(engine, by_his), reversal_of(engine, by_bureau)
    assert by_review["amounts"]["medfee_sumamt"] == -200_000 and by_review["ledger"]
    for key in ("amounts", "row", "details", "ledger", "audit", "visit"):
        assert by_review[key] == by_2208[key], key
    assert by_2208["actors"] == [f"{HOSP2}/001"] and by_review["actors"] == ["sh"]
    assert by_review["visit"] == "open"  # the HIS may settle the visit again, as after its own 2208
    assert all(status == "open" and sid is None for _, status, sid in by_review["lines"])
    report_ok(engine)
    assert request_audit(engine, req["id"]) == [
        ("request", "jb", None, "pending"),
        ("approve", "sh", "pending", "approved"),
    ]
    # decided: final
    again = api.post(f"/api/reviews/{req['id']}/approve", json={}, headers=as_(api, "both"))
    assert refused(again) == "status: 申请已通过，不能审核通过"
    assert refused(api.post(f"/api/reviews/{req['id']}/withdraw", json={}, headers=as_(api, "jb"))) == (
        "status: 申请已通过，不能撤回"
    )
    # the reversed settlement takes no new request; the visit settled again does
    assert "已撤销" in refused(
        api.post(
            f"/api/settlements/{by_bureau}/reversal-requests", json={"reason": WHY}, headers=as_(api, "jb")
        )
    )
    data = {"psn_no": WORKER, "mdtrt_id": mdtrt_b, "medfee_sumamt": "2000.00", "insutype": "310"}
    assert his.ok("2207", {"data": data})["setlinfo"]["setl_id"]


def report_ok(engine) -> None:
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
    assert report.ok, report.problems


def test_nobody_approves_their_own_request(api, engine):
    """Four eyes in the use case, not only in the page: a user holding both roles files, and is refused as the
    approver (403); nothing moved. Another reviewer approves."""
    his = His(api, HOSP2)
    _, setl_id = settle_worker(his, "2025-03-02")
    settled = person_state(engine)
    req = ok(
        api.post(
            f"/api/settlements/{setl_id}/reversal-requests", json={"reason": WHY}, headers=as_(api, "both")
        ),
        201,
    )
    for action in ("approve", "reject"):
        answer = api.post(
            f"/api/reviews/{req['id']}/{action}", json={"comment": "本人"}, headers=as_(api, "both")
        )
        assert "本人提交的申请" in refused(answer, 403)
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, setl_id).reversed_by is None
        assert s.get(ReviewRequest, req["id"]).status == "pending"
    assert person_state(engine) == settled
    assert request_audit(engine, req["id"]) == [("request", "both", None, "pending")]
    ok(api.post(f"/api/reviews/{req['id']}/approve", json={}, headers=as_(api, "sh")))
    assert request_audit(engine, req["id"])[-1] == ("approve", "sh", "pending", "approved")


def test_filing_and_deciding_refusals(api, engine):
    his = His(api, HOSP2)
    _, setl_id = settle_worker(his, "2025-03-03")
    url = f"/api/settlements/{setl_id}/reversal-requests"
    jb = as_(api, "jb")
    assert refused(api.post(url, json={"reason": "   "}, headers=jb)) == "reason: 必须填写撤销原因"
    assert refused(api.post(url, json={"reason": "错" * 201}, headers=jb)) == (
        "reason: 撤销原因最多 200 个字（现 201 个）"
    )
    missing = api.post("/api/settlements/NOPE/reversal-requests", json={"reason": WHY}, headers=jb)
    assert refused(missing, 404) == "setl_id: 结算不存在 NOPE"
    assert "需要 settlement.write" in refused(
        api.post(url, json={"reason": WHY}, headers=as_(api, "sh")), 403
    )
    first = ok(api.post(url, json={"reason": WHY}, headers=jb), 201)
    assert refused(api.post(url, json={"reason": WHY}, headers=as_(api, "jb2"))) == (
        f"setl_id: 结算 {setl_id} 已有待审核的撤销申请 #{first['id']}，不能重复申请"
    )
    # a handler does not decide; a reviewer must say why to reject; only the requester withdraws
    assert "需要 settlement.review" in refused(
        api.post(f"/api/reviews/{first['id']}/approve", json={}, headers=as_(api, "jb2")), 403
    )
    assert refused(api.post(f"/api/reviews/{first['id']}/reject", json={}, headers=as_(api, "sh"))) == (
        "comment: 必须填写审核意见"
    )
    assert refused(
        api.post(f"/api/reviews/{first['id']}/withdraw", json={}, headers=as_(api, "jb2")), 403
    ) == ("requester: 只有申请人 jb 可以撤回申请")
    assert refused(api.post("/api/reviews/999999/approve", json={}, headers=as_(api, "sh")), 404) == (
        "request: 申请不存在 #999999"
    )
    rejected = ok(
        api.post(
            f"/api/reviews/{first['id']}/reject",
            json={"comment": "原因不充分，请补充稽核意见"},
            headers=as_(api, "sh"),
        )
    )
    assert (rejected["status_name"], rejected["comment"]) == ("已驳回", "原因不充分，请补充稽核意见")
    # closed: the settlement stands and may be filed again, then withdrawn by its requester
    second = ok(api.post(url, json={"reason": WHY + "（补充）"}, headers=jb), 201)
    withdrawn = ok(api.post(f"/api/reviews/{second['id']}/withdraw", json={}, headers=jb))
    assert (withdrawn["status"], withdrawn["decided_by"]) == ("withdrawn", "jb")
    assert refused(api.post(f"/api/reviews/{second['id']}/approve", json={}, headers=as_(api, "sh"))) == (
        "status: 申请已撤回，不能审核通过"
    )
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, setl_id).reversed_by is None
    assert [r[0] for r in request_audit(engine, first["id"])] == ["request", "reject"]
    assert [r[0] for r in request_audit(engine, second["id"])] == ["request", "withdraw"]
    # the queue: the waiting ones by default, everything with status=all (waiting first)
    third = ok(api.post(url, json={"reason": WHY}, headers=jb), 201)
    assert [r["id"] for r in ok(api.get("/api/reviews", headers=as_(api, "sh")))["items"]] == [third["id"]]
    everything = ok(api.get("/api/reviews?status=all", headers=as_(api, "sh")))
    assert everything["total"] == 3 and everything["items"][0]["id"] == third["id"]
    assert refused(api.get("/api/reviews", headers=jb), 403)  # the queue is the reviewer's
    mine = ok(api.get(f"/api/settlements/{setl_id}/reviews", headers=jb))["items"]
    assert [r["status"] for r in mine] == ["pending", "withdrawn", "rejected"]


def test_a_reversal_the_settlement_path_refuses_is_refused_when_filed(api, engine):
    """A later settlement of the same visit must be reversed first (as for a 2208): the handler hears it when
    filing, not the reviewer when approving. A reversal record itself is no settlement to reverse."""
    his = His(api, HOSP2)
    mdtrt = his.ok(
        "2201", {"data": {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-04 09:00:00"}}
    )["data"]["mdtrt_id"]
    his.ok("2204", {"feedetail": [line("1", "A1", "50.00", mdtrt_id=mdtrt)]})
    data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "50.00", "insutype": "390"}
    first = his.ok("2207", {"data": data})["setlinfo"]["setl_id"]
    rev = his.ok("2208", {"data": {"psn_no": RESIDENT, "setl_id": first}})["setlinfo"]["setl_id"]
    jb = as_(api, "jb")
    assert "是一笔撤销记录" in refused(
        api.post(f"/api/settlements/{rev}/reversal-requests", json={"reason": WHY}, headers=jb)
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(ReviewRequest.id)) is None


def test_a_pharmacy_purchase_is_reversed_as_its_2103_reverses_it(api, engine):
    ph = His(api, PHARMACY)
    drugs = {
        "drugdetail": [line("1", "A1", "30.00"), line("2", "B1", "20.00")],
        "data": {
            "psn_no": WORKER,
            "insutype": "310",
            "med_type": "41",
            "medfee_sumamt": "50.00",
            "acct_used_flag": "1",
            "begntime": "2025-04-01 10:00:00",
        },
    }
    before = person_state(engine)
    setl = ph.ok("2102", drugs)["setlinfo"]
    assert person_state(engine) != before
    req = ok(
        api.post(
            f"/api/settlements/{setl['setl_id']}/reversal-requests",
            json={"reason": WHY},
            headers=as_(api, "jb"),
        ),
        201,
    )
    ok(api.post(f"/api/reviews/{req['id']}/approve", json={}, headers=as_(api, "sh")))
    assert person_state(engine) == before
    assert reversal_of(engine, setl["setl_id"])["visit"] == "cancelled"
    report_ok(engine)


def test_two_handlers_filing_at_once_leave_one_request_waiting(api, engine, monkeypatch):
    """The check for a waiting request is read before the insert; a handler who files between the two is
    caught by the unique index over waiting requests, and told so in words."""
    from yibao.store import review_reads

    his = His(api, HOSP2)
    _, setl_id = settle_worker(his, "2025-03-05")
    url = f"/api/settlements/{setl_id}/reversal-requests"
    first = ok(api.post(url, json={"reason": WHY}, headers=as_(api, "jb")), 201)
    monkeypatch.setattr(
        review_reads, "waiting_id", lambda *_: None
    )  # (as if read before the first committed)
    assert refused(api.post(url, json={"reason": WHY}, headers=as_(api, "jb2"))) == (
        f"setl_id: 结算 {setl_id} 已有待审核的撤销申请（刚由他人提交），不能重复申请"
    )
    with unit_of_work(engine, write=False) as s:
        assert s.scalars(select(ReviewRequest.id)).all() == [first["id"]]
    assert request_audit(engine, first["id"]) == [("request", "jb", None, "pending")]


def test_a_look_back_supplement_is_reversed_by_approval_and_its_original_then_by_request(
    api,
    engine,
    tmp_path,
    looking_back,  # noqa: F811
):
    """A look-back supplement (补充救助) is the bureau's own settlement: a request to reverse the settlement it
    supplements is refused when filed (the supplement stands); a request for the supplement, approved, reverses
    it as `yibao assistance reverse` does (its accumulators restored); then the original may be requested."""
    from tests.e2e.test_look_back import assistance_accumulators, supplements
    from yibao.cli import main

    his = His(api, HOSP2)
    _, march = world.settle_outpatient(his, "2025-03-01", "300.00")
    march = march["setl_id"]
    feed = tmp_path / "低保.csv"
    feed.write_text(f"psn_no,psn_idet_type,begntime\n{RESIDENT},2303,2025-07-10\n", "utf-8")
    assert main(["import", "identities", str(feed)]) == 0
    (sup,) = supplements()
    assert assistance_accumulators() == {"assistance:paid": 12000, "assistance:outpatient": 12000}
    jb, sh = as_(api, "jb"), as_(api, "sh")
    assert "须先由医保经办机构撤销" in refused(
        api.post(f"/api/settlements/{march}/reversal-requests", json={"reason": WHY}, headers=jb)
    )
    req = ok(
        api.post(f"/api/settlements/{sup.setl_id}/reversal-requests", json={"reason": WHY}, headers=jb), 201
    )
    done = ok(api.post(f"/api/reviews/{req['id']}/approve", json={}, headers=sh))
    assert done["result_setl_id"] and assistance_accumulators() == {}  # (restored: no longer held)
    report_ok(engine)
    again = ok(api.post(f"/api/settlements/{march}/reversal-requests", json={"reason": WHY}, headers=jb), 201)
    ok(api.post(f"/api/reviews/{again['id']}/approve", json={}, headers=sh))
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, march).reversed_by
