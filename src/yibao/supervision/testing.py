"""A rule's test set (测试集): small worlds of persons, visits and fee lines written in the rule's YAML, each
with what the rule must say about the visit under test (``hit``, ``miss`` or ``exempt``). Every case runs
through both engines, which must agree with each other and with the case. ``yibao rules check`` runs them.

A case::

    - name: 男性患者使用限女性用药
      expect: hit                  # hit | miss | exempt
      lines: ["2"]                 # optional: the feedetl_sn the rule must put at fault
      person: {gend: "1", brdy: 1980-05-01}       # or persons: {P1: {...}, P2: {...}}
      visits:
        - {id: V1, med_type: "11", begn: 2025-03-01 09:00, dx: [N76.0], lines: [[1, XCODE, 1, "12.50"]]}
      check: V1                    # default: the last visit; an institution code for institution rules

A line is ``[sn, code, cnt, pric, day]`` (day: days after the visit's first, default 0) or a mapping with
those keys and ``type`` (list_type, default 101), ``chrg`` (med_chrgitm_type, default 09), ``uplmt`` (price
cap), ``dept``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from yibao.money import fmt_fen, parse_count, parse_price
from yibao.settlement.lines import product_fen
from yibao.supervision.batch import BatchEngine
from yibao.supervision.findings import Finding
from yibao.supervision.frame import Frame, frame_from_rows
from yibao.supervision.library import Library, Rule
from yibao.supervision.online import OnlineEngine

DEFAULT_INSTITUTION = "H99019900001"
EXPECTS = ("hit", "miss", "exempt")


@dataclass(frozen=True)
class CaseResult:
    rule_code: str
    name: str
    ok: bool
    detail: str


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(9, 0))
    return datetime.fromisoformat(str(value))


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def world(case: dict) -> tuple[Frame, str]:
    """The case's frame and the visit (or institution) under test."""
    persons = case.get("persons") or {"P1": case.get("person") or {}}
    visits, lines, dx, ops = [], [], [], []
    line_id = 0
    for i, v in enumerate(case.get("visits") or []):
        vid = str(v.get("id") or f"V{i + 1}")
        psn = str(v.get("psn") or next(iter(persons)))
        p = persons[psn]
        begn = _when(v.get("begn") or "2025-03-01 09:00")
        end = v.get("end")
        med_type = str(v.get("med_type") or "11")
        visits.append(
            {
                "mdtrt_id": vid,
                "psn_no": psn,
                "fixmedins_code": str(v.get("fixmedins_code") or DEFAULT_INSTITUTION),
                "insutype": str(v.get("insutype") or "310"),
                "med_type": med_type,
                "begntime": begn,
                "endtime": _when(end) if end else None,
                "gend": str(p.get("gend") or "1"),
                "brdy": _day(p.get("brdy")) or date(1980, 1, 1),
                "death_date": _day(p.get("death_date")),
                "inst_grade": int(v.get("grade") or 3),
                "inst_type": str(v.get("inst_type") or ("2" if med_type == "41" else "1")),
                "dept_code": v.get("dept"),
                "atddr_no": v.get("doctor"),
                "dise_codg": (v.get("dx") or [None])[0],
                "oprn_codg": (v.get("ops") or [None])[0],
                "setl_id": f"S{vid}",
            }
        )
        dx += [(vid, str(c), 1 if k == 0 else 0) for k, c in enumerate(v.get("dx") or [])]
        ops += [(vid, str(c), 1 if k == 0 else 0) for k, c in enumerate(v.get("ops") or [])]
        for raw in v.get("lines") or []:
            item = (
                raw
                if isinstance(raw, dict)
                else dict(zip(("sn", "code", "cnt", "pric", "day"), raw, strict=False))
            )
            line_id += 1
            cnt, pric = parse_count(str(item.get("cnt", 1))), parse_price(str(item.get("pric", 10)))
            uplmt = item.get("uplmt")
            lines.append(
                {
                    "line_id": line_id,
                    "mdtrt_id": vid,
                    "feedetl_sn": str(item.get("sn", line_id)),
                    "med_list_codg": str(item["code"]),
                    "list_type": str(item.get("type") or "101"),
                    "med_chrgitm_type": str(item.get("chrg") or "09"),
                    "fee_ocur_time": datetime.combine(begn.date(), time(10, 0))
                    + timedelta(days=int(item.get("day", 0))),
                    "cnt": int(cnt),
                    "pric": int(pric),
                    "amt": int(product_fen(np.array([pric]), np.array([cnt]))[0]),
                    "pric_uplmt": int(parse_price(str(uplmt))) if uplmt is not None else None,
                    "dept_code": item.get("dept"),
                    "dr_code": None,
                }
            )
    subject = str(case.get("check") or (visits[-1]["mdtrt_id"] if visits else ""))
    return frame_from_rows(visits, lines, dx, ops), subject


