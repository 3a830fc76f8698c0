"""Three years of inpatient history for a DIP catalogue build: reading it, and a synthetic one for the demo.

``read_history`` reads the grouping CSV with two more columns, ``year`` and ``cost`` (医疗费总额 in yuan,
at most two decimals), and gives every refused row its line and reason. ``synthetic_history`` makes a
deterministic history for the demo region from the national CHS-DRG 1.1 tables (real 医保版 2.0 codes): a
surgical ADRG's principal diagnosis with one of its principal procedures, or a medical ADRG's principal
diagnosis alone, drawn Zipf-like (exponent 1.05), costs lognormal around a per-combination base with a
low-cost and a high-cost mixture (payment-drg-dip.md §10), 3 %/yr inflation and 5 %/yr volume growth.
``demo_procedure_types`` tags every procedure code for the demo: operating-room procedures (those a
surgical ADRG lists) 相关手术, chapters 87–91 诊断性操作, the rest 治疗性操作.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

from yibao.errors import InputError
from yibao.money import AmountError, Fen, fmt_fen, parse_amount
from yibao.payment.cases import COLUMNS, RowRefused, case_from_fields, whole_number
from yibao.payment.dip import validate_codes
from yibao.payment.dip_build import HistoryCase
from yibao.payment.drg_pack import CC, MCC, MEDICAL, SURGICAL, DrgPack

HISTORY_COLUMNS = (*COLUMNS, "year", "cost")
DIAGNOSTIC_CHAPTERS = ("87", "88", "89", "90", "91")
COMORBID = ("I50", "I21", "I63", "J44", "E11.2", "E11.9", "N18", "K74", "C78", "C79")
"""Common comorbidities the synthetic cases carry (heart failure, infarction, stroke, COPD, diabetes, CKD,
cirrhosis, metastasis), so that the auxiliary subtypes have cases."""


def read_history(path: Path, extra: tuple[str, ...] = ()) -> tuple[list[HistoryCase], list[tuple[int, str]]]:
    """The cases of a history CSV, and (line, reason) for every row refused; each case keeps its line and
    the values of the ``extra`` columns (which the file must have too), stripped."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"无法打开历史数据 {path}: {exc.strerror or exc} (cannot open history)") from None
    cases: list[HistoryCase] = []
    refused: list[tuple[int, str]] = []
    with handle:
        reader = csv.DictReader(handle)
        if missing := [c for c in (*HISTORY_COLUMNS, *extra) if c not in (reader.fieldnames or ())]:
            raise InputError(f"{path.name}: 缺少列 {', '.join(missing)} (missing columns)")
        try:
            for fields in reader:
                line = reader.line_num
                try:
                    case = case_from_fields({k: v or "" for k, v in fields.items() if k is not None})
                    if reason := validate_codes(case):
                        raise RowRefused(reason)
                    year = whole_number(fields["year"] or "", "年度", 1900, 2999)
                    cost = parse_amount(fields["cost"] or "")
                    if cost <= 0:
                        raise RowRefused(f"医疗费总额应大于 0: {fields['cost']}")
                except AmountError as exc:
                    refused.append((line, f"医疗费总额: {exc}"))
                    continue
                except RowRefused as exc:
                    refused.append((line, str(exc)))
                    continue
                more = tuple((fields[c] or "").strip() for c in extra)
                cases.append(HistoryCase(case, year, cost, line, more))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name}:{reader.line_num}: 无法读取 (unreadable): {exc}") from None
    return cases, refused


def demo_procedure_types(pack: DrgPack) -> list[tuple[str, str]]:
    """The demo's procedure-attribute table: chapter defaults, then every operating-room procedure."""
    rows = [
        (f"{n:02d}", "诊断性操作" if f"{n:02d}" in DIAGNOSTIC_CHAPTERS else "治疗性操作") for n in range(100)
    ]
    return rows + [(code, "相关手术") for code in sorted(pack.or_procedures)]


