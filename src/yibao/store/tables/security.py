"""API clients, staff users and roles, and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.base import Base, BigId, Timestamps


class ApiClient(Base, Timestamps):
    """An institution's HIS credentials: code + secret, HMAC-SHA256 or HMAC-SM3."""

    __tablename__ = "api_client"
    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"))
    secret: Mapped[str] = mapped_column(String(128))  # HMAC needs the secret itself; protect the database
    sign_algo: Mapped[str] = mapped_column(String(10), default="sha256")  # sha256 | sm3
    status: Mapped[str] = mapped_column(String(10), default="active")


class Role(Base):
    """A role grants permissions (e.g. ``settlement.read``)."""

    __tablename__ = "role"
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    permissions: Mapped[list] = mapped_column(JSON, default=list)


class StaffUser(Base, Timestamps):
    """A bureau staff member who logs into the console (argon2 password hash)."""

    __tablename__ = "staff_user"
    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    last_login: Mapped[datetime | None] = mapped_column(DateTime)


class UserRole(Base):
    __tablename__ = "user_role"
    username: Mapped[str] = mapped_column(ForeignKey("staff_user.username"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("role.name"), primary_key=True)


class AuditLog(Base):
    """Append-only audit trail. Each row stores SHA-256 of its content and the previous row's hash,
    so editing or deleting any row breaks the chain (``yibao audit verify``)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's head (last seq and hash); locked while appending so concurrent writers serialise."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId, default=0)
    row_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
