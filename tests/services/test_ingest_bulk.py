"""The bulk writer stores exactly what SQLAlchemy would (same text for times and JSON on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from omnidesk.services.bulk import _processor, allocate_ids, insert_rows, update_rows
from omnidesk.store.engine import reading
from omnidesk.store.schema import contacts, messages, threads


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 5, 6, 14, 0, tzinfo=UTC),
        datetime(2024, 5, 6, 14, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(999, 1, 1, tzinfo=UTC),
    ],
)
def test_fast_time_processor_matches_sqlalchemy(sqlite_engine: Engine, value: datetime) -> None:
    dialect = sqlite_engine.dialect
    col = threads.c.last_message_at
    assert _processor(col, dialect)(value) == col.type._cached_bind_processor(dialect)(value)


def test_fast_json_processor_matches_sqlalchemy(sqlite_engine: Engine) -> None:
    dialect = sqlite_engine.dialect
    col = messages.c.matched
    value = [{"rule": "r1", "sets": "urgency", "text": 'chest pain 😀 "q"'}]
    assert _processor(col, dialect)(value) == col.type._cached_bind_processor(dialect)(value)


def test_naive_time_is_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError):
        _processor(threads.c.last_message_at, sqlite_engine.dialect)(datetime(2024, 1, 1))


def test_allocate_insert_update_round_trip(engine: Engine) -> None:
    at = datetime(2024, 5, 6, 14, 0, 0, 5, tzinfo=UTC)
    with engine.begin() as conn:
        ids = allocate_ids(conn, contacts, 3)
        assert ids == sorted(ids) and len(set(ids)) == 3
        insert_rows(
            conn, contacts, ["id", "kind", "value", "created_at"], [(i, "email", f"x{i}@y.org", at) for i in ids]
        )
        more = allocate_ids(conn, contacts, 2)
        assert min(more) > max(ids)
        changed = update_rows(
            conn, contacts, ["value"], ["id", "kind"], [("new@y.org", ids[0], "email"), ("z@y.org", 0, "email")]
        )
        assert changed == 1
    with reading(engine) as conn:
        rows = conn.execute(
            select(contacts.c.id, contacts.c.value, contacts.c.created_at).order_by(contacts.c.id)
        ).all()
    assert [r.value for r in rows] == ["new@y.org", f"x{ids[1]}@y.org", f"x{ids[2]}@y.org"]
    assert all(r.created_at == at for r in rows)


def test_bulk_ingest_is_searchable_and_keeps_the_fts_trigger(sqlite_engine: Engine) -> None:
    from ingest_helpers import T0, make_ctx, msg

    from omnidesk.services.ingest import ingest
    from omnidesk.store.search import search_messages

    ctx = make_ctx(sqlite_engine)
    batch = [msg(f"b{i}", f"+1555017{i:04d}", f"word{i} zebrafish", at=T0) for i in range(300)]
    ingest(ctx, batch)  # large: indexed in bulk
    ingest(ctx, [msg("live", "+15550170000", "lonely quokka", at=T0)])  # small: the trigger
    with reading(sqlite_engine) as conn:
        assert len(search_messages(conn, "zebrafish", limit=1000)) == 300
        assert len(search_messages(conn, "word123")) == 1
        assert len(search_messages(conn, "quokka")) == 1
        triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all()
    assert "messages_fts_ai" in triggers


def test_thread_state_values_follow_row_order() -> None:
    from omnidesk.services.threading import ThreadState

    at = datetime(2024, 5, 6, tzinfo=UTC)
    state = ThreadState.new(3, 4, at)
    state.subject, state.preview, state.due_at = "s", "p", at + timedelta(hours=1)
    assert tuple(state.row(at).values()) == state.values(at)


def test_encoder_gives_what_insert_rows_would(sqlite_engine: Engine) -> None:
    from omnidesk.services.bulk import Encoder

    at = datetime(2024, 12, 31, 23, 30, 0, 7, tzinfo=timezone(timedelta(hours=-5)))
    dialect = sqlite_engine.dialect
    with sqlite_engine.connect() as conn:
        enc = Encoder(conn, {})
        assert enc.time(at) == threads.c.last_message_at.type._cached_bind_processor(dialect)(at)
        assert enc.time(None) is None
        js = messages.c.matched.type._cached_bind_processor(dialect)
        for value in (["sms", "email"], ("general",), [], [{"rule": "r", "sets": "urgency", "text": "x"}]):
            assert enc.json(value) == js(list(value))
        assert enc.json(["a"]) is enc.json(["a"])  # converted once


@pytest.mark.parametrize("chunk", [2, 900])
def test_select_in_matches_a_plain_query(engine: Engine, chunk: int) -> None:
    from sqlalchemy import bindparam

    from omnidesk.services.bulk import select_in

    at = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)
    with engine.begin() as conn:
        ids = allocate_ids(conn, contacts, 5)
        rows = [(i, "phone" if n % 2 else "email", f"v{n}", at + timedelta(days=n)) for n, i in enumerate(ids)]
        insert_rows(conn, contacts, ["id", "kind", "value", "created_at"], rows)
        stmt = select(contacts.c.id, contacts.c.value).where(
            contacts.c.kind == "email",  # a literal
            contacts.c.created_at >= bindparam("since"),  # a parameter with a bind processor
            contacts.c.value.in_(bindparam("ids", expanding=True)),
        )
        got = select_in(conn, stmt, ["v0", "v1", "v2", "v4", "nope"], {"since": at + timedelta(days=1)}, chunk=chunk)
        assert sorted(got) == [(ids[2], "v2"), (ids[4], "v4")]
        assert select_in(conn, stmt, [], {"since": at}) == []
