"""特例单议 (special-case review) end to end, on both databases, through REST and the command line: a handler files
a hospital's request for a settled inpatient case; a second request is refused over the hospital's cap (the
floor of discharges × share, the arithmetic in the message); a reviewer who filed it, or who works at that
hospital, may not decide it; one from another institution approves it with extra points (or an FFS amount),
and :func:`~yibao.store.special_reviews.approved_for_year` hands it to the clearing. Every step writes one
audit row; every refusal leaves nothing behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.e2e.test_fsi_settlement_list import settled_stay, settlement_list
from tests.e2e.test_review_reversal import api, as_  # noqa: F401 - fixture
from tests.rest import ok, refused
from tests.world import HOSP2, HOSP3, OTHER, POOR, RESIDENT, His, line
from yibao.cli import main
from yibao.money import BasisPoints
from yibao.payment import special_review as sr
from yibao.payment.service import special_review as service
from yibao.store import special_reviews as reads
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, PaymentRun, Settlement, SpecialReview

URL = "/api/payment/special-reviews"
HALF = BasisPoints(5000)  # 50 %: three discharges allow one request (1.5 → 1)
STATEMENT = "患者入院后转入重症监护室 9 天，呼吸机辅助通气，费用远超病组标准"


@pytest.fixture
def half_cap(monkeypatch):
    """The region's special-review parameters for these tests: a cap of 50 % of discharges under DRG (so that
    three discharges are enough to reach it) and the default thresholds; every hospital paid by DRG."""
    settings = sr.ReviewSettings(
        cap={"drg": HALF, "dip": HALF},
        window_days=30,
        long_stay_days=60,
        extreme_ratio4=sr.DEFAULTS.extreme_ratio4,
        source="测试参数",
    )
    fake = service.ReviewPolicy(settings, lambda _code, _level: "drg", lambda insutype: insutype)
    monkeypatch.setattr(service, "review_settings", lambda _region_dir, _year: fake)
    return fake


def three_stays(api):  # noqa: F811
    """Three settled inpatient stays at HOSP3, each with its settlement list (grouped GD13): the HIS and their
    setl_ids."""
    his = His(api, HOSP3)
    out = []
    for psn, gend in ((RESIDENT, "1"), (RESIDENT, "1"), (POOR, "2")):
        mdtrt, setl_id = settled_stay(his, psn)
        his.ok("4101", settlement_list(mdtrt, setl_id, psn=psn, gend=gend))
        out.append(setl_id)
    return his, out


def year_of(engine, setl_id: str) -> int:
    """The year the stay was discharged in (the clearing's)."""
    with unit_of_work(engine, write=False) as s:
        return s.get(Settlement, setl_id).enddate.year


def filing(setl_id: str, year: int, **changes) -> dict:
    body = {
        "fixmedins_code": HOSP3,
        "year": year,
        "setl_id": setl_id,
        "reason": "icu",
        "statement": STATEMENT,
        "evidence": ["病历摘要.pdf", {"name": "重症监护记录.pdf", "digest": "ab" * 32}],
    }
    return body | changes


def audit_of(engine, review_id: int) -> list[tuple]:
    with unit_of_work(engine, write=False) as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "special_review", AuditLog.entity_id == str(review_id))
            .order_by(AuditLog.seq)
        )
        return [(a.action, a.actor, (a.before or {}).get("status"), a.after.get("status")) for a in rows]


def requests(engine) -> list[tuple]:
    with unit_of_work(engine, write=False) as s:
        return [(r.setl_id, r.status) for r in s.scalars(select(SpecialReview).order_by(SpecialReview.id))]


