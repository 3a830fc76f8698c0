"""Managing the rule library (规则库管理): import rule files as new versions, switch a rule on or off, edit
what a reviewer may edit. Each is one change in the caller's unit of work with its version row and audit row
(:mod:`yibao.store.audit_rules`); the cached library of online checks is dropped so this process sees the
change at once (others within ``library.RECHECK_SECONDS``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yibao.errors import NotFound, quote
from yibao.store import audit_rules
from yibao.store.tables import AuditRule
from yibao.supervision.library import Library, LibraryError
from yibao.supervision.library_files import load_library
from yibao.supervision.service import library as cached


def read_files(*paths: str | Path, base: Path | None = None) -> Library:
    """The library in rule files, validated whole (``LibraryError`` lists every problem); read before the
    unit of work that stores it, so no write lock waits on parsing. With ``base``, the files are named
    relative to it in the problems and in each rule's and knowledge row's origin (an upload's temporary
    folder, the regions folder, is nobody's business)."""
    if base is None:
        return load_library(*paths)
    prefix = f"{base}/"

    def cut(text: str) -> str:
        return text.replace(prefix, "")

    try:
        library = load_library(*paths)
    except LibraryError as exc:
        raise LibraryError([cut(p) for p in exc.problems]) from None
    rules = {
        code: replace(
            r, source=cut(r.source), knowledge=tuple(replace(k, where=cut(k.where)) for k in r.knowledge)
        )
        for code, r in library.rules.items()
    }
    return Library(rules, library.version)


def import_rules(s: Session, library: Library, *, actor: str, reason: str = "") -> audit_rules.ImportResult:
    """Store every rule of ``library``: new, a new version, or unchanged."""
    done = audit_rules.import_library(s, library, actor, reason)
    cached.forget()
    return done


def set_enabled(s: Session, code: str, enabled: bool, *, actor: str, reason: str) -> AuditRule:
    row = audit_rules.set_enabled(s, code, enabled, actor, reason)
    cached.forget()
    return row


def edit(s: Session, code: str, changes: dict[str, Any], *, actor: str, reason: str) -> AuditRule:
    row = audit_rules.edit_rule(s, code, changes, actor, reason)
    cached.forget()
    return row


def stored(s: Session, code: str) -> AuditRule:
    row = s.get(AuditRule, code)
    if row is None:
        raise NotFound(f"rule_code: 规则不存在 {quote(code)}")
    return row
