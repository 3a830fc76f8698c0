"""Errors a user sees. Each carries a one-line message naming the field and the reason."""

from __future__ import annotations

from typing import Any

QUOTE_LIMIT = 32  # characters of a user's value an error message repeats


def printable(text: str, limit: int) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x00``), cut to ``limit``
    characters (then "…")."""
    shown = "".join(c if c.isprintable() else _escape(c) for c in text[:limit])
    return shown + "…" if len(text) > limit else shown


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A user's value as an error message repeats it: in double quotes, at most ``limit`` characters (then
    "…"), unprintable characters escaped. A message must not carry a request's 5,000-character field, nor a
    NUL byte, back to its sender."""
    return f'"{printable(value if isinstance(value, str) else str(value), limit)}"'


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


class YibaoError(Exception):
    """Base of every error that is reported to a user as one line (never a traceback)."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # keep the message exactly as written
        return self.message


class ConfigError(YibaoError):
    """Bad configuration (environment variables, settings)."""


class InputError(YibaoError):
    """Bad input data: a field with a value that cannot be used."""


class PolicyError(YibaoError):
    """A policy file that does not validate; the message names file and key path."""


class SettlementError(YibaoError):
    """A settlement that cannot be made (unknown class, unregistered disease, bad fee line …)."""


class NotFound(YibaoError):
    """A referenced record does not exist."""
