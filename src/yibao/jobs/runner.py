"""The job runner (后台任务): long work runs in its own process with its own database connection, off the request
path, so the server keeps answering meanwhile; the page that started it polls the job's progress and offers
its file when it is done.

Why a process, not a thread: an export is Python work from end to end (reading rows, writing the workbook's
XML), and a thread doing it holds the interpreter lock so much that the server's other requests wait for it
(``/health`` took 0.1–0.9 s instead of 30 ms beside a 150,000-row export in a thread; see docs/console.md).

A job's work is a module-level function ``work(progress, **params) -> (path, filename)`` (it is started in a
new interpreter, so it and its parameters must be importable and picklable); ``progress(done, total)``
reports as it goes. Jobs are remembered by the process that started them (a restart forgets them; their files
stay in the data folder's ``jobs/``); each user sees their own. A failure is one line for the user (a
:class:`~yibao.errors.YibaoError`'s message, else a generic one), never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from yibao import ids
from yibao.errors import YibaoError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "排队中", "进行中", "已完成", "失败"
KEEP = 50  # jobs remembered per process (the oldest finished ones are forgotten first)
INTERNAL = "系统内部错误，请联系管理员 (internal error)"
_CTX = multiprocessing.get_context("spawn")  # (never fork a server's threads)


@dataclass
class Job:
    id: str
    kind: str
    title: str
    owner: str
    created: datetime = field(default_factory=datetime.now)
    state: str = QUEUED
    done: int = 0
    total: int | None = None
    message: str = ""  # a failure's one line
    path: Path | None = None
    filename: str | None = None

    @property
    def fraction(self) -> float:
        if self.state == DONE:
            return 1.0
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)

    def describe(self) -> str:
        """One line for the page: state, rows so far, the failure's reason."""
        if self.state == FAILED:
            return f"{self.title}: 失败 — {self.message}"
        of = f" / {self.total:,}" if self.total is not None else ""
        return f"{self.title}: {self.state} {self.done:,}{of} 行"


class Progress:
    """What the work reports through: two counters shared with the process that watches it."""

    def __init__(self, done, total):
        self._done, self._total = done, total

    def __call__(self, done: int, total: int | None = None) -> None:
        self._done.value = done
        if total is not None:
            self._total.value = total


Work = Callable[..., tuple[Path, str]]


def _child(work: Work, params: dict[str, Any], done, total, conn) -> None:
    """(In the job's process) run the work; send back its file, or its refusal, or that it broke. The process
    runs at a lower CPU priority: on a server with few cores, requests come first."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    try:
        path, filename = work(Progress(done, total), **params)
        conn.send(("done", str(path), filename))
    except YibaoError as exc:
        conn.send(("refused", exc.message))
    except BaseException:
        conn.send(("broken", traceback.format_exc()))
    finally:
        conn.close()


class Runner:
    """Jobs started in their own processes, at most ``workers`` at a time, and what they did."""

    def __init__(self, directory: Path, workers: int = 2):
        self.directory = directory
        self._watchers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yibao-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, title: str, owner: str, work: Work, **params: Any) -> Job:
        job = Job(id=ids.digits(12), kind=kind, title=title, owner=owner)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._watchers.submit(self._run, job, work, params)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def of(self, owner: str) -> list[Job]:
        """The owner's jobs, the latest first."""
        return sorted(
            (j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created, reverse=True
        )

    def _run(self, job: Job, work: Work, params: dict[str, Any]) -> None:
        """(A watcher thread) start the job's process, copy its progress onto the job, take its answer."""
        done, total = _CTX.Value("q", 0, lock=False), _CTX.Value("q", -1, lock=False)
        theirs, ours = _CTX.Pipe(duplex=False)
        try:
            proc = _CTX.Process(target=_child, args=(work, params, done, total, ours), daemon=True)
            proc.start()
            ours.close()
            job.state = RUNNING
            while not theirs.poll(0.2):
                job.done, job.total = done.value, (total.value if total.value >= 0 else None)
                if not proc.is_alive() and not theirs.poll(0):
                    raise EOFError("the job's process ended without an answer")
            answer = theirs.recv()
            proc.join(5)
        except Exception:
            log.exception("job %s (%s) could not run", job.id, job.kind)
            answer = ("broken", "")
        job.done, job.total = done.value, (total.value if total.value >= 0 else None)
        if answer[0] == "done":
            job.path, job.filename, job.state = Path(answer[1]), answer[2], DONE
        elif answer[0] == "refused":
            job.message, job.state = answer[1], FAILED
        else:
            if answer[1]:
                log.error("job %s (%s) failed:\n%s", job.id, job.kind, answer[1])
            job.message, job.state = INTERNAL, FAILED

    def _forget_old(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.created)
        for j in done[: max(len(self._jobs) - KEEP, 0)]:
            del self._jobs[j.id]


_runner: Runner | None = None
_runner_lock = threading.Lock()


def runner() -> Runner:
    """The process's runner, its files under the data folder's ``jobs/``."""
    global _runner
    with _runner_lock:
        if _runner is None:
            from yibao.config import get_settings

            directory = Path(get_settings().data_dir) / "jobs"
            directory.mkdir(parents=True, exist_ok=True)
            _runner = Runner(directory)
        return _runner
