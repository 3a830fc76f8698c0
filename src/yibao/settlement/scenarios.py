"""Settlement scenarios as data (结算案例): run them, print JSON, check their ``expect`` blocks.

The file format is part of the public interface (docs/scenarios.md). A problem in
one step becomes an ``error`` step that ends its case; other cases still run.
Unknown keys are ignored with a warning, so files may carry extra national fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.errors import InputError, SettlementError, YibaoError
from yibao.money import AmountError, fmt_fen, parse_amount, parse_count, parse_price, parse_ratio, to_decimal
from yibao.policy.compiler import PolicyBundle
from yibao.settlement import online
from yibao.settlement.inputs import Dated, Fee, PersonFacts, VisitRequest
from yibao.settlement.lines import NO_CAP, product_fen
from yibao.settlement.result import SETLINFO_ORDER, Settled, claim_record
from yibao.settlement.scenario_persons import History, enrollment_history
from yibao.yamlio import load_yaml

PERSON_KEYS = {
    "insutype",
    "psn_type",
    "idet",
    "chronic",
    "huiminbao",
    "acct_balance",
    "mulaid_balance",
    "name",
    "psn_no",
    "enrollment",
}
SETTLE_KEYS = {
    "med_type",
    "begndate",
    "hosp_lv",
    "opsp_dise_code",
    "dise_codg",
    "acct_used_flag",
    "fees",
    "psn_type",
    "admission_of",
    "mdtrt_id",
    "name",
    "memo",
}
FEE_KEYS = {
    "chrgitm_lv",
    "pric",
    "cnt",
    "det_item_fee_sumamt",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "hosp_appr_flag",
}
# National line fields a file may carry; they do not affect the split and are ignored silently.
FEE_PASSTHROUGH = {
    "feedetl_sn",
    "med_list_codg",
    "medins_list_codg",
    "med_chrgitm_type",
    "fee_ocur_time",
    "name",
    "memo",
    "list_type",
    "bilg_dr_codg",
    "spec",
    "unit",
    "med_list_name",
}


class StepError(YibaoError):
    """A problem with one step; ``where`` locates it inside the step (``fees[3].pric``)."""


@dataclass
class StepOutcome:
    number: int
    kind: str  # settle | presettle | reverse | error
    settled: Settled | None = None
    error: str | None = None
    mismatches: list[str] = field(default_factory=list)

    def as_json(self, with_trace: bool = False) -> dict:
        if self.kind == "error":
            return {"step": self.number, "kind": "error", "error": self.error}
        out = {
            "step": self.number,
            "kind": self.kind,
            "setlinfo": self.settled.setlinfo_json(),
            "setldetail": self.settled.setldetail_json(),
        }
        if with_trace:
            out["policy_version"] = self.settled.policy_version
            out["accumulator_delta"] = {
                k: v if k.startswith("admissions:") else fmt_fen(v) for k, v in self.settled.delta.items()
            }
            out["trace"] = self.settled.trace
            out["lines"] = [{k: fmt_fen(v) for k, v in ln.items()} for ln in self.settled.lines]
        return out


@dataclass
class CaseOutcome:
    name: str
    steps: list[StepOutcome]
    has_expect: bool
    problems: list[str]  # mismatches and unexpected errors, each naming the step
    source: str | None = None

    @property
    def passed(self) -> bool | None:
        if not self.has_expect:
            return None
        return not self.problems

    def as_json(self, with_trace: bool = False) -> dict:
        out = {"name": self.name, "passed": self.passed, "steps": [s.as_json(with_trace) for s in self.steps]}
        if self.source:
            out["file"] = self.source
        return out


# --- parsing ------------------------------------------------------------------------------------------


def _warn(warnings: list[str], where: str, keys) -> None:
    for k in sorted(keys, key=str):
        warnings.append(f"{where}.{k}: unknown field ignored")


def _value(parse, raw: Any, where: str, what: str) -> int:
    if raw is None or isinstance(raw, bool):
        raise StepError(f'{where}: "{raw}" is not {what}')
    try:
        return parse(raw)
    except AmountError as exc:
        text = format(raw, "f") if isinstance(raw, Decimal) else str(raw)
        reason = str(exc)
        places = re.search(r"more than (\d+) decimals", reason)
        if places:  # (the scenario format's own English wording, kept stable for the files that expect it)
            raise StepError(f'{where}: "{text}" has more than {places[1]} decimals') from None
        raise StepError(f'{where}: "{text}" is not {what}') from None


def _flag(raw: Any, where: str, allowed: tuple[int, ...]) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value not in allowed:
        raise StepError(f'{where}: "{raw}" must be one of {", ".join(map(str, allowed))}')
    return value


def _date(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise StepError(f'{where}: "{raw}" is not a date (YYYY-MM-DD)') from None


def _code(raw: Any, where: str) -> str:
    if raw is None or isinstance(raw, (bool, dict, list)) or str(raw).strip() == "":
        raise StepError(f"{where}: missing code")
    return str(raw).strip()


def parse_fee(raw: Any, where: str, warnings: list[str]) -> Fee:
    if not isinstance(raw, dict):
        raise StepError(f"{where}: a fee line is a mapping ({{chrgitm_lv, pric, cnt, …}})")
    _warn(warnings, where, set(raw) - FEE_KEYS - FEE_PASSTHROUGH)
    for key in ("chrgitm_lv", "pric", "cnt"):
        if key not in raw:
            raise StepError(f"{where}.{key}: missing")
    lv_raw = str(raw["chrgitm_lv"]).strip()
    lv = {"01": 1, "1": 1, "02": 2, "2": 2, "03": 3, "3": 3}.get(lv_raw)
    if lv is None:
        raise StepError(f'{where}.chrgitm_lv: "{lv_raw}" must be 01 甲, 02 乙 or 03 丙')
    pric = _value(parse_price, raw["pric"], f"{where}.pric", "an amount")
    cnt = _value(parse_count, raw["cnt"], f"{where}.cnt", "a count")
    if "det_item_fee_sumamt" in raw and raw["det_item_fee_sumamt"] is not None:
        amt = _value(parse_amount, raw["det_item_fee_sumamt"], f"{where}.det_item_fee_sumamt", "an amount")
    else:
        amt = int(product_fen([pric], [cnt])[0])
    selfpay = _value(parse_ratio, raw.get("selfpay_prop", 0) or 0, f"{where}.selfpay_prop", "a ratio")
    cap_raw = raw.get("pric_uplmt_amt")
    cap = (
        NO_CAP
        if cap_raw in (None, "")
        else _value(parse_price, cap_raw, f"{where}.pric_uplmt_amt", "an amount")
    )
    if cap == 0:
        cap = NO_CAP  # national convention: an empty numeric field is sent as 0
    return Fee(
        pric=pric,
        cnt=cnt,
        det_item_fee_sumamt=amt,
        chrgitm_lv=lv,
        selfpay_prop=selfpay,
        pric_uplmt_amt=cap,
        lmt_used_flag=_flag(raw.get("lmt_used_flag", 0) or 0, f"{where}.lmt_used_flag", (0, 1)),
        hosp_appr_flag=_flag(raw.get("hosp_appr_flag", 0) or 0, f"{where}.hosp_appr_flag", (0, 1, 2)),
    )


def _dated_list(raw: Any, where: str, code_keys: tuple[str, ...]) -> list[Dated]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for k, item in enumerate(raw, 1):
        w = f"{where}[{k}]"
        if isinstance(item, dict):
            code_key = next((c for c in code_keys if c in item), None)
            if code_key is None:
                raise StepError(f"{w}: needs one of {', '.join(code_keys)}")
            begn = item.get("begn", item.get("begntime", item.get("begndate")))
            end = item.get("end", item.get("endtime", item.get("enddate")))
            grade = item.get("grade", item.get("psn_type_lv"))
            out.append(
                Dated(
                    _code(item[code_key], f"{w}.{code_key}"),
                    None if begn is None else _date(begn, f"{w}.begn"),
                    None if end is None else _date(end, f"{w}.end"),
                    None if grade is None else _code(grade, f"{w}.grade"),
                )
            )
        else:
            out.append(Dated(_code(item, w)))
    return out


def parse_person(raw: Any, warnings: list[str]) -> tuple[PersonFacts, int]:
    if not isinstance(raw, dict):
        raise StepError("person: missing (a mapping with insutype, psn_type …)")
    _warn(warnings, "person", set(raw) - PERSON_KEYS)
    for key in ("insutype", "psn_type"):
        if key not in raw:
            raise StepError(f"person.{key}: missing")
    years = raw.get("huiminbao") or []
    if not isinstance(years, list):
        years = [years]
    try:
        hmb = {int(y) for y in years}
    except (TypeError, ValueError):
        raise StepError(f"person.huiminbao: {years!r} is not a list of years") from None
    balance = raw.get("acct_balance")
    bal = 0 if balance is None else _value(parse_amount, balance, "person.acct_balance", "an amount")
    if bal < 0:
        raise StepError("person.acct_balance: cannot be negative")
    person = PersonFacts(
        insutype=_code(raw["insutype"], "person.insutype"),
        psn_type=_code(raw["psn_type"], "person.psn_type"),
        identities=_dated_list(raw.get("idet"), "person.idet", ("type", "psn_idet_type", "code")),
        chronic=_dated_list(raw.get("chronic"), "person.chronic", ("code", "opsp_dise_code")),
        supplementary_years=hmb,
        has_account=True,
    )
    return person, bal


def _mulaid(raw: Any) -> int | None:
    """The bound relative's 职工 account balance that 共济 (acct_used_flag 2) draws on, if given."""
    value = raw.get("mulaid_balance") if isinstance(raw, dict) else None
    if value is None:
        return None
    bal = _value(parse_amount, value, "person.mulaid_balance", "an amount")
    if bal < 0:
        raise StepError("person.mulaid_balance: cannot be negative")
    return bal


