"""Settlement scenarios as data (结算案例): run them, print JSON, check their ``expect`` blocks.

The file format is part of the public interface (docs/scenarios.md); its inputs are parsed by
:mod:`yibao.settlement.scenario_input`. A problem in one step becomes an ``error`` step that ends its case;
other cases still run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.errors import InputError, SettlementError, YibaoError
from yibao.money import AmountError, fmt_fen, to_decimal
from yibao.policy.compiler import PolicyBundle
from yibao.settlement import online
from yibao.settlement.inputs import PersonFacts, VisitRequest
from yibao.settlement.result import SETLINFO_ORDER, Settled, claim_record
from yibao.settlement.scenario_input import StepError, mulaid_of, parse_person, parse_visit, warn
from yibao.settlement.scenario_persons import History, enrollment_history
from yibao.yamlio import load_yaml


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
        warn(
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
    warn(warnings, label, set(case) - {"name", "person", "steps", "region", "memo", "description"})
    try:
        person, balance = parse_person(case.get("person"), warnings)
        run = CaseRun(
            bundle_for(case.get("region")), person, balance, warnings, mulaid_of(case.get("person"))
        )
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
    warn(warnings, str(path), set(raw) - {"region", "cases", "title", "description"})

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
