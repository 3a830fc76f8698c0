"""事后 execution: the whole library over a period's settled data in DuckDB, one statement per rule kind (per
rule for the statistical kinds), reading the raw tables from Arrow or Parquet.

How it stays fast and small at ten million lines (bench/audit.py, docs/supervision.md): the view's two
tables are materialised once, in memory for a frame and as uncompressed Parquet beside a snapshot (a
10-million-line ``lines`` would take 2.4 GB in memory, 0.3 GB on disk, read through the page cache); and each
statement is run in two steps, the kind's hits into a temporary table and then the wrapper (exemptions, the
finding's columns) over it, so the planner knows the hits are few and never builds a hash table of every
line to look up their columns. The SQL is the same text, staged."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from yibao.supervision import sqltext
from yibao.supervision.findings import Finding, assemble
from yibao.supervision.frame import TABLES, Frame
from yibao.supervision.kinds import KINDS, SQL_TYPES
from yibao.supervision.library import Library

DIALECT = "duckdb"
_BATCH_ROWS = 100_000
# a template's columns (kinds.py), in order
_HIT_TYPES = (("rule_code", "VARCHAR"), ("fixmedins_code", "VARCHAR"), ("mdtrt_id", "VARCHAR"),
              ("line_id", "BIGINT"), ("role", "VARCHAR"), ("observed", "VARCHAR"), ("lim", "VARCHAR"),
              ("k_id", "BIGINT"))  # fmt: skip


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
        self._work: Path | None = None

    def _work_dir(self) -> Path:
        """A folder of this engine's own (the view's Parquet tables, DuckDB's spills), removed with it."""
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix="yibao-batch-"))
            weakref.finalize(self, shutil.rmtree, self._work, True)
            self.con.execute(f"SET temp_directory = '{(self._work / 'spill').as_posix()}'")
        return self._work

    def load(self, source: Frame | Path, scope: Iterable[str] | None = None) -> None:
        """The raw tables: a frame's Arrow tables, or a directory of ``<table>.parquet`` files; ``scope``: the
        period's visits (``period_visits``, what a statistical indicator compares), None: every visit."""
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
            if isinstance(source, Frame):
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {body}")
                continue
            path = (self._work_dir() / f"{name}.parquet").as_posix()
            self.con.execute(f"COPY ({body}) TO '{path}' (FORMAT parquet, COMPRESSION uncompressed)")
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        if scope is None:
            self.con.execute("CREATE OR REPLACE TABLE period_visits AS SELECT mdtrt_id FROM raw_visits")
        else:
            self.con.register("_scope", pa.table({"mdtrt_id": pa.array(sorted(scope), pa.string())}))
            self.con.execute("CREATE OR REPLACE TABLE period_visits AS SELECT mdtrt_id FROM _scope")
            self.con.unregister("_scope")
        for kind, (names, rows) in self.library.tables().items():
            self.con.register("_k", _kind_arrow(kind, names, rows))
            self.con.execute(f"CREATE OR REPLACE TABLE k_{kind} AS SELECT * FROM _k")
            self.con.unregister("_k")
        self.con.execute(sqltext.EXEMPT_DDL.replace("CREATE TABLE", "CREATE OR REPLACE TABLE"))
        rows = self.library.exemption_rows()
        if rows:
            self.con.executemany("INSERT INTO x_exempt VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _bodies(self) -> list[tuple[str, str]]:
        """(label, the kind's template) per kind, or per rule of a per-rule kind."""
        out = []
        tables = self.library.tables()
        for kind in sorted(tables):
            spec = KINDS[kind]
            if spec.per_rule:
                for rule in sorted(self.library.active(), key=lambda r: r.rule_code):
                    if rule.kind == kind:
                        values = {"rule_code": rule.rule_code, **rule.params}
                        out.append((rule.rule_code, sqltext.body(spec, values)))
            else:
                out.append((kind, sqltext.body(spec)))
        return out

    def statements(self) -> list[tuple[str, str]]:
        """(label, SQL) per kind, or per rule of a per-rule kind: what :meth:`hits` runs, in two steps."""
        return [(label, sqltext.wrap(body)) for label, body in self._bodies()]

    def _gathered(self, progress: Callable[[str], None] | None) -> str:
        """Run every template into one table of hits; the query of the hit rows (``sqltext.HIT_COLUMNS``):
        the wrapper once over all of them (one pass over the lines for their columns, not one per kind)."""
        columns = ", ".join(f"{c} {t}" for c, t in _HIT_TYPES)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _hits ({columns})")
        names = ", ".join(c for c, _ in _HIT_TYPES)
        for label, body in self._bodies():
            self.con.execute(f"INSERT INTO _hits ({names}) SELECT * FROM ({body}) h")
            if progress:
                progress(label)
        return sqltext.wrap("SELECT * FROM _hits")

    def hits(self, progress: Callable[[str], None] | None = None) -> list[dict]:
        """Every hit row of the library over the loaded period."""
        out = self.con.sql(self._gathered(progress)).to_arrow_table().to_pylist()
        self.con.execute("DROP TABLE _hits")
        return out

    def run(
        self, progress: Callable[[str], None] | None = None, codes: set[str] | None = None
    ) -> list[Finding]:
        """The findings, assembled rule by rule as the hit rows stream in (a rule's findings never depend
        on another's: the same list as assembling them all at once, without all the rows in memory)."""
        query = f"SELECT * FROM ({self._gathered(progress)}) w ORDER BY w.rule_code"
        reader = self.con.sql(query).to_arrow_reader(_BATCH_ROWS)
        findings: list[Finding] = []
        rows: list[dict] = []
        for batch in reader:
            for row in batch.to_pylist():
                if rows and row["rule_code"] != rows[0]["rule_code"]:
                    findings.extend(self._assembled(rows, codes))
                    rows = []
                rows.append(row)
        findings.extend(self._assembled(rows, codes))
        self.con.execute("DROP TABLE _hits")
        findings.sort(key=lambda f: (f.rule_code, f.fixmedins_code or "", f.mdtrt_id or ""))
        return findings

    def _assembled(self, rows: list[dict], codes: set[str] | None) -> list[Finding]:
        if not rows or (codes is not None and rows[0]["rule_code"] not in codes):
            return []
        return assemble(rows, self.library)
