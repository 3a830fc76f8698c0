"""Agreement documents (协议文书) as PDF, and the public list of designated institutions (公布结果).

:func:`render_agreement` lays a filled agreement text (``agreement_text.fill``) out on A4 pages with fpdf2,
embedding a CJK font (a subset of it): a header with the agreement number and text version on every page,
"第 n 页 共 m 页" at the foot. The same input gives the same bytes — the creation date comes from ``meta``, not
the clock — so :func:`document_hash` of a re-rendered agreement matches the hash stored at signing.

The font: the ``YIBAO_PDF_FONT`` setting (a .ttf/.ttc/.otf file, ``path#n`` for face n of a collection) if
set, else the first CJK font found (WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei, Noto Sans CJK SC …).
Without one, a one-line ConfigError names the setting.

:func:`public_list_rows` and :func:`write_public_list` make the 公布结果 list (CSV with a UTF-8 BOM so Excel
opens it, or XLSX) from plain dicts. Pure: no store, no configuration module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTLibError
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from openpyxl import Workbook

from yibao.errors import ConfigError, InputError

FONT_SETTING = "YIBAO_PDF_FONT"
FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
# Looked for in this order when the setting is not given (path, face number in the collection).
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # Debian/Ubuntu fonts-wqy-zenhei (CI installs it)
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),  # Fedora, Arch
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # faces JP, KR, SC, TC, HK: 2 = SC
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),  # macOS
    ("C:/Windows/Fonts/simhei.ttf", 0),
)
CST = timezone(timedelta(hours=8), "CST")  # 北京时间: dates in meta are the bureau's
META_REQUIRED = ("agreement_no", "version", "created")
META_OPTIONAL = ("author", "subject", "keywords")
_FAMILY = "cjk"
_BODY, _LINE, _SIGN_LINE = 11.0, 6.5, 10.0  # points, millimetres, millimetres

PUBLIC_LIST_COLUMNS = (
    "机构编码",
    "机构名称",
    "类别",
    "等级",
    "地址",
    "开通服务",
    "协议期限起",
    "协议期限止",
    "状态",
)
STATUS_NAMES: Mapping[str, str] = {
    "active": "正常",
    "suspended": "中止",
    "terminated": "解除",
    "expired": "到期终止",
}


# --- font -------------------------------------------------------------------------------------------------


def find_font(setting: str | None = None) -> tuple[Path, int]:
    """The CJK font file to embed and its face number in a collection. ``setting`` (else the environment's
    ``YIBAO_PDF_FONT``): ``/path/font.ttc`` or ``/path/font.ttc#2``; else a known path; else fontconfig's first
    font for Chinese. ConfigError naming the setting when there is none."""
    setting = os.environ.get(FONT_SETTING) if setting is None else setting
    if setting:
        return _from_setting(setting)
    for path, face in KNOWN_FONTS:
        if Path(path).is_file():
            return Path(path), face
    if found := _fontconfig():
        return found
    raise ConfigError(
        f"{FONT_SETTING}: 找不到中文字体，无法生成协议 PDF (no CJK font found: set {FONT_SETTING} to a .ttf/.ttc "
        "file, or install one: apt-get install fonts-wqy-zenhei)"
    )


def _from_setting(setting: str) -> tuple[Path, int]:
    path_text, _, face_text = setting.partition("#")
    path = Path(path_text).expanduser()
    if not face_text:
        face = 0
    elif face_text.isdigit():
        face = int(face_text)
    else:
        raise ConfigError(
            f"{FONT_SETTING}: 字体序号应为数字 (face number after # must be a number: {setting!r})"
        )
    if path.suffix.lower() not in FONT_SUFFIXES:
        raise ConfigError(f"{FONT_SETTING}: {path} 不是字体文件 (must end in {', '.join(FONT_SUFFIXES)})")
    if not path.is_file():
        raise ConfigError(f"{FONT_SETTING}: 字体文件 {path} 不存在 (font file not found)")
    return path, face


def _fontconfig() -> tuple[Path, int] | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "--format", "%{file}|%{index}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    faces = []
    for line in out.splitlines():
        file, _, index = line.rpartition("|")
        if Path(file).suffix.lower() in FONT_SUFFIXES and index.isdigit():
            faces.append((file, int(index)))
    return (Path(min(faces)[0]), min(faces)[1]) if faces else None  # sorted: the same font on every run


# --- the agreement PDF -------------------------------------------------------------------------------------


class _AgreementPDF(FPDF):
    def __init__(self, header_left: str, header_right: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.header_left, self.header_right = header_left, header_right

    def header(self) -> None:
        self.set_font(_FAMILY, size=8.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.header_left, align=Align.L)
        self.set_x(self.l_margin)
        self.cell(0, 5, self.header_right, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_y(self.get_y() + 6)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(_FAMILY, size=8.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 8, f"第 {self.page_no()} 页 共 {{nb}} 页", align=Align.C)
        self.set_text_color(0, 0, 0)


def render_agreement(title: str, text: str, meta: Mapping[str, str], *, font: str | None = None) -> bytes:
    """The agreement as PDF bytes. ``text``: the filled Markdown text ("# " title line, "## " chapter
    headings, other lines printed as written, a blank line between paragraphs); a first line repeating
    ``title`` is not printed twice. ``meta``: ``agreement_no`` and ``version`` (the page header),
    ``created`` (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, Beijing time: the PDF's creation date, so the bytes do
    not depend on the clock), optionally ``author``, ``subject``, ``keywords``. ``font``: as the
    ``YIBAO_PDF_FONT`` setting."""
    if not isinstance(title, str) or not title.strip():
        raise InputError("title: 协议标题为空 (empty title)")
    if not isinstance(text, str) or not text.strip():
        raise InputError("text: 协议正文为空 (empty text)")
    created = _check_meta(meta)
    font_path, face = find_font(font)
    pdf = _AgreementPDF(f"协议编号：{meta['agreement_no']}", f"文本版本：{meta['version']}")
    try:
        pdf.add_font(_FAMILY, fname=font_path, collection_font_number=face)
    except (OSError, ValueError, KeyError, TTLibError) as exc:
        raise ConfigError(f"{FONT_SETTING}: 字体 {font_path} 无法使用 (unusable font: {exc})") from None
    _describe(pdf, title.strip(), meta, created)
    _write(pdf, title.strip(), text)
    _quiet_subsetter()
    return bytes(pdf.output())


def _describe(pdf: FPDF, title: str, meta: Mapping[str, str], created: datetime) -> None:
    pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_subject(meta.get("subject") or title)
    pdf.set_author(meta.get("author") or "")
    if meta.get("keywords"):
        pdf.set_keywords(meta["keywords"])
    pdf.set_creator("yibao")
    pdf.set_lang("zh-CN")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.alias_nb_pages()


def _write(pdf: FPDF, title: str, text: str) -> None:
    """Title, then the text line by line; the last block of lines (the signatures) kept on one page."""
    pdf.add_page()
    _heading(pdf, title, 16, Align.C, after=4)
    lines = _body_lines(title, text)
    signatures = _signature_start(lines)
    for i, line in enumerate(lines):
        if i == signatures:  # the signature block: kept on one page, room to sign on every line
            pdf.ln(_LINE)
            if pdf.get_y() + (len(lines) - i) * _SIGN_LINE > pdf.page_break_trigger:
                pdf.add_page()
        if i >= signatures:
            pdf.set_font(_FAMILY, size=_BODY)
            _lines(pdf, line.rstrip(), _SIGN_LINE, Align.L)
        elif not line.strip():
            pdf.ln(_LINE * 0.5)
        elif line.startswith("## "):
            pdf.ln(_LINE * 0.5)
            _heading(pdf, line[3:].strip(), 13, Align.C, after=2)
        elif line.startswith("# "):
            _heading(pdf, line[2:].strip(), 15, Align.C, after=3)
        elif line.startswith("### "):
            _heading(pdf, line[4:].strip(), 12, Align.L, after=1)
        else:
            pdf.set_font(_FAMILY, size=_BODY)
            _lines(pdf, line.rstrip(), _LINE, Align.J)


class _NoDroppedTables(logging.Filter):
    """fontTools warns of every table it cannot subset (the bitmap strikes of WenQuanYi): expected, dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "NOT subset" not in record.getMessage()


