"""Entitlement use cases (待遇资格经办) over the store: identities, chronic registrations, 惠民保 years and
opening account balances are added, changed and ended here — by a whole import chunk or by one handler's
request alike. Each ``apply_*`` reads what the rows concern in one keyed read, decides every row with the pure
rules of :mod:`yibao.enrollment.entitlements`, and (unless a dry run) writes the changes set-based in the
caller's unit of work, one audit row per change with its before and after. A refused row is returned as
(line, field, reason); the other rows still apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.enrollment import entitlements as ent
from yibao.errors import InputError, NotFound, PolicyError
from yibao.funds import ledger
from yibao.funds.journal import post_many
from yibao.money import fmt_fen
from yibao.store import audit
from yibao.store.bulk import add_to, in_, insert_rows
from yibao.store.tables import (
    ChronicRegistration,
    Identity,
    Institution,
    LedgerPosting,
    Person,
    PersonalAccount,
    SupplementaryEnrollment,
)

Rows = list[tuple[int, dict]]  # (line, parsed row); a handler's request is line 1
TABLES = {ent.IDENTITY.entity: Identity.__table__, ent.CHRONIC.entity: ChronicRegistration.__table__}


@dataclass
class Applied:
    """What a batch of rows did; ``ids`` holds the id (or key) each applied line has in its table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    ids: dict[int, Any] = field(default_factory=dict)
    supplements: list = field(default_factory=list)  # look-back assistance the new identities brought

    def refuse(self, line: int, exc: InputError) -> None:
        self.rejected.append((line, *ent.refusal(exc)))

    def raise_refusal(self) -> None:
        """A handler's single row: its refusal as the one-line error the REST mapping and the console show
        (the callers have checked that the person exists, so a refusal here is the row's own)."""
        if self.rejected:
            _, f, reason = self.rejected[0]
            raise InputError(f"{f}: {reason}")


def _known_persons(s: Session, rows: Rows, out: Applied) -> Rows:
    wanted = {r["psn_no"] for _, r in rows}
    have = set(s.scalars(select(Person.psn_no).where(in_(s, Person.psn_no, wanted)))) if wanted else set()
    for line, r in rows:
        if r["psn_no"] not in have:
            out.rejected.append((line, "psn_no", f"人员不存在 (import persons first): {r['psn_no']}"))
    return [(line, r) for line, r in rows if r["psn_no"] in have]


def _checked(rows: Rows, out: Applied, check: Callable[[dict], None]) -> Rows:
    kept = []
    for line, r in rows:
        try:
            check(r)
        except InputError as exc:
            out.refuse(line, exc)
        else:
            kept.append((line, r))
    return kept


def _chronic_references(s: Session, rows: Rows, out: Applied) -> Rows:
    """The institution exists, and the disease is one the region's policy pays for (settlement refuses a
    visit of any other, so a registration of it would promise what no visit can get)."""
    codes = {r["fixmedins_code"] for _, r in rows if r.get("fixmedins_code")}
    have = (
        set(s.scalars(select(Institution.fixmedins_code).where(in_(s, Institution.fixmedins_code, codes))))
        if codes
        else set()
    )
    covered = _covered_diseases()

    def check(r: dict) -> None:
        code = r.get("fixmedins_code")
        if code and code not in have:
            raise InputError(f"fixmedins_code: 定点医药机构不存在: {code}")
        if covered is not None and r["opsp_dise_code"] not in covered:
            raise InputError(f"opsp_dise_code: 待遇政策未设此门诊慢特病病种: {r['opsp_dise_code']}")

    return _checked(rows, out, check)


def _covered_diseases() -> set[str] | None:
    from yibao.config import get_settings
    from yibao.policy.registry import get_bundle

    try:
        return set(get_bundle(get_settings().region).diseases)
    except PolicyError:  # no policy for the region (a bare database): the dictionary check stands alone
        return None


# --- identities and chronic registrations (dated) ------------------------------------------------------


def _key(spec: ent.Dated, row: dict) -> tuple:
    return (row["psn_no"], row[spec.code], row[spec.begin])


