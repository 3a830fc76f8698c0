"""The suspicion workflow (疑点处理) over the store, on both databases, with suspicions written straight into
the table as a batch run would: notify → appeal with a file → uphold (for less) → deduct, the ledger entry
balanced and the ledger check passing; a 可疑 finding confirmed before its notice; an acceptance upheld at once;
a lapsed notice overdue and upheld by a second reviewer; dismissals; a deduction never made twice; every step
one audit row with the columns before and after; and the deductions on the hospital's monthly statement (the
console's rows and the Excel of ``yibao payment statement``)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import world
from tests.unit.test_console_payment_runs import year  # noqa: F401 - fixture
from yibao.cli import main
from yibao.console import queries_payment_statement as qs
from yibao.funds.check import check_ledger
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.suspicion_workflow import SuspicionFilter
from yibao.store.tables import (
    AuditAttachment,
    AuditLog,
    AuditRun,
    AuditSuspicion,
    LedgerEntry,
    LedgerPosting,
    PaymentRun,
)
from yibao.supervision import suspicion_states as st
from yibao.supervision.service import suspicion_settings
from yibao.supervision.service import suspicions as service
from yibao.supervision.suspicion_states import NotPermitted, Staff, Status, SuspicionRefused

H2, H3 = world.HOSP2, world.HOSP3
NOW = datetime(2025, 4, 1, 9, 30)
JC1 = Staff("jc1", frozenset({st.READ, st.REVIEW}))  # 稽核 who notifies
JC2 = Staff("jc2", frozenset({st.READ, st.REVIEW}))  # 稽核 who decides (复审)
JB = Staff("jb", frozenset({st.RESPOND}))  # 经办 who records the institution's answer
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def regions_dir(monkeypatch):
    from yibao.config import get_settings

    suspicion_settings.clear()
    yield get_settings().regions_dir
    suspicion_settings.clear()


def add_suspicions(engine, *rows: dict) -> list[int]:
    """Suspicions as a batch run writes them (status open), each row's values over a 违规 default."""
    with unit_of_work(engine) as s:
        run = AuditRun(
            date_from=date(2025, 1, 1),
            date_to=date(2025, 3, 31),
            engine="duckdb",
            library_version="v" * 64,
            status="done",
            started_at=NOW - timedelta(days=1),
            started_by="yibao audit",
        )
        s.add(run)
        s.flush()
        out = []
        for i, values in enumerate(rows):
            defaults = {
                "fingerprint": f"fp-{run.id}-{i}",
                "run_id": run.id,
                "rule_code": "GZ1000010200501",
                "rule_name": "限定频次",
                "rule_version": 1,
                "result_type": "违规",
                "sev_deg": "1",
                "vola_bhvr_type": "2",
                "fixmedins_code": H3,
                "mdtrt_id": f"M{i}",
                "psn_no": world.RESIDENT,
                "setl_id": None,
                "service_date": date(2025, 3, 6),
                "vola_amt": 50_000,
                "vola_cont": "住院诊查费每日限 1 次，当日收费 2 次",
                "evidence": {"observed": "2", "limit": "1"},
                "lines": [],
                "created_at": NOW - timedelta(days=1),
            }
            row = AuditSuspicion(**(defaults | values))
            s.add(row)
            s.flush()
            out.append(row.id)
        return out


def trail(engine, suspicion_id: int) -> list[tuple]:
    """The audit rows of one suspicion: (action, actor, status before, status after)."""
    with unit_of_work(engine, write=False) as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "audit_suspicion", AuditLog.entity_id == str(suspicion_id))
            .order_by(AuditLog.seq)
        )
        return [(a.action, a.actor, (a.before or {}).get("status"), a.after["status"]) for a in rows]


def suspicion(engine, suspicion_id: int) -> AuditSuspicion:
    with unit_of_work(engine, write=False) as s:
        row = s.get(AuditSuspicion, suspicion_id)
        s.expunge(row)
        return row


def entries(engine) -> list[tuple]:
    """The audit deductions' ledger legs: (entry, account, fund, institution, amount)."""
    with unit_of_work(engine, write=False) as s:
        return s.execute(
            select(
                LedgerPosting.entry_id,
                LedgerPosting.account,
                LedgerPosting.fund_pay_type,
                LedgerPosting.fixmedins_code,
                LedgerPosting.amount,
            )
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.entry_type == "audit_deduction")
            .order_by(LedgerPosting.id)
        ).all()


