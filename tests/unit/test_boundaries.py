"""The boundaries of house style §1, enforced: the import-linter contracts in pyproject.toml hold for src/yibao,
and they catch a forbidden import — direct, lazy inside a function, or indirect through a use case — when
one is added to a copy of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "pyproject.toml"


def lint_imports(src: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the package under ``src`` (first on the path), with this repository's contracts."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--config",
            str(CONFIG),
            "--no-cache",
            "--no-logo",
        ],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold():
    done = lint_imports(REPO / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_contracts_catch_a_forbidden_import(tmp_path):
    package = tmp_path / "src" / "yibao"
    shutil.copytree(REPO / "src" / "yibao", package, ignore=shutil.ignore_patterns("__pycache__"))
    _append(package / "money.py", "\n\nimport yibao.store.db  # noqa\n")  # direct
    _append(  # lazy, the way a configuration lookup creeps into a calculation
        package / "settlement" / "lines.py",
        "\n\ndef _region():\n    from yibao.config import get_settings\n\n    return get_settings().region\n",
    )
    _append(
        package / "enrollment" / "rules.py", "\n\nfrom yibao.enrollment import service  # noqa\n"
    )  # indirect
    _append(package / "store" / "bulk.py", "\n\nfrom yibao.api import fields  # noqa\n")  # a layer upwards
    done = lint_imports(tmp_path / "src")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "0 kept, 2 broken" in out
    assert "yibao.money is not allowed to import yibao.store" in out
    assert "yibao.settlement.lines is not allowed to import yibao.config" in out
    assert "yibao.enrollment.rules is not allowed to import yibao.store" in out
    assert "yibao.store is not allowed to import yibao.api" in out
