"""Statements declared once (声明的语句): reads with named rows, writes with named parameters.

A :class:`Query` or :class:`Write` is a SQLAlchemy Core construct built at import time. A unit of work
(:mod:`yibao.store.uow`) runs it: on PostgreSQL compiled once to ``$n`` SQL and sent over libpq
(:mod:`yibao.store.wire`), elsewhere through SQLAlchemy (:func:`run`). What differs between the databases
is decided here and in the unit of work, never by the code that declares a statement:

* a read may give an equivalent statement for PostgreSQL (``= ANY(array)`` where the portable one has an
  expanding ``IN``);
* :meth:`Query.parts` is one read made of several: a UNION ALL whose rows come back split by part, each part's
  rows with its own column names (one statement where several small reads were);
* :meth:`Write.rows` inserts (or upserts) many rows of one table: one statement over a JSON array on
  PostgreSQL, one executemany elsewhere; :meth:`Write.with_children` inserts a row and its child rows (a
  journal entry and its legs): one statement on PostgreSQL, the parent then the children elsewhere;
* :func:`compose` turns a run of writes into as few statements as the data allow (PostgreSQL): data-modifying
  CTEs built with Core (``add_cte``), each write's parameters renamed by its position.
"""

from __future__ import annotations

import json as _json
from collections import namedtuple
from typing import Any, NamedTuple

import orjson as _orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg as _psycopg
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.util import find_tables

# $1, $2 … with the names in order (compiled.positiontup): statements are prepared once per connection
WIRE_DIALECT = _psycopg.dialect(paramstyle="numeric_dollar")


class Wire(NamedTuple):
    """A statement compiled for the wire: its SQL and, per ``$n``, the parameter's name; the values SQLAlchemy
    would supply itself (literals, Python-side column defaults)."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    def bind(self, values: dict) -> tuple:
        d = self.defaults
        return tuple([values[n] if n in values else d[n] for n in self.names])


def compile_wire(stmt, *, json: frozenset[str] = frozenset()) -> Wire:
    """Compile once for the wire, refusing a parameter SQLAlchemy would convert (the wire sends values as they
    are; a JSON parameter is serialised by :meth:`Write.values`)."""
    compiled = stmt.compile(dialect=WIRE_DIALECT)
    if "POSTCOMPILE" in compiled.string:
        raise TypeError(f"cannot precompile (expanding IN): {compiled.string[:80]}")
    for name, bind in compiled.binds.items():
        if name in json or isinstance(bind.type, ARRAY):
            continue
        if bind.type._cached_bind_processor(WIRE_DIALECT) is not None:
            raise TypeError(f"parameter {name} of {compiled.string[:60]} needs SQLAlchemy's processing")
    named = {b.key for b in visitors.iterate(stmt) if isinstance(b, BindParameter) and not b.unique}
    defaults = {n: compiled.params[n] for n in compiled.positiontup if n not in named}
    return Wire(compiled.string, tuple(compiled.positiontup), defaults)


class Read(NamedTuple):
    """A declared read with its parameters: what a unit of work is asked to run."""

    query: Query
    params: dict


class Query:
    """A read declared once: a Core SELECT with named parameters; its rows have the columns' names."""

    __slots__ = ("_wire", "layout", "name", "pg", "stmt")

    def __init__(self, name: str, stmt, *, pg=None):
        self.name, self.stmt, self.pg, self.layout, self._wire = name, stmt, pg, None, None

    def __call__(self, **params) -> Read:
        return Read(self, params)

    def __repr__(self) -> str:
        return f"Query({self.name})"

    def wire(self) -> Wire:
        if self._wire is None:
            self._wire = compile_wire(self.pg if self.pg is not None else self.stmt)
        return self._wire

    @classmethod
    def parts(cls, name: str, **selects) -> Query:
        """One read of several small SELECTs (UNION ALL, one statement); its answer is a dict of part name →
        that part's rows, each with the part's own columns. Every part's columns have positions of their own
        (NULL of the right type in the other parts' rows): no column's meaning depends on the part."""
        layout, offset = {}, 0
        for part, sel in selects.items():
            cols = list(sel.selected_columns)
            layout[part] = (offset, namedtuple(f"{part.title()}Row", [c.name for c in cols]), cols)
            offset += len(cols)
        types = [c.type for _, _, cols in layout.values() for c in cols]
        branches = []
        for part, (start, _, cols) in layout.items():
            values = [cast(null(), t) for t in types]
            values[start : start + len(cols)] = cols
            columns = [literal(part).label("part"), *(v.label(f"c{i}") for i, v in enumerate(values))]
            branches.append(selects[part].with_only_columns(*columns, maintain_column_froms=True))
        query = cls(name, union_all(*branches))
        query.layout = {part: (start, row, len(cols)) for part, (start, row, cols) in layout.items()}
        return query

    def answer(self, rows: list) -> Any:
        """The rows as the declaration promises them (a :meth:`parts` read's split by part)."""
        if self.layout is None:
            return rows
        out: dict[str, list] = {part: [] for part in self.layout}
        for r in rows:
            start, row, n = self.layout[r[0]]
            out[r[0]].append(row._make(r[1 + start : 1 + start + n]))
        return out


