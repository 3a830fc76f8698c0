"""The web application: national facade, REST, FHIR, health, offline API docs and the staff console.

``get_app`` is the uvicorn factory (``uvicorn yibao.api.app:get_app --factory``): settings are read when
the server starts, never at import time.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError

from yibao import __version__
from yibao.config import Settings, get_settings

ASSETS = Path(fastapi_offline.__file__).parent / "static"  # swagger-ui and redoc bundled in a wheel: no CDN


def create_app(settings: Settings | None = None, *, console: bool = True) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="yibao 医保",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="医保核心平台：国家接口 (/fsi/api/callService)、REST (/api)、FHIR R4 (/fhir)、管理台 (/console)",
    )
    from yibao.api import (
        routes_contributions,
        routes_enrollment,
        routes_entitlements,
        routes_fhir,
        routes_fsi,
        routes_payment_reviews,
        routes_persons,
        routes_providers,
        routes_rest,
        routes_review,
        routes_supervision,
        routes_suspicions,
    )

    for module in (
        routes_fsi,
        routes_rest,
        routes_enrollment,
        routes_persons,
        routes_contributions,
        routes_entitlements,
        routes_review,
        routes_payment_reviews,
        routes_supervision,
        routes_suspicions,
        routes_providers,
        routes_fhir,
    ):
        app.include_router(module.router)
    app.mount("/_assets", StaticFiles(directory=ASSETS), name="assets")

    @app.exception_handler(DataError)
    def refused_by_database(_request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store (a NUL character, a number out of range) is the caller's
        # mistake: say so as 422, never 500; nothing was written (the unit of work rolled back).
        return JSONResponse({"detail": "输入含数据库不接受的字符或超出范围的值 (e.g. NUL)"}, status_code=422)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="yibao 医保 API",
            swagger_js_url="/_assets/swagger-ui-bundle.js",
            swagger_css_url="/_assets/swagger-ui.css",
            swagger_favicon_url="/_assets/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="yibao 医保 API",
            redoc_js_url="/_assets/redoc.standalone.js",
            redoc_favicon_url="/_assets/favicon.png",
        )

    @app.get("/health", tags=["运维"], summary="健康检查: version, database, schema revision")
    def health() -> JSONResponse:
        from yibao.store import migrate
        from yibao.store.db import get_engine

        engine = get_engine()
        body = {"status": "ok", "version": __version__, "database": engine.dialect.name}
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            body["schema"] = migrate.current_revision(engine)
            body["schema_current"] = body["schema"] == migrate.head_revision(engine)
        except Exception as exc:  # the database is down: say so, with a reason, as 503
            body.update(status="degraded", reason=f"数据库不可用: {type(exc).__name__}")
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/" if console else "/docs")

    if console:
        from yibao.console import attach

        attach(app, settings)
    return app


def get_app():
    """uvicorn factory: the application behind the facade's own route (see :mod:`yibao.api.facade_route`)."""
    from yibao.api.facade_route import FacadeFront

    return FacadeFront(create_app())
