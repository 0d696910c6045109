"""Opening the store: URL resolution, engine creation and per-connection PRAGMAs.

SQLite runs in WAL mode with ``synchronous=FULL``: this is a medical record store,
and FULL makes every committed transaction durable across power loss (NORMAL in WAL
can lose the last commits). Bulk loads commit in batches, so the fsync cost is paid
per batch, not per message.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

ENV_DB = "OMNIDESK_DB"
SQLITE_BUSY_TIMEOUT_MS = 5000


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


def _on_sqlite_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA temp_store = MEMORY")
    cur.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache
    cur.close()


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (see :func:`resolve_url`) with our connection settings."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)