def parse_visit(raw: Any, warnings: list[str], where: str) -> VisitRequest:
    if not isinstance(raw, dict):
        raise StepError(f"{where}: a mapping with med_type, begndate, hosp_lv, fees")
    _warn(warnings, where, set(raw) - SETTLE_KEYS)
    for key in ("med_type", "begndate", "fees"):
        if key not in raw:
            raise StepError(f"{key}: missing")
    fees_raw = raw["fees"]
    if not isinstance(fees_raw, list):
        raise StepError("fees: a list of fee lines")
    fees = [parse_fee(f, f"fees[{k}]", warnings) for k, f in enumerate(fees_raw, 1)]
    hosp_lv = raw.get("hosp_lv")
    if hosp_lv is not None:
        hosp_lv = _flag(hosp_lv, "hosp_lv", (1, 2, 3))
    dise = raw.get("opsp_dise_code")
    diagnoses = raw.get("dise_codg") or []
    diagnoses = [diagnoses] if not isinstance(diagnoses, list) else diagnoses
    return VisitRequest(
        med_type=_code(raw["med_type"], "med_type"),
        begndate=_date(raw["begndate"], "begndate"),
        fees=fees,
        hosp_lv=hosp_lv,
        opsp_dise_code=None if dise in (None, "") else str(dise).strip(),
        diagnoses=[_code(d, f"dise_codg[{k}]") for k, d in enumerate(diagnoses, 1)],
        acct_used_flag=_flag(raw.get("acct_used_flag", 0) or 0, "acct_used_flag", (0, 1, 2)),
        psn_type=None if raw.get("psn_type") is None else _code(raw["psn_type"], "psn_type"),
    )


