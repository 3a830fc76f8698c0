"""Words for codes and one way to write money (显示层): what the console and its exports show people.

Every code a page shows is named from the loaded dictionaries (字典: 人员类别, 险种, 医疗类别, 基金支付类型,
收费项目等级 甲/乙/丙, 医院等级 …), the catalogue (目录项目名称) and the clinical codes (诊断名称); an unknown
code shows as itself rather than as nothing. Money is written one way: thousands separators and two
decimals (``1,234.56``) with 元 in the header, 万元 on charts; a ratio as a percentage with at most two
decimals. Accumulator keys (``cap:inpatient``) and policy-trace paths are put in Chinese here too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.money import fmt_yuan
from yibao.store.tables import CatalogueItem, ClinicalCode, Dictionary

# the bureau's own tiers beside the dictionary's 基金支付类型 (a region may name them in its dictionary)
LEVELS = {1: "一级及以下", 2: "二级", 3: "三级"}  # the policy's 医院等级 bands (dedc_hosp_lv)
# words of the policy files and the accumulators, for the trace and the 年度累计
TERMS = {
    "policy": "政策版本",
    "insutype": "险种",
    "benefit_classes": "待遇类别",
    "med_types": "医疗类别",
    "deductible": "起付线",
    "deductible_share": "起付线分担",
    "ratio": "支付比例",
    "ratio_add": "比例加成",
    "ratios": "支付比例",
    "segments": "分段",
    "cap": "最高支付限额",
    "caps": "最高支付限额",
    "cap_group": "限额组",
    "disease_caps": "病种限额",
    "groups": "病种组",
    "large_expense": "大额医疗补助",
    "critical_illness": "大病保险",
    "supplementary": "惠民保",
    "assistance": "医疗救助",
    "account": "个人账户",
    "tilts": "倾斜",
    "grades": "救助等级",
    "burden_cap": "负担封顶",
    "threshold": "起付标准",
    "selfpay_prop": "先行自付比例",
    "admissions": "住院次数",
    "dedc": "起付线累计",
    "base": "合规费用累计",
    "paid": "支付累计",
    "burden": "个人负担累计",
    "disease": "病种累计",
    "pool": "统筹基金",
    "chronic": "门诊慢特病",
    "outpatient": "普通门诊",
    "inpatient": "住院",
    "pharmacy": "药店购药",
    "*": "其他",
    "kind": "方式",
    "amount": "金额",
    "repeat_ratio": "再次住院起付线比例",
    "annual_limit": "年度限额",
    "class_limits": "类别限额",
    "categories": "救助对象",
}
ACCUMULATOR_KINDS = {
    "dedc": "已付起付线",
    "admissions": "住院次数",
    "cap": "统筹支付累计",
    "disease": "病种支付累计",
    "large_expense": "大额补助",
    "critical_illness": "大病保险",
    "supplementary": "惠民保",
    "assistance": "医疗救助",
    "pool": "统筹基金",
}
_COUNTS = {"admissions"}  # accumulators that count visits, not fen


def yuan(fen: int | None) -> str:
    """Fen → ``1,234.56`` (the header says 元); nothing → empty."""
    return "" if fen is None else fmt_yuan(int(fen))


def wan(fen: int | None) -> Decimal:
    """Fen → 万元 with two decimals, for charts (an exact Decimal, rounded half up)."""
    return (Decimal(int(fen or 0)) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_UP)


def percent(ratio: Decimal | float | int | str | None, *, basis_points: bool = False) -> str:
    """A ratio (0.8525, or 8525 in basis points) → ``85.25%``; at most two decimals, no trailing zeros."""
    if ratio is None:
        return ""
    value = Decimal(str(ratio)) / (10_000 if basis_points else 1) * 100
    text = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return f"{text}%"


class Names:
    """Dictionary names by (type, code); the region's own values over the national ones."""

    def __init__(self, values: dict[str, dict[str, str]]):
        self.values = values

    def of(self, dic_type: str, code: object) -> str:
        """The name of a code (``"11"`` → 在职); an unknown code as itself, none as empty."""
        if code is None or code == "":
            return ""
        text = str(code)
        if dic_type == "dedc_hosp_lv" and text.isdigit():
            return LEVELS.get(int(text), text)
        return self.values.get(dic_type, {}).get(text, text)

    def coded(self, dic_type: str, code: object) -> str:
        """``11 在职`` where the code itself matters to the reader (forms, dictionaries)."""
        name = self.of(dic_type, code)
        return f"{code} {name}" if name and name != str(code) else name

    def options(self, dic_type: str, codes: Iterable[str] | None = None) -> dict[str, str]:
        known = self.values.get(dic_type, {})
        return {c: self.coded(dic_type, c) for c in (codes if codes is not None else known)}


_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple, Names]] = {}


def names(s: Session) -> Names:
    """The dictionaries as loaded now (read again when rows were added or removed)."""
    stamp = tuple(s.execute(select(func.count(), func.max(Dictionary.id))).one())
    key = str(s.get_bind().url)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
    rows = s.execute(
        select(Dictionary.dic_type, Dictionary.code, Dictionary.name, Dictionary.admdvs).order_by(
            Dictionary.admdvs, Dictionary.valid_from
        )
    ).all()
    values: dict[str, dict[str, str]] = {}
    for dic_type, code, name, _ in rows:  # national first, then a region's own (000000 sorts first)
        values.setdefault(dic_type, {})[code] = name
    out = Names(values)
    with _LOCK:
        _CACHE[key] = (stamp, out)
    return out


