"""Benchmark: concurrent HIS clients on loopback run 2201 → 2204 (10 lines) → 2207 against the server.

Starts uvicorn (the app factory) on a fresh database, runs C clients for D seconds, prints completed
settlements per second and the p50/p99 latency of 2207. Server and load share the machine.

    .venv/bin/python bench/api_load.py --db postgresql [--clients 32] [--duration 30] [--workers 2] [--concurrency 3]
    .venv/bin/python bench/api_load.py --db sqlite --workers 1
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from _his import (
    build_world,
    database_cpu,
    drive,
    drop_database,
    free_port,
    fresh_database,
    kill_server,
    machine_shares,
    machine_ticks,
    run_load,
    server_cpu,
    start_server,
)
from kernel_online import QUIET_P50_MS, yardstick

from yibao.config import get_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--persons", type=int, default=5000)
    ap.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="facade calls in flight per worker (YIBAO_FACADE_CONCURRENCY)",
    )
    ap.add_argument(
        "--http",
        default=None,
        help="uvicorn's HTTP protocol (default: the server's own, as yibao serve runs it; httptools: uvicorn's)",
    )
    args = ap.parse_args()
    speed = yardstick()
    url = fresh_database(args.db)
    build_world(url, args.persons)
    port = free_port()
    server = start_server(
        url, port, args.workers, args.concurrency, **({"http": args.http} if args.http else {})
    )
    try:
        drive(run_load(f"http://127.0.0.1:{port}", 4, 3, args.persons))  # warm up
        cpu0, db0, own0 = server_cpu(server), database_cpu(url), time.process_time()
        ticks0 = machine_ticks()
        r = drive(run_load(f"http://127.0.0.1:{port}", args.clients, args.duration, args.persons))
        ticks1 = machine_ticks()
        cpu1, db1, own1 = server_cpu(server), database_cpu(url), time.process_time()
    finally:
        kill_server(server)
        drop_database(url)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; server: uvicorn × {args.workers} on {args.db}, "
        f"{args.concurrency or get_settings().facade_concurrency} facade calls in flight per worker; "
        f"{args.clients} HIS clients for {args.duration:.0f} s (2201 → 2204 ×10 lines → 2207)"
    )
    print(
        f"completed settlements: {r['settlements']} → {r['per_second']:.1f}/s; 2207 latency p50 {r['p50_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms; errors {len(r['errors'])}"
        + (f" (first: {r['errors'][0]})" if r["errors"] else "")
    )
    n = max(r["settlements"], 1)
    print(
        f"CPU per settlement: server {1000 * (cpu1 - cpu0) / n:.2f} ms, PostgreSQL backends "
        f"{1000 * (db1 - db0) / n:.2f} ms, load generator {1000 * (own1 - own0) / n:.2f} ms "
        f"(machine load average {os.getloadavg()[0]:.1f}: other work on the machine skews every figure)"
    )
    total = 1000 * ((cpu1 - cpu0) + (db1 - db0) + (own1 - own0)) / n
    print(
        f"machine speed: kernel yardstick p50 {speed:.3f} ms ({QUIET_P50_MS} ms on a quiet day); CPU per settlement "
        f"for server, database and load together {total:.2f} ms = {total / speed:.1f} yardsticks "
        f"(the goal needs ≤ {2000 / 300:.2f} ms on 2 cores: ≤ {2000 / 300 / QUIET_P50_MS:.0f} on a quiet day)"
    )
    print(machine_shares(ticks0, ticks1))
    print("goal: ≥ 300 settlements/s, 2207 p99 ≤ 50 ms")


if __name__ == "__main__":
    main()