def test_file_cap_conflict_decide_and_hand_to_the_clearing(api, engine, half_cap):  # noqa: F811
    _, (first, second, _) = three_stays(api)
    year = year_of(engine, first)
    post = lambda path, body, user: api.post(path, json=body, headers=as_(api, user))  # noqa: E731

    # filed by the handler, for the hospital
    req = ok(post(URL, filing(first, year), "jb"), 201)
    assert (req["status"], req["status_name"], req["reason_name"], req["scheme_name"]) == (
        "filed",
        "待评审",
        "重症监护",
        "DRG 按疾病诊断相关分组付费",
    )
    assert (req["fixmedins_name"], req["psn_name"], req["filed_by_name"]) == (
        "示例市第一人民医院",
        "王五",
        "王经办",
    )
    assert req["evidence"] == [
        {"name": "病历摘要.pdf", "digest": None},
        {"name": "重症监护记录.pdf", "digest": "ab" * 32},
    ]
    assert req["case"] == {
        "group_code": "GD13",
        "group_name": req["case"]["group_name"],
        "medfee_sumamt": "6000.00",
        "los": 5,
        "admitted": "2025-03-01",
        "discharged": "2025-03-06",
        "dscg_way": "1",
    }
    assert req["extra_points"] is None and req["ffs_amount"] is None

    # one request per case; the cap: 3 discharges × 50 % = 1.5 → 1
    assert refused(post(URL, filing(first, year), "jb")) == (
        f"setl_id: 结算 {first} 已有待评审的特例单议申请 #{req['id']}"
    )
    over = refused(post(URL, filing(second, year), "jb2"))
    assert over.startswith(f"setl_id: 特例单议申请已达上限: 本院 {year} 年出院 3 例 × 50% = 1 例")
    # the case must be the hospital's, of the year, and exist; the kind's evidence and thresholds hold
    assert "不是本院 H99010200001 的结算" in refused(
        post(URL, filing(second, year, fixmedins_code=HOSP2), "jb")
    )
    assert f"于 {year} 年出院，不属 {year - 1} 年度" in refused(post(URL, filing(second, year - 1), "jb"))
    assert refused(post(URL, filing("NOPE", year), "jb"), 404) == "setl_id: 结算不存在 NOPE"
    assert refused(post(URL, filing(second, year, evidence=[]), "jb")) == (
        "evidence: 重症监护须附证明材料（病历摘要、费用清单等）"
    )
    assert refused(post(URL, filing(second, year, reason="long_stay"), "jb")) == (
        "reason: 超长住院须住院满 60 天，该病例住院 5 天"
    )
    assert "没有本年度的均次费用标准" in refused(post(URL, filing(first, year, reason="extreme"), "jb2"))
    assert refused(post(URL, filing(second, year), "sh"), 403) == "无权限: 需要 settlement.write"
    assert requests(engine) == [(first, "filed")]

    # nobody decides their own request, nor one of the hospital they work at; the grant is exactly one
    rid = req["id"]
    decide = f"{URL}/{rid}/decide"
    assert refused(post(decide, {"decision": "approve", "extra_points": "1"}, "jb"), 403) == (
        "无权限: 需要 payment.review"
    )
    conflict = {"decision": "approve", "extra_points": "120.5", "reviewer_institution": HOSP3}
    assert refused(post(decide, conflict, "sh"), 403) == (
        f"reviewer_institution: 评审人员所在机构 {HOSP3} 即申请医院，须回避（利益冲突）"
    )
    both = {"decision": "approve", "extra_points": "1", "ffs_amount": "1.00", "reviewer_institution": OTHER}
    assert "不能同时给出" in refused(post(decide, both, "sh"))
    assert refused(post(decide, {"decision": "approve", "ffs_amount": "6000.01"}, "sh")) == (
        "ffs_amount: 按项目付费金额 6,000.01 元超过该病例医疗费总额 6,000.00 元"
    )
    assert refused(post(decide, {"decision": "approve", "extra_points": "1.00001"}, "sh")).startswith(
        'extra_points: 追加点数无效："1.00001" 小数位超过 4 位'
    )
    assert refused(post(decide, {"decision": "reject"}, "sh")) == "note: 必须填写评审意见"
    assert requests(engine) == [(first, "filed")]

    done = ok(post(decide, {**conflict, "reviewer_institution": OTHER, "note": "同意追加"}, "sh"))
    assert (done["status"], done["extra_points"], done["ffs_amount"], done["decided_by_name"]) == (
        "approved",
        "120.5000",
        None,
        "李审核",
    )
    assert (done["reviewer_institution"], done["reviewer_institution_name"]) == (OTHER, "示例市东区医院")
    assert (
        refused(post(decide, {"decision": "reject", "note": "x"}, "sh"))
        == "status: 申请已通过，不能审议不通过"
    )
    assert refused(post(f"{URL}/{rid}/withdraw", {}, "jb")) == "status: 申请已通过，不能撤回"
    # approved still counts against the cap
    assert refused(post(URL, filing(second, year), "jb")).startswith("setl_id: 特例单议申请已达上限")

    with unit_of_work(engine, write=False) as s:
        assert reads.approved_for_year(s, year) == [
            reads.ApprovedReview(first, HOSP3, "drg", 1_205_000, None)
        ]
        assert reads.approved_for_year(s, year - 1) == []
        assert reads.counted(s, HOSP3, year) == 1 and reads.discharges(s, HOSP3, year) == 3
    assert audit_of(engine, rid) == [("request", "jb", None, "filed"), ("approve", "sh", "filed", "approved")]
    with unit_of_work(engine, write=False) as s:
        filed = s.scalar(
            select(AuditLog.after).where(AuditLog.entity == "special_review", AuditLog.action == "request")
        )
    assert filed["cap"] == {
        "discharges": 3,
        "share": "50%",
        "limit": 1,
        "counted_before": 0,
        "source": "测试参数",
    }

    # the list and one request, for a reader
    listed = ok(api.get(URL, params={"status": "approved"}, headers=as_(api, "sh")))
    assert listed["total"] == 1 and listed["items"][0]["id"] == rid
    assert ok(api.get(URL, params={"status": "filed"}, headers=as_(api, "jb")))["total"] == 0
    assert ok(api.get(f"{URL}/{rid}", headers=as_(api, "sh")))["trail"][1]["note"] == "同意追加"
    assert refused(api.get(f"{URL}/999", headers=as_(api, "sh")), 404) == "review: 特例单议申请不存在 #999"


