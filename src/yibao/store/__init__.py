"""Persistence adapters (存储): SQLAlchemy 2 tables, sessions, migrations, audit log."""
