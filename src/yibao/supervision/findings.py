"""Findings (疑点 / 审核结果) from the engines' hits: one per rule and visit (or institution), with the lines
at stake, the amount and the words; the same code for online and batch hits, so a rule's verdict cannot
differ between them (supervision.md §4)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from yibao.money import MICRO, div_round_half_up, fmt_count, fmt_fen, fmt_price
from yibao.supervision.frame import EPOCH
from yibao.supervision.library import Library, Rule


@dataclass(frozen=True)
class FindingLine:
    line_id: int
    feedetl_sn: str | None
    med_list_codg: str | None
    role: str  # 1 违规项 / 2 涉及项
    amt: int  # fen


@dataclass
class Finding:
    rule_code: str
    fixmedins_code: str | None
    mdtrt_id: str | None
    psn_no: str | None
    setl_id: str | None
    observed: str
    lim: str
    k_ids: tuple[int, ...]
    lines: list[FindingLine] = field(default_factory=list)
    vola_amt: int = 0  # fen
    vola_cont: str = ""
    exempt: str | None = None  # the exemption that suppressed it (then it is no 疑点, only a trace)

    @property
    def key(self) -> str:
        """Stable identity: rule, subject and the lines at fault (the same online and in batch)."""
        sns = ",".join(sorted(str(x.line_id) for x in self.lines if x.role == "1"))
        raw = f"{self.rule_code}|{self.mdtrt_id or self.fixmedins_code}|{sns}"
        return hashlib.sha1(raw.encode()).hexdigest()[:20]

    def signature(self) -> tuple:
        """What must agree between engines: rule, subject, lines and roles, amount."""
        lines = tuple(sorted((x.line_id, x.role) for x in self.lines))
        return (self.rule_code, self.fixmedins_code, self.mdtrt_id, lines, self.vola_amt, self.exempt)


_GEND = {"1": "男", "2": "女"}
_GRADE = {"1": "一级", "2": "二级", "3": "三级"}


def _numeric(fmt):
    return lambda v: fmt(int(v)) if v.lstrip("-").isdigit() else v


def _day_text(v: str) -> str:
    """A view day number as a date (``20152`` → 2025-03-05); a range ``a..b`` both ends."""
    if ".." in v:
        return "至".join(_day_text(x) for x in v.split(".."))
    return date.fromordinal(EPOCH + int(v)).isoformat() if v.lstrip("-").isdigit() else v


def _count(v: int) -> str:
    text = fmt_count(v)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _price(v: int) -> str:
    return fmt_fen(v // (MICRO // 100)) if v % (MICRO // 100) == 0 else fmt_price(v)


_SHOWN = {
    "sex_limit": lambda v: _GEND.get(v, v),
    "diagnosis_sex": lambda v: _GEND.get(v, v),
    "operation_sex": lambda v: _GEND.get(v, v),
    "level_limit": lambda v: _GRADE.get(v, v),
    "price_cap": _numeric(_price),
    "max_quantity": _numeric(_count),
    "bed_days": _numeric(_count),
    "fee_outside_stay": _day_text,
    "after_death": _day_text,
    "readmission": lambda v: "{1} 天 (上次住院 {0})".format(*v.rsplit(":", 1)) if ":" in v else v,
}


def _number(text: str) -> int | None:
    head = text.split(":")[-1]
    return int(head) if head.lstrip("-").isdigit() else None


def _rank(h: Mapping) -> tuple:
    """A total order of hit rows, so a choice among them never depends on the order an engine returned
    them in: at fault first, the largest observation, then knowledge row, line and text."""
    n = _number(str(h["observed"] or ""))
    return (h["role"] != "1", -(n if n is not None else -(10**18)), h["k_id"] or 0, h["line_id"] or 0,
            str(h["observed"] or ""), str(h["lim"] or ""))  # fmt: skip


def assemble(hits: Iterable[Mapping], library: Library) -> list[Finding]:
    """Group hit rows (``sqltext.HIT_COLUMNS``) into findings, one per rule and visit (or institution), in a
    stable order. Exempted hits make a finding only where nothing unexempted was found (its trace)."""
    live: dict[tuple, list[Mapping]] = {}
    exempt: dict[tuple, list[Mapping]] = {}
    for h in hits:
        key = (h["rule_code"], h["fixmedins_code"], h["mdtrt_id"])
        (exempt if h["exempt"] else live).setdefault(key, []).append(h)
    groups = {**{k: v for k, v in exempt.items() if k not in live}, **live}
    out = [_finding(rows, library.rules[rows[0]["rule_code"]]) for rows in groups.values()]
    out.sort(key=lambda f: (f.rule_code, f.fixmedins_code or "", f.mdtrt_id or ""))
    return out


def _finding(rows: list[Mapping], rule: Rule) -> Finding:
    rows = sorted(rows, key=_rank)
    top = rows[0]
    by_line: dict[int, Mapping] = {}
    for h in rows:  # a line's own row: its first in rank order (at fault before involved)
        if h["line_id"] is not None:
            by_line.setdefault(int(h["line_id"]), h)
    lines = [
        FindingLine(lid, h["feedetl_sn"], h["med_list_codg"], h["role"], int(h["amt"] or 0))
        for lid, h in sorted(by_line.items())
    ]
    f = Finding(
        top["rule_code"], top["fixmedins_code"], top["mdtrt_id"], top["psn_no"], top["setl_id"],
        str(top["observed"] or ""), str(top["lim"] or ""),
        tuple(sorted({int(h["k_id"]) for h in rows if h["k_id"] is not None})), lines,
        exempt=min((str(h["exempt"]) for h in rows if h["exempt"]), default=None),
    )  # fmt: skip
    f.vola_amt = _amount(rule, by_line)
    f.vola_cont = _words(rule, f, len({(h["observed"], h["lim"]) for h in rows}))
    return f


def _amount(rule: Rule, by_line: dict[int, Mapping]) -> int:
    """The amount at stake: the at-fault lines' amounts, or (``excess``) the share above the limit,
    (observed − limit) / observed, of each group of lines judged together (the same observation and limit:
    one code's quantity in a day, one price), rounded half-up once per group."""
    mode = rule.amount or rule.spec.amount
    if mode == "none":
        return 0
    groups: dict[tuple, int] = {}
    for h in by_line.values():
        if h["role"] == "1":
            key = (str(h["observed"] or ""), str(h["lim"] or ""))
            groups[key] = groups.get(key, 0) + int(h["amt"] or 0)
    total = 0
    for (observed, lim), amt in groups.items():
        obs, cap = _number(observed), _number(lim)
        if mode == "excess" and obs is not None and cap is not None and obs > 0 and 0 <= cap < obs:
            amt = div_round_half_up(amt * (obs - cap), obs)
        total += amt
    return total


def _words(rule: Rule, f: Finding, cases: int = 1) -> str:
    shown = _SHOWN.get(rule.kind, lambda v: v)
    code = next((x.med_list_codg for x in f.lines if x.role == "1" and x.med_list_codg), None)
    values = {
        "code": code or "",
        "observed": shown(f.observed),
        "lim": shown(f.lim),
        "name": rule.name,
        **{k: v for k, v in rule.params.items() if v is not None},
    }
    template = rule.message or rule.spec.message
    try:
        text = template.format(**values)
    except (KeyError, IndexError, ValueError):
        text = f"{f.observed} / {f.lim}"
    more = f" 等 {cases} 处" if cases > 1 else ""
    amount = f"，涉及金额 {fmt_fen(f.vola_amt)} 元" if f.vola_amt else ""
    return f"{rule.name}: {text}{more}{amount}"
