"""The SQL the engines run, from one text: the audit view, each kind's template wrapped with the exemption
check and the columns a finding needs, transpiled by sqlglot from DuckDB's dialect to the engine's
(``sqlite`` online, ``duckdb`` in batch, ``spark`` for a cluster)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from importlib import resources

import sqlglot

from yibao.supervision.kinds import KINDS, SQL_TYPES, Kind

SOURCE_DIALECT = "duckdb"
HIT_COLUMNS = (
    "rule_code", "fixmedins_code", "mdtrt_id", "line_id", "role", "observed", "lim", "k_id",
    "psn_no", "setl_id", "feedetl_sn", "med_list_codg", "amt", "medfee", "exempt",
)  # fmt: skip

_WRAPPER = """
SELECT h.rule_code, COALESCE(h.fixmedins_code, v.fixmedins_code) AS fixmedins_code, h.mdtrt_id, h.line_id,
       h.role, CAST(h.observed AS VARCHAR) AS observed, CAST(h.lim AS VARCHAR) AS lim, h.k_id,
       v.psn_no, v.setl_id, l.feedetl_sn, l.med_list_codg, l.amt, v.medfee,
       (SELECT MIN(x.reason) FROM x_exempt x
         WHERE x.rule_code = h.rule_code AND COALESCE(v.begn_day, x.from_day) BETWEEN x.from_day AND x.to_day
           AND ((x.field = 'fixmedins_code' AND x.value = COALESCE(h.fixmedins_code, v.fixmedins_code))
             OR (x.field = 'psn_no' AND x.value = v.psn_no)
             OR (x.field = 'med_type' AND SUBSTRING(v.med_type, 1, LENGTH(x.value)) = x.value)
             OR (x.field = 'dept_code'
                 AND SUBSTRING(COALESCE(l.dept_code, v.dept_code, ''), 1, LENGTH(x.value)) = x.value)
             OR (x.field = 'dise_codg' AND SUBSTRING(v.dise_codg, 1, LENGTH(x.value)) = x.value)
             OR (x.field = 'diagnosis' AND EXISTS (
                   SELECT 1 FROM diagnoses d WHERE d.mdtrt_id = h.mdtrt_id
                      AND SUBSTRING(d.dise_codg, 1, LENGTH(x.value)) = x.value)))) AS exempt
FROM ({kind}) h
LEFT JOIN visits v ON v.mdtrt_id = h.mdtrt_id
LEFT JOIN lines l ON l.line_id = h.line_id
"""
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _named(text: str) -> dict[str, str]:
    """``-- name: x`` sections of a file."""
    out: dict[str, str] = {}
    for part in re.split(r"^-- name: ", text, flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        out[name.strip()] = body.strip()
    return out


def view_selects() -> dict[str, str]:
    """``visits`` and ``lines``: the view's two SELECTs, in the source dialect."""
    return _named(resources.files("yibao.supervision").joinpath("sql", "view.sql").read_text("utf-8"))


def literal(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    try:
        Decimal(text)
        if re.fullmatch(r"[0-9.]+", text):
            return text
    except ArithmeticError:
        pass
    return "'" + text.replace("'", "''") + "'"


def render(kind: Kind, values: dict[str, object] | None = None) -> str:
    """The kind's hit query in the source dialect; a per-rule kind gets its ``{{param}}`` values."""
    return wrap(body(kind, values))


def body(kind: Kind, values: dict[str, object] | None = None) -> str:
    """The kind's template alone (its hits before the exemption check and the finding's columns)."""
    text = kind.sql
    if kind.per_rule:
        text = _PLACEHOLDER.sub(lambda m: literal((values or {})[m.group(1)]), text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def wrap(hits: str) -> str:
    """The exemption check and the finding's columns around a query of hits (a template, or a table the
    batch engine staged them in: the same text either way)."""
    return _WRAPPER.format(kind=hits)


@cache
def transpile(sql: str, dialect: str) -> str:
    if dialect == SOURCE_DIALECT:
        return sql
    return sqlglot.transpile(sql, read=SOURCE_DIALECT, write=dialect)[0]


def kind_table_ddl(kind: Kind, dialect: str) -> str:
    cols = ["rule_code VARCHAR", "k_id BIGINT", "from_day INTEGER", "to_day INTEGER"]
    cols += [f"{f.name} {SQL_TYPES[f.type]}" for f in kind.fields]
    return transpile(f"CREATE TABLE k_{kind.name} ({', '.join(cols)})", dialect)


EXEMPT_DDL = (
    "CREATE TABLE x_exempt (rule_code VARCHAR, field VARCHAR, value VARCHAR, reason VARCHAR, "
    "from_day INTEGER, to_day INTEGER)"
)


def all_kind_tables(dialect: str) -> dict[str, str]:
    return {name: kind_table_ddl(k, dialect) for name, k in KINDS.items()}
