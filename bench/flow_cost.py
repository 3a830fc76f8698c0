"""Benchmark: what one settlement (2201 → 2204 ×10 lines → 2207) costs, counted rather than timed.

The throughput figure of ``bench/api_load.py`` moves by ±20 % from one minute to the next on a shared VM,
more than most changes move it. This script counts what does not depend on the machine's mood: the
flows run in process, one at a time, through the facade's own route (``facade_route.answer``, calls as
greenlets on an event loop, as the server runs them) against PostgreSQL, and it prints

* round trips to PostgreSQL and statements executed per settlement (BEGIN and COMMIT included);
* with ``--instructions``: the Python process's instructions per settlement, counted by valgrind's
  callgrind — repeatable to a fraction of a percent whatever else runs. The count includes the HIS
  client's own work (signing, JSON), which is the same on both sides of a comparison; PostgreSQL's
  work is not in it (its statements are counted above).

    .venv/bin/python bench/flow_cost.py [--flows 200] [--instructions]

Compare two trees with ``PYTHONPATH=<other tree>/src:bench .venv/bin/python bench/flow_cost.py …``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import subprocess
import sys

from _his import INSTITUTIONS, REPO, Client, build_world, drop_database, fresh_database, outpatient

PERSONS = 100  # most settlements are a person's second or later of the year, as in a city's steady state


class _InProcess:
    """The HIS's connection, answered by the facade's route in this process (no HTTP)."""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        from starlette.datastructures import Headers

        from yibao.api import facade_route

        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return await facade_route.answer(body, Headers(raw=raw))

    def close(self) -> None:
        pass


def run_flows(url: str, flows: int, tag: str, count: bool) -> tuple[int, int]:
    """Run ``flows`` settlements after a warm-up; returns (round trips, statements) over them."""
    os.environ.update(YIBAO_DATABASE_URL=url, YIBAO_MODE="test", YIBAO_REGIONS_DIR=str(REPO / "regions"))
    from yibao.api import fsi_handlers  # noqa: F401 - registers the handlers
    from yibao.store import wire

    trips = statements = 0
    real = wire.execute_reads

    def counting(conn, writes, reads, *, commit=False):
        nonlocal trips, statements
        trips += 1
        idle = conn.pgconn.transaction_status == 0
        statements += (
            idle + commit + len(reads) + sum(len(p) if isinstance(p, list) else 1 for _, p in writes)
        )
        return real(conn, writes, reads, commit=commit)

    rng = random.Random(0)  # (the same persons and lines in every run: counts compare between runs)
    client = Client(_InProcess(), "", INSTITUTIONS[0], tag)

    async def go(n: int) -> None:
        for _ in range(n):
            await outpatient(client, PERSONS, rng)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(go(20))  # warm up: statements prepared, caches filled
    if count:
        wire.execute_reads = counting
    loop.run_until_complete(go(flows))
    wire.execute_reads = real
    return trips, statements


def instructions(flows: int, tag: str) -> int:
    """Instructions of this script run with ``flows`` flows under callgrind, on a database of its own built
    the same way each time (start-up and build included: they cancel out between two runs)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    out = subprocess.run(
        [*command, "--child", str(flows), tag],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count: {out.stderr[-400:]}")
    return int(found.group(1))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":  # (under callgrind)
        url = fresh_database("postgresql")
        try:
            build_world(url, PERSONS)
            run_flows(url, int(sys.argv[2]), sys.argv[3], count=False)
        finally:
            drop_database(url)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--instructions", action="store_true", help="count the Python side under callgrind")
    args = ap.parse_args()
    url = fresh_database("postgresql")
    try:
        build_world(url, PERSONS)
        trips, statements = run_flows(url, args.flows, f"cost{os.getpid()}", count=True)
        print(
            f"machine: {platform.machine()}, Python {platform.python_version()}; {args.flows} settlements in process"
        )
        print(
            f"per settlement: {trips / args.flows:.2f} round trips, {statements / args.flows:.2f} statements "
            "(BEGIN and COMMIT included)"
        )
        if args.instructions:
            small, large = 30, 30 + args.flows
            a = instructions(small, f"ia{os.getpid()}")
            b = instructions(large, f"ib{os.getpid()}")
            print(
                f"Python instructions per settlement (client and server, callgrind, {large} − {small} flows): "
                f"{(b - a) / args.flows / 1e6:.2f} M"
            )
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
