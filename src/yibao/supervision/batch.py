"""事后 execution: the whole library over a period's settled data in DuckDB, one statement per rule kind (per
rule for the statistical kinds), reading the raw tables from Arrow or Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from yibao.supervision import sqltext
from yibao.supervision.findings import Finding, assemble
from yibao.supervision.frame import TABLES, Frame
from yibao.supervision.kinds import KINDS, SQL_TYPES
from yibao.supervision.library import Library

DIALECT = "duckdb"


def _kind_arrow(kind: str, names: list[str], rows: list[tuple]) -> pa.Table:
    spec = KINDS[kind]
    types = {"rule_code": pa.string(), "k_id": pa.int64(), "from_day": pa.int32(), "to_day": pa.int32()}
    for f in spec.fields:
        types[f.name] = pa.int64() if SQL_TYPES[f.type] == "BIGINT" else pa.string()
    return pa.table({n: pa.array([r[i] for r in rows], types[n]) for i, n in enumerate(names)})


class BatchEngine:
    """Runs a library's post-stage rules on a whole period."""

    def __init__(
        self,
        library: Library,
        threads: int | None = None,
        memory_limit: str | None = None,
        stage: str | None = "post",
    ):
        self.library = library.select(library.active(stage))
        self.con = duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")

    def load(self, source: Frame | Path) -> None:
        """The raw tables: a frame's Arrow tables, or a directory of ``<table>.parquet`` files."""
        for name in TABLES:
            if isinstance(source, Frame):
                self.con.register(f"_{name}", getattr(source, name))
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _{name}")
                self.con.unregister(f"_{name}")
            else:
                path = Path(source) / f"{name}.parquet"
                self.con.execute(
                    f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path.as_posix()}')"
                )
        for name, body in sqltext.view_selects().items():
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {body}")
        for kind, (names, rows) in self.library.tables().items():
            self.con.register("_k", _kind_arrow(kind, names, rows))
            self.con.execute(f"CREATE OR REPLACE TABLE k_{kind} AS SELECT * FROM _k")
            self.con.unregister("_k")
        self.con.execute(sqltext.EXEMPT_DDL.replace("CREATE TABLE", "CREATE OR REPLACE TABLE"))
        rows = self.library.exemption_rows()
        if rows:
            self.con.executemany("INSERT INTO x_exempt VALUES (?, ?, ?, ?, ?, ?)", rows)

    def statements(self) -> list[tuple[str, str]]:
        """(label, SQL) per kind, or per rule of a per-rule kind."""
        out = []
        tables = self.library.tables()
        for kind in sorted(tables):
            spec = KINDS[kind]
            if spec.per_rule:
                for rule in sorted(self.library.active(), key=lambda r: r.rule_code):
                    if rule.kind == kind:
                        out.append(
                            (
                                rule.rule_code,
                                sqltext.render(spec, {"rule_code": rule.rule_code, **rule.params}),
                            )
                        )
            else:
                out.append((kind, sqltext.render(spec)))
        return out

    def hits(self, progress: Callable[[str], None] | None = None) -> list[dict]:
        out: list[dict] = []
        for label, sql in self.statements():
            rows = self.con.execute(sql).fetchall()
            out.extend(dict(zip(sqltext.HIT_COLUMNS, r, strict=True)) for r in rows)
            if progress:
                progress(label)
        return out

    def run(
        self, progress: Callable[[str], None] | None = None, codes: set[str] | None = None
    ) -> list[Finding]:
        hits = self.hits(progress)
        if codes is not None:
            hits = [h for h in hits if h["rule_code"] in codes]
        return assemble(hits, self.library)
