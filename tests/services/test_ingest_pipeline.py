"""Bulk ingest under pressure, on SQLite and PostgreSQL: batches stored in order while the next
one is prepared, conflicts with concurrent writers retried, failures leaving whole batches."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import T0, KeywordTriage, load_patients, make_ctx, msg
from sqlalchemy import Engine, func, select, update

from omnidesk.model import Channel, IngestReport
from omnidesk.services import ingest_batch as ib
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events, messages, threads

CY = "+15550143111"  # one patient's phone (see PATIENTS)
PATIENTS = [["M3", "Cy", "Okafor", "1975-11-30", "+1 555 014 3111", "", "cy@example.org", "en", "email"]]


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path):
    ctx = make_ctx(engine)
    load_patients(ctx, tmp_path, PATIENTS)
    return ctx


def _count(engine: Engine, table, *where) -> int:
    with reading(engine) as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _thread(engine: Engine) -> dict:
    with reading(engine) as c:
        [row] = c.execute(select(threads)).all()
    return dict(row._mapping)


def _batch_events(engine: Engine) -> list[dict]:
    with reading(engine) as c:
        rows = c.execute(select(audit_events.c.detail).where(audit_events.c.action == "ingest.batch"))
        return [r.detail for r in rows.all()]


class FailingTriage(KeywordTriage):
    """The rules break on one message (a bug in a rule file, say)."""

    __slots__ = ()

    def triage(self, body, subject, channel, received_at, *, reminder_reply=False):
        if body == "boom":
            raise RuntimeError("rule error")
        return super().triage(body, subject, channel, received_at, reminder_reply=reminder_reply)


def test_a_failure_mid_import_leaves_the_committed_batches_whole(ctx, engine: Engine) -> None:
    from omnidesk.services.context import Context

    ctx = Context(engine, ctx.user, _triage=FailingTriage())
    stream = [msg(f"p{i}", CY, "boom" if i == 6 else f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(9)]
    with pytest.raises(RuntimeError):
        ingest(ctx, stream, batch_size=2)
    # batches [p0 p1] [p2 p3] [p4 p5] are stored; [p6 p7] failed before its transaction began
    assert _count(engine, messages) == 6
    t = _thread(engine)
    assert t["message_count"] == t["unread_count"] == 6
    assert [e["new"] for e in _batch_events(engine)] == [2, 2, 2]
    # the same stream again, with working rules, completes it: nothing lost, nothing doubled
    report = ingest(make_ctx(engine), stream, batch_size=2)
    assert (report.new, report.duplicate) == (3, 6)
    assert _thread(engine)["message_count"] == _count(engine, messages) == 9


def test_the_cursor_is_stored_with_the_last_batch_and_sees_all_before_it(ctx, engine: Engine) -> None:
    seen: list[int] = []

    def before_commit(conn) -> None:
        seen.append(conn.execute(select(func.count()).select_from(messages)).scalar_one())

    stream = [msg(f"p{i}", CY, f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(7)]
    report = ingest(ctx, stream, batch_size=3, before_commit=before_commit)
    assert report.new == 7
    assert seen == [7]  # called once, inside the last batch's transaction, after the others committed


@pytest.mark.parametrize("more", [0, 80], ids=["small", "bulk"])  # bulk: PostgreSQL loads with COPY
def test_a_provider_id_stored_concurrently_is_retried_as_a_duplicate(ctx, engine: Engine, monkeypatch, more) -> None:
    ingest(ctx, [msg("p1", CY, "first")])
    original = ib._Batch.drop_duplicates
    calls = {"n": 0}

    def racing(self) -> None:  # the first attempt misses the row another writer just stored
        calls["n"] += 1
        if calls["n"] > 1:
            original(self)

    monkeypatch.setattr(ib._Batch, "drop_duplicates", racing)
    extra = [msg(f"x{i}", CY, f"more {i}", at=T0 + timedelta(minutes=2 + i)) for i in range(more)]
    report = ingest(ctx, [msg("p1", CY, "first"), msg("p2", CY, "second", at=T0 + timedelta(minutes=1)), *extra])
    assert calls["n"] == 2  # the unique constraint stopped the first attempt; the retry read afresh
    assert (report.new, report.duplicate) == (1 + more, 1)
    assert _count(engine, messages) == _thread(engine)["message_count"] == 2 + more


def test_a_thread_changed_during_the_batch_is_retried_from_a_fresh_read(ctx, engine: Engine, monkeypatch) -> None:
    ingest(ctx, [msg("p1", CY, "first")])
    original = ib._Batch.fold
    calls = {"n": 0}

    def staff_acts_meanwhile(self) -> None:  # a staff action commits between our read and our write
        calls["n"] += 1
        if calls["n"] == 1:
            self.conn.execute(update(threads).values(queue="billing", version=threads.c.version + 1))
        original(self)

    monkeypatch.setattr(ib._Batch, "fold", staff_acts_meanwhile)
    report = ingest(ctx, [msg("p2", CY, "second", at=T0 + timedelta(minutes=1))])
    assert calls["n"] == 2 and report.new == 1
    t = _thread(engine)
    assert t["message_count"] == 2 and t["version"] == 2  # the first attempt was rolled back whole


def test_a_staff_change_between_batches_of_one_import_is_kept(ctx, engine: Engine) -> None:
    cache = ib.IngestCache()
    report = IngestReport()
    first = [(1, msg("p1", CY, "first")), (2, msg("p2", CY, "second", at=T0 + timedelta(minutes=1)))]
    ib.ingest_batch(ctx, first, report, cache=cache)
    with engine.begin() as c:  # re-routed and put on hold by staff while the import runs
        c.execute(update(threads).values(queue="billing", status="pending", version=threads.c.version + 1))
    ib.ingest_batch(ctx, [(3, msg("p3", CY, "third", at=T0 + timedelta(minutes=2)))], report, cache=cache)
    t = _thread(engine)
    assert t["queue"] == "billing"  # the cached copy was stale: re-read, the re-routing sticks
    assert t["status"] == "open" and t["message_count"] == 3 and t["unread_count"] == 3
    assert t["version"] == 3 and report.new == 3


def test_only_changed_thread_columns_are_written(ctx, engine: Engine, monkeypatch) -> None:
    ingest(ctx, [msg("p1", CY, "first")])
    written: list[list[str]] = []
    original = ib.update_rows

    def spy(conn, table, columns, where, rows, **kw):
        written.append(list(columns))
        return original(conn, table, columns, where, rows, **kw)

    monkeypatch.setattr(ib, "update_rows", spy)
    ingest(ctx, [msg("p2", CY, "second", at=T0 + timedelta(minutes=1))])
    [columns] = written
    assert set(columns) == {
        "preview",
        "message_count",
        "unread_count",
        "last_message_at",
        "last_inbound_at",
        "updated_at",
        "version",
    }
    t = _thread(engine)
    assert (t["preview"], t["message_count"], t["unread_count"]) == ("second", 2, 2)
    assert t["last_message_at"] == T0 + timedelta(minutes=1) and t["due_at"] == T0 + timedelta(days=1)


@pytest.mark.parametrize("other_connection", [False, True])
def test_a_link_made_between_batches_of_one_import_is_seen(ctx, engine: Engine, other_connection) -> None:
    from omnidesk.services.context import Context
    from omnidesk.services.identity import link_contact
    from omnidesk.store.engine import make_engine
    from omnidesk.store.schema import contacts, patients

    cache = ib.IngestCache()
    report = IngestReport()
    stranger = "+15550199999"
    ib.ingest_batch(ctx, [(1, msg("u1", stranger, "hello"))], report, cache=cache)
    with reading(engine) as c:
        cid = c.execute(select(contacts.c.id).where(contacts.c.value == stranger)).scalar_one()
        pid = c.execute(select(patients.c.id).where(patients.c.mrn == "M3")).scalar_one()
    # staff link the number, through this process's pool or from another program
    other = make_engine(engine.url) if other_connection else engine
    try:
        link_contact(Context(other, ctx.user), cid, pid)
    finally:
        if other_connection:
            other.dispose()
    ib.ingest_batch(ctx, [(2, msg("u2", stranger, "again", at=T0 + timedelta(minutes=5)))], report, cache=cache)
    t = _thread(engine)  # one thread: the patient's (moved by the link), joined by the new message
    assert t["patient_id"] == pid and t["message_count"] == 2


def test_a_trimmed_thread_cache_gives_the_same_threads(ctx, engine: Engine, monkeypatch) -> None:
    senders = [CY, "cy@example.org", "+15550190001", "+15550190002"]
    stream = [
        msg(
            f"p{i}",
            senders[i % 4],
            f"m{i}",
            at=T0 + timedelta(days=9 * (i // 8), hours=3 * i),  # bursts of 8, nine days apart
            channel=Channel.EMAIL if i % 4 == 1 else Channel.SMS,
        )
        for i in range(40)
    ]

    def threads_now() -> list[dict]:
        with reading(engine) as c:
            rows = c.execute(select(threads).order_by(threads.c.id)).all()
        return [
            {k: v for k, v in r._mapping.items() if k not in ("id", "created_at", "updated_at", "version")}
            for r in rows
        ]

    ingest(ctx, stream, batch_size=1000)
    whole = threads_now()
    with engine.begin() as c:
        c.execute(messages.delete())
        c.execute(threads.delete())
    monkeypatch.setattr(ib.IngestCache, "MAX_THREADS", 1)  # every batch re-reads the threads it needs
    ingest(ctx, stream, batch_size=3)
    assert threads_now() == whole and len(whole) > 4


def test_an_in_memory_store_is_loaded_from_one_thread() -> None:
    from sqlalchemy import create_engine

    from omnidesk.services.context import Context
    from omnidesk.store.schema import metadata

    engine = create_engine("sqlite://")  # one connection per thread: no helper thread may touch it
    metadata.create_all(engine)
    ctx = Context(engine, None, _triage=KeywordTriage())
    report = ingest(ctx, [msg(f"p{i}", CY, f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(7)], batch_size=2)
    assert report.new == 7 and _count(engine, messages) == 7
