"""A region's payment policy (支付方式政策) as dated, validated data: how the fund pays hospitals.

One YAML file per version in ``regions/<admdvs>/policy/payment/`` (payment-drg-dip.md §7; the schema is
:mod:`yibao.payment.policy_schema`, the keys are in docs/policy.md). The benefit policy's loader reads only
the ``*.yaml`` directly in ``policy/``, so the subfolder is this module's alone. Files are read as the
benefit policy's are (a key written twice, an impossible date, ``inherits`` and ``references``), and every
problem of every file is collected, one line each, before anything is refused::

    regions/990100/policy/payment/2025.yaml: monthly: payout_ratio 0.95 + deposit_ratio 0.10 = 1.05: must be 1 …
    regions/990100/payment/capitation.csv:4: enrolled: "abc" is not a whole number > 0

Unlike the benefit policy, a decimal number must be quoted (``"0.95"``): ratios and amounts are read as
text, never as YAML floats.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from yibao.errors import PolicyError, YibaoError
from yibao.money import fmt_fen
from yibao.payment.dip_tables import table_rows
from yibao.payment.packs import registered_schemes
from yibao.payment.policy_schema import PaymentPolicy
from yibao.payment.policy_values import LEVELS, CapitationContract, CapitationContracts
from yibao.policy.inherit import REQUIRED_OWN, Resolved, read_policy_file, resolve
from yibao.policy.loader import _message, check_ranges
from yibao.policy.sources import format_path

__all__ = [
    "PAYMENT_DIR",
    "PaymentPolicy",
    "load_payment_dir",
    "load_payment_policies",
    "payment_effective_end",
    "payment_policy_on",
    "summary_line",
]

PAYMENT_DIR = "payment"  # under the region's policy folder
CONTRACT_COLUMNS = ("fixmedins_code", "pool", "enrolled")
_ADAPTER = TypeAdapter(PaymentPolicy)
_WORDS = {
    "missing_argument": "missing (缺少此项)",
    "unexpected_keyword_argument": "unknown key (未知的键)",
}

Loc = tuple[Any, ...]
_LEVEL_NAMES = {"1": "一级", "2": "二级", "3": "三级"}


class _Period(NamedTuple):
    version: str
    effective_from: date
    effective_to: date | None


class _Dated(NamedTuple):  # what the benefit loader's range check reads of a version
    path: Path
    policy: _Period


def _period(data: dict) -> _Period | None:
    """A version's period as written, when its dates are dates (the rest may still be wrong)."""
    version, start, end = data.get("version"), data.get("effective_from"), data.get("effective_to")
    if isinstance(version, str | int) and isinstance(start, date) and (end is None or isinstance(end, date)):
        return _Period(str(version), start, end)
    return None


# --- reading -----------------------------------------------------------------------------------------------


def _unquoted(value: Any, key: Loc = ()) -> list[tuple[Loc, str]]:
    """Every decimal number written without quotes: the YAML reader made it a Decimal (a float to YAML)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unquoted(v, (*key, str(k)))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unquoted(v, (*key, i))]
    if isinstance(value, Decimal):
        text = format(value, "f")
        return [(key, f'{text} 须加引号 (write decimal numbers in quotes: "{text}"; never read as a float)')]
    return []


def _schema_problem(err: dict) -> tuple[Loc, str]:
    loc = tuple(str(p) for p in err["loc"] if p != "[key]")
    if err["type"] == "dataclass_type":
        return loc, f"should be a mapping of keys (got {err.get('input')!r})"
    msg = _WORDS.get(err["type"]) or _message(err).replace("a valid tuple", "a list")
    if err["type"] in ("tuple_type", "literal_error"):
        msg += f" (got {err.get('input')!r})"
    return loc, msg


def _contract_reader(region_dir: Path, problems: list[str]):
    def read(written: str) -> CapitationContracts:
        path = region_dir / written
        rows: list[CapitationContract] = []
        if not path.is_file():
            problems.append(f"{path}: 文件不存在 (file not found; capitation › contracts names it)")
            return CapitationContracts(path, ())
        try:
            table = table_rows(str(path), path.read_bytes(), CONTRACT_COLUMNS)
        except YibaoError as exc:
            problems.append(exc.message)
            return CapitationContracts(path, ())
        for n, row in table:
            text = row["enrolled"]
            if not (text.isascii() and text.isdigit() and int(text) > 0):
                problems.append(f'{path}:{n}: enrolled: "{text[:24]}" is not a whole number > 0')
            elif not row["fixmedins_code"]:
                problems.append(f"{path}:{n}: fixmedins_code: missing (缺少此项)")
            else:
                rows.append(CapitationContract(row["fixmedins_code"], row["pool"], int(text), n))
        return CapitationContracts(path, tuple(rows))

    return read


def _institutions(region_dir: Path) -> set[str] | None:
    """The region's fixmedins_codes (``institutions.csv``), or None when the folder has none."""
    path = region_dir / "institutions.csv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {row.get("fixmedins_code", "").strip() for row in csv.DictReader(f)}


