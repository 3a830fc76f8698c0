"""Shared by the API benchmarks: a fresh database with a small world, a server process, async HIS clients."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from yibao.api import exactjson, signing

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INSTITUTIONS = [f"H9901020{n:04d}" for n in range(1, 9)]


def fresh_database(kind: str, name: str | None = None) -> str:
    """A new, empty database of its own (by default named after this process, so benchmarks run side by side)."""
    from sqlalchemy import text

    from yibao.store.db import make_engine

    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='yibao-bench-')}/bench.db"
    name = name or f"yibao_bench_{os.getpid()}"
    admin = make_engine(PG_ADMIN)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f'drop database if exists "{name}" with (force)'))
        c.execute(text(f'create database "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    """Remove a database made by :func:`fresh_database` (PostgreSQL; a SQLite file stays in /tmp)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from yibao.store.db import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = make_engine(PG_ADMIN)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f'drop database if exists "{parsed.database}" with (force)'))
    admin.dispose()


def build_world(url: str, persons: int) -> None:
    """Institutions, enrolled persons (half 职工 with accounts), a catalogue, one API client per institution."""
    from sqlalchemy import insert

    from yibao.store import migrate
    from yibao.store.db import make_engine
    from yibao.store.tables import (
        ApiClient,
        CatalogueItem,
        Enrollment,
        Institution,
        LedgerEntry,
        LedgerPosting,
        Person,
        PersonalAccount,
        Region,
    )

    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as c:
        c.execute(insert(Region), [{"admdvs": "990100", "name": "示例市", "level": "city"}])
        c.execute(
            insert(Institution),
            [
                {
                    "fixmedins_code": code,
                    "fixmedins_name": f"医院{i}",
                    "fixmedins_type": "1",
                    "dedc_hosp_lv": 1 + i % 3,
                    "admdvs": "990100",
                    "status": "active",
                    "begndate": date(2020, 1, 1),
                }
                for i, code in enumerate(INSTITUTIONS)
            ],
        )
        c.execute(
            insert(Person),
            [
                {
                    "psn_no": f"B{n:07d}",
                    "psn_cert_type": "01",
                    "certno": f"99{n:016d}",
                    "psn_name": f"参保人{n}",
                    "gend": "1",
                    "brdy": date(1970, 1, 1),
                }
                for n in range(persons)
            ],
        )
        c.execute(
            insert(Enrollment),
            [
                {
                    "psn_no": f"B{n:07d}",
                    "insutype": "310" if n % 2 else "390",
                    "psn_type": "11" if n % 2 else "15",
                    "psn_insu_stas": "1",
                    "begndate": date(2020, 1, 1),
                    "insuplc_admdvs": "990100",
                }
                for n in range(persons)
            ],
        )
        c.execute(
            insert(PersonalAccount),
            [{"psn_no": f"B{n:07d}", "balance": 200_000} for n in range(persons) if n % 2],
        )
        owners = [f"B{n:07d}" for n in range(persons) if n % 2]  # opening balances, so the ledger proves them
        entry = c.execute(
            insert(LedgerEntry)
            .values(
                entry_type="opening",
                posted_at=datetime(2024, 12, 31),
                book_date=date(2024, 12, 31),
                memo="期初余额",
            )
            .returning(LedgerEntry.id)
        ).scalar_one()
        c.execute(
            insert(LedgerPosting),
            [
                {
                    "entry_id": entry,
                    "account": "opening_balance",
                    "fund_pay_type": None,
                    "psn_no": None,
                    "amount": 200_000 * len(owners),
                }
            ]
            + [
                {
                    "entry_id": entry,
                    "account": "personal_account",
                    "fund_pay_type": "310200",
                    "psn_no": p,
                    "amount": -200_000,
                }
                for p in owners
            ],
        )
        c.execute(
            insert(CatalogueItem),
            [
                {
                    "list_type": "101",
                    "med_list_codg": f"X{k:03d}",
                    "med_list_name": f"项目{k}",
                    "chrgitm_lv": ("01", "02", "03")[k % 3],
                    "selfpay_prop": 1000 if k % 3 == 1 else 0,
                    "begndate": date(2020, 1, 1),
                }
                for k in range(30)
            ],
        )
        c.execute(
            insert(ApiClient),
            [
                {
                    "client_id": f"c-{code}",
                    "fixmedins_code": code,
                    "secret": f"s-{code}",
                    "sign_algo": "sha256",
                }
                for code in INSTITUTIONS
            ],
        )
    _designate(engine)
    engine.dispose()


