"""Shared fixtures. ``engine`` runs every store test on SQLite and on PostgreSQL.

PostgreSQL: ``OMNIDESK_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
A run migrates one schema and empties it before each test (``fresh_db_url`` gives a test
a schema of its own). SQLite tests get a copy of a file migrated once per run. When no
server answers, the PostgreSQL half is skipped — unless ``OMNIDESK_REQUIRE_PG=1`` (CI sets
it), where it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from omnidesk.store.engine import make_engine, sqlite_url
from omnidesk.store.migrate import upgrade
from omnidesk.store.schema import metadata

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


class _PgSession:
    """One migrated PostgreSQL schema for the whole run, emptied before each test that uses it.

    Creating and migrating a schema costs ~0.4 s here and dropping it ~0.2 s; deleting the
    rows of a few dozen and restarting the sequences costs ~15 ms. A test that changes the
    schema itself (drops an index, say) is noticed by a catalog fingerprint, and the schema
    is rebuilt for the next test.
    """

    def __init__(self) -> None:
        self.admin = create_engine(PG_URL)
        self.schema = ""
        self.url = ""
        self.fingerprint: tuple = ()
        self._build()

    def _build(self) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"
        upgrade(self.url)
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> tuple:
        with self.admin.connect() as c:
            return tuple(
                c.execute(
                    text(
                        "SELECT c.relname, c.relkind, count(a.attnum) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                        "WHERE n.nspname = :s GROUP BY c.relname, c.relkind ORDER BY 1"
                    ),
                    {"s": self.schema},
                ).all()
            )

    def _drop(self) -> None:
        with self.admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def clean_url(self) -> str:
        if self._fingerprint() != self.fingerprint:
            self._drop()
            self._build()
            return self.url
        with self.admin.begin() as c:
            c.execute(text("SET LOCAL lock_timeout = '10s'"))  # a leaked transaction fails loudly
            for table in reversed(metadata.sorted_tables):
                c.execute(text(f'DELETE FROM "{self.schema}"."{table.name}"'))
            seqs = c.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": self.schema}
            ).scalars()
            for seq in list(seqs):
                c.execute(text(f'ALTER SEQUENCE "{self.schema}"."{seq}" RESTART'))
        return self.url

    def close(self) -> None:
        self._drop()
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_session() -> Iterator[_PgSession]:
    _need_pg()
    pg = _PgSession()
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (a copy takes ~1 ms, a migration ~100 ms)."""
    path = tmp_path_factory.mktemp("template") / "omnidesk.db"
    upgrade(sqlite_url(path))  # the engine is disposed: the WAL is checkpointed into the file
    return path


def _sqlite_copy(template: Path, dest: Path) -> str:
    shutil.copyfile(template, dest)
    return sqlite_url(dest)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, _sqlite_template: Path) -> str:
    """A URL to an empty, migrated database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return _sqlite_copy(_sqlite_template, tmp_path / "omnidesk.db")
    return request.getfixturevalue("_pg_session").clean_url()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like ``db_url`` but migrated for this test alone (for tests that alter the schema or migrate)."""
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not migrated (for tests that migrate it step by step): a SQLite file,
    then a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "omnidesk.db")
    else:
        gen = pg_schema_url()
        yield next(gen)
        gen.close()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, _sqlite_template: Path) -> Iterator[Engine]:
    """SQLite only, for tests that are not about the store (services, TUI)."""
    eng = make_engine(_sqlite_copy(_sqlite_template, tmp_path / "omnidesk.db"))
    yield eng
    eng.dispose()