def step(engine, fn, *args, **kw):
    with unit_of_work(engine) as s:
        return fn(s, *args, **kw)


def test_notify_appeal_uphold_deduct_once_balanced_and_audited(engine, regions_dir):
    world.build(engine)
    (sid,) = add_suspicions(engine, {})
    due = step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=regions_dir)
    assert due == date(2025, 4, 16)  # 1 April + the region's 15 days

    # the institution appeals, recorded by a handler: the reason and the file, stored with its digest
    later = NOW + timedelta(days=10)
    with pytest.raises(NotPermitted, match="是该疑点告知机构的审核人员"):  # not by who notified it
        step(
            engine,
            service.appeal,
            sid,
            staff=Staff("jc1", frozenset({st.RESPOND})),
            fixmedins_code=H3,
            reason="x",
            files=[],
            now=later,
        )
    with pytest.raises(SuspicionRefused, match=f"疑点 #{sid} 属于定点机构 {H3}，不能代 {H2} 答复"):
        step(engine, service.appeal, sid, staff=JB, fixmedins_code=H2, reason="x", files=[], now=later)
    with pytest.raises(SuspicionRefused, match="reason: 必须填写申诉理由"):
        step(engine, service.appeal, sid, staff=JB, fixmedins_code=H3, reason=" ", files=[], now=later)
    with pytest.raises(SuspicionRefused, match="的内容不是 pdf 文件"):
        step(
            engine,
            service.appeal,
            sid,
            staff=JB,
            fixmedins_code=H3,
            reason="病情需要",
            files=[("x.pdf", b"MZ..")],
            now=later,
        )
    [aid] = step(
        engine,
        service.appeal,
        sid,
        staff=JB,
        fixmedins_code=H3,
        reason="患者病情危重，当日两次查房均有记录",
        files=[("病程记录.pdf", PDF)],
        now=later,
    )
    with unit_of_work(engine, write=False) as s:
        a = s.get(AuditAttachment, aid)
        assert (a.suspicion_id, a.filename, a.content_type, a.size, a.data) == (
            sid,
            "病程记录.pdf",
            "application/pdf",
            len(PDF),
            PDF,
        )
        assert a.sha256 == hashlib.sha256(PDF).hexdigest() and a.uploaded_by == "jb"
    # a refused step left nothing: one file, status appealed
    with unit_of_work(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(AuditAttachment)) == 1

    # 复审 by a second reviewer: neither the notifier nor the handler; upheld for less than vola_amt
    with pytest.raises(NotPermitted, match="告知机构的审核人员，不能复核维持"):
        step(engine, service.decide, sid, staff=JC1, decision="uphold", reason="r", now=later)
    with pytest.raises(SuspicionRefused, match=r"超过疑点金额 500\.00 元"):
        step(
            engine, service.decide, sid, staff=JC2, decision="uphold", reason="r", amount="500.01", now=later
        )
    assert (
        step(
            engine,
            service.decide,
            sid,
            staff=JC2,
            decision="uphold",
            reason="查房记录不能证明第二次诊查",
            amount="400.00",
            now=later,
        )
        == Status.UPHELD
    )
    with pytest.raises(SuspicionRefused, match="status: 疑点复核维持，不能维持"):
        step(engine, service.decide, sid, staff=JC2, decision="uphold", reason="again", now=later)

    # the deduction: one balanced entry, Dr institution_payable / Cr audit_recovery, for the upheld amount
    entry = step(engine, service.deduct, sid, staff=JC2, month="2025-05", now=later)
    assert entries(engine) == [
        (entry, "institution_payable", None, H3, 40_000),
        (entry, "audit_recovery", None, H3, -40_000),
    ]
    row = suspicion(engine, sid)
    assert (row.status, row.deducted_fen, row.deduction_month, row.deduction_entry_id) == (
        "deducted",
        40_000,
        "2025-05",
        entry,
    )
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
        assert report.ok, report.problems
        assert s.get(LedgerEntry, entry).memo == f"疑点 #{sid} GZ1000010200501 审核扣款 2025-05"

    # never twice: the single step is refused, the month's finds nothing, no second entry
    with pytest.raises(SuspicionRefused, match="status: 疑点已扣款，不能扣款"):
        step(engine, service.deduct, sid, staff=JC2, month="2025-05", now=later)
    again = step(engine, service.deduct_month, "2025-05", staff=JC2, now=later)
    assert again.done == [] and again.entries == [] and len(entries(engine)) == 2

    assert trail(engine, sid) == [
        ("notify", "jc1", "open", "notified"),
        ("appeal", "jb", "notified", "appealed"),
        ("uphold", "jc2", "appealed", "upheld"),
        ("deduct", "jc2", "upheld", "deducted"),
    ]
    with unit_of_work(engine, write=False) as s:
        rows = {
            a.action: a
            for a in s.scalars(
                select(AuditLog).where(AuditLog.entity == "audit_suspicion", AuditLog.entity_id == str(sid))
            )
        }
        assert rows["notify"].after["due_date"] == "2025-04-16"
        assert rows["notify"].after["note"] == "答复期限 15 天（990100/region.yaml supervision.appeal_days）"
        assert rows["appeal"].after["attachments"] == [
            {
                "id": aid,
                "filename": "病程记录.pdf",
                "size": len(PDF),
                "sha256": hashlib.sha256(PDF).hexdigest(),
            }
        ]
        assert rows["uphold"].before["upheld_fen"] == 0 and rows["uphold"].after["upheld_fen"] == 40_000
        assert rows["deduct"].after["deduction_entry_id"] == entry
        assert audit.verify(s).ok