class Write:
    """A write declared once: one Core INSERT / UPDATE / DELETE with named parameters (:meth:`insert` for one
    row of a table), many rows of a table (:meth:`rows`), or a row and its children (:meth:`with_children`).
    ``json``: parameters bound to JSON columns."""

    __slots__ = ("_wire", "children", "core", "core_pg", "json", "kind", "name", "pg", "tables", "writes")

    def __init__(
        self, name: str, core, *, pg=None, json: tuple[str, ...] = (), kind: str = "one", core_pg=None
    ):
        self.name, self.core, self.pg, self.json, self.kind = name, core, pg, frozenset(json), kind
        # an upsert's statement for PostgreSQL through SQLAlchemy (a session's unit of work); core is SQLite's
        self.core_pg = core_pg
        self.children: tuple | None = None  # (child table, child keys, foreign key) for kind "children"
        target = pg if pg is not None else core
        self.writes = frozenset(t.name for t in _targets(target))
        self.tables = frozenset(t.name for t in find_tables(target, include_crud=True, include_joins=True))
        self._wire = None

    def __repr__(self) -> str:
        return f"Write({self.name})"

    @classmethod
    def insert(cls, name: str, table, keys: tuple[str, ...], **kw) -> Write:
        """One row of ``table``: the ``keys`` columns from parameters of the same names, every other column with
        a Python-side default from that default (both databases write the same values)."""
        values: dict = {k: bindparam(k, type_=table.c[k].type) for k in keys}
        for c in table.c:
            if c.key not in values and c.default is not None:
                if not c.default.is_scalar:
                    raise TypeError(f"{table.name}.{c.key}: no scalar default to precompile")
                values[c.key] = literal(c.default.arg, type_=c.type)
        return cls(name, insert(table).values(values), **kw)

    @classmethod
    def rows(cls, name: str, table, keys: tuple[str, ...], *, update: tuple[str, ...] = ()) -> Write:
        """Many rows of ``table`` with the ``keys`` columns, in the list's order; ``update``: the columns an
        existing row (same primary key) takes from the new one (an upsert). The parameter is the list of rows.
        PostgreSQL: one statement over the rows as one JSON array (``json_to_recordset``: each value read by its
        column type's input, so a string too long for its column is refused, never cut); elsewhere one
        executemany."""
        for c in table.c:
            if c.key not in keys and c.default is not None:
                raise TypeError(f"{table.name}.{c.key}: give every column with a Python default")
        recordset = (
            func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON))
            .table_valued(*(column(k, table.c[k].type) for k in keys), column("n", Integer))
            .render_derived(name="r", with_types=True)
        )
        source = select(*(recordset.c[k] for k in keys)).order_by(recordset.c.n)
        pg = postgresql.insert(table).from_select(list(keys), source)
        core, core_pg = sqlite.insert(table), None
        if update:
            index = list(table.primary_key.columns)
            pg = pg.on_conflict_do_update(index_elements=index, set_={c: pg.excluded[c] for c in update})
            core = core.on_conflict_do_update(
                index_elements=index, set_={c: core.excluded[c] for c in update}
            )
            core_pg = postgresql.insert(table)
            core_pg = core_pg.on_conflict_do_update(
                index_elements=index, set_={c: core_pg.excluded[c] for c in update}
            )
        write = cls(name, core, pg=pg, kind="rows", core_pg=core_pg)
        write.children = (table, keys, None)
        return write

    @classmethod
    def upsert(cls, name: str, table, keys: tuple[str, ...], *, index: list, set_: dict) -> Write:
        """One row of ``table`` inserted, or the row with the same ``index`` columns updated by ``set_``."""
        values = {k: bindparam(k, type_=table.c[k].type) for k in keys}
        pg, core = postgresql.insert(table).values(values), sqlite.insert(table).values(values)
        pg = pg.on_conflict_do_update(index_elements=index, set_=set_)
        return cls(name, core.on_conflict_do_update(index_elements=index, set_=set_), pg=pg, core_pg=pg)

    @classmethod
    def with_children(cls, name: str, parent, parent_keys, child, child_keys, foreign_key: str) -> Write:
        """A row of ``parent`` (its id generated) and its rows of ``child`` pointing at it by ``foreign_key``: the
        parameters are the parent's values and ``children``, a list of the children's values. PostgreSQL: one
        statement (the parent in a CTE, the children from arrays, in their order); elsewhere the parent, then
        the children with its id."""
        values = {k: bindparam(k, type_=parent.c[k].type) for k in parent_keys}
        core = insert(parent).values(values).returning(parent.c.id)
        new = core.cte(f"{parent.name}_new")
        arrays = [cast(bindparam(f"c_{k}"), ARRAY(_plain_type(child.c[k].type))) for k in child_keys]
        legs = (
            func.unnest(*arrays)
            .table_valued(*(column(k) for k in child_keys), with_ordinality="n")
            .render_derived(name="child")
        )
        pg = insert(child).from_select(
            [foreign_key, *child_keys], select(new.c.id, *(legs.c[k] for k in child_keys)).order_by(legs.c.n)
        )
        write = cls(name, core, pg=pg, kind="children")
        write.children = (child, tuple(child_keys), foreign_key)
        return write

    def values(self, params) -> dict:
        """The named parameter values as the wire sends them."""
        if self.kind == "rows":  # (orjson writes dates and times in ISO 8601, which the columns' input reads)
            keys = self.children[1]
            return {
                "rows": _orjson.dumps(
                    [{**{k: r[k] for k in keys}, "n": i} for i, r in enumerate(params)]
                ).decode()
            }
        if self.kind == "children":
            kids = params["children"]
            return {**params, **{f"c_{k}": [c[k] for c in kids] for k in self.children[1]}}
        if self.json:
            return {k: (_json.dumps(v) if k in self.json else v) for k, v in params.items()}
        return params

    def wire(self) -> Wire:
        if self._wire is None:
            self._wire = compile_wire(self.pg if self.pg is not None else self.core, json=self.json)
        return self._wire

    def wire_params(self, params) -> tuple | list[tuple]:
        """The wire's parameters: a tuple, or a list of tuples for a list of parameter sets (one execution each)."""
        wire = self.wire()
        if isinstance(params, list) and self.kind == "one":
            return [wire.bind(self.values(p)) for p in params]
        return wire.bind(self.values(params))

    def positioned(self, i: int):
        """A fresh copy of the statement with its named parameters renamed ``w{i}_<name>`` (the i-th of a
        composed statement). (Fresh: ``add_cte`` changes the statement it is called on as well as its copy.)"""
        prefix = f"w{i}_"

        def rename(element):
            if isinstance(element, BindParameter) and not element.unique:
                return bindparam(prefix + element.key, type_=element.type)
            return None

        return visitors.replacement_traverse(self.pg if self.pg is not None else self.core, {}, rename)


