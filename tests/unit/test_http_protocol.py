"""The server's HTTP protocol sends a reply's status, headers and body in one write, in order, and keeps
the transport's other calls behind what it holds."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from yibao.api.http_protocol import CoalescingHttpTools, _Gathering


class FakeTransport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, bytes | None]] = []
        self.closing = False

    def write(self, data):
        self.calls.append(("write", bytes(data)))

    def close(self):
        self.calls.append(("close", None))
        self.closing = True

    def abort(self):
        self.calls.append(("abort", None))
        self.closing = True

    def is_closing(self):
        return self.closing

    def get_extra_info(self, name, default=None):
        return default

    def pause_reading(self):
        self.calls.append(("pause_reading", None))

    def resume_reading(self):
        pass

    def set_protocol(self, protocol):
        pass


async def _app(scope, receive, send):
    assert scope["type"] == "http"
    body = b'{"infcode": 0}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _serve(protocol_class, requests: bytes) -> list[tuple[str, bytes | None]]:
    config = Config(app=_app, lifespan="off", log_level="warning")
    config.load()
    transport = FakeTransport()
    protocol = protocol_class(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    protocol.connection_made(transport)
    protocol.data_received(requests)
    for _ in range(20):
        await asyncio.sleep(0.01)
    return transport.calls


REQUEST = b"POST /fsi/api/callService HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n{}"


def test_a_reply_leaves_in_one_write():
    calls = asyncio.run(_serve(CoalescingHttpTools, REQUEST))
    writes = [data for what, data in calls if what == "write"]
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 14" in head and body == b'{"infcode": 0}'


def test_uvicorns_own_protocol_writes_twice():  # (what the one write replaces: this test can tell them apart)
    calls = asyncio.run(_serve(HttpToolsProtocol, REQUEST))
    assert len([1 for what, _ in calls if what == "write"]) == 2


def test_pipelined_requests_get_their_replies_in_order():
    calls = asyncio.run(_serve(CoalescingHttpTools, REQUEST * 3))
    data = b"".join(d for what, d in calls if what == "write")
    assert data.count(b"HTTP/1.1 200") == 3 and data.endswith(b'{"infcode": 0}')


@pytest.mark.parametrize("call", ["close", "pause_reading"])
def test_other_calls_come_after_what_is_held(call):
    async def go():
        real = FakeTransport()
        t = _Gathering(real, asyncio.get_running_loop())
        t.write(b"a")
        t.write(b"b")
        assert real.calls == []  # (held until the loop step ends)
        getattr(t, call)()
        assert real.calls == [("write", b"ab"), (call, None)]
        await asyncio.sleep(0)
        assert real.calls == [("write", b"ab"), (call, None)]  # nothing sent twice

    asyncio.run(go())


def test_held_writes_go_at_the_end_of_the_step_and_not_after_abort():
    async def go():
        real = FakeTransport()
        t = _Gathering(real, asyncio.get_running_loop())
        t.write(b"x")
        await asyncio.sleep(0)
        assert real.calls == [("write", b"x")]
        t.write(b"y")
        t.abort()
        await asyncio.sleep(0)
        assert real.calls == [("write", b"x"), ("abort", None)]
        t.write(b"z")  # (a closed transport: dropped, as the real one would)
        await asyncio.sleep(0)
        assert real.calls[-1] == ("abort", None)

    asyncio.run(go())


def test_a_long_body_goes_out_as_it_grows():
    async def go():
        real = FakeTransport()
        t = _Gathering(real, asyncio.get_running_loop())
        chunk = b"x" * 40_000
        t.write(chunk)
        assert real.calls == []
        t.write(chunk)  # past HOLD_AT_MOST: sent now, so the real transport's flow control sees it
        assert real.calls == [("write", chunk * 2)]
        t.write(b"tail")
        await asyncio.sleep(0)
        assert real.calls == [("write", chunk * 2), ("write", b"tail")]

    asyncio.run(go())


def test_the_benchmarks_name_the_servers_protocol():
    import sys
    from pathlib import Path

    from yibao.api.http_protocol import PROTOCOL

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import _his
    finally:
        sys.path.pop(0)
    assert _his.PROTOCOL == PROTOCOL
