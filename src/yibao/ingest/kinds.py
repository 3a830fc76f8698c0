"""What can be imported (导入类型): columns with their Chinese headers, parsers, natural keys, row checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from yibao import validation as v
from yibao.enrollment import rules
from yibao.ingest.readers import as_text
from yibao.money import BP, AmountError, parse_amount, parse_price, parse_ratio
from yibao.store.tables import (
    CatalogueItem,
    ClinicalCode,
    Department,
    Employer,
    Enrollment,
    Institution,
    Person,
)
from yibao.validation import ValidationError


@dataclass
class Context:
    """Reference data the checks need: dictionary codes by type, persons known, institutions known."""

    dictionaries: dict[str, set[str]] = field(default_factory=dict)
    known: dict[str, Callable[[list[str]], set[str]]] = field(default_factory=dict)

    def code(self, dic_type: str, value: str) -> str:
        codes = self.dictionaries.get(dic_type)
        if codes and value not in codes:
            raise ValidationError(f"不在字典 {dic_type} 中: {value}")
        return value


def text(x: Any, ctx: Context) -> str:
    return as_text(x)


def a_date(x: Any, ctx: Context) -> date:
    if isinstance(x, date):
        return x
    s = as_text(x).replace("/", "-").replace(".", "-")
    if len(s) == 8 and s.isdigit():
        s = f"{s[:4]}-{s[4:6]}-{s[6:]}"
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        raise ValidationError(f'"{s}" 不是日期 (yyyy-MM-dd)') from None


def an_int(lo: int, hi: int) -> Callable:
    def parse(x: Any, ctx: Context) -> int:
        s = as_text(x)
        if not (s.isascii() and s.lstrip("-").isdigit()) or not lo <= int(s) <= hi:
            raise ValidationError(f'"{s}" 应为 {lo}–{hi} 的整数')
        return int(s)

    return parse


def dict_code(dic_type: str, width: int | None = None) -> Callable:
    def parse(x: Any, ctx: Context) -> str:
        s = as_text(x)
        if width and s.isdigit():
            s = s.zfill(width)
        return ctx.code(dic_type, s)

    return parse


def choice(*values: str) -> Callable:
    def parse(x: Any, ctx: Context) -> str:
        s = as_text(x)
        if s not in values:
            raise ValidationError(f'"{s}" 应为 {" / ".join(values)} 之一')
        return s

    return parse


def validator(fn: Callable[[str], str]) -> Callable:
    return lambda x, ctx: fn(as_text(x))


def _not_negative(parse: Callable[[str], int], x: Any) -> int:
    try:
        value = parse(as_text(x))
    except AmountError as exc:
        raise ValidationError(f"{exc}") from None
    if value < 0:
        raise ValidationError("不能为负")
    return value


def price(x: Any, ctx: Context) -> int:
    return _not_negative(parse_price, x)


def amount(x: Any, ctx: Context) -> int:
    """Yuan with at most two decimals → fen, not negative."""
    return _not_negative(parse_amount, x)


def ratio(x: Any, ctx: Context) -> int:
    try:
        bp = parse_ratio(as_text(x))
    except AmountError as exc:
        raise ValidationError(f"{exc}") from None
    if not 0 <= bp <= BP:
        raise ValidationError(f"{as_text(x)} 不在 [0, 1] 内")
    return bp


@dataclass(frozen=True)
class Col:
    name: str  # national field name (the column of the table)
    zh: str  # Chinese header accepted as an alias
    parse: Callable[[Any, Context], Any] = text
    required: bool = False
    default: Any = None
    stored: bool = True  # False: read and checked, but not a column of the table (e.g. 登记日期)


@dataclass(frozen=True)
class Kind:
    name: str
    zh: str
    table: type
    key: tuple[str, ...]
    cols: tuple[Col, ...]
    check: Callable[[dict, Context], list[tuple[str, str]]] | None = None
    derived: tuple[str, ...] = ()  # table columns the loader's rules set (not read from the file)
    # writes a chunk in place of the loader's generic upsert (kinds whose rows go through a use case)
    writer: Callable | None = None

    def column(self, header: str) -> str | None:
        h = header.strip()
        for c in self.cols:
            if h.lower() == c.name or h == c.zh:
                return c.name
        return None


def _dates_in_order(row: dict, ctx: Context) -> list[tuple[str, str]]:
    if row.get("enddate") and row.get("begndate") and row["enddate"] < row["begndate"]:
        return [("enddate", f"结束日期 {row['enddate']} 早于开始日期 {row['begndate']}")]
    return []


def _person(row: dict, ctx: Context) -> list[tuple[str, str]]:
    if row.get("psn_cert_type", "01") != "01":
        return []
    try:
        certno = v.resident_id(row["certno"])
    except ValidationError as exc:
        return [("certno", exc.message)]
    row["certno"] = certno
    problems = []
    if v.id_birth_date(certno) != row["brdy"]:
        problems.append(("brdy", f"与证件号码中的出生日期 {v.id_birth_date(certno)} 不一致"))
    if row["gend"] in ("1", "2") and v.id_gender(certno) != row["gend"]:
        problems.append(("gend", f"与证件号码中的性别 {v.id_gender(certno)} 不一致"))
    return problems


def _catalogue(row: dict, ctx: Context) -> list[tuple[str, str]]:
    problems = _dates_in_order(row, ctx)
    if row["chrgitm_lv"] == "01" and row.get("selfpay_prop"):
        problems.append(("selfpay_prop", "甲类项目的先行自付比例必须为 0"))
    if row["chrgitm_lv"] != "02":
        row["selfpay_prop"] = 0
    return problems


INSTITUTIONS = Kind(
    "institutions",
    "定点医药机构",
    Institution,
    ("fixmedins_code",),
    (
        Col("fixmedins_code", "定点医药机构编号", validator(v.fixmedins_code), True),
        Col("fixmedins_name", "定点医药机构名称", text, True),
        Col("fixmedins_type", "定点医药机构类型", dict_code("fixmedins_type"), True),
        Col("hosp_lv", "医院等级", dict_code("hosp_lv")),
        Col("dedc_hosp_lv", "起付线等级", an_int(1, 3), True),
        Col("admdvs", "医保区划", validator(v.admdvs), True),
        Col("uscc", "统一社会信用代码", validator(v.uscc)),
        Col("status", "状态", choice("active", "suspended", "exited"), False, "active"),
        Col("begndate", "开始日期", a_date, True),
        Col("enddate", "结束日期", a_date),
        Col("address", "地址"),
        Col("beds", "床位数", an_int(0, 100_000)),
    ),
    _dates_in_order,
)

PERSONS = Kind(
    "persons",
    "参保人员",
    Person,
    ("psn_no",),
    (
        Col("psn_no", "人员编号", text, True),
        Col("psn_cert_type", "人员证件类型", dict_code("psn_cert_type", 2), False, "01"),
        Col("certno", "证件号码", text, True),
        Col("psn_name", "姓名", text, True),
        Col("gend", "性别", dict_code("gend"), True),
        Col("brdy", "出生日期", a_date, True),
        Col("naty", "民族", dict_code("naty", 2)),
        Col("admdvs", "区划", validator(v.admdvs)),
        Col("tel", "联系电话"),
    ),
    _person,
)


def _enrollment(row: dict, ctx: Context) -> list[tuple[str, str]]:
    """Row-level rules of an enrollment; the rules that need the database (one basic insurance at a time,
    the waiting period, the employer, the person's death) run per chunk in the loader."""
    problems = _dates_in_order(row, ctx)
    if row["psn_insu_stas"] == "4" and row.get("enddate") is None:
        problems.append(("enddate", "终止状态 (psn_insu_stas 4) 须有终止日期"))
    if row.get("flexible_base") is not None:
        if row["insutype"] != "310" or not row["psn_type"].startswith("11"):
            problems.append(("flexible_base", "灵活就业仅限职工医保在职人员 (insutype 310, psn_type 11)"))
        elif row.get("emp_no"):
            problems.append(("emp_no", "灵活就业人员不登记参保单位"))
    elif row["insutype"] == "310" and row["psn_type"].startswith("11") and not row.get("emp_no"):
        problems.append(("emp_no", "在职职工须登记参保单位 (灵活就业请填 灵活就业缴费基数)"))
    if row["insutype"] != "310" and row.get("emp_no"):
        problems.append(("emp_no", "居民医保不登记参保单位"))
    row["flxempe_flag"] = "1" if row.get("flexible_base") is not None else "0"
    return problems


ENROLLMENTS = Kind(
    "enrollments",
    "参保登记",
    Enrollment,
    ("psn_no", "insutype", "begndate"),
    (
        Col("psn_no", "人员编号", text, True),
        Col("insutype", "险种类型", dict_code("insutype"), True),
        Col("psn_type", "人员类别", dict_code("psn_type"), True),
        Col("psn_insu_stas", "参保状态", choice("0", "1", "2", "3", "4"), False, "1"),
        Col("begndate", "参保日期", a_date, True),
        Col("enddate", "终止日期", a_date),
        Col("insuplc_admdvs", "参保地医保区划", validator(v.admdvs), True),
        Col("emp_no", "单位编号"),
        Col("emp_name", "单位名称"),
        Col("flexible_base", "灵活就业缴费基数", amount),
        Col("contrib_months", "累计缴费月数", an_int(0, 1200), False, 0),
        Col("registered", "登记日期", a_date, stored=False),
    ),
    _enrollment,
    derived=("flxempe_flag", "wait_until"),
)


def _employer(row: dict, ctx: Context) -> list[tuple[str, str]]:
    if not row.get("emp_no"):
        row["emp_no"] = rules.employer_no(row["uscc"])
    return []


EMPLOYERS = Kind(
    "employers",
    "参保单位",
    Employer,
    ("emp_no",),
    (
        Col("emp_no", "单位编号"),
        Col("uscc", "统一社会信用代码", validator(v.uscc), True),
        Col("emp_name", "单位名称", text, True),
        Col("admdvs", "区划", validator(v.admdvs), True),
        Col("status", "状态", choice("active", "suspended", "closed"), False, "active"),
    ),
    _employer,
)


CATALOGUE = Kind(
    "catalogue",
    "医保目录",
    CatalogueItem,
    ("med_list_codg", "begndate"),
    (
        Col("list_type", "目录类别", dict_code("list_type"), True),
        Col("med_list_codg", "医保目录编码", text, True),
        Col("med_list_name", "目录名称", text, True),
        Col("med_chrgitm_type", "医疗收费项目类别", dict_code("med_chrgitm_type", 2)),
        Col("chrgitm_lv", "收费项目等级", dict_code("chrgitm_lv", 2), True),
        Col("selfpay_prop", "自付比例", ratio, False, 0),
        Col("pric", "单价", price),
        Col("pric_uplmt_amt", "限价", price),
        Col("lmt_used_flag", "限制使用标志", choice("0", "1"), False, "0"),
        Col("lmt_used_desc", "限制使用范围"),
        Col("spec", "规格"),
        Col("unit", "单位"),
        Col("begndate", "开始日期", a_date, True),
        Col("enddate", "结束日期", a_date),
    ),
    _catalogue,
)

DEPARTMENTS = Kind(
    "departments",
    "科室",
    Department,
    ("fixmedins_code", "dept_code"),
    (
        Col("fixmedins_code", "定点医药机构编号", validator(v.fixmedins_code), True),
        Col("dept_code", "科室编码", text, True),
        Col("dept_name", "科室名称", text, True),
        Col("caty", "科别"),
    ),
)


def _icd_kind(name: str, system: str, check) -> Kind:
    def add_system(row: dict, ctx: Context) -> list[tuple[str, str]]:
        row["system"] = system
        return []

    return Kind(
        name,
        "诊断编码" if system == "icd10" else "手术操作编码",
        ClinicalCode,
        ("system", "code"),
        (
            Col("code", "编码", validator(check), True),
            Col("name", "名称", text, True),
            Col("chapter", "章节"),
            Col("grey_flag", "灰码标志", choice("0", "1"), False, "0"),
        ),
        add_system,
    )


ICD10 = _icd_kind("icd10", "icd10", v.icd10)
ICD9CM3 = _icd_kind("icd9cm3", "icd9cm3", v.icd9cm3)
KINDS = {
    k.name: k for k in (INSTITUTIONS, EMPLOYERS, PERSONS, ENROLLMENTS, CATALOGUE, DEPARTMENTS, ICD10, ICD9CM3)
}
PUBLIC = (
    "institutions",
    "employers",
    "persons",
    "enrollments",
    "catalogue",
    "departments",
    "identities",
    "chronic_registrations",
    "supplementary",
    "account_balances",
)


def all_kinds() -> dict[str, Kind]:
    """Every importable kind: the ones above and the entitlement feeds (人员身份、门诊慢特病备案、惠民保、
    个人账户期初余额), which build on this module's columns and so are imported here, when first asked for."""
    from yibao.ingest.entitlement_kinds import FEEDS

    return {**KINDS, **FEEDS}