# --- running --------------------------------------------------------------------------------------------


def _compare(expected: dict, outcome: StepOutcome, warnings: list[str]) -> list[str]:
    """Mismatches between an ``expect`` block and what the step produced (numbers compared exactly)."""
    problems = []
    if "error" in expected:
        want = str(expected["error"])
        if outcome.kind != "error":
            problems.append(f'expected error "{want}", got a {outcome.kind}')
        elif want not in (outcome.error or ""):
            problems.append(f'error: expected "{want}", got "{outcome.error}"')
    if outcome.kind == "error":
        if "error" not in expected:
            problems.append(f"unexpected error: {outcome.error}")
        return problems
    got = outcome.settled.setlinfo_json()
    for key, want in expected.items():
        if key == "error":
            continue
        if key == "setldetail":
            problems.extend(_compare_detail(want, outcome.settled.setldetail_json()))
            continue
        if key not in got:
            problems.append(f"{key}: not a setlinfo field (known: {', '.join(SETLINFO_ORDER)})")
            continue
        try:
            ok = to_decimal(want) == Decimal(got[key])
        except AmountError:
            ok = False
        if not ok:
            problems.append(f"{key}: expected {want}, got {got[key]}")
    return problems


def _compare_detail(want: Any, got: list[dict]) -> list[str]:
    if not isinstance(want, list):
        return ["setldetail: expected a list of rows"]
    by_type = {r["fund_pay_type"]: r for r in got}
    problems = []
    for row in want:
        fpt = str(row.get("fund_pay_type", ""))
        actual = by_type.get(fpt)
        if actual is None:
            problems.append(
                f"setldetail {fpt}: expected a row, none paid (rows: {', '.join(by_type) or 'none'})"
            )
            continue
        for k, v in row.items():
            if k == "fund_pay_type":
                continue
            a = actual.get(k)
            same = (v is None and a is None) or (
                v is not None and a is not None and to_decimal(v) == Decimal(a)
            )
            if not same:
                problems.append(f"setldetail {fpt} {k}: expected {v}, got {a}")
    return problems