# --- rules across sections -----------------------------------------------------------------------------------


def _covers(loc: Loc, table: dict, keys: list[str], what: str) -> list[tuple[Loc, str]]:
    """A table keyed by ``keys`` (pools, levels): every one present, no other."""
    found = [((*loc, k), f"missing (缺少此项): every {what} needs a value") for k in keys if k not in table]
    found += [((*loc, k), f"not a {what} (known: {', '.join(keys)})") for k in table if k not in keys]
    return found


def _consistency(p: PaymentPolicy, region_dir: Path, institutions: set[str] | None) -> list[tuple[Loc, str]]:
    pools = list(p.pools)
    found: list[tuple[Loc, str]] = []
    seen: dict[str, str] = {}
    for key, pool in p.pools.items():
        for i, ins in enumerate(pool.insutypes):
            if ins in seen:
                found.append(
                    (("pools", key, "insutypes", i), f"insutype {ins} is already in pool {seen[ins]}")
                )
            seen[ins] = key
    found += _covers(("budget",), p.budget, pools, "pool")
    found += _covers(("level_coef",), p.level_coef, list(LEVELS), "hospital level 1/2/3")
    used = p.schemes.used()
    for scheme in ("dip", "drg"):
        if scheme in used and getattr(p, scheme) is None:
            found.append(((scheme,), f"missing (缺少此项): the schemes pay hospitals by {scheme}"))
        if scheme in used and p.special_review.cap_of(scheme) is None:
            found.append((("special_review", "cap", scheme), f"missing (缺少此项): the schemes use {scheme}"))
    if institutions is not None:
        for code in p.schemes.hospitals:
            if code not in institutions:
                found.append((("schemes", "hospitals", code), "not in the region's institutions.csv"))
    if p.dip is not None:
        folder = region_dir / p.dip.catalogue
        if not any((folder / n).is_file() for n in ("dip_catalogue.csv", "dip_catalogue.xlsx")):
            found.append((("dip", "catalogue"), f"{folder} has no DIP catalogue (dip_catalogue.csv)"))
    if p.drg is not None:
        drg = p.drg
        packs = sorted(n for n, s in registered_schemes().items() if s.kind == "drg")
        if drg.rule_pack not in packs:
            found.append(
                (
                    ("drg", "rule_pack"),
                    f"'{drg.rule_pack}' is not a registered DRG scheme ({', '.join(packs)})",
                )
            )
        if drg.rates is None and drg.rate_mode == "fixed":
            found.append(
                (("drg", "rates"), "missing (缺少此项): rate_mode fixed needs rates by pool and level")
            )
        for pool, by_level in (drg.rates or {}).items():
            found += _covers(("drg", "rates", pool), by_level, list(LEVELS), "hospital level 1/2/3")
        if drg.rates is not None:
            found += _covers(("drg", "rates"), drg.rates, pools, "pool")
    if p.perdiem is not None:
        for key, cat in p.perdiem.categories.items():
            found += _covers(
                ("perdiem", "categories", key, "standards"),
                cat.standards,
                list(LEVELS),
                "hospital level 1/2/3",
            )
    if "capitation" in p.risk_sharing.applies_to and p.capitation is None:
        found.append((("capitation",), "missing (缺少此项): risk_sharing applies to capitation"))
    return found


