"""The import engine: parse every row, reject bad ones with line, field and reason, upsert the rest in
chunks by natural key (set-based: one prefetch, one insert, one update batch per chunk)."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    bindparam,
    select,
    update,
)

from yibao.audit_actions import Action
from yibao.enrollment import rules
from yibao.errors import InputError
from yibao.ingest.enrollment_rows import check_enrollments
from yibao.ingest.kinds import PUBLIC, Context, Kind, all_kinds
from yibao.ingest.readers import as_text, read_rows
from yibao.ingest.report import ImportReport, Rejection
from yibao.store import audit
from yibao.store.bulk import analyze, in_, insert_rows
from yibao.store.db import unit_of_work
from yibao.store.tables import (
    Dictionary,
    Employer,
    Institution,
    Person,
    PersonalAccount,
    Region,
)
from yibao.validation import ValidationError

CHUNK = 5_000
Progress = Callable[[int], None]


def load_context(engine: Engine) -> Context:
    with unit_of_work(engine, write=False) as s:
        dicts: dict[str, set[str]] = {}
        for t, c in s.execute(select(Dictionary.dic_type, Dictionary.code)):
            dicts.setdefault(t, set()).add(c)
    return Context(dictionaries=dicts)


def parse_row(
    kind: Kind,
    columns: dict[str, str],
    raw: dict[str, Any],
    ctx: Context,
    plan: list[tuple[Any, str | None]] | None = None,
) -> tuple[dict, list[tuple[str, str]]]:
    """One row parsed and checked: (values by column, [(field, reason)]). ``plan`` — the kind's columns
    with their headers in this file — may be passed by a caller parsing many rows."""
    row: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col, header in plan if plan is not None else _plan(kind, columns):
        value = raw.get(header) if header else None
        if value is None or value == "" or (type(value) is not str and as_text(value) == ""):
            if col.required:
                problems.append((col.name, "缺少 (missing)"))
            row[col.name] = col.default
            continue
        if type(value) is str and value[0].isspace() | value[-1].isspace():
            value = value.strip()
            if not value:
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


def _plan(kind: Kind, columns: dict[str, str]) -> list[tuple[Any, str | None]]:
    return [(col, columns.get(col.name)) for col in kind.cols]


def _key(kind: Kind, row: dict) -> tuple:
    return tuple(row[k] for k in kind.key)


def _keyfunc(kind: Kind) -> Callable[[dict], tuple]:
    """The natural key of a row as a tuple, computed in C."""
    if len(kind.key) == 1:
        (name,) = kind.key
        return lambda row: (row[name],)
    return operator.itemgetter(*kind.key)


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
    kind = all_kinds().get(kind_name)
    if kind is None:
        raise InputError(f"kind: 未知的导入类型 {kind_name} ({', '.join(PUBLIC)})")
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
    plan = _plan(kind, columns)
    keyf = _keyfunc(kind)
    written = 0
    write = kind.writer or _write
    chunk: list[tuple[int, dict]] = []
    for line, raw in rows:
        report.read += 1
        row, problems = parse_row(kind, columns, raw, ctx, plan)
        if not problems:
            key = keyf(row)
            if key in seen:
                problems.append((kind.key[-1], f"与第{seen[key]}行重复"))
            else:
                seen[key] = line
        if problems:
            report.rejected.extend(Rejection(line, f, r) for f, r in problems)
        else:
            chunk.append((line, row))
        if len(chunk) >= CHUNK:
            write(engine, kind, chunk, report, dry_run, columns, actor)
            chunk = []
            written += 1
            if written & (written - 1) == 0:  # after chunks 1, 2, 4, 8 …: the planner keeps up with the load
                analyze(engine, *_filled(kind))
        if progress:
            progress(report.read)
    if chunk:
        write(engine, kind, chunk, report, dry_run, columns, actor)
    if written or report.inserted > CHUNK:
        analyze(engine, *_filled(kind))
    # a line refused while parsing and one refused by its chunk's rules read best in the file's order
    report.rejected.sort(key=lambda r: r.line)
    if not dry_run:
        with unit_of_work(engine) as s:
            audit.record(
                s,
                actor=actor,
                action=Action.IMPORT,
                entity=kind_name,
                entity_id=path.name,
                after={**report.counts(), "sha256": report.sha256},
            )
    return report


def _references(
    session, kind: Kind, chunk: list[tuple[int, dict]], report: ImportReport, stored: list[dict] | None = None
) -> list[tuple[int, dict]]:
    """Rows whose referenced person, institution or region does not exist are rejected, not failed on.
    ``stored``: the table's rows sharing the chunk's first key values (the enrollment rules read them)."""
    checks = []
    if kind.name == "departments":
        checks.append(("fixmedins_code", Institution.fixmedins_code, "定点医药机构不存在"))
    if kind.name in ("institutions", "employers"):
        checks.append(("admdvs", Region.admdvs, "医保区划不存在 (load the region first)"))
    for fieldname, column, reason in checks:
        wanted = {row[fieldname] for _, row in chunk}
        have = set(session.scalars(select(column).where(in_(session, column, wanted))))
        bad = {line for line, row in chunk if row[fieldname] not in have}
        report.rejected.extend(
            Rejection(line, fieldname, f"{reason}: {row[fieldname]}") for line, row in chunk if line in bad
        )
        chunk = [(line, row) for line, row in chunk if line not in bad]
    if kind.name == "persons":  # one person per certificate: another psn_no holding the number is an error
        certs = {(row["psn_cert_type"], row["certno"]): (line, row["psn_no"]) for line, row in chunk}
        taken = session.execute(  # psn_cert_type leads the index (psn_cert_type, certno)
            select(Person.psn_cert_type, Person.certno, Person.psn_no).where(
                in_(session, Person.psn_cert_type, {t for t, _ in certs}),
                in_(session, Person.certno, {c for _, c in certs}),
            )
        ).all()
        clash = {certs[(t, c)][0]: p for t, c, p in taken if (t, c) in certs and certs[(t, c)][1] != p}
        report.rejected.extend(
            Rejection(line, "certno", f"证件号码已属于人员 {p}") for line, p in clash.items()
        )
        chunk = [(line, row) for line, row in chunk if line not in clash]
    if kind.name == "employers":  # one employer per 统一社会信用代码
        chunk = _one_employer_per_uscc(session, chunk, report)
    if kind.name == "enrollments":
        chunk = check_enrollments(session, chunk, report, stored or [])
    return chunk


def _filled(kind: Kind) -> list:
    """The tables an import of ``kind`` fills (their statistics are refreshed as it goes)."""
    return [kind.table, PersonalAccount] if kind.name == "enrollments" else [kind.table]


def _one_employer_per_uscc(session, chunk: list[tuple[int, dict]], report: ImportReport) -> list:
    first: dict[str, tuple[int, str]] = {}
    out = []
    taken = dict(
        session.execute(
            select(Employer.uscc, Employer.emp_no).where(
                in_(session, Employer.uscc, {r["uscc"] for _, r in chunk})
            )
        ).all()
    )
    for line, row in chunk:
        code, emp = row["uscc"], row["emp_no"]
        if code in taken and taken[code] != emp:
            report.rejected.append(Rejection(line, "uscc", f"统一社会信用代码已属于单位 {taken[code]}"))
        elif code in first and first[code][1] != emp:
            report.rejected.append(Rejection(line, "uscc", f"与第{first[code][0]}行的统一社会信用代码重复"))
        else:
            first.setdefault(code, (line, emp))
            out.append((line, row))
    return out


def _open_accounts(session, chunk: list[tuple[int, dict]]) -> None:
    """职工 (not 灵活就业) get a personal account, as :func:`yibao.enrollment.service.enroll` gives them."""
    wanted = {
        row["psn_no"]
        for _, row in chunk
        if row["insutype"] == "310"
        and row.get("flexible_base") is None
        and row["psn_insu_stas"] in rules.HOLDING
        and row["psn_type"][:2] in ("11", "12", "13")
    }
    if not wanted:
        return
    have = set(
        session.scalars(select(PersonalAccount.psn_no).where(in_(session, PersonalAccount.psn_no, wanted)))
    )
    missing = sorted(wanted - have)
    if missing:
        insert_rows(
            session,
            PersonalAccount.__table__,
            [{"psn_no": p, "balance": 0, "status": "active"} for p in missing],
        )


def _write(
    engine: Engine,
    kind: Kind,
    chunk: list[tuple[int, dict]],
    report: ImportReport,
    dry_run: bool,
    columns: dict[str, str] | None = None,
    actor: str = "cli",
) -> None:
    """Upsert one chunk. A column the file does not have keeps its stored value on update (a file of names
    does not wipe the contribution months); on insert it takes its default."""
    table = kind.table.__table__
    data_cols = (
        [c.name for c in kind.cols if c.stored]
        + list(kind.derived)
        + (["system"] if "system" in kind.key else [])
    )
    present = set(data_cols) if columns is None else (set(columns) | set(kind.derived) | set(kind.key))
    present.add("system")
    keyf = _keyfunc(kind)
    key_cols = [table.c[k] for k in kind.key]
    with unit_of_work(engine) as s:
        # the stored rows sharing the chunk's first key values (indexed), read once: the rules and the upsert
        # both use them, and the rest of the key is compared here (a tuple IN is planned badly)
        extra = [table.c.id] if kind.name == "enrollments" else []
        chunk_keys = [keyf(row) for _, row in chunk]
        lead = max(range(len(key_cols)), key=lambda i: len({k[i] for k in chunk_keys}))  # the most selective
        stored = [
            dict(r)
            for r in s.execute(
                select(*key_cols, *[table.c[c] for c in data_cols if c not in kind.key], *extra).where(
                    in_(s, key_cols[lead], {k[lead] for k in chunk_keys})
                )
            ).mappings()
        ]
        chunk = _references(s, kind, chunk, report, stored)
        keys = [keyf(row) for _, row in chunk]
        if not keys:
            return
        wanted = set(keys)
        existing = {
            key: {c: r[c] for c in data_cols}
            for r in stored
            if (key := tuple(r[k] for k in kind.key)) in wanted
        }
        inserts, updates, before = [], [], []
        for (_, row), key in zip(chunk, keys, strict=True):
            old = existing.get(key)
            if old is None:
                inserts.append(row)  # every parsed row has every column (defaults filled)
                continue
            values = {c: row.get(c) for c in data_cols}
            if kind.name == "enrollments" and row.get("registered") is None:
                values["wait_until"] = old["wait_until"]  # taken over as it stands
            values = {c: (values[c] if c in present else old[c]) for c in data_cols}
            if any(old[c] != values[c] for c in data_cols):
                updates.append(values)
                before.append(old)
            else:
                report.unchanged += 1
        if dry_run:
            report.inserted += len(inserts)
            report.updated += len(updates)
            return
        if inserts:
            insert_rows(s, table, inserts, data_cols)
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
            # an import that changes stored rows records what each was before (inserts are in the counts)
            audit.record(
                s,
                actor=actor,
                action=Action.IMPORT_UPDATE,
                entity=kind.name,
                entity_id=f"{len(updates)} rows",
                before=[_changed(o, u, kind) for o, u in zip(before, updates, strict=True)][:1000],
                after=[_changed(u, o, kind) for o, u in zip(before, updates, strict=True)][:1000],
            )
        if kind.name == "enrollments":
            _open_accounts(s, chunk)
        report.inserted += len(inserts)
        report.updated += len(updates)


def _changed(row: dict, other: dict, kind: Kind) -> dict:
    """The key and the fields of ``row`` that differ from ``other``."""
    return {k: row[k] for k in row if k in kind.key or row[k] != other.get(k)}
