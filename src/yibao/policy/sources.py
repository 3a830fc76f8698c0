"""Where each value of a policy version comes from (数值来源).

A version that inherits (``inherits: "2025"``) takes most of its values from the
version it names. For every value of the effective version this module keeps
the file and version that wrote it and, when the file cites one, its legal
reference (依据). None of this enters the compiled bundle or its hash: it is kept
beside it, per version and per key path, for ``yibao policy show`` and for error
messages that name the file where a wrong value was written.

Key paths are tuples of the keys as written (``("insutype", "390", "caps",
"outpatient")``); list items are numbered from 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.policy.schema import ALL

Key = tuple[str, ...]


def format_path(loc: Iterable[Any]) -> str:
    """A key path as error messages print it: ``insutype 390 › inpatient › ratio › 3``."""
    parts = [str(p) for p in loc if str(p) != ALL]
    if len(parts) >= 2 and parts[0] == "insutype":
        parts = [f"insutype {parts[1]}", *parts[2:]]
    return " › ".join(parts)


def parse_key(text: str) -> Key | None:
    """``insutype.390.caps.outpatient`` or ``insutype 390 › caps › outpatient`` → a key path (None if empty parts)."""
    parts = [p.strip() for p in (text.split("›") if "›" in text else text.split("."))]
    if parts and parts[0].startswith("insutype "):
        parts[0:1] = parts[0].split(None, 1)
    if not parts or any(not p for p in parts):
        return None
    return tuple(parts)


def key_of(loc: Iterable[Any]) -> Key:
    """A validation error's location (tables normalised with ``*``) → the key path as written."""
    return tuple(str(p) for p in loc if str(p) != ALL)


def leaves(value: Any, key: Key = ()) -> Iterator[tuple[Key, Any]]:
    """Every value under ``key`` that is not a map, in file order: scalars, lists of scalars (a list is
    set whole, ``[inpatient, chronic]``), empty maps; a list of maps is followed item by item."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, (*key, str(k)))
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, v in enumerate(value):
            yield from leaves(v, (*key, str(i)))
    else:
        yield key, value


def is_under(key: Key, ancestor: Key) -> bool:
    return key[: len(ancestor)] == ancestor


def show_value(value: Any) -> str:
    """A value as written in the file (exact decimals, ISO dates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return "~"
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}"
    return str(value)


@dataclass(frozen=True)
class Setting:
    """One value of a version: the file (and version) that wrote it and the reference it cites."""

    value: Any  # as written; None for a removal
    file: Path
    version: str
    reference: str | None = None


@dataclass(frozen=True)
class VersionSources:
    """Per key path of one effective version: who set each value, and what was removed by whom."""

    chain: tuple[Path, ...]  # the root ancestor's file first, the version's own file last
    settings: Mapping[Key, Setting]  # every leaf of the effective version, in its order
    removals: Mapping[Key, Setting]  # keys an ancestor had and a later file removed (written ``~``)

    @property
    def file(self) -> Path:
        return self.chain[-1]

    def origin(self, loc: Iterable[Any]) -> Setting | None:
        """The setting of a path or of its nearest ancestor (a table written as one scalar)."""
        key = key_of(loc)
        for k in range(len(key), 0, -1):
            found = self.settings.get(key[:k])
            if found is not None:
                return found
        return None

    def removal(self, loc: Iterable[Any]) -> Setting | None:
        """The removal (``~``) of a path or of its nearest removed ancestor."""
        key = key_of(loc)
        for k in range(len(key), 0, -1):
            found = self.removals.get(key[:k])
            if found is not None:
                return found
        return None

    def blame(self, loc: Iterable[Any]) -> Path:
        """The file where a problem at ``loc`` was written: among the values at, under or (failing
        those) around the path, the one set by the most derived file — the latest edit."""
        key = key_of(loc)
        rank = {f: i for i, f in enumerate(self.chain)}
        every = [*self.settings.items(), *self.removals.items()]
        for k in range(len(key), -1, -1):
            files = [s.file for q, s in every if is_under(q, key[:k])]
            if files:
                return max(files, key=rank.__getitem__)
        return self.file

    def by_file(self) -> list[tuple[Path, str, list[tuple[Key, Setting]], list[tuple[Key, Setting]]]]:
        """(file, version, values it set, keys it removed), the version's own file first."""
        out = []
        for f in reversed(self.chain):
            mine = [(k, s) for k, s in self.settings.items() if s.file == f]
            gone = [(k, s) for k, s in self.removals.items() if s.file == f]
            version = next((s.version for _, s in (*mine, *gone)), f.stem)
            out.append((f, version, mine, gone))
        return out

    def references(self) -> dict[Key, str]:
        """Key path → the reference its value cites (values without one are left out)."""
        return {k: s.reference for k, s in self.settings.items() if s.reference}
