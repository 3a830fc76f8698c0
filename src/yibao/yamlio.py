"""YAML reading that keeps numbers exact.

Policy analysts write ``ratio: 0.88`` as often as ``ratio: "0.88"``; PyYAML would
turn the first into a binary float. Here every YAML float becomes a ``Decimal``
built from the text as written, so money and ratios stay exact from the file on.
"""

from __future__ import annotations

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


def load_yaml_text(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=ExactLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: YAML 格式错误: {problem}") from None


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: 文件不存在 (file not found)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: 不是 UTF-8 文本 (not UTF-8)") from None
    return load_yaml_text(text, str(path))