class CaseRun:
    """The running state of one case: accumulators per (year, insutype), the balance, settled steps."""

    enrollment: History | None = None  # person.enrollment; None: enrolled all along

    def __init__(
        self,
        bundle: PolicyBundle,
        person: PersonFacts,
        balance: int,
        warnings: list[str],
        mulaid_balance: int | None = None,
    ):
        self.bundle, self.person, self.warnings = bundle, person, warnings
        # account balances: the person's own, and the bound relative's under 共济 (acct_used_flag 2);
        # a visit uses one of them, and its reversal returns the payment to the same one
        self.balances: dict[str, int | None] = {
            "own": balance,
            "mulaid": mulaid_balance,
        }  # mulaid None: unbound
        self.accums: dict[tuple[int, str], dict[str, int]] = {}
        self.settled: dict[int, Settled] = {}  # step number → settlement (not pre-settlements)
        self.pot: dict[int, str] = {}  # step number → the account it used
        self.admission: dict[int, int] = {}  # step number → the step that opened its admission
        self.level: dict[int, int | None] = {}  # step number → its hosp_lv
        self.reversed: set[int] = set()
        self.visits: dict[
            int, VisitRequest
        ] = {}  # step number → the visit it settled (a claim settles it again)

    def _continuation(self, visit: VisitRequest, opened: Any) -> int:
        """中途结算: a later segment of the admission step ``opened`` started (deductible as fixed then)."""
        if opened not in self.settled or opened in self.reversed:
            raise StepError(f"admission_of: 第 {opened} 步不是有效的结算")
        first = self.admission.get(opened, opened)
        if self.settled[first].admission_deductible is None:
            raise StepError(f"admission_of: 第 {first} 步不是有效的住院结算")
        if visit.hosp_lv is None:
            visit.hosp_lv = self.level[first]
        elif visit.hosp_lv != self.level[first]:
            raise StepError(f"hosp_lv: 中途结算须与入院时同一医院等级 ({self.level[first]})")
        visit.new_admission = False
        visit.adm_dedc = self.settled[first].admission_deductible
        visit.adm_dedc_used = sum(
            s.setlinfo["act_pay_dedc"]
            for n, s in self.settled.items()
            if self.admission.get(n, n) == first and n not in self.reversed
        )
        return first

    def step(self, step: Any, number: int, where: str) -> StepOutcome:
        if not isinstance(step, dict):
            raise StepError("a step is a mapping: settle, presettle or reverse")
        kinds = [k for k in ("settle", "presettle", "reverse", "claim") if k in step]
        _warn(
            self.warnings,
            where,
            set(step) - {"settle", "presettle", "reverse", "claim", "expect", "name", "memo"},
        )
        if len(kinds) != 1:
            raise StepError("a step has exactly one of settle, presettle, reverse, claim")
        kind = kinds[0]
        if kind == "reverse":
            return self._reverse(step["reverse"], number)
        if kind == "claim":
            return self._claim(step["claim"], number)
        visit = parse_visit(step[kind], self.warnings, f"{where}.{kind}")
        opened = step[kind].get("admission_of")
        first = None if opened is None else self._continuation(visit, opened)
        if first is None and self.enrollment is not None:  # a 中途结算's admission was let in
            self.enrollment.check(visit.begndate)
        key = (visit.begndate.year, self.person.insutype)
        pot = "own"
        if visit.acct_used_flag == 2:
            if self.balances["mulaid"] is None:
                visit.acct_used_flag = (
                    0  # no bound relative's account: nothing from an account (§3.4 "else 0")
                )
            else:
                pot = "mulaid"
        result, new_accum, new_balance = online.settle(
            self.bundle, self.person, visit, self.accums.get(key, {}), self.balances[pot]
        )
        if kind == "settle":
            self.accums[key], self.balances[pot] = new_accum, new_balance
            self.settled[number], self.pot[number], self.level[number] = result, pot, visit.hosp_lv
            self.visits[number] = visit
            if first is not None:
                self.admission[number] = first
        return StepOutcome(number, kind, settled=result)

    def _claim(self, target: Any, number: int) -> StepOutcome:
        """先付费后报销: the claim of step ``target``'s settlement, by the same chain on the same lines, now."""
        if isinstance(target, bool) or target not in self.visits or target in self.reversed:
            raise StepError(f"claim: 第 {target} 步不是有效的结算，不能报销")
        visit = self.visits.pop(target)  # (claimed once)
        key = (visit.begndate.year, self.person.insutype)
        full, self.accums[key], _ = online.settle(
            self.bundle,
            self.person,
            replace(visit, acct_used_flag=0),
            self.accums.get(key, {}),
            0,
            claim=True,
        )
        self.settled[number], self.pot[number] = claim_record(full), "own"
        return StepOutcome(number, "claim", settled=self.settled[number])

    def _reverse(self, target: Any, number: int) -> StepOutcome:
        if isinstance(target, bool) or not isinstance(target, int):
            raise StepError(f"reverse: {target!r} is not a step number")
        if target not in self.settled:
            raise StepError(f"reverse: 第 {target} 步不是已完成的结算，不能撤销")
        if target in self.reversed:
            raise SettlementError(f"reverse: 第 {target} 步的结算已撤销，不能重复撤销")
        original = self.settled[target]
        key = (original.year, original.insutype)
        pot = self.pot[target]
        rev, self.accums[key], self.balances[pot] = online.reverse(
            original, self.accums.get(key, {}), self.balances[pot]
        )
        self.reversed.add(target)
        return StepOutcome(number, "reverse", settled=rev)


