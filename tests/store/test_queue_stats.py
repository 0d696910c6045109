"""The trigger-kept queue counters equal a direct count of ``threads`` after every kind of write."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from store_data import T0, Seed

from omnidesk.model import QUEUE_EMERGENCY, QUEUE_UNMATCHED, ThreadStatus
from omnidesk.store import queries as q
from omnidesk.store import queue_stats
from omnidesk.store.engine import make_engine, reading
from omnidesk.store.schema import messages, threads

t = threads.c


def _direct(engine: Engine) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Counts computed here from the rows themselves (not by the SQL under test)."""
    with reading(engine) as conn:
        rows = conn.execute(select(t.status, t.queue, t.unread_count, t.pinned)).all()
    n: Counter = Counter()
    unread: Counter = Counter()
    pinned: Counter = Counter()
    for r in rows:
        key = (r.status, r.queue)
        n[key] += 1
        unread[key] += r.unread_count > 0
        pinned[key] += bool(r.pinned)
    return {k: (n[k], unread[k], pinned[k]) for k in n}


def _check(engine: Engine) -> dict[tuple[str, str], tuple[int, int, int]]:
    want = _direct(engine)
    with reading(engine) as conn:
        assert queue_stats.stored(conn) == want
        for status in [s.value for s in ThreadStatus]:
            for queue in {k[1] for k in want} | {"nurse"}:
                got = q.thread_total(conn, status=status, queue=queue)
                assert got == want.get((status, queue), (0, 0, 0))[0], (status, queue)
        assert q.thread_total(conn, status=None, queue=None) == sum(v[0] for v in want.values())
        assert q.thread_total(conn, status="open", queue=None) == sum(v[0] for k, v in want.items() if k[0] == "open")
        counts = {c.queue: c for c in q.queue_counts(conn)}
    for (status, queue), (n, unread, pinned) in want.items():
        if status == "open" and n:
            assert (counts[queue].open_count, counts[queue].unread_count, counts[queue].emergency_count) == (
                n,
                unread,
                pinned,
            )
    return want


def test_counts_follow_inserts_updates_moves_acks_merges_and_deletes(engine: Engine) -> None:
    seed = Seed(engine)
    rows = [
        {"queue": "nurse", "unread_count": 2},
        {"queue": "nurse", "unread_count": 0},
        {"queue": "billing", "unread_count": 1},
        {"queue": QUEUE_EMERGENCY, "urgency": "emergency", "pinned": True, "unread_count": 1},
        {"queue": QUEUE_EMERGENCY, "urgency": "emergency", "pinned": True},
        {"queue": QUEUE_UNMATCHED, "status": "pending", "unread_count": 4},
    ]
    seed.threads(rows)  # one multi-row INSERT
    one = seed.thread(queue="front_desk", unread_count=1)  # single-row INSERTs
    two = seed.thread(queue="front_desk")
    assert _check(engine)[("open", QUEUE_EMERGENCY)] == (2, 1, 2)
    with reading(engine) as conn:
        ids = dict(conn.execute(select(t.queue, func.min(t.id)).group_by(t.queue)).all())

    with engine.begin() as conn:
        conn.execute(update(threads).where(t.id == ids["nurse"]).values(status="closed"))  # status change
        conn.execute(update(threads).where(t.id == ids["billing"]).values(queue="nurse"))  # queue move
        conn.execute(update(threads).where(t.id == ids["billing"]).values(queue="custom_q"))  # twice, one txn
        conn.execute(update(threads).where(t.id == one).values(unread_count=0))  # read
        conn.execute(update(threads).where(t.id == two).values(unread_count=3))  # new message
        conn.execute(update(threads).where(t.id == two).values(unread_count=4))  # another: no transition
        conn.execute(update(threads).where(t.id == two).values(preview="x", message_count=9))  # irrelevant columns
    _check(engine)

    with engine.begin() as conn:  # acknowledgment unpins (and bumps the version)
        assert q.acknowledge_emergency(conn, ids[QUEUE_EMERGENCY], staff_id=None, at=T0, expected_version=1)
        assert q.mark_read(conn, ids[QUEUE_EMERGENCY])
    assert _check(engine)[("open", QUEUE_EMERGENCY)] == (2, 0, 1)

    with engine.begin() as conn:  # status, queue, pin and unread all at once, every open thread
        conn.execute(
            update(threads)
            .where(t.status == "open")
            .values(status="pending", queue=QUEUE_UNMATCHED, pinned=False, unread_count=t.unread_count + 1)
        )
    _check(engine)

    with engine.begin() as conn:  # a merge: messages move to the older thread, the other row goes
        keep, gone = sorted(conn.execute(select(t.id).where(t.status == "pending").limit(2)).scalars())
        conn.execute(update(messages).where(messages.c.thread_id == gone).values(thread_id=keep))
        conn.execute(delete(threads).where(t.id == gone))
    _check(engine)

    with pytest.raises(RuntimeError), engine.begin() as conn:  # a rolled-back write leaves no trace
        conn.execute(update(threads).values(status="closed"))
        conn.execute(delete(threads).where(t.queue == "front_desk"))
        raise RuntimeError("roll back")
    _check(engine)

    with engine.begin() as conn:
        conn.execute(delete(threads))
    assert _check(engine) == {}
    with reading(engine) as conn:
        counts = q.queue_counts(conn)
    assert [c.queue for c in counts] == ["emergency", "nurse", "billing", "front_desk", "unmatched"]
    assert all(c.open_count == c.unread_count == c.emergency_count == 0 for c in counts)


