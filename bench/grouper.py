"""Benchmark of the CHS-DRG grouper (run by hand, not in CI): pack load time, cases/s with and without
trace on one core, peak memory.

    python bench/grouper.py [--cases 1000000] [--seed 7] [--csv]

Cases are synthesised from the tables themselves: an ADRG drawn Zipf-like, a principal diagnosis and (for
surgical and procedure ADRGs) a principal procedure from its lists, 0–6 other diagnoses of which about a
third are CCs or MCCs, newborns with birth weights for MDCP, and a few percent of noise (unknown codes, the
wrong sex, an operating-room procedure from another MDC). Grouping runs in chunks, so the cases in memory
stay bounded; ``--csv`` also times the whole CLI path (read CSV, group, write CSV) on 100,000 rows.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from yibao.payment.cases import DrgCase
from yibao.payment.drg import group_case
from yibao.payment.drg_pack import MEDICAL, DrgPack
from yibao.payment.packs import load_drg_pack

CHUNK = 100_000


class Synth:
    """Realistic cases drawn from a pack's own lists."""

    def __init__(self, pack: DrgPack, seed: int):
        self.rng = random.Random(seed)
        self.pack = pack
        self.rules = [r for letter in pack.mdc_names for r in pack.rules[letter[3]] if letter[3] != "A"]
        weights = [1 / (i + 1) ** 1.05 for i in range(len(self.rules))]
        self.rng.shuffle(weights)
        self.weights = weights
        self.mdc_codes = {k: sorted(v) for k, v in pack.mdc_lists.items()}
        self.complications = sorted(pack.complications)
        self.any_dx = sorted(pack.dx_mdcs)
        self.or_px = sorted(pack.or_procedures)
        self.sorted_sets: dict[int, list[str]] = {}

    def pick(self, codes) -> str:
        key = id(codes)
        if key not in self.sorted_sets:
            self.sorted_sets[key] = sorted(codes)
        return self.rng.choice(self.sorted_sets[key])

    def case(self, n: int) -> DrgCase:
        rng = self.rng
        rule = rng.choices(self.rules, self.weights)[0]
        letter = rule.code[0]
        if rule.principal_dx:
            pdx = self.pick(rule.principal_dx)
        elif rule.any_dx:
            pdx = self.pick(rule.any_dx)
        else:
            pdx = rng.choice(self.mdc_codes[letter]) if self.mdc_codes[letter] else rng.choice(self.any_dx)
        procedures: list[str] = []
        if rule.principal_px:
            procedures.append(self.pick(rule.principal_px))
        for group in (*rule.all_px, *(rule.px_tables[t] for t in (rule.alternatives or ((),))[0])):
            procedures.append(self.pick(group))
        if rule.any_or:
            procedures.append(rng.choice(self.or_px))
        if procedures and rng.random() < 0.3:
            procedures.append(rng.choice(self.or_px))
        others = [
            rng.choice(self.complications) if rng.random() < 0.35 else rng.choice(self.any_dx)
            for _ in range(rng.choice((0, 0, 1, 1, 2, 2, 3, 4, 5, 6)))
        ]
        age, days, weight = rng.randint(1, 90), 0, None
        days = age * 365 + rng.randint(0, 364)
        if letter == "P" or rng.random() < 0.01:
            days = (
                rng.randint(0, 28) if rule.age_days is None or rule.age_days[0] == 0 else rng.randint(29, 364)
            )
            age, weight = 0, rng.randint(900, 4200)
        gend = 1 if letter == "M" else 2 if letter in "NO" else rng.choice((1, 2))
        noise = rng.random()
        if noise < 0.01:
            pdx = "Z99.999x999"  # unknown code
        elif noise < 0.015:
            gend = 3 - gend
        elif noise < 0.03 and rule.kind == MEDICAL:
            procedures.insert(0, rng.choice(self.or_px))
        return DrgCase(
            f"c{n}", gend, age, days, (pdx, *others), tuple(procedures), weight, rng.randint(1, 30), "1"
        )


def timed_grouping(pack: DrgPack, synth: Synth, total: int, trace: bool) -> tuple[float, dict[str, int]]:
    elapsed, statuses, made = 0.0, {}, 0
    while made < total:
        cases = [synth.case(made + i) for i in range(min(CHUNK, total - made))]
        made += len(cases)
        start = time.perf_counter()
        for case in cases:
            result = group_case(case, pack, trace)
            statuses[result.status] = statuses.get(result.status, 0) + 1
        elapsed += time.perf_counter() - start
    return elapsed, statuses


def time_cli(pack: DrgPack, synth: Synth, rows: int) -> float:
    from yibao.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "cases.csv", Path(tmp) / "groups.csv"
        with source.open("w", encoding="utf-8") as out:
            out.write("case_id,gend,age,age_days,weight_g,los,dscg_way,diagnoses,procedures\n")
            for i in range(rows):
                c = synth.case(i)
                weight = "" if c.weight_g is None else c.weight_g
                out.write(f"{c.case_id},{c.gend},{c.age},{c.age_days},{weight},{c.los},1,")
                out.write(f"{'|'.join(c.diagnoses)},{'|'.join(c.procedures)}\n")
        start = time.perf_counter()
        assert main(["payment", "group", "--input", str(source), "--output", str(target)]) == 0
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    pack = load_drg_pack()
    load = time.perf_counter() - start
    print(f"pack load: {load:.2f} s  (chs-drg-1.1, hash {pack.pack_hash[:12]})")

    plain, statuses = timed_grouping(pack, Synth(pack, args.seed), args.cases, trace=False)
    print(
        f"without trace: {args.cases:,} cases in {plain:.1f} s = {args.cases / plain:,.0f} cases/s  {statuses}"
    )
    traced_n = max(args.cases // 5, 1)
    traced, _ = timed_grouping(pack, Synth(pack, args.seed), traced_n, trace=True)
    print(f"with trace:    {traced_n:,} cases in {traced:.1f} s = {traced_n / traced:,.0f} cases/s")
    if args.csv:
        rows = 100_000
        spent = time_cli(pack, Synth(pack, args.seed + 1), rows)
        print(
            f"CLI (read CSV, group, write CSV): {rows:,} rows in {spent:.1f} s = {rows / spent:,.0f} rows/s"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MB")


if __name__ == "__main__":
    main()
