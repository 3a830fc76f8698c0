"""The Alembic migrations produce exactly the tables the code declares, on both databases."""

from yibao.store import migrate


def test_migrated_schema_matches_tables(engine):
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert migrate.pending_differences(engine) == []


def test_settling_a_fee_line_touches_no_index(engine):
    """0005: nothing indexes the columns settlement sets (status, setl_id), and PostgreSQL pages keep room for
    the new row version, so the settle-time update of every line is HOT."""
    from sqlalchemy import inspect, text

    indexed = {c for ix in inspect(engine).get_indexes("fee_line") for c in ix["column_names"]}
    assert not indexed & {"status", "setl_id"}
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            options = c.execute(text("select reloptions from pg_class where relname = 'fee_line'")).scalar()
        assert options == ["fillfactor=85"]