def _contract_problems(p: PaymentPolicy, institutions: set[str] | None) -> list[str]:
    if p.capitation is None:
        return []
    contracts = p.capitation.contracts
    found, seen = [], {}
    for r in contracts.rows:
        where = f"{contracts.path}:{r.line}"
        if r.pool not in p.pools:
            found.append(f"{where}: pool: '{r.pool}' is not a pool of the policy ({', '.join(p.pools)})")
        if institutions is not None and r.fixmedins_code not in institutions:
            found.append(
                f"{where}: fixmedins_code: {r.fixmedins_code} is not in the region's institutions.csv"
            )
        if (r.fixmedins_code, r.pool) in seen:
            found.append(
                f"{where}: {r.fixmedins_code} in pool {r.pool} is also on line {seen[r.fixmedins_code, r.pool]}"
            )
        seen.setdefault((r.fixmedins_code, r.pool), r.line)
    return found


# --- one version -------------------------------------------------------------------------------------------------


def _validate(
    r: Resolved, region_dir: Path, region: str | None, institutions: set[str] | None, reported: set[str]
) -> tuple[PaymentPolicy | None, list[str]]:
    """The version (None if anything is wrong) and its problems, each told in the file that wrote the value."""
    problems = _unquoted(r.data)
    quoted = {tuple(map(str, loc)) for loc, _ in problems}
    lines = []
    if r.parent is not None and "reference" not in r.file.data:  # not the document of the version it inherits
        lines.append(
            f"{r.file.path}: reference: missing (缺少此项): 每个版本写明自己的依据文件 "
            "(a version that inherits cites its own document)"
        )
    csv_lines: list[str] = []
    policy = None
    try:
        policy = _ADAPTER.validate_python(
            r.data, context={"read_contracts": _contract_reader(region_dir, csv_lines)}
        )
    except ValidationError as exc:
        for err in exc.errors():
            loc, msg = _schema_problem(err)
            if loc in quoted:
                continue
            if (
                r.parent is not None
                and err["type"] == "missing_argument"
                and loc in {(k,) for k in REQUIRED_OWN}
            ):
                msg += f": 继承的版本须写明自己的 {loc[0]} (a version that inherits sets its own)"
            problems.append((loc, msg))
    if policy is not None:
        problems += _consistency(policy, region_dir, institutions)
        csv_lines += _contract_problems(policy, institutions)
        if region is not None and policy.region != region:
            problems.append(
                (("region",), f"'{policy.region}' but the file is in the folder of region {region}")
            )
    for loc, msg in problems:
        where = r.sources.blame(loc)
        line = f"{where}: {format_path(loc)}: {msg}" if loc else f"{where}: {msg}"
        if where != r.file.path:
            if line in reported:
                continue
            line += f" (版本 {r.file.version} 继承此值 / inherited by {r.file.path})"
        reported.add(line)
        lines.append(line)
    lines += [ln for ln in csv_lines if ln not in reported]
    reported.update(csv_lines)
    return (policy if not lines and not problems and not csv_lines else None), lines


# --- the folder --------------------------------------------------------------------------------------------------