def _quiet_subsetter() -> None:
    logger = logging.getLogger("fontTools.subset")
    if not any(isinstance(f, _NoDroppedTables) for f in logger.filters):
        logger.addFilter(_NoDroppedTables())


def document_hash(pdf: bytes) -> str:
    """The document's sha256, hex: stored with the signed agreement, checked on every re-render."""
    return hashlib.sha256(pdf).hexdigest()


def _check_meta(meta: Mapping[str, str]) -> datetime:
    unknown = sorted(k for k in meta if k not in META_REQUIRED + META_OPTIONAL)
    if unknown:
        raise InputError(
            f"meta.{unknown[0]}: 未知的键 (unknown key; known: {', '.join(META_REQUIRED + META_OPTIONAL)})"
        )
    for key in META_REQUIRED:
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise InputError(f"meta.{key}: 缺少或为空 (required)")
    for key in META_OPTIONAL:
        if key in meta and not isinstance(meta[key], str):
            raise InputError(f"meta.{key}: 应为文本 (must be a string)")
    try:
        created = datetime.fromisoformat(meta["created"].strip())
    except ValueError:
        raise InputError(
            f"meta.created: 应为日期 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS (not {meta['created'][:32]!r})"
        ) from None
    return created.replace(tzinfo=CST) if created.tzinfo is None else created