def item_names(s: Session, codes: Iterable[str]) -> dict[str, str]:
    """目录项目名称 of catalogue codes (the latest version's name)."""
    wanted = sorted({c for c in codes if c})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = s.execute(
            select(CatalogueItem.med_list_codg, CatalogueItem.med_list_name)
            .where(CatalogueItem.med_list_codg.in_(wanted[i : i + 500]))
            .order_by(CatalogueItem.begndate)
        ).all()
        out.update(rows)
    return out


def diagnosis_names(s: Session, codes: Iterable[str]) -> dict[str, str]:
    """诊断名称 of ICD-10 codes, and of 门诊慢特病 codes (a chronic visit carries its disease code)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    out = dict(
        s.execute(
            select(ClinicalCode.code, ClinicalCode.name).where(
                ClinicalCode.system == "icd10", ClinicalCode.code.in_(wanted)
            )
        ).all()
    )
    out.update(
        s.execute(
            select(Dictionary.code, Dictionary.name).where(
                Dictionary.dic_type == "opsp_dise", Dictionary.code.in_(wanted)
            )
        ).all()
    )
    return out


def is_chronic_code(s: Session, code: str) -> bool:
    """Whether a visit's disease code is a 门诊慢特病 (not an ICD diagnosis)."""
    return (
        s.execute(
            select(func.count()).where(Dictionary.dic_type == "opsp_dise", Dictionary.code == code)
        ).scalar()
        or 0
    ) > 0


_RATIO_KEYS = {"ratio", "ratio_add", "repeat_ratio", "selfpay_prop", "deductible_share"}
_VALUE_WORDS = {
    "unlimited": "不封顶",
    "none": "无",
    "false": "否",
    "true": "是",
    "annual": "每年一次",
    "per_admission": "每次住院",
    "per_visit": "每次就诊",
    "threshold": "达到起付标准",
}
_SEGMENT = re.compile(r"^(∞|-?\d+\.\d{2}) @ (\d+\.\d{4})$")


def term(word: str, n: Names | None = None) -> str:
    """One segment of a policy path or accumulator key in Chinese (codes named where they are codes)."""
    if word in TERMS:
        return TERMS[word]
    if n is not None:
        for dic_type in ("insutype", "psn_type", "psn_idet_type", "opsp_dise", "med_type"):
            if word in n.values.get(dic_type, {}):
                return n.of(dic_type, word)
    return word


def trace_label(path: str, n: Names | None = None) -> str:
    """``insutype 310 › inpatient › ratio › 11 › 3`` → ``职工基本医疗保险 › 住院 › 支付比例 › 在职 › 三级``.

    After a key, a one-digit segment is the policy's hospital-level band and a longer number a person
    category (人员类别) or identity (人员身份); a number under ``segments`` is the segment's position."""
    out: list[str] = []
    before = ""
    for part in (p.strip() for p in path.split("›")):
        if not part:
            continue
        if part.startswith("insutype "):
            code = part.split(" ", 1)[1]
            out.append(n.of("insutype", code) if n else code)
        elif before == "segments" and part.isdigit():
            out.append(f"第 {int(part) + 1} 段")
        elif part.isdigit() and len(part) == 1 and before not in ("benefit_classes",):
            out.append(LEVELS.get(int(part), part))
        else:
            out.append(term(part, n))
        before = part
    return " › ".join(out)


def trace_value(path: str, value: str) -> str:
    """A trace value as people read it: ratios as percentages, amounts with 元, kinds in words."""
    last = [p.strip() for p in path.split("›") if p.strip() and not p.strip().isdigit()]
    key = last[-1] if last else ""
    m = _SEGMENT.match(value)
    if m:
        upto, ratio = m.groups()
        head = "以上部分" if upto == "∞" else f"至 {yuan(_fen(upto))} 元"
        return f"{head}：{percent(ratio)}"
    if value in _VALUE_WORDS:
        return _VALUE_WORDS[value]
    if re.fullmatch(r"-?\d+\.\d{4}", value) and (key in _RATIO_KEYS or "ratio" in key):
        return percent(value)
    if re.fullmatch(r"-?\d+\.\d{2}", value):
        return f"{yuan(_fen(value))} 元"
    if key == "med_types":
        return value  # (codes; the label names the class)
    return value


def _fen(text: str) -> int:
    units, _, cents = text.partition(".")
    sign = -1 if units.startswith("-") else 1
    return sign * (abs(int(units)) * 100 + int(cents or 0))


def trace_rows(rows: list[dict[str, str]], n: Names | None = None) -> list[dict[str, str]]:
    """A stored trace as the settlement page shows it: 参数 in Chinese, its value, and the policy path."""
    out = []
    for r in rows:
        path, value = r["param"], r["value"]
        if path == "policy":
            out.append({"param": "政策版本", "value": value, "path": path})
            continue
        shown = trace_value(path, value)
        if path.endswith("med_types") and n is not None:
            shown = "、".join(n.of("med_type", c) for c in value.split(","))
        out.append({"param": trace_label(path, n), "value": shown, "path": path})
    return out


def accumulator_label(insutype: str, key: str, n: Names | None = None) -> str:
    """``310`` + ``cap:inpatient`` → ``职工基本医疗保险 · 住院 统筹支付累计``."""
    kind, _, name = key.partition(":")
    scheme = n.of("insutype", insutype) if n else insutype
    what = ACCUMULATOR_KINDS.get(kind, TERMS.get(kind, kind))
    if name in ("base", "paid", "burden"):
        return f"{scheme} · {what}{TERMS[name]}"
    if kind == "disease" and n is not None:
        subject = n.of("opsp_dise", name)
    else:
        subject = "/".join(term(p, n) for p in name.split("/")) if name else ""
    return f"{scheme} · {subject} {what}".replace("  ", " ").strip()


def accumulator_value(key: str, value: int) -> str:
    """Counts as counts, everything else as money."""
    return f"{int(value)} 次" if key.partition(":")[0] in _COUNTS else yuan(value)
