"""A unit of work without a database, for service tests of logic rather than SQL (style.md §9).

It answers each declared read from what the test gave for that query's name (rows, or a function of the read's
parameters), and keeps the writes and audit rows the service hands it, in order, for the test to check."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any


def row(**values) -> SimpleNamespace:
    """A row as a declared read returns it: its columns as attributes."""
    ns = SimpleNamespace(**values)
    ns._asdict = lambda: dict(values)
    return ns


class FakeUnitOfWork:
    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.reads: list[tuple[str, dict]] = []
        self.writes: list[tuple[str, Any]] = []
        self.audit: list[dict] = []

    def fetch(self, reads: dict) -> dict:
        out = {}
        for name, read in reads.items():
            self.reads.append((read.query.name, read.params))
            answer = self.answers.get(read.query.name, [])
            out[name] = answer(read.params) if isinstance(answer, Callable) else answer
        return out

    def read(self, read):
        return self.fetch({"": read})[""]

    def first(self, read):
        rows = self.read(read)
        return rows[0] if rows else None

    def ahead(self, reads: dict) -> None:
        pass

    def write(self, write, params) -> None:
        self.writes.append((write.name, params))

    def defer_audit(self, entry: dict) -> None:
        self.audit.append(entry)

    @contextmanager
    def savepoint(self):
        marks = len(self.writes), len(self.audit)
        try:
            yield
        finally:
            del self.writes[marks[0] :], self.audit[marks[1] :]

    @property
    def session(self):
        raise AssertionError("a service under test asked for the ORM: this path is not logic-only")

    def written(self) -> list[str]:
        return [name for name, _ in self.writes]
