"""Benchmark: kill -9 the server under load, restart it, and prove nothing acknowledged was lost.

Checks after the restart: every settlement acknowledged to a client (2207 reply with infcode 0) is in
the database with its reply stored under its msgid; every 2207 that was sent but not acknowledged is
either completely present or completely absent (no settlement without its setldetail, ledger entry and
message log, no half-written visit); `yibao ledger check` and `yibao audit verify` pass; the restarted
server answers a retry of an acknowledged msgid with the identical reply.

    .venv/bin/python bench/crash.py [--db postgresql] [--clients 16] [--before-kill 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

from _his import (
    REPO,
    build_world,
    drive,
    drop_database,
    free_port,
    fresh_database,
    kill_server,
    retry,
    run_load,
    start_server,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--before-kill", type=float, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--persons", type=int, default=3000)
    args = ap.parse_args()
    url = fresh_database(args.db)
    build_world(url, args.persons)
    port = free_port()
    server = start_server(url, port, args.workers)
    acknowledged: list[tuple[str, str]] = []
    sent: list[str] = []
    replies: list[tuple[str, bytes, dict]] = []
    killer = threading.Timer(args.before_kill, kill_server, args=(server,))
    killer.start()
    load = drive(
        run_load(
            f"http://127.0.0.1:{port}",
            args.clients,
            args.before_kill + 30,
            args.persons,
            acknowledged=acknowledged,
            sent=sent,
            replies=replies,
        )
    )
    killed_at = time.strftime("%H:%M:%S")
    server = start_server(url, port, args.workers)  # restart on the same database
    try:
        problems = verify(url, acknowledged, sent)
        retried = replies[-20:]  # the last acknowledged before the kill: a retry must get the same reply
        for code, body, reply in retried:
            again = drive(retry(f"http://127.0.0.1:{port}", code, body))
            if again != reply:
                problems.append(f"a retry of {reply['output']['setlinfo']['setl_id']} got another reply")
        same = len(retried) - sum(1 for p in problems if p.startswith("a retry"))
        print(
            f"retried {len(retried)} acknowledged 2207 messages after the restart: {same} identical replies"
        )
        env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_MODE": "test"}
        for cmd in (["ledger", "check"], ["audit", "verify"]):
            out = subprocess.run(
                [sys.executable, "-m", "yibao.cli", *cmd], env=env, capture_output=True, text=True, cwd=REPO
            )
            if out.returncode != 0:
                problems.append(f"yibao {' '.join(cmd)}: {out.stderr.strip() or out.stdout.strip()}")
            else:
                print(f"yibao {' '.join(cmd)}: {out.stdout.strip().splitlines()[-1]}")
    finally:
        kill_server(server)
        drop_database(url)
    print(
        f"killed the server (SIGKILL, all workers) at {killed_at} after {args.before_kill:.0f} s of load; "
        f"{len(acknowledged)} settlements acknowledged, {len(sent)} attempted, {len(load['errors'])} calls cut off"
    )
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems[:20]))
        sys.exit(1)
    print(
        "OK: every acknowledged settlement is present with its reply; nothing unacknowledged is half-present"
    )


def verify(url: str, acknowledged: list[tuple[str, str]], sent: list[str]) -> list[str]:
    from sqlalchemy import func, select

    from yibao.store.db import make_engine
    from yibao.store.tables import LedgerEntry, MessageLog, Settlement, SettlementDetail

    engine = make_engine(url)
    problems = []
    with engine.connect() as c:
        logged = dict(c.execute(select(MessageLog.msgid, MessageLog.setl_id)).all())
        settlements = {
            r.setl_id: r
            for r in c.execute(
                select(Settlement.setl_id, Settlement.medins_setl_id, Settlement.fund_pay_sumamt)
            )
        }
        details = dict(
            c.execute(select(SettlementDetail.setl_id, func.count()).group_by(SettlementDetail.setl_id)).all()
        )
        entries = set(c.execute(select(LedgerEntry.setl_id)).scalars())
    for msgid, setl_id in acknowledged:
        if setl_id not in settlements:
            problems.append(f"acknowledged {setl_id} (msgid {msgid}) is missing")
        elif logged.get(msgid) != setl_id:
            problems.append(f"acknowledged {setl_id}: its reply is not stored under msgid {msgid}")
    for setl_id, row in settlements.items():
        if setl_id not in entries:
            problems.append(f"settlement {setl_id} has no ledger entry")
        if row.fund_pay_sumamt and not details.get(setl_id):
            problems.append(f"settlement {setl_id} has no setldetail")
        if row.medins_setl_id not in logged:
            problems.append(f"settlement {setl_id} exists but its msgid {row.medins_setl_id} was not logged")
    engine.dispose()
    unacknowledged = set(sent) - {m for m, _ in acknowledged}
    present = sum(1 for m in unacknowledged if m in logged)
    print(
        f"unacknowledged 2207 calls: {len(unacknowledged)} ({present} committed before the kill, complete; "
        f"{len(unacknowledged) - present} absent)"
    )
    return problems


if __name__ == "__main__":
    main()
