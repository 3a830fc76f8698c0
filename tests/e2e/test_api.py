"""The web app: health (ok and degraded), offline API docs, the OpenAPI schema, and secrets in production."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from tests import world
from yibao.api.app import create_app
from yibao.cli import main
from yibao.config import get_settings, reset_settings
from yibao.errors import ConfigError
from yibao.security import create_user
from yibao.store.db import unit_of_work


@pytest.fixture
def client(engine):
    with TestClient(create_app(console=False)) as c:
        yield c


def test_health_reports_database_and_schema(client, engine):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == engine.dialect.name
    assert body["schema"] and body["schema_current"] is True


def test_health_degraded_when_the_database_is_unreachable(monkeypatch):
    monkeypatch.setenv("YIBAO_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    reset_settings()
    with TestClient(create_app(console=False)) as c:
        r = c.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "degraded" and "数据库不可用" in r.json()["reason"]


def test_docs_are_served_without_any_cdn(client):
    html = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert "/_assets/swagger-ui-bundle.js" in html
    assert all(not a.startswith(("http://", "https://", "//")) for a in assets), assets
    assert client.get("/_assets/swagger-ui-bundle.js").status_code == 200
    assert "cdn.jsdelivr" not in client.get("/redoc").text
    spec = client.get("/openapi.json").json()
    assert "/fsi/api/callService" in spec["paths"] and "/fhir/ClaimResponse/{setl_id}" in spec["paths"]


def test_production_refuses_the_default_secret(monkeypatch, capsys):
    monkeypatch.setenv("YIBAO_MODE", "production")
    monkeypatch.delenv("YIBAO_SECRET_KEY", raising=False)
    reset_settings()
    with pytest.raises(ConfigError, match="YIBAO_SECRET_KEY"):
        get_settings().require_secrets()
    assert main(["serve", "--port", "1"]) == 2
    assert "YIBAO_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("YIBAO_SECRET_KEY", "x" * 32)
    reset_settings()
    get_settings().require_secrets()  # a real secret is accepted


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [("YIBAO_FACADE_CONCURRENCY", "0", "greater than or equal to 1"), ("YIBAO_LOG_SQL", "maybe", "boolean")],
)
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, capsys, name, value, reason):
    monkeypatch.setenv(name, value)
    reset_settings()
    with pytest.raises(ConfigError, match=f"^{name}: .*{reason}.*{value!r}"):
        get_settings()
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def fuzz(app, headers: dict[str, str] | None = None, statuses: list[int] | None = None) -> list[str]:
    """schemathesis: generated requests against every documented operation; collect any 5xx (and, into
    ``statuses``, every status seen)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    failures: list[str] = []
    for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations():
        operation = result.ok()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(operation.as_strategy())
        def check(case) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # an unhandled exception is a server error too
                failures.append(f"{case.method} {case.path}: {type(exc).__name__}")
                return
            if statuses is not None:
                statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path}: {response.status_code}")

        check()
    return failures


def test_openapi_schema_fuzzed_without_server_errors(client, engine):
    assert not fuzz(client.app)


def test_openapi_schema_fuzzed_signed_in_without_server_errors(engine):
    """The same, signed in as an administrator over a populated world: the requests get past
    authentication to the handlers' own validation (and, where they are valid, to the database)."""
    world.build(engine)
    with unit_of_work(engine) as s:
        create_user(s, "fuzz", "管理员", ["admin"], "pass-word-1", actor="test")
    with TestClient(create_app(console=False), raise_server_exceptions=False) as c:
        tok = c.post("/api/token", data={"username": "fuzz", "password": "pass-word-1"}).json()[
            "access_token"
        ]
        assert c.get("/api/settlements", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
        statuses: list[int] = []
        assert not fuzz(c.app, {"Authorization": f"Bearer {tok}"}, statuses)
    # most requests reached a handler (not refused at the door as unauthenticated)
    assert sum(code != 401 for code in statuses) > 0.9 * len(statuses), Counter(statuses)
    assert 200 in statuses and 422 in statuses, Counter(statuses)


def test_the_fuzzer_does_find_a_server_error(engine):
    app = create_app(console=False)

    @app.get("/api/broken")
    def broken(n: int) -> dict:
        return {"x": 1 // (n - n)}  # always fails

    with TestClient(app, raise_server_exceptions=False):
        assert any("/api/broken" in f for f in fuzz(app))