def _body_lines(title: str, text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    if lines and lines[0].startswith("# ") and lines[0][2:].strip() == title:
        lines = lines[1:]
    return lines


def _signature_start(lines: list[str]) -> int:
    """Where the last block of lines (after the last blank line) starts: the signatures; len(lines) when that
    block is a heading or the text has a single block."""
    blanks = [i for i, line in enumerate(lines) if not line.strip()]
    start = blanks[-1] + 1 if blanks else len(lines)
    if start >= len(lines) or lines[start].startswith("#"):
        return len(lines)
    return start


def _heading(pdf: FPDF, text: str, size: float, align: Align, after: float) -> None:
    pdf.set_font(_FAMILY, size=size)
    _lines(pdf, text, size * 0.5, align)
    pdf.ln(after)


def _lines(pdf: FPDF, text: str, height: float, align: Align) -> None:
    # CJK text has no spaces to break at: wrap at any character
    pdf.multi_cell(0, height, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


# --- the public list (公布结果) ------------------------------------------------------------------------------


def public_list_rows(
    agreements: Iterable[Mapping[str, Any]],
    *,
    classes: Mapping[str, str],
    services: Mapping[str, str],
    levels: Mapping[str, str] | None = None,
    day: date | None = None,
) -> list[dict[str, str]]:
    """One row per designated institution, columns :data:`PUBLIC_LIST_COLUMNS`, ordered by code. Each input
    dict: ``fixmedins_code``, ``fixmedins_name``, ``class`` (hospital | clinic | pharmacy, named by
    ``classes``), ``hosp_lv`` (named by ``levels`` when given), ``address``, ``services`` (service category
    codes, named by ``services``), ``begndate``, ``enddate`` (date, ISO text or None), ``status``
    (active | suspended | terminated | expired). With ``day``, only agreements in their term on that day."""
    rows = []
    for n, a in enumerate(agreements):
        begndate = _day(a.get("begndate"), f"agreements.{n}.begndate", required=True)
        enddate = _day(a.get("enddate"), f"agreements.{n}.enddate", required=False)
        if day is not None and (
            begndate is None or begndate > day or (enddate is not None and enddate < day)
        ):
            continue
        codes = a.get("services") or ()
        if isinstance(codes, str):
            codes = [c for c in codes.replace("、", ",").split(",") if c.strip()]
        unknown = [c for c in codes if c not in services]
        if unknown:
            raise InputError(
                f"agreements.{n}.services: 未知的服务类别 {', '.join(map(str, unknown))} (unknown category)"
            )
        cls, level, status = str(a.get("class") or ""), a.get("hosp_lv"), str(a.get("status") or "")
        if cls not in classes:
            raise InputError(f"agreements.{n}.class: 未知的机构类别 {cls!r} (known: {', '.join(classes)})")
        if status not in STATUS_NAMES:
            raise InputError(
                f"agreements.{n}.status: 未知的协议状态 {status!r} (known: {', '.join(STATUS_NAMES)})"
            )
        level_text = "" if level in (None, "") else str(level)
        rows.append(
            {
                "机构编码": str(a.get("fixmedins_code") or ""),
                "机构名称": str(a.get("fixmedins_name") or ""),
                "类别": classes[cls],
                "等级": (levels or {}).get(level_text, level_text),
                "地址": str(a.get("address") or ""),
                "开通服务": "、".join(services[c] for c in codes),
                "协议期限起": begndate.isoformat() if begndate else "",
                "协议期限止": enddate.isoformat() if enddate else "",
                "状态": STATUS_NAMES[status],
            }
        )
    return sorted(rows, key=lambda r: (r["机构编码"], r["协议期限起"]))


def public_list_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    """The list as CSV, UTF-8 with a BOM (Excel then reads the Chinese right), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PUBLIC_LIST_COLUMNS)
    writer.writerows([_cells(r, i) for i, r in enumerate(rows)])
    return out.getvalue().encode("utf-8-sig")


def public_list_xlsx(rows: Sequence[Mapping[str, str]], sheet: str = "定点医药机构") -> bytes:
    """The list as an Excel workbook: one sheet, the header row frozen, every cell text (codes keep their zeros)."""
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append(list(PUBLIC_LIST_COLUMNS))
    for i, r in enumerate(rows):
        ws.append(_cells(r, i))
    for letter, width in zip("ABCDEFGHI", (16, 30, 10, 10, 36, 40, 12, 12, 8), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_public_list(rows: Sequence[Mapping[str, str]], path: str | Path) -> Path:
    """Writes the list to ``path``: ``.csv`` or ``.xlsx`` by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = public_list_csv(rows)
    elif suffix == ".xlsx":
        data = public_list_xlsx(rows)
    else:
        raise InputError(f"path: {path.name} 应以 .csv 或 .xlsx 结尾 (must end in .csv or .xlsx)")
    path.write_bytes(data)
    return path


def _cells(row: Mapping[str, str], i: int) -> list[str]:
    missing = [c for c in PUBLIC_LIST_COLUMNS if c not in row]
    if missing:
        raise InputError(f"rows.{i}: 缺少列 {', '.join(missing)} (missing columns)")
    return [str(row[c]) for c in PUBLIC_LIST_COLUMNS]


def _day(value: Any, field: str, required: bool) -> date | None:
    if value in (None, ""):
        if required:
            raise InputError(f"{field}: 缺少日期 (date required)")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{field}: 应为日期 YYYY-MM-DD (not {str(value)[:32]!r})") from None
