"""Errors a user sees. Each carries a one-line message naming the field and the reason."""

from __future__ import annotations


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
