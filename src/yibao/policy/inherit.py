"""Versions that say only what changed (继承): ``inherits``, overrides, removals and references.

A policy file may name another version of the same region folder::

    inherits: "2025"
    version: "2026"
    title: 示例市医疗保障待遇政策（2026年版）
    effective_from: 2026-01-01
    insutype:
      "390":
        caps:
          outpatient: {value: "800.00", reference: "示例市医疗保障局 2025年第7号公告（示例） 第二条"}
        critical_illness:
          tilt: ~                       # removes the parent's tilt

The effective version is the parent's with the file merged in, as a JSON Merge
Patch (RFC 7386) does: maps merged key by key, recursively; a scalar or a list
replaces the parent's whole; ``~`` (null) removes the key. A value written as
``{value: …, reference: …}`` carries its citation and is set whole (never merged);
a top-level ``references:`` map cites key paths the file sets. ``version``,
``title``, ``effective_from`` and ``effective_to`` belong to each version and are
never inherited. Chains are followed (2027 → 2026 → 2025); cycles, unknown
parents and parents of another region are refused naming the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yibao.errors import InputError
from yibao.policy.sources import Key, Setting, VersionSources, format_path, is_under, leaves, parse_key
from yibao.yamlio import load_yaml_keyed

OWN_KEYS = ("version", "title", "effective_from", "effective_to")  # a version's own, never inherited
REQUIRED_OWN = ("version", "title", "effective_from")


@dataclass(frozen=True, eq=False)  # one per file: compared by identity, never by content
class PolicyFile:
    """One file as written: its values (citations unwrapped), what it inherits and what it cites."""

    path: Path
    data: dict  # without ``inherits`` and ``references``; ``{value:, reference:}`` replaced by the value
    inherits: str | None
    whole: frozenset[Key]  # keys written as {value: …}: set whole, never merged
    refs: dict[Key, str]  # key path → citation

    @property
    def declared_version(self) -> str | None:
        v = self.data.get("version")
        return str(v) if isinstance(v, str | int) and not isinstance(v, bool) else None

    @property
    def version(self) -> str:
        """The version as written, or the file's name when it has none (for messages)."""
        return self.declared_version or self.path.stem

    def reference(self, key: Key) -> str | None:
        """The citation of a key this file sets: its own, or the nearest cited ancestor's."""
        for k in range(len(key), -1, -1):
            if key[:k] in self.refs:
                return self.refs[key[:k]]
        return None


@dataclass(frozen=True, eq=False)
class Resolved:
    """A version with its parents merged in (not yet validated), and the source of every value."""

    file: PolicyFile
    data: dict
    sources: VersionSources
    parent: Resolved | None


def _is_wrapped(value: dict) -> bool:
    return "value" in value and {str(k) for k in value} <= {"value", "reference"}


def _unwrap(value: Any, key: Key, f: dict, errors: list[str]) -> Any:
    """Replace every ``{value: …, reference: …}`` by its value, noting the key and its citation."""
    if isinstance(value, dict) and _is_wrapped(value):
        f["whole"].add(key)
        if "reference" in value:
            ref = value["reference"]
            if isinstance(ref, str) and ref.strip():
                f["refs"][key] = ref.strip()
            else:
                errors.append(
                    f"{f['path']}: {format_path((*key, 'reference'))}: 依据须为文字 "
                    f"(a reference is the text of a citation: document and article; got {ref!r})"
                )
        value = value["value"]
    if isinstance(value, dict):
        return {k: _unwrap(v, (*key, str(k)), f, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, (*key, str(i)), f, errors) for i, v in enumerate(value)]
    return value