def test_withdraw_reject_and_a_closed_window(api, engine, half_cap):  # noqa: F811
    his, (first, second, third) = three_stays(api)
    year = year_of(engine, first)
    post = lambda path, body, user: api.post(path, json=body, headers=as_(api, user))  # noqa: E731

    a = ok(post(URL, filing(first, year), "jb"), 201)["id"]
    assert refused(post(f"{URL}/{a}/withdraw", {}, "jb2"), 403) == "filer: 只有申请人 jb 可以撤回申请"
    assert ok(post(f"{URL}/{a}/withdraw", {"note": "资料不全，补充后再报"}, "jb"))["status_name"] == "已撤回"
    # withdrawn: the place under the cap is free again, and the same case may be filed again
    b = ok(post(URL, filing(second, year), "both"), 201)["id"]
    assert refused(post(f"{URL}/{b}/decide", {"decision": "reject", "note": "x"}, "both"), 403) == (
        "reviewer: 不能审议不通过本人提交的申请，须由其他评审人员办理"
    )
    out = ok(post(f"{URL}/{b}/decide", {"decision": "reject", "note": "监护记录不支持"}, "sh"))
    assert (out["status"], out["decision_note"], out["reviewer_institution"]) == (
        "rejected",
        "监护记录不支持",
        None,
    )
    c = ok(post(URL, filing(first, year, reason="rescue"), "jb"), 201)["id"]
    assert ok(post(f"{URL}/{c}/decide", {"decision": "approve", "ffs_amount": "1500.5"}, "sh"))[
        "ffs_amount"
    ] == ("1500.50")
    with unit_of_work(engine, write=False) as s:
        assert reads.approved_for_year(s, year) == [reads.ApprovedReview(first, HOSP3, "drg", 0, 150_050)]
    assert requests(engine) == [(first, "withdrawn"), (second, "rejected"), (first, "approved")]
    assert audit_of(engine, a) == [("request", "jb", None, "filed"), ("withdraw", "jb", "filed", "withdrawn")]
    assert audit_of(engine, b) == [("request", "both", None, "filed"), ("reject", "sh", "filed", "rejected")]

    # a stay without a settlement list is not paid by case: nothing for the clearing to add to
    _, unlisted = settled_stay(his, RESIDENT)
    assert refused(post(URL, filing(unlisted, year), "jb")) == (
        f"setl_id: 结算 {unlisted} 没有有效的医保结算清单，未按病种付费，不能申请特例单议"
    )
    # a month pre-settled long ago: its cases' window has closed
    with unit_of_work(engine) as s:
        s.add(
            PaymentRun(
                kind="month",
                year=2025,
                month=3,
                version=1,
                status="posted",
                policy_version="t",
                params_hash="0" * 64,
                snapshot_hash="0" * 64,
                summary={},
                created_at=datetime(2025, 4, 2, 9, 0),
                created_by="test",
            )
        )
    with unit_of_work(engine) as s:  # (the approval above no longer in the way)
        s.get(SpecialReview, c).status = "rejected"
    assert refused(post(URL, filing(third, year), "jb")) == (
        "setl_id: 已过申报期限: 该病例所在月份于 2025-04-02 预结算，须在 30 天内（2025-05-02 前）申请"
    )


