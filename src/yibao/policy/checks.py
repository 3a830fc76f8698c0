"""Checks of a policy version beyond its schema, for :mod:`yibao.policy.loader`.

* Validation that goes on past wrong values: a value the schema refuses is set aside — replaced by a
  neutral stand-in (``"0"``, ``[]``…) or, failing that, dropped — and the rest validated again, so the
  cross-reference checks still run and every problem of a file is told in one pass. Problems those
  checks find at, under or around a value set aside are not told (they would be the stand-in's).
* Person identities (``psn_idet_type``, 人员身份类别) a version names must be in the dictionaries:
  the national ``regions/000000/dictionaries/psn_idet_type.yaml`` and the region's own, which extends it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from yibao.errors import InputError
from yibao.policy.schema import ALL, PolicyVersion
from yibao.policy.sources import Key, is_under, key_of
from yibao.yamlio import load_yaml

_ROUNDS = 200  # each round sets aside at least one value: a bound, never reached by a real file
_ABSENT = object()


def _locate(data: Any, loc: Iterable[Any]) -> tuple:
    """The keys as written that lead from ``data`` as far as a validation error's ``loc`` goes (tables are
    normalised with ``*``, which the file may not have written)."""
    here, path = data, []
    for part in loc:
        if isinstance(here, dict):
            key = next((k for k in here if str(k) == str(part)), _ABSENT)
            if key is _ABSENT:
                if part == ALL:
                    continue
                return tuple(path)
            here = here[key]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            key, here = part, here[part]
        else:
            return tuple(path)
        path.append(key)
    return tuple(path)


def _stand_in(err: dict, current: Any) -> Any:
    """A value of the kind the schema asked for, that says nothing (``_ABSENT``: none will do)."""
    kind = err["type"]
    if kind == "too_short":
        return ["0"] if isinstance(current, list) else _ABSENT
    if kind == "list_type":
        return ["0"]
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return {}
    if kind == "literal_error":
        first = re.match(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        return first.group(1) if first else _ABSENT
    return "0"


def _at(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


_NAMED = ("benefit_classes", "chronic_diseases", "insutype")  # maps whose names the whole version refers to
_NAMED_IN_INSUTYPE = ("caps", "psn_types")  # maps whose names the insutype's own tables refer to


class SetAside:
    """The values set aside to validate the rest of a version, and what the checks of the rest cannot trust:
    the values at, under or around them; an entry of a map whose name is referred to (a class, a cap, a
    disease…) once it is dropped or, for a class, any of its terms; every reference to a map of names
    replaced whole."""

    def __init__(self) -> None:
        self.paths: list[Key] = []
        self.names: set[str] = set()
        self.scopes: list[Key] = []  # nothing under these is told

    def add(self, path: tuple, dropped: bool = False) -> None:
        key = key_of(path)
        self.paths.append(key)
        if len(key) < 2 and (not key or key[0] in _NAMED):
            self.scopes.append(())
        elif key[0] == "insutype" and len(key) == 3 and key[2] in _NAMED_IN_INSUTYPE:
            self.scopes.append(key[:2])
        elif key[0] == "benefit_classes":  # a class's terms (med_types, requires_disease) are referred to
            self.names.add(key[1])
        elif dropped:
            self.names.add(key[-1])

    def covers(self, loc: Iterable[Any], message: str = "") -> bool:
        """Whether a problem at ``loc`` may be the doing of a value set aside."""
        key = key_of(loc)
        if any(is_under(key, s) for s in self.scopes):
            return True
        if any(is_under(key, p) or is_under(p, key) for p in self.paths):
            return True
        return any(n in key or re.search(rf"(?<!\w){re.escape(n)}(?!\w)", message) for n in self.names)


def validate_rest(data: dict, model: type[BaseModel] = PolicyVersion) -> tuple[Any, list[dict], SetAside]:
    """``model`` validated from ``data``: the schema's errors, and the model of what is valid once every
    wrong value is set aside (None when nothing sensible remains). ``data`` itself is left as it was.

    A wrong value is replaced by a stand-in of the kind asked for (twice at most: the second error says the
    kind); a key not written gets one; what no stand-in satisfies is dropped, one per round (dropping a
    list item renumbers the rest)."""
    aside = SetAside()
    try:
        return model.model_validate(data), [], aside
    except ValidationError as exc:
        first = errs = exc.errors()
    work = copy.deepcopy(data)
    tries: dict[tuple, int] = {}
    for _ in range(_ROUNDS):
        drop: tuple | None = None
        acted: set[tuple] = set()
        for e in errs:
            loc = tuple(e["loc"])
            path = _locate(work, loc)
            missing = e["type"] == "missing" and len(path) == len(loc) - 1
            target = (*path, loc[-1]) if missing else path
            if not target:  # the version as a whole: nothing to set aside
                return None, first, aside
            if target in acted:
                continue
            acted.add(target)
            value = _stand_in(e, None if missing else _at(work, target))
            if (
                e["type"] == "extra_forbidden"
                or "[key]" in loc
                or tries.get(target, 0) >= 2
                or value is _ABSENT
            ):
                if drop is None:
                    drop = path if missing else target  # a key not written cannot be dropped: its holder is
                continue
            tries[target] = tries.get(target, 0) + 1
            _at(work, target[:-1])[target[-1]] = value
            aside.add(target)
        if drop is not None:
            if not drop:
                return None, first, aside
            holder = _at(work, drop[:-1])
            del holder[drop[-1]]
            aside.add(drop, dropped=isinstance(holder, dict))
        try:
            return model.model_validate(work), first, aside
        except ValidationError as exc:
            errs = exc.errors()
    return None, first, aside


# --- person identities ------------------------------------------------------------------------------

IDENTITIES = "psn_idet_type"


def _codes(path: Path) -> set[str]:
    spec = load_yaml(path)
    values = spec.get("values") if isinstance(spec, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, dict) and "code" in v for v in values):
        raise InputError(
            f"{path}: 字典文件应为 {{type, name, values: [{{code, name}}, …]}} (not a dictionary)"
        )
    return {str(v["code"]) for v in values}


def known_identities(policy_dir: Path) -> tuple[set[str] | None, list[str]]:
    """The ``psn_idet_type`` codes a region's policy may name: the national dictionary's and the region's
    own (``<regions>/000000/dictionaries``, ``<regions>/<admdvs>/dictionaries``). None when there is no
    national dictionary (a policy folder outside a ``regions`` tree): then identities are not checked."""
    region_dir = policy_dir.resolve().parent
    national = region_dir.parent / "000000" / "dictionaries" / f"{IDENTITIES}.yaml"
    if not national.is_file():
        return None, []
    codes: set[str] = set()
    for f in (national, region_dir / "dictionaries" / f"{IDENTITIES}.yaml"):
        if f.is_file():
            try:
                codes |= _codes(f)
            except InputError as exc:
                return None, [exc.message]
    return codes, []


def _tilts(section: Any, base: tuple) -> list[tuple[tuple, Any]]:
    """A section's tilts (倾斜) with their key paths: one ``tilt``, or ``tilts`` by name."""
    found = []
    if getattr(section, "tilt", None) is not None:
        found.append(((*base, "tilt"), section.tilt))
    for name, t in (getattr(section, "tilts", None) or {}).items():
        found.append(((*base, "tilts", name), t))
    return found


def identity_locations(p: PolicyVersion) -> list[tuple[tuple, str]]:
    """Every place a version names a person identity, as (key path, code). A new list of identities in the
    schema is added here."""
    found: list[tuple[tuple, str]] = []
    tilts = []
    for code, ins in p.insutype.items():
        tilts += _tilts(ins.critical_illness, ("insutype", code, "critical_illness"))
    tilts += _tilts(p.supplementary, ("supplementary",))
    for loc, tilt in tilts:
        found += [((*loc, "identities", i), c) for i, c in enumerate(tilt.identities)]
    if p.assistance is not None:
        found += [(("assistance", "categories", c), c) for c in p.assistance.categories]
    if p.contribution is not None:
        shares = p.contribution.resident.assistance_shares
        found += [(("contribution", "resident", "assistance_shares", c), c) for c in shares]
    return found


def check_identities(known: set[str], locations: Iterable[tuple[tuple, str]]) -> list[tuple[tuple, str]]:
    """Each code of ``locations`` that is not in ``known``, as (key path, message)."""
    return [
        (loc, f"'{code}' 不在人员身份类别字典中 (not a {IDENTITIES} code of the dictionaries)")
        for loc, code in locations
        if code not in known
    ]
