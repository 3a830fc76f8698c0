"""The facade's own ASGI route: ``POST /fsi/api/callService`` answered ahead of FastAPI.

Every HIS call is one signed envelope in and one envelope out; it needs neither FastAPI's router,
dependency injection and middleware stack nor Starlette's request and response objects, which cost
about as much CPU per call as the settlement kernel itself. This route reads the body, answers with
:func:`yibao.api.fsi.call_service` (which never raises) and hands every other request to the
application. FastAPI keeps its route of the same path, so the OpenAPI schema and ``/docs`` still
describe it (and it answers the same way, should the app be mounted without this front).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from yibao.api import exactjson, fsi

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
        # on a thread: the unit of work blocks on the database, the event loop must not
        reply = await run_in_threadpool(fsi.call_service, body, Headers(scope=scope))
        await _answer(send, reply)


async def _answer(send: Callable, reply: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*_JSON, (b"content-length", str(len(reply)).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": reply})
