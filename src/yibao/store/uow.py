"""The unit of work (工作单元) of a facade call: one transaction, its declared reads and writes, its audit rows.

A service asks it for :class:`~yibao.store.statements.Read` s and hands it
:class:`~yibao.store.statements.Write` s; the order of the code is the order of the statements. What it does
with them differs by database, and only here:

* **PostgreSQL** (the facade's production path): statements go over libpq (:mod:`yibao.store.wire`). Writes
  wait for the next round trip that is needed anyway — the next read, or the commit — and travel with it,
  composed into as few statements as the data allow (:func:`~yibao.store.statements.compose`). The reads a
  call will make from its message alone may be declared ahead (:meth:`UnitOfWork.ahead`): they travel with the
  authentication's round trip and are answered from there, as long as nothing was written in between. The
  audit rows go last, with the COMMIT, in one round trip: the chain's head is locked only for that instant.
* **Elsewhere** (SQLite): every statement runs at once through SQLAlchemy, in the same order.

The rare paths that want ORM objects use :attr:`UnitOfWork.session`, a :class:`~sqlalchemy.orm.Session` on the
same connection and transaction, created when first asked for; writes queued before an ORM flush are sent
before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yibao.store import audit
from yibao.store.statements import Read, Write, compose, run


class PrefetchFailed(Exception):
    """A round trip carrying reads declared ahead failed: the unit of work is rolled back and run again without
    them, so that any error is raised where the read that causes it is made."""


def _key(read: Read) -> tuple:
    return read.query.name, tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(read.params.items())
    )


class UnitOfWork:
    """One transaction on ``conn`` (a SQLAlchemy connection). ``wire``: its psycopg connection, for the
    PostgreSQL path; ``session``: an ORM session already bound to ``conn`` (the SQLite path brings its own)."""

    def __init__(self, conn: Connection, *, wire=None, session: Session | None = None):
        self._conn, self._wire, self._session = conn, wire, session
        self._writes: list[tuple[Write, Any]] = []
        self._ahead: list[Read] = []
        self._fetched: dict[tuple, Any] = {}
        self._audit: list[dict] = []

    # --- reads -------------------------------------------------------------------------------------------

    def fetch(self, reads: dict[str, Read]) -> dict[str, Any]:
        """Run the named reads in their order, in one round trip on PostgreSQL (with any writes queued before
        them, and any reads declared ahead); each answer is a list of rows (a dict of part → rows for a
        :meth:`~yibao.store.statements.Query.parts` read)."""
        if self._wire is None:
            self._flush_orm()
            out = {}
            for name, read in reads.items():
                out[name] = read.query.answer(self._conn.execute(read.query.stmt, read.params).all())
            return out
        self._flush_orm()
        wanted = [read for read in reads.values() if _key(read) not in self._fetched]
        if wanted:
            self._send(wanted)
        return {name: self._fetched.pop(_key(read)) for name, read in reads.items()}

    def read(self, read: Read) -> Any:
        return self.fetch({"": read})[""]

    def first(self, read: Read):
        rows = self.read(read)
        return rows[0] if rows else None

    def ahead(self, reads: dict[str, Read]) -> None:
        """Declare reads a call will make (PostgreSQL; nothing elsewhere): they travel with the next round
        trip and are answered from there. Declared in the order the call makes them (their row locks are
        taken in that order). Anything written, or any ORM use, in between drops them."""
        if self._wire is not None and self._session is None:
            self._ahead.extend(reads.values())

    def _send(self, reads: list[Read]) -> None:
        from yibao.store import wire

        asked = {_key(x) for x in reads}
        ahead = [r for r in self._ahead if _key(r) not in asked]
        self._ahead = []
        sent = reads + ahead
        writes = compose(self._writes)
        self._writes = []
        try:
            found = wire.execute_reads(
                self._wire, writes, [(r.query.wire().sql, r.query.wire().bind(r.params)) for r in sent]
            )
        except _psycopg_error() as exc:
            if ahead:  # (the reads ahead are an optimisation: the caller runs again without them)
                raise PrefetchFailed(str(exc)) from exc
            raise DBAPIError.instance(sent[0].query.name, None, exc, _psycopg_error()) from exc
        for read, rows in zip(sent, found, strict=True):
            self._fetched[_key(read)] = read.query.answer(rows)

    def connection(self) -> Connection:
        """The SQLAlchemy connection, for a statement that is not declared (what was read ahead is dropped:
        such a statement may change what a read returns)."""
        self._drop_fetched()
        return self._conn

    # --- writes ------------------------------------------------------------------------------------------

    def write(self, write: Write, params: dict | list) -> None:
        """A write whose result nobody reads. PostgreSQL: it travels with the next round trip, after the writes
        queued before it; elsewhere it runs now. ``params``: a dict, or a list (one execution each, or the rows
        of a :meth:`~yibao.store.statements.Write.rows` write)."""
        self._drop_fetched()
        if self._wire is None:
            self._flush_orm()
            run(self._conn, write, params)
            return
        if self._session is not None and (self._session.new or self._session.dirty or self._session.deleted):
            self._session.flush()
        self._writes.append((write, params))

    def flush(self) -> None:
        """Send the queued writes now (PostgreSQL; nothing is ever queued elsewhere)."""
        if self._writes:
            self._send([])

    # --- the ORM, audit, savepoints, commit ---------------------------------------------------------------

    @property
    def session(self) -> Session:
        """An ORM session on this unit of work's connection and transaction (created when first asked for)."""
        if self._session is None:
            self._drop_fetched()
            session = Session(bind=self._conn, join_transaction_mode="rollback_only", expire_on_commit=False)
            session.info[audit.UOW_KEY] = self  # (audit rows recorded against the session are this one's)
            event.listen(session, "before_flush", self._before_orm_flush)
            self._session = session
        return self._session

    def _before_orm_flush(self, *_) -> None:
        """The ORM's changes are written after the writes queued before them; what was read ahead is stale."""
        self._drop_fetched()
        self.flush()

    def defer_audit(self, entry: dict) -> None:
        """An audit row (:func:`yibao.store.audit.record`), appended at commit."""
        self._audit.append(entry)

    def take_audit(self) -> list[dict]:
        """The audit rows deferred so far, handed to the caller (a unit of work lent to a session's work)."""
        rows, self._audit = self._audit, []
        return rows

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Everything done inside is undone on leaving (a pre-settlement computes, records nothing)."""
        self.flush()
        self._flush_orm()
        marks = len(self._audit)
        if self._session is not None:
            nested = self._session.begin_nested()
            self._session.connection()  # (the session emits its SAVEPOINT when it first uses the connection)
        else:
            nested = self._conn.begin_nested()
        try:
            yield
        finally:
            self._writes.clear()  # (queued inside: never sent)
            self._drop_fetched()
            del self._audit[marks:]
            nested.rollback()
            if self._session is not None:
                self._session.expire_all()

    def commit(self) -> None:
        """Queued writes, the audit rows and COMMIT: one round trip on PostgreSQL."""
        self._flush_orm()
        rows, self._audit = self._audit, []
        if self._wire is None:
            if rows:
                audit.append_rows(self._conn, rows)
            return
        from yibao.store import wire

        self._drop_fetched()
        statements = compose(self._writes) + audit.server_appends(rows)
        self._writes = []
        try:
            wire.execute(self._wire, statements, commit=True)
        except _psycopg_error() as exc:
            raise DBAPIError.instance("COMMIT", None, exc, _psycopg_error()) from exc

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _flush_orm(self) -> None:
        if self._session is not None and (self._session.new or self._session.dirty or self._session.deleted):
            self._session.flush()

    def _drop_fetched(self) -> None:
        self._ahead.clear()
        self._fetched.clear()


@contextmanager
def lent_to(session: Session) -> Iterator[UnitOfWork]:
    """The unit of work of a session's transaction, for a use case written against units of work called from
    session code (a staff page, an import): the facade's own when the session is one's, else one on the
    session's connection whose audit rows go back to the session (appended at its commit, like its own)."""
    own = session.info.get(audit.UOW_KEY)
    if own is not None:
        yield own
        return
    uow = UnitOfWork(session.connection(), session=session)
    yield uow
    audit.defer_entries(session, uow.take_audit())


def _psycopg_error():
    import psycopg

    return psycopg.Error
