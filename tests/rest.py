"""Helpers the REST end-to-end tests share: a staff bearer header, and the two shapes of an answer."""

from __future__ import annotations

from fastapi.testclient import TestClient


def bearer(c: TestClient, username: str, password: str) -> dict[str, str]:
    """The Authorization header of a staff user signed in through /api/token."""
    tok = c.post("/api/token", data={"username": username, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {tok}"}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int = 422):
    """The refusal's detail: a one-line message, or FastAPI's list when the body failed its schema."""
    assert response.status_code == status, response.text
    return response.json()["detail"]
