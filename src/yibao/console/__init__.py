"""The staff console (管理台): NiceGUI pages mounted on the API app at /console, Chinese first."""

from __future__ import annotations

import os

from fastapi import FastAPI

from yibao.config import Settings

MOUNT = "/console"
_attached: list[FastAPI] = []


def attach(app: FastAPI, settings: Settings) -> None:
    """Mount the console on ``app``. NiceGUI's page registry is process-wide, so pages register once;
    mounting again on a newer app (tests build several) moves the console there."""
    sessions = (settings.data_dir / "console-sessions").resolve()
    sessions.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(sessions))
    from nicegui import ui

    from yibao.console import (  # noqa: F401 - registers pages
        errors,
        pages,
        pages_employers,
        pages_enrollment,
        pages_institutions,
        pages_payment,
        pages_payment_cmi,
        pages_payment_indicators,
        pages_payment_reviews,
        pages_payment_runs,
        pages_payment_statement,
        pages_persons,
        pages_providers,
        pages_providers_agreements,
        pages_providers_assess,
        pages_providers_evaluation,
        pages_providers_form,
        pages_providers_status,
        pages_review,
        pages_settlements,
        pages_supervision,
        pages_supervision_cases,
        pages_supervision_screening,
        pages_supervision_suspicion,
    )

    errors.install()
    ui.button.default_props("no-caps")  # buttons read as written (Quasar upper-cases them: "导出 EXCEL")
    ui.run_with(
        app,
        mount_path=MOUNT,
        storage_secret=settings.secret_key,
        title="yibao 医保管理台",
        language="zh-CN",
        favicon="🏥",
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
    _attached.append(app)
