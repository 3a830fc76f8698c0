"""The Alembic migrations produce exactly the tables the code declares, on both databases."""

from yibao.store import migrate


def test_migrated_schema_matches_tables(engine):
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert migrate.pending_differences(engine) == []
