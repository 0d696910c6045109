"""Migration 0002 on a 0001 database that holds data: ``threads.emergency_since`` backfilled,
``messages.kind`` and the outbound index added; and back down again (both databases)."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select, text, update
from store_data import T0, Seed

from omnidesk.store import migrate
from omnidesk.store.engine import make_engine, reading
from omnidesk.store.schema import messages, threads


def _at_0001_with_data(engine: Engine) -> dict[str, int]:
    """Three threads as omnidesk 0001 left them: waiting, acknowledged then flagged again, routine."""
    migrate.upgrade(engine, "0001")
    seed = Seed(engine)
    nurse = seed.staff("nurse")
    waiting = seed.thread(
        urgency="emergency", pinned=True, queue="emergency", last_message_at=T0 + timedelta(minutes=9)
    )
    seed.message(waiting, "hello", at=T0)
    seed.message(waiting, "chest pain", at=T0 + timedelta(minutes=4), urgency="emergency")
    seed.message(waiting, "still", at=T0 + timedelta(minutes=9), urgency="emergency")
    # acknowledged once, then flagged again: 0001 cleared the acknowledgment, so the store cannot tell
    again = seed.thread(urgency="emergency", pinned=True, queue="emergency", last_message_at=T0 + timedelta(hours=3))
    seed.message(again, "chest pain", at=T0, urgency="emergency")
    seed.message(again, "chest pain again", at=T0 + timedelta(hours=2), urgency="emergency")
    seed.message(again, "worse", at=T0 + timedelta(hours=3), urgency="emergency")
    acked = seed.thread(
        urgency="emergency",
        pinned=False,
        queue="emergency",
        emergency_ack_by=nurse.id,
        emergency_ack_at=T0 + timedelta(minutes=6),
    )
    seed.message(acked, "help", at=T0, urgency="emergency")
    routine = seed.thread()
    seed.message(routine, "refill please", at=T0)
    return {"waiting": waiting, "again": again, "acked": acked, "routine": routine}


def test_upgrade_backfills_the_emergency_clock_and_downgrade_undoes_it(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        ids = _at_0001_with_data(engine)
        assert "emergency_since" not in {c["name"] for c in inspect(engine).get_columns("threads")}
        migrate.upgrade(engine)
        assert migrate.check(engine).state is migrate.SchemaState.CURRENT
        with reading(engine) as conn:
            since = dict(conn.execute(select(threads.c.id, threads.c.emergency_since)).all())
            kinds = set(conn.execute(select(messages.c.kind)).scalars())
            count = conn.execute(select(messages.c.id)).all()
        assert since[ids["waiting"]] == T0 + timedelta(minutes=4)  # the first emergency message, not the last
        assert since[ids["again"]] == T0  # never acknowledged (as far as the store knows): the first one
        assert since[ids["acked"]] is None and since[ids["routine"]] is None  # nothing waits there
        assert kinds == {None} and len(count) == 8  # every message kept; none was outbound
        assert "ix_messages_outbound_contact" in {i["name"] for i in inspect(engine).get_indexes("messages")}

        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        assert migrate.current_revision(engine) == "0001"
        assert "emergency_since" not in {c["name"] for c in inspect(engine).get_columns("threads")}
        assert "kind" not in {c["name"] for c in inspect(engine).get_columns("messages")}
        with reading(engine) as conn:
            assert len(conn.execute(text("SELECT id FROM messages")).all()) == 8
            if engine.dialect.name == "sqlite":  # full-text search still follows the messages table
                hits = conn.execute(text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'refill'")).all()
                assert len(hits) == 1
        migrate.upgrade(engine)
        assert migrate.check(engine).state is migrate.SchemaState.CURRENT
    finally:
        engine.dispose()


def test_an_acknowledged_thread_flagged_again_counts_from_after_the_acknowledgment(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine, "0001")
        seed = Seed(engine)
        tid = seed.thread(urgency="emergency", pinned=True, queue="emergency")
        seed.message(tid, "chest pain", at=T0, urgency="emergency")
        seed.message(tid, "chest pain again", at=T0 + timedelta(hours=2), urgency="emergency")
        seed.message(tid, "reply", at=T0 + timedelta(hours=2, minutes=1), direction="outbound", urgency="emergency")
        late = seed.thread(urgency="emergency", pinned=True, queue="emergency")  # an old message came in late
        seed.message(late, "chest pain", at=T0, urgency="emergency")
        # acknowledged at T0+1h yet flagged: not a state 0001 leaves, backfilled all the same
        with engine.begin() as conn:
            conn.execute(update(threads).values(emergency_ack_at=T0 + timedelta(hours=1)))
        migrate.upgrade(engine)
        with reading(engine) as conn:
            since = dict(conn.execute(select(threads.c.id, threads.c.emergency_since)).all())
        assert since[tid] == T0 + timedelta(hours=2)  # the inbound emergency after the acknowledgment
        assert since[late] == T0  # none after it: the newest emergency message
    finally:
        engine.dispose()