def test_suspect_findings_are_confirmed_and_acceptance_is_upheld_at_once(engine, regions_dir):
    world.build(engine)
    suspect, clear = add_suspicions(engine, {"result_type": "可疑", "vola_amt": 30_000}, {})
    with pytest.raises(SuspicionRefused, match="可疑疑点须经初审确认后方可告知机构"):
        step(engine, service.notify, suspect, staff=JC1, now=NOW, regions_dir=regions_dir)
    step(engine, service.confirm, suspect, staff=JC1, reason="病历抽查属实", now=NOW)
    step(engine, service.notify, suspect, staff=JC1, now=NOW, regions_dir=regions_dir)
    assert step(engine, service.accept, suspect, staff=JB, fixmedins_code=H3, now=NOW) == Status.UPHELD
    row = suspicion(engine, suspect)
    assert (row.response, row.decision, row.decided_by, row.upheld_fen) == (
        "accept",
        "upheld",
        "system",
        30_000,
    )
    assert row.decision_reason == service.AUTO_UPHOLD_REASON and row.confirmed_by == "jc1"
    assert trail(engine, suspect) == [
        ("confirm", "jc1", "open", "confirmed"),
        ("notify", "jc1", "confirmed", "notified"),
        ("accept", "jb", "notified", "accepted"),
        ("uphold", "system", "accepted", "upheld"),
    ]
    # 初审排除 needs a reason; a dismissed one is never deducted
    with pytest.raises(SuspicionRefused, match="reason: 必须填写理由"):
        step(engine, service.decide, clear, staff=JC1, decision="dismiss", now=NOW)
    with pytest.raises(SuspicionRefused, match="status: 疑点初审待办，不能维持"):
        step(engine, service.decide, clear, staff=JC1, decision="uphold", now=NOW)
    step(
        engine, service.decide, clear, staff=JC1, decision="dismiss", reason="同一费用已由他规则处理", now=NOW
    )
    assert suspicion(engine, clear).status == "dismissed"
    done = step(engine, service.deduct_month, "2025-04", staff=JC2, now=NOW)
    assert done.done == [suspect] and done.by_institution == {H3: (1, 30_000)}
    assert [leg[-1] for leg in entries(engine)] == [30_000, -30_000]


def test_a_lapsed_notice_is_overdue_and_upheld_by_a_second_reviewer(engine, regions_dir):
    world.build(engine)
    first, second = add_suspicions(engine, {}, {"vola_amt": 12_345})
    for sid in (first, second):
        step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=regions_dir)
    in_time, late = datetime(2025, 4, 16, 23, 0), datetime(2025, 4, 17, 8, 0)
    # the due date itself is in time; the day after, the answer is refused
    with pytest.raises(SuspicionRefused, match="答复期限 2025-04-16 已过"):
        step(engine, service.accept, first, staff=JB, fixmedins_code=H3, now=late)
    step(engine, service.accept, second, staff=JB, fixmedins_code=H3, now=in_time)
    # the worklist's "overdue" takes the lapsed notice before anyone marks it
    with unit_of_work(engine, write=False) as s:
        from yibao.store import suspicion_workflow as reads

        f = SuspicionFilter(status=Status.OVERDUE.value, today=late.date())
        assert [r.id for r in reads.records(s, f)] == [first]
    assert step(engine, service.expire, now=late) == [first]
    assert step(engine, service.expire, now=late) == []  # once
    with pytest.raises(NotPermitted, match="不能逾期维持"):
        step(engine, service.decide, first, staff=JC1, decision="uphold", now=late)
    step(engine, service.decide, first, staff=JC2, decision="uphold", now=late)
    assert trail(engine, first) == [
        ("notify", "jc1", "open", "notified"),
        ("expire", "system", "notified", "overdue"),
        ("uphold", "jc2", "overdue", "upheld"),
    ]


