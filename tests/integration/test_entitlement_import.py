"""The entitlement feeds through `yibao import` on both databases: 人员身份, 门诊慢特病备案, 惠民保 and
opening account balances — files of good and bad rows (bad ones reported by line, field and reason, good ones
written), a dry run that writes nothing, a second run of the same file that changes nothing, end dates and
cancellations applied and audited with before and after, and the ledger still proving every balance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from yibao.funds.check import check_ledger
from yibao.ingest.loader import run_import
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    AuditLog,
    ChronicRegistration,
    Identity,
    LedgerEntry,
    PersonalAccount,
    SupplementaryEnrollment,
)
from yibao.validation import id_check_char

REPO = Path(__file__).resolve().parents[2]
HOSPITAL = "H99010200001"  # 示例市第一人民医院 (regions/990100/institutions.csv)


def certno(born: str, serial: str) -> str:
    body = f"990102{born}{serial}"
    return body + id_check_char(body)


@pytest.fixture
def people(engine, tmp_path):
    """The region, four persons (P1 a retired 职工 with an account, P2–P4 residents)."""
    load_region(engine, "990100", REPO / "regions")
    persons = "psn_no,certno,psn_name,gend,brdy\n" + "".join(
        f"P{i},{certno(f'1950010{i}', f'00{2 * i - 1}')},人员{i},1,1950-01-0{i}\n" for i in range(1, 5)
    )
    enrollments = "psn_no,insutype,psn_type,begndate,insuplc_admdvs\nP1,310,12,2020-01-01,990100\n" + "".join(
        f"P{i},390,16,2020-01-01,990100\n" for i in range(2, 5)
    )
    for kind, text in (("persons", persons), ("enrollments", enrollments)):
        report = run_import(engine, kind, write(tmp_path, f"{kind}.csv", text))
        assert not report.rejected, report.rejected
    return engine


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def count(engine, table, *where) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table).where(*where))


def audits(engine, entity: str, action: str | None = None) -> list[AuditLog]:
    with unit_of_work(engine, write=False) as s:
        q = select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.seq)
        return list(s.scalars(q.where(AuditLog.action == action) if action else q))


def texts(report) -> list[str]:
    return [str(r) for r in report.rejected]


IDENTITIES = """人员编号,人员身份类别,等级,开始日期,结束日期,认定机构,备注
P1,2303,,2025-01-01,,示例市民政局,低保
P2,25,二级,2024-06-01,,示例市残联,
P3,25,,2025-01-01,,示例市残联,
P9,2303,,2025-01-01,,示例市民政局,
P1,9999,,2025-01-01,,,
P1,2303,,2025-06-01,,示例市民政局,
P3,2302,,2025-03-01,2025-02-01,示例市乡村振兴局,
P4,2304,,2024-01-01,2024-12-31,示例市民政局,
P4,2304,,2025-01-01,,示例市民政局,
"""


def test_identities_good_rows_load_bad_ones_are_named_and_a_rerun_changes_nothing(people, tmp_path):
    f = write(tmp_path, "低保名单.csv", IDENTITIES)
    dry = run_import(people, "identities", f, dry_run=True)
    assert dry.counts() == {"read": 9, "inserted": 4, "updated": 0, "unchanged": 0, "rejected": 5}
    assert count(people, Identity) == 0 and audits(people, "identity") == []
    report = run_import(people, "identities", f)
    assert report.counts() == dry.counts()
    assert texts(report) == [
        "第4行 psn_type_lv: 残疾人员须填残疾等级 1–4（一级至四级）",
        "第5行 psn_no: 人员不存在 (import persons first): P9",
        "第6行 psn_idet_type: 不在字典 psn_idet_type 中: 9999",
        "第7行 begntime: 与现有人员身份重叠 (第2行: 2303 自 2025-01-01 起)；同一人员身份的期间不能重叠，请先结束现有记录",
        "第8行 endtime: 结束日期 2025-02-01 早于开始日期 2025-03-01",
    ]
    with unit_of_work(people, write=False) as s:
        rows = {(i.psn_no, i.psn_idet_type, i.begntime): i for i in s.scalars(select(Identity))}
        assert rows[("P2", "25", date(2024, 6, 1))].psn_type_lv == "2"  # 二级, stored as its code
        assert rows[("P1", "2303", date(2025, 1, 1))].idet_org == "示例市民政局"
        assert rows[("P4", "2304", date(2024, 1, 1))].endtime == date(2024, 12, 31)
    registered = audits(people, "identity", "register")
    assert len(registered) == 4 and registered[0].after["source"] == "低保名单.csv"
    assert registered[0].after["psn_idet_type"] == "2303" and registered[0].before is None

    again = run_import(people, "identities", f)
    assert again.counts() == {"read": 9, "inserted": 0, "updated": 0, "unchanged": 4, "rejected": 5}
    assert count(people, Identity) == 4 and len(audits(people, "identity")) == 4


def test_an_end_date_ends_an_identity_an_empty_one_never_reopens_it_and_a_renewal_follows(people, tmp_path):
    run_import(people, "identities", write(tmp_path, "a.csv", IDENTITIES))
    ended = run_import(  # no 备注 column: the stored memo stays
        people,
        "identities",
        write(tmp_path, "b.csv", "psn_no,psn_idet_type,begntime,endtime\nP1,2303,2025-01-01,2025-06-30\n"),
    )
    assert (ended.inserted, ended.updated, ended.unchanged) == (0, 1, 0)
    (end,) = audits(people, "identity", "end")
    assert end.before["endtime"] is None and end.after["endtime"] == "2025-06-30"
    assert end.after["memo"] == "低保" and end.after["source"] == "b.csv"
    stale = run_import(  # last month's list, which did not know: the end stays
        people,
        "identities",
        write(tmp_path, "c.csv", "psn_no,psn_idet_type,begntime,endtime\nP1,2303,2025-01-01,\n"),
    )
    assert stale.unchanged == 1 and stale.updated == 0
    # the renewal after the end, and (in one file, in either order) P4's period ended and the next one begun
    renewal = run_import(
        people,
        "identities",
        write(
            tmp_path,
            "d.csv",
            "psn_no,psn_idet_type,begntime,endtime\n"
            "P1,2303,2025-07-01,\n"
            "P4,2304,2026-01-01,\n"
            "P4,2304,2025-01-01,2025-12-31\n",
        ),
    )
    assert (renewal.inserted, renewal.updated, texts(renewal)) == (2, 1, [])
    with unit_of_work(people, write=False) as s:
        p1 = s.scalars(
            select(Identity.endtime).where(Identity.psn_no == "P1").order_by(Identity.begntime)
        ).all()
    assert p1 == [date(2025, 6, 30), None]


CHRONIC = """人员编号,病种编码,开始日期,结束日期,定点医药机构编号,状态
P1,M03900,2025-01-01,,H99010200001,approved
P2,M01600,2025-01-01,2025-12-31,,
P3,M04800,2025-01-01,,,
P3,X99999,2025-01-01,,,
P3,M03900,2025-01-01,,H99019999999,
P1,M03900,2025-03-01,,,
P4,M00500,2025-01-01,,,approve
"""


def test_chronic_registrations_checked_against_the_dictionary_the_policy_and_the_institutions(
    people, tmp_path
):
    f = write(tmp_path, "慢特病.csv", CHRONIC)
    assert run_import(people, "chronic_registrations", f, dry_run=True).inserted == 2
    assert count(people, ChronicRegistration) == 0
    report = run_import(people, "chronic_registrations", f)
    assert report.counts() == {"read": 7, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 5}
    assert texts(report) == [
        "第4行 opsp_dise_code: 待遇政策未设此门诊慢特病病种: M04800",  # in the dictionary, no benefit
        "第5行 opsp_dise_code: 不在字典 opsp_dise 中: X99999",
        "第6行 fixmedins_code: 定点医药机构不存在: H99019999999",
        "第7行 begndate: 与现有门诊慢特病备案重叠 (第2行: M03900 自 2025-01-01 起)；"
        "同一门诊慢特病备案的期间不能重叠，请先结束现有记录",
        '第8行 status: "approve" 应为 approved / revoked 之一',
    ]
    again = run_import(people, "chronic_registrations", f)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert count(people, ChronicRegistration) == 2
    # revoked: it holds no period, so a new registration of the same disease may overlap it
    revoked = run_import(
        people,
        "chronic_registrations",
        write(
            tmp_path,
            "r.csv",
            "psn_no,opsp_dise_code,begndate,status\nP1,M03900,2025-01-01,revoked\nP1,M03900,2025-03-01,approved\n",
        ),
    )
    assert (revoked.inserted, revoked.updated, texts(revoked)) == (1, 1, [])
    (rv,) = audits(people, "chronic_registration", "revoke")
    assert (rv.before["status"], rv.after["status"], rv.after["fixmedins_code"]) == (
        "approved",
        "revoked",
        HOSPITAL,
    )


def test_huiminbao_years_enrolled_and_cancelled_from_an_xlsx(people, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["人员编号", "年度", "产品", "状态"])
    next_year = date.today().year + 1
    for row in (
        ["P1", 2025, None, None],
        ["P2", 2025, "示例惠民保", "enrolled"],
        ["P9", 2025, None, None],
        ["P1", 1999, None, None],
        ["P3", next_year + 1, None, None],
        ["P1", 2025, None, None],
    ):
        ws.append(row)
    f = tmp_path / "惠民保.xlsx"
    wb.save(f)
    report = run_import(people, "supplementary", f)
    assert report.counts() == {"read": 6, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 4}
    assert texts(report) == [
        "第4行 psn_no: 人员不存在 (import persons first): P9",
        '第5行 year: "1999" 应为 2000–2100 的整数',
        f"第6行 year: 惠民保年度应在 2000–{next_year} 之间（填写的是 {next_year + 1}）",
        "第7行 year: 与第2行重复",
    ]
    assert run_import(people, "supplementary", f).unchanged == 2
    cancel = write(tmp_path, "退保.csv", "psn_no,year,status\nP2,2025,cancelled\nP3,2025,cancelled\n")
    assert run_import(people, "supplementary", cancel, dry_run=True).updated == 1
    assert count(people, SupplementaryEnrollment) == 2
    done = run_import(people, "supplementary", cancel)
    assert (done.updated, done.unchanged) == (1, 1)  # P3 held no 2025: nothing to cancel
    with unit_of_work(people, write=False) as s:
        assert s.scalars(select(SupplementaryEnrollment.psn_no)).all() == ["P1"]
    (c,) = audits(people, "supplementary_enrollment", "cancel")
    assert c.entity_id == "P2/2025" and c.before["product"] == "示例惠民保"


def test_opening_balances_post_once_through_the_ledger_and_a_correction_posts_the_difference(
    people, tmp_path
):
    f = write(
        tmp_path,
        "期初余额.csv",
        "人员编号,期初余额,入账日期\nP1,1234.56,2024-12-31\nP2,10.00,\nP9,1.00,\nP3,-5,\nP1,1.00,\n",
    )
    dry = run_import(people, "account_balances", f, dry_run=True)
    assert dry.inserted == 1 and count(people, LedgerEntry) == 0
    report = run_import(people, "account_balances", f)
    assert report.counts() == {"read": 5, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 4}
    assert texts(report) == [
        "第3行 psn_no: 人员没有个人账户（仅职工有；请先导入参保登记）",
        "第4行 psn_no: 人员不存在 (import persons first): P9",
        "第5行 balc: 不能为负",
        "第6行 psn_no: 与第2行重复",
    ]

    def state():
        with unit_of_work(people, write=False) as s:
            ledger = check_ledger(s)
            assert ledger.ok, ledger.problems
            return s.get(PersonalAccount, "P1").balance, s.scalar(
                select(func.count()).select_from(LedgerEntry)
            )

    assert state() == (123456, 1)
    with unit_of_work(people, write=False) as s:
        entry = s.scalars(select(LedgerEntry)).one()
        assert (entry.entry_type, entry.book_date, entry.memo) == ("opening", date(2024, 12, 31), "期初余额")
    assert run_import(people, "account_balances", f).unchanged == 1 and state() == (123456, 1)
    fixed = run_import(people, "account_balances", write(tmp_path, "更正.csv", "psn_no,balc\nP1,1000.00\n"))
    assert fixed.updated == 1 and state() == (100000, 2)
    last = audits(people, "personal_account", "opening_balance")[-1]
    assert last.before == {"opening": "1234.56", "balance": "1234.56"}
    assert last.after == {"opening": "1000.00", "balance": "1000.00", "source": "更正.csv"}


def test_a_yaml_list_of_identities(people, tmp_path):
    f = write(
        tmp_path,
        "idet.yaml",
        "identities:\n"
        "  - {psn_no: P2, psn_idet_type: '2302', begntime: 2025-01-01, idet_org: 示例市乡村振兴局}\n"
        "  - {psn_no: P3, psn_idet_type: '2305', begntime: 2025-01-01, endtime: 2024-01-01}\n",
    )
    report = run_import(people, "identities", f)
    assert report.inserted == 1
    assert texts(report) == ["第3行 endtime: 结束日期 2024-01-01 早于开始日期 2025-01-01"]
