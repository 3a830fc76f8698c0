"""What ``pip install yibao`` gets is enough to run it. ``make setup`` installs requirements.lock, which pins the
tests' packages too, so a runtime dependency missing from pyproject.toml passes every other test and fails only
where the package is installed on its own (``greenlet`` did: ``yibao serve`` stopped at "No module named
greenlet"). Here: every third-party module src/yibao imports — at the top, inside functions, or loaded by name by
the server — comes from a distribution among pyproject.toml's runtime dependencies (not only the dev extra), and
every file the package reads at run time is in its package data. ``.ci/serve-from-wheel`` proves the same on a
built wheel in a fresh venv; this test names the module and the file that imports it in a second."""

from __future__ import annotations

import ast
import sys
import tomllib
from collections import defaultdict
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "yibao"

# modules the running server imports though no `import` in src/yibao names them
LOADED_BY_OTHERS = {
    "httptools": "uvicorn.protocols.http.httptools_impl, which yibao.api.http_protocol subclasses",
    "uvloop": "yibao serve: uvicorn runs its event loop on uvloop when installed (docs/performance.md)",
    "python_multipart": "FastAPI's Form() in api/routes_rest.py (POST /api/token), which refuses the route without it",
}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _declared(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module → the files of src/yibao that import it (absolute imports anywhere in the file)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(REPO))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), where)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in ("__future__", "yibao"):
                    found[top].add(where)
    for module, why in LOADED_BY_OTHERS.items():
        found[module].add(why)
    return found


def test_the_walk_sees_imports_inside_functions():
    imports = third_party_imports()
    assert "src/yibao/commands/serve.py" in imports["uvicorn"]  # `import uvicorn` inside serve()
    assert "src/yibao/store/cooperative.py" in imports["greenlet"]
    assert not {"os", "ast", "yibao", "__future__"} & imports.keys()


def test_every_imported_module_comes_from_a_declared_runtime_dependency():
    project = _pyproject()["project"]
    runtime = _declared(project["dependencies"])
    dev = _declared(project["optional-dependencies"]["dev"])
    providers = packages_distributions()
    problems = []
    for module, users in sorted(third_party_imports().items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        users_text = "; ".join(sorted(users))
        if not dists:
            problems.append(
                f"{module} (needed by {users_text}) is not installed, so no distribution is known"
            )
        elif not dists & runtime:
            where = "only in the dev extra" if dists & dev else "not declared"
            problems.append(
                f"{module} (needed by {users_text}) comes from {', '.join(sorted(dists))}: {where} — "
                f"add it to [project] dependencies in pyproject.toml"
            )
    assert not problems, "\n".join(problems)


def test_every_file_read_at_run_time_is_in_the_package_data():
    """Python modules ship as part of their package (with pyproject's ``packages.find`` a directory without
    ``__init__.py``, such as ``yibao/api``, is a namespace package and ships too); every other file — roles.yaml,
    the Alembic template — only through package data."""
    setuptools = _pyproject()["tool"]["setuptools"]
    namespaces = setuptools["packages"]["find"].get("namespaces", True)  # pyproject's default
    patterns = setuptools["package-data"]["yibao"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    missing = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        dirs = [d for d in (path.parent, *path.parent.parents) if d.is_relative_to(PACKAGE)]
        a_module = path.suffix == ".py" and all(
            d.name.isidentifier() and (namespaces or (d / "__init__.py").is_file()) for d in dirs
        )
        if not a_module and path not in shipped:
            missing.append(str(path.relative_to(PACKAGE)))
    assert not missing, f"not in [tool.setuptools.package-data] yibao, so not in the wheel: {missing}"