def _designate(engine) -> None:
    """Each institution's agreement and designation, as a loaded region's (settlement refuses an institution
    without one on the visit's date). A tree from before designation (a before/after pair) has none to make."""
    try:
        from yibao.providers.service.loading import designate_register
        from yibao.store.db import unit_of_work
    except ImportError:
        return
    with unit_of_work(engine) as s:
        designate_register(s, actor="bench", regions_dir=REPO / "regions")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the server's own HTTP protocol (yibao.api.http_protocol.PROTOCOL), named here so the harness also drives
# an older tree's server (--http httptools) for before/after pairs
PROTOCOL = "yibao.api.http_protocol:CoalescingHttpTools"


def start_server(
    url: str, port: int, workers: int, concurrency: int | None = None, http: str = PROTOCOL
) -> subprocess.Popen:
    """uvicorn with ``workers`` processes, as ``yibao serve`` runs it; ``concurrency``: facade calls in flight per
    process (None: the default); ``http``: uvicorn's HTTP protocol (default: the server's own)."""
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": url,
        "YIBAO_MODE": "test",
        "YIBAO_REGIONS_DIR": str(REPO / "regions"),
        **({"YIBAO_FACADE_CONCURRENCY": str(concurrency)} if concurrency else {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "yibao.api.app:get_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--http",
            http,
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5 if workers > 1 else 0.1)
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by the server (uvicorn and its workers: the session it leads)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[3]) == proc.pid:  # session id
                total += _cpu_seconds(int(entry))
    return total


def database_cpu(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``url``'s database (0 for SQLite)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from yibao.store.db import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return 0.0
    admin = make_engine(PG_ADMIN)
    with admin.connect() as c:
        pids = c.execute(
            text("select pid from pg_stat_activity where datname = :d"), {"d": parsed.database}
        ).scalars()
        total = sum(_cpu_seconds(p) for p in pids)
    admin.dispose()
    return total


def machine_ticks() -> list[int]:
    """The machine's CPU time so far by kind (``/proc/stat``: user, nice, system, idle, iowait, irq, softirq,
    steal), in clock ticks; [] where there is no /proc."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return []


def machine_shares(before: list[int], after: list[int]) -> str:
    """How the machine's CPU went between two :func:`machine_ticks`: busy, idle, waiting on disk, and stolen
    by the hypervisor (time this VM was ready to run and was not given a core)."""
    if not before or not after:
        return "machine CPU shares: unknown (no /proc/stat)"
    d = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(d) or 1
    user, nice, system, idle, iowait, irq, softirq, steal = (100 * x / total for x in d)
    return (
        f"machine CPU: busy {user + nice + system + irq + softirq:.0f} %, idle {idle:.0f} %, "
        f"waiting on disk {iowait:.0f} %, stolen by the hypervisor {steal:.0f} %"
    )


def kill_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class _Replies(asyncio.Protocol):
    """The client end of one connection: bytes in, whole replies (head, body) out by their content-length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            reply = self._reply()
            if reply is not None:
                self.waiter.set_result(reply)

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("the server closed the connection"))

    def _reply(self) -> tuple[bytes, bytes] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end])
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        return head, body


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, as a HIS holds it: the request written whole, the
    reply read by its content-length. The load generator shares the server's two cores, so it is lean: a
    general client library costs about three times the CPU per call, asyncio's streams about a third more
    than this protocol."""

    def __init__(self, base: str, timeout: float = 60):
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port, self.timeout = host, int(port or 80), timeout
        self.replies: _Replies | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        loop = asyncio.get_running_loop()
        if self.replies is None or self.replies.transport is None or self.replies.transport.is_closing():
            _, self.replies = await loop.create_connection(_Replies, self.host, self.port)
        replies = self.replies
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        replies.waiter = loop.create_future()
        replies.transport.write(
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        try:
            async with asyncio.timeout(self.timeout):
                status, reply = await replies.waiter
        except BaseException:
            self.close()
            raise
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(status.split(b"\r\n")[0].decode())
        return reply

    def close(self) -> None:
        if self.replies is not None and self.replies.transport is not None:
            self.replies.transport.close()
        self.replies = None


def drive(coroutine):
    """Run the load on uvloop (as the server runs): the event loop's own cost is part of the load's share."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


# each run of the load in a process gets its own msgid tag: a second run reusing the first's msgids would be
# answered from the idempotency store (a cheap replay, not a settlement) and flatter the figures
_RUNS = itertools.count()


# what ends a HIS's run when the server goes away (crash test) or misbehaves
CALL_ERRORS = (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, RuntimeError)


