"""The rule library in force, cached per process: re-read when its fingerprint (rule count, versions, last
change) moves, looked at most every ``RECHECK_SECONDS`` so a facade call pays no query for it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yibao.store import audit_rules
from yibao.supervision.library import Library
from yibao.supervision.online import OnlineEngine

RECHECK_SECONDS = 5.0


@dataclass
class _Cached:
    fingerprint: str
    library: Library
    online: OnlineEngine
    checked: float


_lock = threading.Lock()
_cache: dict[str, _Cached] = {}


def current(session: Session, *, fresh: bool = False) -> tuple[Library, OnlineEngine]:
    """The stored library and its online engine; ``fresh`` re-checks the fingerprint now."""
    key = str(session.get_bind().engine.url)  # (a facade unit of work's session is bound to a connection)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and not fresh and now - cached.checked < RECHECK_SECONDS:
        return cached.library, cached.online
    fp = audit_rules.fingerprint(session)
    if cached is not None and cached.fingerprint == fp:
        cached.checked = now
        return cached.library, cached.online
    library = audit_rules.load_library(session)
    entry = _Cached(fp, library, OnlineEngine(library), now)
    with _lock:
        _cache[key] = entry
    return entry.library, entry.online


def forget() -> None:
    """Drop every cached library (tests, and after an import in this process)."""
    with _lock:
        _cache.clear()