def combinations(pack: DrgPack, rng: random.Random, count: int) -> list[tuple[str, tuple[str, ...], str]]:
    """``count`` distinct (principal diagnosis, procedures, MDC) drawn from the pack's ADRG lists."""
    found: dict[tuple[str, tuple[str, ...]], str] = {}
    rules = [
        (letter, r) for letter, rows in sorted(pack.rules.items()) if letter not in pack.pre_mdc for r in rows
    ]
    usable = [
        (m, r)
        for m, r in rules
        if r.principal_dx and (r.kind == MEDICAL or (r.kind == SURGICAL and r.principal_px))
    ]
    while len(found) < count:
        letter, rule = rng.choice(usable)
        dx = rng.choice(sorted(rule.principal_dx or ()))
        px = (rng.choice(sorted(rule.principal_px or ())),) if rule.kind == SURGICAL else ()
        found.setdefault((dx, px), letter)
    return [(dx, px, letter) for (dx, px), letter in found.items()]


def synthetic_history(
    pack: DrgPack, cases: int = 60_000, seed: int = 990100, first_year: int = 2023, groups: int = 3_000
) -> list[list[str]]:
    """The rows (``HISTORY_COLUMNS``, header first) of a deterministic three-year history."""
    rng = random.Random(seed)
    combos = combinations(pack, rng, groups)
    weights = [1 / (rank**1.05) for rank in range(1, len(combos) + 1)]
    bases = [(24_000 if px else 7_000) * math.exp(rng.gauss(0, 0.6)) for _, px, _ in combos]
    known = sorted(pack.known_dx)
    others = known[::97]
    comorbid = [c for prefix in COMORBID for c in [k for k in known if k.startswith(prefix)][:3]]
    extra_px = sorted(pack.or_procedures)[::41]
    volume = [1.0, 1.05, 1.1025]
    rows = [list(HISTORY_COLUMNS)]
    n = 0
    for y, share in enumerate(volume):
        year_cases = round(cases * share / sum(volume))
        for index in rng.choices(range(len(combos)), weights, k=year_cases):
            dx, px, letter = combos[index]
            n += 1
            base = bases[index] * 1.03**y
            rows.append(
                history_row(
                    rng, n, first_year + y, (dx, px, letter), base, (others, comorbid, extra_px), pack
                )
            )
    return rows


def history_row(
    rng: random.Random,
    n: int,
    year: int,
    combination: tuple[str, tuple[str, ...], str],
    base: float,
    pools: tuple[list[str], list[str], list[str]],
    pack: DrgPack,
) -> list[str]:
    """One case: its secondary diagnoses (a third from common comorbidities), and a cost that rises with
    each CC (× 1.12) or MCC (× 1.30) among them, with age 80 or more (× 1.10) and with death (× 1.25)."""
    dx, px, letter = combination
    others, comorbid, extra_px = pools
    gend = 1 if letter == "M" else 2 if letter in ("N", "O") else rng.choice((1, 2))
    age = rng.randint(18, 45) if letter == "O" else rng.randint(1, 92)
    count = rng.choice((0, 0, 1, 1, 2, 3))
    secondary = list(
        dict.fromkeys(rng.choice(comorbid if rng.random() < 0.35 else others) for _ in range(count))
    )
    procedures = list(px) + ([rng.choice(extra_px)] if px and rng.random() < 0.04 else [])
    death = rng.random() < 0.01
    severity = 1.0
    for code in secondary:
        level = pack.complications.get(code, (None,))[0]
        severity *= 1.30 if level == MCC else 1.12 if level == CC else 1.0
    severity *= (1.10 if age >= 80 else 1.0) * (1.25 if death else 1.0)
    draw = rng.random()
    factor = rng.uniform(0.1, 0.5) if draw < 0.04 else 2 + rng.paretovariate(2.5) if draw < 0.07 else 1.0
    cost = base * severity * math.exp(rng.gauss(0, 0.33)) * factor
    return [
        f"H{year}{n:07d}",
        str(gend),
        str(age),
        str(age * 365 + rng.randint(0, 364)),
        "",
        str(max(1, round(cost / 1_300))),
        "5" if death else "1",
        "|".join([dx, *secondary]),
        "|".join(procedures),
        str(year),
        fmt_fen(Fen(max(100, round(cost * 100)))),
    ]