def load_payment_dir(directory: Path, region_dir: Path, region: str | None = None) -> list[PaymentPolicy]:
    """Every version in a payment-policy folder, checked, ordered by effective_from; or a PolicyError with
    one line per problem of every file. ``region_dir`` is the folder the versions' paths are relative to."""
    directory, region_dir = Path(directory), Path(region_dir)
    if not directory.is_dir():
        raise PolicyError(f"{directory}: 支付方式政策目录不存在 (payment policy folder not found)")
    files = sorted(f for f in directory.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
    if not files:
        raise PolicyError(f"{directory}: 没有支付方式政策文件 (no *.yaml payment policy versions)")
    read, errors = [], []
    for f in files:
        pf, errs = read_policy_file(f)
        errors.extend(errs)
        if pf is not None:
            read.append(pf)
    resolved, errs = resolve(read)
    errors.extend(errs)
    institutions = _institutions(region_dir)
    reported: set[str] = set()
    by_file: dict[Path, list[str]] = {}
    dated: list[_Dated] = []
    loaded: list[PaymentPolicy] = []
    for r in resolved:  # parents before children
        policy, lines = _validate(r, region_dir, region, institutions, reported)
        by_file[r.file.path] = lines
        if (period := _period(r.data)) is not None:
            dated.append(_Dated(r.file.path, period))
        if policy is not None:
            loaded.append(policy)
    errors.extend(line for f in files for line in by_file.get(f, ()))
    if len(dated) == len(files):  # every version's dates known (one unknown would look like a gap)
        errors.extend(check_ranges(dated))  # type: ignore[arg-type]
    if errors:
        raise PolicyError("\n".join(dict.fromkeys(errors)))
    return sorted(loaded, key=lambda p: p.effective_from)


def load_payment_policies(region_dir: Path) -> list[PaymentPolicy]:
    """Every payment-policy version of a region folder (``regions/990100``), sorted by effective_from."""
    region_dir = Path(region_dir)
    code = region_dir.name if region_dir.name.isdigit() else None
    return load_payment_dir(region_dir / "policy" / PAYMENT_DIR, region_dir, code)


def payment_effective_end(policies: list[PaymentPolicy], i: int) -> date | None:
    """The last day version ``i`` is in force: its effective_to, or the day before the next one starts."""
    p = policies[i]
    if p.effective_to is not None:
        return p.effective_to
    return policies[i + 1].effective_from - timedelta(days=1) if i + 1 < len(policies) else None


def payment_policy_on(region_dir: Path, day: date) -> PaymentPolicy:
    """The payment-policy version in force on ``day``."""
    policies = load_payment_policies(region_dir)
    for i, p in enumerate(policies):
        if p.in_force(day, payment_effective_end(policies, i)):
            return p
    versions = ", ".join(f"{p.version} from {p.effective_from}" for p in policies)
    raise PolicyError(
        f"{Path(region_dir) / 'policy' / PAYMENT_DIR}: {day} 无适用的支付方式政策版本 "
        f"(no payment policy in force; versions: {versions})"
    )


# --- the check's summary -----------------------------------------------------------------------------------------


def summary_line(p: PaymentPolicy, end: date | None) -> str:
    """One line: period, schemes, DRG rate mode, PV, monthly split, pools and the other methods."""
    period = f"{p.effective_from} — {end or '…'}"
    levels = ", ".join(f"{_LEVEL_NAMES[lv]} {s}" for lv, s in sorted(p.schemes.by_level.items()))
    schemes = f"默认 {p.schemes.default}" + (f", {levels}" if levels else "")
    if p.schemes.hospitals:
        schemes += f", {len(p.schemes.hospitals)} 家单列"
    parts = [f"方案 {schemes}"]
    if p.drg is not None:
        parts.append(f"DRG {p.drg.rule_pack} {'固定' if p.drg.rate_mode == 'fixed' else '浮动'}费率")
    pv = p.point_value
    bounds = f" [{pv.floor or '—'}, {pv.ceiling or '—'}]" if pv.floor or pv.ceiling else ""
    parts.append(f"点值 {pv.places} 位{bounds}")
    parts.append(f"月拨 {p.monthly.payout_ratio} / 保证金 {p.monthly.deposit_ratio}")
    parts.append("统筹池 " + ", ".join(f"{k} {v.name} {v.fund_share}" for k, v in p.pools.items()))
    if p.perdiem is not None:
        parts.append(f"按床日 {len(p.perdiem.categories)} 类")
    if p.capitation is not None:
        rows = p.capitation.contracts.rows
        enrolled = sum(r.enrolled for r in rows)
        parts.append(f"按人头 {fmt_fen(p.capitation.amount)} 元/人, {len(rows)} 份协议 {enrolled:,} 人")
    return f"支付方式政策 {p.version} ({period}): {p.title}; " + "; ".join(parts)
