"""Load and check every policy version of a region.

Each error names the file and the key path, e.g.
``regions/990100/policy/2025.yaml: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]``.
Every problem in every file is collected before anything is refused, so an
analyst sees the whole list at once. A version that inherits from another
(``inherits: "2025"``, see :mod:`yibao.policy.inherit`) is validated as merged,
by the same schema and checks; an error names the file where the wrong value was
written, the version's own or an ancestor's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from yibao.errors import PolicyError
from yibao.money import fmt_fen
from yibao.policy.checks import (
    SetAside,
    check_identities,
    identity_locations,
    known_identities,
    validate_rest,
)
from yibao.policy.crosscheck import account_problems, class_problems, group_problems, tilt_problems
from yibao.policy.inherit import REQUIRED_OWN, Resolved, read_policy_file, resolve
from yibao.policy.schema import ALL, LEVELS, UNLIMITED, PolicyVersion
from yibao.policy.sources import VersionSources, format_path

_MESSAGES = {
    "Field required": "missing (缺少此项)",
    "Extra inputs are not permitted": "unknown key (未知的键)",
}


def _message(err: dict) -> str:
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    msg = _MESSAGES.get(msg, msg)
    if err["type"] in ("date_parsing", "date_from_datetime_parsing") and isinstance(err.get("input"), str):
        why = msg.split(", ", 1)[-1]
        return f'"{err["input"]}" is not a date (不是有效的日期 YYYY-MM-DD: {why})'
    if err["type"] in (
        "dict_type",
        "list_type",
        "string_type",
        "bool_parsing",
        "date_from_datetime_parsing",
        "date_parsing",
    ):
        msg = f"{msg} (got {err.get('input')!r})"
    return msg


@dataclass(frozen=True)
class LoadedVersion:
    path: Path
    policy: PolicyVersion
    sources: VersionSources | None = None  # who set each value, and its reference (never in the bundle)
    inherits: str | None = None  # the version this one inherits from


def _consistency(p: PolicyVersion) -> list[tuple[tuple, str]]:
    """Cross-references the schema cannot express: every class defined, caps named, categories covered."""
    errors: list[tuple[tuple, str]] = list(class_problems(p))
    classes = set(p.benefit_classes)
    seen_med: dict[str, str] = {}
    for cname, cdef in p.benefit_classes.items():
        for mt in cdef.med_types:
            if mt in seen_med:
                errors.append(
                    (
                        ("benefit_classes", cname, "med_types"),
                        f"med_type {mt} is already in class {seen_med[mt]}",
                    )
                )
            seen_med[mt] = cname

    def check_table(loc: tuple, table: dict, psn_types: set[str], by_level: bool) -> None:
        keys = set(table)
        if ALL in keys and len(keys) > 1:
            errors.append((loc, "mixes a value for everyone with values per psn_type"))
        for k in keys - {ALL}:
            if k not in psn_types:
                errors.append(
                    (
                        (*loc, k),
                        f"unknown psn_type (the insutype's psn_types are {', '.join(sorted(psn_types))})",
                    )
                )
        if ALL not in keys:
            for k in sorted(psn_types - keys):
                errors.append(((*loc, k), "missing (缺少此项): every psn_type of the insutype needs a value"))
        if by_level:
            for k, levels in table.items():
                if ALL not in levels:
                    for lv in LEVELS:
                        if lv not in levels:
                            errors.append(
                                (
                                    (*loc, k, lv),
                                    "missing (缺少此项): every hospital level 1/2/3 needs a value",
                                )
                            )

    for code, ins in p.insutype.items():
        base = ("insutype", code)
        psn_types = set(ins.psn_types)
        defined = ins.classes
        for cname in sorted(set(defined) - classes):
            errors.append(((*base, cname), "unknown key (未知的键): not a field and not a benefit class"))
        for cname in sorted(classes - set(defined)):
            errors.append(
                (
                    (*base, cname),
                    "missing (缺少此项): every benefit class must be defined (use 'pool: false' for none)",
                )
            )
        for cname, cap_table in ins.caps.items():
            check_table((*base, "caps", cname), cap_table, psn_types, by_level=False)
        for cname, cb in defined.items():
            loc = (*base, cname)
            if not cb.pool:
                continue
            for gloc, terms in [
                (loc, cb),
                *(((*loc, "groups", g), gb) for g, gb in (cb.groups or {}).items()),
            ]:
                if terms.ratio is not None:
                    check_table((*gloc, "ratio"), terms.ratio, psn_types, by_level=True)
                if terms.deductible is not None and terms.deductible.amount is not None:
                    amount = terms.deductible.amount
                    check_table((*gloc, "deductible", "amount"), amount, psn_types, by_level=True)
            if cb.cap != UNLIMITED and cb.cap not in ins.caps:
                errors.append(
                    (
                        (*loc, "cap"),
                        f"'{cb.cap}' is not one of the insutype's caps ({', '.join(ins.caps) or 'none'}) nor '{UNLIMITED}'",
                    )
                )
            needs_disease = cname in p.benefit_classes and p.benefit_classes[cname].requires_disease
            if needs_disease:
                have = set(cb.disease_caps or {})
                accepted = set(p.benefit_classes[cname].diseases or p.chronic_diseases)
                for d in sorted(accepted - have):
                    errors.append(
                        (
                            (*loc, "disease_caps", d),
                            "missing (缺少此项): every chronic disease of the class needs a cap (or 'unlimited')",
                        )
                    )
                for d in sorted(have - set(p.chronic_diseases)):
                    errors.append(((*loc, "disease_caps", d), "not in chronic_diseases"))
                for d in sorted(have & set(p.chronic_diseases) - accepted):
                    errors.append(
                        ((*loc, "disease_caps", d), f"not among the diseases class {cname} accepts")
                    )
            elif cb.disease_caps is not None:
                errors.append(
                    ((*loc, "disease_caps"), "only classes with requires_disease take disease_caps")
                )
        for fund in ("large_expense", "critical_illness"):
            fp = getattr(ins, fund)
            if fp is None:
                continue
            for i, c in enumerate(fp.classes):
                if c not in classes:
                    errors.append(((*base, fund, "classes", i), f"'{c}' is not a benefit class"))
        ci = ins.critical_illness
        if ci is not None:
            segs = ci.segments
            if segs[0].upto is not None and segs[0].upto <= ci.deductible:
                errors.append(
                    (
                        (*base, "critical_illness", "segments", 0, "upto"),
                        f"{fmt_fen(segs[0].upto)} is not above the deductible {fmt_fen(ci.deductible)} "
                        "(分段须高于起付线 / segments must rise above the deductible)",
                    )
                )
            for i, s in enumerate(segs):
                last = i == len(segs) - 1
                if last and s.upto is not None:
                    errors.append(
                        (
                            (*base, "critical_illness", "segments", i, "upto"),
                            "the last segment is open-ended: remove 'upto'",
                        )
                    )
                if not last and s.upto is None:
                    errors.append(
                        (
                            (*base, "critical_illness", "segments", i, "upto"),
                            "missing (缺少此项): only the last segment is open-ended",
                        )
                    )
                if i and s.upto is not None and segs[i - 1].upto is not None and s.upto <= segs[i - 1].upto:
                    errors.append(((*base, "critical_illness", "segments", i, "upto"), "segments must rise"))
        errors.extend(group_problems(p, code, ins))
        errors.extend(tilt_problems(p, code, ins))
        errors.extend(account_problems(code, ins))
    for section in ("supplementary", "assistance"):
        sp = getattr(p, section)
        if sp is None:
            continue
        for i, c in enumerate(sp.classes):
            if c not in classes:
                errors.append(((section, "classes", i), f"'{c}' is not a benefit class"))
        for i, it in enumerate(sp.insutypes):
            if it not in p.insutype:
                errors.append(((section, "insutypes", i), f"'{it}' is not an insutype of this policy"))
    if p.assistance is not None:
        for code, cat in p.assistance.categories.items():
            for c in cat.class_limits:
                if c not in classes:
                    errors.append(
                        (("assistance", "categories", code, "class_limits", c), "not a benefit class")
                    )
    return errors


def _problems(
    r: Resolved, identities: set[str] | None
) -> tuple[PolicyVersion | None, list[tuple[Any, str]], SetAside]:
    """Schema errors, then the cross-reference checks of what the schema accepts (the values it refuses set
    aside, see :func:`validate_rest`), as (location, message); the version of what is valid."""
    version, errs, aside = validate_rest(r.data)
    problems = []
    for e in errs:
        msg = _message(e)
        if (
            r.parent is not None
            and e["type"] == "missing"
            and tuple(e["loc"]) in {(k,) for k in REQUIRED_OWN}
        ):
            msg += f": 继承的版本须写明自己的 {e['loc'][0]} (a version that inherits sets its own)"
        problems.append((e["loc"], msg))
    if version is not None:
        found = _consistency(version)
        if identities is not None:
            found += check_identities(identities, identity_locations(version))
        problems += [(loc, msg) for loc, msg in found if not aside.covers(loc, msg)]
    return version, problems, aside


def _validate(
    r: Resolved, reported: dict[Path, set[str]], identities: set[str] | None
) -> tuple[PolicyVersion | None, bool, list[str], SetAside]:
    """Validate a merged version; each problem is told in the file that wrote the value. Returns the version
    of what is valid, whether that is all of it, the problems told, and what was set aside.

    A problem written in an ancestor and already reported there is not repeated; one the merge
    brought about says which version inherits it."""
    version, problems, aside = _problems(r, identities)
    own = r.file.path
    reported.setdefault(own, set())
    lines = []
    for loc, msg in problems:
        where = r.sources.blame(loc)
        line = f"{where}: {format_path(loc)}: {msg}"
        if where == own:
            reported[own].add(line)
            lines.append(line)
        elif line not in reported.get(where, ()):
            lines.append(f"{line} (版本 {r.file.version} 继承此值 / inherited by {own})")
    return version, not problems, lines, aside


def check_ranges(loaded: list[LoadedVersion]) -> list[str]:
    """Effective ranges must chain without gaps or overlaps. A version without ``effective_to`` lasts until the
    next one starts (see :func:`effective_end`); the last one without it is open-ended."""
    errors = []
    ordered = sorted(loaded, key=lambda v: v.policy.effective_from)
    ids: dict[str, Path] = {}
    for lv in ordered:
        p = lv.policy
        if p.version in ids:
            errors.append(f"{lv.path}: version: '{p.version}' is also used by {ids[p.version]}")
        ids[p.version] = lv.path
        if p.effective_to is not None and p.effective_to < p.effective_from:
            errors.append(
                f"{lv.path}: effective_to: {p.effective_to} is before effective_from {p.effective_from}"
            )
    for prev, nxt in itertools.pairwise(ordered):
        a, b = prev.policy, nxt.policy
        if a.effective_from == b.effective_from:
            errors.append(
                f"{nxt.path}: effective_from: {b.effective_from} overlaps {prev.path} (same start date)"
            )
        elif a.effective_to is not None and a.effective_to >= b.effective_from:
            errors.append(
                f"{prev.path}: effective_to: {a.effective_to} overlaps {nxt.path} (starts {b.effective_from})"
            )
        elif a.effective_to is not None and a.effective_to + timedelta(days=1) < b.effective_from:
            errors.append(
                f"{prev.path}: effective_to: gap from {a.effective_to + timedelta(days=1)} to "
                f"{b.effective_from - timedelta(days=1)} before {nxt.path}"
            )
    return errors


def effective_end(loaded: list[LoadedVersion], i: int) -> date | None:
    """The last day a version is in force (its effective_to, or the day before the next starts)."""
    p = loaded[i].policy
    if p.effective_to is not None:
        return p.effective_to
    if i + 1 < len(loaded):
        return loaded[i + 1].policy.effective_from - timedelta(days=1)
    return None


def load_policy_dir(directory: Path, region: str | None = None) -> list[LoadedVersion]:
    """Every ``*.yaml`` in a policy folder, merged over what it inherits, validated, ordered by effective_from."""
    if not directory.is_dir():
        raise PolicyError(f"{directory}: 政策目录不存在 (policy folder not found)")
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise PolicyError(f"{directory}: 没有政策文件 (no *.yaml policy versions)")
    read, errors = [], []
    for f in files:
        pf, errs = read_policy_file(f)
        errors.extend(errs)
        if pf is not None:
            read.append(pf)
    resolved, errs = resolve(read)
    errors.extend(errs)
    identities, errs = known_identities(directory)
    errors.extend(errs)
    by_file: dict[Path, list[str]] = {}
    reported: dict[Path, set[str]] = {}
    loaded, dated = [], []
    for r in resolved:  # parents before children
        version, whole, lines, aside = _validate(r, reported, identities)
        by_file[r.file.path] = lines
        if version is None:
            continue
        if region is not None and version.region != region and not aside.covers(("region",)):
            lines.append(
                f"{r.sources.blame(('region',))}: region: '{version.region}' but the file is in the folder "
                f"of region {region}"
            )
        lv = LoadedVersion(r.file.path, version, r.sources, r.file.inherits)
        if not any(aside.covers((k,)) for k in ("version", "effective_from", "effective_to")):
            dated.append(lv)
        if whole:
            loaded.append(lv)
    errors.extend(dict.fromkeys(line for f in files for line in by_file.get(f, ())))
    if len(dated) == len(files):  # every version's dates known (one unknown would look like a gap)
        errors.extend(check_ranges(dated))
    if errors:
        raise PolicyError("\n".join(errors))
    return sorted(loaded, key=lambda v: v.policy.effective_from)


def region_policy_dir(region_or_path: str | Path, regions_dir: Path | None = None) -> tuple[Path, str | None]:
    """Accept a region code (990100) under ``regions_dir``, a region folder (regions/990100) or a policy folder.

    The regions folder is the caller's to give (the settings' ``regions_dir`` in the CLI and the registry):
    the policy compiler depends on this module and reads no configuration."""
    p = Path(region_or_path)
    if p.is_dir():
        if (p / "policy").is_dir():
            return p / "policy", p.name if p.name.isdigit() else None
        return p, p.parent.name if p.parent.name.isdigit() else None
    if regions_dir is None:
        raise PolicyError(
            f"{region_or_path}: 不是政策目录，且未给出 regions 目录 (no such folder; no regions_dir)"
        )
    return Path(regions_dir) / str(region_or_path) / "policy", str(region_or_path)


def load_region_policy(region_or_path: str | Path = "990100", regions_dir: Path | None = None):
    """Load, check and compile a region's policy into a :class:`PolicyBundle`."""
    from yibao.policy.compiler import compile_versions

    directory, region = region_policy_dir(region_or_path, regions_dir)
    return compile_versions(load_policy_dir(directory, region))
