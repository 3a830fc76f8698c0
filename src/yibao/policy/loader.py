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

from pydantic import ValidationError

from yibao.errors import PolicyError
from yibao.money import BP
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
    errors: list[tuple[tuple, str]] = []
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
            check_table((*loc, "ratio"), cb.ratio, psn_types, by_level=True)
            if cb.deductible.amount is not None:
                check_table((*loc, "deductible", "amount"), cb.deductible.amount, psn_types, by_level=True)
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
                for d in sorted(set(p.chronic_diseases) - have):
                    errors.append(
                        (
                            (*loc, "disease_caps", d),
                            "missing (缺少此项): every chronic disease needs a cap (or 'unlimited')",
                        )
                    )
                for d in sorted(have - set(p.chronic_diseases)):
                    errors.append(((*loc, "disease_caps", d), "not in chronic_diseases"))
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
            if ci.tilt is not None:
                for i, s in enumerate(segs):
                    if s.ratio + ci.tilt.ratio_add > BP:
                        errors.append(
                            (
                                (*base, "critical_illness", "tilt", "ratio_add"),
                                f"segment {i} ratio + ratio_add exceeds 1",
                            )
                        )
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


def _problems(r: Resolved) -> tuple[PolicyVersion | None, list[tuple[Any, str]]]:
    """Schema errors, or (once the schema passes) the cross-reference checks, as (location, message)."""
    try:
        version = PolicyVersion.model_validate(r.data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = _message(e)
            if (
                r.parent is not None
                and e["type"] == "missing"
                and tuple(e["loc"]) in {(k,) for k in REQUIRED_OWN}
            ):
                msg += f": 继承的版本须写明自己的 {e['loc'][0]} (a version that inherits sets its own)"
            problems.append((e["loc"], msg))
        return None, problems
    return version, _consistency(version)


def _validate(r: Resolved, reported: dict[Path, set[str]]) -> tuple[PolicyVersion | None, list[str]]:
    """Validate a merged version; each problem is told in the file that wrote the value.

    A problem written in an ancestor and already reported there is not repeated; one the merge
    brought about says which version inherits it."""
    version, problems = _problems(r)
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
    return (None if problems else version), lines


def check_ranges(loaded: list[LoadedVersion]) -> list[str]:
    """Effective ranges must chain without gaps or overlaps; only the last may be open-ended."""
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
    by_file: dict[Path, list[str]] = {}
    reported: dict[Path, set[str]] = {}
    loaded = []
    for r in resolved:  # parents before children
        version, lines = _validate(r, reported)
        by_file[r.file.path] = lines
        if version is not None:
            if region is not None and version.region != region:
                lines.append(
                    f"{r.sources.blame(('region',))}: region: '{version.region}' but the file is in the folder "
                    f"of region {region}"
                )
            loaded.append(LoadedVersion(r.file.path, version, r.sources, r.file.inherits))
    errors.extend(dict.fromkeys(line for f in files for line in by_file.get(f, ())))
    if not errors:
        errors = check_ranges(loaded)
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
