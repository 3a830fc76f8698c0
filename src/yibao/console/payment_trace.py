"""A grouped case's trace as staff read it (分组过程): the grouper's compact steps (payment-drg-dip.md §9.3)
turned into Chinese sentences with the names of the codes, each secondary diagnosis's CC/MCC mark, and
what a hospital must fix in a 歧义 or 未入组 case (修改建议). Pure: names come in as dicts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

STAGES = {
    "mdc": "主要诊断大类（MDC）",
    "adrg": "核心疾病诊断相关组（ADRG）",
    "cc": "并发症或合并症（CC/MCC）",
    "drg": "细分组（DRG）",
    "qy": "歧义",
    "ungrouped": "未入组",
    "other": "其他",
}
SEVERITY = {"MCC": "严重并发症或合并症（MCC）", "CC": "并发症或合并症（CC）"}
LEVEL_WORDS = {"MCC": "伴严重并发症或合并症", "CC": "伴并发症或合并症", "无 CC/MCC": "不伴并发症或合并症"}
_CODE = re.compile(r"(?<![\w.])([A-Z]\d{2}\.[0-9A-Za-z]{1,10}|\d{2}\.[0-9A-Za-z]{2,10})(?![\w.])( ?)")


@dataclass(frozen=True)
class Step:
    stage: str  # a key of STAGES
    text: str

    def shown(self) -> dict[str, str]:
        return {"stage": STAGES[self.stage], "text": self.text}


@dataclass(frozen=True)
class Names:
    """What a trace names: diagnoses and procedures (code → name), and the scheme's MDC, ADRG and DRG."""

    codes: Mapping[str, str]
    mdc: Mapping[str, str]
    adrg: Mapping[str, str]
    drg: Mapping[str, str]

    def code(self, code: str) -> str:
        name = self.codes.get(code, "")
        return f"{code}（{name}）" if name else code

    def text(self, text: str) -> str:
        """Every diagnosis or procedure code in ``text`` followed by its name."""
        # (a name in full-width brackets needs no space after it: "K35.200（急性阑尾炎）在 …")
        return _CODE.sub(lambda m: self.code(m[1]) + ("" if m[1] in self.codes else m[2]), text)

    def group(self, kind: str, code: str) -> str:
        name = {"mdc": self.mdc, "adrg": self.adrg, "drg": self.drg}[kind].get(code, "")
        return f"{code} {name}".strip()


_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^MDC([A-Z]) 无匹配的 ADRG，继续下一 MDC$"), "mdc_next"),
    (re.compile(r"^MDC([A-Z]): (.*)$"), "mdc"),
    (re.compile(r"^ADRG (\w+): (.*)$"), "adrg"),
    (re.compile(r"^其他诊断 (\S+): 非 CC/MCC$"), "cc_none"),
    (re.compile(r"^其他诊断 (\S+): (MCC|CC)，被排除表 表 (\S+) 取消（主要诊断 (\S+) 在表中）$"), "cc_cut"),
    (re.compile(r"^其他诊断 (\S+): (MCC|CC) 计入（(?:排除表 表 (\S+)|无排除表)）$"), "cc_in"),
    (re.compile(r"^DRG (\w+): 不细分$"), "drg_one"),
    (re.compile(r"^DRG (\w+): (.*)，本 ADRG 细分 (\d+)$"), "drg_split"),
    (re.compile(r"^歧义: (.*)$"), "qy"),
    (re.compile(r"^未入组: (.*)$"), "ungrouped"),
]


def read_step(line: str, n: Names) -> Step:
    """One stored step in Chinese with the names of its codes (an unknown form as written)."""
    for pattern, kind in _RULES:
        m = pattern.match(line)
        if m:
            return _STEP[kind](m, n)
    return Step("other", n.text(line))


def _mdc(m, n: Names) -> Step:
    return Step("mdc", f"进入 {n.group('mdc', 'MDC' + m[1])}：{n.text(m[2])}")


def _mdc_next(m, n: Names) -> Step:
    return Step("mdc", f"{n.group('mdc', 'MDC' + m[1])} 中没有符合条件的 ADRG，转入下一个 MDC")


def _adrg(m, n: Names) -> Step:
    return Step("adrg", f"入 ADRG {n.group('adrg', m[1])}：{n.text(m[2])}")


