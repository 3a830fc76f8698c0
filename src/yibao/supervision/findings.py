"""Findings (疑点 / 审核结果) from the engines' hits: one per rule and visit (or institution), with the lines
at stake, the amount and the words; the same code for online and batch hits, so a rule's verdict cannot
differ between them (supervision.md §4)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from yibao.money import div_round_half_up, fmt_count, fmt_fen, fmt_price
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
_SHOWN = {
    "sex_limit": lambda v: _GEND.get(v, v),
    "diagnosis_sex": lambda v: _GEND.get(v, v),
    "operation_sex": lambda v: _GEND.get(v, v),
    "price_cap": lambda v: fmt_price(int(v)) if v.lstrip("-").isdigit() else v,
    "max_quantity": lambda v: fmt_count(int(v)) if v.lstrip("-").isdigit() else v,
    "bed_days": lambda v: fmt_count(int(v)) if v.lstrip("-").isdigit() else v,
    "readmission": lambda v: "{1} 天 (上次住院 {0})".format(*v.rsplit(":", 1)) if ":" in v else v,
}


def _number(text: str) -> int | None:
    head = text.split(":")[-1]
    return int(head) if head.lstrip("-").isdigit() else None


def assemble(hits: Iterable[Mapping], library: Library) -> list[Finding]:
    """Group hit rows (``sqltext.HIT_COLUMNS``) into findings, in a stable order."""
    groups: dict[tuple, Finding] = {}
    seen_lines: dict[tuple, set] = {}
    for h in hits:
        key = (h["rule_code"], h["fixmedins_code"], h["mdtrt_id"])
        f = groups.get(key)
        if f is None:
            f = groups[key] = Finding(
                h["rule_code"], h["fixmedins_code"], h["mdtrt_id"], h["psn_no"], h["setl_id"],
                str(h["observed"] or ""), str(h["lim"] or ""), (), exempt=h["exempt"],
            )  # fmt: skip
            seen_lines[key] = set()
        else:
            f.observed, f.lim = _extreme(f.observed, str(h["observed"] or "")), f.lim
            if h["exempt"] and not f.exempt:
                f.exempt = h["exempt"]
        if h["k_id"] is not None and h["k_id"] not in f.k_ids:
            f.k_ids = tuple(sorted((*f.k_ids, int(h["k_id"]))))
        if h["line_id"] is not None:
            lid = int(h["line_id"])
            if lid not in seen_lines[key]:
                seen_lines[key].add(lid)
                f.lines.append(
                    FindingLine(lid, h["feedetl_sn"], h["med_list_codg"], h["role"], int(h["amt"] or 0))
                )
            elif h["role"] == "1":  # a line both at fault and involved (two knowledge rows): at fault wins
                f.lines = [
                    x if x.line_id != lid else FindingLine(lid, x.feedetl_sn, x.med_list_codg, "1", x.amt)
                    for x in f.lines
                ]
    out = []
    for f in groups.values():
        rule = library.rules[f.rule_code]
        f.lines.sort(key=lambda x: x.line_id)
        f.vola_amt = _amount(rule, f)
        f.vola_cont = _words(rule, f)
        out.append(f)
    out.sort(key=lambda f: (f.rule_code, f.fixmedins_code or "", f.mdtrt_id or ""))
    return out


def _extreme(a: str, b: str) -> str:
    """Of two observations of one finding, the larger number (or the first)."""
    na, nb = _number(a), _number(b)
    return b if na is not None and nb is not None and nb > na else a


def _amount(rule: Rule, f: Finding) -> int:
    mode = rule.amount or rule.spec.amount
    at_fault = sum(x.amt for x in f.lines if x.role == "1")
    if mode == "none":
        return 0
    if mode == "excess":
        obs, lim = _number(f.observed), _number(f.lim)
        if obs is None or lim is None or obs <= 0 or lim >= obs:
            return at_fault
        return div_round_half_up(at_fault * (obs - lim), obs)
    return at_fault


def _words(rule: Rule, f: Finding) -> str:
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
    amount = f"，涉及金额 {fmt_fen(f.vola_amt)} 元" if f.vola_amt else ""
    return f"{rule.name}: {text}{amount}"
