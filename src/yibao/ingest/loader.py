"""The import engine: parse every row, reject bad ones with line, field and reason, upsert the rest in
chunks by natural key (set-based: one prefetch, one insert, one update batch per chunk)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, tuple_, update

from yibao.errors import InputError
from yibao.ingest.kinds import KINDS, Context, Kind
from yibao.ingest.readers import as_text, read_rows
from yibao.store import audit
from yibao.store.db import unit_of_work
from yibao.store.tables import Dictionary, Institution, Person, Region
from yibao.validation import ValidationError

CHUNK = 5_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"第{self.line}行 {self.field}: {self.reason}"


@dataclass
class ImportReport:
    file: str
    kind: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    sha256: str = ""
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len({r.line for r in self.rejected}),
        }


def load_context(engine: Engine) -> Context:
    with unit_of_work(engine, write=False) as s:
        dicts: dict[str, set[str]] = {}
        for t, c in s.execute(select(Dictionary.dic_type, Dictionary.code)):
            dicts.setdefault(t, set()).add(c)
    return Context(dictionaries=dicts)


def parse_row(
    kind: Kind, columns: dict[str, str], raw: dict[str, Any], ctx: Context
) -> tuple[dict, list[tuple[str, str]]]:
    row: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col in kind.cols:
        header = columns.get(col.name)
        value = raw.get(header) if header else None
        if value is None or as_text(value) == "":
            if col.required:
                problems.append((col.name, "缺少 (missing)"))
            row[col.name] = col.default
            continue
        try:
            row[col.name] = col.parse(value, ctx)
        except ValidationError as exc:
            problems.append((col.name, exc.message))
    if not problems and kind.check is not None:
        problems.extend(kind.check(row, ctx))
    return row, problems


def _key(kind: Kind, row: dict) -> tuple:
    return tuple(row[k] for k in kind.key)


def run_import(
    engine: Engine,
    kind_name: str,
    path: Path,
    *,
    dry_run: bool = False,
    actor: str = "cli",
    progress: Progress | None = None,
    ctx: Context | None = None,
) -> ImportReport:
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InputError(f"kind: 未知的导入类型 {kind_name} (institutions, persons, enrollments, catalogue)")
    path = Path(path)
    header, rows = read_rows(path, kind_name)
    columns: dict[str, str] = {}
    ignored = []
    for h in header:
        name = kind.column(h)
        if name and name not in columns:
            columns[name] = h
        elif h:
            ignored.append(h)
    missing = [c.name for c in kind.cols if c.required and c.name not in columns]
    if missing:
        raise InputError(f"{path.name} 不是{kind.zh}文件: 缺少列 {', '.join(missing)}")
    ctx = ctx or load_context(engine)
    report = ImportReport(
        file=path.name,
        kind=kind_name,
        ignored_columns=ignored,
        dry_run=dry_run,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    seen: dict[tuple, int] = {}
    chunk: list[tuple[int, dict]] = []
    for line, raw in rows:
        report.read += 1
        row, problems = parse_row(kind, columns, raw, ctx)
        if not problems:
            key = _key(kind, row)
            if key in seen:
                problems.append((kind.key[-1], f"与第{seen[key]}行重复"))
            else:
                seen[key] = line
        if problems:
            report.rejected.extend(Rejection(line, f, r) for f, r in problems)
        else:
            chunk.append((line, row))
        if len(chunk) >= CHUNK:
            _write(engine, kind, chunk, report, dry_run)
            chunk = []
        if progress:
            progress(report.read)
    if chunk:
        _write(engine, kind, chunk, report, dry_run)
    if not dry_run:
        with unit_of_work(engine) as s:
            audit.record(
                s,
                actor=actor,
                action="import",
                entity=kind_name,
                entity_id=path.name,
                after={**report.counts(), "sha256": report.sha256},
            )
    return report


def _references(
    session, kind: Kind, chunk: list[tuple[int, dict]], report: ImportReport
) -> list[tuple[int, dict]]:
    """Rows whose referenced person, institution or region does not exist are rejected, not failed on."""
    checks = []
    if kind.name == "enrollments":
        checks.append(("psn_no", Person.psn_no, "人员不存在 (import persons first)"))
    if kind.name == "departments":
        checks.append(("fixmedins_code", Institution.fixmedins_code, "定点医药机构不存在"))
    if kind.name == "institutions":
        checks.append(("admdvs", Region.admdvs, "医保区划不存在 (load the region first)"))
    for fieldname, column, reason in checks:
        wanted = {row[fieldname] for _, row in chunk}
        have = set(session.scalars(select(column).where(column.in_(wanted))))
        bad = {line for line, row in chunk if row[fieldname] not in have}
        report.rejected.extend(
            Rejection(line, fieldname, f"{reason}: {row[fieldname]}") for line, row in chunk if line in bad
        )
        chunk = [(line, row) for line, row in chunk if line not in bad]
    if kind.name == "persons":  # one person per certificate: another psn_no holding the number is an error
        certs = {(row["psn_cert_type"], row["certno"]): (line, row["psn_no"]) for line, row in chunk}
        taken = session.execute(
            select(Person.psn_cert_type, Person.certno, Person.psn_no).where(
                Person.certno.in_({c for _, c in certs})
            )
        ).all()
        clash = {certs[(t, c)][0]: p for t, c, p in taken if (t, c) in certs and certs[(t, c)][1] != p}
        report.rejected.extend(
            Rejection(line, "certno", f"证件号码已属于人员 {p}") for line, p in clash.items()
        )
        chunk = [(line, row) for line, row in chunk if line not in clash]
    return chunk


def _write(
    engine: Engine, kind: Kind, chunk: list[tuple[int, dict]], report: ImportReport, dry_run: bool
) -> None:
    table = kind.table.__table__
    data_cols = [c.name for c in kind.cols] + (["system"] if "system" in kind.key else [])
    with unit_of_work(engine) as s:
        chunk = _references(s, kind, chunk, report)
        keys = [_key(kind, row) for _, row in chunk]
        if not keys:
            return
        key_cols = [table.c[k] for k in kind.key]
        where = key_cols[0].in_([k[0] for k in keys]) if len(key_cols) == 1 else tuple_(*key_cols).in_(keys)
        existing = {
            tuple(r[: len(key_cols)]): dict(zip(data_cols, r[len(key_cols) :], strict=True))
            for r in s.execute(select(*key_cols, *[table.c[c] for c in data_cols]).where(where))
        }
        inserts, updates = [], []
        for _, row in chunk:
            values = {c: row.get(c) for c in data_cols}
            old = existing.get(_key(kind, row))
            if old is None:
                inserts.append(values)
            elif any(old[c] != values[c] for c in data_cols):
                updates.append(values)
            else:
                report.unchanged += 1
        if dry_run:
            report.inserted += len(inserts)
            report.updated += len(updates)
            return
        if inserts:
            s.execute(insert(table), inserts)
        if updates:
            stmt = update(table).where(*[table.c[k] == bindparam(f"k_{k}") for k in kind.key])
            s.execute(
                stmt,
                [
                    {
                        **{c: u[c] for c in data_cols if c not in kind.key},
                        **{f"k_{k}": u[k] for k in kind.key},
                    }
                    for u in updates
                ],
            )
        report.inserted += len(inserts)
        report.updated += len(updates)