def apply_dated(
    s: Session,
    spec: ent.Dated,
    rows: Rows,
    *,
    actor: str,
    present: set[str] | None = None,
    source: str | None = None,
    dry_run: bool = False,
    may_update: bool = True,
) -> Applied:
    """Add, change or end identities (``ent.IDENTITY``) or chronic registrations (``ent.CHRONIC``) by their
    natural key (person, code, start): a new key is added, a known one changed where the row differs (a
    column the file lacks, in ``present``, keeps its value), an unchanged one counted and left alone."""
    out = Applied()
    rows = _known_persons(s, rows, out)
    if spec is ent.CHRONIC:
        rows = _chronic_references(s, rows, out)
    table = TABLES[spec.entity]
    persons = {r["psn_no"] for _, r in rows}
    stored: dict[tuple, dict] = {}
    periods: dict[str, list[ent.Held]] = {}
    if persons:
        cols = [table.c.id, *(table.c[f] for f in spec.fields)]
        for r in s.execute(select(*cols).where(in_(s, table.c.psn_no, persons))).mappings():
            stored[_key(spec, r)] = row = dict(r)
            if ent.holds(spec, row):
                periods.setdefault(row["psn_no"], []).append(
                    ent.held(spec, f"{spec.entity} {row['id']}", _key(spec, row), row)
                )
    # rows about stored keys (ends, corrections) first: a file that ends one period and starts the next
    # loads whichever line comes first
    changes = []
    for line, row in sorted(rows, key=lambda lr: (_key(spec, lr[1]) not in stored, lr[0])):
        key, psn = _key(spec, row), row["psn_no"]
        old = stored.get(key)
        try:
            ch = ent.plan(
                spec,
                row,
                old,
                periods.get(psn, ()),
                present=set(spec.fields) if present is None else present,
                may_update=may_update,
            )
        except InputError as exc:
            out.refuse(line, exc)
            continue
        mine = [h for h in periods.get(psn, ()) if h.key != key]
        if ent.holds(spec, ch.after):
            mine.append(ent.held(spec, f"{spec.entity} {old['id']}" if old else f"第{line}行", key, ch.after))
        periods[psn] = mine
        changes.append((line, old, ch))
        if old is not None:
            out.ids[line] = old["id"]
    out.inserted = sum(ch.kind == "insert" for _, _, ch in changes)
    out.updated = sum(ch.kind == "update" for _, _, ch in changes)
    out.unchanged = sum(ch.kind == "unchanged" for _, _, ch in changes)
    if not dry_run:
        _write_dated(s, spec, table, changes, out, actor, source)
    return out


def _write_dated(s: Session, spec: ent.Dated, table, changes: list, out: Applied, actor, source) -> None:
    new = [(line, ch) for line, _, ch in changes if ch.kind == "insert"]
    if new:
        ids = s.scalars(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), [ch.after for _, ch in new]
        ).all()
        out.ids.update({line: i for (line, _), i in zip(new, ids, strict=True)})
        if spec is ent.IDENTITY:  # a recognition whose category looks back pays the months before it
            out.supplements = _look_back(s, [ch.after for _, ch in new], actor)
    moved = [(old, ch) for _, old, ch in changes if ch.kind == "update"]
    if moved:
        values = [f for f in spec.fields if f not in ("psn_no", spec.code, spec.begin)]
        s.execute(
            update(table)
            .where(table.c.id == bindparam("k_id"))
            .values({f: bindparam(f"v_{f}") for f in values}),
            [{"k_id": old["id"], **{f"v_{f}": ch.after[f] for f in values}} for old, ch in moved],
        )
    _audit(s, actor, source, [(spec.entity, out.ids[line], ch) for line, _, ch in changes])


def _look_back(s: Session, added: list[dict], actor: str) -> list:
    """补充救助 for new identity records, in the caller's transaction (its unit of work, or one lent to the
    session, whose audit rows the session then appends at its commit like its own)."""
    from yibao.settlement.supplements import after_identities
    from yibao.store.uow import lent_to

    with lent_to(s) as uow:
        return after_identities(uow, added, actor=actor, now=datetime.now())