def run_case(
    bundle_for, case: Any, index: int, warnings: list[str], source: str | None = None
) -> CaseOutcome:
    name = case.get("name", f"case {index}") if isinstance(case, dict) else f"case {index}"
    label = f'case "{name}"'
    steps_raw = case.get("steps") if isinstance(case, dict) else None
    has_expect = isinstance(steps_raw, list) and any(isinstance(s, dict) and "expect" in s for s in steps_raw)
    outcomes: list[StepOutcome] = []
    problems: list[str] = []
    if not isinstance(case, dict) or not isinstance(steps_raw, list) or not steps_raw:
        outcomes.append(StepOutcome(1, "error", error="steps: a case needs a list of steps"))
        return CaseOutcome(str(name), outcomes, has_expect, [f"{label}: steps missing"], source)
    _warn(warnings, label, set(case) - {"name", "person", "steps", "region", "memo", "description"})
    try:
        person, balance = parse_person(case.get("person"), warnings)
        run = CaseRun(bundle_for(case.get("region")), person, balance, warnings, _mulaid(case.get("person")))
        run.enrollment = enrollment_history(case.get("person"), run.bundle, warnings)
    except YibaoError as exc:
        outcomes.append(StepOutcome(1, "error", error=exc.message))
        problems.append(f"{label} step 1: {exc.message}")
        return CaseOutcome(str(name), outcomes, has_expect, problems, source)
    for number, step in enumerate(steps_raw, 1):
        where = f"{label} step {number}"
        expected = step.get("expect") if isinstance(step, dict) else None
        try:
            outcome = run.step(step, number, where)
        except YibaoError as exc:
            outcome = StepOutcome(number, "error", error=exc.message)
        outcomes.append(outcome)
        if isinstance(expected, dict):
            outcome.mismatches = _compare(expected, outcome, warnings)
        elif expected is not None:
            outcome.mismatches = ["expect: must be a mapping of setlinfo fields"]
        elif outcome.kind == "error" and has_expect:
            outcome.mismatches = [f"unexpected error: {outcome.error}"]
        problems.extend(f"{where}: {m}" for m in outcome.mismatches)
        if outcome.kind == "error":
            left = [
                n
                for n, s in enumerate(steps_raw[number:], number + 1)
                if isinstance(s, dict) and "expect" in s
            ]
            problems.extend(f"{label} step {n}: not run (an earlier step failed)" for n in left)
            break
    return CaseOutcome(str(name), outcomes, has_expect, problems, source)


