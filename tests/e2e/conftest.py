"""Shared by the facade tests: a world in the database and a test client of the facade (plus REST and FHIR)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests import world
from yibao.api import routes_fhir, routes_fsi, routes_rest
from yibao.api.facade_route import FacadeFront


@pytest.fixture
def client(engine):
    world.build(engine)
    app = FastAPI()
    for r in (routes_fsi.router, routes_rest.router, routes_fhir.router):
        app.include_router(r)
    with TestClient(FacadeFront(app)) as c:  # as served: the facade's own route ahead of FastAPI
        yield c
