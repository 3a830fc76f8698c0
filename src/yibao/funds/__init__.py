"""Funds (基金): the double-entry ledger of every fund movement."""
