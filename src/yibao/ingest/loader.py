"""The import engine: parse every row, reject bad ones with line, field and reason, upsert the rest in
chunks by natural key (set-based: one prefetch, one insert, one update batch per chunk)."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
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
from yibao.enrollment.checks_data import checks_for
from yibao.errors import InputError, PolicyError
from yibao.ingest.kinds import PUBLIC, Context, Kind, all_kinds
from yibao.ingest.readers import as_text, read_rows
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
        chunk = _enrollment_rules(session, chunk, report, stored or [])
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


def _label(where: str, insutype: str, begndate, enddate) -> str:
    scheme = rules.INSUTYPE_NAMES.get(insutype, f"险种 {insutype}")
    return f"{where}：{scheme}，自 {begndate}{'' if enddate is None else ' 至 ' + str(enddate)}"


def _plausible(row: dict, brdy, gend: str, today) -> list[tuple[str, str]]:
    """The business checks a clerk's enrollment passes (业务校验, the region's data): 参保日期 not before birth
    nor beyond the lead time, 人员类别 consistent with the age on that date — the same rules as the services."""
    checks = checks_for(row["insuplc_admdvs"])
    for check, args in (
        (rules.check_date, ("begndate", "参保日期", row["begndate"], checks, today, brdy)),
        (rules.check_category_age, (checks, row["insutype"], row["psn_type"], brdy, gend, row["begndate"])),
    ):
        try:
            check(*args)
        except InputError as exc:
            field, _, reason = exc.message.partition(": ")
            return [(field, reason)]  # (the first: an age on a date before birth says nothing more)
    return []


def _enrollment_rules(
    session, chunk: list[tuple[int, dict]], report: ImportReport, stored: list[dict]
) -> list:
    """The rules :func:`yibao.enrollment.service.enroll` applies, set-based over a chunk: the person exists
    and is alive at the start, the employer exists, the category belongs to the insutype, the flexible base
    is within the bounds, one basic insurance at a time (against ``stored``, the persons' enrollments in the
    database, and the earlier lines), and the waiting period after a break (or a 居民 registered outside
    the window, when 登记日期 is given)."""
    from yibao.policy.registry import get_bundle

    persons = {row["psn_no"] for _, row in chunk}
    people = {
        p: (death, brdy, gend)
        for p, death, brdy, gend in session.execute(
            select(Person.psn_no, Person.death_date, Person.brdy, Person.gend).where(
                in_(session, Person.psn_no, persons)
            )
        )
    }
    known = {p: v[0] for p, v in people.items()}
    missing = [(line, row) for line, row in chunk if row["psn_no"] not in known]
    report.rejected.extend(
        Rejection(line, "psn_no", f"人员不存在 (import persons first): {row['psn_no']}")
        for line, row in missing
    )
    if missing:
        chunk = [(line, row) for line, row in chunk if row["psn_no"] in known]
    dead = {p: d for p, d in known.items() if d is not None}
    emps = {row["emp_no"] for _, row in chunk if row.get("emp_no")}
    names = (
        dict(
            session.execute(
                select(Employer.emp_no, Employer.emp_name).where(in_(session, Employer.emp_no, emps))
            ).all()
        )
        if emps
        else {}
    )
    # a person's basic enrollments: (key, where, period); ``where`` is "登记号 <id>" or "第<n>行"
    held: dict[str, list[tuple[tuple, str, rules.Period]]] = {}
    for r in stored:
        if r["insutype"] in rules.BASIC and r["psn_insu_stas"] in rules.HOLDING:
            held.setdefault(r["psn_no"], []).append(
                (
                    (r["psn_no"], r["insutype"], r["begndate"]),
                    f"登记号 {r['id']}",
                    rules.Period(r["begndate"], r["enddate"]),
                )
            )
    BASIC, HOLDING = rules.BASIC, rules.HOLDING
    today = date.today()
    bundles: dict[str, object] = {}
    policies: dict[tuple[str, object], object] = {}  # (admdvs, day) → the contribution policy in force
    out = []
    for line, row in chunk:
        bad: list[tuple[str, str]] = []
        psn, insutype, begndate = row["psn_no"], row["insutype"], row["begndate"]
        if psn in dead and dead[psn] <= begndate:
            bad.append(("begndate", f"人员已于 {dead[psn]} 死亡"))
        bad += _plausible(row, *people[psn][1:], today)
        emp = row.get("emp_no")
        if emp:
            if emp not in names:
                bad.append(("emp_no", f"单位不存在 (import employers first): {emp}"))
            elif not row.get("emp_name"):
                row["emp_name"] = names[emp]
        admdvs = row["insuplc_admdvs"]
        bundle = bundles.get(admdvs)
        if bundle is None:
            try:
                bundle = bundles[admdvs] = get_bundle(admdvs)
            except PolicyError as exc:
                bundle = bundles[admdvs] = exc
        if isinstance(bundle, PolicyError):
            bad.append(("insuplc_admdvs", bundle.message.split(": ", 1)[-1]))
            bundle = None
        elif bundle.category_index(insutype, row["psn_type"]) is None:
            bad.append(("psn_type", f'人员类别 "{row["psn_type"]}" 不属于险种 {insutype}'))
        basic = insutype in BASIC and row["psn_insu_stas"] in HOLDING
        key = (psn, insutype, begndate)
        mine = held.get(psn) if basic else None
        others = [h for h in mine if h[0] != key] if mine else ()
        if others:
            period = rules.Period(begndate, row["enddate"])
            for k, where, p in others:
                if p.overlaps(period):
                    label = _label(where, k[1], p.begndate, p.enddate)
                    bad.append(
                        ("insutype", f"与现有参保登记重叠 ({label})；一人同时只能参加一项基本医疗保险")
                    )
                    break
        policy = None
        if bundle is not None and not bad:
            day = max(begndate, row.get("registered") or begndate)
            policy = policies.get((admdvs, day), False)
            if policy is False:
                ver = bundle.version_index(day)
                policy = policies[(admdvs, day)] = (
                    bundle.policies[ver].contribution if ver is not None else None
                )
            if row.get("flexible_base") is not None and policy is not None:
                try:
                    rules.flexible_contribution(row["flexible_base"], policy)
                except InputError as exc:
                    bad.append(("flexible_base", exc.message.split(": ", 1)[-1]))
        if bad:
            report.rejected.extend(Rejection(line, f, r) for f, r in bad)
            continue
        row["wait_until"] = None
        registered = row["registered"]
        if basic and policy is not None and (others or registered is not None):  # else: nothing to wait for
            ended = [p.enddate for _, _, p in others if p.enddate is not None and p.enddate < begndate]
            row["wait_until"] = rules.waiting_until(
                begndate,
                policy,
                registered=registered,
                insutype=insutype,
                previous_end=max(ended) if ended else None,
            )
        if basic:
            held[psn] = [*others, (key, f"第{line}行", rules.Period(begndate, row["enddate"]))]
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
