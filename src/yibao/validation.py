"""Validators of national codes (校验): each returns the normalised value or raises ValidationError
with a Chinese reason (the caller adds the field and line)."""

from __future__ import annotations

import operator
import re
from datetime import date

from yibao.errors import InputError


class ValidationError(InputError):
    """A code that is not valid; the message is the reason only."""


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PROVINCES = set(range(11, 83)) | {99}  # GB/T 2260 provinces, and 99 for the demo region

_ADMDVS = re.compile(r"^\d{6}$")
_FIXMEDINS = re.compile(r"^[HP]\d{11}$")
_PRACTITIONER = re.compile(r"^[DNY]\d{12}$")
# ICD-10 医保版 2.0: letter + 2 digits . 亚目 (digit or x) + 2 digits, optional x + 3-digit extension
_ICD10 = re.compile(r"^[A-Z]\d{2}\.[0-9x]\d{2}(x\d{3})?$")
# ICD-9-CM-3 医保版 2.0: 2 digits . 4 chars (x where a category is not subdivided), optional x + 3 digits
_ICD9 = re.compile(r"^\d{2}\.[0-9x]{2}\d{2}(x\d{3})?$")


_ID_ZERO = 48 * sum(ID_WEIGHTS)  # the weighted sum of 17 '0' characters' code points


def id_check_char(first17: str) -> str:
    # the digits' code points weighted in C (map over bytes), less the weighted '0's: a million IDs a second
    return ID_CHECK[(sum(map(operator.mul, first17.encode("ascii"), ID_WEIGHTS)) - _ID_ZERO) % 11]


def resident_id(value: str, today: date | None = None) -> str:
    """GB 11643-1999 居民身份证号码: 18 characters, valid region and birth date, check character."""
    v = str(value).strip().upper()
    if len(v) != 18:
        raise ValidationError(f"长度应为18位（填写的是 {len(v)} 位）")
    if not (v.isascii() and v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")):  # ("²".isdigit())
        raise ValidationError("前17位应为数字，末位为数字或X")
    if int(v[:2]) not in PROVINCES:
        raise ValidationError(f"行政区划代码无效 ({v[:6]})")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise ValidationError(f"出生日期无效 ({v[6:14]})") from None
    if born.year < 1900 or born > (today or date.today()):
        raise ValidationError(f"出生日期无效 ({v[6:14]})")
    expected = id_check_char(v[:17])
    if v[17] != expected:
        raise ValidationError(f"校验位错误（末位应为 {expected}）")
    return v


def id_birth_date(certno: str) -> date:
    return date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def id_gender(certno: str) -> str:
    """1 男 (odd 17th digit) / 2 女."""
    return "1" if int(certno[16]) % 2 else "2"


def org_check_char(first8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc(value: str) -> str:
    """GB 32100-2015 统一社会信用代码: 18 chars of the 31-char set; positions 9–17 a GB 11714 code."""
    v = str(value).strip().upper()
    if len(v) != 18:
        raise ValidationError(f"长度应为18位（填写的是 {len(v)} 位）")
    bad = sorted({c for c in v if c not in USCC_CHARS})
    if bad:
        raise ValidationError(f"含有不允许的字符 {''.join(bad)}")
    if not v[2:8].isdigit():
        raise ValidationError(f"登记管理机关行政区划码无效 ({v[2:8]})")
    if org_check_char(v[8:16]) != v[16]:
        raise ValidationError(f"组织机构代码校验位错误（第17位应为 {org_check_char(v[8:16])}）")
    expected = uscc_check_char(v[:17])
    if v[17] != expected:
        raise ValidationError(f"校验位错误（末位应为 {expected}）")
    return v


def _shape(pattern: re.Pattern, value: str, reason: str) -> str:
    v = str(value).strip()
    if not pattern.match(v):
        raise ValidationError(reason)
    return v


def admdvs(value: str) -> str:
    return _shape(_ADMDVS, value, "应为6位数字的医保区划")


def fixmedins_code(value: str) -> str:
    v = _shape(_FIXMEDINS, value, "应为 H 或 P + 6位区划 + 5位顺序号，共12位")
    return v


def practitioner_code(value: str) -> str:
    return _shape(_PRACTITIONER, value, "应为 D/N/Y + 6位区划 + 6位顺序号，共13位")


def icd10(value: str) -> str:
    return _shape(_ICD10, value, "不是医保版ICD-10编码（如 A00.000、I10.x00、A49.100x004）")


def icd9cm3(value: str) -> str:
    return _shape(_ICD9, value, "不是医保版ICD-9-CM-3编码（如 47.0900、74.1x00）")


# 姓名: a Chinese name (汉字 and the middle dot of minority names, 阿依古丽·买买提) or a foreigner's in Latin
# letters (spaces, dots, hyphens, apostrophes between them); never digits, markup or control characters
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CHINESE_NAME = re.compile(f"^[{_CJK}]+([·・•][{_CJK}]+)*$")
_LATIN_NAME = re.compile(r"^[A-Za-z\u00c0-\u024f]+([ .'\-]{1,2}[A-Za-z\u00c0-\u024f]+)*\.?$")
NAME_LENGTH = (2, 30)
LATIN_NAME_LENGTH = 60


def person_name(value: str) -> str:
    """姓名: 2–30 汉字 (with ·), or a Latin-letter name up to 60 characters; the reason only when refused."""
    v = " ".join(str(value).split())
    if not v:
        raise ValidationError("不能为空")
    if _CHINESE_NAME.match(v):
        lo, hi = NAME_LENGTH
        if not lo <= len(v) <= hi:
            raise ValidationError(f"应为 {lo}–{hi} 个汉字（填写的是 {len(v)} 个字）")
        return v
    if _LATIN_NAME.match(v):
        if len(v) > LATIN_NAME_LENGTH:
            raise ValidationError(f"外文姓名不能超过 {LATIN_NAME_LENGTH} 个字母")
        return v
    if any(c.isdigit() for c in v):
        raise ValidationError("不能含数字")
    if any(c in "<>" for c in v):
        raise ValidationError("不能含尖括号 < >")
    if any(not c.isprintable() for c in v):
        raise ValidationError("不能含控制字符")
    raise ValidationError("应为汉字（少数民族姓名可用间隔号 ·）或外文字母，不能混用或含符号")


def free_text(value: str, limit: int) -> str:
    """A name of an organisation or an address (地址): printable text up to ``limit`` characters, without
    angle brackets; spaces collapsed."""
    v = " ".join(str(value).split())
    if not v:
        raise ValidationError("不能为空")
    if any(not c.isprintable() for c in str(value).strip().replace("\n", " ").replace("\t", " ")):
        raise ValidationError("不能含控制字符")
    if any(c in "<>" for c in v):
        raise ValidationError("不能含尖括号 < >")
    if len(v) > limit:
        raise ValidationError(f"不能超过 {limit} 个字（填写的是 {len(v)} 个字）")
    return v


def address(value: str) -> str:
    """地址: printable, at most 100 characters, no angle brackets."""
    return free_text(value, 100)