def test_deciding_a_lapsed_notice_marks_it_overdue_first(engine, regions_dir):
    world.build(engine)
    (sid,) = add_suspicions(engine, {})
    step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=regions_dir)
    step(
        engine,
        service.decide,
        sid,
        staff=JC2,
        decision="dismiss",
        reason="复核不成立",
        now=NOW + timedelta(days=20),
    )
    assert [t[0] for t in trail(engine, sid)] == ["notify", "expire", "dismiss"]
    assert suspicion(engine, sid).status == "dismissed"


def test_bulk_notice_by_filter_leaves_unconfirmed_suspect_findings(engine, regions_dir):
    world.build(engine)
    ids = add_suspicions(
        engine,
        {},
        {"result_type": "可疑"},
        {"fixmedins_code": H2},
        {"vola_amt": 99},
        {"rule_code": "GZ1000020400101", "rule_name": "分解住院"},
    )
    with pytest.raises(SuspicionRefused, match="须至少给出一个筛选条件"):
        step(engine, service.notify_many, SuspicionFilter(), staff=JC1, now=NOW, regions_dir=regions_dir)
    with pytest.raises(NotPermitted):
        step(
            engine,
            service.notify_many,
            SuspicionFilter(fixmedins_code=H3),
            staff=JB,
            now=NOW,
            regions_dir=regions_dir,
        )
    f = SuspicionFilter(fixmedins_code=H3, rule_code="GZ1000010200501", min_fen=100)
    done = step(engine, service.notify_many, f, staff=JC1, now=NOW, regions_dir=regions_dir)
    assert done.done == [ids[0]] and done.amount_fen == 50_000
    assert dict(done.skipped) == {
        "可疑疑点须经初审确认后方可告知机构（仅违规疑点可直接告知，supervision.md §2.2）": 1
    }
    assert [suspicion(engine, i).status for i in ids] == ["notified", "open", "open", "open", "open"]
    again = step(engine, service.notify_many, f, staff=JC1, now=NOW, regions_dir=regions_dir)
    assert again.done == []  # the notified one is no longer open


def test_the_deadline_is_the_regions(engine, tmp_path):
    world.build(engine)
    (sid,) = add_suspicions(engine, {})
    region = tmp_path / "990100"
    region.mkdir()
    (region / "region.yaml").write_text("supervision:\n  appeal_days: 30\n", encoding="utf-8")
    suspicion_settings.clear()
    try:
        assert step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=tmp_path) == date(2025, 5, 1)
        assert suspicion_settings.settings_for("990999", tmp_path) == st.SuspicionSettings()  # none: 15
        (region / "region.yaml").write_text("supervision:\n  appeal_days: 0\n", encoding="utf-8")
        suspicion_settings.clear()
        with pytest.raises(Exception, match=r"supervision\.appeal_days 应为 1–366 的整数天数"):
            suspicion_settings.settings_for("990102", tmp_path)  # (a district reads its city's)
    finally:
        suspicion_settings.clear()


def test_the_default_deduction_month_is_the_next_payment(year):  # noqa: F811
    with unit_of_work(year, write=False) as s:
        assert service.next_payment_month(s, date(2026, 1, 5)) == "2025-05"  # months 3 and 4 are posted
    with unit_of_work(year) as s:
        s.query(PaymentRun).update({"status": "superseded"})  # nothing paid yet: the current month
    with unit_of_work(year, write=False) as s:
        assert service.next_payment_month(s, date(2026, 1, 5)) == "2026-01"


