"""init_store / open_context: idempotent setup, and clear, PHI-free errors when the store is not usable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from omnidesk.model import Role
from omnidesk.services import setup
from omnidesk.services.errors import NotFound, StoreError, from_db_error
from omnidesk.store import engine as engine_mod
from omnidesk.store import migrate
from omnidesk.store.engine import make_engine, sqlite_url
from omnidesk.store.schema import staff


def test_init_then_open(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(setup.ENV_USER, raising=False)
    assert setup.init_store(fresh_db_url) == fresh_db_url
    assert setup.init_store(fresh_db_url) == fresh_db_url  # idempotent
    ctx = setup.open_context(fresh_db_url)
    try:
        assert ctx.user is not None and ctx.user.username == "frontdesk" and ctx.user.role is Role.FRONT_DESK
        with ctx.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(staff)).scalar_one() == len(setup.DEFAULT_STAFF)
    finally:
        ctx.engine.dispose()
    ctx = setup.open_context(fresh_db_url, "nurse")
    assert ctx.user is not None and ctx.user.role is Role.NURSE
    ctx.engine.dispose()
    monkeypatch.setenv(setup.ENV_USER, "manager")
    ctx = setup.open_context(fresh_db_url)
    assert ctx.user is not None and ctx.user.username == "manager"
    ctx.engine.dispose()
    with pytest.raises(NotFound, match="unknown staff user 'nobody'"):
        setup.open_context(fresh_db_url, "nobody")


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "omnidesk.db"
    with pytest.raises(StoreError) as err:
        setup.open_context(sqlite_url(path))
    assert err.value.code == "missing" and str(path) in err.value.message
    assert "omnidesk init" in (err.value.hint or "")
    assert not path.exists()


def test_uninitialised_and_outdated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(StoreError) as err:
        setup.open_context(sqlite_url(path))
    assert err.value.code == "not_initialised" and "omnidesk init" in (err.value.hint or "")
    setup.init_store(sqlite_url(path))
    monkeypatch.setattr(migrate, "head_revision", lambda: "9999")
    with pytest.raises(StoreError) as err:
        setup.open_context(sqlite_url(path))
    assert err.value.code == "needs_upgrade"


def test_tables_without_migration_history(fresh_db_url: str) -> None:
    eng = make_engine(fresh_db_url)
    with eng.begin() as conn:
        for name in ("alembic_version",):
            conn.execute(text(f"DROP TABLE {name}"))
    eng.dispose()
    with pytest.raises(StoreError) as err:
        setup.open_context(fresh_db_url)
    assert err.value.code == "unversioned"


def test_locked_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_url(tmp_path / "locked.db")
    setup.init_store(url)
    monkeypatch.setattr(engine_mod, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(StoreError) as err:
            setup.init_store(url)
        assert err.value.code == "locked"
        assert "busy" in err.value.message and "try again" in (err.value.hint or "")
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("COMMIT")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO settings(key, value) VALUES ('k', '1')")
        with pytest.raises(StoreError) as err:
            setup.open_context(url)  # even reading is blocked by an exclusive lock
        assert err.value.code == "locked"
    finally:
        holder.close()


def test_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as err:
        setup.init_store(sqlite_url(blocker / "omnidesk.db"))
    assert err.value.code == "cannot_open"


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite at all, just some bytes " * 100)
    with pytest.raises(StoreError) as err:
        setup.open_context(sqlite_url(path))
    assert err.value.code == "not_a_database"


def test_postgres_unreachable() -> None:
    url = "postgresql+psycopg://omni:s3cret@127.0.0.1:1/practice?connect_timeout=2"
    with pytest.raises(StoreError) as err:
        setup.open_context(url)
    assert err.value.code == "unreachable"
    assert "s3cret" not in err.value.message and "127.0.0.1:1" in err.value.message
    with pytest.raises(StoreError):
        setup.init_store(url)


def test_errors_never_quote_the_driver_text(engine: Engine) -> None:
    """SQL errors can carry parameters (PHI); the StoreError names only a class and a code."""
    from sqlalchemy.exc import DBAPIError

    phi = "Maria Gonzalez +15551234567"
    with pytest.raises(DBAPIError) as raw, engine.connect() as conn:
        conn.execute(text("SELECT no_such_column FROM staff WHERE username = :u"), {"u": phi})
    assert phi not in str(raw.value)  # hide_parameters on the engine
    err = from_db_error(raw.value, str(engine.url))
    assert phi not in err.message and phi not in (err.hint or "")