def _audit(s: Session, actor: str, source: str | None, changes: list[tuple[str, Any, ent.Change]]) -> None:
    """One audit row per change (the unchanged ones are not changes), with before, after and the file."""
    audit.record_many(
        s,
        [
            {
                "actor": actor,
                "action": ch.action,
                "entity": entity,
                "entity_id": str(entity_id),
                "before": ch.before,
                "after": {**ch.after, **({"source": source} if source else {})},
            }
            for entity, entity_id, ch in changes
            if ch.kind != "unchanged"
        ],
    )


def _stored(s: Session, spec: ent.Dated, psn_no: str, row_id: int) -> dict:
    table = TABLES[spec.entity]
    row = (
        s.execute(select(table).where(table.c.id == row_id).with_for_update()).mappings().first()
        if 0 < row_id < 2**62
        else None
    )
    if row is None or row["psn_no"] != psn_no:
        raise NotFound(f"{spec.entity}: 人员 {psn_no} 没有{spec.zh} {row_id}")
    return dict(row)


def end_dated(s: Session, spec: ent.Dated, psn_no: str, row_id: int, day: date, *, actor: str) -> int:
    """结束 one identity or registration on ``day`` (through the same rules and audit as an import row)."""
    after = ent.ending(spec, _stored(s, spec, psn_no, row_id), day)
    done = apply_dated(s, spec, [(1, after)], actor=actor)
    done.raise_refusal()
    return row_id


def revoke_chronic(s: Session, psn_no: str, row_id: int, *, actor: str) -> int:
    """撤销 a 门诊慢特病备案: it no longer holds any period (settlement stops recognising it at once)."""
    after = ent.revoking(_stored(s, ent.CHRONIC, psn_no, row_id))
    apply_dated(s, ent.CHRONIC, [(1, after)], actor=actor).raise_refusal()
    return row_id


# --- 惠民保 ---------------------------------------------------------------------------------------------


def apply_supplementary(
    s: Session,
    rows: Rows,
    *,
    actor: str,
    source: str | None = None,
    dry_run: bool = False,
    may_update: bool = True,
) -> Applied:
    """惠民保 years by (person, year): enrolled adds the year, cancelled (退保) removes it; a removal counts
    as an update. ``may_update`` False refuses a year already held (an add, not an import)."""
    out = Applied()
    rows = _known_persons(s, rows, out)
    t = SupplementaryEnrollment.__table__
    persons = {r["psn_no"] for _, r in rows}
    stored = {
        (r["psn_no"], r["year"]): dict(r)
        for r in (s.execute(select(t).where(in_(s, t.c.psn_no, persons))).mappings() if persons else ())
    }
    changes = []
    for line, row in rows:
        key = (row["psn_no"], row["year"])
        old = stored.get(key)
        if not may_update and old is not None and row.get("status", "enrolled") == "enrolled":
            out.refuse(line, InputError(f"year: 已参加 {row['year']} 年惠民保 ({old['product']})"))
            continue
        ch = ent.plan_supplementary(row, old)
        stored[key] = None if ch.kind == "delete" else ch.after
        changes.append((line, ch))
        out.ids[line] = f"{key[0]}/{key[1]}"
    out.inserted = sum(ch.kind == "insert" for _, ch in changes)
    out.updated = sum(ch.kind in ("update", "delete") for _, ch in changes)
    out.unchanged = sum(ch.kind == "unchanged" for _, ch in changes)
    if dry_run:
        return out
    insert_rows(s, t, [ch.after for _, ch in changes if ch.kind == "insert"])
    for kind, stmt in (
        ("update", update(t).values(product=bindparam("v_product"))),
        ("delete", delete(t)),
    ):
        params = [
            {"k_psn_no": ch.after["psn_no"], "k_year": ch.after["year"], "v_product": ch.after["product"]}
            for _, ch in changes
            if ch.kind == kind
        ]
        if params:
            s.execute(
                stmt.where(t.c.psn_no == bindparam("k_psn_no"), t.c.year == bindparam("k_year")), params
            )
    _audit(s, actor, source, [("supplementary_enrollment", out.ids[line], ch) for line, ch in changes])
    return out