def _about(findings: list[Finding], rule: Rule, subject: str) -> list[Finding]:
    return [
        f
        for f in findings
        if f.rule_code == rule.rule_code
        and (f.mdtrt_id == subject or (f.mdtrt_id is None and f.fixmedins_code == subject))
    ]


def run_case(rule: Rule, case: dict, library: Library) -> CaseResult:
    name = str(case.get("name") or "?")
    expect = case.get("expect")
    if expect not in EXPECTS:
        return CaseResult(rule.rule_code, name, False, f"expect: 须为 {' / '.join(EXPECTS)}")
    try:
        frame, subject = world(case)
    except (KeyError, ValueError, TypeError) as e:
        return CaseResult(rule.rule_code, name, False, f"测试数据无效: {e}")
    single = library.select([rule])
    batch = BatchEngine(single, threads=1, stage=None)
    batch.load(frame)
    got = {"batch": _about(batch.run(), rule, subject)}
    if rule.spec.online:
        got["online"] = _about(OnlineEngine(single).check(frame, stage=None), rule, subject)
    signatures = {engine: sorted(f.signature() for f in fs) for engine, fs in got.items()}
    if len({repr(s) for s in signatures.values()}) > 1:
        return CaseResult(rule.rule_code, name, False, f"联机与批量结果不一致: {signatures}")
    findings = got["batch"]
    live = [f for f in findings if not f.exempt]
    actual = "hit" if live else "exempt" if findings else "miss"
    if actual != expect:
        return CaseResult(
            rule.rule_code, name, False, f"期望 {expect}，实为 {actual}: {[f.vola_cont for f in findings]}"
        )
    wanted = case.get("lines")
    if wanted is not None and findings:
        at_fault = sorted({x.feedetl_sn for f in findings for x in f.lines if x.role == "1"})
        if at_fault != sorted(str(s) for s in wanted):
            return CaseResult(
                rule.rule_code, name, False, f"违规明细期望 {sorted(map(str, wanted))}，实为 {at_fault}"
            )
    amount = case.get("vola_amt")
    if amount is not None and findings and fmt_fen(sum(f.vola_amt for f in findings)) != str(amount):
        return CaseResult(
            rule.rule_code, name, False, f"金额期望 {amount}，实为 {sum(f.vola_amt for f in findings)} 分"
        )
    return CaseResult(rule.rule_code, name, True, findings[0].vola_cont if findings else "")


def run_tests(library: Library, codes: set[str] | None = None) -> list[CaseResult]:
    out = []
    for rule in sorted(library.rules.values(), key=lambda r: r.rule_code):
        if codes is not None and rule.rule_code not in codes:
            continue
        if not rule.tests:
            out.append(CaseResult(rule.rule_code, "-", False, "没有测试集"))
        for case in rule.tests:
            out.append(run_case(rule, case if isinstance(case, dict) else {}, library))
    return out