def test_from_the_command_line(api, engine, half_cap, capsys):  # noqa: F811
    _, (first, second, _) = three_stays(api)
    year = year_of(engine, first)
    base = ["payment", "review", "file", "--hospital", HOSP3, "--year", str(year), "--reason", "new_tech"]
    said = ["--statement", "使用新技术 X，费用未纳入病组", "--evidence", f"新技术备案.pdf:{'cd' * 32}"]
    capsys.readouterr()
    assert main([*base, "--setl-id", first, *said, "--as", "jb"]) == 0
    assert "已提交特例单议申请 #" in capsys.readouterr().out
    assert main([*base, "--setl-id", second, *said, "--as", "jb"]) == 2
    assert f"特例单议申请已达上限: 本院 {year} 年出院 3 例 × 50% = 1 例" in capsys.readouterr().err
    with unit_of_work(engine, write=False) as s:
        rid = s.scalar(select(SpecialReview.id))
        assert s.get(SpecialReview, rid).evidence == [{"name": "新技术备案.pdf", "digest": "cd" * 32}]
    decide = ["payment", "review", "decide", str(rid)]
    assert main([*decide, "--decision", "approve", "--ffs", "800", "--institution", HOSP3, "--as", "sh"]) == 2
    assert "须回避（利益冲突）" in capsys.readouterr().err
    assert (
        main([*decide, "--decision", "approve", "--ffs", "800", "--as", "jb"]) == 2
    )  # a handler does not decide
    assert main([*decide, "--decision", "approve", "--ffs", "800", "--institution", OTHER, "--as", "sh"]) == 0
    assert f"特例单议申请 #{rid} 已通过" in capsys.readouterr().out
    assert main(["payment", "review", "withdraw", str(rid), "--as", "jb"]) == 2
    assert "申请已通过，不能撤回" in capsys.readouterr().err
    assert main(["payment", "review", "list", "--status", "approved", "--year", str(year)]) == 0
    out = capsys.readouterr().out
    assert "已通过" in out and "新药新技术" in out and "按项目付费 800.00 元" in out and "共 1 项" in out
    with unit_of_work(engine, write=False) as s:
        assert reads.approved_for_year(s, year) == [reads.ApprovedReview(first, HOSP3, "drg", 0, 80_000)]
    assert audit_of(engine, rid) == [("request", "jb", None, "filed"), ("approve", "sh", "filed", "approved")]


def test_the_settings_come_from_the_payment_policy_or_the_defaults(tmp_path, monkeypatch):
    """Without a payment-policy folder: the defaults, DRG for every hospital. With one: what the version in
    force on 31 December says (the loader is the payment policy's; here a stand-in for its answer)."""
    policy = service.review_settings(tmp_path / "990100", 2025)
    assert policy.settings == sr.DEFAULTS and policy.scheme_of(HOSP3, 3) == "drg"
    assert policy.pool_of("390") == "390"

    from decimal import Decimal
    from types import SimpleNamespace

    import yibao.payment.policy as payment_policy

    asked = []
    stand_in = SimpleNamespace(
        version="2025.1",
        special_review=SimpleNamespace(
            cap_of=lambda scheme: {"dip": Decimal("0.005"), "drg": None}[scheme],
            window_days=45,
            candidates=SimpleNamespace(long_stay_days=90, extreme_ratio=Decimal("3.5")),
        ),
        scheme_of=lambda code, level: "dip",
        pool_of_insutype=lambda insutype: "pool-" + insutype,
    )
    monkeypatch.setattr(payment_policy, "payment_policy_on", lambda d, day: asked.append(day) or stand_in)
    (tmp_path / "990100" / "policy" / "payment").mkdir(parents=True)
    got = service.review_settings(tmp_path / "990100", 2025)
    assert asked == [datetime(2025, 12, 31).date()]
    assert got.settings == sr.ReviewSettings(
        cap={"dip": BasisPoints(50)},
        window_days=45,
        long_stay_days=90,
        extreme_ratio4=35_000,
        source="支付方式政策 2025.1",
    )
    assert got.scheme_of(HOSP3, 3) == "dip" and got.pool_of("310") == "pool-310"