def cancel_supplementary(s: Session, psn_no: str, year: int, *, actor: str) -> None:
    """惠民保退保 for a year the person holds (the same change and audit as a ``cancelled`` import row)."""
    t = SupplementaryEnrollment
    if s.scalar(select(t.year).where(t.psn_no == psn_no, t.year == year)) is None:
        raise NotFound(f"year: 人员 {psn_no} 没有 {year} 年惠民保")
    row = {"psn_no": psn_no, "year": year, "status": "cancelled"}
    apply_supplementary(s, [(1, row)], actor=actor).raise_refusal()


# --- 个人账户期初余额 -------------------------------------------------------------------------------------


def opening_recorded(s: Session, persons: set[str]) -> dict[str, int]:
    """What the ledger records as each account's opening balance (fen): its legs in the entries that move
    money from ``opening_balance`` — this import's, the demo generator's, and any earlier credit from it."""
    opening = select(LedgerPosting.entry_id).where(LedgerPosting.account == ledger.OPENING_BALANCE)
    return {
        psn: -int(total)
        for psn, total in s.execute(
            select(LedgerPosting.psn_no, func.sum(LedgerPosting.amount))
            .where(
                LedgerPosting.account == ledger.PERSONAL_ACCOUNT,
                in_(s, LedgerPosting.psn_no, persons),
                LedgerPosting.entry_id.in_(opening),
            )
            .group_by(LedgerPosting.psn_no)
        )
    }


def apply_opening_balances(
    s: Session, rows: Rows, *, actor: str, source: str | None = None, dry_run: bool = False
) -> Applied:
    """个人账户期初余额 (``balc``, fen) of 职工 accounts, posted through the ledger: Dr ``opening_balance`` /
    Cr ``personal_account`` for the difference from what is already recorded as opening, so re-importing
    the same file posts nothing and a corrected one posts only the correction (audited with both)."""
    out = Applied()
    rows = _known_persons(s, rows, out)
    persons = {r["psn_no"] for _, r in rows}
    balances = dict(
        s.execute(  # locked: a settlement paying from the account meanwhile waits (it locks it too)
            select(PersonalAccount.psn_no, PersonalAccount.balance)
            .where(in_(s, PersonalAccount.psn_no, persons))
            .with_for_update()
        ).all()
        if persons
        else ()
    )
    recorded = opening_recorded(s, persons) if persons else {}
    entries, credits = [], []
    for line, row in rows:
        psn = row["psn_no"]
        if psn not in balances:
            out.refuse(line, InputError("psn_no: 人员没有个人账户（仅职工有；请先导入参保登记）"))
            continue
        try:
            diff = ent.opening_adjustment(recorded.get(psn, 0), row["balc"], int(balances[psn]))
        except InputError as exc:
            out.refuse(line, exc)
            continue
        out.ids[line] = psn
        if not diff:
            out.unchanged += 1
            continue
        if psn in recorded:
            out.updated += 1
        else:
            out.inserted += 1
        when = datetime.combine(row.get("book_date") or date.today(), datetime.min.time())
        legs = (
            ledger.account_credit_postings(psn, diff, ledger.OPENING_BALANCE)
            if diff > 0
            else ledger.account_debit_postings(psn, -diff, ledger.OPENING_BALANCE)
        )
        entries.append(("opening", legs, when, "期初余额" if psn not in recorded else "期初余额更正"))
        before = {"opening": fmt_fen(recorded.get(psn, 0)), "balance": fmt_fen(int(balances[psn]))}
        after = {"opening": fmt_fen(row["balc"]), "balance": fmt_fen(int(balances[psn]) + diff)}
        credits.append((psn, diff, before, after))
        recorded[psn], balances[psn] = row["balc"], int(balances[psn]) + diff
    if dry_run or not entries:
        return out
    post_many(s, entries)
    add_to(s, PersonalAccount, "psn_no", "balance", [(psn, diff) for psn, diff, _, _ in credits])
    _audit(
        s,
        actor,
        source,
        [
            ("personal_account", psn, ent.Change("update", b, a, Action.OPENING_BALANCE))
            for psn, _, b, a in credits
        ],
    )
    return out
