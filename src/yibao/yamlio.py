"""YAML reading that keeps numbers exact.

Policy analysts write ``ratio: 0.88`` as often as ``ratio: "0.88"``; PyYAML would
turn the first into a binary float. Here every YAML float becomes a ``Decimal``
built from the text as written, so money and ratios stay exact from the file on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from yibao.errors import InputError


class ExactLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals (from the source text, never via float)."""


def _decimal(loader: ExactLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    lowered = text.lower()
    if lowered in (".inf", "+.inf", "-.inf", ".nan"):
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite number", node.start_mark
        )
    return Decimal(text)


ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _syntax_error(exc: yaml.YAMLError, source: str) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return InputError(f"{where}: YAML 格式错误: {problem}")


def load_yaml_text(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=ExactLoader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, source) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: 文件不存在 (file not found)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: 不是 UTF-8 文本 (not UTF-8)") from None


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    return load_yaml_text(_read_text(path), str(path))


class KeyedLoader(ExactLoader):
    """ExactLoader for files checked key by key (policy files): a date that does not exist (2023-02-30)
    is kept as the text written, for the schema to refuse at its key, instead of failing the whole file."""


def _date_or_text(loader: KeyedLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


KeyedLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_or_text)


@dataclass(frozen=True)
class DuplicateKey:
    """A key written twice in one mapping (YAML would silently keep the last value)."""

    key: tuple[str, ...]  # the key path of the repeated key, list items numbered from 0
    line: int  # the line of the repeat (from 1)
    first: int  # the line where the key was first written


def _duplicates(node: yaml.Node, key: tuple[str, ...], seen: set[int]) -> Iterator[DuplicateKey]:
    if id(node) in seen:  # an alias of a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else None
            if name is not None and k.tag != "tag:yaml.org,2002:merge":
                if name in lines:  # "390" and 390 are the same key to a reader
                    yield DuplicateKey((*key, name), k.start_mark.line + 1, lines[name])
                else:
                    lines[name] = k.start_mark.line + 1
            yield from _duplicates(v, (*key, str(name)), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            yield from _duplicates(v, (*key, str(i)), seen)


def load_yaml_keyed(path: str | Path) -> tuple[Any, list[DuplicateKey]]:
    """A file read with :class:`KeyedLoader`, and every key written twice in one of its mappings."""
    path = Path(path)
    loader = KeyedLoader(_read_text(path))
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        return loader.construct_document(node), list(_duplicates(node, (), set()))
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, str(path)) from None
    finally:
        loader.dispose()