def test_deductions_are_on_the_hospitals_monthly_statement(year, regions_dir, tmp_path):  # noqa: F811
    """H3's March statement (本月拨付 11,685.00) less two deductions: 400.00 (C1, 居民) and 300.00 (C2, 职工)."""
    engine = year
    a, b, other = add_suspicions(
        engine, {"setl_id": "C1"}, {"setl_id": "C2", "vola_amt": 30_000}, {"fixmedins_code": H2}
    )
    for sid in (a, b, other):
        step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=regions_dir)
    step(engine, service.decide, a, staff=JC2, decision="uphold", amount="400", now=NOW + timedelta(days=16))
    step(engine, service.accept, b, staff=JB, fixmedins_code=H3, now=NOW)
    done = step(engine, service.deduct_month, "2025-03", staff=JC2, now=NOW + timedelta(days=16))
    assert done.done == [a, b] and done.amount_fen == 70_000  # (the H2 one is still notified)
    legs = entries(engine)
    assert [(acct, fund, amt) for _, acct, fund, _, amt in legs] == [
        ("institution_payable", "390100", 40_000),  # C1 is a 居民 (390) stay
        ("audit_recovery", "390100", -40_000),
        ("institution_payable", "310100", 30_000),  # C2 a 职工 (310) one
        ("audit_recovery", "310100", -30_000),
    ]

    with unit_of_work(engine, write=False) as s:
        _, rows = qs.statement_rows(s, 2025, 3, H3)
        h2_rows = qs.statement_totals(s, qs.StatementFilter(2025, 3, H2))
        count = qs.statement_export_count(s, qs.StatementFilter(2025, 3, H3))
    by_label = {r["setl_id"]: r for r in rows}
    assert by_label[f"审核扣款 疑点#{a}"]["amount"] == Decimal("-400.00")
    assert by_label[f"审核扣款 疑点#{a}"]["group_name"] == "GZ1000010200501 限定频次，结算 C1（复核维持）"
    assert by_label[f"审核扣款 疑点#{b}"]["group_name"].endswith("（机构认可，自动维持）")
    assert by_label["审核扣款合计"]["amount"] == Decimal("-700.00")
    assert by_label["审核扣款合计"]["group_name"] == "智能审核疑点 2 项，复核维持"
    assert by_label["扣款后拨付"]["amount"] == Decimal("11685.00") - Decimal("700.00")
    assert count == len(rows)
    assert not any("扣款" in (r["setl_id"] or "") for r in h2_rows)  # H2 has nothing deducted
    with unit_of_work(engine, write=False) as s:  # April's statement does not show March's deductions
        april = qs.statement_totals(s, qs.StatementFilter(2025, 4, H3))
    assert not any("扣款" in (r["setl_id"] or "") for r in april)

    out = tmp_path / "结算单.xlsx"
    assert (
        main(
            [
                "payment",
                "statement",
                "--year",
                "2025",
                "--month",
                "3",
                "--institution",
                H3,
                "--output",
                str(out),
            ]
        )
        == 0
    )
    sheet = load_workbook(out).active
    cells = {row[1]: row for row in sheet.iter_rows(min_row=3, values_only=True)}  # (结算ID column)
    amount = [label for _, label in qs.STATEMENT_COLUMNS].index("金额（元）")
    assert cells["审核扣款合计"][amount] == -700 and cells["扣款后拨付"][amount] == 10985
    assert cells[f"审核扣款 疑点#{a}"][amount] == -400


def test_deductions_at_once_post_each_suspicion_once(engine, regions_dir):
    """Four month runs and a single deduction at the same moment (PostgreSQL row locks: SQLite serialises all
    writers): each suspicion is deducted by exactly one of them, with exactly one entry."""
    import threading

    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is a PostgreSQL property; SQLite serialises all writers")
    world.build(engine)
    ids = add_suspicions(engine, *({"vola_amt": 1_000 * (k + 1)} for k in range(6)))
    for sid in ids:
        step(engine, service.notify, sid, staff=JC1, now=NOW, regions_dir=regions_dir)
        step(engine, service.decide, sid, staff=JC2, decision="uphold", now=NOW + timedelta(days=16))
    barrier, done, errors = threading.Barrier(5), [], []

    def month() -> None:
        try:
            barrier.wait(10)
            done.extend(step(engine, service.deduct_month, "2025-05", staff=JC2, now=NOW).done)
        except Exception as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    def single() -> None:
        try:
            barrier.wait(10)
            step(engine, service.deduct, ids[0], staff=JC2, month="2025-05", now=NOW)
            done.append(ids[0])
        except SuspicionRefused:  # a month run took it first: refused by its status
            pass
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=month) for _ in range(4)] + [threading.Thread(target=single)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(done) == ids  # each once
    legs = entries(engine)
    assert len(legs) == 2 * len(ids) and sum(amount for *_, amount in legs) == 0
    with unit_of_work(engine, write=False) as s:
        assert check_ledger(s).ok
        assert {r.deduction_entry_id for r in s.scalars(select(AuditSuspicion))} == {leg[0] for leg in legs}
