"""Alembic migrations: the first revision builds exactly schema.py's tables, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from omnidesk.store import migrate
from omnidesk.store.engine import make_engine, reading, sqlite_url
from omnidesk.store.schema import metadata
from omnidesk.store.search import include_object


def _diff(engine: Engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"include_object": include_object, "compare_type": True, "compare_server_default": True},
        )
        return compare_metadata(ctx, metadata)


def test_migrated_database_matches_metadata(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as conn:  # and the comparison does notice a difference
            conn.execute(text("DROP INDEX ix_threads_inbox"))
        diff = _diff(engine)
        assert any(d[0] == "add_index" and d[1].name == "ix_threads_inbox" for d in diff), diff
    finally:
        engine.dispose()


def test_fixture_database_matches_metadata(engine: Engine) -> None:
    assert _diff(engine) == []


def test_status_and_idempotent_upgrade(engine: Engine, db_url: str) -> None:
    status = migrate.check(engine)
    assert status.state is migrate.SchemaState.CURRENT
    assert status.current == migrate.head_revision() == migrate.current_revision(db_url)
    migrate.upgrade(db_url)  # again: nothing to do, no error
    assert migrate.check(engine).state is migrate.SchemaState.CURRENT


def test_version_table_lives_in_the_test_schema(engine: Engine) -> None:
    names = inspect(engine).get_table_names()  # the connection's own (first search_path) schema
    assert "alembic_version" in names and "threads" in names
    if engine.dialect.name == "postgresql":
        with reading(engine) as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            where = conn.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'")
            ).scalars()
            assert schema in list(where)


def test_search_objects_exist(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    if engine.dialect.name == "sqlite":
        assert "messages_fts" in names
        with reading(engine) as conn:
            triggers = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert {"messages_fts_ai", "messages_fts_ad", "messages_fts_au"} <= triggers
    else:
        cols = {c["name"] for c in inspect(engine).get_columns("messages")}
        assert "search_tsv" in cols
        assert "ix_messages_search" in {i["name"] for i in inspect(engine).get_indexes("messages")}


def test_states_empty_newer_outdated_unversioned(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_url(tmp_path / "s.db")
    eng = make_engine(url)
    try:
        assert migrate.check(eng).state is migrate.SchemaState.EMPTY
        migrate.upgrade(eng)
        monkeypatch.setattr(migrate, "head_revision", lambda: "9999")
        assert migrate.check(eng).state is migrate.SchemaState.OUTDATED
        monkeypatch.undo()
        with eng.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        assert migrate.check(eng).state is migrate.SchemaState.NEWER
    finally:
        eng.dispose()

    url2 = sqlite_url(tmp_path / "u.db")
    eng2 = make_engine(url2)
    try:
        metadata.create_all(eng2)
        assert migrate.check(eng2).state is migrate.SchemaState.UNVERSIONED
        with pytest.raises(migrate.UnversionedDatabaseError):
            migrate.upgrade(eng2)
    finally:
        eng2.dispose()


def test_downgrade_then_upgrade(tmp_path) -> None:
    url = sqlite_url(tmp_path / "d.db")
    migrate.upgrade(url)
    eng = make_engine(url)
    try:
        with eng.begin() as conn:
            from alembic import command

            command.downgrade(migrate.alembic_config(conn), "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(eng)
        assert _diff(eng) == []
    finally:
        eng.dispose()
