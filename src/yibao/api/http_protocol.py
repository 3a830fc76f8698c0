"""The server's HTTP/1.1 protocol: uvicorn's httptools one, a reply's writes sent as one (合并写出).

An ASGI reply is two messages, its status and headers and then its body, and uvicorn writes each to the socket
as it comes: two ``send`` system calls and two TCP segments per reply, and a client reading by content-length
often wakes twice. On this project's machine those two calls were 9 % of a facade worker's CPU. Here a
connection's writes within one step of the event loop are gathered and sent together when the step ends
(or at once, before anything else is asked of the transport, or once 64 KB are held), so a reply leaves in one call. What is
written, its order and when the peer gets it (the end of the same loop step) are unchanged.

``yibao serve`` runs uvicorn with :data:`PROTOCOL`; so does ``bench/api_load.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "yibao.api.http_protocol:CoalescingHttpTools"


HOLD_AT_MOST = 64 * 1024  # bytes: a long body streamed within one step goes out as it grows (flow control)


class _Gathering:
    """A transport whose writes are held until the loop step ends (or any other call on it)."""

    __slots__ = ("_held", "_loop", "_size", "real")

    def __init__(self, real: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.real, self._loop, self._held, self._size = real, loop, [], 0

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._size += len(data)
        if self._size > HOLD_AT_MOST:
            self.flush()

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if self._held:
            data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            self._size = 0
            if not self.real.is_closing():
                self.real.write(data)

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self.real.abort()

    def __getattr__(self, name: str) -> Any:  # close, pause_reading, get_extra_info …: after what is held
        attr = getattr(self.real, name)
        if not callable(attr):
            return attr

        def after_flush(*args, **kw):
            self.flush()
            return attr(*args, **kw)

        return after_flush


class CoalescingHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`_Gathering` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Gathering(transport, self.loop))  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        # a WebSocket (the console) takes the real transport over: its frames are written as they come
        if isinstance(self.transport, _Gathering):
            self.transport.flush()
            self.transport = self.transport.real
        super().handle_websocket_upgrade()