def _inherits(raw: Any, path: Path, errors: list[str]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not str(raw).strip():
        errors.append(
            f'{path}: inherits: 须为本统筹区的一个版本号 (the version it inherits, e.g. "2025"; got {raw!r})'
        )
        return None
    text = str(raw).strip()
    if "/" in text or "\\" in text or text.endswith((".yaml", ".yml")):
        errors.append(
            f"{path}: inherits: '{text}': 只能继承本统筹区目录中的版本 "
            '(name a version of this region\'s folder, e.g. "2025", not a file or another region)'
        )
        return None
    return text


def _references(raw: Any, f: dict, errors: list[str]) -> None:
    """The top-level ``references:`` map: key path → citation, each naming a key this file sets."""
    if raw is None:
        return
    path = f["path"]
    if not isinstance(raw, dict):
        errors.append(
            f"{path}: references: 须为 键路径 → 依据 的映射 (a map of key path → citation; got {raw!r})"
        )
        return
    for text, ref in raw.items():
        key = parse_key(str(text))
        where = f"{path}: references › {text}"
        if key is None:
            errors.append(f"{where}: 不是键路径 (not a key path such as insutype.390.caps.outpatient)")
        elif not isinstance(ref, str) or not ref.strip():
            errors.append(f"{where}: 依据须为文字 (a reference is the text of a citation; got {ref!r})")
        elif key in f["refs"]:
            errors.append(f"{where}: 重复的依据 (already cited by a {{value:, reference:}} at that key)")
        else:
            f["refs"][key] = ref.strip()


def _check_cited(pf: PolicyFile, errors: list[str]) -> None:
    """A citation must name a value this file sets (or a section holding some)."""
    written = [k for k, _ in leaves(pf.data)]
    for key in pf.refs:
        if not any(is_under(w, key) for w in written):
            errors.append(
                f"{pf.path}: references › {format_path(key)}: 本文件未设定此项 "
                "(this file sets no value there; cite where the value is written)"
            )


def read_policy_file(path: Path) -> tuple[PolicyFile | None, list[str]]:
    """Parse one file and separate what it says about inheritance and citations from its values."""
    try:
        raw, duplicates = load_yaml_keyed(path)
    except InputError as exc:
        return None, [exc.message]
    twice = [
        f"{path}: {format_path(d.key)}: 重复的键 (duplicate key: written on line {d.first} and again on line "
        f"{d.line}; write each key once)"
        for d in duplicates
    ]
    if not isinstance(raw, dict):
        return None, [
            f"{path}: a policy file is a mapping with version, effective_from, benefit_classes, insutype …"
        ]
    errors: list[str] = []
    raw = dict(raw)
    inherits = _inherits(raw.pop("inherits", None), path, errors)
    if errors:  # what it inherits is unknown: checking it alone would only list what it does not repeat
        return None, [*twice, *errors]
    references = raw.pop("references", None)
    f: dict[str, Any] = {"path": path, "whole": set(), "refs": {}}
    data = _unwrap(raw, (), f, errors)
    _references(references, f, errors)
    pf = PolicyFile(path, data, inherits, frozenset(f["whole"]), f["refs"])
    _check_cited(pf, errors)
    return pf, [*twice, *errors]


def merge(base: dict, patch: dict, whole: frozenset[Key], key: Key = ()) -> tuple[dict, list[Key], list[Key]]:
    """``patch`` over ``base``: maps merged key by key; other values, and values written whole, replace;
    ``None`` removes. Returns the merged map, the keys replaced or removed, and removals of absent keys."""
    out = dict(base)
    names = {str(k): k for k in base}
    replaced: list[Key] = []
    absent: list[Key] = []
    for k, v in patch.items():
        q = (*key, str(k))
        have = names.get(str(k), k)
        if v is None:
            if str(k) in names:
                del out[have]
                replaced.append(q)
            else:
                absent.append(q)
        elif q in whole or not isinstance(v, dict) or not isinstance(out.get(have), dict):
            out[have] = v
            replaced.append(q)
        else:
            out[have], r, a = merge(out[have], v, whole, q)
            replaced += r
            absent += a
    return out, replaced, absent


def _get(data: Any, key: Key) -> Any:
    for k in key:
        data = data[int(k)] if isinstance(data, list) else next(v for n, v in data.items() if str(n) == k)
    return data


def _sources(pf: PolicyFile, data: dict, parent: Resolved | None, replaced: list[Key]) -> VersionSources:
    """Who set each leaf of the merged ``data``: the file for what it replaced, else the parent's source."""
    mine: dict[Key, Setting] = {}
    removals: dict[Key, Setting] = {}
    for r in replaced:
        value = _get(pf.data, r)
        if value is None and parent is not None and r[0] not in OWN_KEYS:
            removals[r] = Setting(None, pf.path, pf.version, pf.reference(r))
        else:
            for q, leaf in leaves(value, r):
                mine[q] = Setting(leaf, pf.path, pf.version, pf.reference(q))
    if parent is not None:
        removals = {
            **{k: s for k, s in parent.sources.removals.items() if not any(is_under(k, r) for r in replaced)},
            **removals,
        }
    inherited = parent.sources.settings if parent is not None else {}
    emptied = Setting({}, pf.path, pf.version)  # a map whose every key this file removed
    settings = {q: mine.get(q) or inherited.get(q) or emptied for q, _ in leaves(data)}
    chain = (*(parent.sources.chain if parent else ()), pf.path)
    return VersionSources(chain, settings, removals)


def _base(pf: PolicyFile) -> Resolved:
    replaced = [(str(k),) for k in pf.data]
    return Resolved(pf, pf.data, _sources(pf, pf.data, None, replaced), None)


def _inherit(pf: PolicyFile, parent: Resolved, errors: list[str]) -> Resolved:
    """Merge a file over its resolved parent; a version's own keys are its own."""
    pregion, cregion = parent.data.get("region"), pf.data.get("region")
    if cregion is not None and str(cregion) != str(pregion):
        errors.append(
            f"{pf.path}: region: '{cregion}' but it inherits '{pf.inherits}' ({parent.file.path}) of region "
            f"{pregion}: 只能继承同一统筹区的版本 (a version inherits only from its own region)"
        )
    base = {k: v for k, v in parent.data.items() if k not in OWN_KEYS}
    own = {k: v for k, v in pf.data.items() if k in OWN_KEYS}
    patch = {k: v for k, v in pf.data.items() if k not in OWN_KEYS}
    data, replaced, absent = merge(base, patch, pf.whole)
    for q in absent:
        errors.append(
            f"{pf.path}: {format_path(q)}: 无可删除 (nothing to remove: version {parent.file.version} "
            "has no such key)"
        )
    data = {**{k: data[k] for k in ("region",) if k in data}, **own, **data}  # the version's own keys first
    replaced += [(k,) for k in own]
    return Resolved(pf, data, _sources(pf, data, parent, replaced), parent)


def _parent(pf: PolicyFile, by_version: dict[str, list[PolicyFile]]) -> tuple[PolicyFile | None, str]:
    """The file whose version ``pf`` inherits, or why there is none."""
    found = by_version.get(pf.inherits or "", [])
    if len(found) == 1:
        return found[0], ""
    if found:
        names = ", ".join(str(f.path) for f in found)
        return None, f"{pf.path}: inherits: '{pf.inherits}' is the version of several files ({names})"
    known = ", ".join(sorted(by_version)) or "none"
    return None, (
        f"{pf.path}: inherits: '{pf.inherits}' 不是本统筹区的版本 "
        f"(no file of this folder has version '{pf.inherits}'; versions: {known})"
    )


def _chain(pf: PolicyFile, by_version: dict[str, list[PolicyFile]]) -> tuple[list[PolicyFile], str]:
    """``pf`` and its ancestors, root last; or the reason the chain cannot be followed."""
    chain = [pf]
    while chain[-1].inherits is not None:
        parent, why = _parent(chain[-1], by_version)
        if parent is None:
            if len(chain) == 1:
                return [], why
            return [], (
                f"{pf.path}: inherits: '{pf.inherits}': 上级版本无法读取，本版本未校验 "
                f"(an ancestor cannot be resolved, see {chain[-1].path}; this version was not checked)"
            )
        if parent in chain:
            names = " → ".join([*(f.version for f in chain[chain.index(parent) :]), parent.version])
            if parent is pf:
                return [], f"{pf.path}: inherits: '{pf.inherits}' 形成循环继承 (makes a cycle: {names})"
            return [], (
                f"{pf.path}: inherits: '{pf.inherits}': 上级版本循环继承，本版本未校验 "
                f"(its ancestors make a cycle: {names}; this version was not checked)"
            )
        chain.append(parent)
    return chain, ""


def resolve(files: list[PolicyFile]) -> tuple[list[Resolved], list[str]]:
    """Every file whose chain can be followed, merged over its ancestors; parents before children."""
    by_version: dict[str, list[PolicyFile]] = {}
    for pf in files:
        if pf.declared_version is not None:
            by_version.setdefault(pf.declared_version, []).append(pf)
    done: dict[Path, Resolved] = {}
    errors: list[str] = []
    for pf in files:
        chain, why = _chain(pf, by_version)
        if why:
            errors.append(why)
            continue
        for f in reversed(chain):  # root first
            if f.path not in done:
                parent = done.get(chain[chain.index(f) + 1].path) if f.inherits else None
                done[f.path] = _inherit(f, parent, errors) if parent is not None else _base(f)
    return list(done.values()), errors
