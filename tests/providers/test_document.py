"""The agreement PDF (text extracted back, stable hash, embedded CJK font) and the 公布结果 list files."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from yibao.errors import ConfigError, InputError
from yibao.providers import document
from yibao.providers.agreement_text import fill, load_templates, services_text, split_title
from yibao.providers.document import (
    CST,
    PUBLIC_LIST_COLUMNS,
    document_hash,
    find_font,
    public_list_csv,
    public_list_rows,
    render_agreement,
    write_public_list,
)

REPO = Path(__file__).resolve().parents[2]
AGREEMENTS = REPO / "regions" / "990100" / "providers" / "agreements"
DAY = date(2025, 1, 1)
FACTS = {
    "admdvs_name": "示例市",
    "agency_name": "示例市医疗保障事务中心",
    "fixmedins_name": "示例市第一人民医院",
    "fixmedins_code": "H99010200001",
    "uscc": "12990102437493127E",
    "licence_no": "PDY12345699010211A1001",
    "legal_rep": "张明",
    "address": "示例市东城区人民东路268号",
    "agreement_no": "XY990100-2025-000001",
    "main_agreement_no": "XY990100-2025-000001",
    "begndate": "2025-01-01",
    "enddate": "2025-12-31",
    "services": services_text([("S01", "住院"), ("S04", "门诊统筹"), ("S05", "门诊特殊疾病")]),
    "sign_date": "2024-12-20",
}
META = {"agreement_no": FACTS["agreement_no"], "version": "2021.1", "created": "2024-12-20"}


@pytest.fixture(scope="module")
def cjk_font() -> None:
    """Skips without a CJK font, unless YIBAO_REQUIRE_BROWSER is set (CI installs fonts-wqy-zenhei with the
    browser): then the missing font fails the test."""
    try:
        find_font()
    except ConfigError as exc:
        if os.environ.get("YIBAO_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(f"no CJK font for the agreement PDF: {exc}", pytrace=False)
        pytest.skip(f"no CJK font installed (apt-get install fonts-wqy-zenhei, or set YIBAO_PDF_FONT): {exc}")


@pytest.fixture(scope="module")
def hospital(cjk_font) -> tuple[str, str, bytes]:
    template = load_templates(AGREEMENTS).main_for("hospital", DAY)
    title, body = split_title(fill(template, FACTS))
    return title, body, render_agreement(title, body, META)


def _text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    # CJK lines wrap at any character: compare without the layout's spaces and line breaks
    return reader, [re.sub(r"\s+", "", page.extract_text()) for page in reader.pages]


def test_the_agreement_reads_back_with_its_facts(hospital):
    title, _, pdf = hospital
    reader, pages = _text(pdf)
    everything = "".join(pages)
    assert pages[0].startswith("协议编号：XY990100-2025-000001文本版本：2021.1" + title)
    for fact in (
        "示例市第一人民医院",
        "H99010200001",
        "12990102437493127E",
        "张明",
        "示例市东城区人民东路268号",
    ):
        assert fact in everything, fact
    assert "住院（S01）、门诊统筹（S04）、门诊特殊疾病（S05）" in everything
    assert "本协议期限自2025-01-01起至2025-12-31止" in everything
    assert "1个月、2个月、4个月、6个月四档" in everything
    assert "签订日期：2024-12-20" in pages[-1] and "甲方（盖章）：示例市医疗保障事务中心" in pages[-1]
    for n, page in enumerate(pages, start=1):  # every page has the header and its number
        assert "协议编号：XY990100-2025-000001" in page and "文本版本：2021.1" in page
        assert f"第{n}页共{len(pages)}页" in page
    assert len(pages) >= 3
    assert reader.metadata.title == title
    assert reader.metadata.creation_date == datetime(2024, 12, 20, tzinfo=CST)


def test_the_font_is_embedded(hospital):
    reader = PdfReader(io.BytesIO(hospital[2]))
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_the_same_input_gives_the_same_bytes(hospital):
    title, body, pdf = hospital
    again = render_agreement(title, body, dict(META))
    assert again == pdf and document_hash(again) == document_hash(pdf)
    assert re.fullmatch(r"[0-9a-f]{64}", document_hash(pdf))
    later = render_agreement(title, body, {**META, "created": "2024-12-21T09:30:00"})
    assert document_hash(later) != document_hash(pdf)


def test_a_supplementary_agreement_renders(cjk_font):
    template = load_templates(AGREEMENTS).on("supp_chronic", DAY)
    title, body = split_title(fill(template, {**FACTS, "agreement_no": "XY990100-2025-000001-B01"}))
    _, pages = _text(render_agreement(title, body, {**META, "agreement_no": "XY990100-2025-000001-B01"}))
    everything = "".join(pages)
    assert (
        "主协议编号：XY990100-2025-000001" in everything
        and "协议编号：XY990100-2025-000001-B01" in everything
    )
    assert title.replace(" ", "") in everything


def test_meta_is_checked():
    with pytest.raises(InputError, match=r"^meta\.created: 缺少或为空"):
        render_agreement("协议", "正文", {"agreement_no": "X", "version": "1"})
    with pytest.raises(InputError, match=r"^meta\.signer: 未知的键"):
        render_agreement("协议", "正文", {**META, "signer": "x"})
    with pytest.raises(InputError, match=r"^meta\.created: 应为日期"):
        render_agreement("协议", "正文", {**META, "created": "2024-13-01"})
    with pytest.raises(InputError, match=r"^title: "):
        render_agreement(" ", "正文", META)


def test_no_cjk_font_is_a_one_line_error_naming_the_setting(monkeypatch):
    monkeypatch.delenv("YIBAO_PDF_FONT", raising=False)
    monkeypatch.setattr(document, "KNOWN_FONTS", ())
    monkeypatch.setattr(document.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match=r"^YIBAO_PDF_FONT: 找不到中文字体") as exc:
        render_agreement("协议", "正文", META)
    assert "\n" not in str(exc.value)


def test_the_setting_names_a_font(monkeypatch, tmp_path):
    monkeypatch.setenv("YIBAO_PDF_FONT", str(tmp_path / "none.ttc"))
    with pytest.raises(ConfigError, match=r"^YIBAO_PDF_FONT: 字体文件 .*none\.ttc 不存在"):
        find_font()
    (tmp_path / "font.ttc").write_bytes(b"not a font")
    assert find_font(f"{tmp_path / 'font.ttc'}#2") == (tmp_path / "font.ttc", 2)
    with pytest.raises(ConfigError, match=r"^YIBAO_PDF_FONT: .*无法使用"):
        render_agreement("协议", "正文", META, font=str(tmp_path / "font.ttc"))
    with pytest.raises(ConfigError, match=r"不是字体文件"):
        find_font(str(tmp_path / "font.pdf"))


# --- the public list (公布结果) ---------------------------------------------------------------------------

CLASSES = {"hospital": "医院", "clinic": "门诊诊所", "pharmacy": "零售药店"}
SERVICES = {"S01": "住院", "S04": "门诊统筹", "S17": "药店购药"}
AGREEMENT_ROWS = [
    {
        "fixmedins_code": "P99010200007",
        "fixmedins_name": "示例市东城大药房",
        "class": "pharmacy",
        "hosp_lv": None,
        "address": "示例市东城区健康路8号",
        "services": ["S17"],
        "begndate": "2025-03-01",
        "enddate": "2026-02-28",
        "status": "active",
    },
    {
        "fixmedins_code": "H99010200001",
        "fixmedins_name": "示例市第一人民医院",
        "class": "hospital",
        "hosp_lv": "2",
        "address": "示例市东城区人民东路268号",
        "services": ["S01", "S04"],
        "begndate": date(2025, 1, 1),
        "enddate": date(2025, 12, 31),
        "status": "suspended",
    },
    {
        "fixmedins_code": "C99010300012",
        "fixmedins_name": "示例市西城诊所",
        "class": "clinic",
        "address": "示例市西城区解放西路3号",
        "services": "S04",
        "begndate": "2023-01-01",
        "enddate": "2024-12-31",
        "status": "expired",
    },
]


def _rows(day: date | None = None) -> list[dict[str, str]]:
    return public_list_rows(
        AGREEMENT_ROWS, classes=CLASSES, services=SERVICES, levels={"2": "三级甲等"}, day=day
    )


def test_public_list_rows():
    rows = _rows()
    assert [r["机构编码"] for r in rows] == ["C99010300012", "H99010200001", "P99010200007"]
    assert rows[1] == {
        "机构编码": "H99010200001",
        "机构名称": "示例市第一人民医院",
        "类别": "医院",
        "等级": "三级甲等",
        "地址": "示例市东城区人民东路268号",
        "开通服务": "住院、门诊统筹",
        "协议期限起": "2025-01-01",
        "协议期限止": "2025-12-31",
        "状态": "中止",
    }
    assert (rows[0]["等级"], rows[0]["状态"], rows[2]["等级"]) == ("", "到期终止", "")
    assert [r["机构编码"] for r in _rows(date(2025, 2, 1))] == ["H99010200001"]
    assert [r["机构编码"] for r in _rows(date(2025, 12, 31))] == ["H99010200001", "P99010200007"]


def test_public_list_refusals():
    bad = [{**AGREEMENT_ROWS[0], "services": ["S99"]}]
    with pytest.raises(InputError, match=r"^agreements\.0\.services: 未知的服务类别 S99"):
        public_list_rows(bad, classes=CLASSES, services=SERVICES)
    with pytest.raises(InputError, match=r"^agreements\.0\.status:"):
        public_list_rows([{**AGREEMENT_ROWS[0], "status": "gone"}], classes=CLASSES, services=SERVICES)
    with pytest.raises(InputError, match=r"^agreements\.0\.begndate: 应为日期"):
        public_list_rows(
            [{**AGREEMENT_ROWS[0], "begndate": "2025-02-30"}], classes=CLASSES, services=SERVICES
        )
    with pytest.raises(InputError, match=r"^path: list\.pdf 应以 \.csv 或 \.xlsx 结尾"):
        write_public_list(_rows(), "list.pdf")


def test_public_list_csv_reads_back(tmp_path):
    rows = _rows()
    path = write_public_list(rows, tmp_path / "定点医药机构.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data == public_list_csv(rows)
    with path.open(encoding="utf-8-sig", newline="") as f:
        back = list(csv.DictReader(f))
    assert list(back[0]) == list(PUBLIC_LIST_COLUMNS)
    assert back == rows


def test_public_list_xlsx_reads_back(tmp_path):
    rows = _rows()
    path = write_public_list(rows, tmp_path / "定点医药机构.xlsx")
    sheet = load_workbook(path, read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == list(PUBLIC_LIST_COLUMNS)
    assert [dict(zip(PUBLIC_LIST_COLUMNS, (v or "" for v in r), strict=True)) for r in values[1:]] == rows