def test_two_filings_at_once_never_pass_the_cap(api, engine, half_cap, monkeypatch):  # noqa: F811
    """Two handlers file at the same moment for two cases of a hospital with one place left: one request is
    filed, the other refused over the cap. The hospital's row is locked while the cap is counted (on SQLite
    the write lock serialises them anyway); each filing dawdles between counting and writing to be sure they
    overlap."""
    import threading
    import time

    from yibao.errors import YibaoError

    _, (first, second, _) = three_stays(api)
    year = year_of(engine, first)
    counted = reads.counted

    def slow_count(s, code, y):
        n = counted(s, code, y)
        time.sleep(0.3)
        return n

    monkeypatch.setattr(reads, "counted", slow_count)
    start, outcomes = threading.Barrier(2), {}

    def file(setl_id: str, user: str) -> None:
        start.wait()
        try:
            with unit_of_work() as s:
                outcomes[setl_id] = service.file_request(
                    s,
                    staff=sr.Staff(user, frozenset({sr.FILE})),
                    fixmedins_code=HOSP3,
                    year=year,
                    setl_id=setl_id,
                    reason="icu",
                    statement=STATEMENT,
                    evidence=["病历摘要.pdf"],
                    now=datetime.now(),
                )
        except YibaoError as exc:
            outcomes[setl_id] = exc.message

    threads = [threading.Thread(target=file, args=a) for a in ((first, "jb"), (second, "jb2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    filed = [v for v in outcomes.values() if isinstance(v, int)]
    refusals = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(filed) == 1 and len(refusals) == 1, outcomes
    assert refusals[0].startswith("setl_id: 特例单议申请已达上限")
    with unit_of_work(engine, write=False) as s:
        assert reads.count(s, fixmedins_code=HOSP3, year=year) == 1


def test_a_stay_across_new_year_belongs_to_its_discharge_year(api, engine, half_cap, monkeypatch):  # noqa: F811
    """Admitted on 30 December, discharged on 3 January: the settlement's own year is the admission's, but the
    case is the next year's — its discharges, its cap, its clearing."""
    whole = half_cap._replace(settings=replace(half_cap.settings, cap={"drg": BasisPoints(10_000)}))
    monkeypatch.setattr(service, "review_settings", lambda _region_dir, _year: whole)
    his = His(api, HOSP3)
    begin, end = "2025-12-30 10:00:00", "2026-01-03 09:00:00"
    info = {"psn_no": RESIDENT, "insutype": "390", "med_type": "21", "begntime": begin}
    mdtrt = his.ok("2401", {"mdtrtinfo": info})["result"]["mdtrt_id"]
    his.ok("2301", {"feedetail": [line("1", "A1", "6000.00", mdtrt_id=mdtrt)]})
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt, "psn_no": RESIDENT, "endtime": end, "dscg_way": "1"}})
    data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "insutype": "390", "medfee_sumamt": "6000.00"}
    setl_id = his.ok("2304", {"data": data})["setlinfo"]["setl_id"]
    body = settlement_list(mdtrt, setl_id)
    body["setlinfo"] |= {"adm_time": begin, "dscg_time": end, "act_ipt_days": 4}
    his.ok("4101", body)
    with unit_of_work(engine, write=False) as s:
        assert s.get(Settlement, setl_id).year == 2025
        assert (reads.discharges(s, HOSP3, 2025), reads.discharges(s, HOSP3, 2026)) == (0, 1)
    post = lambda body: api.post(URL, json=body, headers=as_(api, "jb"))  # noqa: E731
    assert refused(post(filing(setl_id, 2025))) == f"setl_id: 结算 {setl_id} 于 2026 年出院，不属 2025 年度"
    rid = ok(post(filing(setl_id, 2026)), 201)["id"]
    ok(
        api.post(
            f"{URL}/{rid}/decide", json={"decision": "approve", "extra_points": "3"}, headers=as_(api, "sh")
        )
    )
    with unit_of_work(engine, write=False) as s:
        assert reads.approved_for_year(s, 2026) == [reads.ApprovedReview(setl_id, HOSP3, "drg", 30_000, None)]
        assert reads.approved_for_year(s, 2025) == []
