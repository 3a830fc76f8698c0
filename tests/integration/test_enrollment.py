"""Enrollment, contributions and personal accounts through the services, on both databases: every rule and
lifecycle transition (and the refused ones), transfers with months and balances, 在职 → 退休, the monthly
run with its account credits and ledger postings, the residents' year with 资助参保, collection, the audit
trail, and — through the national facade — settlements refused for the reasons the issue names, 1101/2001
reporting the status, and a 共济 settlement and its reversal. Every expected figure is worked by hand from
the demo policy (2025: average wage 7,500.00; 8 % / 2 %; 居民 400 + 700; 资助 100/70/50 %)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests import world
from tests.kernel_helpers import demo_bundle
from tests.world import HOSP2, RESIDENT, RETIREE, WORKER, His, line
from yibao.api import routes_fsi
from yibao.cli import main
from yibao.enrollment import accounts, bindings, collection, residents, transfers
from yibao.enrollment import contributions as contrib
from yibao.enrollment import service as svc
from yibao.errors import InputError, NotFound
from yibao.funds.check import check_ledger
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    AuditLog,
    Contribution,
    Employer,
    Enrollment,
    FamilyBinding,
    Identity,
    LedgerEntry,
    LedgerPosting,
    Person,
    PersonalAccount,
    Region,
)
from yibao.synth.population import uscc
from yibao.validation import id_check_char

BUNDLE = demo_bundle()
EAST, WEST = "990102", "990103"


def certno(district: str, born: str, serial: str) -> str:
    body = f"{district}{born}{serial}"
    return body + id_check_char(body)


PEOPLE = {  # name: (district, birth date, serial) — the 17th digit odd = man, even = woman
    "张三": (EAST, "19800101", "001"),
    "李四": (EAST, "19850505", "002"),
    "王五": (WEST, "19900101", "003"),
    "赵六": (WEST, "19700707", "004"),
    "钱七": (EAST, "19600606", "005"),
    "孙八": (EAST, "19750303", "007"),
    "周九": (WEST, "19650101", "008"),
    "吴十": (WEST, "19551111", "009"),
    "郑一": (EAST, "20000202", "011"),
    "冯二": (WEST, "19880808", "012"),
    "陈三": (WEST, "19920202", "014"),
}


@dataclass
class Bureau:
    engine: object
    a: str  # emp_no of 示例市科技有限公司
    b: str  # emp_no of 示例市商贸有限公司
    p: dict[str, str]  # name → psn_no


@pytest.fixture
def bureau(engine) -> Bureau:
    with unit_of_work(engine) as s:
        s.add_all(
            [
                Region(admdvs="990100", name="示例市", level="city"),
                Region(admdvs=EAST, name="东城区", level="district", parent_admdvs="990100", population=10),
                Region(admdvs=WEST, name="西城区", level="district", parent_admdvs="990100", population=8),
            ]
        )
        s.flush()
        a = svc.register_employer(
            s, uscc=uscc(EAST, 101), emp_name="示例市科技有限公司", admdvs=EAST, actor="jb"
        )
        b = svc.register_employer(
            s, uscc=uscc(WEST, 202), emp_name="示例市商贸有限公司", admdvs=WEST, actor="jb"
        )
        p = {
            name: svc.register_person(
                s, certno=certno(d, born, n), psn_name=name, admdvs=d, actor="jb"
            ).psn_no
            for name, (d, born, n) in PEOPLE.items()
        }
        return Bureau(engine, a.emp_no, b.emp_no, p)


def enroll(engine, psn_no, insutype="310", psn_type="11", **kw):
    kw = {"begndate": date(2025, 1, 1), "insuplc_admdvs": "990100", "registered": date(2024, 12, 1), **kw}
    with unit_of_work(engine) as s:
        return svc.enroll(s, BUNDLE, psn_no=psn_no, insutype=insutype, psn_type=psn_type, actor="jb", **kw)


def refused(engine, fn, *args, error=InputError, **kw) -> str:
    with pytest.raises(error) as exc, unit_of_work(engine) as s:
        fn(s, *args, **kw)
    return exc.value.message


def refused_enroll(engine, psn_no, insutype="310", psn_type="11", error=InputError, **kw) -> str:
    with pytest.raises(error) as exc:
        enroll(engine, psn_no, insutype, psn_type, **kw)
    return exc.value.message


def change(engine, enrollment_id, action, day, **kw):
    with unit_of_work(engine) as s:
        e = svc.change_status(s, enrollment_id, action, day, actor="jb", **kw)
        return {
            k: getattr(e, k)
            for k in ("psn_insu_stas", "paus_insu_date", "enddate", "end_reason", "wait_until")
        }


def get(engine, table, key):
    with unit_of_work(engine, write=False) as s:
        return s.get(table, key)


def balance(engine, psn_no) -> int | None:
    acct = get(engine, PersonalAccount, psn_no)
    return None if acct is None else acct.balance


def ledger_ok(engine):
    with unit_of_work(engine, write=False) as s:
        report = check_ledger(s)
    assert report.ok, report.problems
    return report


def audited(engine, action: str, entity: str | None = None) -> list[tuple]:
    """(entity_id, before, after) of the audit rows of ``action``, oldest first."""
    with unit_of_work(engine, write=False) as s:
        q = select(AuditLog.entity_id, AuditLog.before, AuditLog.after).where(AuditLog.action == action)
        return [tuple(r) for r in s.execute(q.where(AuditLog.entity == entity) if entity else q).all()]


def postings(engine, entry_type: str) -> dict[tuple, int]:
    """Sum of postings of one entry type by (account, fund_pay_type)."""
    with unit_of_work(engine, write=False) as s:
        rows = s.execute(
            select(LedgerPosting.account, LedgerPosting.fund_pay_type, func.sum(LedgerPosting.amount))
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.entry_type == entry_type)
            .group_by(LedgerPosting.account, LedgerPosting.fund_pay_type)
        ).all()
    return {(a, f): int(x) for a, f, x in rows}


# --- registration -----------------------------------------------------------------------------------------


def test_employers_and_persons_are_validated_and_audited(bureau):
    eng, code = bureau.engine, uscc(EAST, 101)
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    msg = refused(eng, svc.register_employer, uscc=bad, emp_name="x", admdvs=EAST, actor="jb")
    assert msg.startswith("uscc: 统一社会信用代码校验位错误（末位应为 ")
    assert refused(eng, svc.register_employer, uscc=code, emp_name="又一家", admdvs=EAST, actor="jb") == (
        f"uscc: 统一社会信用代码 {code} 已登记"
    )
    assert refused(
        eng, svc.register_employer, uscc=uscc(EAST, 303), emp_name=" ", admdvs=EAST, actor="jb"
    ) == ("emp_name: 单位名称不能为空")
    assert refused(
        eng, svc.register_employer, uscc=uscc(EAST, 303), emp_name="x", admdvs="9901", actor="jb"
    ) == ("admdvs: 所在区县应为6位数字的医保区划")
    assert bureau.a == "E990102" + code[8:16] and get(eng, Employer, bureau.a).uscc == code
    zhang = certno(*PEOPLE["张三"])
    wrong = zhang[:-1] + ("1" if zhang[-1] != "1" else "2")
    assert refused(eng, svc.register_person, certno=wrong, psn_name="某", admdvs=EAST, actor="jb") == (
        f"certno: 居民身份证号码校验位错误（末位应为 {zhang[-1]}）"
    )
    assert refused(eng, svc.register_person, certno=zhang, psn_name="张三", admdvs=EAST, actor="jb") == (
        f"certno: 该居民身份证号码已登记（人员编号 {bureau.p['张三']}）"
    )
    assert (
        refused(
            eng,
            svc.register_person,
            certno=certno(EAST, "19990101", "021"),
            psn_name="x",
            admdvs=EAST,
            psn_no=bureau.p["张三"],
            actor="jb",
        )
        == f"psn_no: 人员编号 {bureau.p['张三']} 已存在"
    )
    li = get(eng, Person, bureau.p["李四"])
    assert (li.gend, li.brdy, li.admdvs) == ("2", date(1985, 5, 5), EAST)
    assert get(eng, Person, bureau.p["张三"]).gend == "1"
    with unit_of_work(eng, write=False) as s:
        logged = s.execute(
            select(AuditLog.action, AuditLog.entity, AuditLog.after).order_by(AuditLog.seq)
        ).all()
    assert [(a, e) for a, e, _ in logged] == [("register", "employer")] * 2 + [("register", "person")] * 11
    assert logged[0].after == {"uscc": code, "emp_name": "示例市科技有限公司", "admdvs": EAST}
    assert logged[2].after["certno"] == zhang[:4] + "…" + zhang[-4:]  # masked in the log


# --- one basic insurance at a time ------------------------------------------------------------------------


def test_one_basic_insurance_at_a_time_names_the_existing_one(bureau):
    eng, zhang = bureau.engine, bureau.p["张三"]
    first = enroll(eng, zhang, emp_no=bureau.a)
    eid = first.enrollment.id
    assert (
        first.warnings == []
        and first.enrollment.wait_until is None
        and first.enrollment.emp_name == "示例市科技有限公司"
    )
    assert balance(eng, zhang) == 0  # a 职工 gets a personal account
    clash = (
        f"insutype: 与现有参保登记重叠（登记号 {eid}：职工基本医疗保险，正常，自 2025-01-01）；"
        "一人同时只能参加一项基本医疗保险，请先终止或转出"
    )
    assert refused_enroll(eng, zhang, "390", "15", begndate=date(2025, 3, 1)) == clash
    assert refused_enroll(eng, zhang, emp_no=bureau.b, begndate=date(2025, 2, 1)) == clash
    assert (
        refused_enroll(eng, zhang, "390", "15", begndate=date(2024, 6, 1)) == clash
    )  # starts before, runs on
    change(eng, eid, "suspend", date(2025, 4, 1))
    assert refused_enroll(eng, zhang, "390", "15", begndate=date(2025, 5, 1)) == clash.replace(
        "，正常，", "，暂停，"
    )
    change(eng, eid, "resume", date(2025, 4, 1))
    change(eng, eid, "terminate", date(2025, 6, 30), reason="other")
    # a terminated enrollment still covers its own period
    assert refused_enroll(eng, zhang, "390", "15", begndate=date(2025, 6, 15)) == (
        f"insutype: 与现有参保登记重叠（登记号 {eid}：职工基本医疗保险，终止，自 2025-01-01 至 2025-06-30）"
        "；一人同时只能参加一项基本医疗保险，请先终止或转出"
    )
    resident = enroll(eng, zhang, "390", "15", begndate=date(2025, 7, 1), registered=date(2025, 7, 1))
    # continuous (no break), but a 居民 enrolling outside the window waits three months
    assert resident.enrollment.wait_until == date(2025, 10, 1)
    assert resident.warnings == ["待遇等待期：2025-10-01 起享受待遇"]
    # an invalid (无效) enrollment never held insurance and blocks nothing
    li = bureau.p["李四"]
    with unit_of_work(eng) as s:
        s.add(
            Enrollment(
                psn_no=li,
                insutype="390",
                psn_type="15",
                psn_insu_stas="3",
                begndate=date(2025, 1, 1),
                insuplc_admdvs="990100",
            )
        )
    assert enroll(eng, li, emp_no=bureau.a).enrollment.psn_insu_stas == "1"


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {"insutype": "320"},
            InputError,
            "insutype: 险种应为 310 职工基本医疗保险或 390 城乡居民基本医疗保险（填写的是 320）",
        ),
        ({"psn_type": "15"}, InputError, "psn_type: 人员类别「15 城乡居民（成年）」不属于职工基本医疗保险"),
        (
            {"insutype": "390", "psn_type": "11"},
            InputError,
            "psn_type: 人员类别「11 在职」不属于城乡居民基本医疗保险",
        ),
        ({}, InputError, "emp_no: 在职职工须选择参保单位（灵活就业请填缴费基数）"),
        ({"emp_no": "E404"}, NotFound, "emp_no: 参保单位不存在（单位编号 E404）"),
        (
            {"insutype": "390", "psn_type": "15", "emp_no": "A"},
            InputError,
            "emp_no: 城乡居民医保不登记参保单位",
        ),
        ({"flexible_base": 600_000, "emp_no": "A"}, InputError, "emp_no: 灵活就业人员不登记参保单位"),
        (
            {"flexible_base": 600_000, "psn_type": "12"},
            InputError,
            "flexible_base: 灵活就业仅限职工医保在职人员",
        ),
        (
            {"flexible_base": 449_999},
            InputError,
            "flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间（填写的是 4499.99）",
        ),
        (
            {"flexible_base": 2_250_001},
            InputError,
            "flexible_base: 缴费基数须在 4500.00 与 22500.00 元之间（填写的是 22500.01）",
        ),
        (
            {"emp_no": "A", "contrib_months": -1},
            InputError,
            "contrib_months: 缴费月数不能为负（填写的是 -1）",
        ),
        ({"emp_no": "A", "insuplc_admdvs": "99"}, InputError, "insuplc_admdvs: 参保地应为6位数字的医保区划"),
        (
            {"emp_no": "A", "begndate": date(2024, 6, 1), "registered": date(2024, 6, 1)},
            InputError,
            "date: 2024-06-01 没有缴费政策",
        ),
        ({"psn_no": "NOPE", "emp_no": "A"}, NotFound, "psn_no: 人员不存在 NOPE"),
    ],
)
def test_enrollment_refusals_name_the_field(bureau, kw, error, message):
    kw = {"psn_no": bureau.p["王五"], **kw}
    if kw.get("emp_no") == "A":
        kw["emp_no"] = bureau.a
        message = message.replace("(A)", f"({bureau.a})")
    insutype, psn_type = kw.pop("insutype", "310"), kw.pop("psn_type", "11")
    assert refused_enroll(bureau.engine, kw.pop("psn_no"), insutype, psn_type, error=error, **kw) == message
    with unit_of_work(bureau.engine, write=False) as s:  # nothing half-written
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 0
        assert s.scalar(select(func.count()).select_from(PersonalAccount)) == 0


def test_flexible_worker_has_no_account(bureau):
    sun = bureau.p["孙八"]
    done = enroll(bureau.engine, sun, flexible_base=1_000_000)
    assert (done.enrollment.flxempe_flag, done.enrollment.flexible_base, done.enrollment.emp_no) == (
        "1",
        1_000_000,
        None,
    )
    assert balance(bureau.engine, sun) is None


# --- lifecycle ------------------------------------------------------------------------------------------


def test_lifecycle_transitions_allowed_and_refused_all_audited(bureau):
    eng, li = bureau.engine, bureau.p["李四"]
    eid = enroll(eng, li, emp_no=bureau.a).enrollment.id
    assert refused(eng, svc.change_status, eid, "resume", date(2025, 2, 1), actor="jb") == (
        "psn_insu_stas: 参保状态为正常，不能恢复（仅暂停时可办理）"
    )
    assert change(eng, eid, "suspend", date(2025, 3, 1))["psn_insu_stas"] == "2"
    assert get(eng, Enrollment, eid).paus_insu_date == date(2025, 3, 1)
    assert refused(eng, svc.change_status, eid, "suspend", date(2025, 3, 2), actor="jb") == (
        "psn_insu_stas: 参保状态为暂停，不能暂停（仅正常时可办理）"
    )
    assert refused(eng, svc.change_category, BUNDLE, eid, "12", date(2025, 3, 2), actor="jb") == (
        "psn_insu_stas: 参保状态为暂停，不能变更人员类别（仅正常时可办理）"
    )
    assert refused(eng, svc.change_status, eid, "resume", date(2025, 2, 28), actor="jb") == (
        "date: 恢复日期不能早于暂停日期（2025-03-01）"
    )
    # resumed the same day: no break, no waiting
    assert change(eng, eid, "resume", date(2025, 3, 1)) == {
        "psn_insu_stas": "1",
        "paus_insu_date": None,
        "enddate": None,
        "end_reason": None,
        "wait_until": None,
    }
    # suspended a month: a break of 30 days, so three months' waiting from the resumption
    change(eng, eid, "suspend", date(2025, 4, 1))
    assert change(eng, eid, "resume", date(2025, 5, 1))["wait_until"] == date(2025, 8, 1)
    for reason in ("bored", "transfer_out", None):
        assert refused(
            eng, svc.change_status, eid, "terminate", date(2025, 6, 1), actor="jb", reason=reason
        ) == (
            "reason: 终止原因应为 death 死亡、emigration 出国定居、other 其他（转出请办理转出，余额随人转移）"
        )
    assert refused(
        eng, svc.change_status, eid, "terminate", date(2024, 12, 31), actor="jb", reason="other"
    ) == ("date: 终止日期不能早于参保日期（2025-01-01）")
    assert refused(eng, svc.change_status, eid, "revive", date(2025, 6, 1), actor="jb").startswith(
        "action: 未知的参保变更（revive）"
    )
    assert refused(
        eng, svc.change_status, 999_999, "suspend", date(2025, 6, 1), actor="jb", error=NotFound
    ) == ("enrollment: 参保登记不存在 999999")
    assert change(eng, eid, "terminate", date(2025, 10, 31), reason="emigration") == {
        "psn_insu_stas": "4",
        "paus_insu_date": None,
        "enddate": date(2025, 10, 31),
        "end_reason": "emigration",
        "wait_until": date(2025, 8, 1),
    }
    for action in ("resume", "suspend", "terminate"):
        assert refused(
            eng, svc.change_status, eid, action, date(2025, 11, 1), actor="jb", reason="other"
        ).startswith("psn_insu_stas: 参保状态为终止，不能")
    with unit_of_work(eng, write=False) as s:
        trail = s.execute(
            select(AuditLog.action, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity == "enrollment", AuditLog.entity_id == str(eid))
            .order_by(AuditLog.seq)
        ).all()
    assert [(a, b and b["psn_insu_stas"], x["psn_insu_stas"]) for a, b, x in trail] == [
        ("enroll", None, "1"),
        ("suspend", "1", "2"),
        ("resume", "2", "1"),
        ("suspend", "1", "2"),
        ("resume", "2", "1"),
        ("terminate", "1", "4"),
    ]
    assert trail[4].before["wait_until"] is None and trail[4].after["wait_until"] == "2025-08-01"
    assert trail[5].after["enddate"] == "2025-10-31" and trail[5].after["end_reason"] == "emigration"
    assert main(["audit", "verify"]) == 0


def test_death_ends_the_person_the_enrollment_and_the_bindings(bureau):
    eng, wang, zhao = bureau.engine, bureau.p["王五"], bureau.p["赵六"]
    eid = enroll(eng, wang, emp_no=bureau.b).enrollment.id
    with unit_of_work(eng) as s:
        bindings.bind_family(
            s, owner_psn_no=wang, member_psn_no=zhao, relation="spouse", begndate=date(2025, 2, 1), actor="jb"
        )
    assert change(eng, eid, "terminate", date(2025, 5, 10), reason="death")["end_reason"] == "death"
    assert get(eng, Person, wang).death_date == date(2025, 5, 10)
    with unit_of_work(eng, write=False) as s:
        assert s.scalar(select(FamilyBinding.enddate)) == date(2025, 5, 10)
        assert bindings.mutual_aid_owner(s, zhao, date(2025, 5, 10)) == wang
        assert bindings.mutual_aid_owner(s, zhao, date(2025, 5, 11)) is None
    assert (
        refused_enroll(eng, wang, emp_no=bureau.b, begndate=date(2025, 6, 1))
        == "psn_no: 该人员已于 2025-05-10 死亡，不能参保"
    )


# --- transfers (转移接续) ---------------------------------------------------------------------------------


def test_transfer_out_and_in_move_months_and_balances(bureau):
    eng, zhang, sun = bureau.engine, bureau.p["张三"], bureau.p["孙八"]
    eid = enroll(eng, zhang, emp_no=bureau.a, contrib_months=100).enrollment.id
    report, problems = contrib.declare_wages(eng, BUNDLE, bureau.a, "2025-03", {zhang: 800_000})
    assert problems == [] and (report.employer_amt, report.employee_amt) == (64_000, 16_000)
    assert collection.collect(eng, 202503, when=datetime(2025, 4, 10)) == 80_000
    assert balance(eng, zhang) == 16_000 and get(eng, Enrollment, eid).contrib_months == 101
    assert refused(eng, transfers.transfer_out, eid, date(2025, 6, 30), "990100", actor="jb") == (
        "to_admdvs: 转入地与参保地相同（990100）"
    )
    with unit_of_work(eng) as s:
        cert = transfers.transfer_out(s, eid, date(2025, 6, 30), "330100", actor="jb")
    assert cert == {
        "psn_no": zhang,
        "insutype": "310",
        "contrib_months": 101,
        "balance": "160.00",
        "from_admdvs": "990100",
        "to_admdvs": "330100",
        "date": "2025-06-30",
    }
    enr = get(eng, Enrollment, eid)
    assert (enr.psn_insu_stas, enr.enddate, enr.end_reason) == ("4", date(2025, 6, 30), "transfer_out")
    assert balance(eng, zhang) == 0
    assert postings(eng, "transfer_out") == {
        ("personal_account", "310200"): 16_000,
        ("transfer_clearing", None): -16_000,
    }
    assert refused(eng, transfers.transfer_out, eid, date(2025, 7, 1), "330100", actor="jb").startswith(
        "psn_insu_stas: 参保状态为终止，不能转出"
    )
    # 转入: a newcomer brings 120 months and 1,234.56 from 330100
    args = dict(
        psn_no=sun,
        psn_type="11",
        begndate=date(2025, 7, 1),
        insuplc_admdvs="990100",
        from_admdvs="330100",
        contrib_months=120,
        balance=123_456,
        emp_no=bureau.a,
        actor="jb",
    )
    assert refused(eng, transfers.transfer_in, BUNDLE, **{**args, "from_admdvs": "990100"}) == (
        "from_admdvs: 转出地与参保地相同（990100）"
    )
    assert (
        refused(eng, transfers.transfer_in, BUNDLE, **{**args, "balance": -1})
        == "balance: 转入个人账户余额不能为负"
    )
    with unit_of_work(eng) as s:
        done = transfers.transfer_in(s, BUNDLE, **args)
    assert (done.enrollment.contrib_months, done.enrollment.wait_until, done.warnings) == (120, None, [])
    assert balance(eng, sun) == 123_456
    assert postings(eng, "account_credit") == {
        ("personal_account", "310200"): -123_456,
        ("transfer_clearing", None): 123_456,
    }
    with unit_of_work(eng, write=False) as s:
        assert [(r["kind"], r["amount"], r["balance"]) for r in accounts.statement(s, zhang)] == [
            ("contribution", 16_000, 16_000),
            ("transfer_out", -16_000, 0),
        ]
        assert [(r["kind"], r["amount"], r["balance"], r["memo"]) for r in accounts.statement(s, sun)] == [
            ("account_credit", 123_456, 123_456, "自 330100 转入")
        ]
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity == "enrollment").order_by(AuditLog.seq)
        ).all()
    assert actions == ["enroll", "transfer_out", "transfer_out_certificate", "enroll", "transfer_in"]
    # every movement of an account's money has its audit row, with the balance before and after
    [(_, before, after)] = audited(eng, "transfer_out_certificate")
    assert (before, after["balance"], after["balance_after"]) == ({"balance": "160.00"}, "160.00", "0.00")
    assert [r for r in audited(eng, "account_credit") if r[0] == sun] == [
        (
            sun,
            {"balance": "0.00"},
            {
                "balance": "1234.56",
                "amount": "1234.56",
                "source": "transfer_clearing",
                "memo": "自 330100 转入",
            },
        )
    ]
    # coming back after 62 days away is enrolling after a break: three months' waiting
    back = enroll(eng, zhang, emp_no=bureau.a, begndate=date(2025, 9, 1), registered=date(2025, 9, 1))
    assert back.enrollment.wait_until == date(2025, 12, 1)
    ledger_ok(eng)


# --- 在职 → 退休 ----------------------------------------------------------------------------------------


def test_retirement_flags_the_short_and_moves_to_the_monthly_credit(bureau):
    eng, p = bureau.engine, bureau.p
    ids = {
        name: enroll(eng, p[name], emp_no=bureau.a, contrib_months=months).enrollment.id
        for name, months in (("钱七", 300), ("吴十", 299), ("赵六", 240), ("周九", 239))
    }
    warned = {}
    for name, eid in ids.items():
        with unit_of_work(eng) as s:
            done = svc.change_category(s, BUNDLE, eid, "12", date(2025, 6, 1), actor="jb")
            warned[name] = done.warnings
            assert (done.enrollment.psn_type, done.enrollment.emp_no, done.enrollment.emp_name) == (
                "12",
                None,
                None,
            )
    short = [svc.SHORT_OF_YEARS]
    assert warned == {"钱七": [], "吴十": short, "赵六": [], "周九": short}  # men 25 years, women 20
    # (retirees of an age to retire: 钱七 and 吴十 men of 64 and 69, 赵六 and 周九 women of 54 and 60)
    with unit_of_work(eng, write=False) as s:
        flagged = svc.retirees_short_of_minimum(s, BUNDLE, date(2025, 6, 30))
    assert flagged == sorted(
        [
            {
                "psn_no": p["吴十"],
                "enrollment": ids["吴十"],
                "gend": "1",
                "contrib_months": 299,
                "required_months": 300,
                "short_months": 1,
            },
            {
                "psn_no": p["周九"],
                "enrollment": ids["周九"],
                "gend": "2",
                "contrib_months": 239,
                "required_months": 240,
                "short_months": 1,
            },
        ],
        key=lambda r: r["psn_no"],
    )
    assert refused(eng, svc.change_category, BUNDLE, ids["钱七"], "11", date(2025, 7, 1), actor="jb") == (
        "psn_type: 退休人员不能变更为在职"
    )
    assert refused(eng, svc.change_category, BUNDLE, ids["钱七"], "12", date(2025, 7, 1), actor="jb") == (
        "psn_type: 人员类别已是「12 退休」"
    )
    assert refused(eng, svc.change_category, BUNDLE, ids["钱七"], "15", date(2025, 7, 1), actor="jb") == (
        "psn_type: 人员类别「15 城乡居民（成年）」不属于职工基本医疗保险"
    )
    # a flexible worker retiring gets the account the 退休 credit goes to
    sun = enroll(eng, p["孙八"], flexible_base=600_000).enrollment.id
    with unit_of_work(eng) as s:
        svc.change_category(s, BUNDLE, sun, "12", date(2025, 6, 1), actor="jb")
    enr = get(eng, Enrollment, sun)
    assert (enr.flexible_base, enr.flxempe_flag, balance(eng, p["孙八"])) == (None, "0", 0)
    report = contrib.run_month(eng, BUNDLE, "2025-07")
    assert (report.retirees_credited, report.flexible, report.employees) == (5, 0, 0)
    assert {n: balance(eng, p[n]) for n in ("钱七", "吴十", "赵六", "周九", "孙八")} == dict.fromkeys(
        ("钱七", "吴十", "赵六", "周九", "孙八"), 9_000
    )
    with unit_of_work(eng, write=False) as s:
        trail = s.execute(
            select(AuditLog.before, AuditLog.after).where(
                AuditLog.action == "change_category", AuditLog.entity_id == str(ids["吴十"])
            )
        ).one()
    assert (
        trail.before["psn_type"],
        trail.before["emp_no"],
        trail.after["psn_type"],
        trail.after["emp_no"],
    ) == ("11", bureau.a, "12", None)
    assert trail.after["warnings"] == short
    ledger_ok(eng)


# --- the monthly run, collection and the ledger ------------------------------------------------------------


@pytest.fixture
def payroll(bureau):
    """张三 and 李四 employed by A, 王五 and 周九 by B, 孙八 flexible (10,000.00), 吴十 retired."""
    eng, p = bureau.engine, bureau.p
    enroll(eng, p["张三"], emp_no=bureau.a)
    enroll(eng, p["李四"], emp_no=bureau.a)
    enroll(eng, p["王五"], emp_no=bureau.b)
    enroll(eng, p["周九"], emp_no=bureau.b)
    enroll(eng, p["孙八"], flexible_base=1_000_000)
    enroll(eng, p["吴十"], psn_type="12", contrib_months=360)
    return bureau


def rows(engine, period) -> dict[str, tuple]:
    with unit_of_work(engine, write=False) as s:
        return {
            c.psn_no: (c.kind, c.emp_no, c.wage, c.base, c.employer_amt, c.employee_amt, c.due_amt, c.status)
            for c in s.scalars(select(Contribution).where(Contribution.period == period))
        }


def test_monthly_run_collection_accounts_and_ledger(payroll):
    eng, p, a, b = payroll.engine, payroll.p, payroll.a, payroll.b
    wages = {p["张三"]: 449_999, p["李四"]: 2_250_001, p["王五"]: 600_025}
    r = contrib.run_month(eng, BUNDLE, "2025-03", wages=wages)
    assert (r.period, r.employees, r.flexible, r.retirees_credited) == (202503, 3, 1, 1)
    assert (r.employer_amt, r.employee_amt, r.flexible_amt, r.due) == (264_002, 66_001, 80_000, 410_003)
    assert r.skipped_no_wage == [p["周九"]]  # no declaration yet
    assert rows(eng, 202503) == {
        p["张三"]: ("employee", a, 449_999, 450_000, 36_000, 9_000, 45_000, "due"),  # below 60 %: the floor
        p["李四"]: ("employee", a, 2_250_001, 2_250_000, 180_000, 45_000, 225_000, "due"),  # above 300 %
        p["王五"]: ("employee", b, 600_025, 600_025, 48_002, 12_001, 60_003, "due"),  # 120.005 → 120.01
        p["孙八"]: ("flexible", None, None, 1_000_000, 0, 80_000, 80_000, "due"),
        p["吴十"]: ("retiree", None, None, 0, 0, 9_000, 9_000, "paid"),
    }
    with unit_of_work(eng, write=False) as s:
        assert {
            c.due_date for c in s.scalars(select(Contribution).where(Contribution.kind != "retiree"))
        } == {date(2025, 4, 15)}
    assert balance(eng, p["吴十"]) == 9_000 and postings(eng, "retiree_credit") == {
        ("fund_expense", "310100"): 9_000,
        ("personal_account", "310200"): -9_000,
    }
    assert audited(eng, "retiree_credit") == [
        ("202503", None, {"kind": "retiree", "rows": 1, "each": 9_000, "amount": 9_000})
    ]
    # a rerun replaces what is due and credits the retiree only once
    again = contrib.run_month(eng, BUNDLE, "2025-03", wages=wages)
    assert (again.employees, again.retirees_credited, again.due) == (3, 0, 410_003) and balance(
        eng, p["吴十"]
    ) == 9_000
    assert rows(eng, 202503)[p["王五"]][4:] == (48_002, 12_001, 60_003, "due")
    # collection: employer A first (one receipt), then everything else
    assert collection.collect(eng, 202503, emp_no=a, when=datetime(2025, 4, 10)) == 270_000
    with pytest.raises(NotFound, match=r"^emp_no: 单位不存在 E404$"):
        collection.collect(eng, 202503, emp_no="E404", when=datetime(2025, 4, 10))
    assert collection.collect(eng, 202503, when=datetime(2025, 4, 12)) == 140_003
    assert collection.collect(eng, 202503, when=datetime(2025, 4, 13)) == 0  # nothing left to collect
    # each collection's batch is audited in its own unit of work: rows, amount, the accounts credited
    assert [(before, after) for _, before, after in audited(eng, "collect")] == [
        (
            {"status": "due", "rows": 2},
            {
                "status": "paid",
                "rows": 2,
                "amount": 270_000,
                "employer": a,
                "accounts_credited": 2,
                "account_credit": 54_000,
            },
        ),
        (
            {"status": "due", "rows": 2},
            {
                "status": "paid",
                "rows": 2,
                "amount": 140_003,
                "employer": None,
                "accounts_credited": 1,
                "account_credit": 12_001,
            },
        ),
    ]
    assert {k: v[-1] for k, v in rows(eng, 202503).items()} == dict.fromkeys(rows(eng, 202503), "paid")
    assert {n: balance(eng, p[n]) for n in ("张三", "李四", "王五", "周九", "孙八", "吴十")} == {
        "张三": 9_000,
        "李四": 45_000,
        "王五": 12_001,
        "周九": 0,
        "孙八": None,
        "吴十": 9_000,
    }
    with unit_of_work(eng, write=False) as s:
        entries = s.execute(
            select(LedgerEntry.memo, LedgerPosting.account, LedgerPosting.psn_no, LedgerPosting.amount)
            .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
            .where(LedgerEntry.entry_type == "contribution")
            .order_by(LedgerEntry.id, LedgerPosting.id)
        ).all()
        months = dict(s.execute(select(Enrollment.psn_no, Enrollment.contrib_months)).all())
    by_memo: dict[str, list] = {}
    for memo, account, psn, amount in entries:
        by_memo.setdefault(memo, []).append((account, psn, amount))
    assert by_memo == {
        f"{a} 202503": [
            ("fund_bank", None, 270_000),
            ("fund_income", p["张三"], -36_000),
            ("personal_account", p["张三"], -9_000),
            ("fund_income", p["李四"], -180_000),
            ("personal_account", p["李四"], -45_000),
        ],
        f"{b} 202503": [
            ("fund_bank", None, 60_003),
            ("fund_income", p["王五"], -48_002),
            ("personal_account", p["王五"], -12_001),
        ],
        "flexible 202503": [("fund_bank", None, 80_000), ("fund_income", p["孙八"], -80_000)],
    }
    assert postings(eng, "contribution") == {
        ("fund_bank", None): 410_003,
        ("fund_income", "310100"): -344_002,
        ("personal_account", "310200"): -66_001,
    }
    assert {n: months[p[n]] for n in ("张三", "李四", "王五", "周九", "孙八", "吴十")} == {
        "张三": 1,
        "李四": 1,
        "王五": 1,
        "周九": 0,
        "孙八": 1,
        "吴十": 360,
    }
    # what was paid is never recomputed
    paid_run = contrib.run_month(eng, BUNDLE, "2025-03", wages={**wages, p["周九"]: 500_000})
    assert (paid_run.employees, paid_run.flexible, paid_run.due) == (1, 0, 50_000)
    assert rows(eng, 202503)[p["张三"]] == ("employee", a, 449_999, 450_000, 36_000, 9_000, 45_000, "paid")
    # April without a declaration: each person's last declared wage
    april = contrib.run_month(eng, BUNDLE, "2025-04")
    assert (april.employees, april.flexible, april.retirees_credited, april.skipped_no_wage) == (4, 1, 1, [])
    assert {k: v[3:7] for k, v in rows(eng, 202504).items() if v[0] == "employee"} == {
        p["张三"]: (450_000, 36_000, 9_000, 45_000),
        p["李四"]: (2_250_000, 180_000, 45_000, 225_000),
        p["王五"]: (600_025, 48_002, 12_001, 60_003),
        p["周九"]: (500_000, 40_000, 10_000, 50_000),
    }
    assert balance(eng, p["吴十"]) == 18_000
    ledger_ok(eng)
    assert main(["ledger", "check"]) == 0


def test_a_month_is_owed_for_the_time_in_force_even_when_run_later(payroll):
    eng, p = payroll.engine, payroll.p
    with unit_of_work(eng, write=False) as s:
        eid = dict(s.execute(select(Enrollment.psn_no, Enrollment.id)).all())
    change(
        eng, eid[p["张三"]], "terminate", date(2025, 3, 20), reason="other"
    )  # left on the 20th: owes March
    change(eng, eid[p["李四"]], "suspend", date(2025, 3, 1))  # suspended all March: owes nothing
    change(eng, eid[p["王五"]], "suspend", date(2025, 3, 15))  # suspended mid-month: owes March
    change(eng, eid[p["周九"]], "terminate", date(2025, 2, 28), reason="other")  # gone before March
    change(eng, eid[p["吴十"]], "terminate", date(2025, 3, 10), reason="death")  # no credit for March
    wages = {p[n]: 800_000 for n in ("张三", "李四", "王五", "周九")}
    r = contrib.run_month(eng, BUNDLE, "2025-03", wages=wages)
    assert (r.employees, r.flexible, r.retirees_credited) == (2, 1, 0)
    assert sorted(k for k, v in rows(eng, 202503).items() if v[0] == "employee") == sorted(
        [p["张三"], p["王五"]]
    )
    assert collection.collect(eng, 202503, when=datetime(2025, 4, 10)) == 2 * 80_000 + 80_000
    with unit_of_work(eng, write=False) as s:
        months = dict(s.execute(select(Enrollment.psn_no, Enrollment.contrib_months)).all())
    assert (months[p["张三"]], months[p["王五"]], months[p["李四"]], months[p["周九"]]) == (1, 1, 0, 0)
    assert balance(eng, p["张三"]) == 16_000 and balance(eng, p["吴十"]) == 0
    # an employer may still declare a month its employee worked before leaving
    _, problems = contrib.declare_wages(eng, BUNDLE, payroll.a, "2025-02", {p["张三"]: 700_000})
    assert problems == []
    ledger_ok(eng)


def test_an_employers_declaration_touches_only_its_staff(payroll):
    eng, p, a, b = payroll.engine, payroll.p, payroll.a, payroll.b
    r, problems = contrib.declare_wages(
        eng, BUNDLE, a, "2025-05", {p["张三"]: 800_000, p["王五"]: 500_000, "NOPE": 1}
    )
    assert problems == [
        f"psn_no {p['王五']}: 不是 {a} 本月在职参保职工",
        f"psn_no NOPE: 不是 {a} 本月在职参保职工",
    ]
    assert (r.employees, r.employer_amt, r.employee_amt, r.due, r.retirees_credited) == (
        1,
        64_000,
        16_000,
        80_000,
        0,
    )
    r, problems = contrib.declare_wages(eng, BUNDLE, b, "2025-05", {p["王五"]: 500_000, p["周九"]: -1})
    assert problems == [f"psn_no {p['周九']}: 工资不能为负"] and r.due == 50_000
    assert {k: v[:4] for k, v in rows(eng, 202505).items()} == {
        p["张三"]: ("employee", a, 800_000, 800_000),
        p["王五"]: ("employee", b, 500_000, 500_000),
    }
    # a re-declaration replaces the employer's own due rows only
    contrib.declare_wages(eng, BUNDLE, a, "2025-05", {p["张三"]: 900_000})
    assert rows(eng, 202505)[p["张三"]][2:5] == (900_000, 900_000, 72_000) and p["王五"] in rows(eng, 202505)
    # the run for the month keeps the month's declarations (not an earlier month's wage)
    contrib.run_month(eng, BUNDLE, "2025-04", wages={p["张三"]: 450_000, p["李四"]: 600_000})
    may = contrib.run_month(eng, BUNDLE, "2025-05")
    assert {k: v[2] for k, v in rows(eng, 202505).items() if v[0] == "employee"} == {
        p["张三"]: 900_000,
        p["王五"]: 500_000,
        p["李四"]: 600_000,
    }
    assert may.skipped_no_wage == [p["周九"]]
    with pytest.raises(NotFound, match=r"^emp_no: 单位不存在 E404$"):
        contrib.declare_wages(eng, BUNDLE, "E404", "2025-05", {p["张三"]: 1})
    with pytest.raises(InputError, match=r'^--month: "2025-5x" 不是月份'):
        contrib.declare_wages(eng, BUNDLE, a, "2025-5x", {p["张三"]: 1})
    with unit_of_work(eng, write=False) as s:
        declared = s.scalars(
            select(AuditLog.after).where(AuditLog.action == "declare_wages").order_by(AuditLog.seq)
        ).all()
    assert [(d["period"], d["employees"], d["due"]) for d in declared] == [
        (202505, 1, "800.00"),
        (202505, 1, "500.00"),
        (202505, 1, "900.00"),
    ]


# --- residents' year and 资助参保 -------------------------------------------------------------------------


def test_residents_year_with_subsidy_and_assistance(bureau):
    eng, p = bureau.engine, bureau.p
    for name in ("赵六", "钱七", "郑一", "冯二", "陈三"):
        enroll(eng, p[name], "390", "16" if name == "钱七" else "15")  # 钱七 is 64: 老年
    with unit_of_work(eng) as s:
        for name, kind, begin, end in (
            ("钱七", "2303", date(2024, 1, 1), None),  # 低保 70 %
            ("郑一", "2304", date(2024, 6, 1), None),  # 特困 100 %
            ("冯二", "2305", date(2024, 1, 1), None),  # 低收入 50 % and 低保 70 % → 70 %
            ("冯二", "2303", date(2024, 1, 1), date(2025, 12, 31)),
            ("陈三", "2302", date(2023, 1, 1), date(2024, 12, 31)),  # ended before the year: no share
        ):
            s.add(Identity(psn_no=p[name], psn_idet_type=kind, begntime=begin, endtime=end))
    r = residents.run_residents(eng, BUNDLE, 2025)
    assert (r.period, r.residents, r.due, r.assisted, r.assistance, r.subsidy) == (
        202500,
        5,
        104_000,
        3,
        96_000,
        350_000,
    )
    with unit_of_work(eng, write=False) as s:
        got = {
            c.psn_no: (c.individual_amt, c.assistance_amt, c.subsidy_amt, c.due_amt, c.due_date)
            for c in s.scalars(select(Contribution).where(Contribution.kind == "resident"))
        }
    end = date(2024, 12, 31)
    assert got == {
        p["赵六"]: (40_000, 0, 70_000, 40_000, end),
        p["钱七"]: (12_000, 28_000, 70_000, 12_000, end),
        p["郑一"]: (0, 40_000, 70_000, 0, end),
        p["冯二"]: (12_000, 28_000, 70_000, 12_000, end),
        p["陈三"]: (40_000, 0, 70_000, 40_000, end),
    }
    assert collection.collect(eng, 202500, when=datetime(2024, 12, 31)) == 104_000
    # income to the residents' pool 390100 by source: the persons, the assistance fund 610100, the government
    assert postings(eng, "contribution") == {
        ("fund_bank", None): 104_000,
        ("fund_expense", "610100"): 96_000,
        ("government_subsidy", None): 350_000,
        ("fund_income", "390100"): -550_000,
    }
    assert residents.run_residents(eng, BUNDLE, 2025).residents == 0  # paid: never recomputed
    with unit_of_work(eng, write=False) as s:
        logged = s.execute(
            select(AuditLog.action, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity == "contribution")
            .order_by(AuditLog.seq)
        ).all()
    assert [(a, x.get("residents", x.get("rows"))) for a, _, x in logged] == [
        ("resident_run", 5),
        ("collect", 5),
        ("resident_run", 0),
    ]
    assert logged[1].before == {"status": "due", "rows": 5} and logged[1].after["amount"] == 104_000
    ledger_ok(eng)


def test_pay_contributions_row_by_row_equals_collect(payroll):
    eng, p = payroll.engine, payroll.p
    contrib.run_month(eng, BUNDLE, "2025-03", wages={p["张三"]: 800_000})
    with unit_of_work(eng) as s:
        ids = s.scalars(select(Contribution.id).where(Contribution.status == "due")).all()
        assert accounts.pay_contributions(s, ids, when=datetime(2025, 4, 1), actor="jb") == 2
    assert balance(eng, p["张三"]) == 16_000
    assert audited(eng, "account_credit") == [  # the employee share, with the balance before and after
        (
            p["张三"],
            {"balance": "0.00"},
            {"balance": "160.00", "amount": "160.00", "source": "fund_bank", "memo": "employee 202503"},
        )
    ]
    with unit_of_work(eng, write=False) as s:
        months = dict(s.execute(select(Enrollment.psn_no, Enrollment.contrib_months)).all())
    assert (months[p["张三"]], months[p["孙八"]], months[p["李四"]]) == (1, 1, 0)
    ledger_ok(eng)


# --- 共济 bindings ---------------------------------------------------------------------------------------


def test_family_bindings(bureau):
    eng, p = bureau.engine, bureau.p
    zhang, zhao, qian = p["张三"], p["赵六"], p["钱七"]
    enroll(eng, zhang, emp_no=bureau.a)
    enroll(eng, zhao, "390", "15")
    bind = dict(
        owner_psn_no=zhang, member_psn_no=zhao, relation="spouse", begndate=date(2025, 2, 1), actor="jb"
    )
    assert (
        refused(eng, bindings.bind_family, **{**bind, "relation": "cousin"})
        == "relation: 关系应为 spouse 配偶、parent 父母或 child 子女"
    )
    assert (
        refused(eng, bindings.bind_family, **{**bind, "member_psn_no": zhang})
        == "member_psn_no: 共济人员不能是账户所有人本人"
    )
    assert refused(eng, bindings.bind_family, **{**bind, "owner_psn_no": zhao, "member_psn_no": qian}) == (
        f"owner_psn_no: 账户所有人 {zhao} 没有职工个人账户"
    )
    assert refused(eng, bindings.bind_family, **{**bind, "begndate": date(2024, 12, 1)}) == (
        f"owner_psn_no: 账户所有人 {zhang} 在 2024-12-01 没有正常参保的职工医保"
    )
    with unit_of_work(eng) as s:
        b = bindings.bind_family(s, **bind)
        bid = b.id
    assert refused(eng, bindings.bind_family, **{**bind, "relation": "child"}) == (
        f"member_psn_no: 共济人员 {zhao} 已绑定 {zhang} 的个人账户"
    )
    with unit_of_work(eng, write=False) as s:
        assert [bindings.mutual_aid_owner(s, zhao, d) for d in (date(2025, 1, 31), date(2025, 2, 1))] == [
            None,
            zhang,
        ]
    with unit_of_work(eng) as s:
        bindings.unbind_family(s, bid, date(2025, 3, 31), actor="jb")
    assert (
        refused(eng, bindings.unbind_family, bid, date(2025, 4, 1), actor="jb")
        == "binding: 该共济绑定已于 2025-03-31 解除"
    )
    with unit_of_work(eng, write=False) as s:
        assert [bindings.mutual_aid_owner(s, zhao, d) for d in (date(2025, 3, 31), date(2025, 4, 1))] == [
            zhang,
            None,
        ]
    assert (
        refused(eng, bindings.bind_family, **{**bind, "begndate": date(2025, 3, 31)})
        == "begndate: 绑定日期应晚于上次解绑日期（2025-03-31）"
    )
    with unit_of_work(eng) as s:  # bound again: the same row, reopened
        assert (
            bindings.bind_family(s, **{**bind, "begndate": date(2025, 5, 1), "relation": "parent"}).id == bid
        )
    with unit_of_work(eng, write=False) as s:
        trail = s.execute(
            select(AuditLog.action, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity == "family_binding")
            .order_by(AuditLog.seq)
        ).all()
    assert [(a, b and b["enddate"], x["enddate"], x["relation"]) for a, b, x in trail] == [
        ("bind", None, None, "spouse"),
        ("unbind", None, "2025-03-31", "spouse"),
        ("bind", "2025-03-31", None, "parent"),
    ]
    assert main(["audit", "verify"]) == 0


# --- through the national facade --------------------------------------------------------------------------


@pytest.fixture
def facade(engine):
    world.build(engine)
    app = FastAPI()
    app.include_router(routes_fsi.router)
    with TestClient(app) as c:
        yield His(c, HOSP2)


def world_enrollment(engine, psn_no) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(Enrollment.id).where(Enrollment.psn_no == psn_no))


def newcomer(engine, name, cert, insutype="390", psn_type="15", **kw) -> str:
    with unit_of_work(engine) as s:
        psn = svc.register_person(s, certno=cert, psn_name=name, admdvs=EAST, actor="jb").psn_no
    enroll(engine, psn, insutype, psn_type, **kw)
    return psn


def person_info(his, cert) -> dict:
    out = his.ok(
        "1101",
        {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": cert, "psn_cert_type": "01", "certno": cert}},
    )
    return out


def check(his, psn, insutype, day) -> tuple[str, str]:
    row = his.ok("2001", {"data": {"psn_no": psn, "insutype": insutype, "begntime": f"{day} 09:00:00"}})[
        "trtinfo"
    ][0]
    return row["trt_enjymnt_flag"], row["trt_chk_rslt"]


def register(his, psn, insutype, day) -> dict:
    return {"data": {"psn_no": psn, "insutype": insutype, "begntime": f"{day} 09:00:00"}}


def open_visit(his, psn, insutype, day, fee="400.00") -> str:
    mdtrt = his.ok("2201", register(his, psn, insutype, day))["data"]["mdtrt_id"]
    his.ok("2204", {"feedetail": [line("1", "A1", fee, mdtrt_id=mdtrt, fee_ocur_time=f"{day} 09:30:00")]})
    return mdtrt


def settle_data(mdtrt, psn, insutype, fee="400.00", flag=0) -> dict:
    return {
        "data": {
            "psn_no": psn,
            "mdtrt_id": mdtrt,
            "medfee_sumamt": Decimal(fee),
            "insutype": insutype,
            "acct_used_flag": str(flag),
            "psn_setlway": "01",
            "med_type": "11",
        }
    }


WORKER_CERT, RETIREE_CERT, RESIDENT_CERT = "110101198001010011", "110101195501010028", "110101199001010032"


def test_status_reported_and_settlements_refused_by_the_facade(facade, engine):
    his = facade
    # enrolled and normal
    info = person_info(his, WORKER_CERT)["insuinfo"]
    assert [(i["insutype"], i["psn_insu_stas"], i["balc"]) for i in info] == [
        ("310", "1", Decimal("1000.00"))
    ]
    assert check(his, WORKER, "310", "2025-03-01") == ("1", "正常享受待遇")
    # suspended: 1101 says 2 with the date, 2001 refuses with the reason, and so does 2201
    change(engine, world_enrollment(engine, WORKER), "suspend", date(2025, 2, 1))
    info = person_info(his, WORKER_CERT)["insuinfo"][0]
    assert (info["psn_insu_stas"], info["paus_insu_date"]) == ("2", "2025-02-01")
    assert check(his, WORKER, "310", "2025-03-01") == ("0", "psn_insu_stas: 参保状态为 2 暂停，不能享受待遇")
    his.fails("2201", register(his, WORKER, "310", "2025-03-01"), "psn_insu_stas: 参保状态为 2 暂停")
    # suspended on the visit date after the visit was opened: the settlement itself is refused
    mdtrt = open_visit(his, RETIREE, "310", "2025-03-05")
    change(engine, world_enrollment(engine, RETIREE), "suspend", date(2025, 3, 5))
    his.fails("2207", settle_data(mdtrt, RETIREE, "310"), "psn_insu_stas: 参保状态为 2 暂停，不能享受待遇")
    his.fails("2206", settle_data(mdtrt, RETIREE, "310"), "psn_insu_stas: 参保状态为 2 暂停")
    # not yet enrolled, then in the waiting period, then entitled
    late = newcomer(
        engine,
        "刘一",
        certno(EAST, "19950505", "031"),
        begndate=date(2025, 6, 1),
        registered=date(2025, 6, 1),
    )
    assert [
        (i["psn_insu_stas"], i["psn_insu_date"])
        for i in person_info(his, certno(EAST, "19950505", "031"))["insuinfo"]
    ] == [("1", "2025-06-01")]
    flag, reason = check(his, late, "390", "2025-03-01")
    assert flag == "0" and reason == f"insutype: 人员 {late} 在 2025-03-01 未参加险种 390 (not enrolled)"
    his.fails("2201", register(his, late, "390", "2025-03-01"), "未参加险种 390 (not enrolled)")
    assert check(his, late, "390", "2025-08-31") == (
        "0",
        "wait_until: 待遇等待期至 2025-09-01，2025-08-31 不能享受待遇",
    )
    his.fails("2201", register(his, late, "390", "2025-08-31"), "wait_until: 待遇等待期至 2025-09-01")
    assert check(his, late, "390", "2025-09-01") == ("1", "正常享受待遇")
    mdtrt = open_visit(his, late, "390", "2025-09-01")
    setl = his.ok("2207", settle_data(mdtrt, late, "390"))["setlinfo"]
    assert (setl["hifp_pay"], setl["psn_cash_pay"], setl["acct_pay"]) == (
        Decimal("200.00"),
        Decimal("200.00"),
        Decimal("0.00"),  # 居民 二级 outpatient: 50 %, no deductible
    )
    # dead by the visit date: the death recorded after the visit was opened still refuses its settlement
    mdtrt = open_visit(his, RESIDENT, "390", "2025-03-12")
    change(engine, world_enrollment(engine, RESIDENT), "terminate", date(2025, 3, 10), reason="death")
    his.fails("2207", settle_data(mdtrt, RESIDENT, "390"), "未参加险种 390 (not enrolled)")
    assert [i["psn_insu_stas"] for i in person_info(his, RESIDENT_CERT)["insuinfo"]] == ["4"]
    assert check(his, RESIDENT, "390", "2025-03-12")[0] == "0"
    # a person never enrolled: no insuinfo at all, and 2001 says why
    with unit_of_work(engine) as s:
        never = svc.register_person(
            s, certno=certno(EAST, "19990909", "041"), psn_name="无保", admdvs=EAST, actor="jb"
        ).psn_no
    assert person_info(his, certno(EAST, "19990909", "041"))["insuinfo"] == []
    assert check(his, never, "390", "2025-03-01")[0] == "0"
    ledger_ok(engine)


@pytest.mark.parametrize("action", ["suspend", "death"])
def test_a_visit_before_a_suspension_or_death_is_still_settled(facade, engine, action):
    his = facade
    mdtrt = open_visit(his, RESIDENT, "390", "2025-03-05")
    eid = world_enrollment(engine, RESIDENT)
    if action == "suspend":
        change(engine, eid, "suspend", date(2025, 3, 20))
    else:
        change(engine, eid, "terminate", date(2025, 3, 20), reason="death")
    assert check(his, RESIDENT, "390", "2025-03-05") == ("1", "正常享受待遇")
    setl = his.ok("2207", settle_data(mdtrt, RESIDENT, "390"))["setlinfo"]
    assert setl["hifp_pay"] == Decimal("200.00")
    # a visit after the change is refused, and 2001 says so for that date
    after = "2025-03-25"
    assert check(his, RESIDENT, "390", after)[0] != "1"


def test_mutual_aid_settlement_and_its_reversal(facade, engine):
    his = facade
    cert = certno(EAST, "20100101", "051")
    member = newcomer(engine, "张小", cert, psn_type="1403")  # a pupil, 居民 from 2025-01-01
    with unit_of_work(engine) as s:
        bid = bindings.bind_family(
            s,
            owner_psn_no=WORKER,
            member_psn_no=member,
            relation="child",
            begndate=date(2025, 1, 1),
            actor="jb",
        ).id
    assert [(i["insutype"], i["balc"]) for i in person_info(his, cert)["insuinfo"]] == [
        ("390", Decimal("0.00"))
    ]
    mdtrt = open_visit(his, member, "390", "2025-03-01")
    pre = his.ok("2206", settle_data(mdtrt, member, "390", flag=2))["setlinfo"]
    setl = his.ok("2207", settle_data(mdtrt, member, "390", flag=2))["setlinfo"]
    for out in (pre, setl):
        assert {
            k: out[k]
            for k in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")
        } == {
            "medfee_sumamt": Decimal("400.00"),
            "hifp_pay": Decimal("200.00"),  # 居民 二级 outpatient 50 %
            "acct_pay": Decimal("200.00"),  # the father's 职工 account pays the person's part …
            "acct_mulaid_pay": Decimal("200.00"),  # … all of it 共济
            "psn_cash_pay": Decimal("0.00"),
            "balc": Decimal("800.00"),  # the paying account after
        }
    assert balance(engine, WORKER) == 80_000 and balance(engine, member) is None
    with unit_of_work(engine, write=False) as s:
        rows = accounts.statement(s, WORKER)
    assert [(r["kind"], r["setl_id"], r["amount"], r["balance"]) for r in rows] == [
        ("account_credit", None, 100_000, 100_000),
        ("settlement", setl["setl_id"], -20_000, 80_000),
    ]
    ledger_ok(engine)
    rev = his.ok("2208", {"data": {"psn_no": member, "mdtrt_id": mdtrt, "setl_id": setl["setl_id"]}})[
        "setlinfo"
    ]
    assert (rev["acct_pay"], rev["acct_mulaid_pay"], rev["hifp_pay"], rev["balc"]) == (
        Decimal("-200.00"),
        Decimal("-200.00"),
        Decimal("-200.00"),
        Decimal("1000.00"),
    )
    assert balance(engine, WORKER) == 100_000
    with unit_of_work(engine, write=False) as s:
        rows = accounts.statement(s, WORKER)
    assert [(r["kind"], r["setl_id"], r["amount"], r["balance"]) for r in rows][-1] == (
        "reversal",
        rev["setl_id"],
        20_000,
        100_000,
    )
    ledger_ok(engine)
    # without a binding (or after it ended) 共济 is refused
    his.fails(
        "2207",
        settle_data(open_visit(his, RESIDENT, "390", "2025-03-01"), RESIDENT, "390", flag=2),
        "acct_used_flag: 未绑定共济账户",
    )
    with unit_of_work(engine) as s:
        bindings.unbind_family(s, bid, date(2025, 3, 31), actor="jb")
    his.fails(
        "2207",
        settle_data(open_visit(his, member, "390", "2025-04-01"), member, "390", flag=2),
        "acct_used_flag: 未绑定共济账户",
    )
    assert main(["audit", "verify"]) == 0


def test_an_account_credit_and_its_audit_row_commit_or_roll_back_together(bureau):
    eng, zhang = bureau.engine, bureau.p["张三"]
    enroll(eng, zhang, emp_no=bureau.a)
    with pytest.raises(RuntimeError), unit_of_work(eng) as s:
        assert (
            accounts.credit_account(
                s, zhang, 500, "employer", when=datetime(2025, 3, 1), memo="m", actor="jb"
            )
            == 500
        )
        raise RuntimeError("the unit of work fails after the credit")
    assert balance(eng, zhang) == 0 and audited(eng, "account_credit") == []
    with unit_of_work(eng) as s:
        accounts.credit_account(s, zhang, 500, "employer", when=datetime(2025, 3, 1), memo="m", actor="jb")
    assert balance(eng, zhang) == 500 and audited(eng, "account_credit") == [
        (zhang, {"balance": "0.00"}, {"balance": "5.00", "amount": "5.00", "source": "employer", "memo": "m"})
    ]
    ledger_ok(eng)
