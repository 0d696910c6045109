"""Shared fixtures. ``engine`` runs every store test on SQLite and on PostgreSQL.

PostgreSQL: ``OMNIDESK_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test gets a schema of its own, dropped afterwards. When no server answers, the
PostgreSQL half is skipped — unless ``OMNIDESK_REQUIRE_PG=1`` (CI sets it), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from omnidesk.store.engine import make_engine, sqlite_url
from omnidesk.store.migrate import upgrade

PG_URL = os.environ.get("OMNIDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

_pg_ok: bool | None = None


def _pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as c:
                c.execute(text("select 1"))
            eng.dispose()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def _need_pg() -> None:
    if not _pg_available():
        if os.environ.get("OMNIDESK_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required (OMNIDESK_REQUIRE_PG=1) but not reachable at {PG_URL}")
        pytest.skip("no PostgreSQL reachable")


def pg_schema_url() -> Iterator[str]:
    """Create a throwaway schema; yield a URL whose search_path points at it; drop it afterwards."""
    _need_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database: SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "omnidesk.db")
        upgrade(url)
        yield url
    else:
        gen = pg_schema_url()
        url = next(gen)
        upgrade(url)
        yield url
        gen.close()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests that are not about the store (services, TUI)."""
    url = sqlite_url(tmp_path / "omnidesk.db")
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()
