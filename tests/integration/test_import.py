"""Bulk import on both databases: upserts, line-numbered rejections, refusals, aliases, XLSX and YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from yibao.errors import InputError
from yibao.ingest.loader import run_import
from yibao.ingest.region import load_region
from yibao.store.db import unit_of_work
from yibao.store.tables import AuditLog, Enrollment, Institution, Person

REPO = Path(__file__).resolve().parents[2]
GOOD = "11010519491231002X"  # valid check character
HEADER = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,naty,admdvs,tel\n"


@pytest.fixture
def region(engine):
    load_region(engine, "990100", REPO / "regions")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def count(engine, table) -> int:
    with unit_of_work(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(table))


def test_persons_insert_update_unchanged_and_rejections(engine, region, tmp_path):
    f = write(
        tmp_path,
        "persons.csv",
        HEADER
        + f"P1,01,{GOOD},张三,2,1949-12-31,01,990102,\n"
        + "P2,01,110105194912310021,李四,1,1949-12-31,01,990102,\n"  # bad check character
        + "P3,01,990102198001010117,王五,2,1980-01-01,01,990102,\n"  # gender contradicts the ID
        + "P4,01,990102198001010117,王五,1,1980-01-01,01,990102,\n"
        + ",,,,,,,,\n"  # blank line: skipped
        + "P5,01,990102198001010125,赵六,2,1980-01-01,99,990102,\n",
    )  # naty 99 is not in the dictionary
    report = run_import(engine, "persons", f)
    assert report.counts() == {"read": 5, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    texts = [str(r) for r in report.rejected]
    assert "第3行 certno: 校验位错误（末位应为 X）" in texts
    assert "第4行 gend: 与证件号码中的性别 1 不一致" in texts
    assert any(t.startswith("第7行 naty: 不在字典 naty 中") for t in texts)
    f2 = write(
        tmp_path,
        "persons2.csv",
        HEADER
        + f"P1,01,{GOOD},张三丰,2,1949-12-31,01,990102,\n"
        + "P4,01,990102198001010117,王五,1,1980-01-01,01,990102,\n",
    )
    again = run_import(engine, "persons", f2)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    with unit_of_work(engine, write=False) as s:
        assert s.get(Person, "P1").psn_name == "张三丰"
        assert (
            s.scalar(
                select(AuditLog.after)
                .where(AuditLog.action == "import")
                .order_by(AuditLog.seq.desc())
                .limit(1)
            )["updated"]
            == 1
        )


def test_a_file_of_the_wrong_kind_is_refused_whole(engine, region, tmp_path):
    with pytest.raises(InputError, match=r"institutions\.csv 不是参保人员文件: 缺少列 psn_no, certno"):
        run_import(engine, "persons", REPO / "regions" / "990100" / "institutions.csv")
    assert count(engine, Person) == 0


def test_enrollments_need_their_person_and_valid_dates(engine, region, tmp_path):
    run_import(
        engine, "persons", write(tmp_path, "p.csv", HEADER + f"P1,01,{GOOD},张三,2,1949-12-31,01,990102,\n")
    )
    f = write(
        tmp_path,
        "e.csv",
        "psn_no,insutype,psn_type,psn_insu_stas,begndate,enddate,insuplc_admdvs\n"
        "P1,310,12,1,2020-01-01,,990100\n"
        "P9,390,15,1,2020-01-01,,990100\n"
        "P1,390,15,1,2024-01-01,2023-01-01,990100\n"
        "P1,999,15,1,2024-01-01,,990100\n",
    )
    report = run_import(engine, "enrollments", f)
    assert report.inserted == 1 and count(engine, Enrollment) == 1
    texts = [str(r) for r in report.rejected]
    assert "第3行 psn_no: 人员不存在 (import persons first): P9" in texts
    assert "第4行 enddate: 结束日期 2023-01-01 早于开始日期 2024-01-01" in texts
    assert "第5行 insutype: 不在字典 insutype 中: 999" in texts


def test_xlsx_with_chinese_headers_and_mixed_rows(engine, region, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "定点医药机构编号",
            "定点医药机构名称",
            "定点医药机构类型",
            "起付线等级",
            "医保区划",
            "开始日期",
            "备注",
        ]
    )
    ws.append(["H99010299998", "新开诊所", "1", 1, "990102", "2024-05-01", "x"])
    ws.append(["H9901029999", "编号太短", "1", 1, "990102", "2024-05-01", ""])
    ws.append(["H99010299997", "等级错误", "1", 4, "990102", "2024-05-01", ""])
    path = tmp_path / "inst.xlsx"
    wb.save(path)
    report = run_import(engine, "institutions", path)
    assert report.inserted == 1 and report.ignored_columns == ["备注"]
    assert [str(r) for r in report.rejected] == [
        "第3行 fixmedins_code: 应为 H 或 P + 6位区划 + 5位顺序号，共12位",
        '第4行 dedc_hosp_lv: "4" 应为 1–3 的整数',
    ]
    with unit_of_work(engine, write=False) as s:
        assert s.get(Institution, "H99010299998").status == "active"  # the default


def test_yaml_rows_report_their_source_lines(engine, region, tmp_path):
    f = write(
        tmp_path,
        "cat.yaml",
        """catalogue:
  - list_type: "101"
    med_list_codg: XTEST000000000000000001
    med_list_name: 测试药
    chrgitm_lv: "01"
    selfpay_prop: 0.1
    begndate: 2025-01-01
  - list_type: "101"
    med_list_codg: XTEST000000000000000002
    med_list_name: 测试药2
    chrgitm_lv: "02"
    selfpay_prop: 0.15
    pric: 12.345678
    begndate: 2025-01-01
""",
    )
    report = run_import(engine, "catalogue", f)
    assert report.inserted == 1
    assert [str(r) for r in report.rejected] == ["第2行 selfpay_prop: 甲类项目的先行自付比例必须为 0"]


def test_dry_run_writes_nothing(engine, region, tmp_path):
    report = run_import(
        engine,
        "persons",
        write(tmp_path, "p.csv", HEADER + f"P1,01,{GOOD},张三,2,1949-12-31,01,990102,\n"),
        dry_run=True,
    )
    assert report.inserted == 1 and count(engine, Person) == 0


def test_imported_enrollments_pass_the_same_business_checks_as_a_clerks(engine, region, tmp_path):
    """业务校验 in bulk too: a 参保日期 before birth, a category the age does not fit, a date beyond the lead
    time — each refused on its line with the services' Chinese reason; a plausible row loads."""
    run_import(
        engine,
        "persons",
        write(tmp_path, "p.csv", HEADER + f"P1,01,{GOOD},张三,2,1949-12-31,01,990102,\n"),
    )
    head = "psn_no,insutype,psn_type,begndate,insuplc_admdvs\n"
    rows = (
        "P1,390,16,1940-01-01,990100\n"  # before birth
        "P1,390,1401,2015-01-01,990100\n"  # a 65-year-old as 新生儿
        "P1,390,16,2099-01-01,990100\n"  # far beyond the lead time
        "P1,390,16,2016-01-01,990100\n"  # plausible
    )
    report = run_import(engine, "enrollments", write(tmp_path, "e.csv", head + rows))
    texts = [str(r) for r in report.rejected]
    assert report.counts()["inserted"] == 1 and len(texts) == 3, texts
    assert texts[0] == "第2行 begndate: 参保日期不能早于出生日期（1949-12-31）"
    assert texts[1].startswith("第3行 psn_type: 人员类别「") and "65 周岁" in texts[1]
    assert texts[2].startswith("第4行 begndate: 参保日期不能晚于")
