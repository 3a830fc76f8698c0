"""The facade's own ASGI route ahead of FastAPI: what `yibao serve` runs (``get_app``) answers
callService itself, refuses an oversized body in the envelope, and leaves every other request to FastAPI."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi.testclient import TestClient

from tests.world import HOSP2, His
from yibao.api import facade_route, fsi
from yibao.api.app import get_app
from yibao.config import reset_settings


def test_served_app_answers_the_facade_and_everything_else(engine, monkeypatch):
    from tests import world

    world.build(engine)
    with TestClient(get_app()) as c:
        his = His(c, HOSP2)
        assert his.ok("9001", {"signIn": {"opter_no": "001", "mac": "", "ip": ""}})["signinoutb"]["sign_no"]
        assert his.post_raw(b"{not json")["infcode"] == -1
        r = c.get("/fsi/api/callService")  # not the facade's method: FastAPI answers (405)
        assert r.status_code == 405
        assert c.get("/health").json()["status"] == "ok"
        assert "/fsi/api/callService" in c.get("/openapi.json").json()["paths"]
        monkeypatch.setattr(facade_route, "MAX_BODY", 1000)
        r = c.post("/fsi/api/callService", content=b"x" * 2000)
        assert r.status_code == 200 and r.json()["infcode"] == -1 and "报文超过" in r.json()["err_msg"]
        assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_calls_beyond_the_bound_wait_their_turn(monkeypatch):
    """At most YIBAO_FACADE_CONCURRENCY calls run at once in a process; the rest queue and are answered."""
    monkeypatch.setenv("YIBAO_FACADE_CONCURRENCY", "2")
    reset_settings()
    guard, running, peak = threading.Lock(), [0], [0]

    def slow_call(body: bytes, headers, received) -> bytes:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with guard:
            running[0] -= 1
        return b'{"infcode":0,"echo":' + body + b"}"

    monkeypatch.setattr(fsi, "call_service", slow_call)

    async def not_found(scope, receive, send):  # the app behind the front: never reached here
        raise AssertionError(scope["path"])

    front = facade_route.FacadeFront(not_found)

    async def post(n: int) -> bytes:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": str(n).encode(), "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await front(
            {"type": "http", "path": facade_route.PATH, "method": "POST", "headers": []}, receive, send
        )
        return sent[-1]["body"]

    async def crowd() -> list[bytes]:
        return await asyncio.gather(*(post(n) for n in range(6)))

    replies = asyncio.run(crowd())
    assert replies == [b'{"infcode":0,"echo":%d}' % n for n in range(6)]
    assert peak[0] == 2
