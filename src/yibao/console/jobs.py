"""The console's side of background jobs (后台任务): start an export off the request path and watch it — a
progress bar on the page, its file downloaded when it is done, a failure told in one line."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from yibao import ids
from yibao.console.export import export_list, export_lists
from yibao.console.layout import current_user
from yibao.jobs.runner import DONE, Job, runner


def export_job(name: str, flt: Any, note: str = "") -> Job:
    """Start exporting the whole list ``name`` (``export._lists``) as filtered, for the signed-in user."""
    spec = export_lists()[name]
    path = runner().directory / f"{ids.digits(12)}-{spec.filename}"
    owner = current_user()["username"] or ""
    return runner().submit(
        "export", f"导出{spec.title}", owner, export_list, name=name, flt=flt, path=str(path), note=note
    )


def watch(job: Job) -> None:
    """A progress card for ``job`` where the caller is building; polls twice a second until it finishes."""
    with ui.card().classes("w-full max-w-xl") as card:
        label = ui.label(job.describe()).mark("job-status")
        bar = (
            ui.linear_progress(value=0, show_value=False)
            .props("color=teal instant-feedback")
            .mark("job-progress")
        )

    def poll() -> None:
        label.set_text(job.describe())
        bar.set_value(job.fraction)
        if not job.finished:
            return
        timer.deactivate()
        if job.state == DONE:
            ui.download.file(job.path, job.filename)
            ui.timer(10, card.delete, once=True)
        else:
            ui.notify(job.message, type="negative", multi_line=True)

    timer = ui.timer(0.5, poll)
