"""Load and check every policy version of a region.

Each error names the file and the key path, e.g.
``regions/990100/policy/2025.yaml: insutype 390 › inpatient › ratio › 3: 1.65 is not a ratio in [0, 1]``.
Every problem in every file is collected before anything is refused, so an
analyst sees the whole list at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from yibao.errors import InputError, PolicyError
from yibao.money import BP
from yibao.policy.schema import ALL, LEVELS, UNLIMITED, PolicyVersion
from yibao.yamlio import load_yaml

_MESSAGES = {
    "Field required": "missing (缺少此项)",
    "Extra inputs are not permitted": "unknown key (未知的键)",
}


def format_path(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if str(p) != ALL]
    if len(parts) >= 2 and parts[0] == "insutype":
        parts = [f"insutype {parts[1]}", *parts[2:]]
    return " › ".join(parts)


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


def load_version_file(path: Path) -> tuple[PolicyVersion | None, list[str]]:
    """Parse and validate one file; returns the version or the list of error lines."""
    try:
        raw = load_yaml(path)
    except InputError as exc:
        return None, [exc.message]
    if not isinstance(raw, dict):
        return None, [
            f"{path}: a policy file is a mapping with version, effective_from, benefit_classes, insutype …"
        ]
    try:
        version = PolicyVersion.model_validate(raw)
    except ValidationError as exc:
        return None, [f"{path}: {format_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
    problems = _consistency(version)
    if problems:
        return None, [f"{path}: {format_path(loc)}: {msg}" for loc, msg in problems]
    return version, []


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
    """Every ``*.yaml`` in a policy folder, validated and ordered by effective_from."""
    if not directory.is_dir():
        raise PolicyError(f"{directory}: 政策目录不存在 (policy folder not found)")
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise PolicyError(f"{directory}: 没有政策文件 (no *.yaml policy versions)")
    loaded, errors = [], []
    for f in files:
        version, errs = load_version_file(f)
        errors.extend(errs)
        if version is not None:
            if region is not None and version.region != region:
                errors.append(
                    f"{f}: region: '{version.region}' but the file is in the folder of region {region}"
                )
            loaded.append(LoadedVersion(f, version))
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