def test_rebuild_repairs_and_fold_keeps_the_sums(engine: Engine) -> None:
    Seed(engine).threads([{"queue": f"q{i % 3}", "unread_count": i % 2, "pinned": i % 5 == 0} for i in range(40)])
    for i in range(5):  # several transactions: several per-transaction rows on PostgreSQL
        with engine.begin() as conn:
            conn.execute(update(threads).where(t.id == i + 1).values(status="closed"))
    want = _check(engine)
    with engine.begin() as conn:
        folded = queue_stats.fold(conn)
    assert folded == (engine.dialect.name == "postgresql")
    with reading(engine) as conn:
        assert queue_stats.stored(conn) == want
        assert conn.execute(text("SELECT count(*) FROM queue_stats WHERE txid <> 0")).scalar() == 0
    with engine.begin() as conn:  # damage, then repair
        conn.execute(text("UPDATE queue_stats SET n_threads = n_threads + 7"))
    with reading(engine) as conn:
        assert queue_stats.stored(conn) != want
    with engine.begin() as conn:
        queue_stats.rebuild(conn)
    _check(engine)


def test_truncate_empties_the_counters(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    Seed(engine).threads([{"queue": "nurse"}] * 3)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE threads CASCADE"))
    assert _check(engine) == {}


def test_postgresql_writers_never_wait_for_each_other_on_a_counter(engine: Engine, db_url: str) -> None:
    """Two open transactions changing threads of the same queue: neither blocks (per-transaction rows)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    Seed(engine).threads([{"queue": "nurse", "unread_count": 1}, {"queue": "nurse", "unread_count": 1}])
    with reading(engine) as conn:
        a, b = conn.execute(select(t.id).order_by(t.id)).scalars()
    other = make_engine(db_url)
    done = threading.Event()
    errors: list[BaseException] = []
    try:
        with engine.begin() as first:
            first.execute(update(threads).where(t.id == a).values(unread_count=0, queue="billing"))

            def second() -> None:
                try:
                    with other.begin() as conn:
                        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                        conn.execute(update(threads).where(t.id == b).values(unread_count=0, queue="billing"))
                        conn.execute(insert(threads), [Seed.thread_row(queue="nurse")])
                    done.set()
                except BaseException as exc:  # reported by the assertion below
                    errors.append(exc)

            worker = threading.Thread(target=second)
            worker.start()
            worker.join(10)
            assert done.is_set(), errors  # committed while the first transaction still holds its rows
    finally:
        other.dispose()
    assert _check(engine)[("open", "billing")] == (2, 0, 0)


def test_bulk_insert_select_at_scale_counts_once_per_statement(engine: Engine) -> None:
    """An INSERT … SELECT of 5,000 threads (ingest writes many rows per statement)."""
    ts = T0 - timedelta(days=1)
    Seed(engine).threads(
        [
            {"queue": ("nurse", "billing", QUEUE_EMERGENCY)[i % 3], "unread_count": i % 4, "pinned": i % 3 == 2}
            for i in range(5_000)
        ]
        + [{"last_message_at": ts, "status": "closed"}]
    )
    assert _check(engine)[("open", "nurse")] == (1667, 1250, 0)
