"""The facade's own ASGI route ahead of FastAPI: what `yibao serve` runs (``get_app``) answers
callService itself, refuses an oversized body in the envelope, and leaves every other request to FastAPI."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.world import HOSP2, His
from yibao.api import facade_route
from yibao.api.app import get_app


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
