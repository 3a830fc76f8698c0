"""Bearer tokens for staff and systems calling the REST and FHIR resources.

``POST /api/token`` (username + password, argon2-verified) returns a token signed with
HMAC-SHA256 under ``YIBAO_SECRET_KEY``; it carries the user's permissions and expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.config import get_settings
from yibao.store.db import unit_of_work

TTL_SECONDS = 8 * 3600
_bearer = HTTPBearer(auto_error=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(username: str, permissions: list[str], ttl: int = TTL_SECONDS) -> str:
    payload = _b64(
        json.dumps({"u": username, "p": sorted(permissions), "exp": int(time.time()) + ttl}).encode()
    )
    sig = hmac.new(get_settings().secret_key.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(sig)}"


def verify(token: str) -> dict | None:
    try:
        payload, sig = token.split(".", 1)
        want = hmac.new(get_settings().secret_key.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _unb64(sig)):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError):
        return None
    return claims if claims.get("exp", 0) > time.time() else None


def authenticate(username: str, password: str) -> tuple[str, list[str]] | None:
    """Check a staff user's password (argon2, audited); return (username, permissions) or None."""
    from yibao.security import authenticate as verify_staff

    with unit_of_work() as s:
        who = verify_staff(s, username, password, actor="api/token")
    return None if who is None else (who.username, sorted(who.permissions))


def require(permission: str) -> Callable:
    """FastAPI dependency: a valid token holding ``permission`` (or ``*``)."""
    return require_any(permission)


def require_any(*permissions: str) -> Callable:
    """FastAPI dependency: a valid token holding one of ``permissions`` (or ``*``)."""
    needed = " 或 ".join(permissions)

    def dep(creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> dict:
        if creds is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "未登录：缺少 Bearer 令牌 (POST /api/token)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        claims = verify(creds.credentials)
        if claims is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "令牌无效或已过期", headers={"WWW-Authenticate": "Bearer"}
            )
        perms = set(claims.get("p", []))
        if "*" not in perms and perms.isdisjoint(permissions):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"无权限: 需要 {needed}")
        return claims

    return dep


def actor(claims: dict) -> str:
    """Who a verified token speaks for, as the audit log names them ("api" for a token without a user)."""
    return str(claims.get("u") or "api")
