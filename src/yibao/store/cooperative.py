"""Facade calls as greenlets on the server's event loop, their database waits handed to the loop (协作式等待).

A facade call is synchronous code (handlers, the kernel, :class:`~yibao.store.db.Fast` statements and, on
rare paths, the ORM) whose only waits are on its PostgreSQL connection. On a thread, every call pays a hand-off
to the pool and back and the GIL's switches between threads. Here the call runs in a greenlet on the loop's
own thread instead: whenever psycopg would block on the socket, :meth:`CooperativeConnection.wait` switches
back to the loop, which resumes the greenlet when the socket is ready. Other calls and HTTP requests run
meanwhile, and a call waiting on a row lock never holds up the call that holds it.

Only psycopg's waits yield. Everything else a call does is CPU work and runs to its next database wait, as it
would under the GIL. Outside a facade greenlet (threads, the CLI, tests) the connection waits as psycopg's does.

One rule keeps this deadlock-free: a call must never block on a threading primitive that another call on the
same loop may hold across a database wait. Two such places exist and both are handled: SQLAlchemy's pool runs
its first connection's set-up queries under a lock (:func:`enabled` makes that first connection before any
call runs), and an exhausted pool makes a checkout wait (the calls in flight per process are bounded well
below the pool's size: ``yibao.api.facade_route``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet
import psycopg
from psycopg import waiting

from yibao.store import wire

T = TypeVar("T")

_READ, _WRITE = waiting.WAIT_R, waiting.WAIT_W


class _Call(greenlet.greenlet):
    """A facade call's greenlet: psycopg's waits inside it go to the loop."""


class _Waiting(tuple):
    """What a call's greenlet hands the loop: (socket, psycopg's wait state)."""


class CooperativeConnection(psycopg.Connection):
    """A psycopg connection whose waits yield to the event loop inside a facade greenlet (the engine's
    connections on PostgreSQL: ``yibao.store.db.make_engine``), with the registry of the statements
    :mod:`yibao.store.wire` prepared on it."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.wire = wire.Registry(self)

    def _deallocate(self, name):
        if name is None:  # psycopg's DEALLOCATE ALL (after a rollback) takes ours with it
            self.wire.forget()
        return super()._deallocate(name)

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        current = greenlet.getcurrent()
        if type(current) is not _Call or timeout is not None:  # (psycopg's own timed waits: cancellation)
            return super().wait(gen, interval=interval, timeout=timeout)
        fileno = self.pgconn.socket
        try:
            state = next(gen)
            while True:
                # a socket asked for writing is nearly always writable: a zero-timeout poll, not a loop round trip
                if state & _WRITE and (ready := waiting._ready(fileno, state)):
                    state = gen.send(ready)
                    continue
                state = gen.send(current.parent.switch(_Waiting((fileno, state))))
        except StopIteration as stop:
            return stop.value
        except OSError as exc:
            raise psycopg.OperationalError("connection socket closed") from exc


def connect(dialect, _record, cargs, cparams) -> CooperativeConnection:
    """SQLAlchemy's ``do_connect`` hook: the engine's connections are cooperative ones."""
    return CooperativeConnection.connect(*cargs, **cparams)


def enabled(engine) -> bool:
    """Whether facade calls on ``engine`` run as greenlets: on PostgreSQL (SQLite's waits are in C, on a
    file lock), unless SQL is being logged. The first answer per engine makes the pool's first connection."""
    ready = getattr(engine, "_yibao_cooperative", None)
    if ready is None:
        ready = engine.dialect.name == "postgresql" and not engine.echo
        if ready:
            try:
                with engine.connect():  # SQLAlchemy's first connect holds a threading lock over its queries
                    pass
            except Exception:  # the database is down: this call goes to a thread, which answers the error
                return False
        engine._yibao_cooperative = ready
    return ready


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a greenlet on this loop; returns (or raises) what it does."""
    loop = asyncio.get_running_loop()
    call = _Call(fn)
    value = call.switch(*args)
    while type(value) is _Waiting:
        fileno, state = value
        future = loop.create_future()
        ready = 0

        def wake(flag: int, future=future) -> None:
            nonlocal ready
            ready |= flag
            if not future.done():
                future.set_result(None)

        if state & _READ:
            loop.add_reader(fileno, wake, waiting.READY_R)
        if state & _WRITE:
            loop.add_writer(fileno, wake, waiting.READY_W)
        try:
            await future
        except BaseException as exc:  # cancelled (the server stopping): the call unwinds and rolls back
            value = call.throw(exc)
            continue
        finally:
            if state & _READ:
                loop.remove_reader(fileno)
            if state & _WRITE:
                loop.remove_writer(fileno)
        value = call.switch(ready)
    return value