def _cc_none(m, n: Names) -> Step:
    return Step("cc", f"其他诊断 {n.code(m[1])}：不是 CC 或 MCC")


def _cc_cut(m, n: Names) -> Step:
    return Step(
        "cc",
        f"其他诊断 {n.code(m[1])}：是{SEVERITY[m[2]]}，但主要诊断 {m[4]} 在其排除表（表 {m[3]}）中，"
        "被排除，不计入",
    )


def _cc_in(m, n: Names) -> Step:
    why = f"主要诊断不在其排除表（表 {m[3]}）中" if m[3] else "该诊断没有排除表"
    return Step("cc", f"其他诊断 {n.code(m[1])}：是{SEVERITY[m[2]]}，计入（{why}）")


def _drg_one(m, n: Names) -> Step:
    return Step("drg", f"入 DRG {n.group('drg', m[1])}：本 ADRG 不按并发症或合并症细分")


def _drg_split(m, n: Names) -> Step:
    level = LEVEL_WORDS.get(m[2], m[2])
    return Step("drg", f"入 DRG {n.group('drg', m[1])}：病例{level}，本 ADRG 细分为 {'/'.join(m[3])}")


def _qy(m, n: Names) -> Step:
    return Step("qy", n.text(m[1]))


def _ungrouped(m, n: Names) -> Step:
    return Step("ungrouped", n.text(m[1]))


_STEP = {
    "mdc": _mdc,
    "mdc_next": _mdc_next,
    "adrg": _adrg,
    "cc_none": _cc_none,
    "cc_cut": _cc_cut,
    "cc_in": _cc_in,
    "drg_one": _drg_one,
    "drg_split": _drg_split,
    "qy": _qy,
    "ungrouped": _ungrouped,
}


def steps(trace: Mapping | None, n: Names) -> list[Step]:
    """The stored trace's steps, in order, in Chinese."""
    return [read_step(str(line), n) for line in (trace or {}).get("steps", [])]


def complication_marks(trace: Mapping | None) -> dict[str, str]:
    """Each secondary diagnosis's mark as grouping read it: ``MCC``, ``CC``, ``CC（被排除表 7-101 取消）``
    or ``非 CC/MCC`` (a case not split by complications has none)."""
    out: dict[str, str] = {}
    for line in (trace or {}).get("steps", []):
        for pattern, kind in _RULES[3:6]:
            m = pattern.match(str(line))
            if m is None:
                continue
            if kind == "cc_none":
                out[m[1]] = "非 CC/MCC"
            elif kind == "cc_cut":
                out[m[1]] = f"{m[2]}（被排除表 {m[3]} 取消）"
            else:
                out[m[1]] = m[2]
    return out


# --- what the hospital must fix ------------------------------------------------------------------------------

ADVICE = [  # (words of the grouper's reason, what the hospital checks in its coding)
    (
        "歧义组",
        "主要手术与主要诊断不属于同一诊断大类：核对主要诊断是否为本次手术所治疗的疾病，或主要手术是否选择正确",
    ),
    ("性别与主要诊断不符", "核对参保人性别与主要诊断编码"),
    ("年龄与主要诊断不符", "核对年龄（新生儿的不足1周岁天数）与主要诊断编码"),
    ("不在任何 MDC 主诊表", "该编码不能作为主要诊断：改为本次住院的主要疾病编码（医保版 2.0）"),
    ("未知", "主要诊断编码不在分组方案中：按医保版 2.0 编码更正"),
    ("编码格式错误", "编码格式错误：按医保版 2.0（ICD-10 / ICD-9-CM-3）更正"),
    (
        "入组条件",
        "主要诊断只见于先期分组（新生儿、HIV、多发严重创伤），病例不满足其条件：核对主要诊断、其他诊断（创伤部位）或年龄",
    ),
    ("ADRG 条件均不满足", "核对主要诊断与手术操作编码是否相符、是否漏填主要手术"),
    ("缺少主要诊断", "补填主要诊断"),
]


def advice(status: str, reason: str | None) -> str:
    """What the hospital checks in the list's coding for a 歧义 or 未入组 case (empty for a grouped one)."""
    if status == "ok":
        return ""
    text = reason or ""
    for words, hint in ADVICE:
        if words in text:
            return hint
    return "核对主要诊断、其他诊断及手术操作编码后重新上传结算清单"
