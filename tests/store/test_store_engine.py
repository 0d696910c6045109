"""Connection settings, UTC handling and transaction semantics of the store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select, text

from omnidesk.store.engine import SQLITE_CACHE_KIB, make_engine, reading, sqlite_path, sqlite_url
from omnidesk.store.schema import staff


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_utc_round_trip(engine: Engine) -> None:
    at = datetime(2024, 3, 10, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    with engine.begin() as conn:
        conn.execute(insert(staff).values(username="u", display_name="U", role="nurse", created_at=at))
    with reading(engine) as conn:
        got = conn.execute(select(staff.c.created_at)).scalar_one()
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == at
    assert got.hour == 6  # 01:30 at UTC-5


def test_naive_datetime_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            insert(staff).values(username="u", display_name="U", role="nurse", created_at=datetime(2024, 1, 1))
        )


def test_foreign_keys_enforced(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from omnidesk.store.schema import messages

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(messages).values(
                thread_id=999,
                channel="sms",
                direction="inbound",
                provider_id="x",
                sender="a",
                recipient="b",
                body="b",
                at=datetime.now(UTC),
                references=[],
                intents=[],
                urgency="routine",
                matched=[],
                created_at=datetime.now(UTC),
            )
        )


def test_sqlite_transactions_serialize_read_modify_write(tmp_path) -> None:
    """engine.begin() takes the write lock at BEGIN, so a read at the start of the block is protected."""
    url = sqlite_url(tmp_path / "t.db")
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))

    def bump() -> None:
        for _ in range(25):
            with eng.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    workers = [threading.Thread(target=bump) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with reading(eng) as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 100  # no lost update
    eng.dispose()


def test_sqlite_reader_does_not_wait_for_writer(tmp_path) -> None:
    eng = make_engine(sqlite_url(tmp_path / "t.db"))
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with eng.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (2)"))  # holds the write lock, uncommitted
        started = datetime.now(UTC)
        with reading(eng) as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
        assert datetime.now(UTC) - started < timedelta(seconds=1)
    eng.dispose()


def test_sqlite_path() -> None:
    assert sqlite_path("sqlite:////tmp/x/o.db").as_posix() == "/tmp/x/o.db"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql+psycopg://u@h/db") is None


def test_sqlite_page_cache_is_bounded(sqlite_engine: Engine) -> None:
    """Per-connection page cache (16 MiB): the console's memory budget rests on it."""
    with sqlite_engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA cache_size").fetchone()[0] == -SQLITE_CACHE_KIB == -16384


def test_postgresql_session_plans_with_the_values(engine: Engine) -> None:
    """No generic plans (blind to a search's tsquery or a page's LIMIT) and no JIT on our sessions."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL session settings")
    with reading(engine) as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