def _plain_type(t):
    """A column's type without its length (an explicit cast to VARCHAR(n) would cut a longer value)."""
    return String() if isinstance(t, String) else t


def _targets(stmt) -> list:
    """The tables a DML statement writes: its own, and those of the data-modifying CTEs it uses."""
    out = [stmt.table] if getattr(stmt, "table", None) is not None else []
    for element in visitors.iterate(stmt):
        if element.__visit_name__ == "cte" and getattr(element.element, "table", None) is not None:
            out.append(element.element.table)
    return out


def run(conn, write: Write, params) -> None:
    """A write through SQLAlchemy (SQLite; PostgreSQL when a session lends its transaction to a unit of work)."""
    core = write.core_pg if write.core_pg is not None and conn.dialect.name == "postgresql" else write.core
    if write.kind == "rows":
        if params:
            keys = write.children[1]
            conn.execute(core, [{k: r[k] for k in keys} for r in params])
    elif write.kind == "children":
        child, keys, foreign_key = write.children
        parent_id = conn.execute(
            write.core, {k: v for k, v in params.items() if k != "children"}
        ).scalar_one()
        if params["children"]:
            conn.execute(
                insert(child),
                [{foreign_key: parent_id, **{k: c[k] for k in keys}} for c in params["children"]],
            )
    else:
        conn.execute(core, params)