@dataclass
class RunReport:
    cases: list[CaseOutcome]
    warnings: list[str]

    def as_json(self, with_trace: bool = False) -> dict:
        return {"cases": [c.as_json(with_trace) for c in self.cases]}

    @property
    def failed(self) -> list[CaseOutcome]:
        return [c for c in self.cases if c.passed is False]


def run_file(path: Path, bundle_for, *, tag_source: bool = False) -> RunReport:
    """Run every case of one scenario file. ``bundle_for(region)`` returns the compiled policy."""
    raw = load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("cases"), list):
        raise InputError(f"{path}: 不是结算案例文件 (a scenario file is a mapping with a 'cases' list)")
    region = raw.get("region")
    warnings: list[str] = []
    _warn(warnings, str(path), set(raw) - {"region", "cases", "title", "description"})

    def for_case(case_region):
        return bundle_for(str(case_region or region or "990100"))

    cases = [
        run_case(for_case, case, i, warnings, str(path) if tag_source else None)
        for i, case in enumerate(raw["cases"], 1)
    ]
    return RunReport(cases, warnings)


def bundle_cache(regions_dir: Path | None = None):
    """A loader that compiles each region's policy once per run."""
    from yibao.policy.loader import load_region_policy

    cache: dict[str, PolicyBundle] = {}

    def get(region: str) -> PolicyBundle:
        if region not in cache:
            cache[region] = load_region_policy(region, regions_dir)
        return cache[region]

    return get
