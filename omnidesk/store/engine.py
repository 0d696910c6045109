"""Opening the store: URL resolution, engine creation, per-connection PRAGMAs and transactions.

SQLite runs in WAL mode with ``synchronous=FULL``: this is a medical record store,
and FULL makes every committed transaction durable across power loss (NORMAL in WAL
can lose the last commits). Bulk loads commit in batches, so the fsync cost is paid
per batch, not per message.

Transactions on SQLite: Python's ``sqlite3`` module normally opens a transaction only
before the first INSERT/UPDATE/DELETE, so a ``SELECT`` earlier in an ``engine.begin()``
block is not part of it and a read-then-write (next audit hash, version check) is not
atomic. We switch that off and emit ``BEGIN IMMEDIATE`` ourselves: every transaction
takes the write lock when it starts, so read-modify-write is serialized across
processes and never fails half-way with "database is locked". Pure reads opt out with
:func:`reading` (``BEGIN DEFERRED``): in WAL they never wait for a writer.

Engines are created with ``hide_parameters=True`` so a database error's text never
carries bound values (message bodies, names, phones).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

ENV_DB = "OMNIDESK_DB"
SQLITE_BUSY_TIMEOUT_MS = 5000
READ_ONLY = "omnidesk_read_only"  # connection execution option: this transaction only reads
# SQLite's page cache, per connection (a console has one per pooled connection its workers
# use). 16 MiB: at 1M messages a process that walked all 100k open threads, ran searches and
# used two connections held 79–84 MB resident with it, 126–134 MB with 64 MiB; page and search
# times did not change measurably (misses are served from the OS page cache). Overridable for
# measurements with $OMNIDESK_SQLITE_CACHE_KIB.
SQLITE_CACHE_KIB = int(os.environ.get("OMNIDESK_SQLITE_CACHE_KIB", "16384"))


def default_db_path() -> Path:
    """The SQLite file in the platform's user data directory."""
    from platformdirs import user_data_path

    return user_data_path("omnidesk", appauthor=False) / "omnidesk.db"


def resolve_url(url: str | None = None) -> str:
    """``url`` if given, else ``$OMNIDESK_DB``, else the default SQLite file."""
    if url:
        return url
    env = os.environ.get(ENV_DB)
    if env:
        return env
    return f"sqlite:///{default_db_path()}"


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path)}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and for in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    db = parsed.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event (see the module docstring).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA temp_store = MEMORY")
    cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cur.close()


def _on_pg_connect(dbapi_conn, _record) -> None:
    # psycopg prepares a statement from its 5th run; PostgreSQL then switches to a generic
    # plan when it guesses one as cheap, blind to the parameters. For our queries that guess
    # was wrong where it hurts: a full-text search whose tsquery it cannot see (60–170 ms
    # instead of 2–8), an inbox page with a LIMIT it cannot see (7 ms instead of 0.9, after
    # JIT-compiling the plan). Plans are cheap here (0.1–0.4 ms): always plan with the values.
    # JIT compiling pays off for long analytic queries, never for ours.
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute("SET jit = off")
        if dbapi_conn.info.server_version >= 120000:
            dbapi_conn.execute("SET plan_cache_mode = force_custom_plan")
    finally:
        dbapi_conn.autocommit = autocommit


def _on_sqlite_begin(conn: Connection) -> None:
    opts = conn.get_execution_options()
    if opts.get("isolation_level") == "AUTOCOMMIT":
        return
    sql = "BEGIN DEFERRED" if opts.get(READ_ONLY) else "BEGIN IMMEDIATE"
    # On the driver connection: through SQLAlchemy's execute this cost a third of a short read
    # transaction (~25 µs). Errors are wrapped as SQLAlchemy would (store_errors handles them).
    driver = conn.connection.dbapi_connection
    assert driver is not None
    error = conn.dialect.loaded_dbapi.Error
    try:
        driver.execute(sql)
    except error as exc:
        raise DBAPIError.instance(sql, None, exc, error, hide_parameters=True, dialect=conn.dialect) from exc


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (see :func:`resolve_url`) with our connection settings."""
    url = resolve_url(url)
    path = sqlite_path(url)
    if make_url(url).get_backend_name() == "sqlite":
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    engine = create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _on_pg_connect)
    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (SQLite: ``BEGIN DEFERRED``, never waits for a writer in WAL).

    Writing inside it is a programming error: on SQLite it can fail with "database is locked".
    """
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        with conn.begin():
            yield conn


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (SQLite: ``BEGIN IMMEDIATE``); commits on success. Same as ``engine.begin()``."""
    with engine.begin() as conn:
        yield conn


def is_read_only(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(READ_ONLY))
