"""The change feed a console follows: it wakes on another connection's commit, and only then."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import T0, load_patients, make_ctx, msg
from sqlalchemy import Engine

from omnidesk.services import inbox
from omnidesk.services.ingest import ingest
from omnidesk.services.watch import open_change_feed
from omnidesk.store.engine import make_engine

PATIENTS = [["M1", "Ana", "Lopez", "1980-02-03", "(555) 014-3000", "", "ana@example.org", "es", "sms"]]


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path):
    ctx = make_ctx(engine)
    load_patients(ctx, tmp_path, PATIENTS)
    return ctx


@pytest.fixture
def other(db_url: str):
    """Another workstation (or the ingest process): its own engine on the same database."""
    ctx = make_ctx(make_engine(db_url), username="desk2")
    yield ctx
    ctx.engine.dispose()


def test_an_idle_feed_times_out_without_waking(ctx) -> None:
    ingest(ctx, [msg("w1", "+15550143000", "hello there", T0)])
    feed = open_change_feed(ctx)
    try:
        started = time.monotonic()
        assert feed.wait(0.3) is False
        assert time.monotonic() - started >= 0.29
    finally:
        feed.close()


def test_another_connections_commit_wakes_a_waiting_feed_at_once(ctx, other) -> None:
    ingest(ctx, [msg("w1", "+15550143000", "hello there", T0)])
    feed = open_change_feed(ctx)
    try:
        committed: list[float] = []

        def write() -> None:
            time.sleep(0.2)
            ingest(other, [msg("w2", "+15550143000", "one more thing", T0 + timedelta(minutes=1))])
            committed.append(time.monotonic())

        writer = threading.Thread(target=write)
        writer.start()
        woke = feed.wait(5.0)
        seen = time.monotonic()
        writer.join()
        assert woke is True
        assert seen - committed[0] < 0.2  # budget: 50 ms SQLite, 250 ms PostgreSQL; loose for a loaded CI box
        assert feed.wait(0.2) is False  # one commit, one wake-up
    finally:
        feed.close()


def test_an_acknowledgment_elsewhere_wakes_the_feed(ctx, other) -> None:
    ingest(other, [msg("w3", "+15550149999", "EMERGENCY he collapsed", T0)])
    thread_id = next(t.id for t in inbox.thread_page(ctx, queue=None, status=None, after=None, limit=10))
    feed = open_change_feed(ctx)
    try:
        inbox.acknowledge_emergency(other, thread_id)
        assert feed.wait(5.0) is True
    finally:
        feed.close()
