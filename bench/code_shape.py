"""The shape of the code a change of the settlement path is judged by (issue 25): the largest modules and
functions, and the files a 2207 runs through.

    python bench/code_shape.py            # sizes, and the files one outpatient 2207 executes (SQLite)
    python bench/code_shape.py postgresql+psycopg://postgres@127.0.0.1:5432/yibao_shape   # … on PostgreSQL

"Files a 2207 passes through": the yibao source files with at least one line executed while the facade answers
one 2207 (after a 2201 and a 2204 of the same visit, and after a warm-up settlement, so that first-use work such
as compiling statements is not counted). Layer boundaries: consecutive calls whose modules lie in different
top-level packages (api → settlement → store …), counted along the call stack's transitions.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "yibao"
sys.path[:0] = [str(REPO), str(REPO / "src")]


def sizes(top: int = 12) -> None:
    modules, functions = [], []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(SRC.parent)
        modules.append((len(text.splitlines()), str(rel)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.lineno} {node.name}"))
    print(f"largest modules (of {len(modules)}, migrations aside):")
    for n, name in sorted(modules, reverse=True)[:top]:
        print(f"  {n:5d}  {name}")
    print(f"longest functions (of {len(functions)}):")
    for n, name in sorted(functions, reverse=True)[:top]:
        print(f"  {n:5d}  {name}")


def path_of_a_2207(url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/shape.db"
        os.environ.update(YIBAO_MODE="test", YIBAO_DATABASE_URL=url, YIBAO_REGIONS_DIR=str(REPO / "regions"))
        from tests import world
        from tests.world import RESIDENT, line

        from yibao.store import migrate
        from yibao.store.db import get_engine

        migrate.upgrade(get_engine(url))
        from tests.conftest import _clean

        _clean(get_engine(url))
        world.build(get_engine(url))

        def visit(tag: str) -> str:
            data = {"psn_no": RESIDENT, "insutype": "390", "begntime": "2025-03-01 09:00:00"}
            mdtrt = world.call_in_process("2201", {"data": data}, f"{tag}-1")["output"]["data"]["mdtrt_id"]
            world.call_in_process(
                "2204", {"feedetail": [line("1", "A1", "10.00", mdtrt_id=mdtrt)]}, f"{tag}-2"
            )
            return mdtrt

        def settle(tag: str, mdtrt: str) -> None:
            data = {"psn_no": RESIDENT, "mdtrt_id": mdtrt, "medfee_sumamt": "10.00", "insutype": "390"}
            assert world.call_in_process("2207", {"data": data}, f"{tag}-3")["infcode"] == 0

        settle("warm", visit("warm"))
        mdtrt = visit("seen")
        files: dict[str, int] = {}
        crossings = [0]
        stack: list[str] = []

        def package(filename: str) -> str | None:
            return filename.split("/src/yibao/")[1].split("/")[0] if "/src/yibao/" in filename else None

        def profile(frame, event, arg):
            if event == "call":
                name = frame.f_code.co_filename
                pkg = package(name)
                if pkg is not None:
                    files[name] = files.get(name, 0) + 1
                    if stack and stack[-1] != pkg:
                        crossings[0] += 1
                    stack.append(pkg)
                else:
                    stack.append(stack[-1] if stack else "")
            elif event == "return" and stack:
                stack.pop()

        sys.setprofile(profile)
        try:
            settle("seen", mdtrt)
        finally:
            sys.setprofile(None)
        print(
            f"one 2207 runs code in {len(files)} yibao files, {crossings[0]} calls across top-level packages:"
        )
        for name in sorted(files, key=lambda f: f.split("/src/")[1]):
            print(f"  {name.split('/src/')[1]} ({files[name]} calls)")


if __name__ == "__main__":
    sizes()
    path_of_a_2207(sys.argv[1] if len(sys.argv) > 1 else None)
