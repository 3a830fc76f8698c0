"""The facade's own ASGI route: ``POST /fsi/api/callService`` answered ahead of FastAPI.

Every HIS call is one signed envelope in and one envelope out; it needs neither FastAPI's router,
dependency injection and middleware stack nor Starlette's request and response objects, which cost
about as much CPU per call as the settlement kernel itself. This route reads the body, answers with
:func:`yibao.api.fsi.call_service` (which never raises) and hands every other request to the
application. FastAPI keeps its route of the same path, so the OpenAPI schema and ``/docs`` still
describe it (and it answers the same way, should the app be mounted without this front).

At most ``YIBAO_FACADE_CONCURRENCY`` calls run at once per server process (default 3): the others wait their
turn before touching the database. On two cores a few units of work in flight finish each settlement with
less CPU and a shorter tail than one per connected HIS: past a few, every extra one adds mostly switches and
PostgreSQL backends contending for the same rows and CPU (measured in docs/performance.md, "Third pass").
On PostgreSQL a call runs as a greenlet on the event loop, yielding at each database wait
(:mod:`yibao.store.cooperative`): no hand-off to a thread and back ("Fifth pass"). On SQLite it runs on a
thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.datastructures import Headers

from yibao.api import exactjson, fsi
from yibao.config import get_settings
from yibao.store import cooperative
from yibao.store.db import get_engine

PATH = "/fsi/api/callService"
MAX_BODY = 16 * 1024 * 1024  # an envelope with thousands of fee lines is a few MB
_JSON = [(b"content-type", b"application/json; charset=utf-8")]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class FacadeFront:
    """ASGI middleware: the facade's hot path; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def __getattr__(self, name: str):  # the FastAPI app's attributes (state, routes …) stay reachable
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the HIS went away before sending the whole body: nothing was run
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _answer(
                    send, exactjson.dumps_bytes(fsi.refuse(f"报文超过 {MAX_BODY} 字节 (body too large)"))
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        await _answer(send, await answer(body, Headers(scope=scope)))


_LIMITER: tuple[asyncio.AbstractEventLoop, CapacityLimiter] | None = None


def _limiter() -> CapacityLimiter:
    """This process's bound on facade calls in flight (one per event loop: tests start several)."""
    global _LIMITER
    loop = asyncio.get_running_loop()
    if _LIMITER is None or _LIMITER[0] is not loop:
        _LIMITER = (loop, CapacityLimiter(get_settings().facade_concurrency))
    return _LIMITER[1]


async def answer(body: bytes, headers) -> bytes:
    """The reply to one envelope, under the process's bound (a crowd of HIS connections queues here, not in
    the database). On PostgreSQL the call runs as a greenlet on this loop, its database waits handed to the
    loop (:mod:`yibao.store.cooperative`); elsewhere on a thread, since its unit of work blocks (SQLite)."""
    received = datetime.now()  # (refmsg_time: before the call waits for its turn)
    if cooperative.enabled(get_engine()):
        async with _limiter():
            return await cooperative.run(fsi.call_service, body, headers, received)
    return await anyio.to_thread.run_sync(fsi.call_service, body, headers, received, limiter=_limiter())


async def _answer(send: Callable, reply: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*_JSON, (b"content-length", str(len(reply)).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": reply})
