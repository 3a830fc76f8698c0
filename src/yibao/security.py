"""Staff accounts (工作人员): argon2 password hashes, roles from ``roles.yaml``, audited changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit_actions import Action
from yibao.errors import InputError, NotFound
from yibao.store import audit
from yibao.store.tables import Role, StaffUser, UserRole
from yibao.yamlio import load_yaml

MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class StaffIdentity:
    username: str
    display_name: str
    roles: tuple[str, ...]
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


@cache
def role_definitions() -> dict[str, dict]:
    return load_yaml(Path(__file__).with_name("roles.yaml"))


def seed_roles(session: Session) -> None:
    """Create or update the roles of roles.yaml."""
    for name, spec in role_definitions().items():
        role = session.get(Role, name)
        if role is None:
            session.add(Role(name=name, title=spec["title"], permissions=list(spec["permissions"])))
        elif role.permissions != spec["permissions"] or role.title != spec["title"]:
            role.title, role.permissions = spec["title"], list(spec["permissions"])
    session.flush()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: 密码至少 {MIN_PASSWORD} 个字符")
    return _hasher.hash(password)


def create_user(
    session: Session, username: str, display_name: str, roles: list[str], password: str, actor: str = "cli"
) -> StaffUser:
    if not username or len(username) > 40 or not username.replace("_", "").replace(".", "").isalnum():
        raise InputError(f"username: 无效的用户名 {username!r} (letters, digits, '_' or '.', at most 40)")
    seed_roles(session)
    unknown = [r for r in roles if r not in role_definitions()]
    if unknown:
        raise InputError(f"role: 未知角色 {', '.join(unknown)} (known: {', '.join(role_definitions())})")
    if session.get(StaffUser, username) is not None:
        raise InputError(f"username: 用户 {username} 已存在")
    user = StaffUser(
        username=username, display_name=display_name, password_hash=hash_password(password), active=True
    )
    session.add(user)
    session.flush()
    session.add_all([UserRole(username=username, role=r) for r in roles])
    audit.record(
        session,
        actor=actor,
        action=Action.CREATE,
        entity="staff_user",
        entity_id=username,
        after={"display_name": display_name, "roles": roles},
    )
    return user


def set_password(session: Session, username: str, password: str, actor: str = "cli") -> None:
    user = session.get(StaffUser, username)
    if user is None:
        raise NotFound(f"username: 用户不存在 {username}")
    user.password_hash = hash_password(password)
    audit.record(session, actor=actor, action=Action.PASSWD, entity="staff_user", entity_id=username)


def set_active(session: Session, username: str, active: bool, actor: str = "cli") -> None:
    user = session.get(StaffUser, username)
    if user is None:
        raise NotFound(f"username: 用户不存在 {username}")
    before = user.active
    user.active = active
    audit.record(
        session,
        actor=actor,
        action=Action.ENABLE if active else Action.DISABLE,
        entity="staff_user",
        entity_id=username,
        before={"active": before},
        after={"active": active},
    )


def identity(session: Session, user: StaffUser) -> StaffIdentity:
    roles = tuple(session.scalars(select(UserRole.role).where(UserRole.username == user.username)))
    perms: set[str] = set()
    for r in session.scalars(select(Role).where(Role.name.in_(roles))):
        perms.update(r.permissions or [])
    return StaffIdentity(user.username, user.display_name, roles, frozenset(perms))


def authenticate(
    session: Session, username: str, password: str, *, actor: str = "login"
) -> StaffIdentity | None:
    """Verify a password (argon2); audit success and failure; refuse inactive users. Same answer for
    an unknown user and a wrong password."""
    user = session.get(StaffUser, username) if username else None
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        audit.record(
            session, actor=actor, action=Action.LOGIN_FAILED, entity="staff_user", entity_id=username or "-"
        )
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login = datetime.now()
    audit.record(session, actor=actor, action=Action.LOGIN, entity="staff_user", entity_id=username)
    return identity(session, user)