class Composite(NamedTuple):
    """A run of writes as one statement: its SQL and, per ``$n``, where its value comes from."""

    sql: str
    slots: tuple[tuple[int, str], ...]  # (the write's position in the run, parameter name); -1: a constant
    constants: dict[str, Any]


_COMPOSITES: dict[tuple[str, ...], Composite] = {}


def compose(calls: list[tuple[Write, Any]]) -> list[tuple[str, tuple | list[tuple]]]:
    """Writes in the order given, as few statements as their data allow (PostgreSQL): consecutive writes become
    one statement of data-modifying CTEs (``WITH w0 AS (INSERT …), w1 AS (UPDATE …) UPDATE …``). The parts of
    one statement run on one snapshot in no defined order, so a write joins the run only if it touches no
    table written earlier in the run; foreign keys are checked at the end of the statement, when every row is
    there. A write with several parameter sets goes alone (one execution each)."""
    out: list = []
    run_: list[tuple[Write, Any]] = []
    written: set[str] = set()
    for write, params in calls:
        if isinstance(params, list) and write.kind == "one":
            _close(run_, out)
            written.clear()
            out.append((write.wire().sql, write.wire_params(params)))
            continue
        if write.tables & written:
            _close(run_, out)
            written.clear()
        run_.append((write, params))
        written |= write.writes
    _close(run_, out)
    return out


def _close(calls: list, out: list) -> None:
    if len(calls) == 1:
        write, params = calls[0]
        out.append((write.wire().sql, write.wire_params(params)))
    elif calls:
        composite = _composite(tuple(w for w, _ in calls))
        values = [w.values(p) for w, p in calls]
        out.append(
            (
                composite.sql,
                tuple(composite.constants[n] if i < 0 else values[i][n] for i, n in composite.slots),
            )
        )
    calls.clear()


def _composite(writes: tuple[Write, ...]) -> Composite:
    key = tuple(w.name for w in writes)
    composite = _COMPOSITES.get(key)
    if composite is None:
        parts = [w.positioned(i) for i, w in enumerate(writes)]
        stmt = parts[-1].add_cte(*(p.cte(f"w{i}") for i, p in enumerate(parts[:-1])))
        compiled = stmt.compile(dialect=WIRE_DIALECT)
        slots, constants = [], {}
        for name in compiled.positiontup:
            head, _, rest = name.partition("_")
            if head[:1] == "w" and head[1:].isdigit() and not compiled.binds[name].unique:
                slots.append((int(head[1:]), rest))
            else:
                slots.append((-1, name))
                constants[name] = compiled.params[name]
        composite = _COMPOSITES[key] = Composite(compiled.string, tuple(slots), constants)
    return composite
