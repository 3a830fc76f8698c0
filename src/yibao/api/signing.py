"""Gateway authentication (网关鉴权) for HIS calls: HMAC-SHA256 or HMAC-SM3 (国密) over timestamp + body.

Headers: ``x-yibao-client`` (client id), ``x-yibao-timestamp`` (13-digit milliseconds),
``x-yibao-signature`` (lower-case hex HMAC of ``timestamp`` then the raw body bytes).
The gateway is an adapter: provinces use other schemes (Hunan ``_api_*``, TIF ``x-tif-*``),
which would be further classes with the same ``verify`` shape.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as openssl_hmac

WINDOW_MS = 30 * 60 * 1000
HEADER_CLIENT, HEADER_TIMESTAMP, HEADER_SIGNATURE = "x-yibao-client", "x-yibao-timestamp", "x-yibao-signature"


def sm3_digest(data: bytes) -> bytes:
    """SM3 (GB/T 32905) through OpenSSL (``cryptography``)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3(key: bytes, msg: bytes) -> str:
    """HMAC-SM3 (RFC 2104 over SM3, as GM/T 0042 specifies it), lower-case hex: OpenSSL's HMAC."""
    mac = openssl_hmac.HMAC(key, hashes.SM3())
    mac.update(msg)
    return mac.finalize().hex()


def sign(algo: str, secret: str, timestamp: str, body: bytes) -> str:
    msg = timestamp.encode("ascii") + body
    if algo == "sm3":
        return hmac_sm3(secret.encode("utf-8"), msg)
    return hmac.digest(secret.encode("utf-8"), msg, "sha256").hex()  # (one-shot: OpenSSL's own HMAC)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Credentials:
    client_id: str | None
    timestamp: str | None
    signature: str | None

    @classmethod
    def from_headers(cls, headers) -> Credentials:
        return cls(headers.get(HEADER_CLIENT), headers.get(HEADER_TIMESTAMP), headers.get(HEADER_SIGNATURE))


def check(
    creds: Credentials, *, secret: str, algo: str, body: bytes, now_ms: int | None = None
) -> str | None:
    """None if the request is authentic and fresh, else the reason (Chinese first)."""
    if not creds.timestamp or not creds.signature:
        return f"未签名的请求 (missing {HEADER_TIMESTAMP} / {HEADER_SIGNATURE})"
    if not (creds.timestamp.isascii() and creds.timestamp.isdigit()):  # ("²".isdigit(), but int() refuses it)
        return f"{HEADER_TIMESTAMP}: 应为13位毫秒时间戳"
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(creds.timestamp)) > WINDOW_MS:
        return f"{HEADER_TIMESTAMP}: 时间戳与服务器相差超过30分钟"
    expected = sign(algo, secret, creds.timestamp, body)
    if not hmac.compare_digest(expected, creds.signature.strip().lower()):
        return f"{HEADER_SIGNATURE}: 签名错误 (HMAC-{algo.upper()})"
    return None