class Client:
    """One HIS: signs envelopes, posts them, returns the reply (and the msgid it used)."""

    def __init__(self, http: Connection, base: str, code: str, tag: str):
        self.http, self.base, self.code, self.tag, self.n = http, base, code, tag, 0
        self.last_body = b""

    async def call(self, infno: str, input_: dict) -> tuple[str, dict]:
        self.n += 1
        msgid = f"{self.code}{self.tag}{self.n:08d}"[:40]
        body = exactjson.dumps_bytes(
            {
                "infno": infno,
                "msgid": msgid,
                "fixmedins_code": self.code,
                "opter": "bench",
                "inf_time": "2025-03-01 09:00:00",
                "input": input_,
            }
        )
        self.last_body = body
        return msgid, await self.post(body)

    async def post(self, body: bytes) -> dict:
        """Sign (now) and post an envelope's bytes; the reply."""
        ts = str(int(time.time() * 1000))
        headers = {
            "content-type": "application/json",
            signing.HEADER_CLIENT: f"c-{self.code}",
            signing.HEADER_TIMESTAMP: ts,
            signing.HEADER_SIGNATURE: signing.sign("sha256", f"s-{self.code}", ts, body),
        }
        return exactjson.loads(await self.http.post("/fsi/api/callService", body, headers))


async def retry(base: str, code: str, body: bytes) -> dict:
    """Send an envelope again (a HIS retrying after a timeout), freshly signed."""
    http = Connection(base)
    try:
        return await Client(http, base, code, "retry").post(body)
    finally:
        http.close()


async def outpatient(client: Client, persons: int, rng: random.Random) -> tuple[float, str, str | None]:
    """2201 → 2204 (10 lines) → 2207; returns (2207 latency, 2207 msgid, setl_id or None).

    The 2207's body and reply are left in ``client.last_body`` / ``client.last_reply``."""
    n = rng.randrange(persons)
    psn, ins = f"B{n:07d}", "310" if n % 2 else "390"
    _, r = await client.call(
        "2201", {"data": {"psn_no": psn, "insutype": ins, "begntime": "2025-03-01 09:00:00"}}
    )
    if r["infcode"] != 0:
        raise RuntimeError(r["err_msg"])
    mdtrt = r["output"]["data"]["mdtrt_id"]
    lines = [
        {
            "feedetl_sn": str(k),
            "mdtrt_id": mdtrt,
            "med_list_codg": f"X{rng.randrange(30):03d}",
            "pric": "12.50",
            "cnt": 2,
            "det_item_fee_sumamt": "25.00",
        }
        for k in range(10)
    ]
    _, r = await client.call("2204", {"feedetail": lines})
    if r["infcode"] != 0:
        raise RuntimeError(r["err_msg"])
    t0 = time.perf_counter()
    msgid, r = await client.call(
        "2207",
        {
            "data": {
                "psn_no": psn,
                "mdtrt_id": mdtrt,
                "medfee_sumamt": "250.00",
                "insutype": ins,
                "acct_used_flag": "1",
            }
        },
    )
    latency = time.perf_counter() - t0
    if r["infcode"] != 0:
        raise RuntimeError(r["err_msg"])
    client.last_reply = r
    return latency, msgid, r["output"]["setlinfo"]["setl_id"]


async def run_load(
    base: str,
    clients: int,
    duration: float,
    persons: int,
    acknowledged: list | None = None,
    sent: list | None = None,
    replies: list | None = None,
) -> dict:
    """C clients run settlements for D seconds. Crash test: ``acknowledged`` receives (msgid, setl_id) of
    each acknowledged 2207, ``sent`` the msgid of each 2207 about to be sent, ``replies`` (institution, body,
    reply) of each acknowledged 2207."""
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + duration
    run = next(_RUNS)

    async def his(i: int) -> None:
        rng = random.Random(i)
        http = Connection(base)
        try:
            client = Client(http, base, INSTITUTIONS[i % len(INSTITUTIONS)], f"{run}.{i:03d}")
            while time.perf_counter() < stop:
                try:
                    if sent is not None:
                        sent.append(f"{client.code}{client.tag}{client.n + 3:08d}"[:40])
                    latency, msgid, setl_id = await outpatient(client, persons, rng)
                    latencies.append(latency)
                    if acknowledged is not None:
                        acknowledged.append((msgid, setl_id))
                    if replies is not None:
                        replies.append((client.code, client.last_body, client.last_reply))
                except CALL_ERRORS as exc:
                    errors.append(str(exc)[:120])
                    if acknowledged is not None:  # the server is gone (crash test): stop this client
                        return
        finally:
            http.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(his(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    pick = (
        (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000)
        if latencies
        else (lambda q: 0.0)
    )
    return {
        "settlements": len(latencies),
        "elapsed": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "errors": errors,
    }
